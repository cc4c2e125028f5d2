"""The everyday path as whole processes: ``iqa-eval --help``, ``score`` on the shipped example and
``surface`` on LIVEC (1,162 images, 7 models, 100 sample points) and on KADID-10k (10,125 images,
6 models, the grid of every form written as CSV), this checkout against a baseline revision side
by side.

Each command runs as a fresh ``python`` process (imports included), alternating between the two
trees, ``--repeats`` times; the median wall time is printed with the ratio baseline / this tree.
One untimed run of each first fills numba's on-disk cache, so compilation stays out of the timed
runs. The baseline tree is exported with ``git archive REV`` into a temporary directory.

Usage: python benchmarks/bench_everyday.py [--baseline REV] [--repeats 5]
       (needs ../shared/data/gmc-reference/LIVEC, or $IQA_EVAL_SHARED)
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("IQA_EVAL_SHARED", REPO.parent / "shared"))
LIVEC = SHARED / "data" / "gmc-reference" / "LIVEC"
KADID = SHARED / "data" / "gmc-reference" / "kadid10k"


def _entry(tree: Path) -> str:
    """How to start the CLI of a tree (the command line moved from cli/ to iqa_eval.cli)."""
    module = "iqa_eval.cli.main" if (tree / "iqa_eval" / "cli").exists() else "cli.main"
    return f"import sys; sys.argv[0] = 'iqa-eval'; from {module} import main; main()"


def _run(tree: Path, args) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _entry(tree), *map(str, args)], cwd=tree, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{tree}: iqa-eval {' '.join(map(str, args))} failed:\n{done.stderr[-2000:]}")
    return wall


def _export(rev: str, into: Path) -> Path:
    archive = into / "baseline.tar"
    subprocess.run(["git", "-C", str(REPO), "archive", "-o", str(archive), rev], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter="data")
    return into / "tree"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default="main", help="git revision to compare against")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if not LIVEC.is_dir():
        raise SystemExit(f"LIVEC reference data not found at {LIVEC}")
    models = sorted(p for p in LIVEC.glob("*.csv")
                    if p.stem not in ("meta", "samples", "golden_points", "golden_heights"))
    kadid = KADID / "meta.csv"
    kadid_models = sorted(p for p in KADID.glob("*.csv") if p.stem != "meta")
    cases = [("iqa-eval --help", ["--help"]),
             ("iqa-eval score examples/simulated_study.csv", ["score", "examples/simulated_study.csv"]),
             (f"iqa-eval surface LIVEC ({len(models)} models, 100 points)",
              ["surface", LIVEC / "meta.csv", *models, "--join", "order", "--no-progress"])]
    with tempfile.TemporaryDirectory() as tmp:
        if kadid.is_file():   # issue 18's everyday case: the grid of every form written as CSV
            cases.append((f"iqa-eval surface KADID-10k ({len(kadid_models)} models, -o grid.csv)",
                          ["surface", kadid, *kadid_models, "--join", "order", "--preset", "kadid10k",
                           "--no-progress", "-o", Path(tmp) / "grid.csv"]))
        base = _export(args.baseline, Path(tmp))
        trees = {"baseline": base, "this tree": REPO}
        for _, case in cases:                      # fill numba's cache; not timed
            for tree in trees.values():
                _run(tree, case)
        print(f"whole processes, median of {args.repeats} (baseline = {args.baseline}):")
        for label, case in cases:
            times = {name: [] for name in trees}
            for _ in range(args.repeats):
                for name, tree in trees.items():
                    times[name].append(_run(tree, case))
            b, t = (statistics.median(times[name]) for name in trees)
            print(f"  {label:<52} baseline {b:6.2f} s   this tree {t:6.2f} s   ({b / t:4.1f}x)")


if __name__ == "__main__":
    main()
