"""Peak memory of ``iqa-eval score`` relative to the input file's size (issue 7 asks for <= 3x).

    python benchmarks/bench_memory.py [--rows 400000] [--baseline-repo /path/to/other/checkout]

Each measurement is a separate process (peak RSS from ``getrusage`` of the child): first the
interpreter with every module ``score`` imports (the baseline), then ``score`` on the file.
Prints both peaks, the difference and its ratio to the file size.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _peak_kib(args, repo=REPO) -> int:
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=False, "
            "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    env = dict(os.environ, PYTHONPATH=str(repo))
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                         cwd=repo, check=True)
    return int(out.stdout.strip())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--baseline-repo", default=None, help="another checkout measured side by side")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from iqa_eval.data.simulation import simulate_study

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "study.csv"
        simulate_study(args.rows, seed=0).to_csv(path, index=False)
        size = path.stat().st_size
        imports = [sys.executable, "-c", "import iqa_eval.cli.score, iqa_eval.studies.evaluation, iqa_eval.render.formatting, "
                                          "iqa_eval.data.io, iqa_eval.stats._metric_kernels, numba, scipy.stats"]
        score = [sys.executable, "-m", "iqa_eval.cli", "score", str(path)]   # stderr is no terminal: no bar
        rows = [("this checkout", REPO)] + ([("baseline", Path(args.baseline_repo))] if args.baseline_repo else [])
        print(f"file {size / 2**20:.1f} MiB ({args.rows:,} rows x 6 models)")
        for name, repo in rows:
            base, peak = _peak_kib(imports, repo), _peak_kib(score, repo)
            print(f"{name:<14} peak RSS: imports {base / 1024:.0f} MiB, score {peak / 1024:.0f} MiB; "
                  f"score above the imports {(peak - base) / 1024:.0f} MiB = {(peak - base) * 1024 / size:.1f} x the file")


if __name__ == "__main__":
    main()
