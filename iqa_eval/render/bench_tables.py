"""Render a :class:`~iqa_eval.studies.bench.Benchmark`: the paper table in six formats, the CD diagram.

Marks follow the values and the tests, column by column (one column = one metric on one
dataset, or one summary quantity):

- best (highest correlation, lowest RMSE / mean rank): bold (terminal: ``¹``, and bold on a
  colour terminal); equal best values are all bold;
- second best: underlined (terminal: ``²``);
- ``†``: tied with the best by the paired test of ``score`` (SROCC and PLCC columns only:
  those are the metrics with a paired test); the best itself carries no dagger.

A model absent from a dataset has an empty cell. Datasets with std and n_ratings add a reference
row ``noise ceiling`` below the models (a rule above it; italic in Markdown, HTML and LaTeX): the
expected SROCC and PLCC of a perfect model on each of them (:attr:`Benchmark.ceilings`), never
marked; JSON has them as ``"ceilings"``, the CSV stays one row per model. User strings (model and dataset names) are
escaped for each format: LaTeX specials, Markdown punctuation, HTML entities, CSV formula
prefixes, terminal control characters.
"""
from __future__ import annotations

import html as _html
import json

import numpy as np
import pandas as pd

from .html import page
from .._runtime.escape import csv_safe, markdown_safe, terminal_safe
from ..errors import InputError
from ._text import format_p, latex_escape, plain as _plain
from .formatting import TIE_MARK, TIE_MARKS
from .krasula import format_krasula, krasula_json
from ..options import BENCH_FORMATS, BENCH_METRICS, LATEX_FITS, TABLE_DIGITS, check_choice, validate_params

__all__ = ["format_benchmark", "benchmark_caption", "cd_diagram"]

_LABEL = {"srocc": "SROCC", "krcc": "KRCC", "plcc": "PLCC", "rmse": "RMSE"}
_TESTED = {"srocc": "tied_with_best", "plcc": "plcc_tied_with_best"}
_MAPPING_WORDS = {"logistic4": "a 4-parameter logistic mapping", "logistic5": "a 5-parameter logistic mapping",
                  "poly3": "a monotonic cubic mapping", "linear": "a linear mapping", "none": "no mapping", "vmaf": "vmaf's 2-parameter logistic mapping", "vqeg5": "the VQEG/MATLAB 5-parameter logistic mapping"}


def tex(text) -> str:
    """LaTeX text: :func:`~iqa_eval.render.formatting.latex_escape` (which also writes out the
    characters OT1 fonts print as other glyphs: ``<`` ``>`` ``|``)."""
    return latex_escape(text)


def check_metrics(metrics) -> tuple:
    """Validate ``metrics`` (names or one comma-separated string) against :data:`iqa_eval.options.BENCH_METRICS`."""
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    metrics = tuple(str(m).lower() for m in metrics)
    bad = [m for m in metrics if m not in BENCH_METRICS]
    if bad or not metrics:
        raise InputError(f"metrics must be one or more of {', '.join(BENCH_METRICS)}; got {', '.join(metrics) or 'none'}")
    return tuple(dict.fromkeys(metrics))


# -- the table as structured cells, shared by every format ------------------------------
class _Cell:
    __slots__ = ("value", "lo", "hi", "rank", "dagger", "digits", "ref", "printed_tie")

    def __init__(self, value=np.nan, lo=np.nan, hi=np.nan, dagger=False, digits=3, ref=False):
        self.value, self.lo, self.hi, self.dagger, self.rank = value, lo, hi, dagger, 0
        self.digits, self.ref, self.printed_tie = digits, ref, False


def _printed(value, digits):
    """The value as the table prints it (marks are decided on this, not on the full precision)."""
    return float(f"{value:.{digits}f}")


def _mark_column(cells, *, lower_is_better=False):
    """rank 1 on the best printed value(s), 2 on the next printed value when the best is alone, 0 elsewhere.

    Values that print equal are equal here: they get the same mark (``printed_tie`` says a mark
    was shared by values that differ at full precision, for the caption)."""
    shown = [(c, _printed(c.value, c.digits)) for c in cells if c.value is not None and np.isfinite(c.value)]
    values = sorted({v for _, v in shown}, reverse=not lower_is_better)
    n_best = sum(1 for _, v in shown if values and v == values[0])
    for c, v in shown:
        if v == values[0]:
            c.rank = 1
        elif n_best == 1 and len(values) > 1 and v == values[1]:
            c.rank = 2  # (competition ranking: two equal best values leave no second)
        if c.rank == 1:
            c.dagger = False
    for rank in (1, 2):
        same = [c for c, _ in shown if c.rank == rank]
        if len({c.value for c in same}) > 1:
            for c in same:
                c.printed_tie = True


def _model_order(result):
    s = result.summary.set_index("model")["mean_rank"] if not result.summary.empty else pd.Series(dtype=float)
    first = {m: k for k, m in enumerate(result.models)}
    return sorted(result.models, key=lambda m: (not np.isfinite(s.get(m, np.nan)), s.get(m, np.inf), first[m]))


def _grid(result, metrics, digits=None):
    """(column specs, model order, {(model, column index): _Cell})."""
    cells = result.cells.set_index(["dataset", "model"]) if not result.cells.empty else None
    models = _model_order(result)
    columns = []  # (group, label, key)
    for d in result.datasets:
        for m in metrics:
            columns.append((d, _LABEL[m], ("cell", d, m)))
    summary = result.summary.set_index("model")
    # one dataset: its mean, weighted mean and mean rank would repeat its own columns
    has_summary = bool(result.settings.get("summary_datasets")) and len(result.datasets) > 1
    if has_summary:
        for kind, group in (("mean", "mean"), ("weighted", "N-weighted mean")):
            for m in metrics:
                if m != "rmse":  # RMSE is in each dataset's own MOS units: no mean
                    columns.append((group, _LABEL[m], ("summary", f"{kind}_{m}")))
        columns.append(("", "mean rank", ("summary", "mean_rank")))
    grid = {}
    for k, (_, _, key) in enumerate(columns):
        col = []
        n = _digits(key, digits)
        for model in models:
            if key[0] == "cell":
                _, d, m = key
                if cells is not None and (d, model) in cells.index:
                    row = cells.loc[(d, model)]
                    lo, hi = (row.get(f"{m}_ci_low", np.nan), row.get(f"{m}_ci_high", np.nan)) if m != "rmse" else (np.nan, np.nan)
                    c = _Cell(float(row[m]), float(lo), float(hi), bool(row[_TESTED[m]]) if m in _TESTED else False, n)
                else:
                    c = _Cell(None, digits=n)
            else:
                c = _Cell(float(summary.loc[model, key[1]]) if model in summary.index else np.nan, digits=n)
            grid[(model, k)] = c
            col.append(c)
        lower = key[-1] in ("rmse", "mean_rank")
        _mark_column(col, lower_is_better=lower)
    return columns, models, grid


CEILING_LABEL = "noise ceiling"


def _ceiling_cells(result, columns, digits=None):
    """The reference row as one _Cell per column (SROCC and PLCC of datasets with a ceiling), or None."""
    ceilings = getattr(result, "ceilings", None) or {}
    if not ceilings:
        return None
    row = []
    for _, _, key in columns:
        c = ceilings.get(key[1]) if key[0] == "cell" and key[2] in ("srocc", "plcc") else None
        if c is None:
            row.append(_Cell(None, ref=True))
        else:
            d = c.as_dict()
            row.append(_Cell(d[key[2]], d[f"{key[2]}_ci_low"], d[f"{key[2]}_ci_high"], digits=_digits(key, digits),
                             ref=True))   # rank 0: never marked
    return row


def _ceiling_words(result, name=str):
    ceilings = getattr(result, "ceilings", None) or {}
    if not ceilings:
        return None
    return (f"{CEILING_LABEL}: the expected SROCC and PLCC of a perfect model against each dataset's MOS (from its "
            f"std and n_ratings; {', '.join(map(name, ceilings))}); a reference, not a model: not ranked or tested.")


def _spans(columns) -> list:
    """(first column index, number of columns) of each run of columns with the same group."""
    out, k = [], 0
    while k < len(columns):
        span = 1
        while k + span < len(columns) and columns[k + span][0] == columns[k][0]:
            span += 1
        out.append((k, span))
        k += span
    return out


def _fmt_value(c: _Cell, show_ci: bool, *, sep=", ") -> tuple:
    """(value text, CI text) of a cell; ('', '') for an absent cell."""
    if c.value is None:
        return "", ""
    if not np.isfinite(c.value):
        return "nan", ""
    digits = c.digits
    v = f"{c.value:.{digits}f}"
    ci = f"[{c.lo:.{digits}f}{sep}{c.hi:.{digits}f}]" if show_ci and np.isfinite(c.lo) and np.isfinite(c.hi) else ""
    return v, ci


def _digits(key, digits=None) -> int:
    """Decimals of a column: ``digits`` (default 3) for values, 2 for the mean rank."""
    return 2 if key[-1] == "mean_rank" else (3 if digits is None else int(digits))


# -- the layout: rows and columns in print order, shared by every format -----------------------
class _Layout:
    """What every text format prints, before escaping: the corner heading, column groups (text, span)
    (None: one header row), column labels, and sections of rows ``(label, [cells])`` with an
    optional header row (a model group, or a dataset in the transposed table) and a rule above."""

    def __init__(self, corner, col_groups, col_labels, sections, info):
        self.corner, self.col_groups, self.col_labels, self.sections, self.info = (
            corner, col_groups, col_labels, sections, info)


def check_model_names(result, labels=None, groups=None) -> tuple:
    """``(labels, groups)`` as dicts over the result's models; a name of no model, a non-string
    value or two models with one label is an :class:`~iqa_eval.errors.InputError`."""
    out = []
    for what, mapping in (("label", labels), ("group", groups)):
        mapping = dict(mapping or {})
        unknown = [m for m in mapping if m not in result.models]
        if unknown:
            raise InputError(f"{what} for {unknown[0]!r}: no such model (models: {', '.join(map(repr, result.models))})")
        bad = [m for m, v in mapping.items() if not isinstance(v, str) or not v.strip()]
        if bad:
            raise InputError(f"{what} for {bad[0]!r} must be a non-empty string")
        out.append(mapping)
    labels, groups = out
    shown = {}
    for m in result.models:
        text = labels.get(m, m)
        if text in shown:
            raise InputError(f"models {shown[text]!r} and {m!r} would both print as {text!r}: give distinct labels")
        shown[text] = m
    return labels, groups


def _sections(models, groups):
    """[(group or None, [models])]: the groups in the order first given, models in table order."""
    if not groups:
        return [(None, list(models))]
    order = list(dict.fromkeys(groups.values()))
    out = [(g, [m for m in models if groups.get(m) == g]) for g in order]
    rest = [m for m in models if m not in groups]
    return [(g, ms) for g, ms in out if ms] + ([(None, rest)] if rest else [])


def _layout(result, metrics, *, labels=None, groups=None, digits=None, transpose=False) -> _Layout:
    columns, models, grid = _grid(result, metrics, digits)
    labels, groups = check_model_names(result, labels, groups)
    name = lambda m: labels.get(m, m)   # noqa: E731
    ceiling = _ceiling_cells(result, columns, digits)
    cells = [grid[(m, k)] for m in models for k in range(len(columns))]
    info = {"dagger": any(c.dagger for c in cells), "empty": any(c.value is None for c in cells),
            "printed_tie": any(c.printed_tie for c in cells),
            "mean_rank": any(key[-1] == "mean_rank" for _, _, key in columns), "transpose": transpose,
            "second": any(c.rank == 2 for c in cells)}
    if not transpose:
        col_groups = [(columns[k][0], span) for k, span in _spans(columns)]
        sections = [(g, False, [(name(m), [grid[(m, k)] for k in range(len(columns))]) for m in ms])
                    for g, ms in _sections(models, groups)]
        if ceiling:
            sections.append((None, True, [(CEILING_LABEL, ceiling)]))
        return _Layout("model", col_groups, [lab for _, lab, _ in columns], sections, info)
    # transposed: one column per model (blocks of model groups), one row per metric, datasets as row sections
    parts = _sections(models, groups)
    order = [m for _, ms in parts for m in ms]
    col_groups = [(g or "", len(ms)) for g, ms in parts] if groups else None
    col_labels = [name(m) for m in order] + ([CEILING_LABEL] if ceiling else [])
    if col_groups is not None and ceiling:
        col_groups.append(("", 1))
    sections = []
    for start, span in _spans(columns):
        rows = [(columns[k][1], [grid[(m, k)] for m in order] + ([ceiling[k]] if ceiling else []))
                for k in range(start, start + span)]
        sections.append((columns[start][0] or None, False, rows))
    return _Layout("dataset" if len(result.datasets) else "", col_groups, col_labels, sections, info)


# -- words: legend and caption ------------------------------------------------------------
def _friedman_words(result, name=str) -> str:
    f = result.friedman
    common = result.settings.get("summary_datasets") or []
    if f is None:
        return ("Friedman test: not computed (it needs at least 2 datasets on which every model has a cell; "
                f"{len(common)} here).")
    k = len(f.mean_ranks)
    post = getattr(result, "posthoc", None)
    if f.test is not None:  # chi-square, Iman-Davenport and the permutation p, and which decides
        words = (f"Friedman test over the {f.n_datasets} datasets where every model has a cell "
                 f"({', '.join(map(name, common))}), {k} models: {name(f.test.describe())}.")
        if post is not None and post.test != "nemenyi":
            return words + " " + name(post.describe()) + "."
        return words + (f" Nemenyi critical difference of mean ranks CD = {f.critical_difference:.3f} "
                        f"(alpha = {f.alpha:g}, Demšar 2006).")
    return (f"Friedman test over the {f.n_datasets} datasets where every model has a cell ({', '.join(map(name, common))}): "
            f"chi2 = {f.statistic:.3f}, p = {format_p(f.pvalue)} ({k} models); Nemenyi critical difference of "
            f"mean ranks CD = {f.critical_difference:.3f} (alpha = {f.alpha:g}, Demšar 2006).")


def _and(words) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _legend_lines(result, metrics, name=str, show_ci=True, info=None) -> list:
    """The caption, in lines, saying only what applies to the table printed (``info``: what it holds,
    from :func:`_layout`); ``name`` escapes user strings (dataset names) for the format."""
    info = info if info is not None else _layout(result, metrics).info
    s = result.settings
    level = 100 * s.get("confidence_level", 0.95)
    mapped = [m for m in metrics if m in ("plcc", "rmse")]
    words = f"{_and([_LABEL[m] for m in metrics])} per dataset"
    if mapped:
        words += f"; {_and([_LABEL[m] for m in mapped])} after {_MAPPING_WORDS.get(s['mapping'], s['mapping'])}"
    has_ci = any(m != "rmse" for m in metrics)
    if has_ci:
        words += "; " + (f"[{level:g}% CI] ({s['ci']})." if show_ci else
                         f"{level:g}% CIs ({s['ci']}) in the CSV and JSON output.")
    else:
        words += "."
    lines = [words]
    marks = "Best bold" + (", second underlined" if info.get("second") else "")
    if info.get("printed_tie"):
        marks += ", decided on the printed values (values that print equal share a mark)"
    lines.append(marks + ".")
    if info.get("dagger"):
        where = "values" if info.get("transpose") else "columns"
        tested = _and([_LABEL[m] for m in metrics if m in _TESTED])
        lines.append(TIE_MARK + " " + s["tie_rule"] + f" ({tested} {where}).")
    if info.get("empty"):
        lines.append("An empty cell: the model is not in that dataset.")
    if len(result.datasets) > 1:
        common = s.get("summary_datasets") or []
        if common:
            lines.append(f"Mean and N-weighted mean (by each cell's number of images) over the datasets where every "
                         f"model has a cell: {', '.join(map(name, common))}"
                         + ("; mean rank: of the SROCC ranks within each dataset (1 = best)." if info.get("mean_rank")
                            else "."))
        else:
            lines.append("No dataset has a cell for every model: no mean, mean rank or Friedman test.")
        if result.friedman is not None:
            lines.append(_friedman_words(result, name))
    words = _ceiling_words(result, name)
    if words:
        lines.append(words)
    return lines


# -- terminal -------------------------------------------------------------------------------
def _text_cell(c, show_ci, marks=True):
    sup = {1: "\u00b9", 2: "\u00b2", 0: ""}
    v, ci = _fmt_value(c, show_ci)
    if not v:
        return ""
    if not marks or c.ref:
        return " ".join(p for p in (v, ci) if p)
    return (v + (sup[c.rank] + (TIE_MARK if c.dagger else "")).ljust(2) + (" " + ci if ci else "")).rstrip()


def _table(layout, legend, *, show_ci=True, color=False) -> str:
    head2 = [layout.corner] + list(layout.col_labels)
    body = []   # ("rule",) | ("header", text) | ("row", [(text, rank)])
    for k, (header, rule, rows) in enumerate(layout.sections):
        if k or rule:
            body.append(("rule",))
        if header:
            body.append(("header", terminal_safe(header)))
        for label, cells in rows:
            body.append(("row", [(terminal_safe(label), 0)] + [(_text_cell(c, show_ci), 0 if c.ref else c.rank)
                                                              for c in cells]))
    widths = [max([len(head2[k])] + [len(r[1][k][0]) for r in body if r[0] == "row"]) for k in range(len(head2))]
    if layout.col_groups:
        head1 = [""] + [terminal_safe(g) for g, _ in layout.col_groups]
        start = 1
        for g, span in layout.col_groups:  # a group name longer than its columns widens the last one
            need = len(terminal_safe(g)) - (sum(widths[start:start + span]) + 2 * (span - 1))
            if need > 0:
                widths[start + span - 1] += need
            start += span

    def style(text, rank, width):
        pad = text.ljust(width)
        if color and rank == 1:
            return f"\033[1m{pad}\033[0m"
        if color and rank == 2:
            return f"\033[4m{pad}\033[0m"
        return pad

    out = []
    if layout.col_groups:
        top, start = [head2[0].ljust(widths[0])], 1
        for g, span in layout.col_groups:
            top.append(terminal_safe(g).ljust(sum(widths[start:start + span]) + 2 * (span - 1)))
            start += span
        out.append("  ".join(top).rstrip())
        head2[0] = ""
    out += ["  ".join(h.ljust(w) for h, w in zip(head2, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    for item in body:
        if item[0] == "rule":
            out.append("  ".join("-" * w for w in widths))
        elif item[0] == "header":
            out.append(item[1])
        else:
            out.append("  ".join(style(t, r, w) if i else t.ljust(w) for i, ((t, r), w) in
                                 enumerate(zip(item[1], widths))).rstrip())
    if legend:
        legend = list(legend)
        legend[1] = (legend[1].replace("Best bold", "\u00b9 best (bold)")
                     .replace("second underlined", "\u00b2 second (underlined)"))
        out += [""] + [terminal_safe(line) for line in legend]
    return "\n".join(out) + "\n"


# -- Markdown ---------------------------------------------------------------------------------
def _md_cell(c, show_ci):
    v, ci = _fmt_value(c, show_ci)
    if not v:
        return ""
    ci = " " + ci.replace("[", "\\[").replace("]", "\\]") if ci else ""
    if c.ref:
        return f"*{v}{ci}*"
    if c.rank == 1:
        v = f"**{v}**"
    elif c.rank == 2:
        v = f"<u>{v}</u>"
    return v + (TIE_MARK if c.dagger else "") + ci


def _markdown(layout, legend, *, show_ci=True) -> str:
    labels = list(layout.col_labels)
    if layout.col_groups:
        groups = [g for g, span in layout.col_groups for _ in range(span)]
        labels = [(markdown_safe(g) + " " if g else "") + markdown_safe(lab) for g, lab in zip(groups, labels)]
    else:
        labels = [markdown_safe(lab) for lab in labels]
    ncol = len(labels)
    out = ["| " + " | ".join([layout.corner] + labels) + " |", "|" + "|".join(["---"] + ["---:"] * ncol) + "|"]
    for header, rule, rows in layout.sections:
        if header:
            out.append("| " + " | ".join([f"**{markdown_safe(header)}**"] + [""] * ncol) + " |")
        for label, cells in rows:
            ref = rule and not header
            first = f"*{markdown_safe(label)}*" if ref else markdown_safe(label)
            out.append("| " + " | ".join([first] + [_md_cell(c, show_ci) for c in cells]) + " |")
    if legend:
        out += [""] + [line + "  " for line in legend]
    return "\n".join(out).rstrip() + "\n"


# -- HTML -------------------------------------------------------------------------------------
_CSS = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "th,td{padding:.25em .6em;text-align:right}th[scope=row]{text-align:left}"
        "th[scope=rowgroup]{text-align:left;font-style:italic;font-weight:normal}"
        # booktabs: rules on the table's own rows and cells (> th, > td), never on the CI's <small> inside a cell
        "thead tr:first-child>th{border-top:2px solid #000}thead tr:last-child>th{border-bottom:1px solid #000}"
        "tbody+tbody tr:first-child>*,tfoot tr:first-child>*{border-top:1px solid #000}"
        "table>:last-child>tr:last-child>*{border-bottom:2px solid #000}"
        "caption{caption-side:bottom;text-align:left;max-width:60em;font-size:90%;padding-top:.5em}"
        "td.ref,th.ref{font-style:italic}")


def _html_cell(c, show_ci, e):
    v, ci = _fmt_value(c, show_ci)
    if not v:
        return "<td></td>"
    ci = f" <small>{e(ci)}</small>" if ci else ""
    if c.ref:
        return f"<td class=\"ref\">{v}{ci}</td>"
    if c.rank == 1:
        v = f"<b>{v}</b>"
    elif c.rank == 2:
        v = f"<u>{v}</u>"
    return "<td>" + v + (TIE_MARKS["html"] if c.dagger else "") + ci + "</td>"


def _html_table(layout, legend, *, show_ci=True, extra="") -> str:
    e = _html.escape
    ncol = len(layout.col_labels)
    if layout.col_groups:
        head = ["<tr><th rowspan=\"2\">" + e(layout.corner) + "</th>"
                + "".join(f"<th colspan=\"{s}\">{e(terminal_safe(g))}</th>" for g, s in layout.col_groups) + "</tr>",
                "<tr>" + "".join(f"<th>{e(terminal_safe(lab))}</th>" for lab in layout.col_labels) + "</tr>"]
    else:
        head = ["<tr><th>" + e(layout.corner) + "</th>"
                + "".join(f"<th>{e(terminal_safe(lab))}</th>" for lab in layout.col_labels) + "</tr>"]
    bodies = []
    for header, rule, rows in layout.sections:
        tag = "tfoot" if rule and not header else "tbody"
        trs = []
        if header:
            trs.append(f"<tr><th scope=\"rowgroup\" colspan=\"{ncol + 1}\">{e(terminal_safe(header))}</th></tr>")
        for label, cells in rows:
            ref = tag == "tfoot"
            open_row = '<tr class="ceiling"><th scope="row" class="ref">' if ref else '<tr><th scope="row">'
            trs.append(f"{open_row}{e(terminal_safe(label))}</th>"
                       + "".join(_html_cell(c, show_ci, e) for c in cells) + "</tr>")
        bodies.append(f"<{tag}>\n" + "\n".join(trs) + f"\n</{tag}>")
    caption = (f"<caption>{' '.join(e(line) for line in legend).replace(TIE_MARK, TIE_MARKS['html'])}</caption>\n"
               if legend else "")
    body = "<table>\n" + caption + "<thead>\n" + "\n".join(head) + "\n</thead>\n" + "\n".join(bodies) + "\n</table>"
    return page("iqa-eval bench", f"\n{body}{extra}\n", with_plotly=False, css=_CSS)


# -- LaTeX ------------------------------------------------------------------------------------
#: About how many characters of a table's widest row fit in a one-column article's \linewidth;
#: a wider table is scaled down to \linewidth (fit='auto').
_LATEX_WIDE = 75


def _latex_cell(c, show_ci):
    v, ci = _fmt_value(c, show_ci)
    if not v:
        return ""
    if c.ref:
        return r"\textit{" + v + "}" + (r"\,{\scriptsize\itshape " + ci + "}" if ci else "")
    if c.rank == 1:
        v = r"\textbf{" + v + "}"
    elif c.rank == 2:
        v = r"\underline{" + v + "}"
    if c.dagger:
        v += TIE_MARKS["latex"]
    if ci:
        v += r"\,{\scriptsize " + ci + "}"
    return v


def _latex_caption(legend) -> str:
    caption = " ".join(tex(line) for line in legend)
    return (caption.replace(TIE_MARK, TIE_MARKS["latex"]).replace("chi2", r"$\chi^2$")
            .replace(r"\textgreater{}=", r"$\geq$")
            .replace("Best bold", r"Best \textbf{bold}").replace("second underlined", r"second \underline{underlined}"))


def _latex_width(layout, show_ci) -> int:
    """The table's width in characters as printed (the widest text per column, 2 between columns)."""
    cols = [[layout.corner] + [label for _, _, rows in layout.sections for label, _ in rows]]
    for k, lab in enumerate(layout.col_labels):
        cols.append([lab] + [" ".join(p for p in _fmt_value(cells[k], show_ci) if p) + "  "
                             for _, _, rows in layout.sections for _, cells in rows])
    width = sum(max(len(t) for t in col) + 2 for col in cols)
    if layout.col_groups:
        width = max(width, sum(len(g) + 2 for g, _ in layout.col_groups))
    return width


def _latex(layout, legend, *, show_ci=False, fit="auto") -> str:
    ncol = len(layout.col_labels)
    spec = "l" + "c" * ncol
    resize = fit == "resize" or (fit == "auto" and _latex_width(layout, show_ci) > _LATEX_WIDE)
    out = [r"% requires \usepackage{booktabs}" + (r" and \usepackage{graphicx}" if resize else ""),
           r"\begin{table}[t]", r"\centering"]
    if legend:
        out.append(r"\caption{" + _latex_caption(legend) + "}")
    out.append(r"\label{tab:iqa-eval-bench}")
    if resize:   # scaled to the text width (a table wider than the page would run off it)
        out.append(r"\resizebox{\linewidth}{!}{%")
    out += [r"\begin{tabular}{" + spec + "}", r"\toprule"]
    if layout.col_groups:
        groups, start = [], 2
        for g, s in layout.col_groups:
            groups.append((g, s, start))
            start += s
        out.append(" & ".join([""] + [(r"\multicolumn{%d}{c}{%s}" % (s, tex(g)) if s > 1 else tex(g))
                                      for g, s, _ in groups]) + r" \\")
        rules = " ".join(r"\cmidrule(lr){%d-%d}" % (start, start + s - 1) for g, s, start in groups if g)
        if rules:
            out.append(rules)
    out.append(" & ".join([tex(layout.corner.capitalize())] + [tex(lab) for lab in layout.col_labels]) + r" \\")
    out.append(r"\midrule")
    for k, (header, rule, rows) in enumerate(layout.sections):
        if k or rule:
            out.append(r"\midrule")
        if header:
            out.append(r"\multicolumn{%d}{l}{\textit{%s}} \\" % (ncol + 1, tex(header)))
        for label, cells in rows:
            ref = rule and not header
            first = r"\textit{" + tex(label) + "}" if ref else tex(label)
            out.append(" & ".join([first] + [_latex_cell(c, show_ci) for c in cells]) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}"]
    if resize:
        out.append("}")
    out.append(r"\end{table}")
    return "\n".join(out) + "\n"


# -- CSV and JSON ---------------------------------------------------------------------------------
def _csv(result, metrics, *, labels=None, groups=None) -> str:
    """The paper table, wide: one row per model, full precision, CIs and marks as columns."""
    models = _model_order(result)
    cells = result.cells.set_index(["dataset", "model"]) if not result.cells.empty else None
    summary = result.summary.set_index("model")
    rows = []
    for model in models:
        row = {"model": csv_safe(str(model))}
        if labels or groups:
            row["label"] = csv_safe(str((labels or {}).get(model, model)))
            row["group"] = csv_safe(str((groups or {}).get(model, "")))
        for d in result.datasets:
            present = cells is not None and (d, model) in cells.index
            c = cells.loc[(d, model)] if present else None
            pre = csv_safe(str(d)) + ":"
            row[pre + "n"] = int(c["n"]) if present else None
            for m in metrics:
                row[pre + m] = c[m] if present else None
                if m != "rmse":
                    row[pre + m + "_ci_low"] = c[f"{m}_ci_low"] if present else None
                    row[pre + m + "_ci_high"] = c[f"{m}_ci_high"] if present else None
            row[pre + "rank"] = c["rank"] if present else None
            row[pre + "tied_with_best"] = bool(c["tied_with_best"]) if present else None
        if result.settings.get("summary_datasets"):
            for m in metrics:
                if m != "rmse":
                    row[f"mean_{m}"] = summary.loc[model, f"mean_{m}"]
                    row[f"weighted_{m}"] = summary.loc[model, f"weighted_{m}"]
            row["mean_rank"] = summary.loc[model, "mean_rank"]
        rows.append(row)
    frame = pd.DataFrame(rows)
    for col in frame.columns:
        if col.endswith(":n"):
            frame[col] = frame[col].astype("Int64")
    return frame.to_csv(index=False)


def to_json_dict(result) -> dict:
    """The JSON document as a dict (keys as documented in docs/bench.md)."""
    cells = [{"dataset": r["dataset"], "model": r["model"], "n": int(r["n"]), "srocc": _plain(r["srocc"]),
              "srocc_ci_low": _plain(r["srocc_ci_low"]), "srocc_ci_high": _plain(r["srocc_ci_high"]),
              "krcc": _plain(r["krcc"]), "plcc": _plain(r["plcc"]), "plcc_ci_low": _plain(r["plcc_ci_low"]),
              "plcc_ci_high": _plain(r["plcc_ci_high"]), "rmse": _plain(r["rmse"]), "rank": _plain(r["rank"]),
              "tied_with_best": bool(r["tied_with_best"])} for r in result.cells.to_dict("records")]
    summary = [{k: _plain(r[k]) for k in ("model", "mean_srocc", "weighted_srocc", "mean_plcc", "weighted_plcc",
                                          "mean_rank")} for r in result.summary.to_dict("records")]
    f = result.friedman
    doc = {"datasets": list(result.datasets), "models": list(result.models), "cells": cells, "summary": summary,
           "friedman": None if f is None else {"statistic": _plain(f.statistic), "pvalue": _plain(f.pvalue),
                                               "critical_difference": _plain(f.critical_difference),
                                               **_friedman_test_json(f.test)},
           "notes": list(result.notes),
           "settings": {k: (list(v) if isinstance(v, (list, tuple)) else _plain(v))
                        for k, v in result.settings.items()}}
    post = getattr(result, "posthoc", None)
    if post is not None:
        doc["posthoc"] = {"test": post.test, "order": list(post.order), "cliques": [list(c) for c in post.cliques],
                          "pairs": [{k: (_plain(v) if isinstance(v, float) else v.item() if hasattr(v, "item") else v)
                                     for k, v in row.items()} for row in post.pairs.to_dict("records")],
                          "settings": {k: _plain(v) for k, v in post.settings.items()}}
    doc["ceilings"] = {d: {k: _plain(v) for k, v in c.as_dict().items()}
                       for d, c in (getattr(result, "ceilings", None) or {}).items()}
    if result.krasula:
        doc["krasula"] = krasula_json(result.krasula)
    return doc


def _friedman_test_json(t) -> dict:
    """Iman-Davenport and the permutation p of :class:`iqa_eval.stats.posthoc.FriedmanTest` (chi2 is ``pvalue``)."""
    if t is None:
        return {}
    return {"f_statistic": _plain(t.f_statistic), "f_pvalue": _plain(t.f_pvalue),
            "permutation_pvalue": _plain(t.permutation_pvalue), "permutation_method": t.permutation_method,
            "n_permutations": int(t.n_permutations), "permutation_seed": t.seed, "decides": t.decides,
            "decision_pvalue": _plain(t.pvalue)}


@validate_params({"fit": LATEX_FITS, "digits": TABLE_DIGITS})
def format_benchmark(result, fmt: str = "table", *, metrics=("srocc", "plcc"), show_ci=None,
                     color: bool = False, labels=None, groups=None, digits=None, caption: bool = True,
                     transpose: bool = False, fit: str = "auto") -> str:
    """Render a :class:`~iqa_eval.studies.bench.Benchmark` as text.

    Parameters
    ----------
    result : Benchmark
    fmt : {'table', 'csv', 'json', 'markdown', 'html', 'latex'}
        JSON carries every cell of every metric (``metrics`` does not apply); CSV is the
        wide paper table at full precision.
    metrics : iterable of {'srocc', 'krcc', 'plcc', 'rmse'}
        Columns per dataset.
    show_ci : bool, optional
        Intervals next to the values (default: yes, except in LaTeX).
    color : bool
        ANSI bold / underline in the terminal table.
    labels : dict, optional
        ``{model: display name}`` (the printed name; JSON and CSV keep the model's name and add it).
    groups : dict, optional
        ``{model: group}``: rows in blocks, one per group in the order first given, each under a
        header row and a rule (columns blocks with ``transpose``); models without a group last.
    digits : int, optional
        Decimals of the values (default 3; the mean rank keeps 2). Best and second-best marks are
        decided on the printed values: values that print equal share a mark.
    caption : bool
        The legend (LaTeX: ``\\caption``); False leaves it out (see :func:`benchmark_caption`).
    transpose : bool
        Datasets (and the summary) as rows, models as columns.
    fit : {'auto', 'resize', 'none'}
        LaTeX: scale the tabular to ``\\linewidth`` (``\\resizebox``, needs graphicx) when it is
        wider than about 75 characters ('auto'), always, or never.

    Returns
    -------
    str
    """
    fmt = check_choice("fmt", fmt, BENCH_FORMATS)
    metrics = check_metrics(metrics)
    if fmt in ("json", "csv"):
        labels, groups = check_model_names(result, labels, groups)
        if fmt == "json":
            doc = to_json_dict(result)
            if labels or groups:
                doc["labels"] = {m: labels.get(m, m) for m in result.models}
                doc["groups"] = {m: groups.get(m) for m in result.models}
            return json.dumps(doc, indent=2, allow_nan=False) + "\n"
        return _csv(result, metrics, labels=labels, groups=groups)
    ci = (fmt != "latex") if show_ci is None else bool(show_ci)
    layout = _layout(result, metrics, labels=labels, groups=groups, digits=digits, transpose=transpose)
    legend = _legend_lines(result, metrics, markdown_safe if fmt == "markdown" else str, ci, layout.info) \
        if caption else None
    if fmt == "latex":
        text = _latex(layout, legend, show_ci=ci, fit=fit)
        if result.krasula:
            text += format_krasula(result.krasula, "latex")
        return text
    if fmt == "markdown":
        text = _markdown(layout, legend, show_ci=ci)
        return text + ("\n" + format_krasula(result.krasula, "markdown") if result.krasula else "")
    if fmt == "html":
        extra = "\n" + format_krasula(result.krasula, "html") if result.krasula else ""
        return _html_table(layout, legend, show_ci=ci, extra=extra)
    text = _table(layout, legend, show_ci=ci, color=color)
    return text + ("\n" + format_krasula(result.krasula, "table").rstrip("\n") + "\n" if result.krasula else "")


@validate_params({"digits": TABLE_DIGITS})
def benchmark_caption(result, fmt: str = "table", *, metrics=("srocc", "plcc"), show_ci=None, labels=None,
                      groups=None, digits=None, transpose: bool = False) -> str:
    """The caption :func:`format_benchmark` prints with the same arguments, alone (for a separate file):
    LaTeX text for ``fmt='latex'`` (the body of ``\\caption{...}``), Markdown or HTML-escaped text, else plain."""
    fmt = check_choice("fmt", fmt, BENCH_FORMATS)
    metrics = check_metrics(metrics)
    ci = (fmt != "latex") if show_ci is None else bool(show_ci)
    layout = _layout(result, metrics, labels=labels, groups=groups, digits=digits, transpose=transpose)
    legend = _legend_lines(result, metrics, markdown_safe if fmt == "markdown" else str, ci, layout.info)
    if fmt == "latex":
        return _latex_caption(legend) + "\n"
    if fmt == "html":
        return " ".join(_html.escape(line) for line in legend).replace(TIE_MARK, TIE_MARKS["html"]) + "\n"
    if fmt == "markdown":
        return "\n".join(line + "  " for line in legend).rstrip() + "\n"
    return "\n".join(terminal_safe(line) for line in legend) + "\n"


# -- critical-difference diagram --------------------------------------------------------------------
def cd_diagram(result, path=None, *, ax=None):
    """Critical-difference diagram (Demšar 2006) of ``result.friedman``.

    Models on an axis of mean rank (1 = best, at the left); a bar of length CD; a thick line
    joins every group of models whose mean ranks differ by less than CD (not shown to
    differ by the Nemenyi test). Returns the matplotlib Figure; saved when ``path`` is
    given (``.png``, ``.pdf`` or ``.svg``).
    """
    from .plot import _t

    f = getattr(result, "friedman", result)
    if f is None:
        raise InputError("no critical-difference diagram: the Friedman test needs at least 2 datasets on which "
                         "every model has a cell")
    items = sorted(f.mean_ranks.items(), key=lambda kv: (kv[1], str(kv[0])))
    k = len(items)
    cd = f.critical_difference
    lo, hi = 1, max(k, 2)
    label_in = 0.075 * max(len(_t(name)) + 7 for name, _ in items) + 0.5  # inches beside the axis
    width = max(7.5, 4 * label_in + 3.0)
    if ax is None:
        from matplotlib.figure import Figure
        fig = Figure(figsize=(width, 1.6 + 0.28 * k), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    pad = label_in * (hi - lo) / (width - 2 * label_in)
    ax.set_xlim(lo - pad, hi + pad)
    n_left = (k + 1) // 2
    depth = 0.35 * (n_left + 1)
    ax.set_ylim(-depth - 0.2, 1.0)
    ax.axis("off")
    ax.hlines(0, lo, hi, color="black", lw=1)
    for t in range(lo, hi + 1):
        ax.vlines(t, 0, 0.08, color="black", lw=1)
        ax.text(t, 0.12, str(t), ha="center", va="bottom", fontsize=9)
    # CD bar above the axis, from rank 1
    post = getattr(result, "posthoc", None)
    if post is None or post.test == "nemenyi":
        ax.hlines(0.62, lo, lo + cd, color="black", lw=1.5)
        ax.vlines([lo, lo + cd], 0.57, 0.67, color="black", lw=1.5)
        ax.text(lo + cd / 2, 0.7, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)
    for idx, (name, r) in enumerate(items):
        left = idx < n_left
        level = (idx + 1) if left else (k - idx)
        y = -0.35 * level
        x_end = lo - 0.35 if left else hi + 0.35
        ax.plot([r, r, x_end], [0, y, y], color="black", lw=0.8)
        ax.text(x_end + (-0.05 if left else 0.05), y, f"{_t(name)} ({r:.2f})", ha="right" if left else "left",
                va="center", fontsize=9)
    # maximal groups of models within CD of each other (or the post-hoc test's cliques)
    ranks = [r for _, r in items]
    groups = []
    if post is not None and post.test != "nemenyi":
        where = {name: i for i, (name, _) in enumerate(items)}
        groups = [(min(where[m] for m in c), max(where[m] for m in c)) for c in post.cliques]
    else:
        for a in range(k):
            b = a
            while b + 1 < k and ranks[b + 1] - ranks[a] < cd:
                b += 1
            if b > a and not any(g0 <= a and b <= g1 for g0, g1 in groups):
                groups.append((a, b))
    for level, (a, b) in enumerate(groups):
        y = -0.12 - 0.1 * level
        ax.hlines(y, ranks[a] - 0.03, ranks[b] + 0.03, color="black", lw=3.5)
    t = f.test
    p_words = (f"p = {format_p(f.pvalue)}" if t is None else
               f"p = {format_p(t.pvalue)} ({_DECIDES_SHORT[t.decides]})")
    tail = (f"Nemenyi CD = {cd:.2f} (alpha = {f.alpha:g}, {f.n_datasets} datasets)"
            if post is None or post.test == "nemenyi" else
            f"bars: {_POSTHOC_SHORT[post.test]} ({f.n_datasets} datasets)")
    ax.set_title(f"Friedman \u03c7\u00b2 = {f.statistic:.2f}, {p_words}; {tail}", fontsize=9)
    if path is not None:
        from .plot import save_figure   # matplotlib's own save, written atomically

        save_figure(fig, path)
    return fig


_DECIDES_SHORT = {"exact": "exact permutation", "monte-carlo": "Monte Carlo permutation",
                  "iman-davenport": "Iman-Davenport F", "chi2": "\u03c7\u00b2"}
_POSTHOC_SHORT = {"wilcoxon-holm": "no pair differs (Wilcoxon-Holm)",
                  "bayes": "no pair practically different (Bayesian signed-rank)"}
