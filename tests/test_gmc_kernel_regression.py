"""Kernel-regression surface and GMC score against statsmodels' KernelReg and exact integrals."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from iqa_eval.errors import InputError
from iqa_eval.gmc.kernel_regression import (average_height, cv_ls_loss, kernel_surface, local_linear,
                                  select_bandwidth)


def _kernel_reg(y, q, qd, bw):
    from statsmodels.nonparametric.kernel_regression import KernelReg
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # statsmodels' FutureWarning about its rng
        # A list of columns, as a user of KernelReg passes them.
        return KernelReg([np.asarray(y)], [np.asarray(q), np.asarray(qd)], var_type="cc",
                         reg_type="ll", bw=bw)


@pytest.fixture
def noisy():
    rng = np.random.default_rng(11)
    q, qd = rng.uniform(0, 100, 60), rng.uniform(0, 100, 60)
    y = 0.6 + 0.002 * q - 0.001 * qd + 0.05 * np.sin(q / 9) + rng.normal(0, 0.01, 60)
    return q, qd, y


def test_local_linear_reproduces_planes():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, (40, 2))
    y = 0.3 + 0.7 * x[:, 0] - 0.2 * x[:, 1]
    at = rng.uniform(0, 10, (25, 2))
    np.testing.assert_allclose(local_linear([1.5, 2.0], x, y, at), 0.3 + 0.7 * at[:, 0] - 0.2 * at[:, 1],
                               rtol=1e-9)


def test_cv_loss_equals_kernelreg(noisy):
    q, qd, y = noisy
    kr = _kernel_reg(y, q, qd, [1.0, 1.0])
    x = np.column_stack([q, qd])
    # Each fold's 3 x 3 system is solved by cofactors where it is well conditioned (KernelReg:
    # an SVD pseudo-inverse); the two differ by the rounding of the solve, a few 1e-12 of the
    # loss here, which is below what moves the bandwidth search (tested below to 1e-10).
    for bw in ([3.0, 5.0], [0.8, 20.0], [15.0, 2.5]):
        np.testing.assert_allclose(cv_ls_loss(np.array(bw), x, y),
                                   kr.cv_loo(np.array(bw), kr._est_loc_linear)[0], rtol=1e-10)


def test_bandwidth_and_grid_equal_kernelreg(noisy):
    q, qd, y = noisy
    kr = _kernel_reg(y, q, qd, "cv_ls")
    qa, da, z, bw = kernel_surface(q, qd, y, q_range=(0, 100), qd_range=(0, 100), grid_res=30)
    np.testing.assert_allclose(bw, kr.bw, rtol=1e-10)
    qq, dd = np.meshgrid(qa, da, indexing="ij")
    ref = kr.fit(np.column_stack([qq.ravel(), dd.ravel()]))[0].reshape(qq.shape)
    np.testing.assert_allclose(z, np.nan_to_num(ref), rtol=0, atol=1e-9)


@pytest.mark.slow
def test_livec_bandwidths_equal_kernelreg(shared_dir):
    golden = pd.read_csv(shared_dir / "LIVEC" / "golden_points.csv").replace({"method": {"SRCC": "SROCC"}})
    for model, method in (("clipiqa", "KRCC"), ("niqe", "SROCC"), ("qalign", "PLCC")):
        g = golden[(golden.model == model) & (golden.method == method)]
        kr = _kernel_reg(g.value, g.Q, g.Qd, "cv_ls")
        bw = select_bandwidth(np.column_stack([g.Q, g.Qd]), g.value.to_numpy())
        np.testing.assert_allclose(bw, kr.bw, rtol=1e-10)


def test_fixed_bandwidth_and_errors(noisy):
    q, qd, y = noisy
    _, _, _, bw = kernel_surface(q, qd, y, q_range=(0, 100), qd_range=(0, 100), grid_res=5, bw=[4, 6])
    np.testing.assert_array_equal(bw, [4.0, 6.0])
    with pytest.raises(InputError, match="bw must be one of cv_ls, aic or two numbers; got 'silverman'"):
        kernel_surface(q, qd, y, q_range=(0, 100), qd_range=(0, 100), bw="silverman")
    with pytest.raises(InputError, match="at least 3"):
        kernel_surface(q[:2], qd[:2], y[:2], q_range=(0, 100), qd_range=(0, 100))
    with pytest.raises(InputError, match="grid_res must be an integer >= 2; got 1"):
        kernel_surface(q, qd, y, q_range=(0, 100), qd_range=(0, 100), grid_res=1)


def test_average_height():
    qa, da = np.linspace(10, 90, 41), np.linspace(0, 80, 33)
    qq, dd = np.meshgrid(qa, da, indexing="ij")
    # the trapezoid rule is exact for a bilinear function
    z = 0.2 + 0.01 * qq - 0.003 * dd + 1e-4 * qq * dd
    exact = integrate.dblquad(lambda d, q: 0.2 + 0.01 * q - 0.003 * d + 1e-4 * q * d,
                              10, 90, 0, 80)[0] / (80 * 80)
    assert average_height(qa, da, z) == pytest.approx(exact, rel=1e-12)
    assert average_height(qa, da, np.full(qq.shape, 0.37)) == pytest.approx(0.37, rel=1e-14)
    with pytest.raises(InputError, match="does not match"):
        average_height(qa, da, z.T)


# --- the API: tidy tables, grid mode, scores -------------------------------------------------

from iqa_eval.data.dataset import Dataset  # noqa: E402
from iqa_eval.gmc import correlation_surfaces, gmc_points, gmc_score, gmc_surface  # noqa: E402


@pytest.fixture
def study():
    rng = np.random.default_rng(8)
    mos = rng.uniform(10, 90, 150)
    return dict(mos=mos, std=rng.uniform(3, 9, 150),
                preds={"x": mos + rng.normal(0, 8, 150), "y": mos ** 1.5 + rng.normal(0, 60, 150)})


def test_points_table(study):
    pts = gmc_points(study["preds"], study["mos"], std=study["std"], samples=7, methods=["KRCC", "srocc"]).table
    assert list(pts.columns) == ["model", "method", "Q", "Qd", "value", "n_eff", "supported"]
    assert list(dict.fromkeys(zip(pts.model, pts.method))) == [("x", "KRCC"), ("x", "SROCC"),
                                                                ("y", "KRCC"), ("y", "SROCC")]
    assert len(pts) == 2 * 2 * 7 and np.isfinite(pts.value).all()
    assert ((pts.value > -1) & (pts.value <= 1)).all()


def test_grid_mode_integrates_the_exact_grid(study):
    res = correlation_surfaces(study["preds"], study["mos"], std=study["std"], grid=(7, 6),
                               methods=["plcc"])
    pd.testing.assert_frame_equal(res.surface, res.points)
    assert res.bandwidths[["bw_Q", "bw_Qd"]].isna().all().all()
    assert "regular grid 7 x 6" in res.config["samples"]
    rows = res.points[res.points.model == "y"]
    z = rows.value.to_numpy().reshape(7, 6)
    q = np.linspace(study["mos"].min(), study["mos"].max(), 7)
    qd = np.linspace(0, np.ptp(study["mos"]), 6)
    expected = integrate.trapezoid(integrate.trapezoid(z, qd, axis=1), q) / (np.ptp(q) * np.ptp(qd))
    got = res.scores_unrounded
    assert got.gmc[got.model == "y"].item() == pytest.approx(expected, rel=1e-13)
    assert res.scores.gmc[res.scores.model == "y"].item() == round(expected, 4)


def test_surface_from_points_matches_kernel_surface(study):
    result = gmc_points(study["preds"], study["mos"], std=study["std"], samples=40, methods=["srocc"])
    pts = result.table
    lo, hi = study["mos"].min(), study["mos"].max()
    surface = gmc_surface(result, mos_range=(lo, hi), grid_res=12)
    surf = surface.table
    rows = pts[pts.model == "x"]
    _, _, z, bw = kernel_surface(rows.Q, rows.Qd, rows.value, q_range=(lo, hi), qd_range=(0, hi - lo),
                                 grid_res=12)
    np.testing.assert_array_equal(surf[surf.model == "x"].value.to_numpy(), z.ravel())
    bws = surface.bandwidths
    np.testing.assert_array_equal(bws[bws.model == "x"][["bw_Q", "bw_Qd"]].to_numpy()[0], bw)


def test_undefined_points_are_left_out_with_a_note(study):
    pts = gmc_points(study["preds"], study["mos"], std=study["std"], samples=30, methods=["srocc"]).table
    holed = pts.copy()
    holed.loc[[0, 5], "value"] = np.nan
    lo, hi = study["mos"].min(), study["mos"].max()
    surf = gmc_surface(holed, mos_range=(lo, hi), grid_res=10)
    assert any("2 undefined point value(s)" in n for n in surf.notes)
    keep = pts.drop(index=[0, 5])
    ref = gmc_surface(keep, mos_range=(lo, hi), grid_res=10)
    np.testing.assert_array_equal(surf.table.value, ref.table.value)


def test_grid_required_without_regression(study):
    pts = gmc_points(study["preds"], study["mos"], std=study["std"], samples=9, methods=["srocc"])
    with pytest.raises(InputError, match="regular grid"):
        gmc_surface(pts, mos_range=(10, 90), bw_method=None)
    with pytest.raises(InputError, match="bw_method must be one of cv_ls, aic or two numbers or None; got 'scott'"):
        gmc_surface(pts, mos_range=(10, 90), bw_method="scott")


def test_dataset_input(study):
    data = Dataset(mos=study["mos"], predictions=study["preds"], std=study["std"], notes=("dropped 0 rows",))
    res = correlation_surfaces(data, samples=10, grid_res=8, methods=["srocc"])
    ref = correlation_surfaces(study["preds"], study["mos"], std=study["std"], samples=10, grid_res=8,
                               methods=["srocc"])
    pd.testing.assert_frame_equal(res.scores, ref.scores)
    assert "dropped 0 rows" in res.notes
    table = res.score_table()
    assert list(table.index) == ["x", "y"] and list(table.columns) == ["SROCC"]
    assert gmc_score(res.surface, decimals=None).gmc.round(4).tolist() == res.scores.gmc.tolist()


def test_regression_kernels_match_numpy():
    # the jitted sums are numpy's middle-axis reduction bit for bit; the cofactor solve is the
    # pseudo-inverse's first row to rounding, and hands singular systems to the pseudo-inverse
    from iqa_eval.gmc._surface_kernels import weighted_middle_sums
    from iqa_eval.gmc.kernel_regression import _first_of_solve

    rng = np.random.default_rng(3)
    dx, w = rng.normal(size=(40, 37, 2)) * 20, rng.random((40, 37)) * 1e-3
    np.testing.assert_array_equal(weighted_middle_sums(dx, w), (dx * w[:, :, None]).sum(axis=1))
    a = rng.normal(size=(50, 3, 3))
    M = a @ a.transpose(0, 2, 1)
    M[:5, 2] = M[:5, 1]                      # five singular systems (two equal rows/columns)
    M[:5, :, 2] = M[:5, :, 1]
    V = rng.normal(size=(50, 3))
    ref = np.matmul(np.linalg.pinv(M), V[:, :, None])[:, 0, 0]
    np.testing.assert_array_equal(_first_of_solve(M, V)[:5], ref[:5])
    np.testing.assert_allclose(_first_of_solve(M, V), ref, rtol=1e-9)


def test_vendored_nelder_mead_is_scipys_fmin():
    # the bandwidth search runs scipy.optimize.fmin's Nelder–Mead without importing scipy.optimize:
    # same points visited, same minimiser, on smooth, flat and budget-limited problems
    from scipy import optimize

    from iqa_eval.gmc._nelder_mead import fmin

    rng = np.random.default_rng(5)
    q, qd = rng.uniform(0, 100, 50), rng.uniform(0, 100, 50)
    y = 0.5 + 0.003 * q + rng.normal(0, 0.02, 50)
    x = np.column_stack([q, qd])
    problems = [(lambda v: float((v[0] - 1.5) ** 2 + 10 * (v[1] + 0.5) ** 4), [0.0, 3.0], {}),
                (lambda v: float(np.cos(v[0]) + 0.1 * v[1] ** 2), [0.3, -2.0], dict(maxfun=25)),
                (lambda v: cv_ls_loss(v, x, y), [8.0, 20.0], dict(maxiter=1e3, maxfun=1e3))]
    for func, x0, kw in problems:
        seen_ours, seen_scipy = [], []
        ours = fmin(lambda v: seen_ours.append(v.copy()) or func(v), x0, **kw)
        ref = optimize.fmin(lambda v: seen_scipy.append(v.copy()) or func(v), x0, disp=0, **kw)
        np.testing.assert_array_equal(ours, ref)
        np.testing.assert_array_equal(np.array(seen_ours), np.array(seen_scipy))


def test_grid_kernel_is_local_linear_at_every_node():
    # kernel_surface's tensor-grid kernel gives, bit for bit, local_linear at each node
    from iqa_eval.gmc._surface_kernels import local_linear_grid

    rng = np.random.default_rng(8)
    x = np.column_stack([rng.uniform(0, 100, 70), rng.uniform(0, 100, 70)])
    y = 0.5 + 0.002 * x[:, 0] + rng.normal(0, 0.02, 70)
    qa, da = np.linspace(0, 100, 9), np.linspace(0, 100, 7)
    z = np.empty((9, 7))
    local_linear_grid(x, y, 12.0, 30.0, qa, da, z)
    qq, dd = np.meshgrid(qa, da, indexing="ij")
    np.testing.assert_array_equal(z, local_linear([12.0, 30.0], x, y,
                                                  np.column_stack([qq.ravel(), dd.ravel()])).reshape(9, 7))


def test_surfaces_searched_side_by_side_equal_one_by_one():
    # gmc_surface runs the bandwidth searches in threads: the same bandwidths and grids as
    # kernel_surface called on each model and method alone
    from iqa_eval.gmc import gmc_points, gmc_surface
    from iqa_eval.data.simulation import simulate_study

    df = simulate_study(150, seed=4)
    pts = gmc_points({m: df[m] for m in ("precise", "noisy")}, df["mos"], std=df["std"], samples=25,
                     methods=["srocc", "krcc"])
    lo, hi = float(df["mos"].min()), float(df["mos"].max())
    surface = gmc_surface(pts, mos_range=(lo, hi), grid_res=6)
    surf = surface.table
    for (model, method), rows in pts.table.groupby(["model", "method"], sort=False):
        _, _, z, bw = kernel_surface(rows.Q, rows.Qd, rows.value, q_range=(lo, hi),
                                     qd_range=(0.0, hi - lo), grid_res=6)
        got = surface.bandwidths.set_index(["model", "method"]).loc[(model, method)]
        np.testing.assert_array_equal([got.bw_Q, got.bw_Qd], bw)
        part = surf[(surf.model == model) & (surf.method == method)]
        np.testing.assert_array_equal(part.value.to_numpy().reshape(6, 6), z)
