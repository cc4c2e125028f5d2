"""What tile skipping would remove at thresholds looser than the exact one (issue 18).

The engine skips a tile at a point only when all skipped weight provably stays below 1e-16 of the
point's total (``engine._SKIP_REL``). This script sets looser thresholds on a large set with every
MOS distinct (the PIPAL-sized synthetic set of ``bench_gmc.py``: 23,200 images, Beta-model std
phi 3, LDS regulator, 100 Latin-hypercube points; one model, SROCC form) and prints, per threshold,
the share of tile-points skipped, the CPU time of the pair sums and the largest relative change of
``sum w`` against the unskipped run: what an approximation by truncation could buy.

Usage: python benchmarks/bench_skip_threshold.py [--n 23200]   (about 5 minutes on 2 cores)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_gmc  # noqa: E402  (the synthetic set)

from iqa_eval.gmc import engine  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=23_200)
    args = ap.parse_args()
    pred, mos, std, c, (Q, Qd) = bench_gmc.synthetic(n=args.n)
    pred = pred[:1]
    engine.pair_sums(pred[:, :500], mos[:500], std[:500], c[:500], Q, Qd, methods=("srocc",), backend="numba")
    ref = None
    print(f"{args.n:,} images, one model, SROCC form, {Q.size} points, numba backend:")
    for rel in (0.0, 1e-16, 1e-12, 1e-9, 1e-6, 1e-4):
        engine._SKIP_REL = rel
        cpu, wall = time.process_time(), time.perf_counter()
        sw = np.asarray(engine.pair_sums(pred, mos, std, c, Q, Qd, methods=("srocc",), backend="numba").sw)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        ref = sw if ref is None else ref
        change = float(np.max(np.abs(sw - ref) / np.abs(ref)))
        print(f"  rel {rel:7.0e}: skipped {100 * engine.last_skipped_share:5.1f}% of tile-points, "
              f"{cpu:6.2f} s CPU {wall:6.2f} s wall, largest relative change of sum w {change:.1e}", flush=True)


if __name__ == "__main__":
    main()
