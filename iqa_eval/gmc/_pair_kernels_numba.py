"""Jitted CPU kernels of the GMC engine (plain loops; the layer above is :mod:`.engine`).

All sums at all sample points are a product ``W @ T`` of pair weights (points x pairs) and pair
terms (pairs x sums), taken tile by tile inside one parallel region (:func:`tile_sums`; per-image
row sums: :func:`group_row_sums`). Per tile a thread

* builds the term matrix ``Tt`` (sums x pairs) once -- for *group* pairs (images with equal MOS
  and equal std share every weight, see :mod:`.engine`) the sums ``sum c_i c_j t(i, j)`` over the
  member pairs;
* computes the weights of 4 sample points at a time, one exp per weight, with the vectorisable
  :func:`exp_nonpos` (numba here has no SVML: LLVM cannot vectorise libm ``exp``, which costs
  ~10 ns per call; ours ~1.1 ns, as fast as numpy's AVX-512 exp);
* adds the 4 x K dot products with a 4 x 3 register-blocked kernel (:func:`_dots`, 15-17 GFMA/s
  per core on this AVX2 machine) into its own accumulator.

Terms are direct pairwise differences ``p_i - p_j`` (never expanded as ``p_i^2 - 2 p_i p_j + ...``,
which cancels catastrophically for large offsets). Everything accumulates in float64.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import get_thread_id, prange, types
from numba.extending import intrinsic

# cache=True caches in the user's cache folder, never in the package (see _numba_cache)
from .._runtime.numba_cache import njit

# --- a vectorisable exp -------------------------------------------------------------------------

_LOG2E = 1.4426950408889634
# Cody-Waite split of ln 2 (fdlibm): LN2_HI has 21 trailing zero bits, so n * LN2_HI is exact
# for |n| < 2**21 and the reduced argument r = x - n ln2 loses nothing.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
# exp(x) underflows to exactly 0 in IEEE double for x < log(2**-1075) (the reference's np.exp
# does the same); we return 0 there on purpose.
_EXP_ZERO_BELOW = -745.1332191019412
_TWO_M54 = 2.0 ** -54
# loops around exp_nonpos: FMA contraction only (the range reduction must not be reassociated)
_EXP_FASTMATH = {"contract"}


@intrinsic
def _bits_to_float(typingctx, bits):
    """Reinterpret the 64 bits of an int64 as a float64 (vectorises to a no-op)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@njit(inline="always", cache=True)
def exp_nonpos(x):
    """``exp(x)`` for ``x <= 0`` (including ``-inf``), branch-free so loops over it vectorise.

    Range reduction ``x = n ln2 + r`` with ``|r| <= ln2 / 2``, a degree-13 Taylor polynomial
    (truncation error < 5e-18 relative), and ``2**n`` built from its bit pattern. Results in the
    subnormal range are scaled in two steps (so they round once, like libm); below
    ``-745.13`` the result is exactly 0. Agrees with ``np.exp`` to a few ulp (tests check 1e-15).
    """
    x = max(x, -746.0)  # also maps -inf; keeps n within int64 and the exponent field
    x = min(x, 0.0)
    n = np.floor(x * _LOG2E + 0.5)
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    k = np.int64(n)
    small = k < -1020  # 2**k would be subnormal: build 2**(k+54), then scale by 2**-54
    e = k + (np.int64(1077) if small else np.int64(1023))
    res = p * _bits_to_float(e << np.int64(52))
    res = res * (_TWO_M54 if small else 1.0)
    return 0.0 if x < _EXP_ZERO_BELOW else res


@njit(fastmath=_EXP_FASTMATH, cache=True)
def exp_array(x, out):
    """``out[:] = exp(x)`` for non-positive ``x`` with :func:`exp_nonpos` (used by the tests)."""
    for i in range(x.size):
        out[i] = exp_nonpos(x[i])
    return out


# --- sums over pairs ----------------------------------------------------------------------------
#
# Images are sorted so that each *group* (images with equal MOS and equal std, which share every
# pair weight, see engine.py) is a contiguous range gs[g]:gs[g+1]; grp[j] is the group of image j.
# The group pairs (g, h >= g) are numbered row by row; the pair (g, g) stands for the pairs of
# distinct images inside group g.
#
# Rows of Tt (columns of the sums; layout from engine._Problem): 0 = sum c_i c_j (-> sum w);
# lay[0], lay[1] = sum c c y^2 (plcc) and sum c c ry^2 (srocc); lay[2 + q] + m = the q-th model
# sum of model m, q in (c c x y, c c x^2, c c rx ry, c c rx^2, c c sign(x) sign(y)).
# Absent sums have lay = -1.


# Fast-math flags are per function and must not be inlined at numba-IR level into a caller
# without them (inline="always" would drop them), so the flagged helpers are plain functions
# that LLVM inlines with their flags kept.
#
# The member sums only change the order of additions when reassociated (same terms, same
# products), so 'reassoc' lets LLVM vectorise them; 'contract' allows FMA. No 'nnan'/'ninf':
# nothing here is allowed to assume away special values.
_SUMS_FASTMATH = {"reassoc", "contract"}


@njit(inline="always", cache=True)
def _segments(t, B, rowoff, G, seg):
    """Row segments of tile t: seg[q] = (g, h0, n, b0); returns (count, pairs in the tile)."""
    p0 = t * B
    p1 = min(p0 + B, rowoff[G])
    g = np.searchsorted(rowoff, p0, side="right") - 1
    h = g + (p0 - rowoff[g])
    b = 0
    q = 0
    while p0 + b < p1:
        n = min(G - h, p1 - p0 - b)
        seg[q, 0] = g
        seg[q, 1] = h
        seg[q, 2] = n
        seg[q, 3] = b
        q += 1
        b += n
        g += 1
        h = g
    return q, b


@njit(cache=True)
def term_columns(lay, M):
    """Row of Tt for the member sums t = 0 (sum c c) and 1 + 5 m + q (q-th sum of model m,
    see :func:`_member_sums`); -1 where the sum is not asked for."""
    cols = np.full(1 + 5 * M, -1, dtype=np.int64)
    cols[0] = 0
    for m in range(M):
        for q in range(5):
            if lay[2 + q] >= 0:
                cols[1 + 5 * m + q] = lay[2 + q] + m
    return cols


@njit(fastmath=_SUMS_FASTMATH, cache=True)
def _group_segment_terms(g, h0, n, b0, gs, grp, c, P, R, colmap, Tt, tmp_buf):
    """Member sums of the group pairs (g, h0 .. h0 + n - 1) into Tt[:, b0 .. b0 + n - 1].

    First, per image j of the segment, the sums over the members i of g (long contiguous loops
    over j that vectorise); then each j's sums are added into its group's slot. The diagonal
    pair (g, g), whose pairs need i < j, is summed directly. ``tmp_buf``: (1 + 5 M, >= images of
    the segment's groups), work space (zeroed here).
    """
    M = P.shape[0]
    hs = h0
    if h0 == g:
        acc = np.zeros(1 + 5 * M)
        for i in range(gs[g], gs[g + 1]):
            for j in range(i + 1, gs[g + 1]):
                cij = c[i] * c[j]
                acc[0] += cij
                for m in range(M):
                    x = P[m, i] - P[m, j]
                    rx = R[m, i] - R[m, j]
                    acc[1 + 5 * m] += cij * x
                    acc[2 + 5 * m] += cij * (x * x)
                    acc[3 + 5 * m] += cij * rx
                    acc[4 + 5 * m] += cij * (rx * rx)
                    acc[5 + 5 * m] += cij * np.sign(x)
        for t in range(acc.size):
            if colmap[t] >= 0:
                Tt[colmap[t], b0] += acc[t]
        hs = h0 + 1
    j0, j1 = gs[hs], gs[h0 + n]
    L = j1 - j0
    if L <= 0:
        return
    tmp = tmp_buf[:, :L]
    tmp[:, :] = 0.0
    cv = c[j0:j1]
    for i in range(gs[g], gs[g + 1]):
        ci = c[i]
        r0 = tmp[0]
        for k in range(L):
            r0[k] += ci * cv[k]
        for m in range(M):
            pi, ri, pv, rv = P[m, i], R[m, i], P[m, j0:j1], R[m, j0:j1]
            t1, t2, t3, t4, t5 = (tmp[1 + 5 * m], tmp[2 + 5 * m], tmp[3 + 5 * m],
                                  tmp[4 + 5 * m], tmp[5 + 5 * m])
            for k in range(L):
                cij = ci * cv[k]
                x = pi - pv[k]
                rx = ri - rv[k]
                t1[k] += cij * x
                t2[k] += cij * (x * x)
                t3[k] += cij * rx
                t4[k] += cij * (rx * rx)
                t5[k] += cij * np.sign(x)
    # j outer, sums inner: consecutive adds go to different rows of Tt, so no add waits on the
    # previous one even when neighbouring images share a group
    for k in range(L):
        b = b0 + (grp[j0 + k] - h0)
        for t in range(tmp.shape[0]):
            if colmap[t] >= 0:
                Tt[colmap[t], b] += tmp[t, k]


@njit(fastmath=_SUMS_FASTMATH, cache=True)
def _tile_terms(seg, nseg, gs, grp, c, P, R, lg, rlg, Vg, lay, colmap, Tt, absd, z, yb, ryb,
                tmp_buf):
    """Term matrix Tt[:, :nb] of a tile: the rows described at the top of this section."""
    for q in range(nseg):
        g, h0, n, b0 = seg[q, 0], seg[q, 1], seg[q, 2], seg[q, 3]
        for k in range(n):
            y = lg[g] - lg[h0 + k]
            v = Vg[g] + Vg[h0 + k]
            yb[b0 + k] = y
            ryb[b0 + k] = rlg[g] - rlg[h0 + k]
            absd[b0 + k] = abs(y)
            z[b0 + k] = 0.5 / v if v > 0.0 else 0.0
        if gs[g + 1] - gs[g] > 1 or gs[h0 + n] - gs[h0] > n:
            Tt[:, b0:b0 + n] = 0.0
            _group_segment_terms(g, h0, n, b0, gs, grp, c, P, R, colmap, Tt, tmp_buf)
            _times_y(Tt, b0, n, yb, ryb, lay, P.shape[0])
        else:
            _singleton_segment_terms(g, h0, n, b0, gs, c, P, R, lay, Tt, yb, ryb)


@njit(fastmath=_SUMS_FASTMATH, cache=True)
def _times_y(Tt, b0, n, yb, ryb, lay, M):
    """Multiply in y, ry and sign(y), constant over a group pair, once per pair."""
    y, ry, cc = yb[b0:b0 + n], ryb[b0:b0 + n], Tt[0, b0:b0 + n]
    if lay[0] >= 0:
        row = Tt[lay[0], b0:b0 + n]
        for k in range(n):
            row[k] = cc[k] * (y[k] * y[k])
    if lay[1] >= 0:
        row = Tt[lay[1], b0:b0 + n]
        for k in range(n):
            row[k] = cc[k] * (ry[k] * ry[k])
    for m in range(M):
        if lay[2] >= 0:
            row = Tt[lay[2] + m, b0:b0 + n]
            for k in range(n):
                row[k] *= y[k]
        if lay[4] >= 0:
            row = Tt[lay[4] + m, b0:b0 + n]
            for k in range(n):
                row[k] *= ry[k]
        if lay[6] >= 0:
            row = Tt[lay[6] + m, b0:b0 + n]
            for k in range(n):
                row[k] *= np.sign(y[k])


@njit(fastmath=_SUMS_FASTMATH, cache=True)
def _singleton_segment_terms(g, h0, n, b0, gs, c, P, R, lay, Tt, yb, ryb):
    """Every group of the segment is one image: the slot of image j is b0 + (j - gs[h0]), so
    all terms are written directly, contiguously (1-D views indexed by a range variable, so
    the loops vectorise). A diagonal slot (h0 == g) holds no pair and stays 0."""
    i = gs[g]
    ci = c[i]
    if h0 == g:
        Tt[:, b0] = 0.0
    j0 = i + 1 if h0 == g else gs[h0]
    j1 = gs[h0 + n]
    L = j1 - j0
    lo = b0 + (j0 - gs[h0])
    cv, y, ry = c[j0:j1], yb[lo:lo + L], ryb[lo:lo + L]
    r0 = Tt[0, lo:lo + L]
    for k in range(L):
        r0[k] = ci * cv[k]
    if lay[0] >= 0:
        r1 = Tt[lay[0], lo:lo + L]
        for k in range(L):
            r1[k] = r0[k] * (y[k] * y[k])
    if lay[1] >= 0:
        r1 = Tt[lay[1], lo:lo + L]
        for k in range(L):
            r1[k] = r0[k] * (ry[k] * ry[k])
    for m in range(P.shape[0]):
        if lay[2] >= 0 or lay[6] >= 0:
            pi, pv = P[m, i], P[m, j0:j1]
            if lay[2] >= 0:
                r1, r2 = Tt[lay[2] + m, lo:lo + L], Tt[lay[3] + m, lo:lo + L]
                for k in range(L):
                    x = pi - pv[k]
                    r1[k] = r0[k] * x * y[k]
                    r2[k] = r0[k] * (x * x)
            if lay[6] >= 0:
                r1 = Tt[lay[6] + m, lo:lo + L]
                for k in range(L):
                    r1[k] = r0[k] * np.sign(pi - pv[k]) * np.sign(y[k])
        if lay[4] >= 0:
            ri, rv = R[m, i], R[m, j0:j1]
            r1, r2 = Tt[lay[4] + m, lo:lo + L], Tt[lay[5] + m, lo:lo + L]
            for k in range(L):
                x = ri - rv[k]
                r1[k] = r0[k] * x * ry[k]
                r2[k] = r0[k] * (x * x)


@njit(fastmath=_EXP_FASTMATH, cache=True)
def _tile_weights(seg, nseg, a, qd, absd, z, w):
    """Weights of the tile's pairs at one sample point (``a = A[s]``)."""
    for q in range(nseg):
        g, h0, n, b0 = seg[q, 0], seg[q, 1], seg[q, 2], seg[q, 3]
        ag = a[g]
        ah, dd, zz, ww = a[h0:h0 + n], absd[b0:b0 + n], z[b0:b0 + n], w[b0:b0 + n]
        for k in range(n):
            t = qd - dd[k]
            ww[k] = exp_nonpos(ag + ah[k] - (t * t) * zz[k])


@njit(fastmath=_SUMS_FASTMATH, cache=True)
def _dots(W, Tt, nb, out):
    """``out[q, k] = W[q, :nb] . Tt[k, :nb]`` for 4 points q and all sums k.

    Blocked 4 points x 3 sums per pass: each loaded term serves four weights and each weight
    three terms. 12 vector accumulators plus the 7 loaded values fit AVX2's 16 registers
    (a 4 x 4 block spilled there: 8-10 GFMA/s per core on this machine against 15-17 for
    4 x 3, measured with benchmarks/bench_gmc.py's kernels in isolation, issue 18)."""
    K = Tt.shape[0]
    w0, w1, w2, w3 = W[0, :nb], W[1, :nb], W[2, :nb], W[3, :nb]
    k = 0
    while k + 3 <= K:
        t0, t1, t2 = Tt[k, :nb], Tt[k + 1, :nb], Tt[k + 2, :nb]
        a00 = a01 = a02 = a10 = a11 = a12 = 0.0
        a20 = a21 = a22 = a30 = a31 = a32 = 0.0
        for b in range(nb):
            x0, x1, x2 = t0[b], t1[b], t2[b]
            u = w0[b]
            a00 += u * x0
            a01 += u * x1
            a02 += u * x2
            u = w1[b]
            a10 += u * x0
            a11 += u * x1
            a12 += u * x2
            u = w2[b]
            a20 += u * x0
            a21 += u * x1
            a22 += u * x2
            u = w3[b]
            a30 += u * x0
            a31 += u * x1
            a32 += u * x2
        out[0, k], out[0, k + 1], out[0, k + 2] = a00, a01, a02
        out[1, k], out[1, k + 1], out[1, k + 2] = a10, a11, a12
        out[2, k], out[2, k + 1], out[2, k + 2] = a20, a21, a22
        out[3, k], out[3, k + 1], out[3, k + 2] = a30, a31, a32
        k += 3
    while k < K:
        tk = Tt[k, :nb]
        a0 = a1 = a2 = a3 = 0.0
        for b in range(nb):
            x = tk[b]
            a0 += w0[b] * x
            a1 += w1[b] * x
            a2 += w2[b] * x
            a3 += w3[b] * x
        out[0, k], out[1, k], out[2, k], out[3, k] = a0, a1, a2, a3
        k += 1


@njit(fastmath=_EXP_FASTMATH, cache=True)
def _tile_b(seg, nseg, qd, absd, z, w):
    """The |dMOS| factor ``b = exp(-(Qd - |d|)^2 / (2 v))`` of the tile's pairs at one Qd."""
    for q in range(nseg):
        b0, n = seg[q, 3], seg[q, 2]
        dd, zz, ww = absd[b0:b0 + n], z[b0:b0 + n], w[b0:b0 + n]
        for k in range(n):
            t = qd - dd[k]
            ww[k] = exp_nonpos(-(t * t) * zz[k])


@njit(cache=True)
def _tile_weights_shared(seg, nseg, e, bq, w):
    """Weights at one point from its Qd's b factors: ``w = a_g a_h b`` (``e = exp(A[s])``)."""
    for q in range(nseg):
        g, h0, n, b0 = seg[q, 0], seg[q, 1], seg[q, 2], seg[q, 3]
        eg = e[g]
        eh, bb, ww = e[h0:h0 + n], bq[b0:b0 + n], w[b0:b0 + n]
        for k in range(n):
            ww[k] = (eg * eh[k]) * bb[k]


@njit(cache=True)
def _segment_images(gs, B):
    """Most images in B consecutive groups (0 when every group is one image: no member sums)."""
    G = gs.size - 1
    L = 0
    if G < gs[G]:
        for h in range(max(1, G - B + 1)):
            L = max(L, gs[min(G, h + B)] - gs[h])
    return L


@njit(cache=True)
def _tile_scratch(B, K, n_b, M, L):
    """Work arrays of one tile: (seg, Tt, absd, z, yb, ryb, W, out4, Bu, tmp_buf); ``tmp_buf``
    holds a segment's member sums, L from :func:`_segment_images`."""
    return (np.empty((B + 1, 4), dtype=np.int64), np.empty((K, B)), np.empty(B), np.empty(B),
            np.empty(B), np.empty(B), np.zeros((4, B)), np.empty((4, K)), np.empty((n_b, B)),
            np.empty((1 + 5 * M, L)))


@njit(cache=True)
def _one_tile(t, B, rowoff, gs, grp, c, P, R, lg, rlg, Vg, A, Qd, E, Qdu, qidx, shared, lay, colmap,
              out, scratch, skip):
    """Add the sums of tile t into ``out`` (points x sums); see :func:`tile_sums`. ``scratch``
    from :func:`_tile_scratch` (reusable: every entry read is written first). ``skip`` (tiles x
    points, or empty): points at which the tile's weight is provably negligible
    (:func:`tile_skip_flags`); a block of 4 points is left out when all 4 are flagged."""
    G = lg.size
    S = A.shape[0]
    K = out.shape[1]
    use_skip = skip.shape[0] > 0
    if use_skip:
        needed = False
        for s in range(S):
            if not skip[t, s]:
                needed = True
                break
        if not needed:
            return
    seg, Tt, absd, z, yb, ryb, W, out4, Bu, tmp_buf = scratch
    nseg, nb = _segments(t, B, rowoff, G, seg)
    _tile_terms(seg, nseg, gs, grp, c, P, R, lg, rlg, Vg, lay, colmap, Tt, absd, z, yb, ryb,
                tmp_buf)
    for u in range(Bu.shape[0]):
        _tile_b(seg, nseg, Qdu[u], absd, z, Bu[u])
    for s0 in range(0, S, 4):
        ns = min(4, S - s0)
        if use_skip:
            all_skipped = True
            for q in range(ns):
                if not skip[t, s0 + q]:
                    all_skipped = False
            if all_skipped:
                continue
        for q in range(ns):
            if shared:
                _tile_weights_shared(seg, nseg, E[s0 + q], Bu[qidx[s0 + q]], W[q])
            else:
                _tile_weights(seg, nseg, A[s0 + q], Qd[s0 + q], absd, z, W[q])
        for q in range(ns, 4):  # missing points of the last block weigh 0
            W[q, :nb] = 0.0
        _dots(W, Tt, nb, out4)
        for q in range(ns):
            for k in range(K):
                out[s0 + q, k] += out4[q, k]


@njit(parallel=True, cache=True)
def tile_sums(t0, t1, B, rowoff, gs, grp, c, P, R, lg, rlg, Vg, A, Qd, E, Qdu, qidx, shared,
              lay, skip, acc):
    """Add the sums of tiles t0 .. t1-1 into ``acc[thread]`` (threads x points x sums).

    ``shared``: the points use few distinct Qd values (``Qdu``, point s has ``Qdu[qidx[s]]``,
    e.g. a regular grid), so the b factors are computed once per distinct Qd and each weight is
    the product ``a_g a_h b`` with ``E = exp(A)``: no exp per weight. Otherwise one exp per
    weight of ``log a_g + log a_h + log b``."""
    colmap = term_columns(lay, P.shape[0])
    n_b, M, L = Qdu.size if shared else 0, P.shape[0], _segment_images(gs, B)
    for t in prange(t0, t1):
        _one_tile(t, B, rowoff, gs, grp, c, P, R, lg, rlg, Vg, A, Qd, E, Qdu, qidx, shared, lay,
                  colmap, acc[get_thread_id()], _tile_scratch(B, acc.shape[2], n_b, M, L), skip)


@njit(nogil=True, cache=True)
def tile_sums_serial(t0, t1, B, rowoff, gs, grp, c, P, R, lg, rlg, Vg, A, Qd, E, Qdu, qidx, shared,
                     lay, out):
    """:func:`tile_sums` on one thread, tiles in order, into ``out`` (points x sums): the sum
    depends only on t0 and t1 (the dask backend's blocks). Releases the GIL. The work arrays are
    allocated once (dask workers set MALLOC_TRIM_THRESHOLD_, which makes every large
    allocation a fresh mmap: per-tile allocations there cost 2.4x the time)."""
    colmap = term_columns(lay, P.shape[0])
    scratch = _tile_scratch(B, out.shape[1], Qdu.size if shared else 0, P.shape[0],
                            _segment_images(gs, B))
    for t in range(t0, t1):
        _one_tile(t, B, rowoff, gs, grp, c, P, R, lg, rlg, Vg, A, Qd, E, Qdu, qidx, shared, lay,
                  colmap, out, scratch, np.zeros((0, 0), dtype=np.bool_))


# --- fused per-image row sums -----------------------------------------------------------------------
#
# rows[k, s, i] = sum over j != i of w_ij t_k(i, j). For image i of group g this is
# sum_h W_g[s, h] T_i[k, h], where W_g[s, h] is the weight of a (g, h) pair and
# T_i[k, h] = sum over images j != i of group h of c_i c_j t_k(i, j). Each thread takes whole
# groups: the weights of g are computed once for all its images (4 points at a time), the
# terms once per image, and the products use the same blocked dot kernel as the totals.


@njit(fastmath=_SUMS_FASTMATH, cache=True)
def _image_terms(i, c, P, R, ls, rls, lay, u):
    """u[k, j] = c_i c_j t_k(i, j) for every image j (0 for j == i), final term values."""
    N = ls.size
    ci, li, ri_l = c[i], ls[i], rls[i]
    r0 = u[0]
    for j in range(N):
        r0[j] = ci * c[j]
    r0[i] = 0.0
    if lay[0] >= 0:
        r1 = u[lay[0]]
        for j in range(N):
            y = li - ls[j]
            r1[j] = r0[j] * (y * y)
    if lay[1] >= 0:
        r1 = u[lay[1]]
        for j in range(N):
            ry = ri_l - rls[j]
            r1[j] = r0[j] * (ry * ry)
    for m in range(P.shape[0]):
        pi, ri, pv, rv = P[m, i], R[m, i], P[m], R[m]
        if lay[2] >= 0:
            r1, r2 = u[lay[2] + m], u[lay[3] + m]
            for j in range(N):
                x = pi - pv[j]
                r1[j] = r0[j] * x * (li - ls[j])
                r2[j] = r0[j] * (x * x)
        if lay[4] >= 0:
            r1, r2 = u[lay[4] + m], u[lay[5] + m]
            for j in range(N):
                x = ri - rv[j]
                r1[j] = r0[j] * x * (ri_l - rls[j])
                r2[j] = r0[j] * (x * x)
        if lay[6] >= 0:
            r1 = u[lay[6] + m]
            for j in range(N):
                r1[j] = r0[j] * np.sign(pi - pv[j]) * np.sign(li - ls[j])


@njit(cache=True)
def _group_reduce(u, grp, T):
    """T[k, h] = sum of u[k, j] over the images j of group h (j outer: independent adds)."""
    T[:, :] = 0.0
    K = u.shape[0]
    for j in range(u.shape[1]):
        h = grp[j]
        for k in range(K):
            T[k, h] += u[k, j]


@njit(fastmath=_EXP_FASTMATH, cache=True)
def _group_weights(g, a, qd, lg, zg, w):
    """w[h] = weight of a pair (image of group g, image of group h) at one point."""
    ag = a[g]
    lgg = lg[g]
    for h in range(lg.size):
        t = qd - abs(lgg - lg[h])
        w[h] = exp_nonpos(ag + a[h] - (t * t) * zg[h])


@njit(cache=True)
def _group_weights_shared(g, e, bq, w):
    """w[h] = a_g a_h b_gh at one point from its Qd's b factors (``e = exp(A[s])``)."""
    eg = e[g]
    for h in range(w.size):
        w[h] = (eg * e[h]) * bq[h]


@njit(fastmath=_EXP_FASTMATH, cache=True)
def _group_b(g, qd, lg, zg, w):
    """w[h] = b factor exp(-(Qd - |l_g - l_h|)^2 / (2 v_gh)) of a (g, h) pair."""
    lgg = lg[g]
    for h in range(lg.size):
        t = qd - abs(lgg - lg[h])
        w[h] = exp_nonpos(-(t * t) * zg[h])


@njit(cache=True)
def _group_setup(g, Vg, lg, Qdu, zg, Bg):
    """Per group g of the row sums: ``zg[h] = 1 / (2 (V_g + V_h))`` and the b factors of its
    pairs at each shared Qd (``Bg[u, h]``; none when the points share no Qd)."""
    for h in range(lg.size):
        v = Vg[g] + Vg[h]
        zg[h] = 0.5 / v if v > 0.0 else 0.0
    for iu in range(Bg.shape[0]):
        _group_b(g, Qdu[iu], lg, zg, Bg[iu])


@njit(cache=True)
def _chunk_terms(g, q0, nq, gs, grp, c, P, R, ls, rls, lay, singletons, u, T):
    """``T[q, k, h]``: the terms of images q0 .. q0+nq-1 of group g summed over each group h."""
    for q in range(nq):
        i = gs[g] + q0 + q
        if singletons:
            _image_terms(i, c, P, R, ls, rls, lay, T[q])
        else:
            _image_terms(i, c, P, R, ls, rls, lay, u)
            _group_reduce(u, grp, T[q])


@njit(cache=True)
def _rows_scratch(K, N, G, n_b, q_cap):
    """Work arrays of one group's rows: (zg, Bg, u, W, out4, T)."""
    return (np.empty(G), np.empty((n_b, G)), np.empty((K, N)), np.zeros((4, G)),
            np.empty((4, K)), np.empty((q_cap, K, G)))


@njit(cache=True)
def _one_group_rows(g, gs, grp, dest, c, P, R, ls, rls, lg, Vg, A, Qd, E, Qdu, qidx, shared, lay,
                    q_chunk, rows, scratch):
    """Row sums of the images of group g into ``rows[k, s, dest[sorted index]]``; see
    :func:`group_row_sums`. ``scratch`` from :func:`_rows_scratch` with ``q_cap >=
    min(q_chunk, images of g)`` (reusable: every entry read is written first)."""
    G = lg.size
    S = A.shape[0]
    singletons = G == ls.size
    zg, Bg, u, W, out4, T = scratch
    _group_setup(g, Vg, lg, Qdu, zg, Bg)
    n_g = gs[g + 1] - gs[g]
    K = rows.shape[0]
    for q0 in range(0, n_g, q_chunk):
        nq = min(q_chunk, n_g - q0)
        _chunk_terms(g, q0, nq, gs, grp, c, P, R, ls, rls, lay, singletons, u, T)
        for s0 in range(0, S, 4):
            ns = min(4, S - s0)
            for p in range(ns):
                if shared:
                    _group_weights_shared(g, E[s0 + p], Bg[qidx[s0 + p]], W[p])
                else:
                    _group_weights(g, A[s0 + p], Qd[s0 + p], lg, zg, W[p])
            for p in range(ns, 4):
                W[p, :] = 0.0
            for q in range(nq):
                _dots(W, T[q], G, out4)
                d = dest[gs[g] + q0 + q]
                for p in range(ns):
                    for k in range(K):
                        rows[k, s0 + p, d] = out4[p, k]


@njit(parallel=True, cache=True)
def group_row_sums(g0, g1, gs, grp, order, c, P, R, ls, rls, lg, Vg, A, Qd, E, Qdu, qidx, shared,
                   lay, q_chunk, rows):
    """Per-image row sums of the images of groups g0 .. g1-1 into rows[k, s, original index]
    (``order``: original index of each sorted image).

    ``E, Qdu, qidx, shared``: as in :func:`tile_sums`."""
    n_b = Qdu.size if shared else 0
    for g in prange(g0, g1):
        scratch = _rows_scratch(rows.shape[0], ls.size, lg.size, n_b,
                                min(q_chunk, gs[g + 1] - gs[g]))
        _one_group_rows(g, gs, grp, order, c, P, R, ls, rls, lg, Vg, A, Qd, E, Qdu, qidx, shared,
                        lay, q_chunk, rows, scratch)


@njit(nogil=True, cache=True)
def group_row_sums_serial(g0, g1, gs, grp, dest, c, P, R, ls, rls, lg, Vg, A, Qd, E, Qdu, qidx,
                          shared, lay, q_chunk, rows):
    """:func:`group_row_sums` on one thread; image at sorted index i goes to ``rows[..., dest[i]]``
    (the dask backend's blocks). Releases the GIL; work arrays allocated once (see
    :func:`tile_sums_serial`)."""
    q_cap = 1
    for g in range(g0, g1):
        q_cap = max(q_cap, min(q_chunk, gs[g + 1] - gs[g]))
    scratch = _rows_scratch(rows.shape[0], ls.size, lg.size, Qdu.size if shared else 0, q_cap)
    for g in range(g0, g1):
        _one_group_rows(g, gs, grp, dest, c, P, R, ls, rls, lg, Vg, A, Qd, E, Qdu, qidx, shared,
                        lay, q_chunk, rows, scratch)


# --- row sums on a grid of points (Q levels x shared Qd values) -------------------------------------
#
# When the points are (a subset of) the product Qu x Qdu of a few Q levels and a few Qd values
# (compare's regular grid), a weight factors as w = e_Q(g) * e_Q(h) * b_Qd(g, h), so for image i
# of group g
#
#     rows[k, (Q, Qd), i] = e_Q(g) * sum_h e_Q(h) X[(Qd, k), h],   X[(Qd, k), h] = b_Qd(g, h) T_i[k, h]
#
# which is a dense product E (Q levels x groups) @ X^T (groups x Qd values * sums): no weight is
# formed per point at all (the per-point path builds S x G weights per group and streams them
# against T). Columns are taken in chunks so that X's chunk stays in the core's L2 cache while the
# Q levels go past it 4 at a time (the blocked _dots kernel). Same products up to the order of
# the factors and of the additions: equal to the per-point path to rounding (tests: 1e-12).

#: groups per chunk of the grid row sums (X chunk: Qd values x sums x chunk doubles, ~L2)
_GRID_CHUNK = 256


@njit(cache=True)
def _rows_grid_scratch(K, N, G, n_b, q_cap, nq_pad):
    """Work arrays of one group's grid rows: (zg, Bg, u, T, X, W, out4, acc)."""
    return (np.empty(G), np.empty((n_b, G)), np.empty((K, N)), np.empty((q_cap, K, G)),
            np.empty((n_b * K, _GRID_CHUNK)), np.zeros((4, _GRID_CHUNK)), np.empty((4, n_b * K)),
            np.empty((nq_pad, n_b * K)))


@njit(cache=True)
def _one_group_rows_grid(g, gs, grp, dest, c, P, R, ls, rls, lg, Vg, Eu, Qdu, qi, qdi, lay,
                         q_chunk, rows, scratch):
    """Row sums of the images of group g on a grid of points (see the section comment).
    ``Eu`` (4 * ceil(nq / 4), G): exp(log a) at each Q level (rows past nq are 0); point s is
    (Q level ``qi[s]``, Qd value ``qdi[s]``)."""
    G = lg.size
    S = qi.size
    K = rows.shape[0]
    n_b = Qdu.size
    nq_pad = Eu.shape[0]
    singletons = G == ls.size
    zg, Bg, u, T, X, W, out4, acc = scratch
    _group_setup(g, Vg, lg, Qdu, zg, Bg)
    n_g = gs[g + 1] - gs[g]
    for q0 in range(0, n_g, q_chunk):
        nq = min(q_chunk, n_g - q0)
        _chunk_terms(g, q0, nq, gs, grp, c, P, R, ls, rls, lay, singletons, u, T)
        for q in range(nq):
            Tq = T[q]
            acc[:, :] = 0.0
            for c0 in range(0, G, _GRID_CHUNK):
                cn = min(_GRID_CHUNK, G - c0)
                for iu in range(n_b):
                    bq = Bg[iu, c0:c0 + cn]
                    for k in range(K):
                        xr, tr = X[iu * K + k], Tq[k, c0:c0 + cn]
                        for b in range(cn):
                            xr[b] = bq[b] * tr[b]
                for Q0 in range(0, nq_pad, 4):
                    for p in range(4):
                        W[p, :cn] = Eu[Q0 + p, c0:c0 + cn]
                    _dots(W, X, cn, out4)
                    for p in range(4):
                        for k in range(n_b * K):
                            acc[Q0 + p, k] += out4[p, k]
            d = dest[gs[g] + q0 + q]
            for s in range(S):
                eg = Eu[qi[s], g]
                base = qdi[s] * K
                for k in range(K):
                    rows[k, s, d] = eg * acc[qi[s], base + k]


@njit(parallel=True, cache=True)
def group_row_sums_grid(g0, g1, gs, grp, order, c, P, R, ls, rls, lg, Vg, Eu, Qdu, qi, qdi, lay,
                        q_chunk, rows):
    """:func:`group_row_sums` for points on a grid of Q levels x Qd values (arguments: see
    :func:`_one_group_rows_grid`)."""
    n_b = Qdu.size
    for g in prange(g0, g1):
        scratch = _rows_grid_scratch(rows.shape[0], ls.size, lg.size, n_b,
                                     min(q_chunk, gs[g + 1] - gs[g]), Eu.shape[0])
        _one_group_rows_grid(g, gs, grp, order, c, P, R, ls, rls, lg, Vg, Eu, Qdu, qi, qdi, lay,
                             q_chunk, rows, scratch)


@njit(nogil=True, cache=True)
def group_row_sums_grid_serial(g0, g1, gs, grp, dest, c, P, R, ls, rls, lg, Vg, Eu, Qdu, qi, qdi, lay,
                               q_chunk, rows):
    """:func:`group_row_sums_grid` on one thread; image at sorted index i goes to
    ``rows[..., dest[i]]`` (the dask backend's blocks: the same products and additions per image
    as the numba backend, so the same numbers bit for bit)."""
    q_cap = 1
    for g in range(g0, g1):
        q_cap = max(q_cap, min(q_chunk, gs[g + 1] - gs[g]))
    scratch = _rows_grid_scratch(rows.shape[0], ls.size, lg.size, Qdu.size, q_cap, Eu.shape[0])
    for g in range(g0, g1):
        _one_group_rows_grid(g, gs, grp, dest, c, P, R, ls, rls, lg, Vg, Eu, Qdu, qi, qdi, lay,
                             q_chunk, rows, scratch)


# --- provably negligible tiles ----------------------------------------------------------------------
#
# Groups are sorted by MOS (then std), so a tile's segment (g, h0 .. h0+n-1) has 0 <= l_h - l_g
# within [l_h0 - l_g, l_{h0+n-1} - l_g]. Every weight of the segment at a point is then bounded
# before it is computed:
#
#     w_gh c-sum  =  a_g a_h b_gh * (sum_{i in g} c_i)(sum_{j in h} c_j)
#                <=  exp(log a_g + max_h log a_h - gap^2 / (2 vmax)) * C_g * sum_h C_h
#
# with gap the distance from Qd to that |dMOS| interval (b is a Gaussian in |dMOS| - Qd, so it is
# largest at the nearest end), vmax = V_g + max_h V_h (a wider Gaussian is larger at the same
# gap) and C the regulator sums of the groups (a diagonal pair (g, g) counts its own c-sum,
# an upper bound of sum_{i<j} c_i c_j). The maxima over h come from a table of maxima over
# blocks of 64 groups (over the blocks a range touches: never smaller than the true maximum).
# A tile's bound is (number of segments) x its largest segment bound.
#
# The point's total weight T = sum w is bounded below by the pairs of one group g* (the largest
# a at that point) with every other group: L = sum_{h != g*} w_{g* h} C_g* C_h <= T (all
# terms >= 0). A tile is skipped at a point when its bound <= 0.5e-16 L / n_tiles, so the weight
# of all skipped tiles together is <= 0.5e-16 L <= 0.5e-16 T (the factor 0.5 covers the rounding
# of L and of the bounds, which are computed in log space to a few ulp). The sums of the terms
# t (|t| <= tmax) change by at most tmax times that.

_SKIP_BLOCK = 64


@njit(cache=True)
def _block_max(v, block):
    nblk = -(-v.size // block)
    out = np.full(nblk, -np.inf)
    for h in range(v.size):
        out[h // block] = max(out[h // block], v[h])
    return out


@njit(parallel=True, cache=True)
def tile_skip_flags(n_tiles, B, rowoff, gs, c, lg, Vg, A, Qd, rel, skip):
    """``skip[t, s]``: the weight of tile t at point s is provably below ``rel`` x (a lower bound of
    the point's total weight) / n_tiles (derivation above). ``A``: log a per point and group."""
    G = lg.size
    S = A.shape[0]
    cg = np.zeros(G)
    for g in range(G):
        for i in range(gs[g], gs[g + 1]):
            cg[g] += c[i]
    cpre = np.zeros(G + 1)
    for g in range(G):
        cpre[g + 1] = cpre[g] + cg[g]
    vblk = _block_max(Vg, _SKIP_BLOCK)
    for s in prange(S):
        a = A[s]
        qd = Qd[s]
        gstar = 0
        for g in range(G):
            if a[g] > a[gstar]:
                gstar = g
        low = 0.0
        for h in range(G):
            if h != gstar:
                v = Vg[gstar] + Vg[h]
                zz = 0.5 / v if v > 0.0 else 0.0
                tt = qd - abs(lg[gstar] - lg[h])
                low += np.exp(a[gstar] + a[h] - tt * tt * zz) * (cg[gstar] * cg[h])
        if not (low > 0.0):
            for t in range(n_tiles):
                skip[t, s] = False
            continue
        log_thr = np.log(0.5 * rel * low / n_tiles)
        ablk = _block_max(a, _SKIP_BLOCK)
        seg = np.empty((B + 1, 4), dtype=np.int64)
        for t in range(n_tiles):
            nseg, nb = _segments(t, B, rowoff, G, seg)
            worst = -np.inf
            for q in range(nseg):
                g, h0, n = seg[q, 0], seg[q, 1], seg[q, 2]
                h1 = h0 + n - 1
                amax = -np.inf
                vmax = 0.0
                for k in range(h0 // _SKIP_BLOCK, h1 // _SKIP_BLOCK + 1):
                    amax = max(amax, ablk[k])
                    vmax = max(vmax, vblk[k])
                vmax += Vg[g]
                dmin = lg[h0] - lg[g]
                dmax = lg[h1] - lg[g]
                gap = max(0.0, max(dmin - qd, qd - dmax))
                logb = -gap * gap * (0.5 / vmax) if vmax > 0.0 else 0.0
                csum = cg[g] * (cpre[h1 + 1] - cpre[h0])
                if csum > 0.0:
                    worst = max(worst, a[g] + amax + logb + np.log(csum))
            skip[t, s] = worst + np.log(max(nseg, 1)) <= log_thr
