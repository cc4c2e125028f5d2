"""Reading and joining: this checkout's load_dataset against a baseline copy of io.py, side by side.

    python benchmarks/bench_io.py [--n 400000] [--baseline path/to/old/io.py]

The baseline (e.g. ``git show main:iqa_eval/io.py > /tmp/io_main.py``) is loaded as a module of
this package so both read the same files. Prints seconds per case (best of 3) and the ratio.
"""
from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

from iqa_eval.data.simulation import simulate_study
from iqa_eval.data.io import load_dataset


def _baseline(path):
    spec = importlib.util.spec_from_file_location("iqa_eval._io_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_dataset


def _best(fn, *args):
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=400_000)
    parser.add_argument("--baseline", default=None)
    args = parser.parse_args()
    old = _baseline(args.baseline) if args.baseline else None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        df = simulate_study(args.n, seed=0)
        df.to_csv(tmp / "study.csv", index=False)
        df[["image", "mos", "std"]].to_csv(tmp / "meta.csv", index=False)
        df[["image", "precise"]].sample(frac=1, random_state=0).to_csv(tmp / "model.csv", index=False)
        cases = {"one file": [tmp / "study.csv"], "two files, shared key": [tmp / "meta.csv", tmp / "model.csv"]}
        print(f"{'case':<26}{'this (s)':>10}{'baseline (s)':>14}{'ratio':>8}   n = {args.n:,}")
        for name, paths in cases.items():
            now = _best(load_dataset, paths)
            base = _best(old, paths) if old else float("nan")
            print(f"{name:<26}{now:>10.3f}{base:>14.3f}{now / base:>8.2f}")


if __name__ == "__main__":
    main()
