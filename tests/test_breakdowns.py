"""Breakdowns (issue 16 item 2): per group, over splits, cross-dataset; checked against scipy,
plain pandas and the library's own PLCC / paired tests computed outside the breakdown code."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from iqa_eval.data.dataset import Dataset
from iqa_eval.data.io import load_dataset
from iqa_eval.errors import InputError
from iqa_eval.stats.inference import compare_correlations
from iqa_eval.stats.metrics import plcc
from iqa_eval.render.breakdown_tables import format_breakdown
from iqa_eval.studies.breakdowns import (GROUP_PATTERNS, cross_dataset, evaluate_by_group, evaluate_splits,
                                         labels_from_names, read_cross_manifest, read_group_labels)

from helpers import pdflatex, run_cli


def _study(n=240, seed=0, models=("a", "b", "c")):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=n)
    noise = {"a": 0.3, "b": 1.0, "c": 0.35}
    return Dataset(mos=q, predictions={m: q + noise[m] * rng.normal(size=n) for m in models})


# -- per group ----------------------------------------------------------------------------------
def test_per_group_srocc_is_scipys_and_plcc_the_librarys_on_each_groups_rows():
    data = _study()
    groups = np.array(["blur", "noise", "jpeg"] * 80)
    res = evaluate_by_group(data, groups, name="distortion")
    assert res.groups == ("blur", "jpeg", "noise")
    for g in res.groups:
        rows = groups == g
        for m in data.models:
            cell = res.table[(res.table["group"] == g) & (res.table["model"] == m)].iloc[0]
            x, y = data.predictions[m][rows], data.mos[rows]
            assert cell["n"] == rows.sum() == 80
            assert cell["srocc"] == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)
            assert cell["krcc"] == pytest.approx(stats.kendalltau(x, y)[0], abs=1e-12)
            assert cell["plcc"] == pytest.approx(plcc(x, y, mapping="logistic4").statistic, abs=1e-10)
            # the 95% CI of score: Fisher z (Bonett-Wright variance 1 + r^2/2 for Spearman)
            r = cell["srocc"]
            half = stats.norm.ppf(0.975) * np.sqrt((1 + r * r / 2) / (80 - 3))
            assert (cell["srocc_ci_low"], cell["srocc_ci_high"]) == pytest.approx(
                (np.tanh(np.arctanh(r) - half), np.tanh(np.arctanh(r) + half)), abs=1e-10)


def test_per_group_tie_marks_are_the_paired_test_within_the_group():
    data = _study()
    groups = np.repeat(["g1", "g2"], 120)
    res = evaluate_by_group(data, groups)
    for g in res.groups:
        rows = groups == g
        t = res.table[res.table["group"] == g].set_index("model")
        best = t["srocc"].idxmax()
        assert t.loc[best, "tied_with_best"]
        for m in data.models:
            if m == best:
                continue
            p = compare_correlations(data.predictions[best][rows], data.predictions[m][rows], data.mos[rows]).williams_pvalue
            assert bool(t.loc[m, "tied_with_best"]) == (p >= 0.05), (g, m, p)


def test_groups_with_too_few_images_say_so():
    data = _study(n=30)
    groups = np.array(["big"] * 24 + ["four"] * 4 + ["two"] * 2)
    res = evaluate_by_group(data, groups)
    t = res.table.set_index(["group", "model"])
    assert np.isnan(t.loc[("two", "a"), "srocc"]) and t.loc[("two", "a"), "status"].startswith("too few images (n=2 < 3)")
    # 4 images: ranks yes, but the 4-parameter logistic cannot be fitted: no PLCC rather than a fallback
    assert np.isfinite(t.loc[("four", "a"), "srocc"]) and np.isnan(t.loc[("four", "a"), "plcc"])
    assert "logistic4 mapping" in t.loc[("four", "a"), "status"]
    text = format_breakdown(res, "table", metrics="srocc,plcc")
    assert "n/a" in text and "too few images" in text
    assert any("fewer than 3 images" in n for n in res.notes)


def test_group_values_missing_is_one_error_naming_file_column_and_row(tmp_path):
    data = _study(n=12)
    groups = np.array(["a"] * 6 + [None] + ["b"] * 5, dtype=object)
    with pytest.raises(InputError) as exc:
        evaluate_by_group(data, groups, source=("meta.csv", "distortion"))
    assert (exc.value.file, exc.value.column, exc.value.row) == ("meta.csv", "distortion", 7)
    # the command line: one error line
    df = pd.DataFrame({"mos": data.mos, "a": data.predictions["a"], "distortion": ["x"] * 6 + [""] + ["y"] * 5})
    df.to_csv(tmp_path / "s.csv", index=False)
    code, out, err = run_cli("score", tmp_path / "s.csv", "--group-col", "distortion")
    assert code == 2 and err.strip().count("\n") == 0 and "column 'distortion', row 7" in err, err
    code, out, err = run_cli("score", tmp_path / "s.csv", "--group-col", "nosuch")
    assert code == 2 and "column 'nosuch'" in err and "not found" in err, err


def test_patterns_read_kadid_and_tid_names():
    k = GROUP_PATTERNS["kadid10k"]
    assert labels_from_names(["I81_25_05.png"], k["distortion"])[0].tolist() == ["25"]
    assert labels_from_names(["I81_25_05.png"], k["level"])[0].tolist() == ["05"]
    t = GROUP_PATTERNS["tid2013"]
    assert labels_from_names(["I01_01_1.bmp", "i25_24_5.bmp"], t["distortion"])[0].tolist() == ["01", "24"]
    with pytest.raises(InputError, match="does not match") as exc:
        labels_from_names(["I01_01_1.bmp", "oops.bmp"], t["level"], source=("m.csv", "dist_name"))
    assert exc.value.row == 2
    with pytest.raises(InputError, match="exactly one named group"):
        labels_from_names(["x"], r"(?P<a>x)(?P<b>y)?")


def test_kadid_per_distortion_on_the_shipped_data(shared_dir):
    d = shared_dir / "kadid10k"
    files = [d / "meta.csv", d / "dists.csv", d / "psnr.csv"]
    data = load_dataset(files, join="order").oriented()
    labels, name, source, note = read_group_labels(files, data, pattern=GROUP_PATTERNS["kadid10k"]["distortion"])
    assert name == "distortion" and source[1] == "dist_name"
    res = evaluate_by_group(data, labels, name=name, source=source)
    assert len(res.groups) == 25 and set(res.table["n"]) == {405}
    meta = pd.read_csv(d / "meta.csv")
    dists = pd.read_csv(d / "dists.csv")["Results Scores for CC"].to_numpy()
    types = meta["dist_name"].str.split("_").str[1]
    for g in ("01", "13", "25"):
        rows = (types == g).to_numpy()
        cell = res.table[(res.table["group"] == g) & (res.table["model"] == "dists")].iloc[0]
        sign = -1 if "dists" in data.flipped else 1
        assert cell["srocc"] == pytest.approx(stats.spearmanr(sign * dists[rows], meta["mos"][rows])[0], abs=1e-12)


def test_tid2013_names_give_24_types_of_125(shared_dir):
    d = shared_dir / "tid2013"
    files = [d / "meta.csv", d / "ssim.csv"]
    data = load_dataset(files, join="order")
    labels, name, _, _ = read_group_labels(files, data, pattern=GROUP_PATTERNS["tid2013"]["distortion"])
    counts = pd.Series(labels).value_counts()
    assert len(counts) == 24 and set(counts) == {125}


# -- splits ---------------------------------------------------------------------------------------
def test_split_aggregation_is_a_pandas_groupby_and_tests_are_the_paired_tests():
    data = _study(n=300)
    splits = np.tile(np.arange(5), 60)
    res = evaluate_splits(data, splits)
    # independent: scipy per split, then a plain pandas groupby
    rows = [{"split": s, "model": m, "srocc": stats.spearmanr(data.predictions[m][splits == s],
                                                               data.mos[splits == s])[0]}
            for s in range(5) for m in data.models]
    ref = pd.DataFrame(rows).groupby("model")["srocc"].agg(["mean", "std", "median"])
    got = res.summary.set_index("model")
    for m in data.models:
        assert got.loc[m, "srocc_mean"] == pytest.approx(ref.loc[m, "mean"], abs=1e-12)
        assert got.loc[m, "srocc_std"] == pytest.approx(ref.loc[m, "std"], abs=1e-12)
        assert got.loc[m, "srocc_median"] == pytest.approx(ref.loc[m, "median"], abs=1e-12)
    assert res.reference == ref["mean"].idxmax()
    tests = res.tests.set_index(["model", "metric"])
    for m in data.models:
        if m == res.reference:
            continue
        better = worse = ns = 0
        for s in range(5):
            rows_s = splits == s
            c = compare_correlations(data.predictions[m][rows_s], data.predictions[res.reference][rows_s],
                                     data.mos[rows_s])
            if c.williams_pvalue < 0.05:
                better, worse = better + (c.diff > 0), worse + (c.diff < 0)
            else:
                ns += 1
        assert tuple(tests.loc[(m, "srocc"), ["better", "ns", "worse"]]) == (better, ns, worse)
    assert (tests.loc[("b", "srocc"), "worse"]) == 5   # noise 1.0 against 0.3: worse in every split


def test_split_files_that_do_not_line_up_name_the_file(tmp_path):
    data = _study(n=60)
    for k in range(3):
        cols = {"mos": data.mos[k::3], "a": data.predictions["a"][k::3]}
        if k != 1:
            cols["b"] = data.predictions["b"][k::3]
        pd.DataFrame(cols).to_csv(tmp_path / f"split{k}.csv", index=False)
    code, out, err = run_cli("score", *[tmp_path / f"split{k}.csv" for k in range(3)], "--split-files")
    assert code == 2 and "split1.csv" in err and "'b'" in err and err.count("\n") == 1, err


def test_split_col_on_the_command_line(tmp_path):
    data = _study(n=120)
    df = pd.DataFrame({"mos": data.mos, **data.predictions, "split_id": np.tile(np.arange(4), 30)})
    df.to_csv(tmp_path / "s.csv", index=False)
    code, out, err = run_cli("score", tmp_path / "s.csv", "--split-col", "split_id", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["splits"] == ["0", "1", "2", "3"] and {r["model"] for r in doc["summary"]} == {"a", "b", "c"}
    df.loc[5, "split_id"] = np.nan
    df.to_csv(tmp_path / "s.csv", index=False)
    code, out, err = run_cli("score", tmp_path / "s.csv", "--split-col", "split_id")
    assert code == 2 and "column 'split_id', row 6" in err, err


# -- cross-dataset ------------------------------------------------------------------------------------
def test_cross_dataset_from_a_manifest_on_the_shipped_data(shared_dir, tmp_path):
    m = tmp_path / "cross.csv"
    m.write_text("train,test,predictions,model\n"
                 f"KADID-10k,TID2013,{shared_dir / 'tid2013' / 'dists.csv'},DISTS\n"
                 f"TID2013,KADID-10k,{shared_dir / 'kadid10k' / 'DeepWSD.csv'},DISTS\n", encoding="utf-8")
    res = cross_dataset(read_cross_manifest(m))
    assert res.train_sets == ("KADID-10k", "TID2013") and res.test_sets == ("TID2013", "KADID-10k")
    tid = pd.read_csv(shared_dir / "tid2013" / "dists.csv")
    cell = res.cells[(res.cells["train"] == "KADID-10k") & (res.cells["test"] == "TID2013")].iloc[0]
    assert cell["srocc"] == pytest.approx(abs(stats.spearmanr(tid.iloc[:, 0], tid.iloc[:, 1])[0]), abs=1e-12)
    assert cell["n"] == len(tid)
    code, out, err = run_cli("bench", "--cross-dataset", m, "--format", "csv")
    assert code == 0, err
    assert set(pd.read_csv(__import__("io").StringIO(out))["test"]) == {"TID2013", "KADID-10k"}


def test_cross_manifest_errors_name_file_column_and_row(tmp_path):
    m = tmp_path / "cross.csv"
    m.write_text("train,test,predictions\nA,B,\n", encoding="utf-8")
    code, out, err = run_cli("bench", "--cross-dataset", m)
    assert code == 2 and "column 'predictions', row 2" in err and "missing" in err, err


# -- formats ----------------------------------------------------------------------------------------
def _all_three():
    data = Dataset(mos=_study().mos, predictions={"a_b&c%": _study().predictions["a"], "<b>": _study().predictions["b"]})
    groups = np.array(["$x_1$ & {y}", "=cmd()", "<i>z</i>"] * 80, dtype=object)
    return (evaluate_by_group(data, groups, name="type#"), evaluate_splits(data, np.tile(np.arange(3), 80)),
            cross_dataset([]) if False else None)


def test_user_strings_escaped_in_every_format():
    res = _all_three()[0]
    assert r"\$x\_1\$ \& \{y\}" in format_breakdown(res, "latex") and r"a\_b\&c\%" in format_breakdown(res, "latex")
    assert "&lt;i&gt;z&lt;/i&gt;" in format_breakdown(res, "html") and "<i>z" not in format_breakdown(res, "html")
    assert r"\<b\>" in format_breakdown(res, "markdown") or "&lt;b&gt;" in format_breakdown(res, "markdown")
    assert "'=cmd()" in format_breakdown(res, "csv")
    assert json.loads(format_breakdown(res, "json"))["groups"] == ["$x_1$ & {y}", "<i>z</i>", "=cmd()"]


def test_latex_of_group_split_and_cross_tables_compiles(tmp_path):
    groups, splits, _ = _all_three()
    data = _study(n=60)
    for k, name in enumerate(["A_1", "B&2"]):
        pd.DataFrame({"mos": data.mos, "pred": data.predictions["abc"[k]]}).to_csv(tmp_path / f"p{k}.csv", index=False)
    (tmp_path / "m.toml").write_text('[[run]]\ntrain = "A_1"\ntest = "B&2"\npredictions = "p0.csv"\nmodel = "m%1"\n'
                                     '[[run]]\ntrain = "B&2"\ntest = "A_1"\npredictions = "p1.csv"\nmodel = "m%1"\n',
                                     encoding="utf-8")
    cross = cross_dataset(tmp_path / "m.toml")
    assert cross.cells["srocc"].tolist() == pytest.approx(
        [stats.spearmanr(data.predictions[m], data.mos)[0] for m in "ab"], abs=1e-12)
    body = (format_breakdown(groups, "latex", metrics="srocc,plcc,krcc,rmse") + format_breakdown(splits, "latex", metrics="srocc,plcc,rmse")
            + format_breakdown(cross, "latex", metrics="srocc,rmse", show_ci=True))
    assert r"B\&2" in body and r"m\%1" not in body   # one model: rows are the training sets only
    pdflatex(tmp_path, body, packages=("booktabs",))


def test_split_files_a_directory_of_directories(tmp_path):
    data = _study(n=90)
    for k in range(3):
        d = tmp_path / "runs" / f"split{k + 1:02d}"
        d.mkdir(parents=True)
        pd.DataFrame({"image": [f"im{i}" for i in range(k, 90, 3)], "mos": data.mos[k::3]}).to_csv(d / "meta.csv", index=False)
        for m in ("a", "b"):
            pd.DataFrame({"image": [f"im{i}" for i in range(k, 90, 3)], "score": data.predictions[m][k::3]}).to_csv(
                d / f"{m}.csv", index=False)
    code, out, err = run_cli("score", tmp_path / "runs", "--split-files", "--reference", "b", "--format", "csv",
                             "--breakdown-metrics", "srocc")
    assert code == 0, err
    table = pd.read_csv(__import__("io").StringIO(out)).set_index("model")
    per = [stats.spearmanr(data.predictions["a"][k::3], data.mos[k::3])[0] for k in range(3)]
    assert table.loc["a", "srocc_mean"] == pytest.approx(np.mean(per), abs=1e-12)
    assert table.loc["a", "srocc_median"] == pytest.approx(np.median(per), abs=1e-12)
    assert table.loc["a", "reference"] == "b" and table.loc["a", ["srocc_better", "srocc_ns", "srocc_worse"]].sum() == 3
    code, out, err = run_cli("score", tmp_path / "runs", "--split-files", "--format", "markdown")
    assert code == 0 and "| a |" in out and "better/n.s./worse" in out, err


def test_group_column_in_another_file_follows_the_image_names(tmp_path):
    data = _study(n=60)
    names = [f"img{i:03d}" for i in range(60)]
    kind = np.array(["blur", "noise"] * 30)
    pd.DataFrame({"image": names, "mos": data.mos}).to_csv(tmp_path / "meta.csv", index=False)
    order = np.random.default_rng(3).permutation(60)   # the second file lists the images in another order
    pd.DataFrame({"image": np.array(names)[order], "a": data.predictions["a"][order],
                  "kind": kind[order]}).to_csv(tmp_path / "pred.csv", index=False)
    files = [tmp_path / "meta.csv", tmp_path / "pred.csv"]
    loaded = load_dataset(files)
    labels, name, source, note = read_group_labels(files, loaded, column="kind")
    assert labels.tolist() == kind.tolist() and "by the image names" in note
    res = evaluate_by_group(loaded, labels, name=name)
    for g in ("blur", "noise"):
        cell = res.table[(res.table["group"] == g)].iloc[0]
        assert cell["srocc"] == pytest.approx(stats.spearmanr(data.predictions["a"][kind == g], data.mos[kind == g])[0],
                                              abs=1e-12)


def test_a_numeric_group_column_is_not_scored_as_a_model(tmp_path):
    data = _study(n=90)
    df = pd.DataFrame({"mos": data.mos, **data.predictions, "level": np.tile([1, 2, 10], 30)})
    df.to_csv(tmp_path / "s.csv", index=False)
    code, out, err = run_cli("score", tmp_path / "s.csv", "--group-col", "level", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["groups"] == ["1", "2", "10"] and set(doc["models"]) == {"a", "b", "c"}
    assert "model 'level'" not in err and "'level' flipped" not in err   # never a model


def test_overall_row_is_the_score_table(tmp_path):
    from iqa_eval.studies.evaluation import evaluate

    data = _study(n=150)
    groups = np.repeat(["g1", "g2", "g3"], 50)
    res = evaluate_by_group(data, groups, overall=True)
    whole = evaluate(data).table.set_index("model")
    o = res.overall.set_index("model")
    for m in data.models:
        for col in ("n", "srocc", "srocc_ci_low", "plcc", "rmse", "tied_with_best"):
            assert o.loc[m, col] == pytest.approx(whole.loc[m, col], abs=1e-12), (m, col)
    tex = format_breakdown(res, "latex")
    assert tex.count(r"\midrule") == 2 * 2 and "\nall & 150 &" in tex   # header rule + the rule above 'all'
    text = format_breakdown(res, "table")
    assert "\nall " in text
    csv = pd.read_csv(__import__("io").StringIO(format_breakdown(res, "csv")))
    assert len(csv) == 3 * 3 + 3 and csv["group"].isna().sum() == 3
    df = pd.DataFrame({"mos": data.mos, **data.predictions, "g": groups})
    df.to_csv(tmp_path / "s.csv", index=False)
    code, out, err = run_cli("score", tmp_path / "s.csv", "--group-col", "g", "--overall", "--format", "json")
    assert code == 0 and len(json.loads(out)["overall"]) == 3, err


def test_a_cross_manifest_join_error_names_the_manifest_entry_not_an_option(tmp_path):
    """The join of a cross-dataset run is the manifest's (bench --cross-dataset takes no --join):
    the error says where to set it."""
    rng = np.random.default_rng(0)
    pd.DataFrame({"mos": rng.random(30)}).to_csv(tmp_path / "meta.csv", index=False)
    pd.DataFrame({"pred": rng.random(30)}).to_csv(tmp_path / "p.csv", index=False)
    m = tmp_path / "cross.csv"
    m.write_text("train,test,predictions,metadata\nA,B,p.csv,meta.csv\n", encoding="utf-8")
    code, out, err = run_cli("bench", "--cross-dataset", m)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert f'join = "order" in row 2 of {m}' in err and f"key_col in row 2 of {m}" in err, err
    assert "--join" not in err and "--key-col" not in err, err


def test_a_note_counts_the_group_values_not_the_overall_row():
    from iqa_eval.studies.breakdowns import _merge_notes

    notes = [(f"{k:02d}", "model 'x' flipped") for k in range(1, 26)] + [("all images", "model 'x' flipped")]
    (line,) = _merge_notes(notes, "distortion")
    assert line.startswith("25 distortion values ('01', '02', ") and "and all images: model 'x' flipped" in line
    assert _merge_notes([("03", "n"), ("all images", "n")], "type") == ("type '03' and all images: n",)
    assert _merge_notes([("all images", "n")], "type") == ("all images: n",)
