"""`iqa-eval compare` end to end: JSON schema, table, files per model, one-line errors (exit 2)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers import run_cli as run
from helpers import write_simulated_study
from iqa_eval.data.simulation import simulate_study


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return write_simulated_study(tmp_path_factory.mktemp("study"), 400, 1)


def test_json_has_the_documented_schema_and_matches_the_library(study):
    code, out, err = run("compare", study, "--models", "high_end,fine_grain", "--grid", "5x4",
                         "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"models", "global", "surface"}
    assert doc["models"] == ["high_end", "fine_grain"]
    assert set(doc["global"]) == {"srocc", "plcc", "krcc"}
    for entry in doc["global"].values():
        assert set(entry) == {"A", "B", "diff", "ci_low", "ci_high", "pvalue", "test", "alternative"}
        lo, hi = entry["ci_low"], entry["ci_high"]
        assert lo <= hi and 0 <= entry["pvalue"] <= 1
    surf = doc["surface"]
    assert set(surf) == {"method", "min_pairs", "cells", "significant_fraction"} and surf["method"] == "srocc"
    assert surf["min_pairs"] == 45.0
    assert len(surf["cells"]) == 20
    keys = {"Q", "Qd", "A", "B", "diff", "ci_low", "ci_high", "significant", "n_eff", "supported"}
    assert all(set(c) == keys for c in surf["cells"])
    frac = np.mean([c["significant"] for c in surf["cells"]])
    assert surf["significant_fraction"] == pytest.approx(frac)

    # the same numbers as the library on the same (oriented) data
    from iqa_eval.studies.compare import compare_models
    from iqa_eval.data.io import load_dataset

    data = load_dataset([study]).oriented()
    ref = compare_models(data, "high_end", "fine_grain", grid=(5, 4)).to_dict()
    assert doc == json.loads(json.dumps(ref))


def test_table_shows_tests_map_and_summary(study):
    code, out, err = run("compare", study, "-m", "high_end", "-m", "fine_grain", "--grid", "6",
                         "--method", "PLCC", "--adjust", "fdr")
    assert code == 0, err
    assert "Comparison of high_end (A) and fine_grain (B) on 400 images" in out
    for word in ("srocc", "plcc", "krcc", "GMC PLCC difference A - B on a 6 x 6 grid",
                 "Benjamini-Hochberg", "Global SROCC"):
        assert word in out


def test_output_files_json_and_text(study, tmp_path):
    out_json = tmp_path / "cmp.json"
    code, _, err = run("compare", study, "-m", "precise,noisy", "--grid", "3x3", "-o", out_json)
    assert code == 0, err
    assert json.loads(out_json.read_text())["models"] == ["precise", "noisy"]
    out_txt = tmp_path / "cmp.txt"
    code, _, err = run("compare", study, "-m", "precise,noisy", "--grid", "3x3", "-o", out_txt)
    assert code == 0 and "Comparison of precise (A)" in out_txt.read_text()


@pytest.mark.slow
def test_html_page_is_written(study, tmp_path):
    page = tmp_path / "cmp.html"
    code, _, err = run("compare", study, "-m", "high_end,fine_grain", "--grid", "4x4", "-o", page)
    assert code == 0, err
    html = page.read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "high_end" in html


def test_one_model_per_file_and_the_only_two_models_are_the_default(tmp_path):
    df = simulate_study(200, seed=4)
    meta = tmp_path / "meta.csv"
    df[["image", "mos", "std"]].to_csv(meta, index=False)
    for name in ("high_end", "fine_grain"):
        df[["image", name]].rename(columns={name: "score"}).to_csv(tmp_path / f"{name}.csv",
                                                                   index=False)
    code, out, err = run("compare", meta, tmp_path / "high_end.csv", tmp_path / "fine_grain.csv",
                         "--grid", "3x3", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["models"] == ["high_end", "fine_grain"]


def test_missing_rows_are_dropped_with_a_note(tmp_path):
    df = simulate_study(200, seed=4)[["image", "mos", "std", "precise", "noisy"]]
    df.loc[[5, 9, 11], "noisy"] = np.nan
    path = tmp_path / "holes.csv"
    df.to_csv(path, index=False)
    code, _, err = run("compare", path, "--grid", "3x3", "--format", "json")
    assert code == 0, err
    assert "note: dropped 3 row(s) with NaN/inf/empty prediction in column 'noisy'" in err


@pytest.mark.parametrize("args, message", [
    (["-m", "high_end,nope"], "error: unknown model 'nope'; available:"),
    (["-m", "high_end,high_end"], "error: compare needs two different models; got 'high_end' twice"),
    (["-m", "a,b,c"], "error: --models takes exactly two models A,B; got 3"),
    ([], "error: the inputs hold 6 models; choose two with --models A,B"),
    (["-m", "high_end,fine_grain", "--grid", "1x9"], "error: --grid must be NxM"),
    (["-m", "high_end,fine_grain", "--grid", "ax3"], "error: --grid must be NxM"),
])
def test_bad_input_is_one_line_error_with_exit_2(study, args, message):
    code, out, err = run("compare", study, *args)
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith(message), err
    assert "Traceback" not in err and out == ""


def test_missing_file_is_an_error(tmp_path):
    code, _, err = run("compare", tmp_path / "nothere.csv", "-m", "a,b")
    assert code == 2 and "error:" in err and "Traceback" not in err


def test_bootstrap_and_fdr_options_reach_the_library(study):
    code, out, err = run("compare", study, "-m", "precise,noisy", "--grid", "3x3", "--ci",
                         "bootstrap", "--n-boot", "30", "--adjust", "none", "--seed", "4")
    assert code == 0, err
    assert "3 x 3 grid (95% per-cell intervals, no multiplicity adjustment, bootstrap CIs)" in out
    assert "paired bootstrap" not in err


def test_weights_file_is_used_and_checked(study, tmp_path):
    n = len(pd.read_csv(study))
    good = tmp_path / "w.txt"
    good.write_text("\n".join(["1.0"] * n) + "\n")
    code, out, err = run("compare", study, "-m", "precise,noisy", "--grid", "3x3",
                         "--weights-file", good, "--regulator", "none", "--format", "json")
    code2, out2, _ = run("compare", study, "-m", "precise,noisy", "--grid", "3x3",
                         "--regulator", "none", "--format", "json")
    assert code == 0 and code2 == 0, err
    assert json.loads(out)["surface"] == json.loads(out2)["surface"]   # all-ones = no regulator
    bad = tmp_path / "short.txt"
    bad.write_text("1.0\n2.0\n")
    code, _, err = run("compare", study, "-m", "precise,noisy", "--weights-file", bad)
    assert code == 2 and err.strip().splitlines()[-1].startswith("error:") and "Traceback" not in err


def test_notes_speak_only_of_the_two_models_compared(study):
    # 'distance' is lower-is-better: flipping it is news only when it is compared.
    code, out, err = run("compare", study, "-m", "high_end,fine_grain", "--grid", "4x4")
    assert code == 0, err
    assert "distance" not in err
    code, out, err = run("compare", study, "-m", "high_end,distance", "--grid", "4x4")
    assert code == 0, err
    assert "note: model 'distance' flipped" in err
    code, out, err = run("compare", study, "-m", "high_end,fine_grain", "--grid", "4x4",
                         "--lower-is-better", "distance")
    assert code == 0 and "--lower-is-better distance: not among the models used" in err
