"""`iqa-eval bench` / `iqa_eval.benchmark`: cells equal `score`, marks, summary, Friedman, Nemenyi, formats."""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers import run_cli as run
from iqa_eval.studies.bench import benchmark, friedman_nemenyi, read_manifest
from iqa_eval.data.dataset import Dataset
from iqa_eval.data.simulation import simulate_study
from iqa_eval.errors import InputError


def _write_dataset(directory, n, seed, *, drop=()):
    """One directory as a user has it: meta.csv (image, mos, std, n_ratings) + one file per model."""
    directory.mkdir(parents=True, exist_ok=True)
    df = simulate_study(n, seed=seed)
    df[["image", "mos", "std", "n_ratings"]].to_csv(directory / "meta.csv", index=False)
    for model in df.columns[4:]:
        if model not in drop:
            df[["image", model]].rename(columns={model: "score"}).to_csv(directory / f"{model}.csv", index=False)
    return directory


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    return [_write_dataset(root / "alpha", 150, 1), _write_dataset(root / "beta", 220, 2),
            _write_dataset(root / "gamma", 180, 3, drop=("noisy",))]


def test_every_cell_equals_score_on_that_dataset_alone(three):
    code, out, err = run("bench", *three, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["datasets"] == ["alpha", "beta", "gamma"]
    cells = {(c["dataset"], c["model"]): c for c in doc["cells"]}
    for directory in three:
        code, out, err = run("score", *sorted(directory.glob("*.csv")), "--format", "json")
        assert code == 0, err
        rows = json.loads(out)["models"]
        assert len(rows) == sum(1 for d, _ in cells if d == directory.name)
        for row in rows:
            cell = cells[(directory.name, row["model"])]
            assert cell["n"] == row["n"]
            for key in ("srocc", "krcc", "plcc", "rmse"):
                assert cell[key] == row[key], key
            for key in ("srocc_ci_low", "srocc_ci_high", "plcc_ci_low", "plcc_ci_high"):
                assert cell[key] == row[key], key
            assert cell["tied_with_best"] == row["tied_with_best"]
        # rank: by SROCC within the dataset, as scipy ranks the negated values
        expected = stats.rankdata([-r["srocc"] for r in rows])
        assert [cells[(directory.name, r["model"])]["rank"] for r in rows] == list(expected)
    assert set(doc["cells"][0]) == {"dataset", "model", "n", "srocc", "srocc_ci_low", "srocc_ci_high", "krcc", "plcc",
                                    "plcc_ci_low", "plcc_ci_high", "rmse",
                                    "rank", "tied_with_best"}
    assert set(doc["summary"][0]) == {"model", "mean_srocc", "weighted_srocc", "mean_plcc", "weighted_plcc",
                                      "mean_rank"}
    assert set(doc["friedman"]) == {"statistic", "pvalue", "critical_difference", "f_statistic", "f_pvalue",
                                    "permutation_pvalue", "permutation_method", "n_permutations",
                                    "permutation_seed", "decides", "decision_pvalue"}
    assert doc["posthoc"]["test"] == "nemenyi"


def test_absent_model_is_an_empty_cell_and_the_summary_says_which_datasets(three):
    code, out, err = run("bench", *three, "--format", "json")
    doc = json.loads(out)
    assert ("gamma", "noisy") not in {(c["dataset"], c["model"]) for c in doc["cells"]}
    assert "left out: gamma" in err
    assert doc["settings"]["summary_datasets"] == ["alpha", "beta"]
    by = {(c["dataset"], c["model"]): c for c in doc["cells"]}
    summary = {s["model"]: s for s in doc["summary"]}
    for model, s in summary.items():
        v = [by[(d, model)]["srocc"] for d in ("alpha", "beta")]
        n = [by[(d, model)]["n"] for d in ("alpha", "beta")]
        assert s["mean_srocc"] == pytest.approx(np.mean(v), abs=1e-15)
        assert s["weighted_srocc"] == pytest.approx(np.dot(v, n) / sum(n), abs=1e-15)
        assert s["mean_rank"] == pytest.approx(np.mean([by[(d, model)]["rank"] for d in ("alpha", "beta")]))
    code, out, _ = run("bench", *three, "--format", "markdown")
    noisy = next(line for line in out.splitlines() if line.startswith("| noisy |"))
    cells = [c.strip() for c in noisy.strip("|").split("|")]
    assert cells[5:7] == ["", ""]  # gamma's SROCC and PLCC
    assert cells[1] and cells[3]


def _controlled(seed=0, n=400):
    """Models with known relations: a == b (exact tie for best), c close to a, d far worse."""
    rng = np.random.default_rng(seed)
    q = rng.normal(size=n)
    a = q + 0.30 * rng.normal(size=n)
    return Dataset(mos=q, predictions={"a": a, "b": a.copy(), "c": a + 0.03 * rng.normal(size=n),
                                       "d": q + 1.5 * rng.normal(size=n)})


def test_marks_follow_values_and_tests_including_a_tie_for_best():
    sets = {"X": _controlled(1), "Y": _controlled(2)}  # seeds where a (= b) has the highest SROCC
    res = benchmark(sets)
    latex = res.format("latex", metrics=["srocc"], digits=4)   # c differs from the best in the 4th decimal
    for name in sets:
        cells = res.cells[res.cells["dataset"] == name].set_index("model")
        ev = res.evaluations[name]
        pw = ev.pairwise[ev.pairwise["metric"] == "srocc"]
        assert cells.loc["a", "srocc"] == cells.loc["b", "srocc"]
        # a dagger exactly where the paired test against the best gives p >= alpha
        best = ev.best
        for model in ("c", "d"):
            row = pw[((pw.model_a == best) & (pw.model_b == model)) | ((pw.model_b == best) & (pw.model_a == model))]
            assert bool(cells.loc[model, "tied_with_best"]) == bool(row["williams_pvalue"].iloc[0] >= 0.05)
        assert bool(cells.loc["c", "tied_with_best"]) and not bool(cells.loc["d", "tied_with_best"])
    rows = {line.split(" & ")[0]: line.split(" & ") for line in latex.splitlines() if " & " in line}
    for k in (1, 2):  # X and Y SROCC
        assert rows["a"][k].startswith(r"\textbf{") and rows["b"][k].startswith(r"\textbf{")
        assert r"\underline" not in rows["c"][k]  # two equal best values: no second
        assert rows["c"][k].endswith(r"$^\dagger$")
        assert "textbf" not in rows["d"][k] and "dagger" not in rows["d"][k]
    # at 3 decimals X's c prints as the best (0.938): bold as well, no dagger, said once in the caption
    rows3 = {line.split(" & ")[0]: line.split(" & ") for line in res.to_latex(metrics=["srocc"]).splitlines()
             if " & " in line}
    assert rows3["c"][1] == r"\textbf{0.938}" and rows3["c"][2] == r"0.956$^\dagger$"
    assert "values that print equal share a mark" in res.to_latex(metrics=["srocc"])
    assert "print equal" not in latex
    # a unique best: the next value is underlined
    res2 = benchmark({"X": _controlled(0).select(["a", "c", "d"]), "Y": _controlled(1).select(["a", "c", "d"])})
    rows = {line.split(" & ")[0]: line.split(" & ") for line in res2.to_latex(metrics=["srocc"], digits=6).splitlines()
            if " & " in line}
    values = res2.cells.set_index(["dataset", "model"])["srocc"]
    second = "c" if values[("X", "c")] < values[("X", "a")] else "a"
    assert rows[second][1].startswith(r"\underline{")
    for frag in (r"\toprule", r"\midrule", r"\bottomrule", "SROCC", "Williams"):
        assert frag in latex
    # the caption says only what applies: the mapping with PLCC, the empty-cell and rank words only with them
    assert "logistic" not in latex and "4-parameter logistic" in res.to_latex(metrics=["srocc", "plcc"])
    assert "empty cell" not in latex and "mean rank: of the SROCC ranks" in latex
    assert "Ranks by SROCC" not in latex and "second" not in latex   # two equal best values: no second here


@pytest.mark.slow
def test_holm_marks_at_least_the_unadjusted_ties_and_matches_a_manual_holm():
    rng = np.random.default_rng(5)
    q = rng.normal(size=300)
    data = Dataset(mos=q, predictions={f"m{k}": q + s * rng.normal(size=300)
                                       for k, s in enumerate([0.5, 0.55, 0.6, 0.65, 0.7, 0.9])})
    plain = benchmark({"D": data, "E": data}).cells.set_index(["dataset", "model"])
    holm = benchmark({"D": data, "E": data}, multiplicity="holm")
    h = holm.cells.set_index(["dataset", "model"])
    assert (h["tied_with_best"] | ~plain["tied_with_best"]).all()
    ev = holm.evaluations["D"]
    pw = ev.pairwise[ev.pairwise["metric"] == "srocc"]
    p = {(r.model_b if r.model_a == ev.best else r.model_a): r.williams_pvalue for r in pw.itertuples()
         if ev.best in (r.model_a, r.model_b)}
    order = sorted(p, key=p.get)  # Holm by hand: reject while p_(i) < alpha / (m - i)
    rejected = set()
    for i, m in enumerate(order):
        if p[m] < 0.05 / (len(order) - i):
            rejected.add(m)
        else:
            break
    for m in p:
        assert bool(h.loc[("D", m), "tied_with_best"]) == (m not in rejected)
    assert "Holm" in holm.settings["tie_rule"]


def test_friedman_equals_scipy_and_cd_equals_the_studentized_range_formula():
    rng = np.random.default_rng(3)
    sets = {}
    for k in range(5):
        q = rng.normal(size=120)
        sets[f"D{k}"] = Dataset(mos=q, predictions={f"m{j}": q + s * rng.normal(size=120)
                                                    for j, s in enumerate([0.4, 0.5, 0.9, 1.0])})
    res = benchmark(sets)
    values = res.cells.pivot(index="dataset", columns="model", values="srocc")[res.models]
    ref = stats.friedmanchisquare(*[-values[m].to_numpy() for m in res.models])
    statistic, pvalue = res.friedman
    assert statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert pvalue == pytest.approx(ref.pvalue, rel=1e-10)
    k, n = len(res.models), len(sets)
    q = stats.studentized_range.ppf(0.95, k, np.inf) / math.sqrt(2)
    assert res.friedman.critical_difference == pytest.approx(q * math.sqrt(k * (k + 1) / (6 * n)), rel=1e-12)
    # ties in the ranks: the tie-corrected statistic, as scipy's
    ranks = pd.DataFrame([[1, 2.5, 2.5, 4], [2, 1, 3, 4], [1.5, 1.5, 4, 3], [1, 2, 3, 4]], columns=list("abcd"))
    ref = stats.friedmanchisquare(*[ranks[c] for c in ranks])
    assert friedman_nemenyi(ranks).statistic == pytest.approx(ref.statistic, rel=1e-12)


@pytest.mark.parametrize("k", [2, 3, 6, 12, 40])
@pytest.mark.parametrize("p", [0.9, 0.95, 0.99])
def test_studentized_range_quantile_equals_scipy(k, p):
    from iqa_eval.studies.bench import studentized_range_quantile

    assert studentized_range_quantile(p, k) == pytest.approx(stats.studentized_range.ppf(p, k, np.inf), rel=1e-11)


@pytest.mark.parametrize("k, q", [(2, 1.960), (3, 2.343), (4, 2.569), (6, 2.850), (8, 3.031), (10, 3.164)])
def test_nemenyi_q_matches_demsar_table(k, q):
    """Demšar (2006), Table 5(a): critical values q_0.05 of the Nemenyi test."""
    ranks = pd.DataFrame(np.tile(np.arange(1.0, k + 1), (3, 1)))
    cd = friedman_nemenyi(ranks).critical_difference
    assert cd / math.sqrt(k * (k + 1) / 18.0) == pytest.approx(q, abs=1e-3)  # the table has 3 decimals


def _latex_document(table: str) -> str:
    return "\\documentclass{article}\n\\usepackage{booktabs,graphicx}\n\\begin{document}\n" + table + "\\end{document}\n"


def test_latex_compiles_with_special_characters(tmp_path):
    if shutil.which("pdflatex") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("pdflatex not found (CI=true: .ci/run installs texlive-latex-base)")
        pytest.skip("pdflatex not installed")
    weird = "a_b&c%#$"
    data = {name: _controlled(k) for k, name in enumerate(["set_1 & 50%", "é~^{x}\\ <y|z>"])}
    data = {name: Dataset(mos=d.mos, predictions={weird if m == "a" else m: v for m, v in d.predictions.items()})
            for name, d in data.items()}
    res = benchmark(data)
    tex = res.format("latex", metrics="srocc,plcc,krcc,rmse")
    assert r"a\_b\&c\%\#\$" in tex and r"\textless{}y\textbar{}z\textgreater{}" in tex
    (tmp_path / "table.tex").write_text(_latex_document(tex), encoding="utf-8")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "table.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (tmp_path / "table.pdf").stat().st_size > 1000


def test_user_strings_escaped_in_html_markdown_csv_terminal():
    d = _controlled(0)
    names = {"a": "<script>x</script>", "b": "=HYPERLINK(1)", "c": "p|q*r_", "d": "esc\x1b[31mred"}
    data = Dataset(mos=d.mos, predictions={names[m]: v for m, v in d.predictions.items()})
    res = benchmark({"D<1>": data, "E": data})
    page = res.format("html")
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page and "D&lt;1&gt;" in page
    # the same Content-Security-Policy as every other HTML output: no script, no request
    assert "Content-Security-Policy" in page and "default-src 'none'" in page and "<script" not in page
    md = res.format("markdown")
    assert "p\\|q\\*r\\_" in md
    csv = res.format("csv")
    assert "'=HYPERLINK(1)" in csv and "\n=HYP" not in csv
    table = res.format("table")
    assert "\x1b" not in table and "esc\\x1b[31mred" in table
    assert "\x1b" not in page + md + csv


def test_manifest_reads_files_options_and_rejects_bad_entries(three, tmp_path):
    alpha, beta, _ = three
    manifest = tmp_path / "sets.toml"
    manifest.write_text(f'''
[[dataset]]
name = "First"
files = {json.dumps([str(p) for p in sorted(alpha.glob("*.csv"))])}
lower_is_better = ["distance"]
mos_scale = [1, 5]

[[dataset]]
dir = "{beta}"
''')
    specs = read_manifest(manifest)
    assert [s.name for s in specs] == ["First", "beta"] and specs[0].mos_scale == (1.0, 5.0)
    code, out, err = run("bench", "--manifest", manifest, "--format", "json", "--metrics", "srocc")
    assert code == 0, err
    assert "model 'distance' flipped" in err and "declared lower-is-better" in err
    assert json.loads(out)["datasets"] == ["First", "beta"]
    manifest.write_text(manifest.read_text().replace("mos_scale = [1, 5]", "mos_scale = [1, 4]"))
    code, out, err = run("bench", "--manifest", manifest)
    assert code == 2 and err.startswith("error: ") and "meta.csv, column 'mos', row" in err
    assert "outside the declared scale" in err and len(err.strip().splitlines()) == 1
    manifest.write_text(manifest.read_text().replace("mos_scale", "mos_range"))
    code, _, err = run("bench", "--manifest", manifest)
    assert code == 2 and "unknown key 'mos_range'" in err and "sets.toml" in err
    manifest.write_text("[[dataset]\nname=")
    code, _, err = run("bench", "--manifest", manifest)
    assert code == 2 and "not valid TOML" in err


@pytest.mark.slow
def test_cli_names_models_formats_and_cd_diagram(three, tmp_path):
    cd = tmp_path / "cd.png"
    code, out, err = run("bench", *three, "--name", "A,B", "--models", "precise,noisy,saturating",
                         "--cd-diagram", cd, "--metrics", "srocc,rmse")
    assert code == 0, err
    assert cd.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.splitlines()[0].split()[:4] == ["model", "A", "B", "gamma"]
    assert "high_end" not in out and "flipped" not in err  # distance not chosen: nothing said about it
    for fmt, marker in (("csv", "model,alpha:n"), ("html", "<table>"), ("markdown", "| model |")):
        code, out, err = run("bench", *three, "--format", fmt)
        assert code == 0 and marker in out, err
    code, _, err = run("bench", *three, "--metrics", "srocc,spam")
    assert code == 2 and "metrics must be one or more of srocc, krcc, plcc, rmse; got" in err
    code, _, err = run("bench", three[0], three[0])
    assert code == 2 and "two datasets are named 'alpha'" in err
    code, _, err = run("bench", three[0], "--cd-diagram", tmp_path / "no" / "cd.png")
    assert code == 2 and "does not exist" in err
    code, _, err = run("bench")
    assert code == 2 and "--manifest" in err
    code, _, err = run("bench", *three, "--models", "precise,nosuch")
    assert code == 2 and err == "error: model(s) 'nosuch' in no dataset\n"


def test_api_result_object(three):
    import iqa_eval
    import iqa_eval.studies.bench  # the module is named bench so that it never shadows iqa_eval.benchmark

    res = iqa_eval.benchmark(three[:2])
    table = res.table
    assert list(table.index) == res.models
    assert table[("alpha", "srocc")].notna().all() and ("summary", "mean_rank") in table.columns
    fig = res.cd_diagram()
    assert fig.axes and "CD" in fig.axes[0].get_title()
    assert res.to_latex().count(r"\toprule") == 1
    with pytest.raises(InputError, match="needs a name"):
        benchmark([_controlled(0)])


@pytest.mark.slow
def test_gmc_reference_sets_livec_models_apart_from_kadid_tid(shared_dir):
    """Real data: LIVEC's seven NR models and the six FR models of KADID-10k / TID2013 share no set."""
    from iqa_eval.studies.bench import DatasetSpec, dataset_spec

    livec_models = ("clipiqa", "clipiqa+", "niqe", "qalign", "qualiclip", "qualiclip+", "topiq_nr")
    # pyiqa files carry no image names and these MOS have ties: the row order is asked for
    livec = DatasetSpec(name="LIVEC", files=tuple([shared_dir / "LIVEC" / "meta.csv"]
                                                  + [shared_dir / "LIVEC" / f"{m}.csv" for m in livec_models]),
                        join="order")
    kadid = dataset_spec(shared_dir / "kadid10k", name="KADID-10k", join="order")
    tid = dataset_spec(shared_dir / "tid2013", name="TID2013", join="order")
    res = benchmark([livec, kadid, tid])
    assert res.friedman is None and res.settings["summary_datasets"] == []
    assert any("no dataset has a cell for every model" in n for n in res.notes)
    cells = res.cells.set_index(["dataset", "model"])
    for m in livec_models:
        df = pd.read_csv(shared_dir / "LIVEC" / f"{m}.csv")
        rho = stats.spearmanr(df["Results Scores for CC"], df["Ground Truth Labels"])[0]
        assert cells.loc[("LIVEC", m), "n"] == 1162
        assert cells.loc[("LIVEC", m), "srocc"] == pytest.approx(abs(rho), abs=1e-6)
        assert ("KADID-10k", m) not in cells.index and ("TID2013", m) not in cells.index
    both = benchmark([kadid, tid])
    values = both.cells.pivot(index="dataset", columns="model", values="srocc")
    ref = stats.friedmanchisquare(*[-values[m].to_numpy() for m in values.columns])
    assert both.friedman.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert both.friedman.n_datasets == 2 and len(both.friedman.mean_ranks) == 6
    # identical orders on both sets: chi2 p = 0.075, exact permutation p = 1/720 (issue 17)
    assert both.friedman.pvalue == pytest.approx(ref.pvalue, rel=1e-12) and both.friedman.pvalue > 0.05
    assert both.friedman.test.pvalue == pytest.approx(1 / 720, rel=1e-12) and both.friedman.test.decides == "exact"
