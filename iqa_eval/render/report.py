"""One self-contained, offline HTML page per evaluation.

The page holds the score table (CIs, ties with the best marked; with a noise ceiling, each
model's SROCC as a share of the ceiling's and the ceiling as a reference row), scatter plots with the
fitted mappings, the GMC surfaces of every model and the comparison of the models tied with
the best. It needs no network: plotly.js is embedded once, static figures are PNG data
URIs, and a Content-Security-Policy forbids every request the page did not bring along
(``default-src 'none'``). Inline scripts are allowed by their SHA-256 hash only, so an
inline event handler that slipped into the markup would not run either.

Safety of user strings (file, column and model names, notes): every one is written
through :func:`html.escape`; inside the plotly JSON ``<``, ``>`` and ``/`` are written as
``\\u003c``, ``\\u003e``, ``\\u002f`` by plotly's encoder (checked here on every page:
a script body can never contain ``</script``).
"""
from __future__ import annotations

import base64
import html
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .formatting import TIE_MARKS, format_p, summarize_comparison
from ..options import (ALPHA, BACKENDS, BANDWIDTH_METHODS, DATASET_NAN_POLICIES, GMC_METHODS, GRID_RES, MAPPINGS, SEED, Interval,
                       validate_params)

__all__ = ["build_report", "Report", "report_html", "write_report", "comparison_page",
           "write_comparison_page", "models_to_compare"]

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;max-width:1320px;
padding:1em 2em;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{padding:.25em .55em;border-bottom:1px solid #e3e3e3;text-align:right;white-space:nowrap}
th{background:#f4f4f4}td.name,th.name{text-align:left;white-space:normal;min-width:8em;max-width:24em;
overflow-wrap:anywhere}.wide{overflow-x:auto}
tr.best td{font-weight:600}tr.tied td{background:#eef6ee}
.ci{color:#666;font-size:.88em}.meta{color:#555}.summary{white-space:pre-wrap;background:#f8f8f8;
padding:.8em;border-left:3px solid #4a7}
ul.notes li{color:#8a5300}img.figure{max-width:100%;height:auto}
.plot{width:100%;height:650px}
tr.ceiling td{font-style:italic;border-top:2px solid #999;color:#444}
"""

_BEST_MARK = "\u2605"  # ★  best SROCC


# -- small HTML helpers ----------------------------------------------------------------
def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _num(value, digits: int = 4) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return _e(value)
    if not math.isfinite(x):
        return "&ndash;"
    return f"{x:.{digits}f}"


def _pvalue(value, n_resamples=None) -> str:
    """A p-value cell: :func:`format_p`'s text (the one p-value format), escaped; a resampling p at its
    floor reads ``≤ 0.002`` (it is a bound, not a value)."""
    try:
        p = float(value)
    except (TypeError, ValueError):
        return _e(value)
    return "&ndash;" if not math.isfinite(p) else _e(format_p(p, n_resamples=n_resamples).replace("<=", "\u2264 "))


def _cell(value, column: str = "", n_resamples=None) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else ""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        name = column.lower()
        return _pvalue(value, n_resamples) if name == "pvalue" or name.endswith("_pvalue") else _num(value)
    return _e(value)


def frame_table(df: pd.DataFrame, *, name_columns=("model", "metric", "test", "model_a", "model_b",
                                                    "a", "b", "method"), n_resamples=None) -> str:
    """Any DataFrame as an escaped HTML table (headers and cells escaped). ``n_resamples``: the bootstrap
    size behind the ``bootstrap_pvalue`` column and the ``pvalue`` of rows whose ``test`` is a bootstrap
    (shown at their resolution, the floor as ``≤``)."""
    head = "".join(f'<th class="{"name" if c in name_columns else ""}">{_e(c)}</th>' for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False):
        row = dict(zip(df.columns, rec))
        boot = "bootstrap" in str(row.get("test", "")).lower()

        def resolution(c):
            return n_resamples if (str(c) == "bootstrap_pvalue" or (str(c) == "pvalue" and boot)) else None
        cells = "".join(f'<td class="{"name" if c in name_columns else ""}">{_cell(v, str(c), resolution(c))}</td>'
                        for c, v in row.items())
        rows.append(f"<tr>{cells}</tr>")
    return f"<div class='wide'><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"


def _img(fig, alt: str) -> str:
    from .plot import png_bytes

    data = base64.b64encode(png_bytes(fig)).decode("ascii")
    return f'<img class="figure" alt="{_e(alt)}" src="data:image/png;base64,{data}">'


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_PATHS = re.compile(r"\S+\.(?:csv|tsv|txt|xlsx|xlsm|xls|parquet|pq)\b", re.IGNORECASE)
_NUMBERS = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", re.IGNORECASE)


def note_kind(note: str) -> str:
    """A note with its particulars (quoted names, file names, numbers) blanked: notes of one kind
    (the same decision for several files or models) share it."""
    return _NUMBERS.sub("#", _PATHS.sub("FILE", _QUOTED.sub("'…'", str(note))))


def group_notes(notes) -> list:
    """``[(kind's first note, [every note of the kind])]`` in order of first appearance, each note once."""
    groups: dict = {}
    for note in dict.fromkeys(str(n) for n in notes or () if n):
        groups.setdefault(note_kind(note), []).append(note)
    return [(members[0], members) for members in groups.values()]


def _notes(notes, *, shown=(), words=None) -> str:
    """Notes as a list, each once, one line per kind (the same decision for several files or models:
    the first, a count and the rest folded), leaving out those already ``shown`` higher on the page.
    ``words`` rewrites each note for its reader (the command line's option names)."""
    words = words or (lambda text: text)
    notes = [words(n) for n in dict.fromkeys(str(n) for n in notes or () if n) if n not in set(shown)]
    if not notes:
        return ""
    items = []
    for first, members in group_notes(notes):
        if len(members) == 1:
            items.append(f"<li>note: {_e(first)}</li>")
        else:
            rest = "".join(f"<li>{_e(n)}</li>" for n in members[1:])
            items.append(f"<li>note ({len(members)} of this kind): {_e(first)}<details><summary>the other "
                         f"{len(members) - 1}</summary><ul>{rest}</ul></details></li>")
    return '<ul class="notes">' + "".join(items) + "</ul>"


# -- choosing what to compare --------------------------------------------------------
def models_to_compare(table: pd.DataFrame, *, max_pairs: int = 3) -> list:
    """Pairs ``(best, other)`` worth a comparison: the best SROCC against each model
    statistically tied with it (``tied_with_best``), or against the runner-up when no
    model is tied. At most ``max_pairs`` pairs; empty with fewer than two models.
    """
    if table is None or len(table) < 2 or "srocc" not in table.columns:
        return []
    order = table.assign(_s=table["srocc"].astype(float)).sort_values("_s", ascending=False,
                                                                         na_position="last", kind="stable")
    names = [str(m) for m in order["model"]]
    best = names[0]
    tied = []
    if "tied_with_best" in order.columns:
        tied = [str(m) for m, t in zip(order["model"], order["tied_with_best"])
                if str(m) != best and _truthy(t)]
    others = tied or names[1:2]
    return [(best, m) for m in others[:max_pairs]]


def _truthy(value) -> bool:
    try:
        return bool(value) and not (isinstance(value, float) and math.isnan(value))
    except (TypeError, ValueError):
        return False


# -- sections -----------------------------------------------------------------------
def _score_section(evaluation) -> str:
    table = evaluation.table
    best = models_to_compare(table)[0][0] if len(table) >= 2 else (str(table["model"].iloc[0])
                                                                   if len(table) else None)
    labels = {"srocc": "SROCC", "krcc": "KRCC", "plcc_raw": "PLCC (raw)", "plcc": "PLCC (mapped)",
              "rmse": "RMSE", "mae": "MAE", "outlier_ratio": "outlier ratio", "rmse_star": "RMSE*"}
    # metrics that need a std column (outlier ratio, RMSE*) are all NaN without one: left out
    metrics = [m for m in labels if m in table.columns and pd.to_numeric(table[m], errors="coerce").notna().any()]
    head = ['<th class="name">model</th>', "<th></th>"]
    if "n" in table.columns:
        head.append("<th>n</th>")
    ceiling = getattr(evaluation, "ceiling", None)
    share_after = "srocc" if ceiling is not None and "srocc" in metrics else None
    for m in metrics:
        head.append(f"<th>{labels[m]}</th>")
        if m == share_after:
            head.append("<th>SROCC / ceiling</th>")
    if "mapping" in table.columns:
        head.append('<th class="name">mapping</th>')
    rows = []
    for _, r in table.iterrows():
        model = str(r["model"])
        tied = "tied_with_best" in table.columns and _truthy(r["tied_with_best"]) and model != best
        mark = _BEST_MARK if model == best else (TIE_MARKS["html"] if tied else "")
        flipped = "flipped" in table.columns and _truthy(r["flipped"])
        name = _e(model) + ('<br><span class="ci">negated: lower is better</span>' if flipped else "")
        cells = [f'<td class="name">{name}</td>', f"<td>{mark}</td>"]
        if "n" in table.columns:
            cells.append(f"<td>{_cell(r['n'])}</td>")
        for m in metrics:
            ci = ""
            if f"{m}_ci_low" in table.columns and f"{m}_ci_high" in table.columns:
                ci = f'<br><span class="ci">[{_num(r[f"{m}_ci_low"], 3)}, {_num(r[f"{m}_ci_high"], 3)}]</span>'
            cells.append(f"<td>{_num(r[m])}{ci}</td>")
            if m == share_after:   # the model's SROCC on the ceiling's scale
                cells.append(f"<td>{_share(r[m], ceiling.srocc)}</td>")
        if "mapping" in table.columns:
            cells.append(f'<td class="name">{_e(r["mapping"])}</td>')
        cls = "best" if model == best else ("tied" if tied else "")
        rows.append(f'<tr class="{cls}">{"".join(cells)}</tr>')
    legend = (f"<p class='meta'>{_BEST_MARK} highest SROCC; {TIE_MARKS['html']} statistically tied with it "
              f"(paired tests on the same images). Brackets: confidence intervals.</p>")
    foot = ""
    if ceiling is not None:
        d = ceiling.as_dict()
        cells = ['<td class="name">noise ceiling</td>', "<td></td>"] + (
            [f"<td>{ceiling.n_images}</td>"] if "n" in table.columns else [])
        for m in metrics:
            key = {"srocc": "srocc", "plcc": "plcc"}.get(m)
            cells.append(f'<td>{_num(d[key])}<br><span class="ci">[{_num(d[key + "_ci_low"], 3)}, '
                         f'{_num(d[key + "_ci_high"], 3)}]</span></td>' if key else "<td></td>")
            if m == share_after:
                cells.append("<td>100.0%</td>")
        if "mapping" in table.columns:
            cells.append("<td></td>")
        foot = f'<tfoot><tr class="ceiling">{"".join(cells)}</tr></tfoot>'
        legend += (f"<p class='meta'>Noise ceiling: the expected SROCC and PLCC of a perfect model against this MOS "
                   f"(MOS reliability {ceiling.reliability:.4f} [{ceiling.ci_low:.4f}, {ceiling.ci_high:.4f}], from "
                   "std and n_ratings; rater bias counted as noise). SROCC / ceiling puts each model on its scale "
                   "(point estimates; 100% = as good as a perfect model can look against this MOS). A reference, "
                   "not a model: never ranked or tested.</p>")
    out = [f'<section id="scores"><h2>Scores</h2><div class="wide"><table><thead><tr>{"".join(head)}'
           f'</tr></thead><tbody>{"".join(rows)}</tbody>{foot}</table></div>{legend}']
    pairwise = getattr(evaluation, "pairwise", None)
    if isinstance(pairwise, pd.DataFrame) and len(pairwise):
        out.append(f"<details><summary>Paired tests between models ({len(pairwise)})</summary>"
                   f"{frame_table(pairwise.dropna(axis=1, how='all'), n_resamples=_n_resamples(evaluation))}"
                   "</details>")
        out.append(_significance_block(evaluation))
    out.append("</section>")
    return "".join(out)


def _n_resamples(evaluation):
    settings = getattr(evaluation, "settings", {}) or {}
    return settings.get("n_resamples") if settings.get("ci") not in (None, "analytic") else None


def _significance_block(evaluation) -> str:
    """The all-pairs "1 / 0 / −" matrix of SROCC and PLCC (Holm over the pairs), or '' with fewer than 3 models."""
    table, pairwise = getattr(evaluation, "table", None), getattr(evaluation, "pairwise", None)
    if (not isinstance(table, pd.DataFrame) or len(table) < 3 or not hasattr(evaluation, "settings")
            or not isinstance(pairwise, pd.DataFrame) or "metric" not in pairwise.columns):
        return ""
    from ..studies.significance import significance_matrix
    from .significance import significance_html

    alpha = (getattr(evaluation, "settings", {}) or {}).get("alpha", 0.05)
    return ("<h3>Every pair of models</h3>"
            + f"<div class='wide'>{significance_html(significance_matrix(evaluation, alpha=alpha))}</div>")


def _share(value, ceiling_srocc) -> str:
    try:
        x = float(value) / float(ceiling_srocc)
    except (TypeError, ValueError, ZeroDivisionError):
        return "&ndash;"
    return f"{100 * x:.1f}%" if math.isfinite(x) else "&ndash;"


def _scatter_section(evaluation, dataset) -> str:
    if dataset is None:
        return ""
    from .plot import scatter_figure

    models = [str(m) for m in evaluation.table["model"]] if len(evaluation.table) else None
    models = [m for m in models if m in dataset.predictions] if models else None
    fig = scatter_figure(dataset, getattr(evaluation, "fits", None) or {}, models=models)
    return (f'<section id="scatter"><h2>Predictions against MOS</h2>'
            f'<p class="meta">One panel per model; the line is the fitted mapping used for PLCC and '
            f'RMSE.</p>{_img(fig, "scatter plots of predictions against MOS")}</section>')


def _div_id(prefix: str, k: int) -> str:
    return f"{prefix}-{k}"


def _gmc_section(gmc_result, shown=(), words=None) -> str:
    if gmc_result is None:
        return ""
    from .plot import plotly_div, surface_figure

    out = ['<section id="gmc"><h2>GMC correlation surfaces</h2>',
           "<p class='meta'>Height: the correlation of the model with MOS among images near the "
           "quality level Q (MOS axis) whose MOS differ by about |&Delta;MOS|. Click a model in the "
           "legend to show or hide it; drag to rotate." + _masked_text(getattr(gmc_result, "config", {}).get(
               "min_pairs")) + "</p>"]
    scores = getattr(gmc_result, "scores", None)
    if isinstance(scores, pd.DataFrame) and len(scores):
        wide = scores.assign(method=scores["method"].astype(str).str.upper()).pivot_table(
            index="model", columns="method", values="gmc", sort=False)
        wide = wide.reset_index()
        wide.columns = [str(c) for c in wide.columns]
        # ranked as the command line's table is: best first by the SROCC form (else the first form)
        first = next((c for c in wide.columns[1:] if c.lower() == "srocc"), wide.columns[1] if wide.shape[1] > 1
                     else None)
        if first is not None:
            wide = wide.sort_values(first, ascending=False, kind="stable", na_position="last").reset_index(drop=True)
            wide.insert(0, "rank", wide[first].rank(ascending=False, method="min").astype("Int64"))
        out.append(f"<p>GMC score (average height of the surface), ranked by {_e(first or '')}:</p>"
                   + frame_table(wide))
    surface = gmc_result.surface
    methods = list(dict.fromkeys(surface["method"].astype(str)))
    for k, method in enumerate(methods):
        fig = surface_figure(surface, method=method)
        out.append(f"<h3>{_e(method.upper())}</h3>" + plotly_div(fig, div_id=_div_id("gmc", k)))
    out.append(_notes(getattr(gmc_result, "notes", ()), shown=shown, words=words))
    out.append("</section>")
    return "".join(out)


def _masked_text(min_pairs, more="") -> str:
    """The masking rule in one sentence (docs/gmc.md, "Only supported regions")."""
    if min_pairs is None:
        return ""
    return (f" Cells resting on fewer than {_num(float(min_pairs), 0)} effective image pairs "
            f"(--min-pairs) are left blank{more}.")


def _comparison_block(comparison, k: int, *, interactive: bool, shown=(), words=None) -> str:
    from .plot import comparison_figure, plotly_div, surface_figure

    a, b = (str(m) for m in comparison.models)
    out = [f"<h3>{_e(a)} (A) vs {_e(b)} (B)</h3>"]
    summary = summarize_comparison(comparison) if hasattr(comparison, "adjust") else ""
    if summary:
        out.append(f'<div class="summary">{_e(summary)}</div>')
    tests = getattr(comparison, "global_tests", None)
    if isinstance(tests, pd.DataFrame) and len(tests):
        out.append("<p>Global metrics and paired tests (differences are A &minus; B):</p>"
                   + frame_table(tests, n_resamples=getattr(comparison, "n_resamples", None)))
    cells = getattr(comparison, "cells", None)
    if isinstance(cells, pd.DataFrame) and len(cells):
        method = str(getattr(comparison, "method", "gmc"))
        frac = float(cells["significant"].astype(float).mean()) if "significant" in cells else float("nan")
        out.append(f"<p class='meta'>GMC {_e(method.upper())} difference A &minus; B with a confidence "
                   f"interval per cell; hatched cells differ significantly ({_num(100 * frac, 1)}% of "
                   f"cells).{_masked_text(getattr(comparison, 'min_pairs', None), ' and never tested')}</p>")
        out.append(_img(comparison_figure(comparison), f"comparison of {a} and {b}"))
        if interactive:
            masked = {"supported": cells["supported"]} if "supported" in cells else {}
            tidy = pd.concat([pd.DataFrame({"model": name, "method": method, "Q": cells["Q"],
                                            "Qd": cells["Qd"], "value": cells[col], **masked})
                              for name, col in ((a, "A"), (b, "B"))], ignore_index=True)
            fig = surface_figure(tidy, method=method, title=f"{a} and {b}")
            out.append(plotly_div(fig, div_id=_div_id("cmp", k)))
    out.append(_notes(getattr(comparison, "notes", ()), shown=shown, words=words))
    return "".join(out)


def _tied_models(evaluation) -> set:
    table = getattr(evaluation, "table", None)
    if not isinstance(table, pd.DataFrame) or "tied_with_best" not in table.columns:
        return set()
    return {str(m) for m, t in zip(table["model"], table["tied_with_best"]) if _truthy(t)}


def _comparison_section(comparisons, shown=(), tied=None, words=None) -> str:
    if not comparisons:
        return ""
    # "tied with the best" only when every compared model is (models_to_compare falls back
    # to the runner-up when none is)
    others = {str(m) for c in comparisons for m in list(c.models)[1:]}
    if tied is None or (others and others <= set(tied)):
        heading = "Models tied with the best, compared"
    else:
        heading = "The best model compared with the runner-up (no model is statistically tied with it)"
    out = [f'<section id="compare"><h2>{_e(heading)}</h2>']
    for k, comparison in enumerate(comparisons):
        out.append(_comparison_block(comparison, k, interactive=False, shown=shown, words=words))
    out.append("</section>")
    return "".join(out)


# -- the page -------------------------------------------------------------------------
def _page(title: str, body: str, *, with_plotly: bool) -> str:
    """Assemble a page: CSP with the hash of every inline script, plotly.js once if needed."""
    from .html import page

    return page(title, body, with_plotly=with_plotly, css=_CSS)


def _sources(dataset) -> str:
    if dataset is None:
        return ""
    items = []
    for name, (file, column) in getattr(dataset, "sources", {}).items():
        where = f"{_e(file)}, column {_e(column)}" if file else f"column {_e(column)}"
        items.append(f"<li><b>{_e(name)}</b>: {where}</li>")
    flipped = getattr(dataset, "flipped", ())
    text = f"<p class='meta'>{len(dataset)} images"
    if flipped:
        text += "; negated (lower is better): " + ", ".join(_e(m) for m in flipped)
    text += "</p>"
    if items:
        text += "<details><summary>Inputs</summary><ul>" + "".join(items) + "</ul></details>"
    return text


def _as_list(comparison):
    if comparison is None:
        return []
    return list(comparison) if isinstance(comparison, (list, tuple)) else [comparison]


def report_html(*, evaluation, gmc_result=None, comparison=None, dataset=None,
                title: str = "IQA evaluation report", words=None) -> str:
    """The report as one self-contained HTML string.

    Parameters
    ----------
    evaluation : Evaluation
        From :func:`iqa_eval.studies.evaluation.evaluate` (``.table``, ``.pairwise``, ``.fits``,
        ``.notes``).
    gmc_result : GMCResult, optional
        From :func:`iqa_eval.gmc.correlation_surfaces` (``.surface``, ``.scores``, ``.notes``);
        every model's surface is drawn, one interactive figure per method.
    comparison : Comparison or list of Comparison, optional
        From :func:`iqa_eval.studies.compare.compare_models`, usually for the pairs chosen by
        :func:`models_to_compare`.
    dataset : Dataset, optional
        The oriented data that was evaluated: needed for the scatter plots and listed as the
        inputs (files and columns).
    title : str
    words : callable, optional
        Rewrites each note for its reader (the command line passes its option names for the
        library's parameter names); default: the notes as the library words them.

    Returns
    -------
    str
        A complete HTML document that loads nothing from the network.

    Examples
    --------
    >>> html_text = report_html(evaluation=ev, gmc_result=gmc, dataset=data)  # doctest: +SKIP
    """
    if evaluation is None or not hasattr(evaluation, "table"):
        raise InputError("report_html needs an Evaluation (from iqa_eval.studies.evaluation.evaluate)")
    from .. import __version__

    comparisons = _as_list(comparison)
    # the data's recoveries (rows dropped, models flipped) are listed once, at the top
    top_notes = list(getattr(dataset, "notes", ()) or ()) + list(getattr(evaluation, "notes", ()) or ())
    body = [f"<h1>{_e(title)}</h1>",
            f"<p class='meta'>iqa-eval {_e(__version__)}</p>",
            _sources(dataset),
            _notes(top_notes, words=words),
            _score_section(evaluation),
            _scatter_section(evaluation, dataset),
            _gmc_section(gmc_result, shown=top_notes, words=words),
            _comparison_section(comparisons, shown=top_notes, tied=_tied_models(evaluation), words=words)]
    return _page(title, "".join(body), with_plotly=gmc_result is not None)


def write_report(path, *, evaluation, gmc_result=None, comparison=None, dataset=None,
                 title: str = "IQA evaluation report") -> Path:
    """Write :func:`report_html` to ``path`` (UTF-8); returns the path."""
    return _write(path, report_html(evaluation=evaluation, gmc_result=gmc_result,
                                    comparison=comparison, dataset=dataset, title=title))


@dataclass(frozen=True)
class Report:
    """What :func:`build_report` computed: the parts of the page, and every note once.

    Attributes
    ----------
    evaluation : Evaluation
    gmc_result : GMCResult
    comparisons : tuple of Comparison
    dataset : Dataset
    notes : tuple of str
    """

    evaluation: object
    gmc_result: object
    comparisons: tuple
    dataset: object
    notes: tuple = ()

    def html(self, *, title: str = "IQA evaluation report", words=None) -> str:
        """The page (:func:`report_html`) of these results."""
        return report_html(evaluation=self.evaluation, gmc_result=self.gmc_result,
                           comparison=list(self.comparisons), dataset=self.dataset, title=title, words=words)

    def write(self, path, *, title: str = "IQA evaluation report", words=None) -> Path:
        """Write :meth:`html` to ``path``; returns the path."""
        return _write(path, self.html(title=title, words=words))


@validate_params({"mapping": MAPPINGS, "alpha": ALPHA, "seed": SEED, "grid_res": GRID_RES,
                  "compare_method": GMC_METHODS, "max_compare": Interval(0, None, integral=True),
                  "backend": BACKENDS, "nan_policy": DATASET_NAN_POLICIES, "bw_method": BANDWIDTH_METHODS})
def build_report(dataset, *, mapping: str = "logistic4", alpha: float = 0.05, seed: int = 0,
                 methods=GMC_METHODS, grid_res: int = 100, compare_method: str = "srocc",
                 compare_grid=(20, 20), max_compare: int = 3, options=None, backend: str = "auto",
                 nan_policy: str = "omit", progress: bool = False, weights=None, grid=None,
                 bw_method="cv_ls") -> Report:
    """Compute everything a report shows: scores, GMC surfaces of every model, and comparisons of
    the best model with the models tied with it.

    Parameters
    ----------
    dataset : Dataset or pandas.DataFrame
        Oriented data (a DataFrame is read and oriented as by :func:`iqa_eval.evaluate`).
    mapping : {'logistic4', 'logistic5', 'poly3', 'linear', 'none'}, default 'logistic4'
    alpha : float, default 0.05
        Level of every test; intervals have coverage ``1 - alpha``.
    seed : int, default 0
        Seed of every random draw (the GMC sample points, the comparisons' reference draws).
    methods : sequence of {'srocc', 'plcc', 'krcc'}
        GMC forms drawn.
    grid_res : int, default 100
        Resolution of the GMC surfaces.
    compare_method : {'srocc', 'plcc', 'krcc'}, default 'srocc'
        GMC form of the comparisons.
    compare_grid : int or (int, int), default (20, 20)
        Grid of the comparisons' difference surfaces.
    max_compare : int, default 3
        Most comparisons of the best model with models tied with it (0: none).
    options : GMCOptions, optional
        GMC's std, regulator, rank and sampling options (``options.samples`` points per surface;
        ``options.min_pairs`` masks unsupported cells).
    weights : array-like of shape (N,), optional
        Per-image regulator weights, one per row of ``dataset`` (override ``options.regulator``).
    grid : (int, int), optional
        Evaluate the GMC surfaces exactly on this grid instead of sampling and regressing
        (as :func:`iqa_eval.gmc.correlation_surfaces`).
    bw_method : str, default 'cv_ls'
        Bandwidth of the surfaces' kernel regression.
    backend : str, default 'auto'
        GMC engine backend.
    nan_policy : {'omit', 'raise'}
    progress : bool, default False
        Progress bar on stderr.

    Returns
    -------
    Report
        ``.write(path, title=...)`` writes the page.

    Examples
    --------
    >>> from iqa_eval import simulate_study
    >>> rep = build_report(simulate_study(200, seed=0)[["mos", "std", "precise", "noisy"]],
    ...                    options=None, max_compare=1, grid_res=10, compare_grid=(5, 5))
    >>> list(rep.evaluation.table["model"]), len(rep.comparisons) <= 1
    (['precise', 'noisy'], True)
    """
    from .._runtime.progress import Progress
    from ..studies.compare import compare_models
    from ..studies.evaluation import evaluate
    from ..gmc import correlation_surfaces
    from ..gmc.options import GMCOptions
    from ..data.io import as_dataset

    data = as_dataset(dataset)
    options = GMCOptions.resolve(options)
    max_compare = int(max_compare)
    stages = 3 + 2 * max_compare

    def stage(name):  # fixed width: the bar is redrawn in place with '\r'
        return f"report: {name:<12}"

    with Progress(stages, stage("scores"), enabled=progress) as bar:
        evaluation = evaluate(data, mapping=mapping, alpha=alpha, seed=seed, nan_policy=nan_policy)
        bar.label = stage("GMC surfaces")
        bar.update(1)
        # one GMC pass serves every model: it needs the rows where all of them are present
        complete = data.complete(nan_policy=nan_policy, need_std=False)
        kept = None if weights is None else np.asarray(weights, dtype=np.float64)[np.isin(data.rows, complete.rows)]
        gmc = correlation_surfaces(complete, methods=methods, seed=seed, grid_res=grid_res, grid=grid,
                                   bw_method=bw_method, options=options, backend=backend, weights=kept)
        bar.label = stage("comparisons")
        bar.update(1)
        comparisons = []
        for a, b in models_to_compare(evaluation.table, max_pairs=max_compare) if max_compare else []:
            comparisons.append(compare_models(data, a, b, method=compare_method, grid=compare_grid,
                                              alpha=alpha, seed=seed, options=options, weights=weights,
                                              nan_policy=nan_policy, backend=backend))
            bar.update(2)
        bar.label = stage("page")
        bar.update(2 * (max_compare - len(comparisons)) + 1)
    notes = list(evaluation.notes) + list(gmc.notes)
    for comparison in comparisons:
        notes += list(comparison.notes)
    return Report(evaluation, gmc, tuple(comparisons), data, tuple(dict.fromkeys(notes)))


def comparison_page(comparison, *, title=None) -> str:
    """The page of ``iqa-eval compare -o compare.html``: summary, global tests, static
    difference map with significant cells hatched, and both surfaces interactive.
    """
    a, b = (str(m) for m in comparison.models)
    title = title or f"{a} vs {b}"
    n = getattr(comparison, "n_images", None)
    body = (f"<h1>{_e(title)}</h1><p class='meta'>iqa-eval comparison"
            + (f" on {int(n)} images" if n is not None else "") + "</p>"
            + _comparison_block(comparison, 0, interactive=True))
    return _page(title, body, with_plotly=True)


def write_comparison_page(path, comparison, *, title=None) -> Path:
    """Write :func:`comparison_page` to ``path``; returns the path."""
    return _write(path, comparison_page(comparison, title=title))


def _write(path, text: str) -> Path:
    from .._runtime.atomic import atomic_write  # temp file + rename: never a half-written page

    return atomic_write(path, text)

