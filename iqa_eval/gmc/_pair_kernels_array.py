"""The GMC pair sums written once against an array namespace ``xp`` (numpy or CuPy).

Same product as the numba backend (``W @ T``: weights points x pairs times terms pairs x sums),
but over plain image pairs (no grouping) in tiles of whole rows ``i`` x ``j > i``, which suits a
GPU. With numpy it runs in the tests as an independent second implementation of the tiling.
Column layout of ``T``: see :mod:`._pair_kernels_numba`.
"""
from __future__ import annotations

import numpy as np


def _to_host(xp, arr):
    return arr if xp is np else xp.asnumpy(arr)


def _terms(xp, i, j, P, R, l, rl, c, lay, K):
    """Term rows ``T[b, :]`` for the image pairs (i[b], j[b]); zero where i == j."""
    cij = c[i] * c[j] * (i != j)
    y = l[i] - l[j]
    T = xp.empty((i.size, K))
    T[:, 0] = cij
    if lay[0] >= 0:
        T[:, lay[0]] = cij * (y * y)
    if lay[1] >= 0:
        ry = rl[i] - rl[j]
        T[:, lay[1]] = cij * (ry * ry)
    M = P.shape[0]
    if lay[2] >= 0 or lay[6] >= 0:
        x = P[:, i] - P[:, j]  # (M, B)
        if lay[2] >= 0:
            T[:, lay[2]:lay[2] + M] = (cij * x * y).T
            T[:, lay[3]:lay[3] + M] = (cij * x * x).T
        if lay[6] >= 0:
            T[:, lay[6]:lay[6] + M] = (cij * xp.sign(x) * xp.sign(y)).T
    if lay[4] >= 0:
        ry = rl[i] - rl[j]
        rx = R[:, i] - R[:, j]
        T[:, lay[4]:lay[4] + M] = (cij * rx * ry).T
        T[:, lay[5]:lay[5] + M] = (cij * rx * rx).T
    return T


def _weights(xp, i, j, l, V, A, Qd):
    """``W[s, b] = exp(log a_i + log a_j - (Qd_s - |l_i - l_j|)^2 / (2 v_ij))``, 0 for zero std."""
    v = V[i] + V[j]
    z = xp.where(v > 0, 0.5 / xp.where(v > 0, v, 1.0), 0.0)
    t = Qd[:, None] - xp.abs(l[i] - l[j])[None, :]
    t *= t
    t *= -z[None, :]
    t += A[:, i]
    t += A[:, j]
    return xp.exp(t, out=t)


def pair_sums(xp, P, R, l, rl, V, c, A, Qd, lay, K, *, row_sums, tile_bytes, tile_pairs,
              progress):
    """Totals ``(S, K)`` and, with ``row_sums``, per-image rows ``(K, S, N)`` as numpy arrays."""
    P, R, l, rl, V, c, A, Qd = (xp.asarray(a) for a in (P, R, l, rl, V, c, A, Qd))
    lay = [int(v) for v in lay]
    S, N = A.shape
    if row_sums:
        return _rows(xp, P, R, l, rl, V, c, A, Qd, lay, K, tile_bytes, progress)
    # tiles of whole rows i (pairs j > i), about `target` pairs each
    target = int(max(256, min(tile_pairs, tile_bytes // (8 * max(K, S)))))
    tot = xp.zeros((S, K))
    progress.total = float(N - 1)
    i0 = 0
    while i0 < N - 1:
        i1, B = i0, 0
        while i1 < N - 1 and (B == 0 or B + (N - 1 - i1) <= target):
            B += N - 1 - i1
            i1 += 1
        counts = N - 1 - xp.arange(i0, i1)
        i = xp.repeat(xp.arange(i0, i1), counts)
        starts = xp.cumsum(counts) - counts
        j = xp.arange(B) - xp.repeat(starts, counts) + i + 1
        T = _terms(xp, i, j, P, R, l, rl, c, lay, K)
        s_chunk = int(max(1, min(S, tile_bytes // (8 * B))))
        for s0 in range(0, S, s_chunk):
            s1 = min(S, s0 + s_chunk)
            tot[s0:s1] += _weights(xp, i, j, l, V, A[s0:s1], Qd[s0:s1]) @ T
        progress.update(i1 - i0)
        i0 = i1
    return _to_host(xp, tot), None


def _rows(xp, P, R, l, rl, V, c, A, Qd, lay, K, tile_bytes, progress):
    """Full rows i x all j (j == i contributes 0), a few rows at a time, as batched products."""
    S, N = A.shape
    rows = np.zeros((K, S, N))
    nb = int(max(1, tile_bytes // (8 * S * N)))
    progress.total = float(N)
    jj = xp.arange(N)
    for i0 in range(0, N, nb):
        i1 = min(N, i0 + nb)
        out = xp.empty((i1 - i0, S, K))
        for q, i_ in enumerate(range(i0, i1)):
            i = xp.full(N, i_)
            out[q] = _weights(xp, i, jj, l, V, A, Qd) @ _terms(xp, i, jj, P, R, l, rl, c, lay, K)
        rows[:, :, i0:i1] = _to_host(xp, out).transpose(2, 1, 0)
        progress.update(i1 - i0)
    return rows.sum(axis=2).T / 2.0, rows
