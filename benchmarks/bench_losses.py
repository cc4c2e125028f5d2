"""Benchmark the training losses against their literal forms, side by side.

1. GCCLoss, forward + backward, batch 64 with a full queue of 800 (a pool of 864):
   ours (soft ranks of the 64 batch rows against the pool, the pool's mean soft rank being
   exactly P/2) against the literal form (the full P x P matrix of normal CDF values, all
   pool rows ranked), and against plain MSE as the floor of any loss step.
2. DCQLoss, forward + backward, N = 4,096: ours (O(N log N): one sort of the labels)
   against the paper's Eq. (1) with its N x N difference matrices.

Each timing is the median of ``--repeats`` runs after one untimed warm-up; values and
gradients of the two forms are compared and their largest difference printed.

Usage: python benchmarks/bench_losses.py [--repeats 30] [--threads 1] [--dtype float64]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from iqa_eval.training.losses import DCQLoss, GCCLoss


def literal_gcc(pred, target, queue_pred, queue_target, alpha=0.5, beta=0.5, gamma=1.0):
    """GCC with every pool row ranked (P x P), as the description reads."""
    def zscore(x):
        return (x - x.mean()) / x.std()

    def ranks(x):
        z = zscore(x)
        return torch.special.ndtr(z[:, None] - z[None, :]).sum(dim=1)

    def corr(u, v, n):
        du, dv = u[:n] - u.mean(), v[:n] - v.mean()
        return (du * dv).sum() / (du.norm() * dv.norm())

    n = pred.numel()
    pp, pt = torch.cat([pred, queue_pred]), torch.cat([target, queue_target])
    plcc = corr(pp, pt, n)
    srocc = corr(ranks(pp), ranks(pt), n)
    return (alpha * (1 - plcc) + beta * (1 - srocc) + gamma) * ((pred - target) ** 2).mean()


def literal_dcq(pred, target):
    dy = pred[:, None] - pred[None, :]
    dt = target[:, None] - target[None, :]
    rpc = ((dy - dt) ** 2 - dy * torch.sign(dt)).sum() / pred.numel() ** 2
    return ((pred - target) ** 2).mean() + rpc


def timed(step, repeats):
    """Median seconds of ``step()`` (forward + backward) over ``repeats`` runs, after a warm-up."""
    step()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def value_and_grad(fn, pred, *args):
    p = pred.detach().clone().requires_grad_(True)
    value = fn(p, *args)
    value.backward()
    return value.detach(), p.grad


def row(name, seconds, base):
    return f"  {name:<34}{seconds * 1e3:>10.3f} ms{base / seconds:>10.1f}x"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    gen = torch.Generator().manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.dtype}, median of {args.repeats}")

    # -- GCC: batch 64, full queue of 800 -------------------------------------------------
    batch, queue = 64, 800
    loss = GCCLoss(queue_len=queue)
    for _ in range(queue // batch + 1):
        loss(torch.randn(batch, generator=gen, dtype=dtype), torch.rand(batch, generator=gen, dtype=dtype) * 4 + 1)
    loss.eval()  # keep the full queue fixed while timing
    assert int(loss.queue_count) == queue
    qp, qt = loss.queue_pred.to(dtype), loss.queue_target.to(dtype)
    pred = torch.randn(batch, generator=gen, dtype=dtype)
    target = torch.rand(batch, generator=gen, dtype=dtype) * 4 + 1
    ours = value_and_grad(loss, pred, target)
    lit = value_and_grad(literal_gcc, pred, target, qp, qt)
    mse = torch.nn.MSELoss()

    def step(fn, *extra):
        def run():
            p = pred.detach().clone().requires_grad_(True)
            fn(p, target, *extra).backward()
        return run

    t_lit = timed(step(literal_gcc, qp, qt), args.repeats)
    t_ours = timed(step(loss), args.repeats)
    t_mse = timed(step(mse), args.repeats)
    print(f"\nGCCLoss forward+backward, batch {batch} + queue {queue} (pool {batch + queue})"
          f"{'':>6}time   speed-up vs literal")
    print(row("literal (P x P soft ranks)", t_lit, t_lit))
    print(row("GCCLoss (B x P, mean rank P/2)", t_ours, t_lit))
    print(row("MSELoss (floor)", t_mse, t_lit))
    print(f"  |loss diff| {abs(ours[0] - lit[0]).item():.2e}, "
          f"max |grad diff| {(ours[1] - lit[1]).abs().max().item():.2e}")

    # -- DCQ: N = 4096 ---------------------------------------------------------------------
    n = 4096
    pred = torch.randn(n, generator=gen, dtype=dtype)
    target = torch.round(torch.rand(n, generator=gen, dtype=dtype) * 40) / 10 + 1  # ties, like MOS
    dcq = DCQLoss()
    ours = value_and_grad(dcq, pred, target)
    lit = value_and_grad(literal_dcq, pred, target)
    t_lit = timed(step(literal_dcq), max(3, args.repeats // 5))
    t_ours = timed(step(dcq), args.repeats)
    print(f"\nDCQLoss forward+backward, N = {n}{'':>26}time   speed-up vs literal")
    print(row("literal Eq. (1) (N x N)", t_lit, t_lit))
    print(row("DCQLoss (O(N log N))", t_ours, t_lit))
    print(f"  |loss diff| {abs(ours[0] - lit[0]).item():.2e} (relative "
          f"{abs(ours[0] - lit[0]).item() / abs(lit[0]).item():.1e}), "
          f"max |grad diff| {(ours[1] - lit[1]).abs().max().item():.2e}")


if __name__ == "__main__":
    main()
