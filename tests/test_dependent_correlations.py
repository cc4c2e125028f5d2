"""cocor's overlapping-correlation tests against the values published with each formula.

The reference values are those printed in the papers and programs cited (as collected in cocor's
own test suite, Diedenhofen & Musch 2015): Hotelling (1940) in Glass & Stanley (1984, p. 311) and
Guilford & Fruchter (1978, p. 164); Hendrickson et al. (1970) and Olkin (1967) in May & Hittner
(1997, p. 477); Williams (1959), Steiger (1980), Hittner et al. (2003), Meng et al. (1992) by DEPCOR
(Silver, Hittner & May 2006); Dunn & Clark (1969) p. 370; Steiger (1980) case A p. 249; Meng et al.
(1992) p. 173; Zou (2007) p. 409. Rounded as published.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from iqa_eval.stats.dependent_correlations import compare_dependent, compare_overlapping
from iqa_eval.errors import InputError
from iqa_eval.stats.inference import williams_test
from iqa_eval.options import DEPENDENT_CORRELATION_TESTS

PUBLISHED = [  # (test, r_jk, r_jh, r_kh, n, alternative, statistic, decimals, pvalue, p decimals)
    ("hotelling1940", .612, .541, .466, 157, "two-sided", 1.158, 3, None, None),
    ("hotelling1940", .55, .45, .60, 200, "two-sided", 1.91, 2, None, None),
    ("hotelling1940", .7, .4, .8, 50, "two-sided", 4.91, 2, None, None),
    ("hendrickson1970", .5, .2, .3, 50, "two-sided", 2.01, 2, None, None),
    ("williams1959", .3, .4, .5, 100, "two-sided", -1.0767, 4, .2843, 4),
    ("olkin1967", .5, .2, .3, 50, "two-sided", 2.00, 2, None, None),
    ("olkin1967", .56, .43, .52, 100, "two-sided", 1.59, 2, None, None),
    ("dunn1969", .3, .4, .5, 100, "two-sided", -1.0730, 4, .2833, 4),
    ("dunn1969", .5, .6, .7, 100, "two-sided", -1.5838851123, 10, .1132198659, 10),
    ("steiger1980", .4, .5, .1, 103, "two-sided", -0.8887185, 7, None, None),
    ("steiger1980", .3, .4, .5, 100, "two-sided", -1.0718, 4, .2838, 4),
    ("hittner2003", .3, .4, .5, 100, "two-sided", -1.0715, 4, .2839, 4),
    ("meng1992", .63, -.03, -.19, 15, "greater", 1.68, 2, .047, 3),
    ("meng1992", .3, .4, .5, 100, "two-sided", -1.0707, 4, .2843, 4),
    ("meng1992", .5, .2, .5, 50, "two-sided", 2.245, 3, None, None),
    ("meng1992", .7, .4, .8, 50, "two-sided", 4.05, 2, None, None),
]


@pytest.mark.parametrize("test, a, b, c, n, alt, stat, dec, p, pdec", PUBLISHED)
def test_published_values(test, a, b, c, n, alt, stat, dec, p, pdec):
    res = compare_overlapping(a, b, c, n, test=test, alternative=alt)
    assert round(res.statistic, dec) == pytest.approx(stat, abs=10 ** -(dec + 3))
    if p is not None:
        assert round(res.pvalue, pdec) == pytest.approx(p, abs=10 ** -(pdec + 3))


def test_meng_interval_and_zou_interval_published():
    meng = compare_overlapping(.63, -.03, -.19, 15, test="meng1992")
    assert (round(meng.ci_low, 3), round(meng.ci_high, 3)) == (-0.129, 1.672)   # Meng et al. (1992) p. 173
    zou = compare_overlapping(.396, .179, .088, 66, test="zou2007")
    assert (round(zou.ci_low, 3), round(zou.ci_high, 3)) == (-0.093, 0.517)     # Zou (2007) p. 409
    assert math.isnan(zou.pvalue) and zou.distribution == "none"


def test_pearson_filon_equals_olkin_and_williams_equals_the_existing_williams_test():
    """Pearson-Filon (1898) and corrected Olkin (1967) are one quantity; iqa_eval.stats.inference.williams_test agrees."""
    rng = np.random.default_rng(1)
    for _ in range(20):
        a, b, c = rng.uniform(-0.9, 0.9, 3)
        if 1 + 2 * a * b * c - a * a - b * b - c * c <= 0.01:
            continue
        pf = compare_overlapping(a, b, c, 80, test="pearson1898")
        assert pf.statistic == pytest.approx(compare_overlapping(a, b, c, 80, test="olkin1967").statistic, rel=1e-12)
        w = compare_overlapping(a, b, c, 80, test="williams1959")
        t_ref, p_ref = williams_test(a, b, c, 80)[:2]
        assert w.statistic == pytest.approx(t_ref, rel=1e-10)
        assert w.pvalue == pytest.approx(p_ref, rel=1e-10)


@pytest.mark.parametrize("test", [t for t in DEPENDENT_CORRELATION_TESTS if t != "zou2007"])
def test_one_sided_p_values_are_the_tails(test):
    two = compare_overlapping(.6, .45, .5, 60, test=test)
    greater = compare_overlapping(.6, .45, .5, 60, test=test, alternative="greater")
    less = compare_overlapping(.6, .45, .5, 60, test=test, alternative="less")
    assert greater.pvalue == pytest.approx(two.pvalue / 2, rel=1e-10)
    assert greater.pvalue + less.pvalue == pytest.approx(1.0, rel=1e-12)


def test_real_data_kadid_pearson_and_spearman(shared_dir):
    """KADID-10k: DeepWSD vs ms_ssim, correlations computed here with scipy, then Williams by hand."""
    base = shared_dir / "kadid10k"
    a = pd.read_csv(base / "DeepWSD.csv")
    b = pd.read_csv(base / "ms_ssim.csv")
    mos = a["Ground Truth Labels"].to_numpy()
    assert np.allclose(mos, b["Ground Truth Labels"].to_numpy(), atol=1e-6)  # same images, same order
    x, y = a["Results Scores for CC"].to_numpy(), b["Results Scores for CC"].to_numpy()
    n = len(mos)
    r_jk, r_jh, r_kh = stats.pearsonr(mos, x)[0], stats.pearsonr(mos, y)[0], stats.pearsonr(x, y)[0]
    det = 1 + 2 * r_jk * r_jh * r_kh - r_jk ** 2 - r_jh ** 2 - r_kh ** 2
    rbar = (r_jk + r_jh) / 2
    t = (r_jk - r_jh) * math.sqrt((n - 1) * (1 + r_kh) / (2 * (n - 1) / (n - 3) * det + rbar ** 2 * (1 - r_kh) ** 3))
    res = compare_dependent(x, y, mos, metric="plcc_raw", test="williams1959")
    assert res.statistic == pytest.approx(t, rel=1e-9) and res.n == n
    s_jk, s_jh, s_kh = (stats.spearmanr(u, v)[0] for u, v in ((mos, x), (mos, y), (x, y)))
    sp = compare_dependent(x, y, mos, metric="srocc", test="dunn1969")
    cc = (s_kh * (1 - s_jk ** 2 - s_jh ** 2) - 0.5 * s_jk * s_jh * (1 - s_jk ** 2 - s_jh ** 2 - s_kh ** 2)) / (
        (1 - s_jk ** 2) * (1 - s_jh ** 2))
    factor = 1 + ((s_jk + s_jh) / 2) ** 2 / 2
    z = (math.atanh(s_jk) - math.atanh(s_jh)) / math.sqrt(factor / (n - 3) * (2 - 2 * cc))
    assert sp.statistic == pytest.approx(z, rel=1e-9) and "Bonett & Wright" in sp.notes[0]


def test_bad_inputs():
    with pytest.raises(InputError, match="test"):
        compare_overlapping(.3, .4, .5, 100, test="fisher")
    with pytest.raises(InputError, match="r_kh"):
        compare_overlapping(.3, .4, 1.0, 100)
