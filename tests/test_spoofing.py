"""Spoofing: user strings (model, dataset, column and file names) can never make a mark, a line or markup.

Issue 14: a model named ``bad * v2`` rendered in LaTeX as ``bad$^{*}$ v2`` (read as "tied with
the best"); a newline in a model or file name broke terminal tables and forged ``note:`` lines;
Markdown left ``$`` (math in GitHub and Pandoc).
"""
from __future__ import annotations

import html
import re
import subprocess

import numpy as np
import pandas as pd
import pytest

from helpers import pdflatex, run_cli
from iqa_eval._runtime.escape import markdown_safe, spreadsheet_safe, terminal_safe
from iqa_eval.studies.bench import benchmark
from iqa_eval.data.dataset import Dataset
from iqa_eval.studies.evaluation import evaluate
from iqa_eval.render.formatting import format_evaluation, latex_escape

# the tool's own line prefixes on stderr; stdout lines of a table never start with them
PREFIXES = ("note:", "error:", "warning:", "wrote ", "interrupted")
FORGED = "x\nnote: forged\rerror: forged\x1b[2K\u2028warning: forged\u2029\x85y"


def _study(names, seed=0, n=120):
    """MOS and models with known quality: the first name is a near copy of MOS (the best),
    the others far worse, so no other model can be tied with the best."""
    rng = np.random.default_rng(seed)
    q = rng.normal(size=n)
    preds = {name: q + (0.05 if k == 0 else 2.0 + k) * rng.normal(size=n) for k, name in enumerate(names)}
    return q, preds


def _csv(tmp_path, names, filename="study.csv"):
    q, preds = _study(names)
    df = pd.DataFrame({"image": [f"img{i:03d}.png" for i in range(q.size)], "mos": q, **preds})
    path = tmp_path / filename
    df.to_csv(path, index=False)
    return path


_pdflatex = pdflatex


# -- LaTeX ----------------------------------------------------------------------------------
HOSTILE_TEX = "bad * v2 & 50% $x$ #1 a_b {c} ~d ^e \\f <g> |h|"


def test_a_star_in_a_model_name_is_not_the_tie_mark_in_score_latex(tmp_path):
    src = _csv(tmp_path, ["best", "bad * v2", "worse *"])
    code, out, err = run_cli("score", src, "--format", "latex", "--no-pairwise")
    assert code == 0, err
    rows = {line.split(" & ")[0]: line for line in out.splitlines() if line.endswith(r" \\") and " & " in line}
    # the one tied model is the best itself, marked with the one tie mark (the dagger); the
    # user's stars are text, never a mark
    assert r"best$^\dagger$" in rows
    assert sum(r"$^\dagger$" in name for name in rows) == 1
    assert latex_escape("bad * v2") in rows and latex_escape("worse *") in rows
    assert not any("$^" in name for name in rows if not name.startswith("best"))


def test_latex_escape_leaves_no_special_and_no_star_to_replace():
    text = latex_escape(HOSTILE_TEX)
    assert "*" not in text.replace("{*}", "")     # every star braced: no replace can find " *"
    unescaped = re.sub(r"\\(textbackslash|textasciitilde|textasciicircum|textless|textgreater|textbar)\{\}"
                       r"|\\[&%$#_{}]|\{\*\}", "", text)
    assert not set(unescaped) & set("&%$#_{}~^\\<>|")
    assert latex_escape("line\nbreak\x1b") == r"line\textbackslash{}nbreak\textbackslash{}x1b"


def test_score_latex_with_a_hostile_name_compiles_and_shows_it_literally(tmp_path):
    src = _csv(tmp_path, ["best", HOSTILE_TEX, "two\n\nparagraphs"])
    code, out, err = run_cli("score", src, "--format", "latex", "--no-pairwise")
    assert code == 0, err
    _pdflatex(tmp_path, out, packages=("booktabs", "graphicx"))
    text = subprocess.run(["pdftotext", "t.pdf", "-"], cwd=tmp_path, capture_output=True, text=True)
    if text.returncode == 0:   # poppler-utils present: the name reads back literally
        assert "bad * v2 & 50% $x$ #1" in text.stdout and "<g> |h|" in text.stdout


def test_bench_latex_with_a_hostile_name_compiles_and_has_no_extra_mark(tmp_path):
    q, preds = _study(["best", HOSTILE_TEX, "bad $^\\dagger$ v3"])
    data = Dataset(mos=q, predictions=preds)
    res = benchmark({"set * 1": data, "set & 2": data})
    tex = res.format("latex", metrics="srocc,plcc")
    assert r"\{*\}" not in tex and "$^{*}$" not in tex
    row = next(line for line in tex.splitlines() if line.startswith(latex_escape("bad * v2")))
    assert row.count(r"$^\dagger$") == 0      # the dagger in a name is text (\$\^{}...), not a mark
    assert r"bad \$\textasciicircum{}\textbackslash{}dagger\$ v3" in tex
    _pdflatex(tmp_path, tex, packages=("booktabs", "graphicx"))


def test_bench_cli_latex_escapes_a_hostile_file_name(tmp_path):
    folder = tmp_path / "set1"
    folder.mkdir()
    q, preds = _study(["best", "bad * v2"])
    names = [f"img{i:03d}.png" for i in range(q.size)]
    pd.DataFrame({"image": names, "mos": q}).to_csv(folder / "meta.csv", index=False)
    for model, v in preds.items():
        pd.DataFrame({"image": names, "score": v}).to_csv(folder / f"{model}.csv", index=False)
    code, out, err = run_cli("bench", folder, "--format", "latex", "--metrics", "srocc")
    assert code == 0, err
    assert "bad {*} v2 &" in out and "$^{*}$" not in out


# -- terminal ---------------------------------------------------------------------------------
def test_terminal_safe_makes_every_line_and_format_control_visible():
    assert terminal_safe("a\nb\rc\td\x1b[31me\u2028f\u2029g\x85h\u202ei\x00") == \
        "a\\nb\\rc\\td\\x1b[31me\\u2028f\\u2029g\\x85h\\u202ei\\x00"
    assert terminal_safe("plain ünïcode ¹²†") == "plain ünïcode ¹²†"
    assert "\n" not in terminal_safe(FORGED) and len(terminal_safe(FORGED).splitlines()) == 1


def _lines_are_the_tools_own(out, err):
    """Every stderr line starts with a prefix of the tool's; no stdout line does."""
    for line in err.splitlines():
        assert line.startswith(PREFIXES) or not line.strip(), repr(line)
    for line in out.splitlines():
        assert not line.startswith(PREFIXES), repr(line)
    for text in (out, err):
        assert not set(text) & {"\r", "\x1b", "\u2028", "\u2029", "\x85"}


def test_a_column_named_with_a_newline_cannot_break_the_table_or_forge_a_line(tmp_path):
    src = _csv(tmp_path, ["best", FORGED, "other"])
    code, out, err = run_cli("score", src)
    assert code == 0, err
    _lines_are_the_tools_own(out, err)
    table = out.split("\n\n")[0].splitlines()
    assert len(table) == 2 + 3                          # header, rule, one line per model
    assert len({len(line.rstrip()) for line in table[2:]} | {len(table[1])}) <= 4
    assert any(line.startswith(terminal_safe(FORGED)) for line in table)
    code, out, err = run_cli("bench", src, "--metrics", "srocc")
    assert code == 0, err
    _lines_are_the_tools_own(out, err)
    assert terminal_safe(FORGED) in out


def test_a_file_whose_name_holds_a_newline_cannot_forge_a_line(tmp_path):
    name = "scores\nnote: all good\rerror: none.csv"
    src = _csv(tmp_path, ["best", "other"], filename=name)
    assert (tmp_path / name).exists() and "\n" in src.name
    # a note naming the file (no key column: rows taken in order, said in a note) and the output line
    single = tmp_path / name.replace(".csv", "-1.csv")
    pd.read_csv(src).drop(columns=["image"]).to_csv(single, index=False)
    code, out, err = run_cli("score", single, "-o", tmp_path / "out\nnote: forged.csv")
    _lines_are_the_tools_own(out, err)
    assert code == 0, err
    assert "out\\nnote: forged.csv" in err
    # an error naming the file: one error line, the name written out
    bad = tmp_path / "bad\nerror: forged.csv"
    bad.write_text("mos,m\n1,0.1\n2,0.2\n3,x\n4,0.4\n")
    code, out, err = run_cli("score", bad)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("error: ") and "bad\\nerror: forged.csv" in err
    _lines_are_the_tools_own(out, err)


def test_notes_with_user_strings_are_one_line_each(capsys):
    from iqa_eval.cli._common import echo_notes

    echo_notes([f"model {FORGED} flipped", "second"])
    err = capsys.readouterr().err
    assert err.splitlines() == [f"note: model {terminal_safe(FORGED)} flipped", "note: second"]


# -- Markdown ------------------------------------------------------------------------------
def test_markdown_escapes_math_code_html_links_and_pipes():
    assert markdown_safe("$E=mc^2$") == r"\$E=mc^2\$"
    assert markdown_safe("a|b `c` <d> [e](f) *g* _h_") == r"a\|b \`c\` &lt;d&gt; \[e\](f) \*g\* \_h\_"


def test_score_and_bench_markdown_show_dollars_literally(tmp_path):
    name = "m $x^2$ | `c` <b>[l](u)"
    src = _csv(tmp_path, ["best", name])
    code, out, err = run_cli("score", src, "--format", "markdown", "--no-pairwise")
    assert code == 0, err
    assert markdown_safe(name) in out and "$x" not in out.replace("\\$x", "")
    q, preds = _study(["best", name])
    md = benchmark({"D $1$": Dataset(mos=q, predictions=preds)}).format("markdown", metrics="srocc")
    assert markdown_safe(name) in md and markdown_safe("D $1$") in md
    assert not re.search(r"(?<!\\)\$", md)


# -- CSV formulas ---------------------------------------------------------------------------
FORMULAS = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


def test_score_csv_neutralises_every_formula_start(tmp_path):
    q, preds = _study(["best", *FORMULAS])
    text = format_evaluation(evaluate(Dataset(mos=q, predictions=preds)), "csv")
    models = pd.read_csv(pd.io.common.StringIO(text))["model"].tolist()
    # one row per model: a CR inside a name would otherwise start a row of its own
    assert sorted(models) == sorted(["best"] + [spreadsheet_safe(terminal_safe(f)) for f in FORMULAS])
    assert all(m == "best" or m[0] in "'\\" for m in models)
    q, preds = _study(["best", "x\r=HYPERLINK(1)", "y\n@SUM(1)"])
    text = format_evaluation(evaluate(Dataset(mos=q, predictions=preds)), "csv")
    assert len(text.splitlines()) == 4 and not re.search(r"^[=+\-@]", text, re.M)
    # through the command line (a tab or CR in a CSV header is a reading question, not this one)
    src = _csv(tmp_path, ["best", *FORMULAS[:4]])
    code, out, err = run_cli("score", src, "--format", "csv", "--no-pairwise")
    assert code == 0, err
    models = pd.read_csv(pd.io.common.StringIO(out))["model"].tolist()
    assert sorted(models) == sorted(["best"] + ["'" + f for f in FORMULAS[:4]])


def test_bench_csv_neutralises_model_and_dataset_names():
    q, preds = _study(["best", *FORMULAS])
    text = benchmark({"=D": Dataset(mos=q, predictions=preds)}).format("csv", metrics="srocc")
    frame = pd.read_csv(pd.io.common.StringIO(text))
    assert all(m == "best" or m[0] in "'\\" for m in frame["model"])
    assert all(not str(c).startswith(("=", "+", "-", "@", "\t", "\r")) for c in frame.columns)


# -- HTML --------------------------------------------------------------------------------------
EVIL_HTML = "<img src=x onerror=alert(1)>\"'&amp;"


def test_bench_html_shows_hostile_names_as_text():
    q, preds = _study(["best", EVIL_HTML])
    page = benchmark({"<D>": Dataset(mos=q, predictions=preds)}).format("html", metrics="srocc")
    assert "<img" not in page and html.escape(EVIL_HTML) in page and "&lt;D&gt;" in page


# The report's pages: tests/test_report.py::test_user_strings_are_escaped_everywhere (title, tables,
# notes, file names and the plotly JSON) and test_comparison_page_is_interactive_and_escaped.
