"""Issue 18 item 1 (not built yet): how many pairs a provable tile-skipping bound would skip.

For each data set and each of 100 seeded Latin-hypercube points, images are sorted by MOS and cut
into blocks of ``--block`` consecutive groups (images sharing MOS and std); a tile is a pair of
blocks (Bg, Bh). Before any weight is computed, a tile's pairs are bounded by

    w_ij c_i c_j = a_i a_j b_ij c_i c_j <= exp(max_{Bg} log a + max_{Bh} log a) * bmax * (sum_{Bg} c)(sum_{Bh} c)

with ``bmax = exp(-gap^2 / (2 (max_{Bg} V + max_{Bh} V)))``, ``gap`` the distance from Qd to the
interval of |l_i - l_j| the two blocks can produce (blocks are ranges of sorted MOS). The point's total weight is bounded below by the weights of the pairs of one image g*
(the largest a): L = sum_{h != g*} w_{g* h} c_g* c_h <= sum w (all terms are >= 0). A tile is
skipped when its bound is below 1e-16 * L / (number of tiles), so the skipped weight of all tiles
together stays below 1e-16 * L <= 1e-16 * sum w. Printed: the share of pair-points skipped.

Usage: python benchmarks/skip_bound_share.py [--block 64]
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
REF = Path(os.environ.get("IQA_EVAL_SHARED", REPO.parent / "shared")) / "data" / "gmc-reference"


def share(mos, std, c, q, qd, block):
    from iqa_eval.gmc.engine import _Problem

    prob = _Problem(mos[None], mos, std, c, q, qd, methods=("krcc",), ranks="dense")
    order, gs, first = prob.groups()
    G = gs.size - 1
    A = prob.A[:, first]                                        # log a per point and group
    cg = np.add.reduceat(prob.c[order], gs[:-1])                # sum of c per group
    npair = np.diff(gs).astype(float)
    edges = np.arange(0, G + block, block).clip(max=G)
    edges = np.unique(edges)
    nb = edges.size - 1
    Amax = np.maximum.reduceat(A, edges[:-1], axis=1)           # (S, blocks)
    csum = np.add.reduceat(cg, edges[:-1])
    nimg = np.add.reduceat(npair, edges[:-1])
    iu, ju = np.triu_indices(nb)
    lo = np.minimum.reduceat(prob.l[first], edges[:-1])
    hi = np.maximum.reduceat(prob.l[first], edges[:-1])
    vmax = np.maximum.reduceat(prob.V[first], edges[:-1])
    dmin = np.maximum(0.0, lo[ju] - hi[iu])
    dmax = hi[ju] - lo[iu]
    vv = vmax[iu] + vmax[ju]
    pairs = np.where(iu == ju, nimg[iu] * (nimg[iu] - 1) / 2, nimg[iu] * nimg[ju])
    n_tiles = iu.size
    skipped = np.zeros(q.size)
    lg, Vg = prob.l[first], prob.V[first]
    for s in range(q.size):
        g = int(np.argmax(A[s]))
        v = Vg[g] + Vg
        z = np.where(v > 0, 0.5 / np.where(v > 0, v, 1), 0.0)
        w = np.exp(A[s, g] + A[s] - (qd[s] - np.abs(lg[g] - lg)) ** 2 * z) * cg * cg[g]
        L = w.sum() - w[g]                     # the pairs (g*, h != g*) only: a lower bound of sum w
        gap = np.maximum(0.0, np.maximum(dmin - qd[s], qd[s] - dmax))
        with np.errstate(divide="ignore", invalid="ignore"):
            logb = np.where(vv > 0, -gap * gap / (2 * vv), 0.0)
        bound = np.exp(Amax[s, iu] + Amax[s, ju] + logb) * csum[iu] * csum[ju]
        skip = bound <= 1e-16 * L / n_tiles
        skipped[s] = pairs[skip].sum() / pairs.sum()
    return skipped.mean(), G


def main():
    from iqa_eval.gmc.sampling import latin_hypercube
    from iqa_eval.gmc.weights import beta_std, distribution_weights

    ap = argparse.ArgumentParser()
    ap.add_argument("--block", type=int, default=64)
    args = ap.parse_args()
    sets = {}
    for name in ("LIVEC", "kadid10k", "tid2013"):
        meta = pd.read_csv(REF / name / "meta.csv")
        mos, std = meta["mos"].to_numpy(float), meta["std"].to_numpy(float)
        sets[name] = (mos, std, distribution_weights(mos, std=std, regulator="gaussian"))
    rng = np.random.default_rng(0)
    for n, label in ((11_125, "SPAQ-sized synthetic"), (23_200, "PIPAL-sized synthetic")):
        mos = 1.0 + 4.0 * rng.beta(2.5, 2.5, n)
        sets[label] = (mos, beta_std(mos, phi=3.0), distribution_weights(mos, std=None, regulator="lds"))
    print(f"share of pair-points a provable tile bound would skip (blocks of {args.block} groups, "
          f"100 LHS points, threshold 1e-16 of a lower bound of the point's total weight):")
    for name, (mos, std, c) in sets.items():
        pts = latin_hypercube(mos, 100, seed=0)
        got, G = share(mos, std, c, pts["Q"].to_numpy(), pts["Qd"].to_numpy(), args.block)
        print(f"  {name:<24} {mos.size:>6} images {G:>6} groups   skipped {got:6.1%}")


if __name__ == "__main__":
    main()
