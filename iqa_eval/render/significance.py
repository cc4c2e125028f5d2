"""Render a :class:`~iqa_eval.studies.significance.SignificanceMatrix`: the "1 / 0 / −" table.

Rows and columns are the models (columns numbered, the numbers given beside the row names, so that a
matrix of many models stays narrow); one block of columns per dataset and metric. A cell says how the
row model compares with the column model: ``1`` significantly better, ``0`` not shown to differ,
``−`` significantly worse; ``·`` on the diagonal, blank where the pair was not tested (a model absent
from the dataset, or no p-value). The caption names the test and the multiplicity control. CSV and
JSON carry every pair with its p-values. User strings are escaped per format.
"""
from __future__ import annotations

import html as _html
import json

import numpy as np

from .._runtime.escape import csv_safe, markdown_safe, terminal_safe
from ..options import SIGNIFICANCE_FORMATS, check_choice
from ._text import latex_escape, plain

__all__ = ["format_significance", "significance_html"]

_LABEL = {"srocc": "SROCC", "plcc": "PLCC"}
_MINUS = "\u2212"
_TEXT = {1.0: "1", 0.0: "0", -1.0: _MINUS}


def _blocks(result):
    return [(d, m, result.matrix(d, m)) for d in result.datasets for m in result.metrics]


def _cell(matrix, row, col) -> str:
    if row == col:
        return "\u00b7"
    v = matrix.loc[row, col]
    return _TEXT.get(float(v), "") if np.isfinite(v) else ""


def _block_title(result, d, m) -> str:
    return f"{d} {_LABEL[m]}" if len(result.datasets) > 1 or d != "data" else _LABEL[m]


def _caption(result) -> str:
    return (f"Significance of every pair of models (row vs column): 1 = the row model's correlation is "
            f"significantly higher, 0 = not shown to differ, {_MINUS} = significantly lower; "
            f"{result.describe()}.")


def _names(result, labels):
    labels = labels or {}
    return [str(labels.get(m, m)) for m in result.models]


def _text(result, labels, *, escape=terminal_safe) -> str:
    names = _names(result, labels)
    k = len(names)
    first = [f"{escape(n)} ({i + 1})" for i, n in enumerate(names)]
    w0 = max(len("model"), *(len(x) for x in first))
    blocks = _blocks(result)
    width = max(len(str(k)), 1)
    out = []
    top = " " * w0 + "  " + "  ".join(escape(_block_title(result, d, m)).ljust(k * (width + 1) - 1)
                                      for d, m, _ in blocks)
    out.append(top.rstrip())
    out.append("model".ljust(w0) + "  " + "  ".join(" ".join(str(j + 1).rjust(width) for j in range(k))
                                                     for _ in blocks))
    for i, m in enumerate(result.models):
        out.append(first[i].ljust(w0) + "  " + "  ".join(
            " ".join(_cell(mat, m, c).rjust(width) for c in result.models) for _, _, mat in blocks))
    out += ["", escape(_caption(result))]
    return "\n".join(out) + "\n"


def _markdown(result, labels) -> str:
    names = _names(result, labels)
    blocks = _blocks(result)
    head = ["model"] + [f"{markdown_safe(_block_title(result, d, m))} ({j + 1})" if j == 0 else str(j + 1)
                        for d, m, _ in blocks for j in range(len(names))]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + [":-:"] * (len(head) - 1)) + "|"]
    for i, m in enumerate(result.models):
        cells = [_cell(mat, m, c) for _, _, mat in blocks for c in result.models]
        out.append("| " + " | ".join([f"{markdown_safe(names[i])} ({i + 1})"] + cells) + " |")
    out += ["", markdown_safe(_caption(result))]
    return "\n".join(out) + "\n"


def significance_html(result, labels=None) -> str:
    """The matrix as an HTML ``<table>`` (for the report and the bench page), caption included."""
    e = _html.escape
    names = _names(result, labels)
    k = len(names)
    blocks = _blocks(result)
    head1 = "<tr><th rowspan=\"2\">model</th>" + "".join(
        f"<th colspan=\"{k}\">{e(terminal_safe(_block_title(result, d, m)))}</th>" for d, m, _ in blocks) + "</tr>"
    head2 = "<tr>" + "".join(f"<th>{j + 1}</th>" for _ in blocks for j in range(k)) + "</tr>"
    rows = []
    for i, m in enumerate(result.models):
        cells = "".join(f"<td>{e(_cell(mat, m, c))}</td>" for _, _, mat in blocks for c in result.models)
        rows.append(f"<tr><th scope=\"row\">{e(terminal_safe(names[i]))} ({i + 1})</th>{cells}</tr>")
    return (f"<table class=\"significance\">\n<caption>{e(_caption(result))}</caption>\n<thead>\n{head1}\n{head2}\n"
            "</thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>")


def _latex(result, labels) -> str:
    names = _names(result, labels)
    k = len(names)
    blocks = _blocks(result)
    tex = {"1": "1", "0": "0", _MINUS: "$-$", "\u00b7": r"$\cdot$", "": ""}
    resize = k * len(blocks) > 12   # scaled to \linewidth when wide (needs graphicx)
    out = [r"% requires \usepackage{booktabs}" + (r" and \usepackage{graphicx}" if resize else ""),
           r"\begin{table}[t]", r"\centering",
           r"\caption{" + latex_escape(_caption(result)).replace(_MINUS, "$-$") + "}",
           r"\label{tab:iqa-eval-significance}"]
    if resize:
        out.append(r"\resizebox{\linewidth}{!}{%")
    out += [r"\begin{tabular}{l" + "".join("c" * k for _ in blocks) + "}", r"\toprule"]
    out.append(" & ".join([""] + [r"\multicolumn{%d}{c}{%s}" % (k, latex_escape(_block_title(result, d, m)))
                                  for d, m, _ in blocks]) + r" \\")
    out.append(" ".join(r"\cmidrule(lr){%d-%d}" % (2 + b * k, 1 + (b + 1) * k) for b in range(len(blocks))))
    out.append(" & ".join(["Model"] + [str(j + 1) for _ in blocks for j in range(k)]) + r" \\")
    out.append(r"\midrule")
    for i, m in enumerate(result.models):
        cells = [tex[_cell(mat, m, c)] for _, _, mat in blocks for c in result.models]
        out.append(" & ".join([f"{latex_escape(names[i])} ({i + 1})"] + cells) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}"] + (["}"] if resize else []) + [r"\end{table}"]
    return "\n".join(out) + "\n"


def _csv(result, labels) -> str:
    frame = result.pairs.copy()
    if labels:
        frame.insert(3, "label_a", [labels.get(m, m) for m in frame["model_a"]])
        frame.insert(5, "label_b", [labels.get(m, m) for m in frame["model_b"]])
    for col in ("dataset", "model_a", "model_b", "label_a", "label_b"):
        if col in frame.columns:
            frame[col] = [csv_safe(str(v)) for v in frame[col]]
    return frame.to_csv(index=False)


def _json(result, labels) -> str:
    doc = {"models": list(result.models), "datasets": list(result.datasets), "metrics": list(result.metrics),
           "pairs": [{k: plain(v) for k, v in row.items()} for row in result.pairs.to_dict("records")],
           "settings": {k: plain(v) for k, v in result.settings.items()}, "description": result.describe()}
    if labels:
        doc["labels"] = {m: labels.get(m, m) for m in result.models}
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


def format_significance(result, fmt: str = "table", *, labels=None) -> str:
    """Render a :class:`~iqa_eval.studies.significance.SignificanceMatrix` as text.

    Parameters
    ----------
    result : SignificanceMatrix
    fmt : {'table', 'csv', 'json', 'markdown', 'html', 'latex'}
        The matrix ("1 / 0 / −" cells) in the table, Markdown, HTML and LaTeX (booktabs; with more than
        12 columns scaled to ``\\linewidth``, which needs graphicx); every pair with its p-values in CSV and JSON.
    labels : dict, optional
        ``{model: display name}``.

    Returns
    -------
    str
    """
    fmt = check_choice("fmt", fmt, SIGNIFICANCE_FORMATS)
    if fmt == "csv":
        return _csv(result, labels)
    if fmt == "json":
        return _json(result, labels)
    if fmt == "latex":
        return _latex(result, labels)
    if fmt == "markdown":
        return _markdown(result, labels)
    if fmt == "html":
        from .html import page
        css = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}th,td{padding:.2em .5em;"
               "text-align:center}th[scope=row]{text-align:left}thead tr:first-child>th{border-top:2px solid #000}"
               "thead tr:last-child>th{border-bottom:1px solid #000}tbody tr:last-child>*{border-bottom:2px solid #000}"
               "caption{caption-side:bottom;text-align:left;max-width:60em;font-size:90%;padding-top:.5em}")
        return page("iqa-eval significance", "\n" + significance_html(result, labels) + "\n", with_plotly=False,
                    css=css)
    return _text(result, labels)
