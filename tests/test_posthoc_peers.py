"""Our Friedman test, Nemenyi critical difference and Wilcoxon-Holm against the packages reviewers cite:
scikit-posthocs (``posthoc_nemenyi_friedman``, ``posthoc_wilcoxon(p_adjust='holm')``) and autorank
(``autorank(force_mode='nonparametric')``), on the GMC reference data (KADID-10k and TID2013 through
``benchmark`` with ``join='order'``) and on synthetic matrices. Where a peer differs, the known difference
is asserted, not skipped:

- autorank's CD uses statsmodels' ``qsturng``, an interpolated table of the studentized range; ours is the
  exact quantile (scipy's ``studentized_range.ppf``), equal to Demšar's (2006) Table 5a. The two differ by
  |dq| <= 2.5e-4 for k <= 20 (measured: 2.5e-4 at k = 18), so autorank's CD is off by
  |dq| sqrt(k (k+1) / (12 N)).
- autorank refuses fewer than 5 datasets (``ValueError``): the GMC reference sets are N = 2.
- scikit-posthocs gives Nemenyi p-values, not a CD: its p at a rank difference equal to our CD is alpha.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

autorank = pytest.importorskip("autorank")   # the [test] extra: installed in CI (--fail-on-skip)
sp = pytest.importorskip("scikit_posthocs")

from autorank._util import _critical_distance as autorank_cd   # noqa: E402  the function autorank() calls
from statsmodels.stats.libqsturng import qsturng                # noqa: E402

from iqa_eval.stats.posthoc import friedman_test, nemenyi, wilcoxon_holm   # noqa: E402
from iqa_eval.studies.bench import friedman_nemenyi, studentized_range_quantile   # noqa: E402

pytestmark = pytest.mark.study

#: Demšar (2006), Table 5(a): q_0.05 of the Nemenyi test (studentized range / sqrt(2)), k = 2..10.
DEMSAR_Q05 = {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102, 10: 3.164}
#: The largest |qsturng - exact| of the studentized range at p = 0.95, infinite df, k = 2..20 (documented above).
QSTURNG_TABLE_ERROR = 2.5e-4


def _autorank(values):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return autorank.autorank(values, alpha=0.05, verbose=False, force_mode="nonparametric")


def _synthetic(n, k, seed, ties=False):
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.5, 0.9, size=(n, k)) + np.linspace(0.08, 0, k)
    if ties:
        v = np.round(v, 1)
    return pd.DataFrame(v, columns=[f"m{j}" for j in range(k)])


def _ranks(values):
    return values.rank(axis=1, ascending=False, method="average")


def _check_cd_against_peers(cd, k, n, alpha=0.05):
    q_exact = stats.studentized_range.ppf(1 - alpha, k, np.inf)
    scale = np.sqrt(k * (k + 1) / (12.0 * n))
    assert cd == pytest.approx(q_exact * scale, rel=1e-10)                       # the exact quantile
    # autorank: the same formula with statsmodels' interpolated table; the known difference
    assert autorank_cd(alpha, k, n) == pytest.approx(qsturng(1 - alpha, k, np.inf) * scale, rel=1e-12)
    assert abs(autorank_cd(alpha, k, n) - cd) <= QSTURNG_TABLE_ERROR * scale
    # scikit-posthocs: the Nemenyi p of a mean-rank difference equal to our CD is alpha
    q = cd / np.sqrt(k * (k + 1) / (6.0 * n))
    assert stats.studentized_range.sf(q * np.sqrt(2.0), k, np.inf) == pytest.approx(alpha, rel=1e-8)


def test_nemenyi_q_is_demsars_table_and_autoranks_table_is_off_by_the_documented_amount():
    worst = 0.0
    for k in range(2, 21):
        ours = studentized_range_quantile(0.95, k)
        assert ours == pytest.approx(stats.studentized_range.ppf(0.95, k, np.inf), abs=1e-11)
        if k in DEMSAR_Q05:
            assert abs(ours / np.sqrt(2) - DEMSAR_Q05[k]) <= 1e-3   # printed to 3 decimals (k = 3, 7 cut, not rounded)
        worst = max(worst, abs(qsturng(0.95, k, np.inf) - ours))
    assert 1e-4 < worst <= QSTURNG_TABLE_ERROR   # a real difference, and no larger than stated


@pytest.mark.parametrize("n, k, seed, ties", [(5, 3, 0, False), (8, 5, 1, False), (12, 7, 2, True),
                                              (15, 4, 3, True), (20, 10, 4, False)])
def test_friedman_cd_and_mean_ranks_equal_autorank_and_scikit_posthocs(n, k, seed, ties):
    values = _synthetic(n, k, seed, ties)
    ours = friedman_nemenyi(_ranks(values))
    test = friedman_test(values)
    ref = stats.friedmanchisquare(*[values[c].to_numpy() for c in values.columns])
    ar = _autorank(values)
    assert ar.omnibus == "friedman" and ar.posthoc == "nemenyi"
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-12) == test.statistic
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-10) == pytest.approx(ar.pvalue, rel=1e-10)
    assert test.chi2_pvalue == pytest.approx(ar.pvalue, rel=1e-10)
    for m, r in ar.rankdf["meanrank"].items():
        assert ours.mean_ranks[m] == pytest.approx(r, rel=1e-12)
    _check_cd_against_peers(ours.critical_difference, k, n)
    assert ar.cd == pytest.approx(autorank_cd(0.05, k, n), rel=1e-12)
    # pairs: different by our CD <=> scikit-posthocs' Nemenyi p < alpha (away from the boundary)
    p_sp = sp.posthoc_nemenyi_friedman(values.to_numpy())
    post = nemenyi(values, ours.critical_difference)
    cols = list(values.columns)
    for row in post.pairs.itertuples():
        p = p_sp.iloc[cols.index(row.model_a), cols.index(row.model_b)]
        assert bool(row.different) == bool(p < 0.05)


@pytest.mark.parametrize("n, k, seed, ties", [(6, 3, 5, False), (10, 5, 6, False), (14, 6, 7, True)])
def test_wilcoxon_holm_equals_scikit_posthocs(n, k, seed, ties):
    values = _synthetic(n, k, seed, ties)
    ours = wilcoxon_holm(values)
    ref = sp.posthoc_wilcoxon([values[c].to_numpy() for c in values.columns], p_adjust="holm")
    raw = sp.posthoc_wilcoxon([values[c].to_numpy() for c in values.columns])
    cols = list(values.columns)
    for row in ours.pairs.itertuples():
        i, j = cols.index(row.model_a), cols.index(row.model_b)
        assert row.pvalue == pytest.approx(raw.iloc[i, j], rel=1e-12)
        assert row.pvalue_holm == pytest.approx(ref.iloc[i, j], rel=1e-12)


@pytest.fixture(scope="module")
def reference_bench(shared_dir):
    """KADID-10k and TID2013 (six FR models each) through benchmark, prediction files joined by order."""
    from iqa_eval.studies.bench import benchmark, dataset_spec

    specs = [dataset_spec(shared_dir / name, join="order") for name in ("kadid10k", "tid2013")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return benchmark(specs, posthoc="wilcoxon-holm")


def test_reference_data_friedman_cd_and_wilcoxon_holm_against_the_peers(reference_bench):
    res = reference_bench
    values = res.cells.pivot(index="dataset", columns="model", values="srocc").reindex(columns=res.models)
    n, k = values.shape
    assert (n, k) == (2, 6)
    # each SROCC is scipy's on the file's own columns (a cell is score's number)
    ref = stats.friedmanchisquare(*[values[m].to_numpy() for m in values.columns])
    assert res.friedman.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.friedman.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
    assert res.friedman.test.decides == "exact" and res.friedman.test.permutation_pvalue == pytest.approx(1 / 720)
    _check_cd_against_peers(res.friedman.critical_difference, k, n)
    # the known difference: autorank refuses N = 2 datasets
    with pytest.raises(ValueError, match="at least five"):
        _autorank(values)
    # Nemenyi with N = 2: no pair reaches the CD, and scikit-posthocs agrees
    p_sp = sp.posthoc_nemenyi_friedman(values.to_numpy())
    ranks = res.friedman.mean_ranks
    for a, b in itertools.combinations(values.columns, 2):
        p = p_sp.iloc[list(values.columns).index(a), list(values.columns).index(b)]
        assert (abs(ranks[a] - ranks[b]) >= res.friedman.critical_difference) == (p < 0.05)
    # Wilcoxon-Holm: scikit-posthocs' numbers (two datasets: the smallest two-sided p is 0.5)
    post = res.posthoc
    sp_holm = sp.posthoc_wilcoxon([values[c].to_numpy() for c in values.columns], p_adjust="holm")
    cols = list(values.columns)
    for row in post.pairs.itertuples():
        assert row.pvalue_holm == pytest.approx(sp_holm.iloc[cols.index(row.model_a), cols.index(row.model_b)],
                                                rel=1e-12)
    assert post.pairs["pvalue"].min() == pytest.approx(0.5)
