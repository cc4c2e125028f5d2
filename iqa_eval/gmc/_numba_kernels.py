"""Jitted CPU kernels of the GMC engine (plain loops; the layer above is :mod:`.engine`).

The work is split so the expensive part is a dense matrix product:

* ``pair_terms``  -- for a tile of *group* pairs (images with equal MOS and equal std share every
  pair weight, see :mod:`.engine`), the prediction-dependent sums ``sum c_i c_j t(i, j)`` over the
  member pairs, written as rows of a term matrix ``T`` (pairs x sums). Independent of the sample
  points: computed once per pair.
* ``weight_tile`` -- the pair weights ``W[s, pair]`` for every sample point, one exp per entry,
  with the vectorisable :func:`exp_nonpos` (LLVM has no SIMD ``exp`` here: numba is built without
  SVML, and scalar libm ``exp`` would cost ~5 ns per weight).
* the engine then adds ``W @ T`` (BLAS) into the (points x sums) totals.

Terms are direct pairwise differences ``p_i - p_j`` (never expanded as ``p_i^2 - 2 p_i p_j + ...``,
which cancels catastrophically for large offsets). Everything accumulates in float64.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

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


@njit(cache=True)
def exp_array(x, out):
    """``out[:] = exp(x)`` for non-positive ``x`` with :func:`exp_nonpos` (used by the tests)."""
    for i in range(x.size):
        out[i] = exp_nonpos(x[i])
    return out


# --- sums over pairs ----------------------------------------------------------------------------
#
# Images are sorted so that each *group* (images with equal MOS and equal std, which share every
# pair weight, see engine.py) is a contiguous range gs[g]:gs[g+1]. A tile is a range of group rows
# g0 <= g < g1; row g holds the group pairs (g, h), h = g .. G-1, at tile columns off[g-g0] + h - g.
# The pair (g, g) stands for the pairs of distinct images inside group g.
#
# Columns of T (built by engine._Layout): 0 = sum c_i c_j (-> sum w); lay[0], lay[1] = sum c c y^2
# (plcc) and sum c c ry^2 (srcc); lay[2 + q] + m = the q-th model sum of model m, q in
# (c c x y, c c x^2, c c rx ry, c c rx^2, c c sign(x) sign(y)). Absent sums have lay = -1.


# The member sums only change the order of additions when reassociated (same terms, same
# products), so 'reassoc' lets LLVM vectorise them; 'contract' allows FMA. No 'nnan'/'ninf':
# nothing here is allowed to assume away special values.
_SUMS_FASTMATH = {"reassoc", "contract"}


@njit(inline="always", fastmath=_SUMS_FASTMATH, cache=True)
def _member_sums(pi, ri, ci, p, r, c, out):
    """Add ``sum_j c_i c_j t(i, j)`` over the images j of the 1-D views p, r, c into ``out``:
    out = [sum cc x, sum cc x^2, sum cc rx, sum cc rx^2, sum cc sign(x)], x = p_i - p_j."""
    s0 = s1 = s2 = s3 = s4 = 0.0
    for k in range(p.size):
        cij = ci * c[k]
        x = pi - p[k]
        rx = ri - r[k]
        s0 += cij * x
        s1 += cij * (x * x)
        s2 += cij * rx
        s3 += cij * (rx * rx)
        s4 += cij * np.sign(x)
    out[0] += s0
    out[1] += s1
    out[2] += s2
    out[3] += s3
    out[4] += s4


@njit(inline="always", cache=True)
def _store(Trow, cc, y, ry, acc, lay):
    """Write one pair's sums; y, ry, sign(y) are constant over a group pair and factor out."""
    Trow[0] = cc
    if lay[0] >= 0:
        Trow[lay[0]] = cc * (y * y)
    if lay[1] >= 0:
        Trow[lay[1]] = cc * (ry * ry)
    sy = np.sign(y)
    for m in range(acc.shape[0]):
        if lay[2] >= 0:
            Trow[lay[2] + m] = y * acc[m, 0]
            Trow[lay[3] + m] = acc[m, 1]
        if lay[4] >= 0:
            Trow[lay[4] + m] = ry * acc[m, 2]
            Trow[lay[5] + m] = acc[m, 3]
        if lay[6] >= 0:
            Trow[lay[6] + m] = sy * acc[m, 4]


@njit(parallel=True, fastmath=_SUMS_FASTMATH, cache=True)
def pair_terms(g0, g1, off, gs, c, P, R, lg, rlg, Vg, lay, T, absd, z):
    """Fill ``T[b, :]``, ``absd[b] = |l_g - l_h|`` and ``z[b] = 1 / (2 v_gh)`` for the tile's pairs.

    ``z`` is 0 where ``v_gh = 0`` (both images have zero std; their weight is 0 through ``A``).
    ``R`` has the shape of ``P`` (pass ``P`` itself when SRCC is not asked for).
    """
    G = lg.size
    M = P.shape[0]
    for g in prange(g0, g1):
        acc = np.empty((M, 5))
        for h in range(g, G):
            b = off[g - g0] + (h - g)
            y = lg[g] - lg[h]
            v = Vg[g] + Vg[h]
            absd[b] = abs(y)
            z[b] = 0.5 / v if v > 0.0 else 0.0
            acc[:] = 0.0
            cc = 0.0
            for i in range(gs[g], gs[g + 1]):
                j0 = i + 1 if h == g else gs[h]
                j1 = gs[h + 1]
                cj = c[j0:j1]
                cc += c[i] * cj.sum()
                for m in range(M):
                    _member_sums(P[m, i], R[m, i], c[i], P[m, j0:j1], R[m, j0:j1], cj, acc[m])
            _store(T[b], cc, y, rlg[g] - rlg[h], acc, lay)


@njit(parallel=True, cache=True)
def weight_tile(g0, g1, off, A, Qd, absd, z, W):
    """``W[s, b] = exp(A[s, g] + A[s, h] - (Qd[s] - |l_g - l_h|)^2 / (2 v_gh))`` for the tile.

    ``A[s, g] = log(a_g)`` at point s (``-inf`` for zero std). Inner loop contiguous in h: SIMD.
    """
    S = W.shape[0]
    G = A.shape[1]
    for s in prange(S):
        _weight_row(g0, g1, off, A[s], Qd[s], absd, z, W[s], G)


@njit(inline="always", cache=True)
def _weight_row(g0, g1, off, a, qd, absd, z, w, G):
    # 1-D views indexed by a range variable: numba then knows the index is non-negative and
    # LLVM vectorises the loop (an index like ``base + h`` would block it).
    for g in range(g0, g1):
        n = G - g
        b0 = off[g - g0]
        ag = a[g]
        ah, dd, zz, ww = a[g:], absd[b0:b0 + n], z[b0:b0 + n], w[b0:b0 + n]
        for k in range(n):
            t = qd - dd[k]
            ww[k] = exp_nonpos(ag + ah[k] - (t * t) * zz[k])


# --- per-image row sums -------------------------------------------------------------------------


@njit(parallel=True, cache=True)
def row_weights(g, A, Qd, lg, Vg, W):
    """``W[s, h]`` = weight of a pair (image of group g, image of group h) at point s."""
    S, G = W.shape
    zg = np.empty(G)
    dg = np.empty(G)
    for h in range(G):
        v = Vg[g] + Vg[h]
        zg[h] = 0.5 / v if v > 0.0 else 0.0
        dg[h] = abs(lg[g] - lg[h])
    for s in prange(S):
        qd = Qd[s]
        ag = A[s, g]
        a, w = A[s], W[s]
        for h in range(G):
            t = qd - dg[h]
            w[h] = exp_nonpos(ag + a[h] - (t * t) * zg[h])


@njit(parallel=True, fastmath=_SUMS_FASTMATH, cache=True)
def row_terms(g, q0, gs, c, P, R, lg, rlg, lay, T):
    """``T[h, q, :]`` = sums over images j != i of group h of ``c_i c_j t(i, j)`` for the image
    i = gs[g] + q0 + q of group g; same column layout as :func:`pair_terms`."""
    G = lg.size
    M = P.shape[0]
    for h in prange(G):
        acc = np.empty((M, 5))
        y = lg[g] - lg[h]
        ry = rlg[g] - rlg[h]
        for q in range(T.shape[1]):
            i = gs[g] + q0 + q
            acc[:] = 0.0
            cc = 0.0
            # the images of group h except i itself: [j0, i) and [i + 1, j1)
            j0, j1 = gs[h], gs[h + 1]
            split = i if j0 <= i < j1 else j1
            for a, b in ((j0, split), (min(split + 1, j1), j1)):
                cj = c[a:b]
                cc += c[i] * cj.sum()
                for m in range(M):
                    _member_sums(P[m, i], R[m, i], c[i], P[m, a:b], R[m, a:b], cj, acc[m])
            _store(T[h, q], cc, y, ry, acc, lay)
