"""GMC surface from point values: local-linear kernel regression and the GMC score.

The reference fits ``statsmodels.nonparametric.KernelReg(var_type='cc', reg_type='ll',
bw='cv_ls')`` to the sample values and evaluates it on a ``grid_res x grid_res`` grid.
KernelReg loops in Python over every prediction point and every leave-one-out fold;
this module computes the same estimator with the same formulas, vectorised over
points (chunked, so memory stays O(chunk * S)), and selects the bandwidth by
minimising the same least-squares cross-validation objective with the same
optimiser (``scipy.optimize.fmin``'s Nelder–Mead, step for step, from the same
normal-reference start). The tests
compare bandwidths and grids against KernelReg itself.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..options import BANDWIDTH_METHODS, GRID_RES, Either, check_param, validate_params
from ._nelder_mead import fmin
from ._surface_kernels import WELL_CONDITIONED, weighted_middle_sums

__all__ = [
    "normal_reference_bandwidth",
    "local_linear",
    "cv_ls_loss",
    "select_bandwidth",
    "grid_axes",
    "kernel_surface",
    "average_height",
    "surface_memory",
    "check_surface_memory",
]

_GAUSS_C = 1.0 / np.sqrt(2 * np.pi)
_LOO_BUDGET = 1 << 20  # (fold, point) pairs per leave-one-out block


def _as_points(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise InputError(f"regression points must have shape (S, 2), got {x.shape}")
    return x


def normal_reference_bandwidth(x) -> np.ndarray:
    """``1.06 * std * n^(-1/(4+d))`` per column: KernelReg's starting bandwidth."""
    # Column-major, as KernelReg holds exog built from a list of columns or a
    # DataFrame: the std's summation order (and so the last bit of the start, which
    # the optimiser's path can amplify) follows the layout.
    x = np.asfortranarray(_as_points(x))
    return 1.06 * np.std(x, axis=0) * x.shape[0] ** (-1.0 / (4 + x.shape[1]))


def _kernel(bw, sq) -> np.ndarray:
    """KernelReg's product Gaussian kernel weights from squared differences ``sq`` (P, S, 2).

    The constant factors (1/sqrt(2 pi) per variable, 1/prod(bw)) cancel in exact
    arithmetic but are kept, in KernelReg's order of operations: the pseudo-inverse
    cuts singular values below 1e-15 of the largest, and for nearly-singular
    leave-one-out fits that decision, and so the chosen bandwidth, depends on the
    rounding.
    """
    k0 = _GAUSS_C * np.exp(-sq[:, :, 0] / (bw[0] ** 2 * 2.0))
    k1 = _GAUSS_C * np.exp(-sq[:, :, 1] / (bw[1] ** 2 * 2.0))
    return k0 * k1 / np.prod(bw)


def _solve_local_linear(bw, dx, sq, y) -> np.ndarray:
    """Local-linear estimates ``(pinv(M) V)[0]`` at P points.

    ``dx`` (P, S, 2) holds training minus prediction point, ``sq = dx ** 2``, ``y`` is
    (S,) or (P, S). Written as KernelReg._est_loc_linear, batched over the prediction
    points with the same reductions (so the same rounding).
    """
    nobs = dx.shape[1]
    ker = _kernel(bw, sq) / float(nobs)                     # (P, S)
    kd = dx * ker[:, :, None]
    M = np.empty((dx.shape[0], 3, 3))
    M[:, 0, 0] = ker.sum(axis=1)
    M[:, 0, 1:] = weighted_middle_sums(dx, ker)              # = kd.sum(axis=1), bit for bit
    M[:, 1:, 0] = M[:, 0, 1:]
    M[:, 1:, 1:] = np.matmul(dx.transpose(0, 2, 1), kd)
    ky = ker * y
    V = np.empty((dx.shape[0], 3))
    V[:, 0] = ky.sum(axis=1)
    V[:, 1:] = weighted_middle_sums(dx, ky)                  # = (dx * ky[..., None]).sum(axis=1)
    return _first_of_solve(M, V)


def _first_of_solve(M, V) -> np.ndarray:
    """``(pinv(M) V)[:, 0]`` for symmetric 3 x 3 matrices ``M`` (P, 3, 3) and ``V`` (P, 3).

    The first row of the inverse by cofactors where ``M`` is well conditioned (``|det M|``
    above ``WELL_CONDITIONED`` times ``M00 M11 M22``, its Hadamard bound); numpy's pseudo-inverse,
    as KernelReg uses everywhere, for the nearly singular rest, where its cut-off of small
    singular values decides the value. A batched LAPACK SVD per 3 x 3 matrix was three
    quarters of the bandwidth search; the bandwidths chosen are unchanged (tests compare
    them with KernelReg to 1e-10).
    """
    a, b, c = M[:, 0, 0], M[:, 0, 1], M[:, 0, 2]
    d, e, f = M[:, 1, 1], M[:, 1, 2], M[:, 2, 2]
    c00 = d * f - e * e
    c01 = c * e - b * f
    c02 = b * e - c * d
    det = a * c00 + b * c01 + c * c02
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (c00 * V[:, 0] + c01 * V[:, 1] + c02 * V[:, 2]) / det
    singular = ~(np.abs(det) > WELL_CONDITIONED * np.abs(a * d * f))
    if singular.any():
        out[singular] = np.matmul(np.linalg.pinv(M[singular]), V[singular][:, :, None])[:, 0, 0]
    return out


def local_linear(bw, x, y, at) -> np.ndarray:
    """Local-linear kernel regression estimate of ``y(x)`` at the points ``at``.

    Parameters
    ----------
    bw : (2,) bandwidths
    x : (S, 2) training points; y : (S,) values; at : (P, 2) evaluation points

    Returns
    -------
    (P,) estimates (0 where every kernel weight underflows, as KernelReg's pinv gives).
    """
    from ._surface_kernels import local_linear_at

    x = np.ascontiguousarray(_as_points(x))
    at = np.ascontiguousarray(_as_points(at))
    y = np.ascontiguousarray(y, dtype=np.float64)
    bw = np.asarray(bw, dtype=np.float64)
    out = np.empty(at.shape[0])
    # The same estimator, one grid point at a time in a jitted loop (float64 sums; the
    # differences from KernelReg's vectorised sums are rounding only, ~1e-10 at most).
    local_linear_at(x, y, float(bw[0]), float(bw[1]), at, out)
    return out


class _LeaveOneOut:
    """The n leave-one-out training sets, as KernelReg builds them, in blocks.

    Fold i trains on the other n - 1 points (gathered, not zero-weighted: a zero term
    would change the pairwise summation), negated as KernelReg does (exact, but it
    changes rounding in nearly-singular folds). Blocks are cached when small, so the
    optimiser's many evaluations only redo the bandwidth-dependent work.
    """

    def __init__(self, x, y):
        self.x, self.y, self.n = x, y, x.shape[0]
        self.chunk = max(1, _LOO_BUDGET // self.n)
        self.cache = [self._block(s) for s in self._starts()] if self.n <= 2048 else None

    def _starts(self):
        return range(0, self.n, self.chunk)

    def _block(self, start):
        rows = np.arange(start, min(self.n, start + self.chunk))
        j = np.arange(self.n - 1)
        others = np.where(j[None, :] < rows[:, None], j[None, :], j[None, :] + 1)
        dx = -self.x[others] - (-self.x[rows])[:, None, :]
        return rows, dx, dx ** 2, self.y[others]

    def loss(self, bw) -> float:
        bw = np.asarray(bw, dtype=np.float64)
        total = 0.0
        blocks = self.cache if self.cache is not None else (self._block(s) for s in self._starts())
        for rows, dx, sq, y_others in blocks:
            g = _solve_local_linear(bw, dx, sq, y_others)
            for r in (self.y[rows] - g) ** 2:               # sequential, as KernelReg sums
                total += r
        return total / self.n


def cv_ls_loss(bw, x, y) -> float:
    """Least-squares leave-one-out cross-validation loss ``mean((y_i - g_{-i}(x_i))^2)``."""
    return _LeaveOneOut(_as_points(x), np.asarray(y, dtype=np.float64)).loss(bw)


@validate_params({"method": BANDWIDTH_METHODS})
def select_bandwidth(x, y, method: str = "cv_ls") -> np.ndarray:
    """Bandwidths for (Q, Qd).

    ``'cv_ls'`` minimises :func:`cv_ls_loss` with Nelder-Mead (``scipy.optimize.fmin``,
    ``maxiter=maxfun=1000``) from :func:`normal_reference_bandwidth`, as KernelReg does.
    ``'aic'`` delegates to statsmodels' KernelReg (AIC Hurvich criterion).
    The returned bandwidths may be negative, as KernelReg's can be: only their
    squares enter the kernel.
    """
    x = _as_points(x)
    y = np.asarray(y, dtype=np.float64)
    if method == "cv_ls":
        h0 = normal_reference_bandwidth(x)
        return np.asarray(fmin(_LeaveOneOut(x, y).loss, h0, maxiter=1e3, maxfun=1e3),
                          dtype=np.float64)
    if method == "aic":
        from .._runtime.optional import require

        KernelReg = require("statsmodels.nonparametric.kernel_regression",
                            "the 'aic' bandwidth method").KernelReg
        return np.asarray(KernelReg(y, x, var_type="cc", reg_type="ll", bw="aic").bw)
    check_param("method", method, BANDWIDTH_METHODS)


def grid_axes(q_range, qd_range, grid_res: int = 100):
    """The evaluation grid: ``linspace`` of ``grid_res`` nodes over each range."""
    check_param("grid_res", grid_res, GRID_RES)
    return (np.linspace(q_range[0], q_range[1], int(grid_res)),
            np.linspace(qd_range[0], qd_range[1], int(grid_res)))


@validate_params({"grid_res": GRID_RES,
                  "bw": Either(BANDWIDTH_METHODS, lambda v: not isinstance(v, str), "two numbers")})
def kernel_surface(q, qd, values, *, q_range, qd_range, grid_res: int = 100, bw="cv_ls"):
    """Fit the local-linear regression of ``values`` on (q, qd) and evaluate it on a grid.

    Parameters
    ----------
    q, qd, values : (S,) sample points and GMC values there (finite).
    q_range, qd_range : (lo, hi) of the grid axes.
    grid_res : int, default 100
    bw : 'cv_ls', 'aic' or two numbers (Q, Qd bandwidths).

    Returns
    -------
    q_axis : (grid_res,) ; qd_axis : (grid_res,)
    z : (grid_res, grid_res) array, ``z[i, j]`` at ``(q_axis[i], qd_axis[j])``; NaN -> 0
        as in the reference.
    bw : (2,) bandwidths used.
    """
    x = np.column_stack([np.asarray(q, dtype=np.float64), np.asarray(qd, dtype=np.float64)])
    y = np.asarray(values, dtype=np.float64)
    if x.shape[0] != y.shape[0] or x.shape[0] < 3:
        raise InputError(f"kernel regression needs at least 3 points with values, got {y.shape[0]}")
    if isinstance(bw, str):
        bw = select_bandwidth(x, y, bw)
    else:
        bw = np.asarray(bw, dtype=np.float64).reshape(-1)
        if bw.size != 2 or not np.all(np.isfinite(bw)) or np.any(bw == 0):
            raise InputError(f"bandwidth must be two finite non-zero numbers, got {bw!r}")
    from ._surface_kernels import local_linear_grid

    q_axis, qd_axis = grid_axes(q_range, qd_range, grid_res)
    z = np.empty((q_axis.size, qd_axis.size))
    # = local_linear at every (q_axis[i], qd_axis[j]), the kernel's two factors computed per axis
    local_linear_grid(np.ascontiguousarray(x), np.ascontiguousarray(y), float(bw[0]), float(bw[1]),
                      q_axis, qd_axis, z)
    return q_axis, qd_axis, np.nan_to_num(z, nan=0.0), bw


def surface_memory(n_points: int, grid_res: int, n_surfaces: int = 1, bw="cv_ls") -> float:
    """Bytes (an estimate) of fitting and evaluating ``n_surfaces`` surfaces from ``n_points``
    point values each on a ``grid_res x grid_res`` grid.

    Bandwidth searches (side by side, one per core): the cached leave-one-out sets
    (5 x S^2 floats, S <= 2048) and a block's temporaries (about 1 float per (fold, point)
    pair with the cache, 11 without; ``_LOO_BUDGET`` pairs or S at least), as measured with
    tracemalloc (tests/test_safety.py compares the two). Grid: the
    per-axis kernel factors (2 x grid_res x S) and the surfaces' tables (about 10 x grid_res^2
    per surface, with the final concatenation).
    """
    import os

    S, r, G = int(n_points), int(grid_res), max(1, int(n_surfaces))
    search = 0.0
    if isinstance(bw, str):
        pairs = max(1, _LOO_BUDGET // max(S, 1)) * S
        per_search = 5.0 * S * S + 2.0 * pairs if S <= 2048 else 12.0 * pairs
        search = per_search * min(G, os.cpu_count() or 1)
    grid = 2.0 * r * S + 10.0 * r * r * G
    return 8.0 * max(search, grid)


def check_surface_memory(n_points: int, grid_res: int, n_surfaces: int = 1, bw="cv_ls") -> None:
    """:func:`~iqa_eval._runtime.resources.check_memory` of :func:`surface_memory`, before any of it is
    allocated (an error naming the sample count, the grid and the options that lower them)."""
    from .._runtime.resources import check_memory

    check_memory(surface_memory(n_points, grid_res, n_surfaces, bw),
                 f"GMC surface regression at {int(n_points):,} sample points on a {int(grid_res):,} x "
                 f"{int(grid_res):,} grid for {int(n_surfaces)} surface(s)",
                 hint="use fewer sample points or a coarser surface grid (grid_res)")


def average_height(q_axis, qd_axis, z) -> float:
    """Trapezoidal double integral of ``z`` (indexed [q, qd]) divided by the area."""
    q_axis = np.asarray(q_axis, dtype=np.float64)
    qd_axis = np.asarray(qd_axis, dtype=np.float64)
    z = np.asarray(z, dtype=np.float64)
    if z.shape != (q_axis.size, qd_axis.size):
        raise InputError(f"surface of shape {z.shape} does not match axes "
                         f"({q_axis.size}, {qd_axis.size})")
    area = (q_axis[-1] - q_axis[0]) * (qd_axis[-1] - qd_axis[0])
    if not area > 0:
        raise InputError("surface domain has zero area")
    inner = np.trapezoid(z, qd_axis, axis=1)
    return float(np.trapezoid(inner, q_axis) / area)
