"""Public GMC API: point values, surfaces and scores as tidy pandas tables.

Three steps, each usable alone::

    points  = gmc_points(predictions, mos, std=std)              # GMCPoints: .table, .notes
    surface = gmc_surface(points, mos_range=(mos.min(), mos.max()))  # GMCSurface: .table, .bandwidths
    scores  = gmc_score(surface)                                 # DataFrame model, method, gmc

The tables have the columns ``model, method, Q, Qd, value``; each step also accepts such a
DataFrame in place of the previous step's result.

or all at once with :func:`correlation_surfaces`, which returns a :class:`GMCResult`.
Method names are lower-case in arguments (``'srocc'``) and upper-case in tables
(``'SROCC'``); the reference files spell the rank form 'SRCC'.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import warnings

import numpy as np
import pandas as pd

from .._runtime.validation import finite_vector
from ..errors import InputError, warn
from ..options import BACKENDS, BANDWIDTH_METHODS, GMC_METHODS, GRID_RES, SEED, Either, Interval, check_param, validate_params
from . import engine
from .options import GMCOptions
from .sampling import check_samples, grid_values, latin_hypercube, read_sample_file, regular_grid
from .kernel_regression import average_height, check_surface_memory, grid_axes, kernel_surface
from .support import effective_pairs, surface_support
from .weights import beta_std, check_mos, check_per_image, distribution_weights

__all__ = ["GMCPoints", "GMCSurface", "GMCResult", "gmc_inputs", "gmc_points", "gmc_surface", "gmc_score",
           "correlation_surfaces"]

POINT_COLUMNS = ["model", "method", "Q", "Qd", "value"]


# --- inputs ------------------------------------------------------------------------------


def _method_list(methods) -> list:
    if isinstance(methods, str):
        methods = [methods]
    out = []
    for m in methods:
        name = check_param("methods", str(m).strip().lower(), GMC_METHODS)
        if name not in out:
            out.append(name)
    if not out:
        raise InputError("no GMC method given")
    return out


def _bandwidths(value) -> bool:
    """``bw_method`` given as fixed (Q, Qd) bandwidths, or None (the points are the grid)."""
    return value is None or not isinstance(value, str)


_BW_RULE = Either(BANDWIDTH_METHODS, _bandwidths, "two numbers or None")


def _model_matrix(predictions, n=None):
    """(names, (M, N) float64 matrix) from a dict, DataFrame, Series or array."""
    if isinstance(predictions, pd.DataFrame):
        items = [(str(c), predictions[c]) for c in predictions.columns]
    elif isinstance(predictions, pd.Series):
        items = [(str(predictions.name or "model"), predictions)]
    elif isinstance(predictions, dict):
        items = [(str(k), v) for k, v in predictions.items()]
    else:
        arr = np.asarray(predictions, dtype=np.float64)
        if arr.ndim == 1:
            items = [("model", arr)]
        elif arr.ndim == 2:
            items = [(f"model{i}", row) for i, row in enumerate(arr)]
        else:
            raise InputError(f"predictions must be 1-D or 2-D (models x images), got shape {arr.shape}")
    if not items:
        raise InputError("no predictions given")
    names, rows = [], []
    for name, values in items:
        v = finite_vector(values, name=f"model {name!r}", n=n, noun="predictions",
                          hint="drop incomplete rows first (Dataset.complete)")
        names.append(name)
        rows.append(v)
    return names, np.ascontiguousarray(np.vstack(rows))


@dataclass(frozen=True, eq=False)
class GMCInputs:
    """Everything the engine needs, resolved from the user's options, with notes."""

    models: list
    pred: np.ndarray          # (M, N)
    mos: np.ndarray           # (N,)
    std: np.ndarray           # (N,) unscaled
    scaled_std: np.ndarray    # (N,) std_scale * std
    c: np.ndarray             # (N,) regulator weights
    samples: pd.DataFrame     # Q, Qd
    config: dict
    notes: list = field(default_factory=list)


@validate_params({"seed": SEED})
def gmc_inputs(predictions, mos=None, *, std=None, weights=None, seed=0,
               options: GMCOptions | None = None, **option_values) -> GMCInputs:
    """Resolve std, regulator weights and sample points (see :func:`gmc_points`).

    Parameters
    ----------
    predictions, mos, std, weights, seed
        As in :func:`gmc_points`.
    options : GMCOptions, optional
        std, regulator and sampling options; ``**option_values`` (GMCOptions field names,
        e.g. ``std_scale=2``) replace single fields.

    Returns
    -------
    GMCInputs
        The arrays the engine takes, the configuration that produced them and the notes
        (e.g. a std estimated from the Beta model).

    Examples
    --------
    >>> from iqa_eval.data.simulation import simulate_study
    >>> df = simulate_study(100, seed=0)
    >>> gin = gmc_inputs({"precise": df["precise"]}, df["mos"], std=df["std"], samples=8)
    >>> gin.pred.shape, len(gin.samples), gin.config["regulator"]
    ((1, 100), 8, 'gaussian')
    """
    from ..data.dataset import Dataset

    o = GMCOptions.resolve(options, option_values)
    samples, regulator, std_scale, std_phi = o.samples, o.regulator, o.std_scale, o.std_phi
    ks, sigma, plus, lds_exact_counts = o.ks, o.sigma, o.plus, o.lds_exact_counts
    notes = []
    if isinstance(predictions, Dataset):
        data = predictions
        if mos is None:
            mos = data.mos
        if std is None:
            std = data.std
        notes += list(data.notes)
        predictions = data.predictions
    if mos is None:
        raise InputError("mos is required")
    l = check_mos(mos)
    if l.size < 3:
        raise InputError(f"GMC needs at least 3 images, got {l.size}")
    models, pred = _model_matrix(predictions, l.size)

    if std is None:
        s = beta_std(l, phi=std_phi)
        std_source = f"beta(phi={std_phi:g})"
        notes.append(f"no per-image std given: std estimated from the Beta model (phi={std_phi:g})")
    else:
        s = check_per_image(std, l.size, name="std")
        std_source = "given"

    if weights is not None:
        c = check_per_image(weights, l.size, name="weights")
        used = "given"
    else:
        used = regulator if regulator != "auto" else ("gaussian" if std is not None else "lds")
        c = distribution_weights(l, std=s if used == "gaussian" else None, regulator=used,
                                 ks=ks, sigma=sigma, plus=plus, lds_exact_counts=lds_exact_counts)

    scaled = std_scale * s
    n_zero = int(np.count_nonzero(scaled == 0))
    if n_zero:
        msg = (f"{n_zero} image(s) have std 0 and were given zero weight in every GMC sum"
               + (" (the Beta model gives std 0 at the lowest and highest MOS)" if std is None else ""))
        warn(msg)
        notes.append(msg)

    if isinstance(samples, (int, np.integer)) and not isinstance(samples, bool):
        pts = latin_hypercube(l, int(samples), seed=seed)
        sample_source = f"latin hypercube, {int(samples)} points, seed {seed}"
    elif isinstance(samples, (str, Path)):
        pts = read_sample_file(samples)
        sample_source = f"file {samples}"
    else:
        pts = check_samples(samples)
        sample_source = f"{len(pts)} given points"
    config = dict(models=models, std=std_source, std_scale=float(std_scale), regulator=used,
                  lds_counts="exact" if lds_exact_counts else "truncated",
                  ks=int(ks), sigma=float(sigma), plus=float(plus), samples=sample_source,
                  mos_range=(float(l.min()), float(l.max())))
    return GMCInputs(models, pred, l, s, scaled, c, pts, config, notes)


def _tidy(models, methods, Q, Qd, values) -> pd.DataFrame:
    """Long table in the reference order: model, then method, then point."""
    S = len(Q)
    frames = []
    for mi, model in enumerate(models):
        for method in methods:
            frames.append(pd.DataFrame({"model": model, "method": method.upper(), "Q": Q, "Qd": Qd,
                                        "value": values[method][mi]}))
    out = pd.concat(frames, ignore_index=True)
    assert len(out) == len(models) * len(methods) * S
    return out


def _compute_points(inputs: GMCInputs, methods, ranks, backend, progress, client=None) -> pd.DataFrame:
    methods = _method_list(methods)
    Q = inputs.samples["Q"].to_numpy(dtype=np.float64)
    Qd = inputs.samples["Qd"].to_numpy(dtype=np.float64)
    sums = engine.pair_sums(inputs.pred, inputs.mos, inputs.scaled_std, inputs.c, Q, Qd,
                            methods=tuple(methods), ranks=ranks, backend=backend,
                            progress=progress, client=client)
    table = _tidy(inputs.models, methods, Q, Qd, sums.values())
    # the pair support of every point (one more pass of sum w^2; see gmc.support)
    n_eff = effective_pairs(inputs.mos, inputs.scaled_std, inputs.c, Q, Qd, sw=sums.sw,
                            backend=backend, client=client)
    table["n_eff"] = np.tile(n_eff, len(inputs.models) * len(methods))
    return table


def _support(table, min_pairs) -> pd.DataFrame:
    """``table`` with its ``supported`` column: ``n_eff >= min_pairs``."""
    table["supported"] = table["n_eff"].to_numpy(dtype=np.float64) >= float(min_pairs)
    return table


def _support_note(table, min_pairs, what="sample points"):
    """One note saying how many points are masked, or None."""
    nodes = table.drop_duplicates(["Q", "Qd"])
    bad = int((~nodes["supported"]).sum())
    if not bad:
        return None
    return (f"{bad} of {len(nodes)} {what} have fewer than {float(min_pairs):g} effective image pairs "
            f"(min_pairs): masked (blank in figures, supported=False in tables)")


@dataclass(frozen=True, eq=False)
class GMCPoints:
    """Result of :func:`gmc_points`.

    Attributes
    ----------
    table : DataFrame
        ``model, method, Q, Qd, value`` (method upper-case), in the reference order: model,
        then method, then sample point.
    notes : tuple of str
        Recoveries applied to the inputs (std estimated, rows dropped, ...).
    config : dict
        The resolved settings (std source, regulator, samples, ``mos_range``, ...).
    """

    table: pd.DataFrame
    notes: tuple = ()
    config: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class GMCSurface:
    """Result of :func:`gmc_surface`.

    Attributes
    ----------
    table : DataFrame
        ``model, method, Q, Qd, value`` on the regular grid (Q slowest).
    bandwidths : DataFrame
        ``model, method, bw_Q, bw_Qd`` of each regression (NaN without regression).
    notes : tuple of str
        Undefined values and how they were treated.
    """

    table: pd.DataFrame
    bandwidths: pd.DataFrame
    notes: tuple = ()


@validate_params({"seed": SEED, "backend": BACKENDS})
def gmc_points(predictions, mos=None, *, std=None, weights=None, seed=0,
               methods=GMC_METHODS, options: GMCOptions | None = None, backend: str = "auto",
               progress: bool = False, client=None, **option_values) -> GMCPoints:
    """GMC value of every model and method at every sample point.

    Parameters
    ----------
    predictions : dict of name -> (N,), DataFrame (one column per model), (N,) or (M, N) array,
        or a :class:`~iqa_eval.data.dataset.Dataset` (then ``mos`` and ``std`` default to its own).
        Finite, oriented so that higher means better quality.
    mos : array-like of shape (N,)
    std : array-like of shape (N,), optional
        Per-image MOS std. When None, estimated from the Beta model with ``std_phi`` (a note
        says so).
    weights : array-like of shape (N,), optional
        Distribution-regulator weights; override ``options.regulator``.
    seed : int, default 0
        Seed of the Latin-hypercube sample points.
    methods : sequence of {'srocc', 'plcc', 'krcc'}
    options : GMCOptions, optional
        ``samples`` (an int draws that many Latin-hypercube points with ``seed``; a path is
        read with :func:`~iqa_eval.gmc.sampling.read_sample_file`; or a DataFrame with
        columns Q, Qd), ``std_scale``, ``std_phi`` (Beta-model precision when ``std`` is
        None), ``regulator``, ``ks``, ``sigma``, ``plus`` and ``ranks``; see
        :class:`GMCOptions`.
    **option_values
        GMCOptions fields given as keywords (``samples=50, std_scale=2``): replace those of
        ``options``.
    backend : {'auto', 'numba', 'numpy', 'cupy', 'dask'}
    progress : bool
        Progress bar on stderr for long runs.
    client : distributed.Client, optional
        The Dask cluster of ``backend='dask'`` (see :func:`iqa_eval.gmc.engine.pair_sums`).

    Returns
    -------
    GMCPoints
        ``.table``: the values, columns ``model, method, Q, Qd, value, n_eff, supported`` (method
        upper-case); ``.notes``: the recoveries applied; ``.config``: the resolved settings.

    Examples
    --------
    >>> import numpy as np
    >>> mos = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    >>> pts = gmc_points({"a": mos ** 2}, mos, std=np.ones(5), samples=[[3.0, 1.0]],
    ...                  methods=["srocc"])
    >>> round(float(pts.table.value.iloc[0]), 12)
    1.0
    """
    options = GMCOptions.resolve(options, option_values)
    inputs = gmc_inputs(predictions, mos, std=std, weights=weights, seed=seed, options=options)
    points = _support(_compute_points(inputs, methods, options.ranks, backend, progress, client),
                      options.min_pairs)
    config = dict(inputs.config, methods=_method_list(methods), ranks=options.ranks,
                  min_pairs=float(options.min_pairs))
    note = _support_note(points, options.min_pairs)
    return GMCPoints(points, tuple(inputs.notes) + ((note,) if note else ()), config)


# --- surface and score -------------------------------------------------------------------


def _check_points(points) -> pd.DataFrame:
    if isinstance(points, (GMCPoints, GMCSurface)):
        points = points.table
    if not isinstance(points, pd.DataFrame):
        raise InputError(f"points must be a DataFrame with columns {', '.join(POINT_COLUMNS)}")
    missing = [c for c in POINT_COLUMNS if c not in points.columns]
    if missing:
        raise InputError(f"points lack column(s) {', '.join(missing)}")
    if points.empty:
        raise InputError("no points")
    return points


def _search_bandwidths(groups, bw_method) -> dict:
    """Cross-validated bandwidths of every surface, the searches run side by side on the cores.

    Each search is independent and deterministic (the same bandwidths as one after the
    other); its numpy and numba steps release the GIL, so two threads keep two cores busy.
    """
    if bw_method != "cv_ls":
        return {}
    import os
    from concurrent.futures import ThreadPoolExecutor

    from .kernel_regression import select_bandwidth

    jobs = {}
    for key, rows in groups:
        good = rows[np.isfinite(rows["value"].to_numpy(dtype=np.float64))]
        if len(good) >= 3:
            jobs[key] = (np.column_stack([good["Q"].to_numpy(dtype=np.float64),
                                          good["Qd"].to_numpy(dtype=np.float64)]),
                         good["value"].to_numpy(dtype=np.float64))
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        found = pool.map(lambda job: select_bandwidth(*job, method="cv_ls"), jobs.values())
        return dict(zip(jobs, found))


#: a fitted surface may pass the range of its points by this share of their span before a note
#: says it left it: a local-linear fit follows the trend past the extreme points into corners
#: without points (ordinary cv_ls surfaces go ~20% of the span beyond), but not ten times as far
RANGE_SLACK = 1.0


def _range_note(z, values):
    """A note when a fitted surface leaves the range of the point values it was fitted to by more
    than RANGE_SLACK of their span: a local-linear fit extrapolates where its bandwidths are too
    small or a corner has no points, giving values no point supports (e.g. 0.07 from points in
    0.89-0.97). The surface is kept as fitted (the reference's KernelReg surface)."""
    vlo, vhi = float(values.min()), float(values.max())
    slack = RANGE_SLACK * max(vhi - vlo, 1e-12)
    finite = z[np.isfinite(z)]
    bad = (z < vlo - slack) | (z > vhi + slack)
    if not bad.any():
        return None
    return (f"the fitted surface leaves the range of its points [{vlo:.4g}, {vhi:.4g}] at {int(bad.sum())} "
            f"of {z.size} grid nodes (values {finite.min():.4g} to {finite.max():.4g}): the regression "
            f"extrapolates there and the score includes it; more sample points or bw_method='cv_ls' "
            f"avoid this")


def _with_support(surface, points, mos_range):
    """``surface`` with the ``n_eff``/``supported`` of its nearest sample point, when the points
    carry them (see :func:`~iqa_eval.gmc.support.surface_support`)."""
    points = _check_points(points)
    if "n_eff" not in points.columns:
        return surface
    support = surface_support(surface, points, mos_range)
    for col in support.columns:
        surface[col] = support[col].to_numpy()
    return surface


def _surfaces(points, mos_range, grid_res, bw_method):
    """(surface table, bandwidth table, notes)."""
    points = _check_points(points)
    lo, hi = (float(v) for v in mos_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise InputError(f"mos_range must be (min, max) with max > min, got {mos_range!r}")
    frames, bws, notes = [], [], []
    groups = list(points.groupby(["model", "method"], sort=False))
    if bw_method is not None:
        check_surface_memory(max(len(rows) for _, rows in groups), grid_res, len(groups), bw_method)
    searched = _search_bandwidths(groups, bw_method)
    for (model, method), rows in groups:
        if bw_method is None:                  # exact grid: the points are the surface
            q, qd, z = grid_values(rows)
            n_nan = int(np.isnan(z).sum())
            if n_nan == z.size:                # nothing defined: no surface, no score
                notes.append(f"{model} {method}: undefined (every grid value has all weights 0); "
                             "its surface and score are NaN")
            elif n_nan:
                notes.append(f"{model} {method}: {n_nan} undefined grid value(s) (all weights 0) "
                             "counted as 0, as the reference does")
                z = np.nan_to_num(z, nan=0.0)
            bw = (np.nan, np.nan)
        else:
            ok = np.isfinite(rows["value"].to_numpy(dtype=np.float64))
            if not ok.all():
                notes.append(f"{model} {method}: {int((~ok).sum())} undefined point value(s) "
                             "(all weights 0) left out of the regression")
            good = rows[ok]
            if len(good) < 3:
                notes.append(f"{model} {method}: undefined ({len(good)} defined point value(s); a "
                             "surface needs 3); its surface and score are NaN")
                q, qd = grid_axes((lo, hi), (0.0, hi - lo), grid_res)
                z, bw = np.full((q.size, qd.size), np.nan), (np.nan, np.nan)
            else:
                # the regression's own overflow/0-division warnings (statsmodels' for 'aic') are
                # not the user's business: what they mean for the result is checked just below
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore", RuntimeWarning)
                    warnings.simplefilter("ignore", FutureWarning)
                    q, qd, z, bw = kernel_surface(good["Q"], good["Qd"], good["value"],
                                                  q_range=(lo, hi), qd_range=(0.0, hi - lo),
                                                  grid_res=grid_res,
                                                  bw=searched.get((model, method), bw_method))
                note = _range_note(z, good["value"].to_numpy(dtype=np.float64))
                if note:
                    notes.append(f"{model} {method}: {note}")
        qq, dd = np.meshgrid(q, qd, indexing="ij")
        frames.append(pd.DataFrame({"model": model, "method": method, "Q": qq.ravel(),
                                    "Qd": dd.ravel(), "value": z.ravel()}))
        bws.append({"model": model, "method": method, "bw_Q": float(bw[0]), "bw_Qd": float(bw[1])})
    return pd.concat(frames, ignore_index=True), pd.DataFrame(bws), notes


@validate_params({"grid_res": GRID_RES, "bw_method": _BW_RULE})
def gmc_surface(points, *, mos_range, grid_res: int = 100, bw_method="cv_ls") -> GMCSurface:
    """Smooth GMC surfaces on a ``grid_res x grid_res`` grid from point values.

    Parameters
    ----------
    points : GMCPoints or DataFrame
        The result of :func:`gmc_points`, or a table with its columns ``model, method, Q, Qd, value``.
    mos_range : (min, max) of the MOS; the grid covers ``[min, max] x [0, max - min]``.
    grid_res : int, default 100
    bw_method : 'cv_ls', 'aic', two numbers, or None
        Bandwidth of the local-linear kernel regression: least-squares cross-validation
        (the reference), AIC, or fixed (Q, Qd) bandwidths. None: the points already form a
        regular grid (``regular_grid`` sampling) and are used as they are, without regression.

    Returns
    -------
    GMCSurface
        ``.table``: columns ``model, method, Q, Qd, value`` (and ``n_eff, supported`` when the
        points carry them) on the grid (undefined values become 0, as in the reference); ``.bandwidths``: ``model, method, bw_Q, bw_Qd``;
        ``.notes``: the recoveries.

    Examples
    --------
    >>> from iqa_eval.data.simulation import simulate_study
    >>> df = simulate_study(200, seed=0)
    >>> points = gmc_points({"precise": df["precise"]}, df["mos"], std=df["std"],
    ...                     samples=30, methods=["srocc"])
    >>> surf = gmc_surface(points, mos_range=(df["mos"].min(), df["mos"].max()), grid_res=10)
    >>> len(surf.table), list(surf.table.columns)
    (100, ['model', 'method', 'Q', 'Qd', 'value', 'n_eff', 'supported'])
    """
    surface, bws, notes = _surfaces(points, mos_range, grid_res, bw_method)
    return GMCSurface(_with_support(surface, points, mos_range), bws, tuple(notes))


@validate_params({"decimals": Either(Interval(0, None, integral=True), lambda v: v is None, "None")})
def gmc_score(surface, *, decimals: int | None = 4) -> pd.DataFrame:
    """GMC score of each surface: its average height (trapezoid rule / area).

    Parameters
    ----------
    surface : GMCSurface or DataFrame
        The result of :func:`gmc_surface`, or a table ``model, method, Q, Qd, value`` on a
        regular grid.
    decimals : int or None, default 4
        Rounding of the published scores; None for the unrounded value.

    Returns
    -------
    DataFrame with columns ``model, method, gmc``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"model": "a", "method": "SROCC", "Q": [0, 0, 1, 1],
    ...                   "Qd": [0, 1, 0, 1], "value": [0.5, 0.7, 0.7, 0.9]})
    >>> float(gmc_score(s).gmc.iloc[0])
    0.7
    """
    surface = _check_points(surface)
    rows = []
    for (model, method), grid in surface.groupby(["model", "method"], sort=False):
        q, qd, z = grid_values(grid)
        # an undefined surface (no defined value) has no height: NaN, not the 0 that counting
        # its undefined values as 0 (the reference's rule for a few of them) would give
        h = np.nan if np.isnan(z).all() else average_height(q, qd, np.nan_to_num(z, nan=0.0))
        rows.append({"model": model, "method": method,
                     "gmc": h if decimals is None else round(h, int(decimals))})
    return pd.DataFrame(rows, columns=["model", "method", "gmc"])


# --- one call ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GMCResult:
    """GMC of several models: point values, surfaces, scores, with the settings and notes.

    Attributes
    ----------
    points : DataFrame ``model, method, Q, Qd, value, n_eff, supported`` at the sample points
        (``n_eff``: Kish's effective number of image pairs, :mod:`iqa_eval.gmc.support`;
        ``supported``: ``n_eff >= options.min_pairs``, False cells are drawn blank).
    surface : DataFrame ``model, method, Q, Qd, value, n_eff, supported`` on the regular grid (a
        regressed node takes the support of its nearest sample point). The score integrates every
        node's value, masked or not, as published.
    scores : DataFrame ``model, method, gmc`` (rounded to 4 decimals, as published).
    bandwidths : DataFrame ``model, method, bw_Q, bw_Qd`` (NaN in grid mode).
    notes : tuple of str
    config : dict of the resolved settings (std source, regulator, samples, ...).
    """

    points: pd.DataFrame
    surface: pd.DataFrame
    scores: pd.DataFrame
    bandwidths: pd.DataFrame
    notes: tuple
    config: dict

    @property
    def scores_unrounded(self) -> pd.DataFrame:
        return gmc_score(self.surface, decimals=None)

    def score_table(self) -> pd.DataFrame:
        """Scores as a model x method table (methods in the order computed)."""
        table = self.scores.pivot(index="model", columns="method", values="gmc")
        return table.loc[list(dict.fromkeys(self.scores.model)), list(dict.fromkeys(self.scores.method))]

    def ranked_scores(self) -> pd.DataFrame:
        """:attr:`scores`, best first: by the SROCC form's score (else the first form's), then by
        model name; the forms of one model in the order computed."""
        table = self.scores.copy()
        methods = list(dict.fromkeys(table["method"].astype(str)))
        key_method = next((m for m in methods if m.lower() == "srocc"), methods[0])
        key = table[table["method"].astype(str) == key_method].set_index("model")["gmc"]
        table["_rank"] = table["model"].map(key).fillna(-float("inf"))
        table["_order"] = pd.Categorical(table["method"].astype(str), categories=methods, ordered=True)
        return (table.sort_values(["_rank", "model", "_order"], ascending=[False, True, True], kind="stable")
                .drop(columns=["_rank", "_order"]).reset_index(drop=True))


@validate_params({"seed": SEED, "backend": BACKENDS, "grid_res": GRID_RES, "bw_method": _BW_RULE})
def correlation_surfaces(predictions, mos=None, *, std=None, weights=None, seed=0, grid=None,
                         methods=GMC_METHODS, options: GMCOptions | None = None,
                         backend: str = "auto", grid_res: int = 100, bw_method="cv_ls",
                         progress: bool = False, client=None, **option_values) -> GMCResult:
    """Points, surfaces and scores of every model and method in one call.

    Parameters
    ----------
    predictions, mos, std, weights, seed, methods, options, backend, progress, client, **option_values
        As in :func:`gmc_points`.
    grid : (nq, nqd), optional
        Evaluate GMC exactly at every node of a regular grid instead of sampling and
        regressing; the score integrates that grid (``options.samples``, ``grid_res`` and
        ``bw_method`` are then unused).
    grid_res, bw_method
        As in :func:`gmc_surface`.

    Returns
    -------
    GMCResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> mos = rng.uniform(1, 5, 60)
    >>> res = correlation_surfaces({"m": mos + rng.normal(0, 0.3, 60)}, mos, std=np.full(60, 0.5),
    ...                            grid=(5, 5), methods=["srocc"])
    >>> list(res.scores.columns)
    ['model', 'method', 'gmc']
    """
    options = GMCOptions.resolve(options, option_values)
    ranks = options.ranks
    if grid is not None:
        options = GMCOptions.resolve(options, {"samples": regular_grid(
            mos if mos is not None else predictions.mos, grid)})
    if grid is None and bw_method is not None and isinstance(options.samples, (int, np.integer)):
        # before the sample points exist (one surface: a lower bound), so that a huge --samples
        # or --grid-res is refused at once; checked again below with every surface
        check_surface_memory(options.samples, grid_res, 1, bw_method)
    inputs = gmc_inputs(predictions, mos, std=std, weights=weights, seed=seed, options=options)
    if grid is None and bw_method is not None:
        check_surface_memory(len(inputs.samples), grid_res, len(inputs.models) * len(_method_list(methods)),
                             bw_method)
    points = _support(_compute_points(inputs, methods, ranks, backend, progress, client), options.min_pairs)
    surface, bws, notes = _surfaces(points, inputs.config["mos_range"], grid_res,
                                    None if grid is not None else bw_method)
    surface = _with_support(surface, points, inputs.config["mos_range"])
    note = _support_note(surface, options.min_pairs, "grid cells" if grid is not None else "surface grid nodes")
    if note:
        notes.append(note + "; the GMC score integrates the whole surface, as published")
    config = dict(inputs.config, methods=_method_list(methods), ranks=ranks, min_pairs=float(options.min_pairs),
                  grid=None if grid is None else tuple(int(g) for g in grid),
                  grid_res=None if grid is not None else int(grid_res),
                  bw_method=None if grid is not None else bw_method)
    if grid is not None:
        config["samples"] = f"regular grid {grid[0]} x {grid[1]} (exact, no regression)"
    return GMCResult(points=points, surface=surface, scores=gmc_score(surface), bandwidths=bws,
                     notes=tuple(inputs.notes) + tuple(notes), config=config)
