"""The noise ceiling as a reference row of ``score`` (and ``bench``, and the report): its numbers are
:func:`ceiling_from_summary`'s (checked against brute force in test_subjective_ceiling.py), it appears
only with std and n_ratings, and it is never a model."""
from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest

from helpers import pdflatex, run_cli
from iqa_eval.data.dataset import Dataset
from iqa_eval.render.formatting import format_evaluation
from iqa_eval.studies.evaluation import evaluate
from iqa_eval.subjective import ceiling_from_summary

HOSTILE = "bad & 50% $x$ #1 a_b {c} <b>|h|</b> *"


def _study(n=60, seed=0, names=("good", "fair", HOSTILE)):
    """A MOS from 8-20 noisy raters per image (its std and count), and models of decreasing precision."""
    rng = np.random.default_rng(seed)
    q = rng.normal(3.0, 0.8, n)
    k = rng.integers(8, 21, n)
    votes = [q[j] + rng.normal(0, 1.0, k[j]) for j in range(n)]
    mos = np.array([v.mean() for v in votes])
    std = np.array([v.std(ddof=1) for v in votes])
    preds = {m: q + s * rng.normal(size=n) for m, s in zip(names, (0.2, 0.5, 0.9))}
    return mos, std, k.astype(float), preds


def _data(with_std=True, with_n=True, **kw):
    mos, std, k, preds = _study(**kw)
    return Dataset(mos=mos, predictions=preds, std=std if with_std else None, n_ratings=k if with_n else None)


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_the_ceiling_is_ceiling_from_summary_of_the_same_data(alpha):
    mos, std, k, _ = _study()
    ev = evaluate(_data(), alpha=alpha)
    ref = ceiling_from_summary(mos, std, k, confidence_level=1 - alpha)
    assert ev.ceiling is not None
    assert ev.ceiling.as_dict() == ref.as_dict()
    # and the numbers themselves, from the formulas: R = 1 - mean(s^2/n)/var(mos), PLCC = sqrt(R),
    # SROCC = 6/pi asin(sqrt(R)/2)
    r = 1 - np.mean(std ** 2 / k) / np.var(mos, ddof=1)
    assert ev.ceiling.reliability == pytest.approx(r, abs=1e-12)
    assert ev.ceiling.srocc == pytest.approx(6 / np.pi * np.arcsin(np.sqrt(r) / 2), abs=1e-12)
    assert ev.ceiling.plcc == pytest.approx(np.sqrt(r), abs=1e-12)


@pytest.mark.parametrize("with_std,with_n", [(False, False), (True, False), (False, True)])
def test_no_ceiling_without_both_std_and_n_ratings(with_std, with_n):
    ev = evaluate(_data(with_std, with_n))
    assert ev.ceiling is None
    assert not any("noise ceiling" in n for n in ev.notes)
    for fmt in ("table", "markdown", "latex", "csv"):
        assert "noise ceiling" not in format_evaluation(ev, fmt)
    assert json.loads(format_evaluation(ev, "json"))["ceiling"] is None


def test_too_few_images_for_a_ceiling_is_a_note_not_a_row():
    mos, std, k, preds = _study(n=60)
    keep = slice(0, 3)   # 3 images with std and n; the other rows' std missing
    std2 = np.full_like(std, np.nan)
    std2[keep] = std[keep]
    ev = evaluate(Dataset(mos=mos, predictions=preds, std=std2, n_ratings=k))
    assert ev.ceiling is None
    assert any(n.startswith("noise ceiling: not computed") and "at least 4 images" in n for n in ev.notes)
    assert "noise ceiling" not in format_evaluation(ev, "table").split("\n\n")[0]


def test_the_ceiling_is_never_a_model():
    with_c, without = evaluate(_data()), evaluate(_data(with_std=False, with_n=False))
    assert with_c.ceiling is not None and with_c.ceiling.srocc > with_c.table["srocc"].max()
    # same models, order, SROCC, ties, best and paired tests as without the ceiling
    cols = ["model", "srocc", "tied_with_best"]
    pd.testing.assert_frame_equal(with_c.table[cols], without.table[cols])
    pd.testing.assert_frame_equal(with_c.pairwise, without.pairwise)
    assert with_c.best == without.best == "good"
    assert "noise ceiling" not in set(with_c.table["model"])
    # CSV stays one row per model (the ceiling is in the JSON only)
    csv = pd.read_csv(__import__("io").StringIO(format_evaluation(with_c, "csv")))
    assert len(csv) == 3 and not csv["model"].astype(str).str.contains("ceiling").any()


def _row_numbers(line):
    return [float(x) for x in re.findall(r"\d\.\d{4}", line)]


def test_text_table_has_the_reference_row_below_a_rule_unmarked():
    ev = evaluate(_data())
    d = ev.ceiling.as_dict()
    lines = format_evaluation(ev, "table").splitlines()
    k = next(i for i, x in enumerate(lines) if x.startswith("noise ceiling "))
    assert set(lines[k - 1].replace(" ", "")) == {"-"}                  # a rule above it
    assert set(lines[1].replace(" ", "")) == {"-"} and k - 1 == 2 + 3   # header, rule, 3 models, rule
    assert _row_numbers(lines[k]) == pytest.approx(
        [d["srocc"], d["srocc_ci_low"], d["srocc_ci_high"], d["plcc"], d["plcc_ci_low"], d["plcc_ci_high"]], abs=5e-5)
    assert re.search(rf"\s{ev.ceiling.n_images}\s", lines[k])
    assert "\u2020" not in lines[k] and "*" not in lines[k]
    assert any(x.startswith("noise ceiling: the expected SROCC and PLCC of a perfect model") for x in lines)


def test_json_has_the_ceiling_object():
    ev = evaluate(_data())
    doc = json.loads(format_evaluation(ev, "json"))
    assert doc["ceiling"] == pytest.approx(ev.ceiling.as_dict())
    assert [m["model"] for m in doc["models"]] == list(ev.table["model"])


def test_markdown_row_is_italic_and_last():
    ev = evaluate(_data())
    lines = format_evaluation(ev, "markdown").splitlines()
    table = [x for x in lines if x.startswith("|")]
    assert table[-1].startswith("| *noise ceiling* | *60* | *")
    assert "\u2020" not in table[-1]


def test_latex_row_is_italic_below_a_rule_and_compiles(tmp_path):
    ev = evaluate(_data())
    tex = format_evaluation(ev, "latex")
    lines = tex.splitlines()
    k = next(i for i, x in enumerate(lines) if x.startswith(r"\textit{noise ceiling}"))
    assert lines[k - 1] == r"\midrule" and lines[k + 1] == r"\bottomrule"   # booktabs, as bench
    assert r"\dagger" not in lines[k]
    assert f"\\textit{{{ev.ceiling.srocc:.4f} [" in lines[k]
    pdflatex(tmp_path, tex, packages=("booktabs",))


def test_cli_score_shows_the_row_and_no_redundant_note(tmp_path):
    mos, std, k, preds = _study()
    meta = tmp_path / "meta.csv"
    pd.DataFrame({"image": [f"i{j}" for j in range(mos.size)], "mos": mos, "std": std, "n_ratings": k,
                  **{m: v for m, v in preds.items() if m != HOSTILE}}).to_csv(meta, index=False)
    code, out, err = run_cli("score", meta, "--no-pairwise")
    assert code == 0, err
    c = ceiling_from_summary(mos, std, k)
    row = [x for x in out.splitlines() if x.startswith("noise ceiling ")]
    assert len(row) == 1 and f"{c.srocc:.4f}" in row[0]
    assert not any("expected SROCC" in x for x in err.splitlines())   # said once, by the row
    code, out, err = run_cli("score", meta, "--no-pairwise", "--format", "json")
    assert json.loads(out)["ceiling"]["srocc"] == pytest.approx(c.srocc)


# -- bench ---------------------------------------------------------------------------------------
def _bench_sets(hostile=True):
    out = {}
    for seed, (name, with_std) in enumerate(((HOSTILE if hostile else "A", True), ("B", False), ("C", True))):
        out[name] = _data(with_std=with_std, with_n=with_std, seed=seed + 1, n=70, names=("good", "fair", "poor"))
    return out


def _bench_without_ceilings(sets):
    from iqa_eval.studies.bench import benchmark

    return benchmark({k: Dataset(mos=d.mos, predictions=d.predictions) for k, d in sets.items()})


def test_bench_ceilings_are_ceiling_from_summary_per_dataset_and_never_models():
    from iqa_eval.studies.bench import benchmark

    sets = _bench_sets()
    res = benchmark(sets)
    assert set(res.ceilings) == {HOSTILE, "C"}          # B has no std and n_ratings: no ceiling
    for name, c in res.ceilings.items():
        d = sets[name]
        assert c.as_dict() == ceiling_from_summary(d.mos, d.std, d.n_ratings).as_dict()
    plain = _bench_without_ceilings(sets)
    cols = ["dataset", "model", "srocc", "rank", "tied_with_best"]
    pd.testing.assert_frame_equal(res.cells[cols], plain.cells[cols])
    pd.testing.assert_frame_equal(res.summary, plain.summary)
    assert res.friedman.statistic == plain.friedman.statistic and res.friedman.mean_ranks == plain.friedman.mean_ranks
    assert res.models == plain.models == ["good", "fair", "poor"]
    doc = json.loads(res.format("json"))
    assert set(doc["ceilings"]) == {HOSTILE, "C"}
    assert doc["ceilings"]["C"] == pytest.approx(res.ceilings["C"].as_dict())
    assert all(c["model"] != "noise ceiling" for c in doc["cells"])
    assert json.loads(plain.format("json"))["ceilings"] == {}
    for fmt in ("table", "markdown", "latex", "html", "csv"):
        assert "noise ceiling" not in plain.format(fmt)
    assert "ceiling" not in res.format("csv")


def test_bench_table_row_values_unmarked_and_below_a_rule():
    from iqa_eval.studies.bench import benchmark

    res = benchmark(_bench_sets(hostile=False))
    lines = res.format("table").splitlines()
    k = next(i for i, x in enumerate(lines) if x.startswith("noise ceiling "))
    assert set(lines[k - 1].replace(" ", "")) == {"-"}
    expected = []
    for name in ("A", "C"):
        d = res.ceilings[name].as_dict()
        expected += [d[f"{m}{s}"] for m in ("srocc", "plcc") for s in ("", "_ci_low", "_ci_high")]
    assert [float(x) for x in re.findall(r"\d\.\d{3}", lines[k])] == pytest.approx(expected, abs=5e-4)
    assert not set(lines[k]) & {"\u00b9", "\u00b2", "\u2020"}
    md = [x for x in res.format("markdown").splitlines() if x.startswith("|")]
    assert md[-1].startswith("| *noise ceiling* | *") and "**" not in md[-1] and "<u>" not in md[-1]


def test_bench_html_escapes_and_latex_compiles_with_the_ceiling_row(tmp_path):
    from iqa_eval.studies.bench import benchmark

    res = benchmark(_bench_sets())
    page = res.format("html")
    foot = page[page.index("<tfoot>"):page.index("</tfoot>")]
    assert 'class="ceiling"' in foot and "<b>" not in foot and "<u>" not in foot
    assert HOSTILE not in page and html.escape(HOSTILE) in page     # the dataset name, escaped everywhere
    tex = res.format("latex", metrics=("srocc", "plcc"))
    row = next(x for x in tex.splitlines() if x.startswith(r"\textit{noise ceiling}"))
    assert r"\textbf" not in row and r"\underline" not in row and r"\dagger" not in row
    assert f"\\textit{{{res.ceilings['C'].srocc:.3f}}}" in row
    pdflatex(tmp_path, tex, packages=("booktabs", "graphicx"))


# -- report --------------------------------------------------------------------------------------
def test_report_puts_each_model_on_the_ceilings_scale_and_escapes_names():
    from iqa_eval.render.report import report_html

    ev = evaluate(_data())
    page = report_html(evaluation=ev)
    section = page[page.index('<section id="scores">'):]
    section = section[:section.index("</section>")]
    assert HOSTILE not in page and html.escape(HOSTILE) in section
    body = section[section.index("<tbody>"):section.index("</tbody>")]
    head = re.findall(r"<th[^>]*>(.*?)</th>", section[:section.index("</thead>")])
    col = head.index("SROCC / ceiling")
    for tr, srocc in zip(re.findall(r"<tr[^>]*>(.*?)</tr>", body), ev.table["srocc"]):
        tds = re.findall(r"<td[^>]*>(.*?)</td>", tr)
        assert tds[col] == f"{100 * srocc / ev.ceiling.srocc:.1f}%"
    foot = section[section.index("<tfoot>"):section.index("</tfoot>")]
    tds = re.findall(r"<td[^>]*>(.*?)</td>", foot)
    assert tds[0] == "noise ceiling" and tds[1] == ""               # no best / tie mark
    assert tds[head.index("SROCC")].startswith(f"{ev.ceiling.srocc:.4f}<br>")
    assert tds[head.index("PLCC (mapped)")].startswith(f"{ev.ceiling.plcc:.4f}<br>")
    assert f"reliability {ev.ceiling.reliability:.4f}" in section
    plain = report_html(evaluation=evaluate(_data(with_std=False, with_n=False)))
    assert "noise ceiling" not in plain.lower() and "SROCC / ceiling" not in plain


def test_cli_bench_json_and_a_constant_n_ratings(tmp_path):
    mos, std, k, preds = _study(names=("good", "fair", "poor"))
    frame = pd.DataFrame({"image": [f"i{j}" for j in range(mos.size)], "mos": mos, "std": std, **preds})
    for name in ("d1", "d2"):
        (tmp_path / name).mkdir()
        frame.assign(n_ratings=k).to_csv(tmp_path / name / "meta.csv", index=False)
    code, out, err = run_cli("bench", tmp_path / "d1", tmp_path / "d2", "--format", "json")
    assert code == 0, err
    ceilings = json.loads(out)["ceilings"]
    assert set(ceilings) == {"d1", "d2"}
    assert ceilings["d1"]["srocc"] == pytest.approx(ceiling_from_summary(mos, std, k).srocc, abs=1e-12)
    # std without a count column: no ceiling; with --n-ratings 15 every image counts 15 ratings
    only_std = tmp_path / "std.csv"
    frame.to_csv(only_std, index=False)
    code, out, err = run_cli("score", only_std, "--no-pairwise", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["ceiling"] is None
    code, out, err = run_cli("score", only_std, "--no-pairwise", "--format", "json", "--n-ratings", "15")
    assert code == 0, err
    ref = ceiling_from_summary(mos, std, np.full(mos.size, 15.0))
    assert json.loads(out)["ceiling"]["srocc"] == pytest.approx(ref.srocc, abs=1e-12)
