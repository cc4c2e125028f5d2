"""`iqa-eval score` end to end: outputs, notes, and one-line errors with exit status 2."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers import run_cli as run
from helpers import write_simulated_study
from iqa_eval.data.simulation import simulate_study


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return write_simulated_study(tmp_path_factory.mktemp("study"), 300, 2)


def test_json_output_matches_scipy_and_flips_distance(study):
    code, out, err = run("score", study, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    rows = {r["model"]: r for r in doc["models"]}
    df = pd.read_csv(study)
    for name, row in rows.items():
        sign = -1.0 if name == "distance" else 1.0
        assert row["srocc"] == pytest.approx(stats.spearmanr(sign * df[name], df["mos"])[0], abs=1e-12)
        assert row["krcc"] == pytest.approx(stats.kendalltau(sign * df[name], df["mos"])[0], abs=1e-12)
        assert row["plcc_raw"] == pytest.approx(stats.pearsonr(sign * df[name], df["mos"])[0], abs=1e-12)
        for key in ("n", "plcc", "rmse", "srocc_ci_low", "srocc_ci_high", "mapping"):
            assert key in row
    assert "note: model 'distance' flipped" in err
    assert rows["distance"]["flipped"] is True


def test_table_marks_ties_and_sorts_by_srocc(study):
    code, out, err = run("score", study)
    assert code == 0, err
    lines = [l for l in out.splitlines() if l.strip()]
    order = [name for l in lines for name in ["precise", "saturating", "noisy"] if f" {name} " in f" {l} "]
    assert order.index("precise") < order.index("noisy")


@pytest.mark.parametrize("fmt, marker", [("csv", "model,"), ("markdown", "|"), ("latex", "\\begin{tabular}")])
def test_other_formats_and_output_file(study, tmp_path, fmt, marker):
    target = tmp_path / f"out.{fmt}"
    code, out, err = run("score", study, "--format", fmt, "-o", target)
    assert code == 0, err
    assert marker in target.read_text()


def test_csv_columns(study, tmp_path):
    target = tmp_path / "s.csv"
    assert run("score", study, "--format", "csv", "-o", target)[0] == 0
    cols = pd.read_csv(target).columns
    for c in ("model", "n", "srocc", "krcc", "plcc_raw", "plcc", "rmse", "mapping"):
        assert c in cols


def test_no_flip_and_lower_is_better(study):
    code, out, _ = run("score", study, "--no-flip", "--format", "json", "--no-pairwise")
    rows = {r["model"]: r for r in json.loads(out)["models"]}
    assert code == 0 and rows["distance"]["srocc"] < 0
    code, out, err = run("score", study, "--no-flip", "--lower-is-better", "distance", "--format", "json")
    rows = {r["model"]: r for r in json.loads(out)["models"]}
    assert code == 0 and rows["distance"]["srocc"] > 0 and "declared lower-is-better" in err


def test_nan_rows_dropped_with_count_or_rejected(tmp_path):
    df = simulate_study(100, seed=5)
    df.loc[[3, 4, 7], "precise"] = np.nan
    path = tmp_path / "nan.csv"
    df.to_csv(path, index=False)
    code, out, err = run("score", path, "--format", "json", "--no-pairwise")
    assert code == 0
    assert "dropped 3 row(s)" in err and "'precise'" in err
    rows = {r["model"]: r for r in json.loads(out)["models"]}
    assert rows["precise"]["n"] == 97 and rows["noisy"]["n"] == 100
    code, out, err = run("score", path, "--nan-policy", "raise")
    assert code == 2
    assert err.strip() == f"error: {path}, column 'precise', row 4: missing or non-finite value (nan_policy='raise')"


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("name, text, expected", [
    ("empty.csv", "", "empty.csv: empty file"),
    ("text.csv", "mos,pred\n1,0.1\n2,abc\n3,0.3\n4,0.5\n", "text.csv, column 'pred', row 2: non-numeric value 'abc'"),
    ("few.csv", "mos,pred\n1,0.1\n2,0.2\n", "few.csv: only 2 data row(s); at least 3 are needed"),
    ("nomos.csv", "a,b\n1,2\n3,4\n5,6\n", "nomos.csv: no MOS column found"),
    ("nopred.csv", "image,mos\na,1\nb,2\nc,3\n", "nopred.csv: no prediction column found"),
])
def test_bad_input_one_line_exit_2(tmp_path, name, text, expected):
    path = _write(tmp_path, name, text)
    code, out, err = run("score", path)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: {tmp_path}/{expected}") or err.startswith(f"error: {expected}")
    assert "Traceback" not in err


def test_missing_columns_and_files(tmp_path):
    path = _write(tmp_path, "p.csv", "mos,pred\n1,0.1\n2,0.3\n3,0.2\n4,0.5\n")
    code, _, err = run("score", path, "--mos-col", "zzz")
    assert code == 2 and "p.csv" in err and "'zzz'" in err and len(err.splitlines()) == 1
    code, _, err = run("score", path, "--pred-cols", "nope")
    assert code == 2 and "column 'nope'" in err
    code, _, err = run("score", tmp_path / "absent.csv")
    assert code == 2 and "absent.csv: no such file" in err


def test_mismatched_files(tmp_path):
    a = _write(tmp_path, "a.csv", "mos,pred\n1,0.1\n2,0.3\n3,0.2\n4,0.5\n")
    b = _write(tmp_path, "b.csv", "mos,pred\n1,0.1\n2,0.3\n3.5,0.2\n4,0.5\n")
    code, _, err = run("score", a, b)
    assert code == 2
    assert "b.csv, column 'mos', row 3: MOS disagrees" in err
    assert "(3.5 vs 3.0)" in err and "np." not in err     # plain numbers, not numpy reprs


def test_constant_predictions_give_nan_and_one_warning_naming_the_model(tmp_path):
    df = simulate_study(50, seed=1)[["mos", "precise"]]
    df["constant"] = 0.5
    path = tmp_path / "c.csv"
    df.to_csv(path, index=False)
    code, out, err = run("score", path, "--format", "json")
    assert code == 0, err
    rows = {r["model"]: r for r in json.loads(out)["models"]}
    assert rows["constant"]["srocc"] is None or np.isnan(rows["constant"]["srocc"])
    assert rows["constant"]["flipped"] is False
    assert "warning:" in err and "constant" in err
    # once, as a warning (not again as a note, nor from the orientation check)
    lines = [l for l in err.splitlines() if "constant" in l]
    assert lines == ["warning: predictions are constant; every coefficient of model 'constant' is "
                     "undefined (NaN)"], err
