"""Issue 18's fast paths against the paths they replace (and, through test_gmc_engine, the naive sums).

* Row sums on a grid of points (compare's regular grid): ``group_row_sums_grid`` factors each
  weight as ``e_Q(g) e_Q(h) b_Qd(g, h)`` and multiplies dense blocks; it must equal the per-point
  kernel (``group_row_sums``, the implementation before issue 18) to 1e-12 relative.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iqa_eval.gmc import engine
from iqa_eval.gmc.engine import pair_sums
from iqa_eval.gmc.sampling import regular_grid
from iqa_eval.options import GMC_METHODS

SHARED = Path(os.environ.get("IQA_EVAL_SHARED", Path(__file__).resolve().parents[2] / "shared"))
REF = SHARED / "data" / "gmc-reference"


def _rows_both_paths(monkeypatch, pred, mos, sstd, c, q, qd, methods=GMC_METHODS):
    prob = engine._Problem(pred, mos, sstd, c, q, qd, methods=methods, ranks="dense", row_sums=True)
    assert engine._grid_args(prob, engine._numba_inputs(prob)) is not None   # the grid path is taken
    fast = pair_sums(pred, mos, sstd, c, q, qd, methods=methods, row_sums=True)
    monkeypatch.setattr(engine, "_GRID_ROWS", False)
    slow = pair_sums(pred, mos, sstd, c, q, qd, methods=methods, row_sums=True)
    monkeypatch.undo()
    return fast, slow


def _assert_rows_equal(fast, slow, rtol=1e-12):
    for key in slow.rows:
        a, b = fast.rows[key], slow.rows[key]
        # relative to the largest row sum of that key at that point (row sums of signed terms
        # can be ~0 for single images, where only an absolute comparison means anything)
        scale = np.abs(b).max(axis=-1, keepdims=True)
        err = np.abs(a - b) / np.where(scale > 0, scale, 1.0)
        assert err.max() <= rtol, (key, err.max())
        assert np.array_equal(a == 0, b == 0) or err.max() <= rtol


@pytest.mark.parametrize("rounded", [False, True])
def test_grid_row_sums_equal_the_per_point_kernel(monkeypatch, rounded):
    rng = np.random.default_rng(3)
    n = 180
    mos = rng.uniform(1, 5, n)
    if rounded:
        mos = np.round(mos, 1)          # groups of images sharing (MOS, std)
    sstd = np.where(rounded, 0.4, rng.uniform(0.2, 0.8, n))
    sstd[:2] = 0.0                      # zero-std images carry no weight
    pred = np.stack([mos + rng.normal(0, s, n) for s in (0.3, 0.9)])
    c = rng.uniform(0.5, 2.0, n)
    nodes = regular_grid(mos, shape=(7, 5))          # 7 Q levels: the last block of 4 is padded
    fast, slow = _rows_both_paths(monkeypatch, pred, mos, sstd, c, nodes["Q"].to_numpy(),
                                  nodes["Qd"].to_numpy())
    _assert_rows_equal(fast, slow)


def test_grid_row_sums_on_kadid_subset(monkeypatch):
    if not (REF / "kadid10k").is_dir():
        pytest.skip("needs ../shared/data/gmc-reference")
    meta = pd.read_csv(REF / "kadid10k" / "meta.csv").iloc[:600]
    pred = np.stack([pd.read_csv(REF / "kadid10k" / f"{m}.csv")["Results Scores for CC"].to_numpy(float)[:600]
                     for m in ("DeepWSD", "ms_ssim")])
    mos, std = meta["mos"].to_numpy(float), meta["std"].to_numpy(float)
    nodes = regular_grid(mos, shape=(20, 20))
    fast, slow = _rows_both_paths(monkeypatch, pred, mos, std, np.ones(mos.size), nodes["Q"].to_numpy(),
                                  nodes["Qd"].to_numpy())
    _assert_rows_equal(fast, slow)


def test_points_off_a_grid_keep_the_per_point_kernel():
    rng = np.random.default_rng(1)
    mos = rng.uniform(1, 5, 40)
    q = rng.uniform(1, 5, 12)
    qd = np.repeat([0.5, 1.0, 1.5], 4)                # shared Qd values but 12 distinct Q: 36 > 2 * 12
    prob = engine._Problem(mos[None], mos, np.full(40, 0.5), np.ones(40), q, qd, methods=("srocc",),
                           ranks="dense", row_sums=True)
    assert engine._grid_args(prob, engine._numba_inputs(prob)) is None


# --- provably negligible tiles --------------------------------------------------------------------

def _published_sets():
    sets = {}
    for name in ("LIVEC", "kadid10k", "tid2013"):
        if not (REF / name).is_dir():
            continue
        meta = pd.read_csv(REF / name / "meta.csv")
        models = sorted(p.stem for p in (REF / name).glob("*.csv")
                        if p.stem not in ("meta", "samples", "golden_points", "golden_heights"))[:2]
        pred = np.stack([pd.read_csv(REF / name / f"{m}.csv")["Results Scores for CC"].to_numpy(float)
                         for m in models])
        sets[name] = (pred, meta["mos"].to_numpy(float), meta["std"].to_numpy(float))
    return sets


def _adversarial(kind):
    rng = np.random.default_rng(5)
    n = 400
    if kind == "two far clusters":
        mos = np.concatenate([rng.normal(1.0, 0.02, n // 2), rng.normal(90.0, 0.02, n // 2)])
        std = np.full(n, 0.05)
    elif kind == "one outlier image":
        mos = np.append(rng.normal(3.0, 0.1, n - 1), 80.0)
        std = np.full(n, 0.1)
    else:   # all equal
        mos, std = np.full(n, 3.0), np.full(n, 0.5)
    pred = np.stack([mos + rng.normal(0, 0.3, n), rng.normal(size=n)])
    return pred, mos, std


def _skip_check(monkeypatch, pred, mos, std, q, qd, c=None):
    from iqa_eval.gmc.weights import distribution_weights

    if c is None:
        c = distribution_weights(mos, std=std, regulator="gaussian")
    fast = pair_sums(pred, mos, std, c, q, qd)
    share = engine.last_skipped_share
    monkeypatch.setattr(engine, "_SKIP_REL", 0.0)
    exact = pair_sums(pred, mos, std, c, q, qd)
    monkeypatch.undo()
    # the weight total: skipped weight <= 1e-16 of it
    np.testing.assert_allclose(fast.sw, exact.sw, rtol=1e-15, atol=0)
    for method in ("srocc", "plcc", "krcc"):
        np.testing.assert_allclose(fast.values()[method], exact.values()[method], rtol=1e-15, atol=1e-15)
    return share


@pytest.mark.slow
@pytest.mark.parametrize("name", ["LIVEC", "kadid10k", "tid2013"])
def test_skipped_tiles_change_nothing_on_the_published_sets(monkeypatch, name):
    sets = _published_sets()
    if name not in sets:
        pytest.skip("needs ../shared/data/gmc-reference")
    pred, mos, std = sets[name]
    from iqa_eval.gmc.sampling import latin_hypercube

    pts = latin_hypercube(mos, 40, seed=0)
    share = _skip_check(monkeypatch, pred, mos, std, pts["Q"].to_numpy(), pts["Qd"].to_numpy())
    if name == "tid2013":
        assert share > 0.3        # narrow std: most tiles are skipped, and that changes nothing


@pytest.mark.parametrize("kind", ["two far clusters", "one outlier image", "all equal"])
def test_skipped_tiles_change_nothing_on_adversarial_mos(monkeypatch, kind):
    pred, mos, std = _adversarial(kind)
    lo, hi = mos.min(), mos.max()
    q = np.linspace(lo, hi, 12)
    qd = np.linspace(0, hi - lo, 12)[::-1]
    c = np.random.default_rng(0).uniform(0.5, 2.0, mos.size)
    share = _skip_check(monkeypatch, pred, mos, std, q, qd, c)
    if kind == "two far clusters":
        assert share > 0.02       # the far cluster pairs at points near one cluster


def test_skip_bound_holds_tile_by_tile():
    """Every skipped (tile, point) really carries at most the bound's share: the weights of the
    tile's pairs summed directly (plain loop) against the point's total weight."""
    pred, mos, std = _adversarial("two far clusters")
    c = np.ones(mos.size)
    q = np.array([1.0, 45.0, 90.0])
    qd = np.array([0.0, 89.0, 0.0])
    prob = engine._Problem(pred, mos, std, c, q, qd, methods=("krcc",), ranks="dense")
    inp = engine._numba_inputs(prob)
    inp.B = 256
    from iqa_eval.gmc import _pair_kernels_numba as nk

    skip = np.zeros((inp.n_tiles, 3), dtype=bool)
    nk.tile_skip_flags(inp.n_tiles, inp.B, inp.rowoff, inp.gs, inp.c, inp.lg, inp.Vg, inp.wargs[0], prob.Qd,
                       1e-16, skip)
    assert skip.any() and not skip.all()
    # plain weights of every group pair (g <= h), numbered row by row as the engine's tiles
    G = inp.gs.size - 1
    cg = np.add.reduceat(inp.c, inp.gs[:-1])
    for s in range(3):
        a = np.exp(inp.wargs[0][s])
        w = []
        for g in range(G):
            for h in range(g, G):
                v = inp.Vg[g] + inp.Vg[h]
                b = np.exp(-(qd[s] - abs(inp.lg[g] - inp.lg[h])) ** 2 / (2 * v))
                n_pairs = cg[g] * (cg[g] - 1) / 2 if g == h else cg[g] * cg[h]
                w.append(a[g] * a[h] * b * n_pairs)
        w = np.array(w)
        per_tile = np.add.reduceat(w, np.arange(0, w.size, inp.B))
        assert per_tile[skip[:, s]].sum() <= 1e-16 * w.sum()
