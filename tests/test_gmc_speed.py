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
