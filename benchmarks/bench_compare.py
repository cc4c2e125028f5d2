"""Benchmark ``compare`` on LIVEC and KADID-10k, analytic CIs against the paired bootstrap.

For each set (read from ../shared with the package's own reader, as ``iqa-eval compare`` does):

1. the first call on a tiny set (numba compile or cache load), reported separately;
2. ``compare_models`` with the defaults (SROCC form, 20 x 20 grid, analytic CIs, max-|t| band),
   whole call, split into its parts: the engine pass with per-image row sums, the influence
   values and the band, the global paired tests;
3. the same for the PLCC and KRCC forms;
4. the baseline the analytic CIs replace: the paired bootstrap over images, one engine pass
   (totals only) per resample -- timed on a few resamples and scaled to 1,000;
5. the whole ``iqa-eval compare`` command as a subprocess (KADID-10k only).

With ``--baseline REV``: instead, the whole ``iqa-eval compare`` command (defaults: SROCC form,
20 x 20 grid, analytic CIs) as fresh processes, this tree and the tree at REV (``git archive``)
alternating, on KADID-10k and on a simulated SPAQ-sized set (11,125 images, ``simulate_study``;
the real SPAQ is not in ../shared). One untimed run per tree first fills numba's cache. Medians
of wall and CPU time (children's rusage) and their ratio, measured back to back.

Wall and CPU time are reported (the machine is shared; CPU time is the steadier figure).

Usage: python benchmarks/bench_compare.py [--quick] [--baseline REV [--repeats 3]]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
REF = Path(os.environ.get("IQA_EVAL_SHARED", REPO.parent / "shared")) / "data" / "gmc-reference"
SETS = {
    "LIVEC": ("LIVEC", ("qalign", "topiq_nr")),
    "KADID-10k": ("kadid10k", ("DeepWSD", "ms_ssim")),
}


class Timer:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def load(folder, models):
    from iqa_eval.data.io import load_dataset

    path = REF / folder
    if not path.is_dir():
        raise SystemExit(f"reference data not found at {path}")
    # pyiqa files: no image names and a MOS with ties, so the row order is asked for
    return load_dataset([path / "meta.csv"] + [path / f"{m}.csv" for m in models], join="order").oriented()


def warm_up():
    from iqa_eval.studies.compare import compare_models
    from iqa_eval.data.dataset import Dataset

    rng = np.random.default_rng(0)
    mos = rng.uniform(1, 5, 50)
    data = Dataset(mos=mos, predictions={"a": mos + rng.normal(size=50),
                                         "b": mos + rng.normal(size=50)},
                   std=np.full(50, 0.5))
    with Timer() as t:
        for method in ("srocc", "plcc", "krcc"):
            compare_models(data, "a", "b", method=method, grid=(3, 3), n_resamples=50)
        compare_models(data, "a", "b", grid=(3, 3), ci="percentile", n_resamples=20)
    return t


def parts(data, a, b, method):
    """Time the engine pass with row sums and the influence/band step on their own."""
    from iqa_eval.studies.compare import _effective_images, gmc_influence, influence_se
    from iqa_eval.gmc.api import gmc_inputs
    from iqa_eval.gmc.engine import pair_sums
    from iqa_eval.gmc.sampling import regular_grid

    sub = data.complete([a, b])
    nodes = regular_grid(sub.mos, shape=(20, 20))
    gin = gmc_inputs({a: sub.predictions[a], b: sub.predictions[b]}, sub.mos, std=sub.std,
                     samples=nodes)
    q, qd = nodes["Q"].to_numpy(), nodes["Qd"].to_numpy()
    with Timer() as t_rows:
        sums = pair_sums(gin.pred, gin.mos, gin.scaled_std, gin.c, q, qd, methods=(method,),
                         row_sums=True)
    with Timer() as t_tot:
        pair_sums(gin.pred, gin.mos, gin.scaled_std, gin.c, q, qd, methods=(method,))
    with Timer() as t_infl:
        _, psi = gmc_influence(sums, method, gin.mos.size)
        influence_se(psi[0] - psi[1])
        _effective_images(sums.rows["sw"])
    return gin, q, qd, t_rows, t_tot, t_infl


def bootstrap_projection(gin, q, qd, method, n_timed, n_resamples=1000):
    """Seconds per paired-bootstrap resample (one engine pass each), scaled to n_resamples."""
    from iqa_eval.gmc.engine import pair_sums

    rng = np.random.default_rng(0)
    n = gin.mos.size
    with Timer() as t:
        for _ in range(n_timed):
            m = np.bincount(rng.integers(0, n, n), minlength=n)
            k = m > 0
            pair_sums(gin.pred[:, k], gin.mos[k], gin.scaled_std[k], gin.c[k] * m[k], q, qd,
                      methods=(method,)).values()
    return t.wall / n_timed * n_resamples, t.cpu / n_timed * n_resamples


def side_by_side(rev, repeats):
    """Whole ``iqa-eval compare`` processes, this tree against ``rev``, alternating."""
    import statistics
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_everyday import _entry, _export
    from iqa_eval.data.simulation import simulate_study

    def run(tree, args):
        env = dict(os.environ, PYTHONPATH=str(tree))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _entry(tree), *map(str, args)], cwd=tree, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{tree}: compare failed:\n{done.stderr[-2000:]}")
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spaq = tmp / "spaq_sized.csv"
        df = simulate_study(11_125, seed=0)
        df[["image", "mos", "std", "high_end", "fine_grain"]].to_csv(spaq, index=False)
        groups = len(df[["mos", "std"]].drop_duplicates())
        folder, (a, b) = SETS["KADID-10k"]
        kadid = [REF / folder / "meta.csv"] + [REF / folder / f"{m}.csv" for m in (a, b)]
        cases = [(f"compare KADID-10k (10,125 images), {a} vs {b}",
                  ["compare", *kadid, "--models", f"{a},{b}", "--join", "order", "--format", "json",
                   "-o", os.devnull]),
                 (f"compare SPAQ-sized simulation (11,125 images, {groups:,} groups)",
                  ["compare", spaq, "--models", "high_end,fine_grain", "--format", "json", "-o", os.devnull])]
        trees = {"baseline": _export(rev, tmp), "this tree": REPO}
        for _, case in cases:
            for tree in trees.values():
                run(tree, case)
        print(f"whole processes, median of {repeats} (baseline = {rev}):")
        for label, case in cases:
            times = {name: [] for name in trees}
            for _ in range(repeats):
                for name, tree in trees.items():
                    times[name].append(run(tree, case))
            (bw, bc), (tw, tc) = ((statistics.median(t[0] for t in times[n]),
                                   statistics.median(t[1] for t in times[n])) for n in trees)
            print(f"  {label:<62} baseline {bw:6.1f} s wall {bc:6.1f} s CPU   this tree {tw:6.1f} s wall "
                  f"{tc:6.1f} s CPU   ({bw / tw:4.1f}x wall, {bc / tc:4.1f}x CPU)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="LIVEC only, SROCC only")
    ap.add_argument("--baseline", default=None, help="git revision: whole commands side by side")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if args.baseline:
        return side_by_side(args.baseline, args.repeats)
    from iqa_eval.studies.compare import compare_models

    print(f"machine: {os.cpu_count()} cores (shared); numba threads "
          f"{os.environ.get('NUMBA_NUM_THREADS', 'default')}")
    t = warm_up()
    print(f"first calls (numba compile or cache load, tiny set): {t.wall:.1f} s wall\n")
    sets = {"LIVEC": SETS["LIVEC"]} if args.quick else SETS
    methods = ("srocc",) if args.quick else ("srocc", "plcc", "krcc")
    for name, (folder, (a, b)) in sets.items():
        data = load(folder, (a, b))
        print(f"== {name}: {len(data)} images, {a} (A) vs {b} (B), 20 x 20 grid, analytic CIs")
        for method in methods:
            with Timer() as whole:
                comp = compare_models(data, a, b, method=method)
            gin, q, qd, t_rows, t_tot, t_infl = parts(data, a, b, method)
            boot_wall, boot_cpu = bootstrap_projection(gin, q, qd, method,
                                                       n_timed=2 if len(data) > 5000 else 5)
            print(f"  {method.upper()}: compare_models {whole.wall:6.1f} s wall "
                  f"({whole.cpu:6.1f} s CPU); of which engine pass with row sums "
                  f"{t_rows.wall:5.1f} s (totals only {t_tot.wall:5.1f} s), influence + SE "
                  f"{t_infl.wall:4.2f} s; significant cells {comp.significant_fraction:.1%}, "
                  f"max-|t| critical value {comp.critical_value:.2f}")
            print(f"        paired bootstrap, 1000 resamples (projected from the timed ones): "
                  f"{boot_wall:7.0f} s wall ({boot_cpu:7.0f} s CPU) -> analytic is "
                  f"{boot_wall / whole.wall:5.0f}x faster")
        print()
    if not args.quick:
        folder, (a, b) = SETS["KADID-10k"]
        files = [REF / folder / "meta.csv"] + [REF / folder / f"{m}.csv" for m in (a, b)]
        cmd = [sys.executable, "-m", "iqa_eval.cli", "compare", *map(str, files), "--models",
               f"{a},{b}", "--format", "json", "-o", os.devnull]
        with Timer() as t:
            proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        status = "ok" if proc.returncode == 0 else f"FAILED: {proc.stderr.strip()[-300:]}"
        print(f"== whole command `iqa-eval compare` on KADID-10k (defaults): {t.wall:.1f} s wall, "
              f"peak memory {peak:.0f} MB, {status}")


if __name__ == "__main__":
    main()
