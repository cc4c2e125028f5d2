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
from ..options import BENCH_FORMATS, BENCH_METRICS, check_choice

__all__ = ["format_benchmark", "cd_diagram"]

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
    __slots__ = ("value", "lo", "hi", "rank", "dagger")

    def __init__(self, value=np.nan, lo=np.nan, hi=np.nan, dagger=False):
        self.value, self.lo, self.hi, self.dagger, self.rank = value, lo, hi, dagger, 0


def _mark_column(cells, *, lower_is_better=False):
    """rank 1 on the best value(s), 2 on the next value when the best is alone, 0 elsewhere."""
    values = sorted({c.value for c in cells if c.value is not None and np.isfinite(c.value)},
                    reverse=not lower_is_better)
    n_best = sum(1 for c in cells if values and c.value == values[0])
    for c in cells:
        if c.value is None or not np.isfinite(c.value):
            continue
        if c.value == values[0]:
            c.rank = 1
        elif n_best == 1 and len(values) > 1 and c.value == values[1]:
            c.rank = 2  # (competition ranking: two equal best values leave no second)
        if c.rank == 1:
            c.dagger = False


def _model_order(result):
    s = result.summary.set_index("model")["mean_rank"] if not result.summary.empty else pd.Series(dtype=float)
    first = {m: k for k, m in enumerate(result.models)}
    return sorted(result.models, key=lambda m: (not np.isfinite(s.get(m, np.nan)), s.get(m, np.inf), first[m]))


def _grid(result, metrics):
    """(column specs, model order, {(model, column index): _Cell})."""
    cells = result.cells.set_index(["dataset", "model"]) if not result.cells.empty else None
    models = _model_order(result)
    columns = []  # (group, label, key)
    for d in result.datasets:
        for m in metrics:
            columns.append((d, _LABEL[m], ("cell", d, m)))
    summary = result.summary.set_index("model")
    has_summary = bool(result.settings.get("summary_datasets"))
    if has_summary:
        for kind, group in (("mean", "mean"), ("weighted", "N-weighted mean")):
            for m in metrics:
                if m != "rmse":  # RMSE is in each dataset's own MOS units: no mean
                    columns.append((group, _LABEL[m], ("summary", f"{kind}_{m}")))
        columns.append(("", "mean rank", ("summary", "mean_rank")))
    grid = {}
    for k, (_, _, key) in enumerate(columns):
        col = []
        for model in models:
            if key[0] == "cell":
                _, d, m = key
                if cells is not None and (d, model) in cells.index:
                    row = cells.loc[(d, model)]
                    lo, hi = (row.get(f"{m}_ci_low", np.nan), row.get(f"{m}_ci_high", np.nan)) if m != "rmse" else (np.nan, np.nan)
                    c = _Cell(float(row[m]), float(lo), float(hi), bool(row[_TESTED[m]]) if m in _TESTED else False)
                else:
                    c = _Cell(None)
            else:
                c = _Cell(float(summary.loc[model, key[1]]) if model in summary.index else np.nan)
            grid[(model, k)] = c
            col.append(c)
        lower = key[-1] in ("rmse", "mean_rank")
        _mark_column(col, lower_is_better=lower)
    return columns, models, grid


CEILING_LABEL = "noise ceiling"


def _ceiling_cells(result, columns):
    """The reference row as one _Cell per column (SROCC and PLCC of datasets with a ceiling), or None."""
    ceilings = getattr(result, "ceilings", None) or {}
    if not ceilings:
        return None
    row = []
    for _, _, key in columns:
        c = ceilings.get(key[1]) if key[0] == "cell" and key[2] in ("srocc", "plcc") else None
        if c is None:
            row.append(_Cell(None))
        else:
            d = c.as_dict()
            row.append(_Cell(d[key[2]], d[f"{key[2]}_ci_low"], d[f"{key[2]}_ci_high"]))   # rank 0: never marked
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


def _fmt_value(c: _Cell, digits: int, show_ci: bool, *, sep=", ", dash="-") -> tuple:
    """(value text, CI text) of a cell; ('', '') for an absent cell."""
    if c.value is None:
        return "", ""
    if not np.isfinite(c.value):
        return "nan", ""
    v = f"{c.value:.{digits}f}"
    ci = f"[{c.lo:.{digits}f}{sep}{c.hi:.{digits}f}]" if show_ci and np.isfinite(c.lo) and np.isfinite(c.hi) else ""
    return v, ci


def _digits(key) -> int:
    return 2 if key[-1] == "mean_rank" else 3


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


def _legend_lines(result, metrics, name=str, show_ci=True) -> list:
    """The caption, in lines; ``name`` escapes user strings (dataset names) for the format."""
    s = result.settings
    level = 100 * s.get("confidence_level", 0.95)
    lines = [f"{' and '.join(_LABEL[m] for m in metrics)} per dataset; PLCC and RMSE after "
             f"{_MAPPING_WORDS.get(s['mapping'], s['mapping'])}; "
             + (f"[{level:g}% CI] ({s['ci']})." if show_ci else f"{level:g}% CIs ({s['ci']}) in the CSV and JSON output."),
             "Best bold, second underlined; " + TIE_MARK + " " + s["tie_rule"] + " (SROCC and PLCC columns).",
             "Ranks by SROCC within each dataset (1 = best); an empty cell: the model is not in that dataset."]
    common = s.get("summary_datasets") or []
    if common:
        lines.append(f"Mean and N-weighted mean (by each cell's number of images) over the datasets where every "
                     f"model has a cell: {', '.join(map(name, common))}.")
    else:
        lines.append("No dataset has a cell for every model: no mean, mean rank or Friedman test.")
    lines.append(_friedman_words(result, name))
    words = _ceiling_words(result, name)
    if words:
        lines.append(words)
    return lines


# -- terminal -------------------------------------------------------------------------------
def _table(result, metrics, *, show_ci=True, color=False) -> str:
    columns, models, grid = _grid(result, metrics)
    sup = {1: "\u00b9", 2: "\u00b2", 0: ""}
    head1 = ["model"] + [terminal_safe(g) for g, _, _ in columns]
    head2 = [""] + [lab for _, lab, _ in columns]
    body = []
    for model in models:
        line = [(terminal_safe(model), 0)]
        for k, (_, _, key) in enumerate(columns):
            c = grid[(model, k)]
            v, ci = _fmt_value(c, _digits(key), show_ci)
            marks = sup[c.rank] + (TIE_MARK if c.dagger else "")
            text = (v + marks.ljust(2) + (" " + ci if ci else "")).rstrip() if v else ""
            line.append((text, c.rank))
        body.append(line)
    ceiling = _ceiling_cells(result, columns)
    if ceiling:
        body.append([(CEILING_LABEL, 0)] + [(" ".join(p for p in _fmt_value(c, _digits(key), show_ci) if p), 0)
                                           for c, (_, _, key) in zip(ceiling, columns)])
    widths = [max(len(head2[k]), *(len(r[k][0]) for r in body)) for k in range(len(head2))]
    widths[0] = max(widths[0], len(head1[0]))
    spans = _spans(columns)
    for start, span in spans:  # a group name longer than its columns widens the last one
        need = len(head1[start + 1]) - (sum(widths[start + 1:start + 1 + span]) + 2 * (span - 1))
        if need > 0:
            widths[start + span] += need

    def style(text, rank, width):
        pad = text.ljust(width)
        if color and rank == 1:
            return f"\033[1m{pad}\033[0m"
        if color and rank == 2:
            return f"\033[4m{pad}\033[0m"
        return pad

    top = [head1[0].ljust(widths[0])] + [head1[start + 1].ljust(sum(widths[start + 1:start + 1 + span]) + 2 * (span - 1))
                                         for start, span in spans]
    out = ["  ".join(top).rstrip(), "  ".join(h.ljust(w) for h, w in zip(head2, widths)).rstrip(),
           "  ".join("-" * w for w in widths)]
    for k, line in enumerate(body):
        if ceiling and k == len(body) - 1:   # the reference row, below a rule
            out.append("  ".join("-" * w for w in widths))
        out.append("  ".join(style(t, r, w) if i else t.ljust(w) for i, ((t, r), w) in
                             enumerate(zip(line, widths))).rstrip())
    out.append("")
    legend = _legend_lines(result, metrics, show_ci=show_ci)
    legend[1] = legend[1].replace("Best bold, second underlined", "\u00b9 best (bold), \u00b2 second (underlined)")
    out += [terminal_safe(line) for line in legend]
    if result.krasula:
        out += ["", format_krasula(result.krasula, "table").rstrip("\n")]
    return "\n".join(out) + "\n"


# -- Markdown ---------------------------------------------------------------------------------
def _markdown(result, metrics, *, show_ci=True) -> str:
    columns, models, grid = _grid(result, metrics)
    header = ["model"] + [(markdown_safe(g) + " " if g else "") + lab for g, lab, _ in columns]
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * len(columns)) + "|"]
    for model in models:
        row = [markdown_safe(model)]
        for k, (_, _, key) in enumerate(columns):
            c = grid[(model, k)]
            v, ci = _fmt_value(c, _digits(key), show_ci)
            if v and c.rank == 1:
                v = f"**{v}**"
            elif v and c.rank == 2:
                v = f"<u>{v}</u>"
            row.append((v + (TIE_MARK if c.dagger else "") + (" " + ci.replace("[", "\\[").replace("]", "\\]")
                                                              if ci else "")) if v else "")
        out.append("| " + " | ".join(row) + " |")
    ceiling = _ceiling_cells(result, columns)
    if ceiling:   # italic, after the models
        row = [f"*{CEILING_LABEL}*"]
        for c, (_, _, key) in zip(ceiling, columns):
            v, ci = _fmt_value(c, _digits(key), show_ci)
            row.append(f"*{v}" + (" " + ci.replace("[", "\\[").replace("]", "\\]") if ci else "") + "*" if v else "")
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    out += [line + "  " for line in _legend_lines(result, metrics, markdown_safe, show_ci)]
    if result.krasula:
        out += ["", format_krasula(result.krasula, "markdown").rstrip("\n")]
    return "\n".join(out).rstrip() + "\n"


# -- HTML -------------------------------------------------------------------------------------
def _html_table(result, metrics, *, show_ci=True) -> str:
    e = _html.escape
    columns, models, grid = _grid(result, metrics)
    groups = [(columns[k][0], span) for k, span in _spans(columns)]
    rows = ["<tr><th rowspan=\"2\">model</th>" + "".join(f"<th colspan=\"{s}\">{e(g)}</th>" for g, s in groups)
            + "</tr>", "<tr>" + "".join(f"<th>{e(lab)}</th>" for _, lab, _ in columns) + "</tr>"]
    for model in models:
        tds = [f"<th scope=\"row\">{e(terminal_safe(model))}</th>"]
        for k, (_, _, key) in enumerate(columns):
            c = grid[(model, k)]
            v, ci = _fmt_value(c, _digits(key), show_ci)
            if v and c.rank == 1:
                v = f"<b>{v}</b>"
            elif v and c.rank == 2:
                v = f"<u>{v}</u>"
            tds.append("<td>" + ((v + (TIE_MARKS["html"] if c.dagger else "")
                                  + (f" <small>{e(ci)}</small>" if ci else "")) if v else "") + "</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    foot = ""
    ceiling = _ceiling_cells(result, columns)
    if ceiling:
        tds = [f"<th scope=\"row\">{CEILING_LABEL}</th>"]
        for c, (_, _, key) in zip(ceiling, columns):
            v, ci = _fmt_value(c, _digits(key), show_ci)
            tds.append("<td>" + ((v + (f" <small>{e(ci)}</small>" if ci else "")) if v else "") + "</td>")
        foot = "\n<tfoot>\n<tr class=\"ceiling\">" + "".join(tds) + "</tr>\n</tfoot>"
    caption = " ".join(e(line) for line in _legend_lines(result, metrics, show_ci=show_ci)).replace(TIE_MARK, TIE_MARKS["html"])
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
             "th,td{padding:.25em .6em;text-align:right}th[scope=row]{text-align:left}"
             "thead tr:first-child th{border-top:2px solid #000}tbody tr:last-child *{border-bottom:2px solid #000}"
             "thead tr:last-child th{border-bottom:1px solid #000}caption{caption-side:bottom;text-align:left;"
             "max-width:60em;font-size:90%;padding-top:.5em}tr.ceiling *{font-style:italic}"
             "tfoot tr:last-child *{border-bottom:2px solid #000}")
    body = (f"<table>\n<caption>{caption}</caption>\n<thead>\n{rows[0]}\n{rows[1]}\n</thead>\n<tbody>\n"
            + "\n".join(rows[2:]) + f"\n</tbody>{foot}\n</table>")
    extra = ""
    if result.krasula:
        extra = "\n" + format_krasula(result.krasula, "html")
    return page("iqa-eval bench", f"\n{body}{extra}\n", with_plotly=False, css=style)


# -- LaTeX ------------------------------------------------------------------------------------
def _latex(result, metrics, *, show_ci=False) -> str:
    columns, models, grid = _grid(result, metrics)
    groups = [(columns[k][0], span, k + 2) for k, span in _spans(columns)]
    spec = "l" + "".join("c" * s for _, s, _ in groups)
    caption = " ".join(tex(line) for line in _legend_lines(result, metrics, show_ci=show_ci))
    caption = (caption.replace(TIE_MARK, TIE_MARKS["latex"]).replace("chi2", r"$\chi^2$")
               .replace(r"\textgreater{}=", r"$\geq$")
               .replace("Best bold", r"Best \textbf{bold}").replace("second underlined", r"second \underline{underlined}"))
    out = [r"% requires \usepackage{booktabs}", r"\begin{table}[t]", r"\centering", r"\caption{" + caption + "}",
           r"\label{tab:iqa-eval-bench}", r"\begin{tabular}{" + spec + "}", r"\toprule"]
    out.append(" & ".join([""] + [(r"\multicolumn{%d}{c}{%s}" % (s, tex(g)) if s > 1 else tex(g))
                                  for g, s, _ in groups]) + r" \\")
    out.append(" ".join(r"\cmidrule(lr){%d-%d}" % (start, start + s - 1) for g, s, start in groups if g))
    out.append(" & ".join(["Model"] + [tex(lab) for _, lab, _ in columns]) + r" \\")
    out.append(r"\midrule")
    for model in models:
        row = [tex(model)]
        for k, (_, _, key) in enumerate(columns):
            c = grid[(model, k)]
            v, ci = _fmt_value(c, _digits(key), show_ci)
            if v and c.rank == 1:
                v = r"\textbf{" + v + "}"
            elif v and c.rank == 2:
                v = r"\underline{" + v + "}"
            if v and c.dagger:
                v += TIE_MARKS["latex"]
            if ci:
                v += r"\,{\scriptsize " + ci + "}"
            row.append(v)
        out.append(" & ".join(row) + r" \\")
    ceiling = _ceiling_cells(result, columns)
    if ceiling:   # below a rule, in italics, never marked
        row = [r"\textit{" + CEILING_LABEL + "}"]
        for c, (_, _, key) in zip(ceiling, columns):
            v, ci = _fmt_value(c, _digits(key), show_ci)
            row.append((r"\textit{" + v + "}" + (r"\,{\scriptsize\itshape " + ci + "}" if ci else "")) if v else "")
        out += [r"\midrule", " & ".join(row) + r" \\"]
    out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"


# -- CSV and JSON ---------------------------------------------------------------------------------
def _csv(result, metrics) -> str:
    """The paper table, wide: one row per model, full precision, CIs and marks as columns."""
    models = _model_order(result)
    cells = result.cells.set_index(["dataset", "model"]) if not result.cells.empty else None
    summary = result.summary.set_index("model")
    rows = []
    for model in models:
        row = {"model": csv_safe(str(model))}
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


def format_benchmark(result, fmt: str = "table", *, metrics=("srocc", "plcc"), show_ci=None,
                     color: bool = False) -> str:
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

    Returns
    -------
    str
    """
    fmt = check_choice("fmt", fmt, BENCH_FORMATS)
    metrics = check_metrics(metrics)
    if fmt == "json":
        return json.dumps(to_json_dict(result), indent=2, allow_nan=False) + "\n"
    if fmt == "csv":
        return _csv(result, metrics)
    if fmt == "latex":
        text = _latex(result, metrics, show_ci=bool(show_ci))
        if result.krasula:
            text += format_krasula(result.krasula, "latex")
        return text
    ci = True if show_ci is None else bool(show_ci)
    if fmt == "markdown":
        return _markdown(result, metrics, show_ci=ci)
    if fmt == "html":
        return _html_table(result, metrics, show_ci=ci)
    return _table(result, metrics, show_ci=ci, color=color)


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
