"""Distribution-regulator weights and Beta-model std against plain re-implementations."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from iqa_eval.errors import InputError
from iqa_eval.gmc.weights import (beta_std, distribution_weights, read_std_file,
                                  read_weights_file)


def _plain_gaussian_density(mos, std):
    """The reference formula written out with Python loops."""
    lo, hi = min(mos), max(mos)
    L = [100 * (v - lo) / (hi - lo) for v in mos]
    S = [s * 100 / (hi - lo) for s in std]
    n_bins = math.floor(max(L)) + 1
    density = []
    for x in range(n_bins):
        total = 0.0
        for Li, Si in zip(L, S):
            total += math.exp(-(x - Li) ** 2 / (2 * (Si + 1e-8) ** 2))
        density.append(total)
    return L, density


@pytest.fixture
def ratings():
    rng = np.random.default_rng(3)
    mos = np.round(rng.uniform(1, 5, 300), 2)          # rounded: ties and shared bins
    std = rng.uniform(0.2, 1.0, 300)
    std[7] = 0.0                                        # a zero std must not break anything
    return mos, std


def test_gaussian_matches_plain_loop(ratings):
    mos, std = ratings
    L, density = _plain_gaussian_density(list(mos), list(std))
    expected = np.array([np.float32(1.0 / density[math.floor(v)]) for v in L], dtype=np.float64)
    got = distribution_weights(mos, std=std, regulator="gaussian", plus=7.0)
    np.testing.assert_allclose(got, 7.0 * expected, rtol=1e-12, atol=0)


def test_lds_matches_scipy_ndimage(ratings):
    mos, _ = ratings
    ks, sigma = 7, 1.5
    L = 100 * (mos - mos.min()) / (mos.max() - mos.min())
    bins = np.floor(L).astype(int)
    hist = np.bincount(bins, minlength=bins.max() + 1).astype(float)
    impulse = np.zeros(ks)
    impulse[ks // 2] = 1.0
    window = ndimage.gaussian_filter1d(impulse, sigma=sigma)
    window /= window.max()
    smooth = ndimage.convolve1d(hist, weights=window, mode="constant")
    smooth *= hist.sum() / smooth.sum()
    expected = 10.0 * (1.0 / smooth[bins]).astype(np.float32).astype(np.float64)
    got = distribution_weights(mos, regulator="lds", ks=ks, sigma=sigma, lds_exact_counts=True)
    np.testing.assert_array_equal(got, expected)


def test_float32_cast_is_applied(ratings):
    mos, std = ratings
    c = distribution_weights(mos, std=std, plus=1.0)
    # every weight is a float32 value ...
    np.testing.assert_array_equal(c.astype(np.float32).astype(np.float64), c)
    # ... and differs from the unrounded 1 / density by float32 rounding only
    L, density = _plain_gaussian_density(list(mos), list(std))
    exact = np.array([1.0 / density[math.floor(v)] for v in L])
    rel = np.abs(c / exact - 1)
    assert rel.max() < 2 ** -24 * 1.01 and rel.max() > 0


def test_regulator_choices(ratings):
    mos, std = ratings
    np.testing.assert_array_equal(distribution_weights(mos, std=std),
                                  distribution_weights(mos, std=std, regulator="gaussian"))
    np.testing.assert_array_equal(distribution_weights(mos), distribution_weights(mos, regulator="lds"))
    np.testing.assert_array_equal(distribution_weights(mos, regulator="none"), np.ones(mos.size))
    with pytest.raises(InputError, match="Gaussian regulator needs"):
        distribution_weights(mos, regulator="gaussian")
    with pytest.raises(InputError, match="regulator must be one of"):
        distribution_weights(mos, regulator="uniform")
    with pytest.raises(InputError, match="ks"):
        distribution_weights(mos, regulator="lds", ks=4)
    with pytest.raises(InputError, match="std has 1 non-finite values"):
        distribution_weights(mos, std=np.r_[std[:-1], np.nan])


def test_rare_mos_get_larger_weights():
    mos = np.r_[np.linspace(40, 60, 200), 5.0, 95.0]
    c = distribution_weights(mos, std=np.full(mos.size, 2.0))
    assert c[-1] > 10 * c[100] and c[-2] > 10 * c[100]


def test_published_livec_weights_reproduced_bit_for_bit(shared_dir):
    """LIVEC's weights.txt = Gaussian regulator on meta.csv (mos, std) with plus = 100."""
    meta = pd.read_csv(shared_dir / "LIVEC" / "meta.csv")
    published = read_weights_file(shared_dir / "LIVEC" / "weights.txt")
    got = distribution_weights(meta["mos"], std=meta["std"], regulator="gaussian", plus=100.0)
    np.testing.assert_array_equal(got, published)
    # the float32 cast matters: the unrounded 100 / density does not give the published file
    L, density = _plain_gaussian_density(list(meta["mos"]), list(meta["std"]))
    uncast = np.array([100.0 / density[math.floor(v)] for v in L])
    assert not np.array_equal(uncast, published)
    np.testing.assert_allclose(uncast, published, rtol=1e-7)


def test_beta_std():
    mos = np.array([1.0, 2.0, 3.0, 5.0])
    m = (mos - 1) / 4
    np.testing.assert_allclose(beta_std(mos, phi=3.0), np.sqrt(m * (1 - m) / 4) * 4, rtol=1e-15)
    s = beta_std(mos)
    assert s[0] == 0 and s[-1] == 0
    np.testing.assert_allclose(s[1], math.sqrt(0.25 * 0.75 / 9) * 4)
    with pytest.raises(InputError, match="constant"):
        beta_std([2.0, 2.0, 2.0])


def test_read_std_and_weights_files(tmp_path):
    f = tmp_path / "std.txt"
    f.write_text("0.5\n1.25\n\n0\n")
    np.testing.assert_array_equal(read_std_file(f), [0.5, 1.25, 0.0])
    f.write_text("0.5\nabc\n")
    with pytest.raises(InputError) as err:
        read_std_file(f)
    assert "std.txt" in str(err.value) and "row 2" in str(err.value) and "\n" not in str(err.value)
    w = tmp_path / "w.txt"
    w.write_text("1\n-2\n")
    with pytest.raises(InputError, match="row 2"):
        read_weights_file(w)
    with pytest.raises(InputError, match="cannot read"):
        read_weights_file(tmp_path / "missing.txt")


# --- how the API resolves std and regulator --------------------------------------------------

from iqa_eval.errors import IQAEvalWarning  # noqa: E402
from iqa_eval.gmc import gmc_inputs, gmc_points  # noqa: E402


@pytest.fixture
def study():
    rng = np.random.default_rng(5)
    mos = np.round(rng.uniform(1, 5, 120), 1)
    return dict(mos=mos, std=rng.uniform(0.3, 0.8, 120),
                preds={"a": mos + rng.normal(0, 0.5, 120), "b": np.round(mos + rng.normal(0, 1, 120))})


def test_estimated_std_uses_beta_and_lds(study):
    mos = study["mos"]
    n_ends = int((mos == mos.min()).sum() + (mos == mos.max()).sum())
    with pytest.warns(IQAEvalWarning, match=f"{n_ends} image"):
        inp = gmc_inputs(study["preds"], mos, std_phi=3.0)
    np.testing.assert_array_equal(inp.std, beta_std(mos, phi=3.0))
    np.testing.assert_array_equal(inp.c, distribution_weights(mos, regulator="lds"))
    assert inp.config["regulator"] == "lds" and inp.config["std"] == "beta(phi=3)"
    assert any("Beta model (phi=3)" in n for n in inp.notes)


def test_given_std_uses_gaussian_and_warns_for_zeros(study):
    std = study["std"].copy()
    inp = gmc_inputs(study["preds"], study["mos"], std=std)
    np.testing.assert_array_equal(inp.c, distribution_weights(study["mos"], std=std))
    assert inp.config["regulator"] == "gaussian" and not inp.notes
    std[[2, 9, 30]] = 0.0
    with pytest.warns(IQAEvalWarning, match="3 image"):
        inp = gmc_inputs(study["preds"], study["mos"], std=std)
    assert any("3 image(s) have std 0" in n for n in inp.notes)
    w = np.arange(1.0, 121.0)
    inp = gmc_inputs(study["preds"], study["mos"], std=study["std"], weights=w, regulator="lds")
    np.testing.assert_array_equal(inp.c, w)
    assert inp.config["regulator"] == "given"


def test_std_scale_and_plus(study):
    kw = dict(samples=15, methods=["srocc", "plcc", "krcc"])
    w = distribution_weights(study["mos"], std=study["std"])
    a = gmc_points(study["preds"], study["mos"], std=study["std"], std_scale=2.0, weights=w, **kw)
    b = gmc_points(study["preds"], study["mos"], std=2.0 * study["std"], weights=w, **kw)
    np.testing.assert_allclose(a.table.value, b.table.value, rtol=1e-12)
    c10 = gmc_points(study["preds"], study["mos"], std=study["std"], plus=10.0, **kw)
    c100 = gmc_points(study["preds"], study["mos"], std=study["std"], plus=100.0, **kw)
    np.testing.assert_allclose(c10.table.value, c100.table.value, rtol=1e-12)
    assert not np.allclose(a.table.value, c10.table.value, rtol=1e-6)


def test_ranks_option(study):
    kw = dict(std=study["std"], samples=10, methods=["srocc"])
    dense = gmc_points(study["preds"], study["mos"], **kw)
    average = gmc_points(study["preds"], study["mos"], ranks="average", **kw)
    assert not np.allclose(dense.table.value, average.table.value, rtol=1e-6)   # MOS and 'b' have ties
    untied = {"a": study["preds"]["a"]}
    mos = study["mos"] + np.arange(120) * 1e-6
    np.testing.assert_allclose(gmc_points(untied, mos, **kw).table.value,
                               gmc_points(untied, mos, ranks="average", **kw).table.value, rtol=1e-12)


def test_input_errors(study):
    bad = dict(study["preds"], c=np.r_[np.nan, study["mos"][1:]])
    with pytest.raises(InputError, match="model 'c' has 1 non-finite"):
        gmc_points(bad, study["mos"], std=study["std"])
    with pytest.raises(InputError, match="has 119 predictions"):
        gmc_points({"a": study["mos"][1:]}, study["mos"], std=study["std"])
    with pytest.raises(InputError, match="methods must be one of srocc, plcc, krcc; got 'pearson'"):
        gmc_points(study["preds"], study["mos"], std=study["std"], methods=["pearson"])
    with pytest.raises(InputError, match="std has 3 values"):
        gmc_points(study["preds"], study["mos"], std=[1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="weights must be >= 0"):
        gmc_points(study["preds"], study["mos"], std=study["std"], weights=-np.ones(120))


def _reference_lds_weights(mos, ks, sigma, plus):
    """The reference's LDS weights written out from gmc-reference.md, with plain loops:
    integer bin counts, a zero-padded convolution whose result is truncated to integers
    (an int histogram handed to convolve1d), rescaling to the total count, float32 1/density."""
    lo, hi = min(mos), max(mos)
    L = [100 * (v - lo) / (hi - lo) for v in mos]
    n_bins = math.floor(max(L)) + 1
    hist = [0] * n_bins
    for v in L:
        hist[math.floor(v)] += 1
    half = ks // 2
    # the window: a Gaussian-filtered unit impulse, divided by its maximum
    impulse = np.zeros(ks)
    impulse[half] = 1.0
    window = ndimage.gaussian_filter1d(impulse, sigma=sigma)
    window = [w / window.max() for w in window]
    smoothed = []
    for b in range(n_bins):
        total = 0.0
        for k in range(ks):
            j = b + k - half
            if 0 <= j < n_bins:
                total += hist[j] * window[ks - 1 - k]
        smoothed.append(float(int(total)))          # truncated toward zero
    scale = sum(hist) / sum(smoothed)
    smoothed = [v * scale for v in smoothed]
    return np.array([plus * float(np.float32(1.0 / smoothed[math.floor(v)])) for v in L])


@pytest.mark.parametrize("ks, sigma", [(5, 2.0), (5, 1.0), (3, 0.7)])
def test_lds_truncates_the_smoothed_histogram_like_the_reference(ks, sigma):
    """PIPAL-style (ks 5, sigma 2), SPAQ-style (ks 5, sigma 1) and one case of our own:
    weights from MOS equal the reference computation exactly; the exact-count option
    differs (so the test can tell the two apart)."""
    rng = np.random.default_rng(11)
    mos = np.round(np.concatenate([rng.normal(1450, 90, 400), rng.uniform(900, 1800, 40)]), 4)
    expected = _reference_lds_weights(list(mos), ks, sigma, 100.0)
    got = distribution_weights(mos, regulator="lds", ks=ks, sigma=sigma, plus=100.0)
    np.testing.assert_array_equal(got, expected)
    exact = distribution_weights(mos, regulator="lds", ks=ks, sigma=sigma, plus=100.0, lds_exact_counts=True)
    assert np.max(np.abs(exact / got - 1)) > 1e-3


def test_presets_are_the_documented_configurations():
    from iqa_eval.gmc import PRESETS, preset
    from iqa_eval.gmc.presets import describe
    from iqa_eval.options import GMC_PRESETS

    assert set(PRESETS) == {"livec", "kadid10k", "pipal", "spaq"} == set(GMC_PRESETS)
    assert preset("PIPAL") == {"std": "beta", "std_phi": 3.0, "regulator": "lds", "ks": 5, "sigma": 2.0,
                               "std_scale": 1.0, "plus": 100.0}
    assert preset("spaq")["sigma"] == 1.0 and preset("livec")["regulator"] == "gaussian"
    assert "integer-truncated" in describe("pipal")
    with pytest.raises(InputError, match="preset must be one of livec, kadid10k, pipal, spaq; got 'tid2013'"):
        preset("tid2013")


def test_density_below_float32_keeps_a_finite_weight_with_a_warning():
    """An image alone in its MOS bin with a tiny std: the Gaussian density there is ~8e-46, whose
    inverse overflows the reference's float32 cast (inf: every GMC sum NaN). The weight stays the
    float64 inverse, with a warning; the other images keep the reference's float32 rounding."""
    from iqa_eval.errors import IQAEvalWarning
    from iqa_eval.gmc.weights import distribution_weights, gaussian_density

    mos = np.r_[np.zeros(20), np.full(20, 100.0), 50.5]
    std = np.full(mos.size, 0.0347)
    d = gaussian_density(mos, std)
    assert 0 < d[50] < np.finfo(np.float32).tiny    # the case: positive, below float32's range
    with pytest.warns(IQAEvalWarning, match="below float32's range"):
        c = distribution_weights(mos, std=std, regulator="gaussian")
    assert np.isfinite(c).all()
    import inspect
    plus = inspect.signature(distribution_weights).parameters["plus"].default
    assert c[-1] == pytest.approx(plus / d[50], rel=1e-15)
    assert c[0] == plus * np.float64(np.float32(1.0 / d[0]))
