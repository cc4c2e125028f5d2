"""Render the breakdowns of :mod:`iqa_eval.studies.breakdowns` in six formats.

- per group (:class:`~iqa_eval.studies.breakdowns.GroupEvaluation`): one table per metric, rows
  the group values (with their count n), columns the models. SROCC: the best value in a group bold
  (every model that prints it), ``†`` on the models tied with the best by the score table's paired
  test within that group; other metrics: the best printed value bold. ``n/a``: too few images.
- over splits (:class:`~iqa_eval.studies.breakdowns.SplitEvaluation`): one table, rows the models,
  per metric mean ± std and median over the splits, and the per-split paired tests against the
  reference as better / n.s. / worse counts.
- cross-dataset (:class:`~iqa_eval.studies.breakdowns.CrossDataset`): one table per metric, rows
  trained-on (per model), columns tested-on.

Text, Markdown, LaTeX (booktabs) and HTML show the values rounded; CSV and JSON carry the long
tables at full precision. User strings (group values, model and dataset names) are escaped for
each format (:mod:`iqa_eval._runtime.escape`).
"""
from __future__ import annotations

import html as _html
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._runtime.escape import csv_safe, latex_escape, markdown_safe, neutralise_frame, terminal_safe
from ..options import BREAKDOWN_FORMATS, check_choice
from ._text import plain as _plain
from .formatting import TIE_MARK, TIE_MARKS
from .html import page

__all__ = ["format_breakdown"]

_LABEL = {"srocc": "SROCC", "krcc": "KRCC", "plcc": "PLCC", "rmse": "RMSE"}
_NA = "n/a"


@dataclass
class _Cell:
    text: str = ""          # the value as printed ("" = empty, n/a = too few images)
    ci: str = ""            # "[lo, hi]" or ""
    bold: bool = False
    dagger: bool = False


@dataclass
class _Grid:
    """One table, format-free: header cells, rows of (label cells, value cells), legend lines."""

    title: str
    corner: list             # headers of the label columns
    columns: list            # headers of the value columns
    rows: list               # [(labels: list of str, cells: list of _Cell)]
    legend: list = field(default_factory=list)
    foot: list = field(default_factory=list)   # rows below a rule (all images), same form


def _num(v, digits):
    return "" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _value_cell(value, lo, hi, digits, show_ci, status="ok"):
    if status != "ok" and not np.isfinite(value):
        return _Cell(_NA)
    text = _num(value, digits)
    ci = f"[{_num(lo, digits)}, {_num(hi, digits)}]" if show_ci and text and np.isfinite(lo) else ""
    return _Cell(text, ci)


def _bold_best(cells, lower_is_better=False):
    """Bold every cell that prints the best value (decided on the printed text, so equal-looking
    values are marked alike)."""
    shown = [float(c.text) for c in cells if c.text not in ("", _NA)]
    if not shown:
        return
    best = min(shown) if lower_is_better else max(shown)
    for c in cells:
        if c.text not in ("", _NA) and float(c.text) == best:
            c.bold = True


def _level(result):
    return f"{100 * result.settings.get('confidence_level', 0.95):g}%"


# -- building the grids ----------------------------------------------------------------------
def _group_grids(res, metrics, digits, show_ci):
    grids = []
    t = res.table.set_index(["group", "model"])
    counts = res.table.groupby("group")["n"].max()
    for metric in metrics:
        rows = []
        for g in res.groups:
            cells = []
            for m in res.models:
                r = t.loc[(g, m)]
                lo, hi = (r.get(f"{metric}_ci_low", np.nan), r.get(f"{metric}_ci_high", np.nan))
                cells.append(_value_cell(r[metric], lo, hi, digits, show_ci, r["status"]))
                if metric == "srocc" and bool(r["tied_with_best"]):
                    cells[-1].dagger = True
            _bold_best(cells, lower_is_better=metric == "rmse")
            for c in cells:
                c.dagger = c.dagger and not c.bold
            rows.append(([g, str(int(counts[g]))], cells))
        foot = []
        if res.overall is not None:
            o = res.overall.set_index("model")
            cells = [_value_cell(o.loc[m, metric], o.loc[m].get(f"{metric}_ci_low", np.nan),
                                 o.loc[m].get(f"{metric}_ci_high", np.nan), digits, show_ci, o.loc[m, "status"])
                     for m in res.models]
            if metric == "srocc":
                for c, m in zip(cells, res.models):
                    c.dagger = bool(o.loc[m, "tied_with_best"])
            _bold_best(cells, lower_is_better=metric == "rmse")
            for c in cells:
                c.dagger = c.dagger and not c.bold
            foot.append((["all", str(int(o["n"].max()))], cells))
        legend = [f"{_LABEL[metric]} per {res.name} value (n images each)"
                  + (f", {_level(res)} CI in brackets" if show_ci and metric != "rmse" else "") + "."]
        if metric == "srocc":
            legend.append(f"Bold: best in the {res.name} value; {TIE_MARK}: tied with the best (paired test "
                          f"of SROCC within the {res.name} value, {res.settings['test']}, p >= alpha = "
                          f"{res.settings['alpha']:g}).")
        else:
            legend.append(f"Bold: best in the {res.name} value ({'lowest' if metric == 'rmse' else 'highest'}).")
        if metric in ("plcc", "rmse"):
            legend.append(f"After a {res.settings['mapping']} mapping fitted within each {res.name} value.")
        if (res.table["status"] != "ok").any():
            legend.append(f"{_NA}: too few images (SROCC, KRCC: fewer than {res.settings['min_n']}; PLCC, RMSE: "
                          "not more than the mapping's parameters).")
        if foot:
            legend.append("all: every image together (the score table's numbers).")
        grids.append(_Grid(f"{_LABEL[metric]} per {res.name}", [res.name, "n"], list(res.models), rows, legend, foot))
    return grids


def _split_grids(res, metrics, digits, show_ci):
    s = res.summary.set_index("model")
    tests = res.tests.set_index(["model", "metric"])
    columns, per_col = [], []
    for metric in metrics:
        columns += [f"{_LABEL[metric]} mean ± std", f"{_LABEL[metric]} median"]
        per_col += [(metric, "mean"), (metric, "median")]
    tested = [m for m in ("srocc", "plcc") if m in metrics]
    columns += [f"{_LABEL[m]} vs {res.reference}: better/n.s./worse" for m in tested]
    rows = []
    for model in res.summary["model"]:
        cells = []
        for metric, stat in per_col:
            if stat == "mean":
                text = _num(s.loc[model, f"{metric}_mean"], digits)
                sd = _num(s.loc[model, f"{metric}_std"], digits)
                cells.append(_Cell(text, ("± " + sd) if sd and text else ""))
            else:
                cells.append(_Cell(_num(s.loc[model, f"{metric}_median"], digits)))
        for metric in tested:
            if model == res.reference:
                cells.append(_Cell("reference"))
            else:
                r = tests.loc[(model, metric)]
                cells.append(_Cell(f"{int(r['better'])}/{int(r['ns'])}/{int(r['worse'])}"
                                   + (f" ({int(r['untested'])} untested)" if r["untested"] else "")))
        rows.append(([model, str(int(s.loc[model, "n_splits"]))], cells))
    for k, (metric, stat) in enumerate(per_col):   # best bold per metric column (mean and median)
        _bold_best([r[1][k] for r in rows], lower_is_better=metric == "rmse")
    legend = [f"Over {len(res.splits)} splits: mean ± standard deviation (n - 1) and median of each metric.",
              "Bold: best.",
              f"better/n.s./worse: splits in which the model is significantly better than, not significantly "
              f"different from, or worse than {res.reference} ({res.settings['test']}, p < "
              f"{res.settings['alpha']:g} per split, unadjusted)."]
    return [_Grid("over splits", ["model", "splits"], columns, rows, legend)]


def _cross_grids(res, metrics, digits, show_ci):
    c = res.cells.set_index(["model", "train", "test"])
    several = len(res.models) > 1
    grids = []
    for metric in metrics:
        rows = []
        for model in res.models:
            for train in res.train_sets:
                if not any((model, train, test) in c.index for test in res.test_sets):
                    continue
                cells = []
                for test in res.test_sets:
                    if (model, train, test) not in c.index:
                        cells.append(_Cell(""))
                        continue
                    r = c.loc[(model, train, test)]
                    cells.append(_value_cell(r[metric], r.get(f"{metric}_ci_low", np.nan),
                                             r.get(f"{metric}_ci_high", np.nan), digits, show_ci))
                rows.append((([model] if several else []) + [train], cells))
        for k in range(len(res.test_sets)):   # best per tested-on column
            _bold_best([r[1][k] for r in rows], lower_is_better=metric == "rmse")
        legend = [f"{_LABEL[metric]}: rows trained on, columns tested on"
                  + (f"; {_level(res)} CI in brackets" if show_ci and metric != "rmse" else "")
                  + (f" (after a {res.settings['mapping']} mapping fitted per test set)" if metric in ("plcc", "rmse")
                     else "") + "; an empty cell: not in the manifest.",
                  "Bold: best in each tested-on column."]
        corner = (["model"] if several else []) + ["trained on"]
        grids.append(_Grid(f"{_LABEL[metric]} cross-dataset", corner, list(res.test_sets), rows, legend))
    return grids


def _grids(result, metrics, digits, show_ci):
    from ..studies.breakdowns import CrossDataset, GroupEvaluation, SplitEvaluation

    if isinstance(result, GroupEvaluation):
        return _group_grids(result, metrics, digits, show_ci)
    if isinstance(result, SplitEvaluation):
        return _split_grids(result, metrics, digits, show_ci)
    if isinstance(result, CrossDataset):
        return _cross_grids(result, metrics, digits, show_ci)
    raise TypeError(f"not a breakdown result: {type(result).__name__}")


# -- formats -----------------------------------------------------------------------------------
def _text(grids) -> str:
    out = []
    for grid in grids:
        head = [terminal_safe(h) for h in grid.corner + grid.columns]

        def line(labels, cells):
            return [terminal_safe(x) for x in labels] + [(c.text + ("\u00b9" if c.bold else "") + (
                TIE_MARK if c.dagger else "") + (" " + c.ci if c.ci else "")) for c in cells]

        body = [line(*r) for r in grid.rows]
        foot = [line(*r) for r in grid.foot]
        widths = [max(len(r[k]) for r in [head] + body + foot) for k in range(len(head))]
        nlab = len(grid.corner)
        fmt = lambda r: "  ".join(x.ljust(w) if k < nlab else x.rjust(w)   # noqa: E731
                                  for k, (x, w) in enumerate(zip(r, widths))).rstrip()
        out += [terminal_safe(grid.title), fmt(head), "  ".join("-" * w for w in widths)]
        out += [fmt(r) for r in body]
        if foot:
            out += ["  ".join("-" * w for w in widths)] + [fmt(r) for r in foot]
        out += [""] + [terminal_safe(line.replace("Bold:", "\u00b9:")) for line in grid.legend] + [""]
    return "\n".join(out).rstrip() + "\n"


def _markdown(grids) -> str:
    out = []
    for grid in grids:
        head = [markdown_safe(h) for h in grid.corner + grid.columns]
        out += [f"**{markdown_safe(grid.title)}**", "", "| " + " | ".join(head) + " |",
                "|" + "|".join([":---"] * len(grid.corner) + ["---:"] * len(grid.columns)) + "|"]
        for k, (labels, cells) in enumerate(grid.rows + grid.foot):
            vals = []
            for c in cells:
                v = markdown_safe(c.text) if c.text else ""
                if c.bold and v:
                    v = f"**{v}**"
                if c.dagger:
                    v += TIE_MARKS["markdown"]
                if c.ci:
                    v += " " + markdown_safe(c.ci)
                vals.append(v)
            first = markdown_safe(labels[0])
            if k >= len(grid.rows):   # the "all images" row: italic label (Markdown has no rule inside a table)
                first = f"*{first}*"
            out.append("| " + " | ".join([first] + [markdown_safe(x) for x in labels[1:]] + vals) + " |")
        out += [""] + [markdown_safe(line) + "  " for line in grid.legend] + [""]
    return "\n".join(out).rstrip() + "\n"


def _latex(grids) -> str:
    out = [r"% requires \usepackage{booktabs}"]
    for grid in grids:
        spec = "l" * len(grid.corner) + "r" * len(grid.columns)
        caption = " ".join(latex_escape(line) for line in grid.legend).replace(TIE_MARK, TIE_MARKS["latex"])
        caption = caption.replace("Bold:", r"\textbf{Bold}:").replace("±", r"$\pm$")
        out += [r"\begin{table}[t]", r"\centering", r"\small", r"\caption{" + caption + "}",
                r"\begin{tabular}{" + spec + "}", r"\toprule",
                " & ".join(latex_escape(h).replace("±", r"$\pm$") for h in grid.corner + grid.columns) + r" \\",
                r"\midrule"]
        for k, (labels, cells) in enumerate(grid.rows + grid.foot):
            if grid.foot and k == len(grid.rows):
                out.append(r"\midrule")
            vals = []
            for c in cells:
                v = latex_escape(c.text) if c.text else ""
                if c.bold and v:
                    v = r"\textbf{" + v + "}"
                if c.dagger:
                    v += TIE_MARKS["latex"]
                if c.ci:
                    v += r"\,{\scriptsize " + latex_escape(c.ci).replace("±", r"$\pm$") + "}"
                vals.append(v)
            out.append(" & ".join([latex_escape(x) for x in labels] + vals) + r" \\")
        out += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(out)


_CSS = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
        "th,td{padding:.25em .6em;text-align:right}th[scope=row]{text-align:left}"
        "thead th{border-top:2px solid #000;border-bottom:1px solid #000}"
        "tbody tr:last-child>*{border-bottom:2px solid #000}tfoot th,tfoot td{border-bottom:2px solid #000}caption{caption-side:bottom;text-align:left;"
        "max-width:60em;font-size:90%;padding-top:.5em}small{color:#444}")


def _html_page(grids) -> str:
    e = _html.escape
    parts = []
    for grid in grids:
        head = "".join(f"<th>{e(terminal_safe(h))}</th>" for h in grid.corner + grid.columns)
        body = []
        for k, (labels, cells) in enumerate(grid.rows + grid.foot):
            if grid.foot and k == len(grid.rows):
                body.append("</tbody>\n<tfoot>")
            tds = "".join(f"<th scope=\"row\">{e(terminal_safe(x))}</th>" for x in labels)
            for c in cells:
                v = e(c.text)
                if c.bold and v:
                    v = f"<b>{v}</b>"
                if c.dagger:
                    v += TIE_MARKS["html"]
                if c.ci:
                    v += f" <small>{e(c.ci)}</small>"
                tds += f"<td>{v}</td>"
            body.append(f"<tr>{tds}</tr>")
        caption = " ".join(e(terminal_safe(line)) for line in grid.legend).replace(TIE_MARK, TIE_MARKS["html"])
        parts.append(f"<h2>{e(terminal_safe(grid.title))}</h2>\n<table>\n<caption>{caption}</caption>\n"
                     f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body)
                     + ("\n</tfoot>" if grid.foot else "\n</tbody>") + "\n</table>")
    return page("iqa-eval breakdown", "\n" + "\n".join(parts) + "\n", with_plotly=False, css=_CSS)


def _frames(result) -> dict:
    """The long tables of a result, full precision."""
    from ..studies.breakdowns import GroupEvaluation, SplitEvaluation

    if isinstance(result, GroupEvaluation):
        return {"table": result.table} if result.overall is None else {"table": result.table, "overall": result.overall}
    if isinstance(result, SplitEvaluation):
        return {"summary": result.summary, "tests": result.tests, "per_split": result.per_split}
    return {"cells": result.cells}


def _csv(result) -> str:
    from ..studies.breakdowns import SplitEvaluation

    if isinstance(result, SplitEvaluation):   # one row per model: the summary and the test counts
        wide = result.tests.pivot(index="model", columns="metric", values=["better", "ns", "worse", "untested"])
        wide.columns = [f"{metric}_{what}" for what, metric in wide.columns]
        frame = result.summary.merge(wide.reset_index(), on="model", how="left")
        frame.insert(1, "reference", result.reference)
        for col in wide.columns:
            frame[col] = frame[col].astype("Int64")   # counts; empty for the reference itself
    else:   # per group: the groups, then (overall=True) the all-images rows with an empty group
        frame = pd.concat(list(_frames(result).values()), ignore_index=True)
    return neutralise_frame(frame).to_csv(index=False)


def _json(result) -> str:
    doc = {k: [{c: _plain(v) for c, v in r.items()} for r in f.to_dict("records")]
           for k, f in _frames(result).items()}
    for attr in ("groups", "models", "name", "reference", "splits", "train_sets", "test_sets"):
        if hasattr(result, attr):
            doc[attr] = list(getattr(result, attr)) if isinstance(getattr(result, attr), tuple) else getattr(result, attr)
    doc["notes"] = list(result.notes)
    doc["settings"] = {k: _plain(v) for k, v in result.settings.items()}
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def format_breakdown(result, fmt: str = "table", *, metrics=("srocc", "plcc"), show_ci=None, digits: int = 3) -> str:
    """Render a breakdown result (per group, over splits, cross-dataset).

    Parameters
    ----------
    result : GroupEvaluation, SplitEvaluation or CrossDataset
    fmt : {'table', 'csv', 'json', 'markdown', 'html', 'latex'}
    metrics : sequence of {'srocc', 'krcc', 'plcc', 'rmse'} or a comma-separated string
        One table per metric (splits: columns per metric). CSV and JSON carry every metric.
    show_ci : bool, optional
        CIs beside the values (default: yes, except in LaTeX).
    digits : int
        Decimals of the printed values.

    Returns
    -------
    str
    """
    from .bench_tables import check_metrics

    check_choice("fmt", fmt, BREAKDOWN_FORMATS)
    metrics = check_metrics(metrics)
    if fmt == "csv":
        return _csv(result)
    if fmt == "json":
        return _json(result)
    show_ci = (fmt != "latex") if show_ci is None else bool(show_ci)
    grids = _grids(result, metrics, int(digits), show_ci)
    return {"table": _text, "markdown": _markdown, "latex": _latex, "html": _html_page}[fmt](grids)
