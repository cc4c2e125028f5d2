"""The studio's one figure of its own: the clickable difference map of a comparison.

The static comparison figure (:func:`iqa_eval.render.plot.comparison_figure`) is an image;
the page needs cells that answer a click, so the same cells (:attr:`Comparison.cells`: the
library's values, intervals and significance) are drawn as a plotly heatmap here. Nothing is
computed: the figure only places the comparison's columns.
"""
from __future__ import annotations

import html

import numpy as np

__all__ = ["difference_heatmap"]


def difference_heatmap(comparison):
    """A plotly heatmap of A - B over (|ΔMOS|, MOS), significant cells marked with a cross and
    untested cells (too few effective images) with a grey dot."""
    import plotly.graph_objects as go

    cells = comparison.cells
    nq, nqd = comparison.grid_shape
    q = cells["Q"].to_numpy().reshape(nq, nqd)[:, 0]
    qd = cells["Qd"].to_numpy().reshape(nq, nqd)[0, :]
    diff = comparison.surface("diff")
    lim = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 1.0
    a, b = (html.escape(str(m)) for m in comparison.models)   # plotly renders names as pseudo-HTML
    label = comparison.method.upper()
    fig = go.Figure(go.Heatmap(
        x=qd, y=q, z=diff, zmin=-lim, zmax=lim, colorscale="RdBu_r", zmid=0,
        colorbar=dict(title=dict(text=f"{label} A - B")),
        hovertemplate="MOS %{y:.3f}<br>|ΔMOS| %{x:.3f}<br>A - B %{z:.4f}<extra></extra>"))
    sig = cells[cells["significant"]]
    fig.add_trace(go.Scatter(x=sig["Qd"], y=sig["Q"], mode="markers", name="significant",
                             marker=dict(symbol="x", size=9, color="black"),
                             hovertemplate="significant<br>MOS %{y:.3f}<br>|ΔMOS| %{x:.3f}<extra></extra>"))
    untested = cells[~cells["tested"] & np.isfinite(cells["diff"])]
    fig.add_trace(go.Scatter(x=untested["Qd"], y=untested["Q"], mode="markers", name="not tested (few images)",
                             marker=dict(symbol="circle", size=5, color="grey"),
                             hovertemplate="not tested<br>MOS %{y:.3f}<br>|ΔMOS| %{x:.3f}<extra></extra>"))
    fig.update_layout(title=dict(text=f"{label}: {a} - {b} ({100 * comparison.significant_fraction:.0f}% of "
                                      f"cells significant, {comparison.adjust})"),
                      xaxis_title="|ΔMOS| (Qd)", yaxis_title="MOS (Q)", template="plotly_white",
                      legend=dict(orientation="h", y=-0.15), margin=dict(l=60, r=20, t=50, b=60))
    return fig
