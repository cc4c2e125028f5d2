"""Benchmark the GMC engine against the authors' algorithm, side by side in one run.

1. KADID-10k from ../shared (10,125 images, 6 models, 3 methods, 100 seeded Latin-hypercube
   points, Gaussian regulator from the std column): our engine with the numba backend (each
   measurement in a fresh process, so the first call -- numba compile or cache load -- is
   reported separately and peak memory is the process's own), the numpy backend (timed on a
   few points and scaled: its cost is linear in the number of points), and the whole
   ``iqa-eval surface`` command as a subprocess.
2. The authors' algorithm as they wrote it: for each point, method and model, a Python loop over
   row offsets i with numpy over the pairs j > i, weights recomputed every time and all
   N^2/2 of them stored; timed on ONE sample point and scaled to the workload.
3. A synthetic PIPAL-sized set (N = 23,200, continuous MOS, Beta-model std with phi 3, LDS
   regulator, 6 models, 3 methods, 100 points): every image is its own group, the worst case.
4. The dask backend on a LocalCluster sized to this machine (one single-threaded worker process
   per core), started once per process: KADID-10k as in 1 against the numba backend in the
   same process (runs interleaved, medians of 3), and a synthetic N = 50,000 set like 3.

Reports wall time, CPU time (the machine is shared: CPU time is the steadier figure),
pair-samples per second and peak resident memory.

With ``--baseline REV``: instead, the numba engine run of 1 and 3 in worker processes of this
tree and of the tree at REV (``git archive``), alternating, ``--repeats`` times for KADID-10k and
once for the PIPAL-sized set; first calls (compile or cache load) reported apart.

Usage: python benchmarks/bench_gmc.py [--quick] [--only dask] [--baseline REV [--repeats 3]]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# ../shared next to the repository, or where IQA_EVAL_SHARED says (e.g. from a git worktree)
KADID = (Path(os.environ.get("IQA_EVAL_SHARED", REPO.parent / "shared")) / "data" / "gmc-reference"
         / "kadid10k")
KADID_MODELS = ("DeepWSD", "dists", "lpips", "ms_ssim", "psnr", "ssim")
METHODS = ("srocc", "plcc", "krcc")


# --- data ----------------------------------------------------------------------------------------

def kadid():
    import pandas as pd

    if not KADID.is_dir():
        raise SystemExit(f"KADID-10k reference data not found at {KADID}")
    meta = pd.read_csv(KADID / "meta.csv")
    pred = np.stack([pd.read_csv(KADID / f"{m}.csv")["Results Scores for CC"].to_numpy(float)
                     for m in KADID_MODELS])
    mos, std = meta["mos"].to_numpy(float), meta["std"].to_numpy(float)
    return pred, mos, std, _regulator(mos, std), _points(mos, 100)


SYNTHETIC_N = {"synthetic": 23_200, "synthetic50k": 50_000}


def load(data):
    return kadid() if data == "kadid" else synthetic(SYNTHETIC_N[data])


def synthetic(n=23_200, models=6, seed=0):
    rng = np.random.default_rng(seed)
    mos = 1.0 + 4.0 * rng.beta(2.5, 2.5, n)  # continuous: no two images share (MOS, std)
    std = _beta_std(mos, 3.0)
    pred = np.stack([mos + rng.normal(0, s, n) for s in np.linspace(0.2, 1.5, models)])
    return pred, mos, std, _regulator(mos, None), _points(mos, 100)


def _beta_std(mos, phi):
    try:
        from iqa_eval.gmc.weights import beta_std
        return beta_std(mos, phi=phi)
    except ImportError:
        lo, hi = mos.min(), mos.max()
        m = (mos - lo) / (hi - lo)
        return np.sqrt(m * (1 - m) / (phi + 1)) * (hi - lo)


def _regulator(mos, std):
    try:
        from iqa_eval.gmc.weights import distribution_weights
        return distribution_weights(mos, std=std, regulator="gaussian" if std is not None else "lds")
    except ImportError:  # the weights module is another part's; timing does not depend on c
        return np.ones_like(mos)


def _points(mos, n):
    try:
        from iqa_eval.gmc.sampling import latin_hypercube
        pts = latin_hypercube(mos, n, seed=0)
        return pts["Q"].to_numpy(), pts["Qd"].to_numpy()
    except ImportError:
        rng = np.random.default_rng(0)
        lo, hi = mos.min(), mos.max()
        q = lo + (hi - lo) * rng.permutation((np.arange(n) + rng.random(n)) / n)
        d = (hi - lo) * rng.permutation((np.arange(n) + rng.random(n)) / n)
        return q, d


# --- a worker process: one engine run, its own compile time and peak memory ---------------------

def peak_rss_mb():
    """Peak resident memory of this process image (VmHWM; unlike ru_maxrss it does not carry
    over the parent's peak across fork + exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(data, backend, n_points):
    t0 = time.perf_counter()
    from iqa_eval.gmc.engine import pair_sums
    pred, mos, std, c, (Q, Qd) = load(data)
    Q, Qd = Q[:n_points], Qd[:n_points]
    t_load = time.perf_counter() - t0
    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    pair_sums(pred[:, :40], mos[:40], std[:40], c[:40], Q[:3], Qd[:3], backend=backend)
    t_first = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    sums = pair_sums(pred, mos, std, c, Q, Qd, methods=METHODS, backend=backend)
    values = sums.values()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = mos.size
    print(json.dumps(dict(
        data=data, backend=backend, n=n, models=pred.shape[0], points=int(Q.size),
        load_s=t_load, first_call_s=t_first, wall_s=wall, cpu_s=cpu,
        pairs=n * (n - 1) // 2, rss_before_mb=rss_before, peak_rss_mb=peak_rss_mb(),
        checksum=float(sum(np.nansum(v) for v in values.values())),
        skipped=getattr(__import__("iqa_eval.gmc.engine", fromlist=["x"]), "last_skipped_share", None))))


def dask_worker(data, n_points, reps):
    """numba and dask in one process, interleaved; the LocalCluster is started once."""
    from iqa_eval.gmc._dask_backend import local_cluster
    from iqa_eval.gmc.engine import pair_sums

    pred, mos, std, c, (Q, Qd) = load(data)
    Q, Qd = Q[:n_points], Qd[:n_points]
    t0 = time.perf_counter()
    cluster, client = local_cluster()
    t_start = time.perf_counter() - t0
    n_workers = len(client.scheduler_info()["workers"])
    t0 = time.perf_counter()
    for backend in ("numba", "dask"):  # compile / load the kernels in every process
        pair_sums(pred[:, :40], mos[:40], std[:40], c[:40], Q[:3], Qd[:3], backend=backend,
                  client=client)
    t_first = time.perf_counter() - t0
    runs = {"numba": [], "dask": []}
    values = {}
    for _ in range(reps):
        for backend in ("numba", "dask"):
            cpu_workers = client.run(time.process_time)
            t0, c0 = time.perf_counter(), time.process_time()
            sums = pair_sums(pred, mos, std, c, Q, Qd, methods=METHODS, backend=backend,
                             client=client)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            after = client.run(time.process_time)
            cpu_w = sum(after[w] - cpu_workers[w] for w in after if w in cpu_workers)
            runs[backend].append((wall, cpu + cpu_w, cpu_w))
            values[backend] = sums.values()
    rel = max(float(np.nanmax(np.abs(values["dask"][m] - values["numba"][m])
                              / np.abs(values["numba"][m]))) for m in METHODS)
    client.close()
    cluster.close()
    n = mos.size
    med = {b: [float(np.median([r[i] for r in v])) for i in (0, 1, 2)] for b, v in runs.items()}
    print(json.dumps(dict(
        data=data, n=n, points=int(Q.size), workers=n_workers, cluster_start_s=t_start,
        first_call_s=t_first, reps=reps, numba_wall_s=med["numba"][0], numba_cpu_s=med["numba"][1],
        dask_wall_s=med["dask"][0], dask_cpu_s=med["dask"][1], dask_worker_cpu_s=med["dask"][2],
        runs=runs,
        pairs=n * (n - 1) // 2, max_rel_diff=rel, peak_rss_mb=peak_rss_mb())))


def run_worker(data, backend, n_points, env=None, cwd=REPO):
    out = subprocess.run([sys.executable, __file__, "--worker", data, backend, str(n_points)],
                         capture_output=True, text=True, cwd=cwd,
                         env=None if env is None else {**os.environ, **env})
    if out.returncode != 0:
        raise SystemExit(f"worker {data}/{backend} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the authors' algorithm ---------------------------------------------------------------------

def _dense_ranks(v):
    return np.unique(v, return_inverse=True)[1].reshape(-1).astype(float)


def authors_point(p, l, s, c, Q, Qd, method):
    """One GMC value the way the reference implementation computes it: a Python loop over row
    offsets i, numpy over j > i, every weight recomputed and all N^2/2 of them kept."""
    n = l.size
    x_all, y_all = (_dense_ranks(p), _dense_ranks(l)) if method == "srocc" else (p, l)
    ws, xs, ys = [], [], []
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(n - 1):
            j = np.arange(i + 1, n)
            a_i = np.exp(-(Q - l[i]) ** 2 / (2 * s[i] ** 2))
            a_j = np.exp(-(Q - l[j]) ** 2 / (2 * s[j] ** 2))
            b = np.exp(-(Qd - np.abs(l[i] - l[j])) ** 2 / (2 * (s[i] ** 2 + s[j] ** 2)))
            ws.append(np.nan_to_num(a_i * a_j * b) * c[i] * c[j])
            xs.append(x_all[i] - x_all[j])
            ys.append(y_all[i] - y_all[j])
    w, x, y = np.concatenate(ws), np.concatenate(xs), np.concatenate(ys)
    if method == "krcc":
        return np.sum(w * np.sign(x) * np.sign(y)) / np.sum(w)
    return np.sum(w * x * y) / np.sqrt(np.sum(w * y * y) * np.sum(w * x * x))


# --- the whole command -----------------------------------------------------------------------------

def run_cli(pred, mos, std, tmp):
    exe = shutil.which("iqa-eval") or str(Path(sys.executable).with_name("iqa-eval"))
    if not Path(exe).exists():
        return None, "the iqa-eval command is not installed"
    help_ = subprocess.run([exe, "surface", "--help"], capture_output=True, text=True)
    if help_.returncode != 0:
        return None, "iqa-eval has no 'surface' command yet"
    import pandas as pd
    table = pd.DataFrame({"mos": mos, "std": std, **dict(zip(KADID_MODELS, pred))})
    path = Path(tmp) / "kadid10k_all_models.csv"  # a temporary join of the shared files
    table.to_csv(path, index=False)
    cmd = [exe, "surface", str(path), "--mos-col", "mos", "--std-col", "std",
           "--samples", "100", "--seed", "0", "--method", "srocc,plcc,krcc",
           "--scores-out", str(Path(tmp) / "scores.csv"), "--no-progress"]
    subprocess.run(cmd, capture_output=True, text=True)  # untimed: fills numba's cache
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        return None, f"iqa-eval surface failed: {out.stderr.strip().splitlines()[-1:]}"
    return wall, " ".join(cmd[1:2] + ["<kadid.csv>"] + cmd[3:-3])


# --- main ------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="fewer points for the slow measurements (results scaled)")
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--only", choices=("all", "dask"), default="all",
                    help="run every measurement, or only the dask backend's (section 4)")
    ap.add_argument("--dask-reps", type=int, default=3, help=argparse.SUPPRESS)
    ap.add_argument("--skip-50k", action="store_true",
                    help="leave out the synthetic N = 50,000 dask/numba run (about 15 minutes on 2 cores)")
    ap.add_argument("--baseline", default=None, help="git revision: the engine side by side")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if args.baseline:
        return side_by_side(args.baseline, args.repeats, quick=args.quick)
    if args.worker:
        if args.worker[1] == "dask":
            return dask_worker(args.worker[0], int(args.worker[2]), args.dask_reps)
        return worker(args.worker[0], args.worker[1], int(args.worker[2]))

    rows = []

    def row(what, wall, cpu="", note=""):
        rows.append((what, wall, cpu, note))
        print(f"  {what:<58} {wall:>10} {cpu:>10}  {note}", flush=True)

    print(f"GMC engine benchmark ({os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.1f} at start)")
    print(f"  {'measurement':<58} {'wall s':>10} {'cpu s':>10}")
    if args.only == "all":
        classic(args, row)
    dask_section(args, row)
    return rows


def side_by_side(rev, repeats, quick=False):
    """The numba engine in worker processes of this tree and of ``rev``, alternating."""
    import statistics

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_everyday import _export

    with tempfile.TemporaryDirectory() as tmp:
        trees = {"baseline": _export(rev, Path(tmp)), "this tree": REPO}
        print(f"numba engine, 6 models x 3 methods x 100 points, worker processes (baseline = {rev}); "
              f"load average {os.getloadavg()[0]:.1f} at start")
        cases = [("kadid", "KADID-10k (10,125 images, 1,933 groups)", repeats),
                 ("synthetic", "PIPAL-sized synthetic (23,200 images, all distinct)", 1)]
        for data, label, reps in cases[:1] if quick else cases:
            runs = {name: [] for name in trees}
            for _ in range(reps):
                for name, tree in trees.items():
                    runs[name].append(run_worker(data, "numba", 100, env={"PYTHONPATH": str(tree)}, cwd=tree))
            (bw, bc, bf), (tw, tc, tf) = ((statistics.median(r["wall_s"] for r in runs[n]),
                                           statistics.median(r["cpu_s"] for r in runs[n]),
                                           statistics.median(r["first_call_s"] for r in runs[n])) for n in trees)
            same = max(abs(a["checksum"] - b["checksum"]) / abs(b["checksum"])
                       for a, b in zip(runs["this tree"], runs["baseline"]))
            print(f"  {label:<52} baseline {bw:6.2f} s wall {bc:6.2f} s CPU   this tree {tw:6.2f} s wall "
                  f"{tc:6.2f} s CPU   ({bw / tw:4.2f}x wall, {bc / tc:4.2f}x CPU); first calls "
                  f"{bf:.2f} / {tf:.2f} s; checksums agree to {same:.1e}; tile-points skipped "
                  f"{runs['this tree'][0]['skipped']:.1%}", flush=True)


def dask_section(args, row):
    """4. The dask backend against numba in the same process."""
    k = run_dask_worker("kadid", 100, args.dask_reps)
    row(f"dask: LocalCluster start ({k['workers']} worker processes x 1 thread)",
        f"{k['cluster_start_s']:.2f}", "", f"then {k['first_call_s']:.2f} s for the first "
        "calls (kernels loaded in every process)")
    work = k["pairs"] * k["points"]
    for b in ("numba", "dask"):
        row(f"KADID-10k, 6 x 3 x 100, {b} (median of {k['reps']}, interleaved)",
            f"{k[b + '_wall_s']:.2f}", f"{k[b + '_cpu_s']:.2f}",
            f"{work / k[b + '_wall_s']:.2e} pair-samples/s"
        + (f"; CPU of the worker processes {k['dask_worker_cpu_s']:.2f} s" if b == "dask" else ""))
    row("ratio dask / numba (KADID-10k, wall)", f"{k['dask_wall_s'] / k['numba_wall_s']:.2f}x", "",
        f"target <= 1.3x; max relative difference of the values {k['max_rel_diff']:.1e}; "
        f"dask runs (wall, cpu) {[(round(r[0], 2), round(r[1], 2)) for r in k['runs']['dask']]}")
    if args.skip_50k:
        return
    s = run_dask_worker("synthetic50k", 100, 1)
    work = s["pairs"] * s["points"]
    for b in ("numba", "dask"):
        row(f"synthetic N=50,000, 6 x 3 x 100, {b}", f"{s[b + '_wall_s']:.1f}",
            f"{s[b + '_cpu_s']:.1f}", f"{work / s[b + '_wall_s']:.2e} pair-samples/s, "
            f"{work / s[b + '_cpu_s']:.2e} per core-second")
    row("ratio dask / numba (synthetic N=50,000, wall)",
        f"{s['dask_wall_s'] / s['numba_wall_s']:.2f}x", "",
        f"max relative difference {s['max_rel_diff']:.1e}; load average now "
        f"{os.getloadavg()[0]:.1f}")


def run_dask_worker(data, n_points, reps):
    out = subprocess.run([sys.executable, __file__, "--worker", data, "dask", str(n_points),
                          "--dask-reps", str(reps)], capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise SystemExit(f"dask worker {data} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def classic(args, row):
    """Sections 1-3."""
    # 1. KADID-10k with our engine
    with tempfile.TemporaryDirectory() as cache:  # an empty numba cache: the real compile time
        cold = run_worker("kadid", "numba", 3, env={"NUMBA_CACHE_DIR": cache})
    run_worker("kadid", "numba", 3)  # fills the usual cache if it is cold
    k = run_worker("kadid", "numba", 100)
    work = k["pairs"] * k["points"]
    row("numba: compile time (first call with an empty cache)", f"{cold['first_call_s']:.2f}")
    row("numba: first call, next process (loads the cache)", f"{k['first_call_s']:.2f}")
    row("KADID-10k, 6 models x 3 methods x 100 points, numba", f"{k['wall_s']:.2f}",
        f"{k['cpu_s']:.2f}", f"{work / k['wall_s']:.2e} pair-samples/s, "
        f"peak RSS {k['peak_rss_mb']:.0f} MB ({k['rss_before_mb']:.0f} MB before the engine)")
    # numpy: a fixed cost (terms, once per pair) plus a cost per point: two runs, extrapolated
    s1, s2 = (1, 3) if args.quick else (2, 8)
    a, b = run_worker("kadid", "numpy", s1), run_worker("kadid", "numpy", s2)
    per_point = (a["wall_s"] - b["wall_s"]) / (s1 - s2)
    est = a["wall_s"] + per_point * (100 - s1)
    row(f"KADID-10k, numpy backend (runs on {s1} and {s2} points, extrapolated)", f"{est:.0f}",
        "", f"{b['wall_s']:.1f} s for {s2} points, peak RSS {b['peak_rss_mb']:.0f} MB")
    pred, mos, std, c, (Q, Qd) = kadid()
    with tempfile.TemporaryDirectory() as tmp:
        cli_wall, cli_note = run_cli(pred, mos, std, tmp)
    if cli_wall is None:
        row("whole command: iqa-eval surface (KADID-10k)", "skipped", "", cli_note)
    else:
        row("whole command: iqa-eval surface (KADID-10k)", f"{cli_wall:.2f}", "", cli_note)

    # 2. the authors' algorithm on one point, scaled
    jobs = [(m, meth) for m in range(len(KADID_MODELS)) for meth in METHODS]
    timed = jobs[:3] if args.quick else jobs  # quick: one model, its three methods
    t0 = time.perf_counter()
    for m, meth in timed:
        authors_point(pred[m], mos, std, c, Q[0], Qd[0], meth)
    one = time.perf_counter() - t0
    full = one * len(jobs) / len(timed) * 100
    row(f"authors' algorithm, one point ({len(timed)} model-method(s)), scaled x"
        f"{len(jobs) // len(timed) * 100}", f"{full:.0f}", "", f"measured {one:.1f} s")
    ours = run_worker("kadid", "numba", 100)  # again, right after the baseline
    row("ratio authors / ours (KADID-10k, numba, wall)", f"{full / ours['wall_s']:.0f}x", "",
        f"ours {ours['wall_s']:.2f} s in this second run")

    # 3. PIPAL-sized synthetic set (quick: two short runs, extrapolated like the numpy backend)
    if args.quick:
        a, p = run_worker("synthetic", "numba", 4), run_worker("synthetic", "numba", 12)
        per_point = (p["wall_s"] - a["wall_s"]) / 8
        per_cpu = (p["cpu_s"] - a["cpu_s"]) / 8
        wall, cpu = a["wall_s"] + 96 * per_point, a["cpu_s"] + 96 * per_cpu
        how = "runs on 4 and 12 points, extrapolated"
    else:
        p = run_worker("synthetic", "numba", 100)
        wall, cpu, how = p["wall_s"], p["cpu_s"], "100 points"
    work = p["pairs"] * 100
    row(f"synthetic N=23,200, 6 models x 3 methods ({how})", f"{wall:.1f}", f"{cpu:.1f}",
        f"{work / wall:.2e} pair-samples/s, peak RSS {p['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
