"""Loss study on KADID-10k: what do GCC and DCQ change, measured by the toolkit itself?

A small MLP learns to fuse the six full-reference metric scores of KADID-10k (DeepWSD,
DISTS, LPIPS, MS-SSIM, PSNR, SSIM; inputs standardised on the training half) into a
quality score, trained with MSE, PLCC, NiN, DCQ and GCC. Ten seeded 80/20 splits by
reference image (no reference image in both halves); every loss of a split starts from the
same initial weights and sees the batches in the same order, so the test predictions are
paired. Reported:

* per loss: median and range over splits of test SROCC and PLCC (4PL mapping);
* paired tests on the same test images (``iqa_eval.stats.inference.compare_correlations``:
  Williams' test of dependent correlations), per split, for each loss against MSE and GCC
  against DCQ;
* the GMC difference surface GCC - MSE on split 0 (``iqa_eval.compare_models``): where on the
  quality scale the loss helps or hurts;
* the gap between the soft-rank SROCC that GCC optimises and the real SROCC
  (``iqa_eval.soft_srocc``).

Run from the repository root (torch is the ``[torch]`` extra)::

    python examples/loss_study.py                      # data in ../shared
    python examples/loss_study.py --data DIR --splits 3 --epochs 10

Deterministic: numpy and torch are seeded, torch runs deterministic algorithms on one
thread (one thread is also the fastest for these small tensors on a shared machine).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from iqa_eval import plcc, soft_srocc, srocc
from iqa_eval.studies.compare import compare_models
from iqa_eval.data.dataset import Dataset
from iqa_eval.errors import InputError
from iqa_eval.render.formatting import format_comparison, format_p
from iqa_eval.stats.inference import compare_correlations
from iqa_eval.data.io import read_table
from iqa_eval.training.losses import DCQLoss, GCCLoss, NiNLoss, PLCCLoss
from iqa_eval.stats.mapping import fit_mapping

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "gmc-reference" / "kadid10k"
METRICS = ("DeepWSD", "dists", "lpips", "ms_ssim", "psnr", "ssim")
LOSSES = {"MSE": torch.nn.MSELoss, "PLCC": PLCCLoss, "NiN": NiNLoss, "DCQ": DCQLoss, "GCC": GCCLoss}
PAIRS = [("PLCC", "MSE"), ("NiN", "MSE"), ("DCQ", "MSE"), ("GCC", "MSE"), ("GCC", "DCQ")]


def load_kadid(folder: Path):
    """(scores (N, 6), MOS, MOS std, reference names) from meta.csv and one csv per metric."""
    meta = read_table(folder / "meta.csv")
    mos = meta["mos"].to_numpy(np.float64)
    columns = []
    for name in METRICS:
        path = folder / f"{name}.csv"
        table = read_table(path)
        labels = table["Ground Truth Labels"].to_numpy(np.float64)
        if labels.size != mos.size or np.abs(labels - mos).max() > 1e-5:  # files stored as float32
            raise InputError("ground-truth labels do not match meta.csv row by row",
                             file=path, column="Ground Truth Labels")
        columns.append(table["Results Scores for CC"].to_numpy(np.float64))
    return np.column_stack(columns), mos, meta["std"].to_numpy(np.float64), meta["ref_name"].to_numpy()


def split_by_reference(refs, seed: int, test_share: float = 0.2):
    """Boolean test mask: a seeded 20% of the reference images, with all their distortions."""
    names = np.unique(refs)
    rng = np.random.default_rng(seed)
    test_refs = rng.permutation(names)[: int(round(test_share * names.size))]
    test = np.isin(refs, test_refs)
    assert not set(refs[test]) & set(refs[~test])
    return test


def prepare_inputs(scores, mos, train, notes):
    """Orient every metric on the training half (higher = better), then standardise."""
    x = scores.copy()
    for k, name in enumerate(METRICS):
        if srocc(x[train, k], mos[train]).statistic < 0:
            x[:, k] = -x[:, k]
            notes.add(f"{name} is lower-is-better on the training half: negated")
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)
    return (x - mean) / std


def train_model(loss_name, x, y, *, seed, epochs, batch_size, lr, gcc_queue_len=800):
    torch.manual_seed(seed)                      # the same initial weights for every loss
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    net = net.double()
    loss_fn = GCCLoss(queue_len=gcc_queue_len) if loss_name == "GCC" else LOSSES[loss_name]()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    order = torch.Generator().manual_seed(seed)  # the same batches for every loss
    for _ in range(epochs):
        perm = torch.randperm(len(yt), generator=order)
        for start in range(0, len(yt), batch_size):
            idx = perm[start:start + batch_size]
            opt.zero_grad()
            loss_fn(net(xt[idx]).squeeze(1), yt[idx]).backward()
            opt.step()
    with torch.no_grad():
        return net


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--grid", type=int, default=20, help="GMC difference grid (n x n)")
    parser.add_argument("--gcc-queue-len", type=int, default=800, help="GCC queue (0: batch only)")
    parser.add_argument("--losses", default=",".join(LOSSES),
                        help="comma-separated subset of " + ", ".join(LOSSES))
    args = parser.parse_args(argv)
    losses = [name.strip() for name in args.losses.split(",")]
    unknown = sorted(set(losses) - set(LOSSES))
    if unknown:
        sys.exit(f"error: unknown loss {unknown[0]!r}; choose from {', '.join(LOSSES)}")
    pairs = [(a, b) for a, b in PAIRS if a in losses and b in losses]

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    t0 = time.perf_counter()
    try:
        scores, mos, std, refs = load_kadid(args.data)
    except InputError as err:
        sys.exit(f"error: {err} (pass the KADID-10k folder with --data)")
    notes: set = set()
    results = {name: {"srocc": [], "plcc": [], "soft_gap": []} for name in losses}
    tests = {pair: {"srocc": [], "plcc": []} for pair in pairs}
    split0 = None
    train_seconds = {name: 0.0 for name in losses}
    for split in range(args.splits):
        test = split_by_reference(refs, seed=split)
        train = ~test
        x = prepare_inputs(scores, mos, train, notes)
        preds, mapped = {}, {}
        for name in losses:
            t = time.perf_counter()
            net = train_model(name, x[train], mos[train], seed=1000 + split, epochs=args.epochs,
                              batch_size=args.batch_size, lr=args.lr, gcc_queue_len=args.gcc_queue_len)
            train_seconds[name] += time.perf_counter() - t
            with torch.no_grad():
                p = net(torch.from_numpy(x[test])).squeeze(1).numpy()
            preds[name] = p
            r_s = srocc(p, mos[test]).statistic
            fit = fit_mapping(p, mos[test])
            mapped[name] = fit.predict(p)
            results[name]["srocc"].append(r_s)
            results[name]["plcc"].append(plcc(p, mos[test], mapping=fit).statistic)
            results[name]["soft_gap"].append(soft_srocc(p, mos[test]).statistic - r_s)
        for a, b in pairs:
            s = compare_correlations(preds[a], preds[b], mos[test], metric="srocc")
            q = compare_correlations(mapped[a], mapped[b], mos[test], metric="plcc")
            tests[(a, b)]["srocc"].append((s.diff, s.williams_pvalue))
            tests[(a, b)]["plcc"].append((q.diff, q.williams_pvalue))
        if split == 0:
            split0 = (preds, mos[test], std[test])
        print(f"split {split}: {test.sum()} test images, {np.unique(refs[test]).size} references; "
              + ", ".join(f"{n} {results[n]['srocc'][-1]:.4f}" for n in losses)
              + f"  ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)

    print(f"# Loss study on KADID-10k: {args.splits} splits by reference image (80/20), "
          f"MLP 6-16-1, {args.epochs} epochs, batch {args.batch_size}, Adam lr {args.lr}, "
          f"GCC queue {args.gcc_queue_len}\n")
    for note in sorted(notes) or ["no metric needed negating (all rise with MOS on every training half)"]:
        print(f"note: {note}")
    print("\n## Test correlations over splits (median [min, max])\n")
    print("| loss | SROCC | PLCC (4PL) | soft SROCC - SROCC | training s / split |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        cells = [f"{np.median(r[k]):.4f} [{np.min(r[k]):.4f}, {np.max(r[k]):.4f}]" for k in ("srocc", "plcc")]
        gap = f"{np.median(r['soft_gap']):+.4f}"
        print(f"| {name} | {cells[0]} | {cells[1]} | {gap} | {train_seconds[name] / args.splits:.1f} |")

    print("\n## Paired tests on the same test images (Williams' test, alpha 0.05)\n")
    print("Per split: A better (significant) / not significant / A worse (significant); "
          "median difference A - B and its range.\n")
    print("| A vs B | metric | median A - B | range | A better / n.s. / A worse | median p |")
    print("|---|---|---|---|---|---|")
    for (a, b), per_metric in tests.items():
        for metric, rows in per_metric.items():
            d = np.array([r[0] for r in rows])
            p = np.array([r[1] for r in rows])
            better = int(np.sum((p < 0.05) & (d > 0)))
            worse = int(np.sum((p < 0.05) & (d < 0)))
            print(f"| {a} vs {b} | {metric.upper()} | {np.median(d):+.4f} | [{d.min():+.4f}, {d.max():+.4f}] "
                  f"| {better} / {len(d) - better - worse} / {worse} | {format_p(float(np.median(p)))} |")

    if not {"GCC", "MSE"} <= set(losses):
        print(f"\nTotal time {time.perf_counter() - t0:.0f} s")
        return
    preds, y, s = split0
    data = Dataset(mos=y, std=s, predictions={"GCC": preds["GCC"], "MSE": preds["MSE"]})
    comp = compare_models(data, "GCC", "MSE", grid=(args.grid, args.grid))
    print("\n## GMC difference surface GCC - MSE (split 0)\n")
    print("```")
    print(format_comparison(comp))
    print("```")
    print(f"\nTotal time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
