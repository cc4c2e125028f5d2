"""The GMC engine: weighted sums over image pairs for every model, method and sample point.

For every unordered pair ``i < j`` and sample point ``(Q, Qd)`` the reference weight is
(``../shared/docs/gmc-reference.md``)::

    w_ij = a_i a_j b_ij c_i c_j,   a_i = exp(-(Q - l_i)^2 / (2 V_i)),   V_i = (k s_i)^2,
                                   b_ij = exp(-(Qd - |l_i - l_j|)^2 / (2 (V_i + V_j)))

and GMC needs ``sum w t`` for a handful of pair terms ``t`` (``x y``, ``x^2``, ``y^2``, rank
products, sign products, 1). Two facts make this fast while keeping it exact:

1. The weight does not depend on the predictions, and the terms do not depend on the sample
   point, so all sums at all points are one matrix product ``W @ T`` of a weight matrix
   (points x pairs) and a term matrix (pairs x sums), taken tile by tile (memory O(N S), never
   N x N): each term is computed once per pair, each weight (one exp) once per pair and point,
   and the model-independent sums (sum w, sum w y^2) once per point, not once per model.
2. ``a_i a_j b_ij`` depends on an image only through its MOS ``l_i`` and std ``V_i`` (``c_i c_j``
   goes into ``T``). Images with equal ``(l, V)`` form a *group*; every pair of groups has one
   weight, and its term row is the sum of the member pairs' terms, computed once with direct
   differences ``p_i - p_j``. This is an algebraic identity (only the order of additions
   changes). Datasets with rounded MOS and std have few groups (KADID-10k: 1,933 for 10,125
   images), which divides the exp and product work by ~27; with distinct values every group is a
   single image and nothing changes.

The weight of a group pair is computed as ``exp(log a_g + log a_h - (Qd - |d|)^2 / (2 v))`` with a
vectorised exp (one exp per weight instead of three). Zero std: an image with ``k s_i = 0`` has
``log a_i = -inf`` (weight 0) and a pair with ``v = 0`` gets ``1 / (2 v) = 0``, so no NaN or inf
arises anywhere (the caller warns).

Backends: ``'numba'`` (the CPU kernels in :mod:`._pair_kernels_numba`, grouped), ``'numpy'`` and
``'cupy'`` (the same product over image-pair tiles written once against an array namespace in
:mod:`._pair_kernels_array`), ``'dask'`` (the numba kernels as tasks on a cluster,
:mod:`._dask_backend`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._runtime.progress import Progress
from .._runtime.validation import finite_vector
from ..errors import InputError
from ..options import BACKENDS, GMC_METHODS, RANKS, Interval, check_param, describe_rule, validate_params

__all__ = ["PairSums", "pair_sums", "gmc_values", "available_backends"]

# the allowed values are declared once, in iqa_eval.options

#: memory for one weight tile (points x pairs) and one term tile (pairs x sums), in bytes
_TILE_BYTES = 16 * 2**20
#: most pairs per tile (numba: a tile's term matrix also stays within a core's L2 cache)
_TILE_PAIRS = 8192
#: at most this many distinct Qd values for the shared-Qd path (b factors kept per tile)
_SHARED_QD_MAX = 64
#: 'auto' picks CuPy (when importable and a GPU is present) from this many images on
_CUPY_AUTO_N = 40_000


@dataclass
class PairSums:
    """Weighted sums over unordered image pairs ``i < j`` for every model and sample point.

    Attributes
    ----------
    methods : tuple of str
        The methods the sums were computed for.
    sw : ndarray of shape (S,)
        ``sum w`` (KRCC denominator).
    ssign : ndarray of shape (M, S) or None
        ``sum w sign(x) sign(y)`` (KRCC numerator); None unless 'krcc' was asked for.
    sxy, sxx : dict of str to ndarray of shape (M, S)
        ``sum w x y`` and ``sum w x^2`` for 'plcc' (x, y = prediction and MOS differences) and
        'srocc' (x, y = rank differences).
    syy : dict of str to ndarray of shape (S,)
        ``sum w y^2`` for 'plcc' and 'srocc' (model-independent).
    rows : dict of str to ndarray, or None
        Per-image row sums with a trailing image axis N under the keys 'sw', 'ssign',
        'sxy:plcc', 'sxx:plcc', 'syy:plcc', 'sxy:srocc', 'sxx:srocc', 'syy:srocc':
        ``rows[key][..., s, i] = sum over j != i of w_ij t_ij``, so the totals are
        ``rows[key].sum(-1) / 2``. Only with ``row_sums=True``.
    """

    methods: tuple
    sw: np.ndarray
    ssign: np.ndarray | None
    sxy: dict
    sxx: dict
    syy: dict
    rows: dict | None = None

    def values(self) -> dict:
        """GMC value of each method: ``{method: ndarray (M, S)}``, NaN where a denominator is 0.

        PLCC and SROCC forms: ``sxy / sqrt(sxx syy)`` (computed as ``sqrt(sxx) sqrt(syy)`` so tiny
        sums do not underflow); KRCC form: ``ssign / sw``.
        """
        out = {}
        with np.errstate(divide="ignore", invalid="ignore"):
            for method in self.methods:
                if method == "krcc":
                    num, den = self.ssign, np.broadcast_to(self.sw, self.ssign.shape)
                else:
                    num = self.sxy[method]
                    den = np.sqrt(self.sxx[method]) * np.sqrt(self.syy[method])
                val = np.full(num.shape, np.nan)
                ok = den > 0
                val[ok] = num[ok] / den[ok]
                out[method] = val
        return out


def available_backends() -> list:
    """Backends usable here: 'numba', 'numpy', and 'cupy' if CuPy imports and sees a GPU."""
    names = ["numba", "numpy"]
    if _cupy() is not None:
        names.append("cupy")
    return names


@validate_params({"ranks": RANKS, "backend": BACKENDS})
def gmc_values(pred, mos, scaled_std, c, Q, Qd, *, methods=GMC_METHODS, ranks="dense",
               backend="auto", progress=False, client=None) -> dict:
    """GMC values of every model at every sample point: ``{method: ndarray (M, S)}``.

    Same as ``pair_sums(...).values()``; see :func:`pair_sums` for the arguments.

    Examples
    --------
    >>> import numpy as np
    >>> mos = np.array([1.0, 2.0, 3.0, 4.0])
    >>> pred = np.array([[0.1, 0.2, 0.4, 0.3]])
    >>> v = gmc_values(pred, mos, np.full(4, 0.5), np.ones(4), [2.5], [1.0], methods=("srocc",))
    >>> v["srocc"].shape
    (1, 1)
    """
    return pair_sums(pred, mos, scaled_std, c, Q, Qd, methods=methods, ranks=ranks,
                     backend=backend, progress=progress, client=client).values()


@validate_params({"ranks": RANKS, "backend": BACKENDS, "block_pairs": Interval(1, None, integral=True)})
def pair_sums(pred, mos, scaled_std, c, Q, Qd, *, methods=GMC_METHODS, ranks="dense",
              row_sums=False, backend="auto", progress=False, client=None,
              block_pairs=None) -> PairSums:
    """Weighted sums over all unordered image pairs, for every model and sample point.

    Parameters
    ----------
    pred : array-like of shape (M, N) or (N,)
        Predictions of M models, finite, already oriented (higher = better quality).
    mos : array-like of shape (N,)
        Mean opinion scores.
    scaled_std : array-like of shape (N,)
        ``k * s``: per-image MOS standard deviation times the std scale. Zeros are allowed
        (such images get weight 0).
    c : array-like of shape (N,)
        Distribution-regulator weights, finite and non-negative.
    Q, Qd : array-like of shape (S,)
        Sample points: quality level and absolute MOS difference.
    methods : sequence of {'srocc', 'plcc', 'krcc'}
        Correlation forms to compute sums for.
    ranks : {'dense', 'average'}
        Ranks for the SROCC form: dense ranks as the reference implementation (index in the
        sorted unique values), or average ranks as ``scipy.stats.rankdata``.
    row_sums : bool
        Also return per-image row sums (for uncertainty estimates); costs about twice the time
        and ``O(K S N)`` memory.
    backend : {'auto', 'numba', 'numpy', 'cupy', 'dask'}
        'auto' uses numba on the CPU, or CuPy for large sets when it imports and sees a GPU.
        'dask' runs the numba kernels as tasks on a Dask cluster (``pip install
        'iqa-eval[dask]'``); the result does not depend on the number of workers.
    progress : bool
        Draw a progress bar on stderr for runs longer than a second.
    client : distributed.Client, optional
        'dask' only: the cluster to run on. Default: the client of an open
        ``cluster_session``, else dask's default client, else a LocalCluster for this call.
    block_pairs : int, optional
        'dask' only: pairs per task (group pairs for the totals, image x group pairs for the
        row sums); default from the problem size alone, never from the cluster.

    Returns
    -------
    PairSums

    Examples
    --------
    >>> import numpy as np
    >>> mos = np.array([1.0, 2.0, 3.0])
    >>> s = pair_sums([[1.0, 3.0, 2.0]], mos, np.ones(3), np.ones(3), [2.0], [1.0],
    ...               methods=("krcc",))
    >>> bool(0 < s.sw[0])
    True
    """
    prob = _Problem(pred, mos, scaled_std, c, Q, Qd, methods=methods, ranks=ranks, row_sums=row_sums)
    name = _choose_backend(backend, prob.N)
    bar = Progress(1.0, "GMC pairs", enabled=bool(progress))
    with bar:
        if name == "numba":
            tot, rows = _run_numba(prob, row_sums, bar)
        elif name == "dask":
            from . import _dask_backend
            inp = _numba_inputs(prob)
            grid = _grid_args(prob, inp) if row_sums and _GRID_ROWS else None
            tot, rows = _dask_backend.pair_sums(prob, inp, _row_chunk(prob.K, inp.gs.size - 1),
                                                row_sums=row_sums, bar=bar, client=client,
                                                block_pairs=block_pairs, grid=grid)
        else:
            from . import _pair_kernels_array as _array_kernels
            xp = np if name == "numpy" else _cupy()
            tot, rows = _array_kernels.pair_sums(
                xp, prob.P, prob.R, prob.l, prob.rl, prob.V, prob.c, prob.A, prob.Qd,
                prob.lay, prob.K, row_sums=row_sums, tile_bytes=_TILE_BYTES,
                tile_pairs=_TILE_PAIRS, progress=bar)
    return prob.unpack(tot, rows)


# --- inputs ---------------------------------------------------------------------------------------


def _vector(values, name, n=None):
    """A finite float64 vector (of n values when n is given), or InputError (the API's one check)."""
    return finite_vector(values, name=name, n=n)


def _ranks(values, how):
    if how == "dense":
        return np.unique(values, return_inverse=True)[1].astype(np.float64).reshape(values.shape)
    from scipy.stats import rankdata
    return rankdata(values, method="average").astype(np.float64)


class _Problem:
    """Validated inputs, ranks, groups and the column layout of the sums."""

    def __init__(self, pred, mos, scaled_std, c, Q, Qd, *, methods, ranks, row_sums=False):
        if isinstance(methods, str):
            methods = (methods,)
        methods = tuple(dict.fromkeys(str(m).lower() for m in methods))
        unknown = [m for m in methods if m not in GMC_METHODS]
        if unknown or not methods:
            raise InputError(f"methods must be {describe_rule(GMC_METHODS)} (one or more); got {unknown or methods}")
        check_param("ranks", ranks, RANKS)
        self.methods = methods
        try:
            P = np.asarray(pred, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"pred must be numeric ({exc})") from None
        if P.ndim == 1:
            P = P[None, :]
        if P.ndim != 2:
            raise InputError(f"pred must have shape (models, images), got {P.shape}")
        bad = ~np.isfinite(P)
        if bad.any():
            m, i = np.argwhere(bad)[0]
            raise InputError(f"pred has {int(bad.sum())} non-finite value(s); first at model {m}, "
                             f"image {i} (drop or fill them before computing GMC)")
        # a model whose scores reach ~1e150 overflows the pair sums (squares of differences):
        # divided by a power of two (exact), which leaves every correlation unchanged
        big = np.abs(P).max(axis=1, initial=0.0)
        if np.any(big > 2.0 ** 500):
            P = P / np.where(big > 2.0 ** 500, 2.0 ** (np.floor(np.log2(np.maximum(big, 1.0))) - 1), 1.0)[:, None]
        M, N = P.shape
        if N < 2:
            raise InputError(f"GMC needs at least 2 images, got {N}")
        if M < 1:
            raise InputError("pred has no models")
        l = _vector(mos, "mos", N)
        sd = _vector(scaled_std, "scaled_std", N)
        cw = _vector(c, "c", N)
        Q = _vector(Q, "Q")
        Qd = _vector(Qd, "Qd", None)
        if Q.size != Qd.size:
            raise InputError(f"Q and Qd differ in length ({Q.size} vs {Qd.size})")
        if (sd < 0).any():
            raise InputError(f"scaled_std has negative values; first at index {int(np.argmax(sd < 0))}")
        if (cw < 0).any():
            raise InputError(f"c (regulator weights) has negative values; first at index "
                             f"{int(np.argmax(cw < 0))}")
        self.M, self.N, self.S = M, N, Q.size
        _check_memory(M, N, Q.size, methods, row_sums)
        self.l, self.c, self.Q, self.Qd = l, cw, Q, Qd
        self.V = sd * sd
        do_s = "srocc" in methods
        self.P = np.ascontiguousarray(P)
        self.R = (np.ascontiguousarray(np.stack([_ranks(p, ranks) for p in P])) if do_s
                  else np.zeros((1, 1)))
        self.rl = _ranks(l, ranks) if do_s else np.zeros(N)
        # log a_i at every point; -inf (weight 0) for zero std
        with np.errstate(divide="ignore", invalid="ignore"):
            A = -((Q[:, None] - l[None, :]) ** 2) / (2.0 * self.V[None, :])
        A[:, self.V == 0.0] = -np.inf
        self.A = np.ascontiguousarray(A)
        self._layout()

    def _layout(self):
        """Columns of the term matrix: key-major so each key's model block is one slice."""
        M = self.M
        col = 1
        lay = np.full(7, -1, dtype=np.int64)
        self.keys = {"sw": (0, None)}
        for q, (key, method) in enumerate((("syy", "plcc"), ("syy", "srocc"))):
            if method in self.methods:
                lay[q] = col
                self.keys[f"{key}:{method}"] = (col, None)
                col += 1
        blocks = (("sxy", "plcc"), ("sxx", "plcc"), ("sxy", "srocc"), ("sxx", "srocc"),
                  ("ssign", "krcc"))
        for q, (key, method) in enumerate(blocks):
            if method in self.methods:
                lay[2 + q] = col
                self.keys[key if key == "ssign" else f"{key}:{method}"] = (col, M)
                col += M
        self.lay, self.K = lay, col

    def groups(self):
        """Images with equal (MOS, std) share every weight: sort them into contiguous groups."""
        key = np.stack([self.l, self.V], axis=1)
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        order = np.argsort(inverse, kind="stable")
        gs = np.zeros(first.size + 1, dtype=np.int64)
        gs[1:] = np.cumsum(np.bincount(inverse, minlength=first.size))
        return order, gs, first

    def unpack(self, tot, rows) -> PairSums:
        def take(arr, key):
            col, m = self.keys[key]
            return arr[col] if m is None else arr[col:col + m]

        totT = np.ascontiguousarray(np.asarray(tot).T)  # (K, S)
        sxy, sxx, syy = {}, {}, {}
        for method in ("plcc", "srocc"):
            if method in self.methods:
                sxy[method] = take(totT, f"sxy:{method}")
                sxx[method] = take(totT, f"sxx:{method}")
                syy[method] = take(totT, f"syy:{method}")
        ssign = take(totT, "ssign") if "krcc" in self.methods else None
        out_rows = None
        if rows is not None:
            out_rows = {key: take(rows, key) for key in self.keys}
        return PairSums(self.methods, take(totT, "sw"), ssign, sxy, sxx, syy, out_rows)


# --- backends -------------------------------------------------------------------------------------


def _check_memory(M, N, S, methods, row_sums) -> None:
    """Estimate the engine's largest arrays before allocating them: log a_i and its
    per-group copies (3 x S x N), per-thread accumulators (threads x S x K) and, for
    row sums, K x S x N."""
    import os

    from .._runtime.resources import check_memory

    K = 1 + 2 * len(methods) + 2 * M * len(methods)
    threads = os.cpu_count() or 1
    nbytes = 8.0 * S * (3 * N + threads * K + (K * N if row_sums else 0))
    check_memory(nbytes, f"GMC at {S:,} sample points for {N:,} images and {M} model(s)",
                 hint="use fewer sample points (samples=, or a coarser grid=)")


def _cupy():
    """The cupy module if it imports and sees a GPU, else None."""
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() > 0:
            return cupy
    except Exception:  # ImportError, or CUDA errors when there is no driver/GPU
        return None
    return None


def _choose_backend(backend, n):
    check_param("backend", backend, BACKENDS)
    if backend == "cupy":
        if _cupy() is None:
            raise InputError("backend 'cupy' needs CuPy and a CUDA GPU (pip install "
                             "'iqa-eval[gpu]'); neither is usable here - use 'numba' or 'auto'")
        return "cupy"
    if backend == "auto":
        return "cupy" if n >= _CUPY_AUTO_N and _cupy() is not None else "numba"
    return backend


@dataclass
class _NumbaInputs:
    """The arrays the numba kernels take: images sorted into groups, per-group and per-point
    arrays, and the tiling of the group pairs (shared by the numba and dask backends)."""

    order: np.ndarray    # original index of each sorted image
    gs: np.ndarray       # group g = sorted images gs[g] .. gs[g+1]-1
    grp: np.ndarray      # group of each sorted image
    c: np.ndarray
    P: np.ndarray
    R: np.ndarray
    ls: np.ndarray       # MOS and MOS ranks of the sorted images (row sums)
    rls: np.ndarray
    lg: np.ndarray       # per group: MOS, std^2, MOS rank
    Vg: np.ndarray
    rlg: np.ndarray
    wargs: tuple         # (A, Qd, E, Qdu, qidx, shared): the points, see tile_sums
    lay: np.ndarray
    rowoff: np.ndarray   # group pairs are numbered row by row: row g starts at rowoff[g]
    B: int               # group pairs per tile

    @property
    def n_tiles(self) -> int:
        return int(-(-self.rowoff[-1] // self.B))

    def tile_args(self) -> tuple:
        """Arguments of ``tile_sums(t0, t1, *args, acc)``."""
        return (self.B, self.rowoff, self.gs, self.grp, self.c, self.P, self.R, self.lg, self.rlg,
                self.Vg, *self.wargs, self.lay)

    def row_args(self, dest) -> tuple:
        """Arguments of ``group_row_sums(g0, g1, *args, q_chunk, rows)``."""
        return (self.gs, self.grp, dest, self.c, self.P, self.R, self.ls, self.rls, self.lg,
                self.Vg, *self.wargs, self.lay)


def _numba_inputs(prob) -> _NumbaInputs:
    order, gs, first = prob.groups()
    G, K = gs.size - 1, prob.K
    P = np.ascontiguousarray(prob.P[:, order])
    R = np.ascontiguousarray(prob.R[:, order]) if prob.R.shape[1] == prob.N else P
    A = np.ascontiguousarray(prob.A[:, first])
    Qd = prob.Qd
    # Points sharing Qd values (a regular grid): b once per distinct Qd, weights as products
    Qdu, qidx = np.unique(Qd, return_inverse=True)
    qidx = np.ascontiguousarray(qidx.reshape(-1), dtype=np.int64)
    shared = bool(Qdu.size <= _SHARED_QD_MAX and 2 * Qdu.size <= prob.S)
    E = np.exp(A) if shared else A
    rowoff = np.zeros(G + 1, dtype=np.int64)
    rowoff[1:] = np.cumsum(G - np.arange(G, dtype=np.int64))
    return _NumbaInputs(
        order=order, gs=gs, grp=np.repeat(np.arange(G, dtype=np.int64), np.diff(gs)),
        c=np.ascontiguousarray(prob.c[order]), P=P, R=R,
        ls=np.ascontiguousarray(prob.l[order]), rls=np.ascontiguousarray(prob.rl[order]),
        lg=prob.l[first], Vg=prob.V[first], rlg=np.ascontiguousarray(prob.rl[first]),
        wargs=(A, Qd, E, Qdu, qidx, shared), lay=prob.lay, rowoff=rowoff,
        B=_fused_tile_pairs(K))


def _row_chunk(K, G) -> int:
    """Images of one group whose term matrices (K x G each) are held at once."""
    return int(max(1, _TILE_BYTES // (8 * K * G)))


def _run_numba(prob, row_sums, bar):
    from . import _pair_kernels_numba as nk
    import numba

    inp = _numba_inputs(prob)
    if row_sums:
        return _run_numba_rows(nk, prob, inp, bar)
    n_tiles = inp.n_tiles
    skip = _skip_flags(nk, prob, inp) if _SKIP_REL > 0 else np.zeros((0, 0), dtype=np.bool_)
    acc = np.zeros((numba.config.NUMBA_NUM_THREADS, prob.S, prob.K))
    # a few calls (one parallel region each) so the progress bar can move
    per_call = max(1, -(-n_tiles // 50))
    bar.total = float(n_tiles)
    with numba.parallel_chunksize(1):  # tiles handed out one by one: robust to a loaded machine
        for t0 in range(0, n_tiles, per_call):
            t1 = min(n_tiles, t0 + per_call)
            nk.tile_sums(t0, t1, *inp.tile_args(), skip, acc)
            bar.update(t1 - t0)
    return acc.sum(axis=0), None


#: tiles whose weight at a point is provably below this share of the point's total weight (all
#: skipped tiles together) are left out there; 0 computes every tile (derivation:
#: _pair_kernels_numba, "provably negligible tiles"; docs/performance.md)
_SKIP_REL = 1e-16
#: share of tile-points skipped by the last numba run (benchmarks report it)
last_skipped_share = 0.0


def _skip_flags(nk, prob, inp):
    """``(tiles, points)`` flags of the provably negligible tiles (:func:`tile_skip_flags`)."""
    global last_skipped_share
    A = inp.wargs[0]
    skip = np.zeros((inp.n_tiles, prob.S), dtype=np.bool_)
    nk.tile_skip_flags(inp.n_tiles, inp.B, inp.rowoff, inp.gs, inp.c, inp.lg, inp.Vg, A, prob.Qd,
                       _SKIP_REL, skip)
    last_skipped_share = float(skip.mean()) if skip.size else 0.0
    if not skip.any():
        return np.zeros((0, 0), dtype=np.bool_)
    return skip


def _fused_tile_pairs(K):
    """Pairs per tile so the tile's term matrix (K x B) stays in a core's L2 cache (~512 kB)."""
    return int(min(_TILE_PAIRS, max(256, (2**19 // (8 * K)) // 8 * 8)))


def _grid_args(prob, inp):
    """``(Eu, Qdu, qi, qdi)`` of the grid row sums when the points lie on a grid of few Q levels
    x few shared Qd values (at most twice as many grid nodes as points), else None."""
    A, Qd, E, Qdu, qidx, shared = inp.wargs
    if not shared:
        return None
    Qu, first, qi = np.unique(prob.Q, return_index=True, return_inverse=True)
    if Qu.size * Qdu.size > 2 * prob.S:
        return None
    nq_pad = -(-Qu.size // 4) * 4
    Eu = np.zeros((nq_pad, E.shape[1]))
    Eu[:Qu.size] = E[first]              # exp(log a) depends on the point only through Q
    return Eu, Qdu, np.ascontiguousarray(qi.reshape(-1), dtype=np.int64), qidx


#: use the grid row sums when the points allow (tests switch it off to compare the two paths)
_GRID_ROWS = True


def _run_numba_rows(nk, prob, inp, bar):
    import numba

    G = inp.gs.size - 1
    rows = np.zeros((prob.K, prob.S, prob.N))
    q_chunk = _row_chunk(prob.K, G)
    per_call = max(1, -(-G // 50))
    bar.total = float(G)
    grid = _grid_args(prob, inp) if _GRID_ROWS else None
    with numba.parallel_chunksize(1):
        for g0 in range(0, G, per_call):
            g1 = min(G, g0 + per_call)
            if grid is not None:
                nk.group_row_sums_grid(g0, g1, inp.gs, inp.grp, inp.order, inp.c, inp.P, inp.R, inp.ls,
                                       inp.rls, inp.lg, inp.Vg, *grid, inp.lay, q_chunk, rows)
            else:
                nk.group_row_sums(g0, g1, *inp.row_args(inp.order), q_chunk, rows)
            bar.update(g1 - g0)
    tot = rows.sum(axis=2).T / 2.0
    return tot, rows
