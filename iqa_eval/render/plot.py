"""Figures: interactive GMC surfaces (plotly) and static figures for papers (matplotlib).

Every function returns the figure object; :func:`save_figure` writes it by extension:

- a plotly figure (:func:`surface_figure`) -> ``.html``, self-contained (plotly.js embedded,
  no CDN: the page works with no network);
- a matplotlib figure (everything else) -> ``.png``, ``.pdf`` or ``.svg``.

A plotly figure asked for ``.png``/``.pdf``/``.svg`` raises :class:`~iqa_eval.errors.InputError`:
static export of plotly figures needs kaleido and a browser, which this package does not
install. :func:`save_surface` is the one entry point that picks the right kind of figure for
the extension (plotly for ``.html``, :func:`surface_3d` otherwise).

matplotlib figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot): no
display is opened, the Agg renderer writes the raster files and no global figure registry
grows. plotly and matplotlib are imported only when a figure is made, never at
``import iqa_eval``.

Surfaces are the tidy DataFrames of :mod:`iqa_eval.gmc` (columns ``model, method, Q, Qd,
value``) on a regular grid.
"""
from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from .._runtime.optional import require
from ..errors import InputError
from ..options import FIGURE_SUFFIXES

__all__ = [
    "surface_figure", "surface_3d", "contour_map", "difference_map", "comparison_figure",
    "scatter_figure", "save_figure", "save_surface", "plotly_div", "png_bytes", "surface_targets",
    "write_surfaces",
]

SURFACE_COLUMNS = ("model", "method", "Q", "Qd", "value")


def require_figure_packages(path=None, *, interactive: bool = False, static: bool = False) -> None:
    """Check, before anything is computed, the packages that drawing will need.

    ``path``: a figure file (``.html`` needs plotly, ``.png``/``.pdf``/``.svg`` matplotlib;
    other extensions nothing); ``interactive`` / ``static``: plotly / matplotlib in any case
    (a report draws both). Raises the same :class:`~iqa_eval.errors.MissingDependencyError`,
    naming the extra, that drawing would raise after the computation.
    """
    suffix = Path(path).suffix.lower() if path is not None else ""
    if interactive or suffix == ".html":
        require("plotly.graph_objects", "interactive figures")
    if static or suffix in FIGURE_SUFFIXES:
        require("matplotlib", "static figures")

# One hue per model (plotly's D3 qualitative palette); each model's colour scale runs
# from a light tint to a dark shade of its hue, so overlaid surfaces stay distinguishable
# and none fades into the white background at low values.
_HUES = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
         "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")

# Fixed salts/metadata so that saving the same figure twice writes the same bytes.
_RC_REPRODUCIBLE = {"svg.hashsalt": "iqa-eval", "svg.fonttype": "path"}


# -- input checks --------------------------------------------------------------------
def _check_surface(surface) -> pd.DataFrame:
    if not isinstance(surface, pd.DataFrame) and isinstance(getattr(surface, "table", None), pd.DataFrame):
        surface = surface.table   # a GMCSurface (or GMCPoints on a regular grid)
    if not isinstance(surface, pd.DataFrame):
        raise InputError(f"a surface must be a DataFrame with columns {', '.join(SURFACE_COLUMNS)}, "
                         f"got {type(surface).__name__}")
    missing = [c for c in SURFACE_COLUMNS if c not in surface.columns]
    if missing:
        raise InputError(f"surface lacks column(s) {', '.join(missing)}; "
                         f"expected {', '.join(SURFACE_COLUMNS)}")
    if surface.empty:
        raise InputError("surface is empty")
    return surface


def _select(surface, method, models):
    """Rows of one method and the chosen models; returns (rows, method, models)."""
    surface = _check_surface(surface)
    methods = list(dict.fromkeys(surface["method"].astype(str)))
    if method is None:
        # One figure shows one method: SROCC (the headline GMC form) when present.
        lowered = [m.lower() for m in methods]
        method = methods[lowered.index("srocc")] if "srocc" in lowered else methods[0]
    else:
        match = [m for m in methods if m.lower() == str(method).lower()]
        if not match:
            raise InputError(f"method {method!r} not in the surface; available: {', '.join(methods)}")
        method = match[0]
    rows = surface[surface["method"].astype(str) == method]
    available = list(dict.fromkeys(rows["model"].astype(str)))
    if models is None:
        models = available
    else:
        models = [str(m) for m in models]
        unknown = [m for m in models if m not in available]
        if unknown:
            raise InputError(f"model(s) {', '.join(map(repr, unknown))} not in the surface; "
                             f"available: {', '.join(map(repr, available))}")
    return rows, method, models


def _model_grids(surface, method, models):
    """(method, models, [(q, qd, z) per model], (lo, hi) shared by all of them)."""
    rows, method, models = _select(surface, method, models)
    grids = [_drawing_grid(rows[rows["model"].astype(str) == m]) for m in models]
    return method, models, grids, _value_limits([z for _, _, z in grids])


def _drawing_grid(rows: pd.DataFrame, value: str = "value"):
    """``(q, qd, Z)`` of ONE surface with ``Z[j, i]`` at ``(q[i], qd[j])`` (rows = Qd, as images
    are drawn): :func:`iqa_eval.gmc.sampling.grid_values` transposed.

    Masked cells (a ``supported`` column that is False: too few effective image pairs, see
    :mod:`iqa_eval.gmc.support`) are NaN, so every figure leaves them blank."""
    from ..gmc.sampling import grid_values

    if "supported" in rows.columns:
        keep = rows["supported"].to_numpy(dtype=bool)
        rows = rows.assign(**{value: np.where(keep, rows[value].to_numpy(dtype=np.float64), np.nan)})
    q, qd, z = grid_values(rows, value)
    return q, qd, z.T


def _t(text) -> str:
    """A user string as literal matplotlib text ('$' would start mathtext and can fail to parse)."""
    return str(text).replace("$", r"\$")


def _label(method: str) -> str:
    return str(method).upper()


def _value_limits(arrays):
    finite = np.concatenate([a[np.isfinite(a)].ravel() for a in arrays] + [np.empty(0)])
    if finite.size == 0:
        return -1.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def _mix(hex_colour: str, other: tuple, t: float) -> str:
    rgb = np.array([int(hex_colour[k:k + 2], 16) for k in (1, 3, 5)], dtype=float)
    out = (1 - t) * rgb + t * np.asarray(other, dtype=float)
    return "rgb({:.0f},{:.0f},{:.0f})".format(*out)


def _model_colourscale(k: int):
    hue = _HUES[k % len(_HUES)]
    return [[0.0, _mix(hue, (255, 255, 255), 0.75)], [0.5, _mix(hue, (0, 0, 0), 0.0)],
            [1.0, _mix(hue, (0, 0, 0), 0.45)]]


# -- interactive ------------------------------------------------------------------------
def surface_figure(surface, *, method=None, models=None, title=None):
    """Interactive 3D GMC surfaces of several models, overlaid, toggled from the legend.

    Parameters
    ----------
    surface : DataFrame or GMCSurface
        Tidy grid surface with columns ``model, method, Q, Qd, value`` (the result of
        :func:`iqa_eval.gmc.gmc_surface`, or a :class:`~iqa_eval.gmc.GMCResult`'s ``.surface``).
    method : str, optional
        Which correlation form to draw (``'srocc'``, ``'plcc'``, ``'krcc'``, any case).
        Default: ``'srocc'`` when present, else the first in the table.
    models : list of str, optional
        Models to draw, in legend order; default all.
    title : str, optional
        Figure title; default ``"GMC surface (SROCC)"``.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``go.Surface`` per model with its own colour scale (a tint-to-shade ramp of the
        model's hue, on one value range shared by all models), a legend entry that shows
        or hides it, and hover text with MOS (Q), |ΔMOS| (Qd) and the value.

    Examples
    --------
    >>> fig = surface_figure(result.surface, method="srocc")       # doctest: +SKIP
    >>> save_figure(fig, "surface.html")                          # doctest: +SKIP
    """
    go = require("plotly.graph_objects", "interactive figures")

    method, models, grids, (lo, hi) = _model_grids(surface, method, models)
    label = _label(method)
    show_scales = len(models) <= 4  # more colour bars than that crowd the plot
    fig = go.Figure()
    for k, (model, (q, qd, z)) in enumerate(zip(models, grids)):
        # plotly.js renders trace names as pseudo-HTML; escaping shows the literal name.
        name = html.escape(model)
        fig.add_trace(go.Surface(
            # float32 halves the embedded data; 7 significant digits are plenty to draw and hover
            x=q, y=qd, z=z.astype(np.float32), name=name, legendgroup=name, showlegend=True,
            colorscale=_model_colourscale(k), cmin=lo, cmax=hi, opacity=0.92,
            showscale=show_scales,
            colorbar=dict(title=dict(text=name, side="right"), x=1.0 + 0.09 * k, len=0.6,
                          thickness=12),
            hovertemplate=("<b>%{fullData.name}</b><br>MOS (Q): %{x:.3f}<br>"
                           "|ΔMOS| (Qd): %{y:.3f}<br>" + label + ": %{z:.4f}<extra></extra>"),
        ))
    fig.update_layout(
        title=dict(text=html.escape(title) if title else f"GMC surface ({label})"),
        scene=dict(xaxis_title="MOS", yaxis_title="|ΔMOS|", zaxis_title=label,
                   camera=dict(eye=dict(x=1.6, y=-1.6, z=0.9))),
        legend=dict(title=dict(text="model (click to show/hide)"), x=0.0, y=1.0,
                    bgcolor="rgba(255,255,255,0.7)"),
        margin=dict(l=0, r=0, t=50, b=0), height=650, template="plotly_white",
    )
    return fig


# -- static (matplotlib) ------------------------------------------------------------
def _figure(n_panels: int, *, ncols: int = 4, size=(3.6, 3.2), subplot_kw=None):
    require("matplotlib", "static figures")
    from matplotlib.figure import Figure

    ncols = max(1, min(ncols, n_panels))
    nrows = int(np.ceil(n_panels / ncols))
    fig = Figure(figsize=(size[0] * ncols + 1.2, size[1] * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, subplot_kw=subplot_kw or {}).ravel()
    for ax in axes[n_panels:]:
        ax.remove()  # (a hidden 3D axes breaks the constrained layout)
    return fig, list(axes[:n_panels])


def surface_3d(surface, *, method=None, models=None, ncols=4, cmap="viridis", title=None):
    """Static 3D surfaces, one panel per model, one shared colour scale and z range.

    Parameters
    ----------
    surface : DataFrame
        Tidy grid surface (``model, method, Q, Qd, value``).
    method, models : see :func:`surface_figure`.
    ncols : int
        Panels per row.
    cmap : str
        matplotlib colour map of the value.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.colors import Normalize

    method, models, grids, (lo, hi) = _model_grids(surface, method, models)
    norm = Normalize(lo, hi)
    label = _label(method)
    fig, axes = _figure(len(models), ncols=ncols, size=(3.8, 3.4), subplot_kw={"projection": "3d"})
    mappable = None
    for ax, model, (q, qd, z) in zip(axes, models, grids):
        qq, dd = np.meshgrid(q, qd)
        mappable = ax.plot_surface(qq, dd, z, cmap=cmap, norm=norm, rstride=1, cstride=1,
                                   linewidth=0, antialiased=False)
        ax.set_zlim(lo, hi)
        ax.set_xlabel("MOS")
        ax.set_ylabel("|ΔMOS|")
        ax.set_zlabel(label, labelpad=8)
        ax.set_title(_t(model))
        ax.view_init(elev=25, azim=-60)
        ax.set_box_aspect(None, zoom=0.85)  # keeps the z label inside the panel
    fig.colorbar(mappable, ax=axes, shrink=0.6, label=label)
    fig.suptitle(_t(title) if title else f"GMC surfaces ({label})")
    return fig


def contour_map(surface, *, method=None, models=None, ncols=4, levels=12, cmap="viridis",
                title=None):
    """Filled contour maps of the surfaces (MOS across, |ΔMOS| up), shared levels.

    Parameters
    ----------
    surface : DataFrame
        Tidy grid surface (``model, method, Q, Qd, value``).
    method, models : see :func:`surface_figure`.
    levels : int
        Number of contour intervals over the common value range.

    Returns
    -------
    matplotlib.figure.Figure
    """
    method, models, grids, (lo, hi) = _model_grids(surface, method, models)
    bounds = np.linspace(lo, hi, int(levels) + 1)
    label = _label(method)
    fig, axes = _figure(len(models), ncols=ncols)
    mappable = None
    for ax, model, (q, qd, z) in zip(axes, models, grids):
        mappable = ax.contourf(q, qd, z, levels=bounds, cmap=cmap, extend="neither")
        ax.contour(q, qd, z, levels=bounds, colors="k", linewidths=0.3, alpha=0.5)
        ax.set_xlabel("MOS")
        ax.set_ylabel("|ΔMOS|")
        ax.set_title(_t(model))
    fig.colorbar(mappable, ax=axes, shrink=0.8, label=label, ticks=_ticks())
    fig.suptitle(_t(title) if title else f"GMC maps ({label})")
    return fig


def _cells_grid(cells, column):
    need = ["Q", "Qd", column]
    missing = [c for c in need if c not in cells.columns]
    if missing:
        raise InputError(f"comparison cells lack column(s) {', '.join(missing)}")
    return _drawing_grid(cells.assign(value=cells[column].astype(np.float64)))


def _ticks(n: int = 6):
    # Colour bars of filled contours default to one tick per level: too many to read.
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(n)


def _draw_difference(ax, q, qd, diff, *, sig=None, cmap="RdBu_r", title=None):
    """One diverging map centred at 0; hatches where the mask of ``sig = (q, qd, mask)`` is True.

    The significance grid may differ from the drawn one (a 20 x 20 comparison over a
    100 x 100 surface): both span the same MOS x |ΔMOS| rectangle.
    """
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.patches import Patch

    finite = diff[np.isfinite(diff)]
    span = float(np.abs(finite).max()) if finite.size else 0.0
    span = span if span > 0 else 1e-6  # a flat zero map still needs a colour range
    bounds = np.linspace(-span, span, 17)
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-span, vmax=span)
    mappable = ax.contourf(q, qd, diff, levels=bounds, cmap=cmap, norm=norm)
    handles = []
    if np.nanmin(diff) < 0 < np.nanmax(diff):
        ax.contour(q, qd, diff, levels=[0.0], colors="k", linewidths=0.8)
        handles.append(Patch(facecolor="none", edgecolor="none", label="black line: difference 0"))
    if sig is not None:
        sq, sqd, mask = sig
        if mask.any():
            ax.contourf(sq, sqd, mask.astype(float), levels=[0.5, 1.5], colors="none", hatches=["///"])
        frac = float(np.mean(mask))
        handles.append(Patch(facecolor="white", edgecolor="k", hatch="///",
                             label=f"significant ({100 * frac:.0f}% of cells)"))
    if np.isnan(diff).any():           # masked (or undefined) cells are left blank
        handles.append(Patch(facecolor="white", edgecolor="0.6",
                             label="blank: too few image pairs (masked)"))
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.8)
    ax.set_xlabel("MOS")
    ax.set_ylabel("|ΔMOS|")
    if title:
        ax.set_title(title)
    return mappable


def difference_map(surface, model_a, model_b, *, method=None, cells=None, cmap="RdBu_r", title=None):
    """Map of the surface difference ``A - B``, diverging colours centred at 0.

    Parameters
    ----------
    surface : DataFrame or None
        Tidy grid surface holding both models. ``None``: take the difference (column
        ``diff``) from ``cells``.
    model_a, model_b : str
        The two models; red where A is higher, blue where B is higher.
    method : str, optional
        Correlation form (see :func:`surface_figure`).
    cells : DataFrame, optional
        Comparison cells (``Q, Qd, significant`` and, when ``surface`` is None, ``diff``),
        e.g. ``Comparison.cells`` from :func:`iqa_eval.studies.compare.compare_models`. Significant
        cells are hatched; their grid may be coarser than the surface's.

    Returns
    -------
    matplotlib.figure.Figure
    """
    model_a, model_b = str(model_a), str(model_b)
    if surface is None:
        if cells is None:
            raise InputError("difference_map needs a surface or comparison cells")
        q, qd, diff = _cells_grid(cells, "diff")
        label = _label(method or "gmc")
    else:
        rows, method, _ = _select(surface, method, [model_a, model_b])
        q, qd, za = _drawing_grid(rows[rows["model"].astype(str) == model_a])
        _, _, zb = _drawing_grid(rows[rows["model"].astype(str) == model_b])
        diff = za - zb
        label = _label(method)
    sig = None
    if cells is not None and "significant" in cells.columns:
        sq, sqd, mask = _cells_grid(cells.assign(significant=cells["significant"].astype(float)),
                                    "significant")
        sig = (sq, sqd, mask > 0.5)
    fig, (ax,) = _figure(1, size=(5.6, 4.4))
    mappable = _draw_difference(ax, q, qd, diff, sig=sig, cmap=cmap)
    ta, tb = _t(model_a), _t(model_b)
    fig.colorbar(mappable, ax=ax, label=f"{label}: {ta} - {tb}", ticks=_ticks())
    fig.suptitle(_t(title) if title else f"{ta} - {tb} ({label}); red: {ta} higher")
    return fig


def comparison_figure(comparison, *, cmap="viridis", diff_cmap="RdBu_r", title=None):
    """Three panels from a :class:`~iqa_eval.studies.compare.Comparison`: A, B and A - B hatched where significant.

    Parameters
    ----------
    comparison : Comparison
        Needs ``.models`` (A, B), ``.method`` and ``.cells`` with columns
        ``Q, Qd, A, B, diff, significant`` on a regular grid.

    Returns
    -------
    matplotlib.figure.Figure
    """
    a, b = (str(m) for m in comparison.models)
    cells = comparison.cells
    label = _label(getattr(comparison, "method", "gmc"))
    q, qd, za = _cells_grid(cells, "A")
    _, _, zb = _cells_grid(cells, "B")
    _, _, diff = _cells_grid(cells, "diff")
    _, _, mask = _cells_grid(cells.assign(significant=cells["significant"].astype(float)), "significant")
    lo, hi = _value_limits([za, zb])
    bounds = np.linspace(lo, hi, 13)
    fig, axes = _figure(3, ncols=3, size=(4.0, 3.6))
    mappable = None
    for ax, name, z in zip(axes[:2], (a, b), (za, zb)):
        mappable = ax.contourf(q, qd, z, levels=bounds, cmap=cmap)
        ax.set_xlabel("MOS")
        ax.set_ylabel("|ΔMOS|")
        ax.set_title(f"A: {_t(name)}" if name == a else f"B: {_t(name)}")
    fig.colorbar(mappable, ax=axes[:2], shrink=0.8, label=label, location="bottom", ticks=_ticks())
    dm = _draw_difference(axes[2], q, qd, diff, sig=(q, qd, mask > 0.5), cmap=diff_cmap,
                          title="A - B (hatched: significant)")
    fig.colorbar(dm, ax=axes[2], shrink=0.8, label=f"{label}: A - B", location="bottom", ticks=_ticks(5))
    fig.suptitle(_t(title) if title else f"{_t(a)} vs {_t(b)} ({label})")
    return fig


def _scatter_inputs(data, mos):
    """(predictions dict, mos array, flipped tuple) from a Dataset or arrays."""
    if hasattr(data, "predictions") and hasattr(data, "mos"):
        return dict(data.predictions), np.asarray(data.mos, dtype=np.float64), tuple(getattr(data, "flipped", ()))
    if isinstance(data, pd.DataFrame):
        if mos is None:
            raise InputError("scatter_figure with a DataFrame needs mos= (the MOS column name or values)")
        if isinstance(mos, str):
            if mos not in data.columns:
                raise InputError(f"no column {mos!r}", column=mos)
            values = data[mos].to_numpy(dtype=np.float64)
            preds = {c: data[c].to_numpy(dtype=np.float64) for c in data.columns if c != mos}
            return preds, values, ()
        return {c: data[c].to_numpy(dtype=np.float64) for c in data.columns}, np.asarray(mos, np.float64), ()
    if isinstance(data, dict):
        if mos is None:
            raise InputError("scatter_figure with a dict of predictions needs mos=")
        return ({str(k): np.asarray(v, dtype=np.float64) for k, v in data.items()},
                np.asarray(mos, dtype=np.float64), ())
    raise InputError("scatter_figure needs a Dataset, a DataFrame or a dict of prediction arrays, "
                     f"got {type(data).__name__}")


def scatter_figure(dataset_or_arrays, fits=None, *, mos=None, models=None, ncols=4, title=None):
    """Predictions against MOS with the fitted mapping curve, one panel per model.

    Parameters
    ----------
    dataset_or_arrays : Dataset, DataFrame or dict of str -> array
        The (oriented) predictions and MOS: a :class:`~iqa_eval.data.dataset.Dataset`, or
        prediction arrays by model with ``mos=`` given.
    fits : dict of str -> MappingFit, optional
        Fitted mappings (``Evaluation.fits``); each drawn with ``fit.predict`` over the
        prediction range and named by ``fit.kind``. Models without a fit get points only.
    mos : array-like or str, optional
        MOS values (or, with a DataFrame, the MOS column name) when not given a Dataset.
    models : list of str, optional
        Panels to draw; default every model.

    Returns
    -------
    matplotlib.figure.Figure
        Each panel's title gives the number of images shown (pairs with a missing value
        are not drawn, and the count says so).
    """
    preds, mos_values, flipped = _scatter_inputs(dataset_or_arrays, mos)
    fits = fits or {}
    models = list(preds) if models is None else [str(m) for m in models]
    unknown = [m for m in models if m not in preds]
    if unknown:
        raise InputError(f"unknown model(s) {', '.join(map(repr, unknown))}; available: "
                         f"{', '.join(map(repr, preds))}")
    if not models:
        raise InputError("scatter_figure: no models to draw")
    fig, axes = _figure(len(models), ncols=ncols, size=(3.4, 3.0))
    for k, (ax, model) in enumerate(zip(axes, models)):
        x = np.asarray(preds[model], dtype=np.float64)
        if x.shape != mos_values.shape:
            raise InputError(f"model {model!r} has {x.size} predictions for {mos_values.size} MOS values")
        ok = np.isfinite(x) & np.isfinite(mos_values)
        ax.scatter(x[ok], mos_values[ok], s=6, alpha=0.45, color=_HUES[k % len(_HUES)],
                   edgecolors="none", rasterized=True)
        fit = fits.get(model)
        n_text = f"n={int(ok.sum())}" + (f", {int((~ok).sum())} missing not drawn" if (~ok).any() else "")
        if fit is not None and ok.any():
            grid = np.linspace(np.min(x[ok]), np.max(x[ok]), 200)
            yhat = np.asarray(fit.predict(grid), dtype=np.float64)
            kind = getattr(fit, "kind", "fitted")
            ax.plot(grid, yhat, color="k", linewidth=1.5,
                    label="no mapping (identity)" if kind == "none" else f"{kind} mapping")
            ax.legend(loc="upper left", fontsize=7, framealpha=0.8)
        ax.set_title(f"{_t(model)}\n{n_text}", fontsize=9)
        ax.set_xlabel("prediction" + (" (negated: lower is better)" if model in flipped else ""))
        ax.set_ylabel("MOS")
    if title:
        fig.suptitle(_t(title))
    return fig


# -- saving --------------------------------------------------------------------------
def _is_plotly(fig) -> bool:
    return type(fig).__module__.startswith("plotly")


def plotly_div(fig, *, div_id: str) -> str:
    """The figure as an HTML ``<div>`` + script WITHOUT plotly.js (for pages that embed it once).

    plotly's JSON encoder writes ``<``, ``>`` and ``/`` as ``\\u003c``, ``\\u003e``,
    ``\\u002f``, so no string in the figure can close the ``<script>`` element.
    """
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def save_figure(fig, path, **kwargs):
    """Write a figure by the extension of ``path``.

    - plotly figure -> ``.html`` only: a complete page with plotly.js embedded (no CDN,
      works offline).
    - matplotlib figure -> ``.png``, ``.pdf`` or ``.svg`` (``dpi`` etc. passed on).

    Any other pairing raises :class:`InputError`. Output is byte-reproducible (fixed
    element ids and SVG salt, no creation date).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if _is_plotly(fig):
        if ext != ".html":
            raise InputError(f"an interactive figure is saved as .html, not {ext or 'no extension'}; for "
                             f"{', '.join(FIGURE_SUFFIXES)} draw the static figure (surface_3d, "
                             f"contour_map) or use save_surface", file=str(path))
        from .._runtime.atomic import atomic_write
        from .html import page  # the report's CSP on every HTML output

        title = fig.layout.title.text if fig.layout.title and fig.layout.title.text else "iqa-eval figure"
        atomic_write(path, page(str(title), plotly_div(fig, div_id="iqa-eval-figure"), with_plotly=True))
        return path
    if ext not in FIGURE_SUFFIXES:
        raise InputError(f"a static figure is saved as {', '.join(FIGURE_SUFFIXES)}, "
                         f"not {ext or 'no extension'}", file=str(path))
    from .._runtime.atomic import OutputSet

    with OutputSet() as outputs:   # temp file + rename: a crash leaves the old file intact
        _savefig(fig, str(outputs.stage(path)), ext[1:], **kwargs)
    return path


def _savefig(fig, target, fmt: str, **kwargs) -> None:
    import matplotlib

    metadata = {"png": {"Software": None}, "pdf": {"CreationDate": None, "Producer": None},
                "svg": {"Date": None}}[fmt]
    kwargs.setdefault("dpi", 150)
    with matplotlib.rc_context(_RC_REPRODUCIBLE):
        fig.savefig(target, format=fmt, metadata=metadata, **kwargs)


def png_bytes(fig, *, dpi: int = 110) -> bytes:
    """A matplotlib figure as PNG bytes (for embedding in a page as a data URI)."""
    import io

    buffer = io.BytesIO()
    _savefig(fig, buffer, "png", dpi=dpi)
    return buffer.getvalue()


def save_surface(surface, path, *, method=None, models=None, title=None):
    """Write GMC surfaces: interactive plotly for ``.html``, :func:`surface_3d` for png/pdf/svg.

    The one call the ``iqa-eval surface -o FILE`` command needs.
    """
    ext = Path(path).suffix.lower()
    if ext == ".html":
        fig = surface_figure(surface, method=method, models=models, title=title)
    elif ext in FIGURE_SUFFIXES:
        fig = surface_3d(surface, method=method, models=models, title=title)
    else:
        raise InputError(f"figure format {ext or '(no extension)'} not supported; use .html, "
                         f"{', '.join(FIGURE_SUFFIXES)}", file=str(path))
    return save_figure(fig, path)


def surface_targets(output, methods) -> list:
    """``(method, path)`` of every static figure file of ``output``: one file per GMC form when
    several were computed (``x.png`` -> ``x_srocc.png``, ``x_plcc.png``, ...), else ``output``."""
    path = Path(output)
    if len(methods) == 1:
        return [(methods[0], path)]
    return [(m, path.with_name(f"{path.stem}_{m.lower()}{path.suffix}")) for m in methods]


def write_surfaces(surface, output, outputs, *, contour: bool = False) -> list:
    """Write every GMC form of ``surface`` to ``output``, staged in ``outputs`` (an
    :class:`~iqa_eval._runtime.atomic.OutputSet`, committed by the caller); returns the paths.

    ``.csv``: the grid; ``.html``: one interactive page with a figure per form;
    ``.png``/``.pdf``/``.svg``: one file per form when there are several (``x_srocc.png``, ...),
    3D surfaces or, with ``contour``, filled contour maps.
    """
    from .._runtime.escape import csv_text

    suffix = Path(output).suffix.lower()
    if suffix == ".csv":
        outputs.stage(output).write_text(csv_text(surface), encoding="utf-8")
        return [output]
    methods = list(dict.fromkeys(surface["method"].astype(str)))
    if suffix == ".html" and not contour:
        from .html import page

        body = "".join(plotly_div(surface_figure(surface, method=m), div_id=f"gmc-{k}")
                       for k, m in enumerate(methods))
        outputs.stage(output).write_text(page("GMC surfaces", body, with_plotly=True), encoding="utf-8")
        return [output]
    written = []
    for method, target in surface_targets(output, methods):
        if contour:
            if suffix == ".html":
                raise InputError("contour maps are static figures: use .png, .pdf or .svg with --contour",
                                 file=str(output))
            save_figure(contour_map(surface, method=method), outputs.stage(target))
        else:
            save_surface(surface, outputs.stage(target), method=method)
        written.append(target)
    return written
