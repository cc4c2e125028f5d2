"""The Krasula et al. (2016) analysis as text: the section ``score --krasula`` and ``bench
--krasula`` add to their tables (:class:`~iqa_eval.studies.krasula.KrasulaResult` per dataset)."""
from __future__ import annotations

import html as _html
import json

from .._runtime.escape import markdown_safe, terminal_safe
from ..errors import InputError
from ._text import format_p, latex_escape, plain as _plain

__all__ = ["format_krasula", "krasula_json", "with_krasula"]


def with_krasula(text: str, results: dict, fmt: str) -> str:
    """``score``'s output ``text`` in format ``fmt`` with the Krasula analysis added."""
    if not results:
        return text
    if fmt == "json":
        doc = json.loads(text)
        doc["krasula"] = krasula_json(results)
        return json.dumps(doc, indent=2, allow_nan=False) + "\n"
    if fmt == "csv":
        raise InputError("krasula=True has no CSV form (a second table); use the json, table or markdown format")
    return text.rstrip("\n") + "\n\n" + format_krasula(results, fmt)


def krasula_json(results: dict) -> dict:
    out = {}
    for name, res in results.items():
        models = list(res.table["model"])
        pairs = [{"model_a": a, "model_b": b, "different_similar_pvalue": _plain(res.pvalues_ds.loc[a, b]),
                  "better_worse_pvalue": _plain(res.pvalues_bw.loc[a, b]),
                  "cc0_pvalue": _plain(res.pvalues_cc0.loc[a, b])}
                 for i, a in enumerate(models) for b in models[i + 1:]]
        out[name] = {"models": [{k: _plain(v) for k, v in r.items()} for r in res.table.to_dict("records")],
                     "delong": pairs, "n_images": res.n_images, "n_pairs": res.n_pairs,
                     "n_different": res.n_different, "n_similar": res.n_similar, "notes": list(res.notes),
                     "settings": dict(res.settings)}
    return out


def format_krasula(results: dict, fmt: str = "table") -> str:
    """The Krasula analysis of one or more datasets (``{name: KrasulaResult}``) as text."""
    if fmt == "json":
        return json.dumps(krasula_json(results), indent=2) + "\n"
    blocks = []
    for name, res in results.items():
        shown = markdown_safe(name) if fmt == "markdown" else name  # other formats escape whole lines
        head = (f"Krasula et al. (2016) on {shown}: {res.n_images} images, {res.n_pairs} pairs "
                f"({res.n_different} significantly different, |z| > {res.settings['z_critical']:g}; "
                f"{res.n_similar} similar)")
        header = ["model", "AUC different/similar", "AUC better/worse", "C0 (%)", "THR"]
        rows = [[str(r.model), f"{r.auc_ds:.4f}", f"{r.auc_bw:.4f}", f"{100 * r.cc0:.2f}", f"{r.thr:.4g}"]
                for r in res.table.itertuples()]
        models = list(res.table["model"])
        pairs = [(a, b, res.pvalues_ds.loc[a, b], res.pvalues_bw.loc[a, b], res.pvalues_cc0.loc[a, b])
                 for i, a in enumerate(models) for b in models[i + 1:]]
        tail = ("DeLong tests of AUC differences and the binomial (pooled two-proportion) test of C0 "
                f"differences ({res.settings.get('alternative', 'two-sided')}, the first model of a pair vs the second, not adjusted "
                "for multiplicity):")
        foot = (f"THR: {res.settings['thr']}. Standard-error floor: {res.settings['se_floor']}. "
                f"Independence: {res.settings['independence']}.")
        if fmt == "html":
            e = _html.escape
            t = ("<table><caption>" + e(head) + "</caption><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in header)
                 + "</tr></thead><tbody>" + "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>"
                                                    for r in rows) + "</tbody></table>")
            t += "<p>" + e(tail) + "</p><ul>" + "".join(
                f"<li>{e(a)} vs {e(b)}: p (different/similar) = {format_p(p1)}, p (better/worse) = {format_p(p2)}, "
                f"p (C0) = {format_p(p3)}</li>" for a, b, p1, p2, p3 in pairs) + "</ul><p>" + e(foot) + "</p>"
            blocks.append(t)
            continue
        if fmt == "markdown":
            lines = [head, "", "| " + " | ".join(header) + " |", "|---|---:|---:|---:|---:|"]
            lines += ["| " + " | ".join([markdown_safe(r[0])] + r[1:]) + " |" for r in rows]
            lines += ["", tail]
            lines += [f"- {markdown_safe(a)} vs {markdown_safe(b)}: p (different/similar) = {format_p(p1)}, "
                      f"p (better/worse) = {format_p(p2)}, p (C0) = {format_p(p3)}" for a, b, p1, p2, p3 in pairs]
            lines += ["", markdown_safe(foot)]
        else:
            esc = latex_escape if fmt == "latex" else terminal_safe
            rows = [[esc(r[0])] + r[1:] for r in rows]
            widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]
            lines = [esc(head), "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
            lines += ["  ".join(c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths)))
                      for r in rows]
            lines += [tail] + [f"  {esc(a)} vs {esc(b)}: p_ds = {format_p(p1)}, p_bw = {format_p(p2)}, "
                               f"p_c0 = {format_p(p3)}" for a, b, p1, p2, p3 in pairs]
            lines += [esc(foot)]
            if fmt == "latex":
                lines = ["% " + line for line in lines]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
