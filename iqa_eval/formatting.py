"""Render an :class:`~iqa_eval.evaluation.Evaluation` as text: table, CSV, JSON, Markdown, LaTeX.

The terminal table, Markdown and LaTeX show the main columns rounded for reading, with
``*`` on every model tied with the best and a legend line saying what that means. CSV
and JSON carry every column at full precision (JSON: ``{"models": [...], "pairwise":
[...], "notes": [...], "settings": {...}}``, NaN written as ``null``).
"""
from __future__ import annotations

import json
import math

import numpy as np

from .errors import InputError

__all__ = ["format_evaluation", "FORMATS"]

FORMATS = ("table", "csv", "json", "markdown", "latex")
_TIE_MARK = "*"


def _num(v, digits=4):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "nan"
    return f"{v:.{digits}f}"


def format_p(p, *, n_resamples=None) -> str:
    """A p-value for people: 4 decimals, ``<1e-4`` below that, ``nan`` when undefined.

    A resampling p-value is shown with its resolution: as many decimals as ``n_resamples``
    supports (3 for 1,000), and at its floor ``2 (0 + 1) / (B + 1)`` — no resample on the
    other side of zero — as ``<=`` that floor rounded up (``<=0.002`` for 1,000 resamples).
    """
    if p is None or not math.isfinite(p):
        return "nan"
    if n_resamples:
        b = int(n_resamples)
        digits = max(1, math.ceil(math.log10(b)))
        floor = 2.0 / (b + 1)
        if p <= floor * (1 + 1e-9):
            return f"<={math.ceil(floor * 10 ** digits) / 10 ** digits:.{digits}f}"
        return f"{p:.{digits}f}"
    return "<1e-4" if p < 1e-4 else f"{p:.4f}"


def p_equals(name, p, *, space: str = "", n_resamples=None) -> str:
    """``name=0.0400`` or ``name<1e-4`` (``space=" "``: ``p = 0.0400``, ``p < 1e-4``);
    a resampling p-value with its resolution (``p_bootstrap<=0.002``)."""
    text = format_p(p, n_resamples=n_resamples)
    op, value = (text[:2], text[2:]) if text.startswith("<=") else (
        ("<", text[1:]) if text.startswith("<") else ("=", text))
    return f"{name}{space}{op}{space}{value}"


def _with_ci(row, key):
    lo, hi = row.get(f"{key}_lo"), row.get(f"{key}_hi")
    return f"{_num(row[key])} [{_num(lo)}, {_num(hi)}]"


def _display_rows(evaluation):
    """Header and string cells shared by the table, Markdown and LaTeX renderings."""
    t = evaluation.table
    has_std = "outlier_ratio" in t.columns
    level = evaluation.settings.get("confidence_level", 0.95)
    ci = f"{100 * level:g}% CI"
    header = ["model", "n", f"SROCC [{ci}]", f"KRCC [{ci}]", f"PLCC [{ci}]", "PLCC raw", "RMSE", "MAE"]
    if has_std:
        header += ["OR", "RMSE*"]
    header += ["mapping"]
    cells = []
    for row in t.to_dict("records"):
        name = row["model"] + (f" {_TIE_MARK}" if row["tied_with_best"] else "")
        if row["flipped"]:
            name += " (flipped)"
        line = [name, str(row["n"]), _with_ci(row, "srocc"), _with_ci(row, "krcc"), _with_ci(row, "plcc"),
                _num(row["plcc_raw"]), _num(row["rmse"]), _num(row["mae"])]
        if has_std:
            line += [_num(row["outlier_ratio"]), _num(row["rmse_star"])]
        line += [row["mapping"]]
        cells.append(line)
    return header, cells


def _legend(evaluation):
    s = evaluation.settings
    rule = s.get("tie_rule", "tied with the best")
    return f"{_TIE_MARK} {rule}, alpha = {s.get('alpha', 0.05):g}; mapping {s.get('mapping')}, CIs {s.get('ci')}"


def _pairwise_lines(evaluation):
    """SROCC of every model against the best (the full list is in the JSON / CSV output)."""
    p = evaluation.pairwise
    best = evaluation.best
    if p.empty or best is None:
        return []
    rows = p[(p["metric"] == "srocc") & ((p["model_a"] == best) | (p["model_b"] == best))]
    if rows.empty:
        return []
    level = evaluation.settings.get("confidence_level", 0.95)
    lines = [f"SROCC against the best ({best}), same images, {100 * level:g}% CI of the difference:"]
    for r in rows.itertuples():
        other, sign = (r.model_b, 1.0) if r.model_a == best else (r.model_a, -1.0)
        lo, hi = sorted((sign * r.ci_lo, sign * r.ci_hi))
        lines.append(f"  {best} - {other}: {sign * r.diff:+.4f} [{_num(lo)}, {_num(hi)}]  n={r.n}  "
                     f"{p_equals('p_williams', r.p_williams)}"
                     + ("" if math.isnan(r.p_bootstrap) else f"  {p_equals('p_bootstrap', r.p_bootstrap, n_resamples=evaluation.settings.get('n_boot'))}"))
    return lines


def _text_table(evaluation):
    header, cells = _display_rows(evaluation)
    widths = [max(len(h), *(len(c[k]) for c in cells)) for k, h in enumerate(header)]
    right = {1}  # n

    def fmt(line):
        return "  ".join(c.rjust(w) if k in right else c.ljust(w) for k, (c, w) in enumerate(zip(line, widths)))

    out = [fmt(header), "  ".join("-" * w for w in widths)]
    out += [fmt(c) for c in cells]
    out += ["", _legend(evaluation)]
    pairs = _pairwise_lines(evaluation)
    if pairs:
        out += [""] + pairs
    return "\n".join(line.rstrip() for line in out) + "\n"


def _markdown(evaluation):
    header, cells = _display_rows(evaluation)

    from ._text import markdown_safe

    out = ["| " + " | ".join(markdown_safe(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(markdown_safe(c) for c in line) + " |" for line in cells]
    out += ["", "\\" + _legend(evaluation)]
    return "\n".join(out) + "\n"


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters in plain text."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _latex(evaluation):
    header, cells = _display_rows(evaluation)
    out = [r"\begin{tabular}{l" + "r" * (len(header) - 2) + "l}", r"\hline",
           " & ".join(latex_escape(h) for h in header) + r" \\", r"\hline"]
    for line in cells:
        name = latex_escape(line[0]).replace(f" {_TIE_MARK}", r"$^{*}$")
        out.append(" & ".join([name] + [latex_escape(c) for c in line[1:]]) + r" \\")
    out += [r"\hline", r"\end{tabular}", "% " + latex_escape(_legend(evaluation)).replace("*", r"$^{*}$", 1)]
    return "\n".join(out) + "\n"


def _plain(value):
    """JSON-safe Python value: numpy scalars unwrapped, NaN/inf -> None."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    return value


def _records(frame):
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _json(evaluation):
    doc = {"models": _records(evaluation.table), "pairwise": _records(evaluation.pairwise),
           "notes": list(evaluation.notes),
           "settings": {k: _plain(v) for k, v in evaluation.settings.items()},
           "fits": {m: {"kind": f.kind, "requested": f.requested, "converged": bool(f.converged),
                        "params": {k: _plain(float(v)) for k, v in f.params.items()}}
                    for m, f in evaluation.fits.items()}}
    return json.dumps(doc, indent=2) + "\n"


def format_evaluation(evaluation, fmt: str = "table") -> str:
    """Render ``evaluation`` as text.

    Parameters
    ----------
    evaluation : Evaluation
    fmt : {'table', 'csv', 'json', 'markdown', 'latex'}

    Returns
    -------
    str

    Examples
    --------
    >>> from iqa_eval.dataset import Dataset
    >>> from iqa_eval.evaluation import evaluate
    >>> q = np.linspace(0, 1, 50)
    >>> ev = evaluate(Dataset(mos=q, predictions={"m": q ** 2}))
    >>> format_evaluation(ev, "csv").splitlines()[0].startswith("model,n,srocc")
    True
    """
    if fmt not in FORMATS:
        raise InputError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "table":
        return _text_table(evaluation)
    if fmt == "csv":
        from ._text import neutralise_frame

        return neutralise_frame(evaluation.table).to_csv(index=False)
    if fmt == "json":
        return _json(evaluation)
    if fmt == "markdown":
        return _markdown(evaluation)
    return _latex(evaluation)
