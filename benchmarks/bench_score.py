"""Benchmark ``iqa-eval score`` against a plain pandas + scipy script, side by side.

1. A CSV with 1,000,000 rows x 4 models is written to a temporary directory.
2. ``iqa-eval score FILE`` (default settings: Fisher-z CIs, logistic4 mapping,
   Williams' paired tests) and a pandas + scipy script doing the usual thing
   (spearmanr, kendalltau, pearsonr, 4-parameter logistic curve_fit, PLCC/RMSE after
   it) each run as a whole process, alternately, ``--repeats`` times; medians are
   compared. A first untimed run of each fills numba's on-disk cache and is reported
   separately (compile time stays out of the timed region).
3. 1,000 bootstrap resamples of SROCC on 10,000 rows: our numba kernel against a
   numpy-indexing + scipy.stats.spearmanr loop over the same resamples.

Usage: python benchmarks/bench_score.py [--rows 1000000] [--repeats 3]
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
    import numpy as np, pandas as pd
    from scipy import stats
    from scipy.optimize import curve_fit

    def logistic4(x, b1, b2, b3, b4):
        return (b1 - b2) / (1 + np.exp(-(x - b3) / np.abs(b4))) + b2

    df = pd.read_csv(sys.argv[1])
    mos = df["mos"].to_numpy(float)
    out = {}
    for name in [c for c in df.columns if c not in ("image", "mos")]:
        x = df[name].to_numpy(float)
        row = {"srocc": stats.spearmanr(x, mos)[0], "krcc": stats.kendalltau(x, mos)[0],
               "plcc_raw": stats.pearsonr(x, mos)[0]}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p, _ = curve_fit(logistic4, x, mos, p0=[mos.max(), mos.min(), x.mean(), x.std()], maxfev=10000)
            f = logistic4(x, *p)
            row["plcc"] = stats.pearsonr(f, mos)[0]
            row["rmse"] = float(np.sqrt(np.mean((f - mos) ** 2)))
        except RuntimeError:
            row["plcc"] = row["rmse"] = float("nan")
        out[name] = row
    print(json.dumps(out))
''')


def make_csv(path: Path, n: int, seed: int = 0) -> None:
    """Latent quality -> MOS (rounded, so ties) and four models of different scales."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    q = rng.normal(size=n)
    mos = np.round(np.clip(3 + 1.2 * np.tanh(q) + rng.normal(0, 0.25, n), 1, 5), 3)
    df = pd.DataFrame({
        "image": np.char.add("img", np.arange(n).astype(str)),
        "mos": mos,
        "logistic_like": 1 / (1 + np.exp(-1.5 * (q + rng.normal(0, 0.3, n)))),
        "psnr_scale": np.round(30 + 6 * q + rng.normal(0, 2.5, n), 2),
        "tiny_scale": 1e-3 * (q + rng.normal(0, 0.6, n)),
        "noisy": q + rng.normal(0, 1.0, n),
    })
    df.to_csv(path, index=False, float_format="%.8g")


def timed(cmd, env=None):
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"command failed ({res.returncode}): {' '.join(map(str, cmd))}\n{res.stderr}")
    return dt, res.stdout


def bench_process(rows: int, repeats: int):
    exe = shutil.which("iqa-eval")
    if exe is None:
        raise SystemExit("iqa-eval is not on PATH (pip install -e . first)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv = tmp / "scores.csv"
        t0 = time.perf_counter()
        make_csv(csv, rows)
        print(f"wrote {rows:,} rows x 4 models ({csv.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        script = tmp / "baseline.py"
        script.write_text(BASELINE)
        ours = [exe, "score", str(csv)]
        base = [sys.executable, str(script), str(csv)]
        # first runs: numba cache fill / file cache warm-up, reported separately
        first_ours, _ = timed(ours)
        _, base_out = timed(base)
        _, ours_json = timed([exe, "score", str(csv), "--format", "json"])
        t_ours, t_base = [], []
        for _ in range(repeats):
            t_ours.append(timed(ours)[0])
            t_base.append(timed(base)[0])
    ref = json.loads(base_out)
    got = {r["model"]: r for r in json.loads(ours_json)["models"]}
    diffs = {k: max(abs(got[m][k] - ref[m][k]) for m in ref) for k in ("srocc", "krcc", "plcc_raw")}
    fit_gap = {m: (got[m]["rmse"] - ref[m]["rmse"]) for m in ref}
    return first_ours, float(np.median(t_ours)), float(np.median(t_base)), t_ours, t_base, diffs, fit_gap


def bench_bootstrap(n: int = 10_000, n_resamples: int = 1000):
    from scipy import stats

    from iqa_eval.stats.inference import _resample_chunks, bootstrap_distribution

    rng = np.random.default_rng(1)
    y = np.round(rng.normal(size=n), 2)
    x = y + rng.normal(size=n)
    t0 = time.perf_counter()
    bootstrap_distribution("srocc", x[:50], y[:50], n_resamples=2, seed=0)  # compile / load cache
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = bootstrap_distribution("srocc", x, y, n_resamples=n_resamples, seed=0)[:, 0]
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx = np.concatenate(list(_resample_chunks(n, n_resamples, 0)))  # the same resamples
    ref = np.array([stats.spearmanr(x[i], y[i])[0] for i in idx])
    t_ref = time.perf_counter() - t0
    return compile_s, t_ours, t_ref, float(np.max(np.abs(ours - ref)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-process", action="store_true")
    args = ap.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s)")
    if not args.skip_process:
        first, ours, base, t_ours, t_base, diffs, fit_gap = bench_process(args.rows, args.repeats)
        print(f"\nwhole process, {args.rows:,} rows x 4 models, median of {args.repeats} (first run of ours, "
              f"incl. cache load: {first:.2f} s)")
        print(f"{'task':44} {'ours (s)':>9} {'baseline (s)':>13} {'baseline/ours':>14}")
        print(f"{'iqa-eval score vs pandas+scipy script':44} {ours:9.2f} {base:13.2f} {base / ours:14.2f}")
        print(f"  runs ours: {', '.join(f'{t:.2f}' for t in t_ours)}; baseline: {', '.join(f'{t:.2f}' for t in t_base)}")
        print(f"  max |ours - scipy|: " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
        print(f"  RMSE after 4PL, ours - curve_fit: " + ", ".join(f"{m} {v:+.1e}" for m, v in fit_gap.items()))
    compile_s, t_ours, t_ref, err = bench_bootstrap()
    print(f"\n1,000 bootstrap resamples of SROCC, 10,000 rows (numba cache load {compile_s:.2f} s, not timed)")
    print(f"{'task':44} {'ours (s)':>9} {'baseline (s)':>13} {'baseline/ours':>14}")
    print(f"{'numba kernel vs numpy index + spearmanr loop':44} {t_ours:9.3f} {t_ref:13.3f} {t_ref / t_ours:14.1f}")
    print(f"  max |ours - scipy| over the same resamples: {err:.1e}")


if __name__ == "__main__":
    main()
