"""numba kernel of the local-linear surface: the grid evaluation of :func:`iqa_eval.gmc.kernel_regression.local_linear`.

Plain loops over grid points and sample points, float64 accumulation; the 3 x 3 solve is the
same closed form (with the same pseudo-inverse fallback) as the vectorised leave-one-out path.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._runtime.numba_cache import njit   # cache=True: the user's cache folder (see _numba_cache)

_GAUSS_C = 1.0 / math.sqrt(2.0 * math.pi)
#: |det M| above this fraction of M00 M11 M22 (the Hadamard bound of a PSD matrix): solved in
#: closed form; below it, near-singular: numpy's pseudo-inverse, exactly as KernelReg does.
WELL_CONDITIONED = 1e-3


@njit(cache=True)
def _first_of_solve(m00, m01, m02, m11, m12, m22, v0, v1, v2):
    """``(pinv(M) v)[0]`` for a symmetric 3 x 3 ``M``."""
    c00 = m11 * m22 - m12 * m12
    c01 = m02 * m12 - m01 * m22
    c02 = m01 * m12 - m02 * m11
    det = m00 * c00 + m01 * c01 + m02 * c02
    if abs(det) > WELL_CONDITIONED * abs(m00 * m11 * m22):
        return (c00 * v0 + c01 * v1 + c02 * v2) / det
    M = np.empty((3, 3))
    M[0, 0], M[0, 1], M[0, 2] = m00, m01, m02
    M[1, 0], M[1, 1], M[1, 2] = m01, m11, m12
    M[2, 0], M[2, 1], M[2, 2] = m02, m12, m22
    P = np.linalg.pinv(M)
    return P[0, 0] * v0 + P[0, 1] * v1 + P[0, 2] * v2


@njit(cache=True, parallel=True)
def local_linear_at(x, y, bw0, bw1, at, out):
    """Local-linear estimate at every row of ``at`` (P, 2) from points ``x`` (S, 2), values ``y``."""
    n = x.shape[0]
    s0 = bw0 ** 2 * 2.0
    s1 = bw1 ** 2 * 2.0
    scale = bw0 * bw1 * n
    for p in prange(at.shape[0]):             # grid points are independent
        m00 = m01 = m02 = m11 = m12 = m22 = v0 = v1 = v2 = 0.0
        for j in range(n):
            d0 = x[j, 0] - at[p, 0]
            d1 = x[j, 1] - at[p, 1]
            k = _GAUSS_C * math.exp(-(d0 * d0) / s0) * (_GAUSS_C * math.exp(-(d1 * d1) / s1)) / scale
            m00 += k
            m01 += d0 * k
            m02 += d1 * k
            m11 += d0 * d0 * k
            m12 += d0 * d1 * k
            m22 += d1 * d1 * k
            ky = k * y[j]
            v0 += ky
            v1 += d0 * ky
            v2 += d1 * ky
        out[p] = _first_of_solve(m00, m01, m02, m11, m12, m22, v0, v1, v2)


@njit(cache=True, nogil=True)
def weighted_middle_sums(dx, w):
    """``(dx * w[:, :, None]).sum(axis=1)`` for ``dx`` (P, S, 2), ``w`` (P, S), in numpy's order.

    numpy reduces a middle axis sequentially (row after row, left to right), and so does this
    loop, product by product: the sums are bit-for-bit numpy's, without the (P, S, 2)
    temporary and the strided reduction, which were half of the bandwidth search.
    """
    P, S = w.shape
    out = np.empty((P, 2))
    for p in range(P):
        s0 = dx[p, 0, 0] * w[p, 0]
        s1 = dx[p, 0, 1] * w[p, 0]
        for j in range(1, S):
            s0 += dx[p, j, 0] * w[p, j]
            s1 += dx[p, j, 1] * w[p, j]
        out[p, 0] = s0
        out[p, 1] = s1
    return out


@njit(cache=True, parallel=True)
def local_linear_grid(x, y, bw0, bw1, q_axis, qd_axis, out):
    """:func:`local_linear_at` on the tensor grid ``q_axis x qd_axis`` (``out[i, k]`` at
    ``(q_axis[i], qd_axis[k])``), with the same operations in the same order.

    The product kernel's two factors depend on one axis each, so they are computed once per
    (axis node, sample) instead of once per (grid point, sample): 2 (nq + nqd) S
    exponentials instead of 2 nq nqd S.
    """
    n = x.shape[0]
    s0 = bw0 ** 2 * 2.0
    s1 = bw1 ** 2 * 2.0
    scale = bw0 * bw1 * n
    eq = np.empty((q_axis.size, n))
    ed = np.empty((qd_axis.size, n))
    for i in range(q_axis.size):
        for j in range(n):
            d0 = x[j, 0] - q_axis[i]
            eq[i, j] = _GAUSS_C * math.exp(-(d0 * d0) / s0)
    for k in range(qd_axis.size):
        for j in range(n):
            d1 = x[j, 1] - qd_axis[k]
            ed[k, j] = _GAUSS_C * math.exp(-(d1 * d1) / s1)
    for i in prange(q_axis.size):
        for kk in range(qd_axis.size):
            m00 = m01 = m02 = m11 = m12 = m22 = v0 = v1 = v2 = 0.0
            for j in range(n):
                d0 = x[j, 0] - q_axis[i]
                d1 = x[j, 1] - qd_axis[kk]
                k = eq[i, j] * ed[kk, j] / scale
                m00 += k
                m01 += d0 * k
                m02 += d1 * k
                m11 += d0 * d0 * k
                m12 += d0 * d1 * k
                m22 += d1 * d1 * k
                ky = k * y[j]
                v0 += ky
                v1 += d0 * ky
                v2 += d1 * ky
            out[i, kk] = _first_of_solve(m00, m01, m02, m11, m12, m22, v0, v1, v2)
