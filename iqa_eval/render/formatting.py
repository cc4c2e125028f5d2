"""Render an :class:`~iqa_eval.studies.evaluation.Evaluation` as text: table, CSV, JSON, Markdown, LaTeX.

The terminal table, Markdown and LaTeX show the main columns rounded for reading, with
``*`` on every model tied with the best and a legend line saying what that means. CSV
and JSON carry every column at full precision (JSON: ``{"models": [...], "pairwise":
[...], "notes": [...], "settings": {...}}``, NaN written as ``null``).

With a noise ceiling (:attr:`Evaluation.ceiling`: the data have std and n_ratings) the table,
Markdown and LaTeX end with a reference row ``noise ceiling`` below a rule (italic in Markdown
and LaTeX): the expected SROCC and PLCC of a perfect model with their intervals; it is never
ranked or marked. JSON has it as a ``"ceiling"`` object; the CSV stays one row per model (the
ceiling is in the JSON only).
"""
from __future__ import annotations

import json
import math

import numpy as np

from ..options import EVALUATION_FORMATS, TABLE_DIGITS, validate_params
from ._text import format_p, latex_escape, plain as _plain

__all__ = ["format_evaluation", "evaluation_caption", "format_gmc_scores"]

#: "Statistically tied with the best" is one mark, the dagger, in every format (the text table,
#: Markdown, the bench table, the report); TIE_MARKS spells it per format.
TIE_MARK = "\u2020"
TIE_MARKS = {"text": " " + TIE_MARK, "markdown": " " + TIE_MARK, "html": "&dagger;", "latex": r"$^\dagger$"}


def _num(v, digits=4):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "nan"
    return f"{v:.{digits}f}"


def p_equals(name, p, *, space: str = "", n_resamples=None) -> str:
    """``name=0.0400`` or ``name<1e-4`` (``space=" "``: ``p = 0.0400``, ``p < 1e-4``);
    a resampling p-value with its resolution (``bootstrap_pvalue<=0.002``; in prose ``p ≤ 0.002``)."""
    text = format_p(p, n_resamples=n_resamples)
    op, value = (text[:2], text[2:]) if text.startswith("<=") else (
        ("<", text[1:]) if text.startswith("<") else ("=", text))
    if space and op == "<=":   # prose: a resampling p at its floor is a bound, "p ≤ 0.002"
        op = "\u2264"
    return f"{name}{space}{op}{space}{value}"


def _with_ci(row, key, digits=4):
    lo, hi = row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high")
    return f"{_num(row[key], digits)} [{_num(lo, digits)}, {_num(hi, digits)}]"


def _display_rows(evaluation, digits=None):
    """Header and string cells shared by the table, Markdown and LaTeX renderings (the model
    column is :func:`_name_cells`'s, escaped per format before its mark is added)."""
    t = evaluation.table
    has_std = "outlier_ratio" in t.columns
    level = evaluation.settings.get("confidence_level", 0.95)
    ci = f"{100 * level:g}% CI"
    header = ["model", "n", f"SROCC [{ci}]", f"KRCC [{ci}]", f"PLCC [{ci}]", "PLCC raw", "RMSE", "MAE"]
    if has_std:
        header += ["OR", "RMSE*"]
    header += ["mapping"]
    d = 4 if digits is None else int(digits)
    cells = []
    for row in t.to_dict("records"):
        line = [row["model"], str(row["n"]), _with_ci(row, "srocc", d), _with_ci(row, "krcc", d),
                _with_ci(row, "plcc", d), _num(row["plcc_raw"], d), _num(row["rmse"], d), _num(row["mae"], d)]
        if has_std:
            line += [_num(row["outlier_ratio"], d), _num(row["rmse_star"], d)]
        line += [row["mapping"]]
        cells.append(line)
    return header, cells


CEILING_LABEL = "noise ceiling"


def _ceiling_cells(evaluation, header, digits=None):
    """The reference row, one string per column of ``header`` (only n, SROCC and PLCC filled), or None."""
    c = getattr(evaluation, "ceiling", None)
    if c is None:
        return None
    d = c.as_dict()
    line = [""] * len(header)
    line[0], line[1] = CEILING_LABEL, str(c.n_images)
    line[2] = _with_ci(d, "srocc", 4 if digits is None else digits)
    line[4] = _with_ci(d, "plcc", 4 if digits is None else digits)
    return line


def _ceiling_legend(evaluation):
    c = getattr(evaluation, "ceiling", None)
    if c is None:
        return None
    return (f"{CEILING_LABEL}: the expected SROCC and PLCC of a perfect model against this MOS (its reliability "
            f"{c.reliability:.4f}, from std and n_ratings); a reference, not a model: not ranked or tested")


def _name_cells(evaluation, escape=None, mark=TIE_MARKS["text"], labels=None):
    """The model column: each name (or its label) escaped for its format, then the tie mark and the flip
    note added *after* escaping, so no name can forge a mark."""
    if escape is None:
        from .._runtime.escape import terminal_safe as escape
    labels = labels or {}
    out = []
    for row in evaluation.table.to_dict("records"):
        name = escape(str(labels.get(row["model"], row["model"]))) + (mark if row["tied_with_best"] else "")
        out.append(name + (" " + escape("(flipped)") if row["flipped"] else ""))   # Markdown's escape trims
    return out


def _legend(evaluation):
    s = evaluation.settings
    rule = s.get("tie_rule", "tied with the best")
    return f"{TIE_MARK} {rule}, alpha = {s.get('alpha', 0.05):g}; mapping {s.get('mapping')}, CIs {s.get('ci')}"


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
    from .._runtime.escape import terminal_safe

    lines = [f"SROCC against the best ({terminal_safe(best)}), same images, {100 * level:g}% CI of the difference:"]
    for r in rows.itertuples():
        other, sign = (r.model_b, 1.0) if r.model_a == best else (r.model_a, -1.0)
        lo, hi = sorted((sign * r.ci_low, sign * r.ci_high))
        test, alternative = getattr(r, "test", "williams1959"), getattr(r, "alternative", "two-sided")
        p_text = p_equals('williams_pvalue', r.williams_pvalue)
        if (test, alternative) != ("williams1959", "two-sided"):   # the chosen test, named, and its direction
            p_text = f"{p_equals('pvalue', r.pvalue)} ({test}, {alternative}, {terminal_safe(r.model_a)} vs {terminal_safe(r.model_b)})"
        lines.append(f"  {terminal_safe(best)} - {terminal_safe(other)}: {sign * r.diff:+.4f} [{_num(lo)}, {_num(hi)}]  n={r.n}  "
                     f"{p_text}"
                     + ("" if math.isnan(r.bootstrap_pvalue) else f"  {p_equals('bootstrap_pvalue', r.bootstrap_pvalue, n_resamples=evaluation.settings.get('n_resamples'))}"))
    return lines


def _grouped(evaluation, cells, groups):
    """[(group or None, [row cells])]: the table's rows in blocks, one per group in the order first given
    (models without a group last); one block without a header when there are no groups."""
    if not groups:
        return [(None, cells)]
    models = list(evaluation.table["model"])
    order = list(dict.fromkeys(groups.values()))
    blocks = [(g, [c for m, c in zip(models, cells) if groups.get(m) == g]) for g in order]
    rest = [c for m, c in zip(models, cells) if m not in groups]
    return [(g, rows) for g, rows in blocks if rows] + ([(None, rest)] if rest else [])


def _text_table(evaluation, labels=None, groups=None, digits=None, caption=True):
    from .._runtime.escape import terminal_safe

    header, cells = _display_rows(evaluation, digits)
    for line, name in zip(cells, _name_cells(evaluation, labels=labels)):
        line[0] = name
    ceiling = _ceiling_cells(evaluation, header, digits)
    widths = [max(len(h), *(len(c[k]) for c in cells + ([ceiling] if ceiling else []))) for k, h in enumerate(header)]
    right = {1}  # n

    def fmt(line):
        return "  ".join(c.rjust(w) if k in right else c.ljust(w) for k, (c, w) in enumerate(zip(line, widths)))

    out = [fmt(header), "  ".join("-" * w for w in widths)]
    for k, (group, rows) in enumerate(_grouped(evaluation, cells, groups)):
        if k:
            out.append("  ".join("-" * w for w in widths))
        if group:
            out.append(terminal_safe(group))
        out += [fmt(c) for c in rows]
    if ceiling:
        out += ["  ".join("-" * w for w in widths), fmt(ceiling)]
    if caption:
        out += ["", _legend(evaluation)]
        if ceiling:
            out.append(_ceiling_legend(evaluation))
    pairs = _pairwise_lines(evaluation)
    if pairs:
        out += [""] + pairs
    return "\n".join(line.rstrip() for line in out) + "\n"


def _markdown(evaluation, labels=None, groups=None, digits=None, caption=True):
    header, cells = _display_rows(evaluation, digits)

    from .._runtime.escape import markdown_safe

    names = _name_cells(evaluation, markdown_safe, TIE_MARKS["markdown"], labels)
    for line, name in zip(cells, names):
        line[0] = name
    out = ["| " + " | ".join(markdown_safe(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for group, rows in _grouped(evaluation, cells, groups):
        if group:
            out.append("| " + " | ".join([f"**{markdown_safe(group)}**"] + [""] * (len(header) - 1)) + " |")
        out += ["| " + " | ".join([line[0]] + [markdown_safe(c) for c in line[1:]]) + " |" for line in rows]
    ceiling = _ceiling_cells(evaluation, header, digits)
    if ceiling:   # italic, after the models
        out.append("| " + " | ".join(f"*{markdown_safe(c)}*" if c else "" for c in ceiling) + " |")
    if caption:
        out += ["", markdown_safe(_legend(evaluation))]
        if ceiling:
            out += ["", markdown_safe(_ceiling_legend(evaluation))]
    return "\n".join(out) + "\n"


def _latex(evaluation, labels=None, groups=None, digits=None, caption=True):
    """A booktabs tabular (``\\usepackage{booktabs}``), the legend as a comment below it."""
    header, cells = _display_rows(evaluation, digits)
    out = [r"% requires \usepackage{booktabs}", r"\begin{tabular}{l" + "r" * (len(header) - 2) + "l}", r"\toprule",
           " & ".join(latex_escape(h) for h in header) + r" \\", r"\midrule"]
    names = _name_cells(evaluation, latex_escape, TIE_MARKS["latex"], labels)
    for line, name in zip(cells, names):
        line[0] = name
    for k, (group, rows) in enumerate(_grouped(evaluation, cells, groups)):
        if k:
            out.append(r"\midrule")
        if group:
            out.append(r"\multicolumn{%d}{l}{\textit{%s}} \\" % (len(header), latex_escape(group)))
        out += [" & ".join([line[0]] + [latex_escape(c) for c in line[1:]]) + r" \\" for line in rows]
    ceiling = _ceiling_cells(evaluation, header, digits)
    if ceiling:   # below a rule, in italics
        out += [r"\midrule", " & ".join(r"\textit{" + latex_escape(c) + "}" if c else "" for c in ceiling) + r" \\"]
    out += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        out.append("% " + latex_escape(_legend(evaluation)).replace(TIE_MARK, TIE_MARKS["latex"], 1))
        if ceiling:
            out.append("% " + latex_escape(_ceiling_legend(evaluation)))
    return "\n".join(out) + "\n"


def evaluation_caption(evaluation) -> str:
    """The legend :func:`format_evaluation` prints below the table (for a separate file)."""
    lines = [_legend(evaluation)]
    words = _ceiling_legend(evaluation)
    if words:
        lines.append(words)
    return "\n".join(lines) + "\n"


def _records(frame):
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _json(evaluation):
    doc = {"models": _records(evaluation.table), "pairwise": _records(evaluation.pairwise),
           "notes": list(evaluation.notes),
           "settings": {k: _plain(v) for k, v in evaluation.settings.items()},
           "fits": {m: {"kind": f.kind, "requested": f.requested, "converged": bool(f.converged),
                        "params": {k: _plain(float(v)) for k, v in f.params.items()}}
                    for m, f in evaluation.fits.items()}}
    c = getattr(evaluation, "ceiling", None)
    doc["ceiling"] = None if c is None else {k: _plain(v) for k, v in c.as_dict().items()}
    return json.dumps(doc, indent=2) + "\n"


@validate_params({"fmt": EVALUATION_FORMATS, "digits": TABLE_DIGITS})
def format_evaluation(evaluation, fmt: str = "table", *, labels=None, groups=None, digits=None,
                      caption: bool = True) -> str:
    """Render ``evaluation`` as text.

    Parameters
    ----------
    evaluation : Evaluation
    fmt : {'table', 'csv', 'json', 'markdown', 'latex'}
        With a Krasula analysis (``evaluate(..., krasula=True)``) it follows the table (JSON: a
        ``krasula`` key); it has no CSV form (an InputError). LaTeX is a booktabs tabular.
    labels : dict, optional
        ``{model: display name}`` in the table, Markdown and LaTeX (CSV and JSON keep the names).
    groups : dict, optional
        ``{model: group}``: rows in blocks under a header row, one per group in the order first given.
    digits : int, optional
        Decimals of the values (default 4).
    caption : bool
        The legend below the table (:func:`evaluation_caption` gives it alone).

    Returns
    -------
    str

    Examples
    --------
    >>> from iqa_eval.data.dataset import Dataset
    >>> from iqa_eval.studies.evaluation import evaluate
    >>> q = np.linspace(0, 1, 50)
    >>> ev = evaluate(Dataset(mos=q, predictions={"m": q ** 2}))
    >>> format_evaluation(ev, "csv").splitlines()[0].startswith("model,n,srocc")
    True
    """
    view = {"labels": labels, "groups": groups, "digits": digits, "caption": caption}
    if labels or groups:
        known = set(evaluation.table["model"])
        for what, mapping in (("label", labels or {}), ("group", groups or {})):
            unknown = [m for m in mapping if m not in known]
            if unknown:
                from ..errors import InputError
                raise InputError(f"{what} for {unknown[0]!r}: no such model (models: {', '.join(map(repr, known))})")
    if getattr(evaluation, "krasula", None) is not None:
        from .krasula import with_krasula

        return with_krasula(_format_evaluation(evaluation, fmt, view), {"the data": evaluation.krasula}, fmt)
    return _format_evaluation(evaluation, fmt, view)


def _format_evaluation(evaluation, fmt, view):
    if fmt == "table":
        return _text_table(evaluation, **view)
    if fmt == "csv":
        from .._runtime.escape import neutralise_frame

        return neutralise_frame(evaluation.table).to_csv(index=False)
    if fmt == "json":
        return _json(evaluation)
    if fmt == "markdown":
        return _markdown(evaluation, **view)
    return _latex(evaluation, **view)


# ---- comparisons ---------------------------------------------------------------------------
def format_comparison(comparison) -> str:
    """Terminal text of a :class:`~iqa_eval.studies.compare.Comparison`: the global tests, a map of the
    surface's significant cells and the plain-language summary (``iqa-eval compare``).

    Parameters
    ----------
    comparison : Comparison
        From :func:`iqa_eval.compare_models`.

    Returns
    -------
    str

    Examples
    --------
    >>> from iqa_eval import compare_models, simulate_study
    >>> comp = compare_models(simulate_study(300, seed=0), "high_end", "fine_grain", grid=(4, 4))
    >>> format_comparison(comp).splitlines()[0]
    'Comparison of high_end (A) and fine_grain (B) on 300 images'
    """
    self = comparison
    a, b = self.models
    lines = [f"Comparison of {a} (A) and {b} (B) on {self.n_images} images", ""]
    g = self.global_tests
    n_res = self.n_resamples
    head = f"{'metric':<8}{'A':>9}{'B':>9}{'A-B':>9}{'CI low':>9}{'CI high':>9}{'p':>9}"
    lines += [head, "-" * len(head)]
    for r in g.itertuples(index=False):
        lines.append(f"{r.metric:<8}{r.A:>9.4f}{r.B:>9.4f}{r.diff:>+9.4f}{r.ci_low:>+9.4f}"
                     f"{r.ci_high:>+9.4f}"
                     f"{format_p(r.pvalue, n_resamples=n_res if 'bootstrap' in r.test else None):>9}")
    lines.append("p: " + "; ".join(f"{r.metric} {r.test}" for r in g.itertuples(index=False))
                 + ("" if self.alternative == "two-sided" else f" ('{self.alternative}': A's correlation "
                    f"{'larger' if self.alternative == 'greater' else 'smaller'} than B's)"))
    lines.append("")
    nq, nqd = self.grid_shape
    lines.append(f"GMC {self.method.upper()} difference A - B on a {nq} x {nqd} grid "
                 f"({_adjust_label(self.adjust, self.alpha)}, "
                 f"{'bootstrap' if self.ci == 'percentile' else self.ci} CIs):")
    lines.append(_sign_map(self))
    lines.append("")
    lines.append(summarize_comparison(self))
    return "\n".join(lines)


def _adjust_label(adjust: str, alpha: float) -> str:
    level = f"{100 * (1 - alpha):g}%"
    return {"maxt": f"{level} simultaneous band, max-|t|",
            "fdr": f"Benjamini-Hochberg FDR {alpha:g}, {level} FCR intervals",
            "none": f"{level} per-cell intervals, no multiplicity adjustment"}[adjust]


def _sign_map(comp) -> str:
    """Character map of the difference: rows = Q (high at top), columns = |dMOS|."""
    sig = comp.surface("significant")
    diff = comp.surface("diff")
    tested = comp.surface("tested")
    q = comp.surface("Q")[:, 0]
    qd = comp.surface("Qd")[0]
    lines = [f"  rows: MOS (Q) from {q[-1]:.4g} (top) to {q[0]:.4g}; columns: |dMOS| from "
             f"{qd[0]:.4g} to {qd[-1]:.4g}",
             "  A = A significantly ahead, B = B significantly ahead, . = no significant "
             "difference, blank = not tested"]
    for i in range(len(q) - 1, -1, -1):
        row = []
        for j in range(len(qd)):
            if sig[i, j]:
                row.append("A" if diff[i, j] > 0 else "B")
            else:
                row.append("." if tested[i, j] else " ")
        lines.append(f"  {q[i]:>9.4g} |{''.join(row)}|")
    return "\n".join(lines)


def _thirds(value, lo, hi, labels):
    if hi <= lo:
        return labels[1]
    k = int(np.clip((value - lo) / (hi - lo) * 3.0, 0, 2.999))
    return labels[k]


def _region(cells, q_range, qd_range) -> str:
    """Where a set of cells lies, in words and numbers."""
    q_words = sorted({_thirds(v, *q_range, ("low", "middle", "high")) for v in cells.Q},
                     key=("low", "middle", "high").index)
    d_words = sorted({_thirds(v, *qd_range, ("small", "medium", "large")) for v in cells.Qd},
                     key=("small", "medium", "large").index)
    return (f"MOS {_span(cells.Q)} ({'/'.join(q_words)} quality) and "
            f"|dMOS| {_span(cells.Qd)} ({'/'.join(d_words)} differences)")


def _span(values) -> str:
    lo, hi = float(np.min(values)), float(np.max(values))
    return f"{lo:.4g}" if lo == hi else f"{lo:.4g}-{hi:.4g}"


def summarize_comparison(comparison) -> str:
    """Plain-language summary of a :class:`~iqa_eval.studies.compare.Comparison`, from its numbers.

    Parameters
    ----------
    comparison : Comparison

    Returns
    -------
    str
        One line per global metric, one for the surface, one per model that is ahead.

    Examples
    --------
    >>> from iqa_eval import compare_models, simulate_study
    >>> comp = compare_models(simulate_study(300, seed=0), "high_end", "fine_grain", grid=(4, 4))
    >>> summarize_comparison(comp).splitlines()[0].startswith("Global SROCC: high_end")
    True
    """
    c = comparison
    models, method, global_tests, cells, alpha, adjust = (c.models, c.method, c.global_tests, c.cells,
                                                          c.alpha, c.adjust)
    # the grid spans [min MOS, max MOS] x [0, MOS range], its edges included
    q_range = (float(cells.Q.min()), float(cells.Q.max()))
    qd_range = (0.0, float(cells.Qd.max()))
    a, b = models
    out = []
    level = f"{100 * (1 - alpha):g}%"
    for r in global_tests.itertuples(index=False):
        if not np.isfinite(r.diff):
            continue
        verdict = ("significant" if np.isfinite(r.pvalue) and r.pvalue < alpha else "not significant")
        out.append(f"Global {r.metric.upper()}: {a} {r.A:.4f}, {b} {r.B:.4f}, difference "
                   f"{r.diff:+.4f} ({level} CI {r.ci_low:+.4f} to {r.ci_high:+.4f}, "
                   f"{p_equals('p', r.pvalue, space=' ', n_resamples=getattr(c, 'n_resamples', None) if 'bootstrap' in str(r.test) else None)}"
                   f"): {verdict}.")
    n = len(cells)
    tested = cells[cells.tested]
    sig = cells[cells.significant]
    a_cells, b_cells = sig[sig["diff"] > 0], sig[sig["diff"] < 0]
    label = _adjust_label(adjust, alpha)
    if sig.empty:
        out.append(f"GMC {method.upper()} surface: no cell of the {n}-cell grid differs "
                   f"significantly ({label}).")
    else:
        out.append(f"GMC {method.upper()} surface ({label}): {len(sig)} of {n} cells "
                   f"({100 * len(sig) / n:.1f}%) differ significantly.")
        for name, part in ((a, a_cells), (b, b_cells)):
            if len(part):
                best = part.loc[part["diff"].abs().idxmax()]
                out.append(f"{name} is ahead in {len(part)} cells, at "
                           f"{_region(part, q_range, qd_range)}; largest gap "
                           f"{abs(best['diff']):.3f} at MOS {best.Q:.4g}, |dMOS| {best.Qd:.4g}.")
            else:
                out.append(f"{name} is not significantly ahead anywhere.")
    masked = int((~cells["supported"]).sum()) if "supported" in cells else 0
    if masked:
        out.append(f"{masked} cells are masked: fewer than {getattr(c, 'min_pairs', 0):g} effective "
                   f"image pairs support them; not tested.")
    if len(tested) < n - masked:
        out.append(f"{n - masked - len(tested)} cells were not tested (too few images carry weight "
                   f"there, or the models agree exactly).")
    return "\n".join(out)


def format_gmc_scores(result) -> str:
    """The GMC scores of a :class:`~iqa_eval.gmc.GMCResult` as a text table, best first (by the
    SROCC form's score, else the first form's)."""
    table = result.score_table()
    first = next((c for c in table.columns if str(c).lower() == "srocc"), table.columns[0])
    table = table.sort_values(first, ascending=False, kind="stable")   # best first
    width = max([len("model")] + [len(str(m)) for m in table.index])
    lines = ["GMC score (average surface height)",
             f"{'model':<{width}}  " + "  ".join(f"{c:>6}" for c in table.columns)]
    for model, row in table.iterrows():
        lines.append(f"{model:<{width}}  " + "  ".join(f"{v:>6.4f}" for v in row.to_numpy()))
    return "\n".join(lines)
