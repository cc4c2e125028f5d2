"""Tests of the model comparison: the influence-value uncertainty and compare_models.

The analytic (Hoeffding + delta method) standard errors are checked against independent
references written plainly here: a naive O(N^2) computation of the GMC pair sums and their
per-image row sums, the exact leave-one-out (jackknife) values, and a seeded paired
bootstrap over images.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from iqa_eval.compare import gmc_influence, influence_se


# --------------------------------------------------------------------------------------
# Naive reference of the GMC pair sums with row sums (O(N^2) memory; small N only)
# --------------------------------------------------------------------------------------
def dense_ranks(x):
    return np.unique(x, return_inverse=True)[1].astype(np.float64)


@dataclass
class RefSums:
    sw: np.ndarray
    ssign: np.ndarray
    sxy: dict
    sxx: dict
    syy: dict
    rows: dict

    def values(self):
        out = {"krcc": self.ssign / self.sw[None]}
        for m in self.sxy:
            out[m] = self.sxy[m] / np.sqrt(self.sxx[m] * self.syy[m][None])
        return out


def naive_pair_sums(pred, mos, scaled_std, c, Q, Qd, methods=("srcc", "plcc", "krcc"),
                    ranks=None):
    """Full-matrix sums: rows[key][..., s, i] = sum_{j != i} w_ij t_ij; totals = rows.sum/2.

    ``ranks`` (M+1, N), if given, replaces the dense ranks of (pred, mos) in the SRCC form
    (used to hold ranks fixed in leave-one-out checks).
    """
    pred = np.atleast_2d(np.asarray(pred, float))
    mos = np.asarray(mos, float)
    M, N = pred.shape
    S = len(Q)
    k = np.asarray(scaled_std, float)
    if ranks is None:
        rp = np.array([dense_ranks(p) for p in pred])
        rm = dense_ranks(mos)
    else:
        rp, rm = ranks[:-1], ranks[-1]
    y = mos[:, None] - mos[None, :]
    ry = rm[:, None] - rm[None, :]
    x = pred[:, :, None] - pred[:, None, :]
    rx = rp[:, :, None] - rp[:, None, :]
    v = k[:, None] ** 2 + k[None, :] ** 2
    off = ~np.eye(N, dtype=bool)
    rows = {key: [] for key in ("sw", "ssign", "sxy:plcc", "sxx:plcc", "syy:plcc",
                                "sxy:srcc", "sxx:srcc", "syy:srcc")}
    for s in range(S):
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(k > 0, np.exp(-(Q[s] - mos) ** 2 / (2 * k ** 2)), 0.0)
            b = np.where(v > 0, np.exp(-(Qd[s] - np.abs(y)) ** 2 / (2 * v)), 0.0)
        w = a[:, None] * a[None, :] * b * c[:, None] * c[None, :] * off
        rows["sw"].append(w.sum(1))
        rows["ssign"].append((w[None] * np.sign(x) * np.sign(y)[None]).sum(2))
        rows["sxy:plcc"].append((w[None] * x * y[None]).sum(2))
        rows["sxx:plcc"].append((w[None] * x * x).sum(2))
        rows["syy:plcc"].append((w * y * y).sum(1))
        rows["sxy:srcc"].append((w[None] * rx * ry[None]).sum(2))
        rows["sxx:srcc"].append((w[None] * rx * rx).sum(2))
        rows["syy:srcc"].append((w * ry * ry).sum(1))
    out = {}
    for key, val in rows.items():
        arr = np.array(val)                          # (S, N) or (S, M, N)
        out[key] = arr if arr.ndim == 2 else arr.transpose(1, 0, 2)
    tot = {key: val.sum(-1) / 2 for key, val in out.items()}
    return RefSums(sw=tot["sw"], ssign=tot["ssign"],
                   sxy={m: tot[f"sxy:{m}"] for m in ("plcc", "srcc")},
                   sxx={m: tot[f"sxx:{m}"] for m in ("plcc", "srcc")},
                   syy={m: tot[f"syy:{m}"] for m in ("plcc", "srcc")}, rows=out)


def toy_study(n, seed):
    """MOS on 1..5 with per-image std; A good at high MOS, B uniformly noisier."""
    rng = np.random.default_rng(seed)
    mos = np.round(1 + 4 * rng.beta(1.5, 1.5, n), 2)       # rounded: ties in MOS
    std = rng.uniform(0.4, 0.9, n)
    u = (mos - 1) / 4
    a = u + (0.25 - 0.2 * u) * rng.standard_normal(n)
    b = u + 0.15 * rng.standard_normal(n)
    return mos, std, np.vstack([a, b])


CELLS_Q = np.array([2.0, 3.0, 3.5, 4.0])
CELLS_QD = np.array([0.3, 0.8, 0.5, 1.2])


# --------------------------------------------------------------------------------------
# Influence values
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["srcc", "plcc", "krcc"])
def test_influence_values_sum_to_zero_and_values_match(method):
    mos, std, pred = toy_study(80, 1)
    c = np.ones(mos.size)
    sums = naive_pair_sums(pred, mos, std, c, CELLS_Q, CELLS_QD)
    values, psi = gmc_influence(sums, method, mos.size)
    np.testing.assert_allclose(values, sums.values()[method], rtol=1e-12)
    assert psi.shape == (2, CELLS_Q.size, mos.size)
    scale = np.abs(psi).max(-1)
    np.testing.assert_allclose(psi.sum(-1) / scale, 0.0, atol=1e-10)


@pytest.mark.parametrize("method", ["srcc", "plcc", "krcc"])
def test_influence_matches_exact_leave_one_out(method):
    """psi_i against the jackknife pseudo-values (N-1)(r - r_(-i)), computed from scratch.

    The ranks are held fixed (the approximation the analytic variance makes), so the only
    difference is the delta method's linearisation: agreement is O(1/n_eff) (here n_eff is
    about 60 images per cell; the jackknife is slightly larger, as Efron-Stein predicts).
    """
    n = 120
    mos, std, pred = toy_study(n, 2)
    c = np.random.default_rng(3).uniform(0.5, 2.0, n)       # a non-trivial regulator
    ranks = np.vstack([dense_ranks(p) for p in pred] + [dense_ranks(mos)])
    full = naive_pair_sums(pred, mos, std, c, CELLS_Q, CELLS_QD, ranks=ranks)
    r, psi = gmc_influence(full, method, n)
    jack = np.empty_like(psi)
    for i in range(n):
        keep = np.arange(n) != i
        loo = naive_pair_sums(pred[:, keep], mos[keep], std[keep], c[keep], CELLS_Q, CELLS_QD,
                              ranks=ranks[:, keep]).values()[method]
        jack[..., i] = (n - 1) * (r - loo)
    for m in range(2):
        for s in range(CELLS_Q.size):
            a, b = psi[m, s], jack[m, s]
            assert np.corrcoef(a, b)[0, 1] > 0.995
            assert np.sqrt((a ** 2).sum() / (b ** 2).sum()) == pytest.approx(1.0, abs=0.1)


def test_influence_of_zero_weight_images_is_zero():
    mos, std, pred = toy_study(50, 4)
    std[:5] = 0.0                                          # zero std: zero weight (reference rule)
    sums = naive_pair_sums(pred, mos, std, np.ones(50), CELLS_Q, CELLS_QD)
    for method in ("srcc", "plcc", "krcc"):
        _, psi = gmc_influence(sums, method, 50)
        assert np.all(psi[..., :5] == 0.0)


def test_empty_cell_gives_nan_not_error():
    mos, std, pred = toy_study(30, 5)
    far = np.array([3.0, 500.0])                           # Q far outside: weights underflow to 0
    sums = naive_pair_sums(pred, mos, std, np.ones(30), far, np.array([0.5, 0.5]))
    for method in ("srcc", "plcc", "krcc"):
        values, psi = gmc_influence(sums, method, 30)
        assert np.all(np.isfinite(values[:, 0])) and np.all(np.isnan(values[:, 1]))
        assert np.all(np.isnan(psi[:, 1]))


def paired_bootstrap(pred, mos, std, c, Q, Qd, n_boot, seed):
    """Textbook paired bootstrap: resample image indices, recompute both models from scratch.

    Written independently of the library's multiplicity trick: the resample is
    materialised and its ranks recomputed; pairs of two copies of the same image are
    excluded (a real sample has no such zero-difference pairs). Returns method -> (B, 2, S).
    """
    rng = np.random.default_rng(seed)
    n = mos.size
    reps = {m: np.empty((n_boot, 2, len(Q))) for m in ("srcc", "plcc", "krcc")}
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        values = naive_pair_sums_excluding(pred[:, idx], mos[idx], std[idx], c[idx], Q, Qd,
                                           idx).values()
        for m in reps:
            reps[m][b] = values[m]
    return reps


def naive_pair_sums_excluding(pred, mos, std, c, Q, Qd, ids):
    """Totals of the GMC sums over pairs of draws with different image ids (dense ranks)."""
    M, N = pred.shape
    rp = np.array([dense_ranks(p) for p in pred])
    rm = dense_ranks(mos)
    y = mos[:, None] - mos[None, :]
    ry = rm[:, None] - rm[None, :]
    x = pred[:, :, None] - pred[:, None, :]
    rx = rp[:, :, None] - rp[:, None, :]
    v = std[:, None] ** 2 + std[None, :] ** 2
    other = ids[:, None] != ids[None, :]
    sw, ssign = [], []
    sxy, sxx, syy = {"plcc": [], "srcc": []}, {"plcc": [], "srcc": []}, {"plcc": [], "srcc": []}
    for s in range(len(Q)):
        a = np.exp(-(Q[s] - mos) ** 2 / (2 * std ** 2))
        b = np.exp(-(Qd[s] - np.abs(y)) ** 2 / (2 * v))
        w = a[:, None] * a[None, :] * b * c[:, None] * c[None, :] * other
        sw.append(w.sum() / 2)
        ssign.append((w[None] * np.sign(x) * np.sign(y)[None]).sum((1, 2)) / 2)
        for key, xx, yy in (("plcc", x, y), ("srcc", rx, ry)):
            sxy[key].append((w[None] * xx * yy[None]).sum((1, 2)) / 2)
            sxx[key].append((w[None] * xx * xx).sum((1, 2)) / 2)
            syy[key].append((w * yy * yy).sum() / 2)
    return RefSums(sw=np.array(sw), ssign=np.array(ssign).T,
                   sxy={k: np.array(v).T for k, v in sxy.items()},
                   sxx={k: np.array(v).T for k, v in sxx.items()},
                   syy={k: np.array(v) for k, v in syy.items()}, rows={})


@pytest.fixture(scope="module")
def bootstrap_study():
    n = 200
    mos, std, pred = toy_study(n, 7)
    c = np.ones(n)
    sums = naive_pair_sums(pred, mos, std, c, CELLS_Q, CELLS_QD)
    reps = paired_bootstrap(pred, mos, std, c, CELLS_Q, CELLS_QD, 400, 0)
    return n, sums, reps


@pytest.mark.parametrize("method", ["srcc", "plcc", "krcc"])
def test_analytic_se_of_difference_agrees_with_paired_bootstrap(method, bootstrap_study):
    """The analytic SE of A - B is within 20% of a 400-resample paired bootstrap (N = 200).

    The bootstrap recomputes everything per resample (ranks included), so it also checks
    the fixed-rank approximation. Monte Carlo error of a 400-resample SE is about 4%.
    """
    n, sums, reps = bootstrap_study
    _, psi = gmc_influence(sums, method, n)
    boot = reps[method]
    se_boot = (boot[:, 0] - boot[:, 1]).std(0, ddof=1)
    np.testing.assert_allclose(influence_se(psi[0] - psi[1]) / se_boot, 1.0, atol=0.2)
    for m in range(2):                                     # and each model's own SE
        np.testing.assert_allclose(influence_se(psi[m]) / boot[:, m].std(0, ddof=1), 1.0,
                                   atol=0.2)
