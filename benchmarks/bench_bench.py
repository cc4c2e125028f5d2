"""Benchmark ``iqa-eval bench`` against per-dataset ``score`` calls and a pandas + scipy loop.

1. Four dataset directories are written, each as a user has them: ``meta.csv`` (image, mos,
   std, n_ratings) and one CSV per model (8 models: the six of
   :func:`iqa_eval.datasets.simulate_study` plus two derived ones), ``--images`` rows each.
2. Three whole processes run alternately ``--repeats`` times (medians compared), after one
   untimed warm-up run of each (numba's on-disk cache, file cache):

   - ``iqa-eval bench D1 D2 D3 D4 --format json`` (cells with CIs, all paired tests, ties,
     summary, Friedman + Nemenyi);
   - four ``iqa-eval score Di/*.csv --format json`` processes, one after the other (what a
     user runs today, without the summary);
   - a pandas + scipy script: per dataset, read and join the files, spearmanr, kendalltau,
     4-parameter logistic curve_fit, PLCC/RMSE after it; then scipy's Friedman test (no CIs,
     no paired tests).
3. Once, untimed against a baseline: ``bench --krasula`` on the same data.

Usage: python benchmarks/bench_bench.py [--images 10000] [--repeats 3] [--krasula]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

BASELINE = textwrap.dedent('''
    import json, sys, warnings
    from pathlib import Path
    import numpy as np, pandas as pd
    from scipy import stats
    from scipy.optimize import curve_fit

    def logistic4(x, b1, b2, b3, b4):
        return (b1 - b2) / (1 + np.exp(-(x - b3) / np.abs(b4))) + b2

    table = {}
    for d in sys.argv[1:]:
        meta = pd.read_csv(Path(d) / "meta.csv")
        for f in sorted(Path(d).glob("*.csv")):
            if f.name != "meta.csv":
                meta = meta.merge(pd.read_csv(f).rename(columns={"score": f.stem}), on="image")
        mos = meta["mos"].to_numpy(float)
        for name in [c for c in meta.columns if c not in ("image", "mos", "std", "n_ratings")]:
            x = meta[name].to_numpy(float)
            rho = stats.spearmanr(x, mos)[0]
            if rho < 0:
                x = -x
            row = {"srocc": abs(rho), "krcc": stats.kendalltau(x, mos)[0]}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    p, _ = curve_fit(logistic4, x, mos, p0=[mos.max(), mos.min(), x.mean(), x.std()], maxfev=10000)
                f = logistic4(x, *p)
                row["plcc"] = stats.pearsonr(f, mos)[0]
                row["rmse"] = float(np.sqrt(np.mean((f - mos) ** 2)))
            except RuntimeError:
                row["plcc"] = row["rmse"] = float("nan")
            table[(d, name)] = row
    models = sorted({m for _, m in table})
    res = stats.friedmanchisquare(*[[-table[(d, m)]["srocc"] for d in sys.argv[1:]] for m in models])
    print(json.dumps({"srocc": {f"{d}|{m}": r["srocc"] for (d, m), r in table.items()},
                      "friedman": [res.statistic, res.pvalue]}))
''')


def write_datasets(root: Path, n: int, count: int = 4):
    from iqa_eval.data.simulation import simulate_study

    dirs = []
    for k in range(count):
        df = simulate_study(n, seed=100 + k)
        rng = np.random.default_rng(k)
        # two more models: a blend of two others and a coarsely quantised one (ties)
        df["blend"] = np.round(0.5 * (df["precise"] - df["precise"].mean()) / df["precise"].std()
                               + 0.5 * (df["noisy"] - df["noisy"].mean()) / df["noisy"].std(), 6)
        df["coarse"] = np.round(df["precise"] * 10 + 0.3 * rng.normal(size=n))
        d = root / f"set{k + 1}"
        d.mkdir()
        df[["image", "mos", "std", "n_ratings"]].to_csv(d / "meta.csv", index=False)
        for model in df.columns[4:]:
            df[["image", model]].rename(columns={model: "score"}).to_csv(d / f"{model}.csv", index=False)
        dirs.append(d)
    return dirs


def _children_cpu() -> float:
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmds):
    """(wall seconds, outputs); the CPU seconds of the processes go to timed.cpu."""
    t0, c0 = time.perf_counter(), _children_cpu()
    outs = []
    for cmd in cmds:
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise SystemExit(f"command failed ({res.returncode}): {' '.join(map(str, cmd))}\n{res.stderr}")
        outs.append(res.stdout)
    timed.cpu = _children_cpu() - c0
    return time.perf_counter() - t0, outs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--krasula", action="store_true", help="also time bench --krasula once")
    args = ap.parse_args(argv)
    exe = shutil.which("iqa-eval")
    if exe is None:
        raise SystemExit("iqa-eval is not on PATH (pip install -e . first)")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        dirs = write_datasets(tmp, args.images)
        print(f"wrote 4 datasets x {args.images:,} images x 8 models in {time.perf_counter() - t0:.1f} s")
        script = tmp / "baseline.py"
        script.write_text(BASELINE)
        ours = [[exe, "bench", *map(str, dirs), "--format", "json"]]
        score = [[exe, "score", *map(str, sorted(d.glob("*.csv"))), "--format", "json"] for d in dirs]
        base = [[sys.executable, str(script), *map(str, dirs)]]
        first = {name: timed(c)[0] for name, c in (("bench", ours), ("score", score), ("scipy", base))}
        times = {"bench": [], "score": [], "scipy": []}
        cpu = {"bench": [], "score": [], "scipy": []}
        outs = {}
        for _ in range(args.repeats):
            for name, cmds in (("bench", ours), ("score", score), ("scipy", base)):
                dt, outs[name] = timed(cmds)
                times[name].append(dt)
                cpu[name].append(timed.cpu)
        med = {k: float(np.median(v)) for k, v in times.items()}
        mcpu = {k: float(np.median(v)) for k, v in cpu.items()}
        doc = json.loads(outs["bench"][0])
        ref = json.loads(outs["scipy"][0])
        got = {f"{dirs[doc['datasets'].index(c['dataset'])]}|{c['model']}": c["srocc"] for c in doc["cells"]}
        max_diff = max(abs(got[k] - v) for k, v in ref["srocc"].items())
        same_cells = all(
            {(c["model"], c["srocc"], c["plcc"]) for c in doc["cells"] if c["dataset"] == d.name}
            == {(r["model"], r["srocc"], r["plcc"]) for r in json.loads(out)["models"]}
            for d, out in zip(dirs, outs["score"]))
        print(f"\nwhole processes, 4 datasets x {args.images:,} images x 8 models, median of {args.repeats} "
              f"(first runs, incl. cache fill: bench {first['bench']:.2f} s, score x4 {first['score']:.2f} s, "
              f"scipy {first['scipy']:.2f} s)")
        print(f"load average at the start: {os.getloadavg()[0]:.1f} (wall times grow with other load; CPU "
              f"seconds of the processes less so)")
        print(f"{'task':52} {'wall (s)':>9} {'/ bench':>8} {'CPU (s)':>8} {'/ bench':>8}")
        for key, label in (("bench", "iqa-eval bench (CIs, paired tests, ties, Friedman)"),
                           ("score", "4 x iqa-eval score (same cells, no summary)"),
                           ("scipy", "pandas+scipy loop (no CIs, no tests)")):
            print(f"{label:52} {med[key]:9.2f} {med[key] / med['bench']:8.2f} {mcpu[key]:8.2f} "
                  f"{mcpu[key] / mcpu['bench']:8.2f}")
        for name, v in times.items():
            print(f"  runs {name}: {', '.join(f'{t:.2f}' for t in v)}")
        print(f"  bench cells == score cells (srocc, plcc, bit for bit): {same_cells}")
        print(f"  max |bench SROCC - scipy spearmanr|: {max_diff:.1e}; Friedman chi2 bench "
              f"{doc['friedman']['statistic']:.6f} vs scipy {ref['friedman'][0]:.6f}")
        if args.krasula:
            dt, _ = timed([[exe, "bench", *map(str, dirs), "--format", "json", "--krasula"]])
            print(f"\niqa-eval bench --krasula (same data; pairs capped at 2,000,000 per dataset): {dt:.2f} s wall, "
                  f"{timed.cpu:.2f} s CPU")


if __name__ == "__main__":
    main()
