"""The paper table as a paper prints it (issue 16 items 1 and 4): display names and groups, digits,
captions that state only what applies, tables that fit, marks on the printed values, booktabs, and
the manifest's metadata file kept anywhere. LaTeX is compiled with pdflatex."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from helpers import pdflatex, run_cli as run
from iqa_eval.data.dataset import Dataset
from iqa_eval.errors import InputError
from iqa_eval.render.bench_tables import _CSS, benchmark_caption, format_benchmark
from iqa_eval.studies.bench import benchmark, read_manifest, read_manifest_models

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "simulated_study.csv"
PACKAGES = ("booktabs", "graphicx")


@pytest.fixture(scope="module")
def example_sets(tmp_path_factory):
    """The shipped example split into two datasets (first and second half of its images)."""
    import pandas as pd

    root = tmp_path_factory.mktemp("example")
    frame = pd.read_csv(EXAMPLE)
    paths = []
    for name, part in (("first", frame.iloc[: len(frame) // 2]), ("second", frame.iloc[len(frame) // 2:])):
        path = root / f"{name}.csv"
        part.to_csv(path, index=False)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def example_result(example_sets):
    return benchmark(example_sets)


GROUPS = {"precise": "deep & co", "high_end": "deep & co", "fine_grain": "deep & co",
          "noisy": "traditional", "saturating": "traditional", "distance": "traditional"}
LABELS = {"precise": "Precise_Net", "distance": "dist%"}


def _rows(tex):
    return [line for line in tex.splitlines() if line.endswith(r"\\")]


def test_groups_are_blocks_with_a_header_and_a_rule_in_every_format(example_result, tmp_path):
    res = example_result
    tex = res.format("latex", labels=LABELS, groups=GROUPS)
    rows = _rows(tex)
    heads = [k for k, r in enumerate(rows) if r.startswith(r"\multicolumn{") and r"\textit{" in r]
    assert [rows[k] for k in heads] == [r"\multicolumn{%d}{l}{\textit{deep \& co}} \\" % (1 + 2 * 2 + 4 + 1),
                                        r"\multicolumn{%d}{l}{\textit{traditional}} \\" % (1 + 2 * 2 + 4 + 1)]
    lines = tex.splitlines()
    assert lines[lines.index(rows[heads[1]]) - 1] == r"\midrule"   # a rule above each later block
    block1 = [r.split(" & ")[0] for r in rows[heads[0] + 1:heads[1]]]
    block2 = [r.split(" & ")[0] for r in rows[heads[1] + 1:heads[1] + 4]]
    assert set(block1) == {"Precise\\_Net", "high\\_end", "fine\\_grain"}
    assert set(block2) == {"noisy", "saturating", "dist\\%"}
    # within a block the table's order (mean rank) is kept
    order = [m for m in res.summary.sort_values("mean_rank", kind="stable")["model"]]
    shown = {"Precise\\_Net": "precise", "high\\_end": "high_end", "fine\\_grain": "fine_grain", "noisy": "noisy",
             "saturating": "saturating", "dist\\%": "distance"}
    assert [shown[m] for m in block1] == [m for m in order if GROUPS[m] == "deep & co"]
    assert r"\hline" not in tex and r"\toprule" in tex and r"\bottomrule" in tex
    pdflatex(tmp_path, tex, packages=PACKAGES)
    md = res.format("markdown", labels=LABELS, groups=GROUPS)
    assert "| **deep &amp; co** |" in md and "| Precise\\_Net |" in md and "| dist% |" in md
    page = res.format("html", labels=LABELS, groups=GROUPS)
    assert page.count('<th scope="rowgroup"') == 2 and "deep &amp; co" in page and page.count("<tbody>") == 2
    text = res.format("table", labels=LABELS, groups=GROUPS)
    assert "\ndeep & co\n" in text and "\ntraditional\n" in text and "Precise_Net" in text
    doc = json.loads(res.format("json", labels=LABELS, groups=GROUPS))
    assert doc["labels"]["precise"] == "Precise_Net" and doc["groups"]["noisy"] == "traditional"
    csv = res.format("csv", labels=LABELS, groups=GROUPS)
    assert csv.splitlines()[0].startswith("model,label,group,")


def test_user_labels_and_groups_escaped_in_every_format(example_result, tmp_path):
    evil = {"precise": "<script>a</script>", "noisy": "=cmd|x", "distance": "x\x1b[31m_$&"}
    groups = {"precise": "G<1>", "noisy": "=G", "distance": "G\x1b"}
    res = example_result
    page = res.format("html", labels=evil, groups=groups)
    assert "<script>a" not in page and "&lt;script&gt;a&lt;/script&gt;" in page and "G&lt;1&gt;" in page
    md = res.format("markdown", labels=evil, groups=groups)
    assert "\\<script\\>" in md or "&lt;script&gt;" in md
    assert "\x1b" not in md + page + res.format("table", labels=evil, groups=groups)
    csv = res.format("csv", labels=evil, groups=groups)
    assert "'=cmd|x" in csv and "'=G" in csv
    tex = res.format("latex", labels=evil, groups=groups)
    assert r"\textless{}script\textgreater{}" in tex
    pdflatex(tmp_path, tex, packages=PACKAGES)


def test_bad_labels_are_one_error(example_result):
    with pytest.raises(InputError, match="no such model"):
        example_result.format("latex", labels={"nosuch": "X"})
    with pytest.raises(InputError, match="would both print as 'X'"):
        example_result.format("latex", labels={"precise": "X", "noisy": "X"})
    with pytest.raises(InputError, match="digits must be an integer >= 1"):
        example_result.format("latex", digits=0)


def _near_tie(seed=0, n=300):
    """Three models whose SROCC differ only beyond the third decimal (a rescaled copy plus tiny noise)."""
    rng = np.random.default_rng(seed)
    q = rng.normal(size=n)
    a = q + 0.4 * rng.normal(size=n)
    return Dataset(mos=q, predictions={"a": a, "b": a + 1e-3 * rng.normal(size=n), "c": q + rng.normal(size=n)})


def test_marks_follow_the_printed_precision_and_the_caption_says_so_once():
    res = benchmark({"D": _near_tie()})
    values = res.cells.set_index("model")["srocc"]
    assert values["a"] != values["b"]
    for digits in (1, 2, 3, 4, 5, 6):
        printed = {m: f"{values[m]:.{digits}f}" for m in "abc"}
        tex = res.format("latex", metrics=["srocc"], digits=digits)
        cells = {r.split(" & ")[0]: r.split(" & ")[1].rstrip(" \\") for r in _rows(tex)[2:]}
        best = max(float(v) for v in printed.values())
        for m in "abc":   # bold exactly where the printed value is the best printed value
            assert cells[m].startswith(r"\textbf{") == (float(printed[m]) == best), (digits, m, cells[m])
            assert printed[m] in cells[m]
        shared = printed["a"] == printed["b"]
        assert ("values that print equal share a mark" in tex) == shared
        assert tex.count("print equal") <= 1


def test_caption_states_only_what_applies(example_sets, tmp_path):
    res = benchmark(example_sets)
    words = res.format("latex")
    assert "empty cell" not in words and "Ranks by SROCC" not in words
    assert "mean rank: of the SROCC ranks" in words
    single = benchmark({"D": _near_tie()})
    one = single.format("latex", metrics=["srocc"])
    assert "Friedman" not in one and "Mean and N-weighted" not in one and "empty" not in one
    # an absent model: the empty cell is explained
    d = _near_tie()
    partial = benchmark({"D": d, "E": Dataset(mos=d.mos, predictions={"a": d.predictions["a"]})})
    assert "An empty cell: the model is not in that dataset." in partial.format("latex")
    # no caption, or the caption alone
    bare = res.format("latex", caption=False)
    assert r"\caption" not in bare and r"\begin{tabular}" in bare
    cap = benchmark_caption(res, "latex")
    assert cap.strip() == re.search(r"\\caption\{(.*)\}\n", words).group(1)
    pdflatex(tmp_path, bare + cap, packages=PACKAGES)


def test_wide_tables_are_resized_or_transposed_and_compile(example_result, tmp_path):
    res = example_result
    wide = res.format("latex", metrics="srocc,plcc,krcc,rmse")
    assert r"\resizebox{\linewidth}{!}{%" in wide and "graphicx" in wide.splitlines()[0]
    narrow = benchmark({"D": _near_tie()}).format("latex", metrics=["srocc"])
    assert r"\resizebox" not in narrow
    assert r"\resizebox" not in res.format("latex", metrics="srocc,plcc,krcc,rmse", fit="none")
    pdflatex(tmp_path, wide, packages=PACKAGES)
    # the compiled table is no wider than the text: pdflatex says nothing of an overfull box
    log = (tmp_path / "t.log").read_text(errors="replace")
    assert "Overfull \\hbox" not in log
    flipped = res.format("latex", metrics="srocc,plcc", transpose=True, groups=GROUPS, labels=LABELS)
    rows = _rows(flipped)
    assert rows[0].startswith(" & \\multicolumn{3}{c}{deep \\& co}")
    assert rows[1].split(" & ")[0] == "Dataset" and "Precise\\_Net" in rows[1]
    # 6 models and the noise ceiling's column (the example has std and n_ratings), datasets as row blocks
    assert r"\multicolumn{8}{l}{\textit{first}} \\" in rows and "mean rank" in flipped
    assert rows[1].rstrip(" \\").endswith("noise ceiling")
    # the same cells (marks included) as the table the usual way round, read by row instead of column
    usual = {r.split(" & ")[0]: r.split(" & ")[1:] for r in _rows(res.format("latex", metrics="srocc,plcc",
                                                                                 labels=LABELS))[2:]}
    head = rows[1].rstrip(" \\").split(" & ")[1:]
    srocc_first = rows[3].rstrip(" \\").split(" & ")
    assert srocc_first[0] == "SROCC"
    for k, name in enumerate(head[:-1]):   # (the last: the noise ceiling, a row of its own the usual way)
        assert srocc_first[k + 1] == usual[name][0].rstrip(" \\")
    pdflatex(tmp_path, flipped, packages=PACKAGES)
    assert "Overfull \\hbox" not in (tmp_path / "t.log").read_text(errors="replace")
    md = res.format("markdown", transpose=True)
    assert md.splitlines()[0].startswith("| dataset |")


def test_html_underlines_only_the_second_best():
    """The table's rules are drawn on its own cells (child combinators), never on a CI's <small>
    inside a cell: an underline in the table means 'second best' and nothing else."""
    for rule in re.findall(r"[^{}]+\{[^}]*border-(?:top|bottom)[^}]*\}", _CSS):
        selector = rule.split("{")[0]
        assert selector.rstrip().endswith(("*", "th", "td")) and (">" in selector), rule
    assert "text-decoration" not in _CSS


def test_cli_labels_digits_caption_file_and_manifest_models(example_sets, tmp_path):
    info = tmp_path / "models.csv"
    info.write_text("model,label,group\nprecise,Precise,deep\nnoisy,Noisy,traditional\n")
    out_tex, cap = tmp_path / "t.tex", tmp_path / "cap.tex"
    code, _, err = run("bench", *example_sets, "--model-info", info, "--label", "noisy=NOISY", "--digits", "2",
                       "--format", "latex", "-o", out_tex, "--caption-file", cap)
    assert code == 0, err
    tex = out_tex.read_text()
    assert r"\caption" not in tex and "NOISY &" in tex and "Precise &" in tex
    assert re.search(r"Precise & (\\textbf\{)?0\.\d\d[}$ &]", tex)
    assert cap.read_text().startswith("SROCC and PLCC per dataset")
    assert f"wrote {cap}" in err
    code, _, err = run("bench", *example_sets, "--label", "noisy")
    assert code == 2 and err == "error: --label takes MODEL=TEXT; got 'noisy'\n"
    code, _, err = run("bench", *example_sets, "--label", "nosuch=X")
    assert code == 2 and err.splitlines()[-1].startswith("error: label for 'nosuch': no such model")
    assert sum(line.startswith("error:") for line in err.splitlines()) == 1


def test_manifest_metadata_anywhere_and_model_tables(example_sets, tmp_path):
    """A folder of predictions paired with a metadata file kept elsewhere (relative to the manifest)."""
    import pandas as pd

    frame = pd.read_csv(example_sets[0])
    (tmp_path / "preds").mkdir()
    (tmp_path / "labels").mkdir()
    frame[["image", "mos", "std", "n_ratings"]].to_csv(tmp_path / "labels" / "meta.csv", index=False)
    for m in ("precise", "noisy"):
        frame[["image", m]].to_csv(tmp_path / "preds" / f"{m}.csv", index=False)
    manifest = tmp_path / "sets.toml"
    manifest.write_text('[[dataset]]\nname = "D"\ndir = "preds"\nmetadata = "labels/meta.csv"\n\n'
                        '[[model]]\nname = "precise"\nlabel = "Precise"\ngroup = "deep"\n')
    specs = read_manifest(manifest)
    assert [f.name for f in specs[0].files] == ["meta.csv", "noisy.csv", "precise.csv"]
    assert read_manifest_models(manifest) == ({"precise": "Precise"}, {"precise": "deep"})
    code, out, err = run("bench", "--manifest", manifest, "--format", "json")
    assert code == 0, err
    direct = benchmark({"D": [tmp_path / "labels" / "meta.csv", tmp_path / "preds" / "precise.csv",
                              tmp_path / "preds" / "noisy.csv"]})
    doc = json.loads(out)
    assert {c["model"]: c["srocc"] for c in doc["cells"]} == dict(zip(direct.cells["model"], direct.cells["srocc"]))
    assert doc["labels"]["precise"] == "Precise"
    manifest.write_text(manifest.read_text().replace("labels/meta.csv", "labels/none.csv"))
    code, _, err = run("bench", "--manifest", manifest)
    assert code == 2 and len(err.splitlines()) == 1 and "metadata file" in err and "none.csv" in err
    manifest.write_text(manifest.read_text().replace('label = "Precise"', 'colour = "red"'))
    code, _, err = run("bench", "--manifest", manifest)
    assert code == 2 and len(err.splitlines()) == 1


@pytest.mark.slow
def test_gmc_reference_manifest_with_metadata_elsewhere_compiles(shared_dir, tmp_path):
    """KADID-10k and TID2013 predictions in one folder each, their MOS files in another (join order)."""
    for d in ("kadid10k", "tid2013"):
        (tmp_path / "preds" / d).mkdir(parents=True)
        for f in (shared_dir / d).glob("*.csv"):
            if f.name != "meta.csv":
                shutil.copy(f, tmp_path / "preds" / d / f.name)
    manifest = tmp_path / "sets.toml"
    (tmp_path / "mos").mkdir()
    for d in ("kadid10k", "tid2013"):
        shutil.copy(shared_dir / d / "meta.csv", tmp_path / "mos" / f"{d}.csv")
    manifest.write_text("".join(f'[[dataset]]\nname = "{n}"\ndir = "preds/{d}"\nmetadata = "mos/{d}.csv"\n'
                                'join = "order"\n\n' for n, d in (("KADID-10k", "kadid10k"), ("TID2013", "tid2013")))
                        + "".join(f'[[model]]\nname = "{m}"\nlabel = "{lab}"\ngroup = "{g}"\n\n'
                                  for m, lab, g in (("psnr", "PSNR", "traditional"), ("ssim", "SSIM", "traditional"),
                                                    ("ms_ssim", "MS-SSIM", "traditional"), ("lpips", "LPIPS", "deep"),
                                                    ("dists", "DISTS", "deep"), ("DeepWSD", "DeepWSD", "deep"))))
    out = tmp_path / "table.tex"
    code, _, err = run("bench", "--manifest", manifest, "--metrics", "srocc,plcc,rmse", "--format", "latex",
                       "-o", out)
    assert code == 0, err
    tex = out.read_text()
    assert "MS-SSIM" in tex and "ms\\_ssim" not in tex and r"\resizebox" in tex
    assert r"\textit{traditional}" in tex and r"\textit{deep}" in tex
    # the same numbers as the files read together from one folder
    code, js, err = run("bench", "--manifest", manifest, "--format", "json")
    from iqa_eval.studies.bench import dataset_spec
    ref = benchmark([dataset_spec(shared_dir / "kadid10k", name="KADID-10k", join="order"),
                     dataset_spec(shared_dir / "tid2013", name="TID2013", join="order")])
    got = {(c["dataset"], c["model"]): c["srocc"] for c in json.loads(js)["cells"]}
    assert got == {(r.dataset, r.model): r.srocc for r in ref.cells.itertuples()}
    pdflatex(tmp_path, tex, packages=PACKAGES)
    assert "Overfull \\hbox" not in (tmp_path / "t.log").read_text(errors="replace")


# -- score: the same options, booktabs ------------------------------------------------------------
def test_score_latex_is_booktabs_with_labels_groups_digits_and_compiles(tmp_path):
    out, cap = tmp_path / "s.tex", tmp_path / "cap.txt"
    code, _, err = run("score", EXAMPLE, "--format", "latex", "-o", out, "--label", "precise=Pre_cise&",
                       "--group", "precise=deep & co", "--group", "noisy=classic", "--digits", "3",
                       "--caption-file", cap)
    assert code == 0, err
    tex = out.read_text()
    assert r"\hline" not in tex and r"\toprule" in tex and r"\bottomrule" in tex
    rows = _rows(tex)
    assert rows[1] == r"\multicolumn{11}{l}{\textit{deep \& co}} \\"
    assert rows[2].startswith(r"Pre\_cise\&$^\dagger$ & 1500 & ")
    assert re.match(r"^\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]$", rows[2].split(" & ")[2])
    assert rows[3] == r"\multicolumn{11}{l}{\textit{classic}} \\" and rows[4].startswith("noisy & ")
    assert "tied with the best" not in tex and "tied with the best" in cap.read_text()
    pdflatex(tmp_path, tex, packages=("booktabs",))
    code, text, err = run("score", EXAMPLE, "--label", "precise=P", "--no-caption")
    assert code == 0 and "tied with the best" not in text and "\nP " in "\n" + text.split("\n", 2)[2]
    code, _, err = run("score", EXAMPLE, "--group", "nosuch=G")
    assert code == 2 and err.splitlines()[-1].startswith("error: group for 'nosuch': no such model")
