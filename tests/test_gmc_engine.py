"""The GMC engine against a naive O(N^2) implementation written plainly here."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata

from iqa_eval.errors import InputError
from iqa_eval.gmc import engine
from iqa_eval.gmc._pair_kernels_numba import exp_array
from iqa_eval.gmc.engine import available_backends, gmc_values, pair_sums
from iqa_eval.options import GMC_METHODS

BACKENDS = ("numba", "numpy")
RTOL = 1e-10


# --- the naive reference: full N x N matrices, straight from gmc-reference.md --------------------

def naive_ranks(v, how):
    if how == "dense":
        return np.searchsorted(np.unique(v), v).astype(float)  # index in the sorted unique values
    return rankdata(v, method="average")


def naive_sums(pred, mos, sstd, c, Q, Qd, ranks="dense"):
    """Per point: full weight matrix w (zero diagonal). Returns rows[key] (..., S, N)."""
    pred = np.atleast_2d(pred)
    M, N = pred.shape
    S = len(Q)
    rows = {k: np.zeros((M, S, N)) for k in
            ("ssign", "sxy:plcc", "sxx:plcc", "sxy:srocc", "sxx:srocc")}
    rows.update({k: np.zeros((S, N)) for k in ("sw", "syy:plcc", "syy:srocc")})
    y = mos[:, None] - mos[None, :]
    rl = naive_ranks(mos, ranks)
    ry = rl[:, None] - rl[None, :]
    for s in range(S):
        a = np.zeros(N)
        for i in range(N):
            if sstd[i] > 0:
                a[i] = np.exp(-(Q[s] - mos[i]) ** 2 / (2 * sstd[i] ** 2))
        w = np.zeros((N, N))
        for i in range(N):
            for j in range(N):
                v = sstd[i] ** 2 + sstd[j] ** 2
                if i != j and v > 0:
                    b = np.exp(-(Qd[s] - abs(mos[i] - mos[j])) ** 2 / (2 * v))
                    w[i, j] = a[i] * a[j] * b * c[i] * c[j]
        rows["sw"][s] = w.sum(1)
        rows["syy:plcc"][s] = (w * y * y).sum(1)
        rows["syy:srocc"][s] = (w * ry * ry).sum(1)
        for m in range(M):
            x = pred[m][:, None] - pred[m][None, :]
            rp = naive_ranks(pred[m], ranks)
            rx = rp[:, None] - rp[None, :]
            rows["ssign"][m, s] = (w * np.sign(x) * np.sign(y)).sum(1)
            rows["sxy:plcc"][m, s] = (w * x * y).sum(1)
            rows["sxx:plcc"][m, s] = (w * x * x).sum(1)
            rows["sxy:srocc"][m, s] = (w * rx * ry).sum(1)
            rows["sxx:srocc"][m, s] = (w * rx * rx).sum(1)
    return rows


def naive_values(rows):
    tot = {k: v.sum(-1) / 2 for k, v in rows.items()}
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for method in ("plcc", "srocc"):
            den = np.sqrt(tot[f"sxx:{method}"] * tot[f"syy:{method}"])
            out[method] = np.where(den > 0, tot[f"sxy:{method}"] / den, np.nan)
        out["krcc"] = np.where(tot["sw"] > 0, tot["ssign"] / tot["sw"], np.nan)
    return out


def assert_close(got, want, what=""):
    got, want = np.asarray(got, float), np.asarray(want, float)
    assert got.shape == want.shape, what
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=what)
    ok = ~np.isnan(want)
    scale = np.maximum(np.abs(want[ok]), np.abs(want[ok]).max(initial=0) * 1e-3)
    err = np.abs(got[ok] - want[ok])
    assert np.all(err <= RTOL * np.maximum(scale, 1e-300) + 1e-300), (what, err.max())


def check_against_naive(pred, mos, sstd, c, Q, Qd, *, ranks="dense", backend="numba",
                        methods=GMC_METHODS, row_sums=True):
    """Totals (computed without and with row sums: two code paths) and rows against naive."""
    ref = naive_sums(pred, mos, sstd, c, Q, Qd, ranks)
    ps = pair_sums(pred, mos, sstd, c, Q, Qd, ranks=ranks, backend=backend, methods=methods)
    assert ps.rows is None
    check_totals(ps, ref, methods)
    if row_sums:
        ps = pair_sums(pred, mos, sstd, c, Q, Qd, ranks=ranks, backend=backend, methods=methods,
                       row_sums=True)
        check_totals(ps, ref, methods)
        for key, arr in ps.rows.items():
            assert_close(arr, ref[key], f"rows {key}")
        assert set(ps.rows) == {k for k in ref if k == "sw" or k == "ssign" and "krcc" in methods
                                or k.split(":")[-1] in methods}
    return ps


def check_totals(ps, ref, methods):
    tot = {k: v.sum(-1) / 2 for k, v in ref.items()}
    assert_close(ps.sw, tot["sw"], "sw")
    if "krcc" in methods:
        assert_close(ps.ssign, tot["ssign"], "ssign")
    else:
        assert ps.ssign is None
    for method in ("plcc", "srocc"):
        if method in methods:
            for key in ("sxy", "sxx", "syy"):
                assert_close(getattr(ps, key)[method], tot[f"{key}:{method}"], f"{key}:{method}")
        else:
            assert method not in ps.sxy
    values = ps.values()
    want = naive_values(ref)
    assert set(values) == set(methods)
    for method in methods:
        assert_close(values[method], want[method], f"value {method}")


def random_case(rng, n, m=3, s=5, *, rounded=False, zero_std=0):
    mos = rng.uniform(1, 5, n)
    sstd = rng.uniform(0.2, 1.0, n)
    pred = rng.normal(size=(m, n)) * rng.uniform(0.5, 20) + rng.uniform(-50, 50)
    if rounded:  # ties in MOS, std and predictions: groups of images sharing every weight
        mos, sstd, pred = np.round(mos * 2) / 2, np.round(sstd, 1), np.round(pred)
    sstd[rng.choice(n, zero_std, replace=False)] = 0.0
    c = rng.uniform(0.2, 3.0, n)
    Q = rng.uniform(mos.min(), mos.max(), s)
    Qd = rng.uniform(0, np.ptp(mos), s)
    return pred, mos, sstd, c, Q, Qd


# --- agreement with the naive sums -----------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ranks", ("dense", "average"))
def test_random_sets_match_naive(backend, ranks):
    rng = np.random.default_rng(7)
    for trial in range(6):
        n = int(rng.integers(4, 40))
        case = random_case(rng, n, rounded=trial % 2 == 1, zero_std=trial % 3)
        check_against_naive(*case, ranks=ranks, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_heavy_ties_and_duplicates(backend):
    rng = np.random.default_rng(3)
    n = 50
    mos = rng.choice([1.0, 2.0, 2.5, 4.0], n)
    sstd = rng.choice([0.5, 0.7], n)
    pred = rng.choice([0.0, 1.0, 3.0], (2, n))
    pred[1, :10] = pred[1, 10:20]  # duplicated images
    c = rng.choice([1.0, 2.0], n)
    Q, Qd = np.array([1.0, 2.2, 4.0]), np.array([0.0, 1.5, 3.0])
    for ranks in ("dense", "average"):
        check_against_naive(pred, mos, sstd, c, Q, Qd, ranks=ranks, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", (2, 3))
def test_tiny_sets(backend, n):
    rng = np.random.default_rng(n)
    for _ in range(3):
        check_against_naive(*random_case(rng, n, m=2, s=3), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_std_images_get_no_weight(backend):
    rng = np.random.default_rng(11)
    pred, mos, sstd, c, Q, Qd = random_case(rng, 20, zero_std=4)
    Q[0] = mos[np.flatnonzero(sstd == 0)[0]]  # exactly at a zero-std image's MOS: no NaN
    ps = check_against_naive(pred, mos, sstd, c, Q, Qd, backend=backend)
    zero = sstd == 0
    assert np.all(ps.rows["sw"][:, zero] == 0)
    assert all(np.isfinite(v).all() for v in ps.values().values())


@pytest.mark.parametrize("backend", BACKENDS)
def test_all_zero_std_gives_nan(backend):
    rng = np.random.default_rng(2)
    pred, mos, sstd, c, Q, Qd = random_case(rng, 8)
    ps = check_against_naive(pred, mos, np.zeros(8), c, Q, Qd, backend=backend)
    assert np.all(ps.sw == 0)
    assert all(np.isnan(v).all() for v in ps.values().values())


@pytest.mark.parametrize("backend", BACKENDS)
def test_constant_predictions(backend):
    rng = np.random.default_rng(5)
    pred, mos, sstd, c, Q, Qd = random_case(rng, 15, m=2)
    pred[0] = 3.0
    check_against_naive(pred, mos, sstd, c, Q, Qd, backend=backend)
    values = gmc_values(pred, mos, sstd, c, Q, Qd, backend=backend)
    assert np.isnan(values["plcc"][0]).all() and np.isnan(values["srocc"][0]).all()
    assert np.all(values["krcc"][0] == 0)  # ties: no numerator, full denominator
    assert np.isfinite(values["plcc"][1]).all()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("methods", (("krcc",), ("srocc",), ("plcc",), ("plcc", "krcc"),
                                     ("KRCC", "srocc")))
def test_method_subsets(backend, methods):
    rng = np.random.default_rng(9)
    case = random_case(rng, 12, rounded=True)
    want = tuple(m.lower() for m in methods)
    ps = check_against_naive(*case, backend=backend, methods=want)
    assert ps.methods == want
    got = pair_sums(*case, backend=backend, methods=methods)
    assert got.methods == want


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rounded", (False, True))
def test_regular_grid_points(backend, rounded):
    """Points sharing Qd values (a grid) take the path with b once per distinct Qd."""
    rng = np.random.default_rng(21)
    pred, mos, sstd, c, _, _ = random_case(rng, 30, rounded=rounded, zero_std=2)
    q, qd = np.meshgrid(np.linspace(mos.min(), mos.max(), 4), np.linspace(0, np.ptp(mos), 3))
    Q, Qd = q.ravel(), qd.ravel()
    Q[0] = mos[sstd == 0][0]  # exactly at a zero-std image's MOS
    check_against_naive(pred, mos, sstd, c, Q, Qd, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_large_offsets_tiny_differences(backend):
    """Direct differences keep full accuracy where expanded sums would cancel."""
    rng = np.random.default_rng(13)
    n = 30
    mos = 1e4 + rng.uniform(0, 1e-3, n)
    sstd = np.full(n, 4e-4)
    pred = 1e8 + rng.normal(size=(2, n)) * 1e-4
    c = np.ones(n)
    Q = mos.min() + np.array([2e-4, 5e-4, 9e-4])
    Qd = np.array([0.0, 3e-4, 6e-4])
    check_against_naive(pred, mos, sstd, c, Q, Qd, backend=backend)


def test_one_dimensional_pred_is_one_model():
    rng = np.random.default_rng(4)
    pred, mos, sstd, c, Q, Qd = random_case(rng, 10, m=1)
    a = gmc_values(pred[0], mos, sstd, c, Q, Qd)
    b = gmc_values(pred, mos, sstd, c, Q, Qd)
    for m in GMC_METHODS:
        np.testing.assert_array_equal(a[m], b[m])


def test_image_order_does_not_matter():
    rng = np.random.default_rng(6)
    pred, mos, sstd, c, Q, Qd = random_case(rng, 40, rounded=True, zero_std=2)
    perm = rng.permutation(40)
    a = pair_sums(pred, mos, sstd, c, Q, Qd, row_sums=True)
    b = pair_sums(pred[:, perm], mos[perm], sstd[perm], c[perm], Q, Qd, row_sums=True)
    for m, v in a.values().items():
        assert_close(b.values()[m], v, m)
    for key in a.rows:
        assert_close(b.rows[key], a.rows[key][..., perm], key)


@pytest.mark.slow
def test_backends_agree_mid_size():
    """numba (grouped) and numpy (plain image-pair tiles) on N ~ 2000 with many ties."""
    rng = np.random.default_rng(8)
    n = 2000
    mos = np.round(rng.uniform(1, 5, n), 1)
    sstd = np.round(rng.uniform(0.3, 1.0, n), 1)
    sstd[:2] = 0.0
    pred = np.stack([mos + rng.normal(0, s, n) for s in (0.3, 1.0)])
    pred[1] = np.round(pred[1], 1)
    c = rng.uniform(0.5, 2, n)
    Q = rng.uniform(1, 5, 12)
    Qd = rng.uniform(0, 4, 12)
    a = pair_sums(pred, mos, sstd, c, Q, Qd, backend="numba")
    b = pair_sums(pred, mos, sstd, c, Q, Qd, backend="numpy")
    assert_close(a.sw, b.sw, "sw")
    for m in GMC_METHODS:
        assert_close(a.values()[m], b.values()[m], m)
    for method in ("plcc", "srocc"):
        assert_close(a.sxy[method], b.sxy[method], method)


@pytest.mark.slow
def test_backends_agree_on_row_sums_mid_size():
    rng = np.random.default_rng(12)
    n = 300
    pred, mos, sstd, c, Q, Qd = random_case(rng, n, m=2, s=4, rounded=True, zero_std=1)
    a = pair_sums(pred, mos, sstd, c, Q, Qd, backend="numba", row_sums=True)
    b = pair_sums(pred, mos, sstd, c, Q, Qd, backend="numpy", row_sums=True)
    for key in a.rows:
        assert_close(a.rows[key], b.rows[key], key)
    tot = pair_sums(pred, mos, sstd, c, Q, Qd, backend="numba")
    assert_close(a.sxy["plcc"], tot.sxy["plcc"])
    assert_close(a.ssign, tot.ssign)


def test_tiles_smaller_than_the_problem(monkeypatch):
    """Force many tiles and point chunks: results must not depend on the tiling."""
    rng = np.random.default_rng(10)
    for rounded, name in ((True, "numba"), (False, "numba"), (True, "numpy"), (False, "numpy")):
        case = random_case(rng, 60, rounded=rounded, s=7)
        whole = pair_sums(*case, row_sums=True)
        monkeypatch.setattr(engine, "_TILE_PAIRS", 5)
        monkeypatch.setattr(engine, "_TILE_BYTES", 8 * 40)
        tiled = pair_sums(*case, backend=name, row_sums=False)
        tiled_rows = pair_sums(*case, backend=name, row_sums=True)
        monkeypatch.undo()
        for m in GMC_METHODS:
            assert_close(tiled.values()[m], whole.values()[m], m)
        for key in whole.rows:
            assert_close(tiled_rows.rows[key], whole.rows[key], key)


# --- the vectorised exp --------------------------------------------------------------------------

def test_exp_matches_numpy():
    rng = np.random.default_rng(0)
    x = np.concatenate([-rng.uniform(0, 760, 200_000), -rng.uniform(0, 1, 100_000),
                        -rng.uniform(0, 1e-9, 1000), -np.logspace(-300, 3, 1000),
                        [0.0, -0.0, -np.inf, -745.13, -745.14, -708.39, -708.4, -709.0]])
    got = exp_array(x, np.empty_like(x))
    want = np.exp(x)
    normal = want >= np.finfo(float).tiny
    np.testing.assert_allclose(got[normal], want[normal], rtol=1e-15, atol=0)
    # subnormal results: within one unit of the last place of the subnormal grid
    assert np.all(np.abs(got[~normal] - want[~normal]) <= 5e-324)
    np.testing.assert_array_equal(got == 0, want == 0)  # underflow to exactly 0 where numpy does
    assert got[-6] == 0.0 and got[-4] == 0.0 and got[-8] == 1.0 and got[-5] > 0.0


# --- inputs --------------------------------------------------------------------------------------

def good_case():
    return random_case(np.random.default_rng(1), 6, m=2, s=2)


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(pred=np.ones((2, 6, 1))), "shape"),
    (lambda a: a["pred"].__setitem__((1, 3), np.nan), "non-finite"),
    (lambda a: a.update(mos=np.ones(5)), "5 values"),
    (lambda a: a["scaled_std"].__setitem__(2, -0.1), "negative"),
    (lambda a: a["c"].__setitem__(0, -1.0), "negative"),
    (lambda a: a.update(Qd=np.ones(3)), "differ in length"),
    (lambda a: a.update(Q=np.array([np.inf, 1.0])), "non-finite"),
    (lambda a: a.update(pred=np.ones((1, 1)), mos=[1.0], scaled_std=[1.0], c=[1.0]), "at least 2"),
    (lambda a: a.update(mos=["a"] * 6), "numeric"),
])
def test_bad_inputs_raise_input_error(change, message):
    pred, mos, sstd, c, Q, Qd = good_case()
    args = dict(pred=pred, mos=mos, scaled_std=sstd, c=c, Q=Q, Qd=Qd)
    change(args)
    with pytest.raises(InputError, match=message):
        pair_sums(**args)


@pytest.mark.parametrize("option, message", [
    (dict(methods=("srocc", "pearson")), "methods"), (dict(methods=()), "methods"),
    (dict(ranks="min"), "ranks"), (dict(backend="gpu"), "backend"),
])
def test_bad_options_raise_input_error(option, message):
    with pytest.raises(InputError, match=message):
        pair_sums(*good_case(), **option)


def test_backends_listed_and_cupy_refused_clearly():
    names = available_backends()
    assert names[:2] == ["numba", "numpy"]
    if "cupy" not in names:
        with pytest.raises(InputError, match="CuPy"):
            pair_sums(*good_case(), backend="cupy")
    assert engine._choose_backend("auto", 10) == "numba"
