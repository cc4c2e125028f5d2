"""Reading tables, joining files and the Dataset policies (NaN, orientation)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iqa_eval.errors import InputError
from iqa_eval.data.io import load_dataset, read_table


def _frame(n=20, seed=0):
    rng = np.random.default_rng(seed)
    mos = rng.uniform(1, 5, n).round(3)
    return pd.DataFrame({"image": [f"im{i}.png" for i in range(n)], "MOS": mos,
                         "std": rng.uniform(0.3, 1.0, n).round(3),
                         "model_a": (mos + rng.normal(0, 0.3, n)).round(4),
                         "model_b": (-mos + rng.normal(0, 0.5, n)).round(4)})


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_csv_any_delimiter_and_bom(tmp_path, sep):
    df = _frame()
    path = tmp_path / "preds.csv"
    path.write_text(df.to_csv(index=False, sep=sep), encoding="utf-8-sig")
    out = read_table(path)
    assert list(out.columns) == list(df.columns)
    np.testing.assert_allclose(out["model_a"], df["model_a"])


@pytest.mark.parametrize("suffix", [".tsv", ".xlsx", ".parquet"])
def test_other_formats(tmp_path, suffix):
    df = _frame()
    path = tmp_path / f"preds{suffix}"
    if suffix == ".tsv":
        df.to_csv(path, sep="\t", index=False)
    elif suffix == ".xlsx":
        df.to_excel(path, index=False)
    else:
        df.to_parquet(path)
    data = load_dataset([path])
    assert data.models == ["model_a", "model_b"]
    np.testing.assert_allclose(data.mos, df["MOS"])
    np.testing.assert_allclose(data.std, df["std"])
    assert list(data.keys) == list(df["image"])


def test_autodetect_columns_case_insensitive(tmp_path):
    df = _frame().rename(columns={"MOS": "Ground Truth Labels", "std": "MOS_Std"})
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    data = load_dataset(path)
    assert data.sources["mos"][1] == "Ground Truth Labels"
    assert data.sources["std"][1] == "MOS_Std"
    assert data.models == ["model_a", "model_b"]


def test_one_file_per_model_named_by_stem_joined_by_key(tmp_path):
    df = _frame()
    meta = tmp_path / "meta.csv"
    df[["image", "MOS", "std"]].to_csv(meta, index=False)
    shuffled = df.sample(frac=1.0, random_state=1)
    shuffled[["image", "model_a"]].rename(columns={"model_a": "score"}).to_csv(tmp_path / "alpha.csv", index=False)
    df[["image", "model_b"]].iloc[:-2].to_csv(tmp_path / "beta.csv", index=False)
    data = load_dataset([meta, tmp_path / "alpha.csv", tmp_path / "beta.csv"])
    assert data.models == ["alpha", "beta"]
    np.testing.assert_allclose(data.predictions["alpha"], df["model_a"])  # realigned by key
    assert np.isnan(data.predictions["beta"][-2:]).all()
    assert any("2 image(s)" in n for n in data.notes)


def test_join_by_row_order_requires_agreeing_mos(tmp_path):
    df = _frame()
    df[["MOS", "model_a"]].to_csv(tmp_path / "a.csv", index=False)
    df[["MOS", "model_b"]].to_csv(tmp_path / "b.csv", index=False)
    data = load_dataset([tmp_path / "a.csv", tmp_path / "b.csv"])
    assert data.models == ["a", "b"]
    bad = df[["MOS", "model_b"]].copy()
    bad.loc[7, "MOS"] += 1.0
    bad.to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(InputError, match=r"c\.csv, column 'MOS', row 8: MOS disagrees"):
        load_dataset([tmp_path / "a.csv", tmp_path / "c.csv"])


def test_mismatched_lengths_without_keys(tmp_path):
    df = _frame()
    df[["MOS", "model_a"]].to_csv(tmp_path / "a.csv", index=False)
    df[["MOS", "model_b"]].iloc[:-1].to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(InputError, match=r"b\.csv: has 19 rows but .* cannot join by row order"):
        load_dataset([tmp_path / "a.csv", tmp_path / "b.csv"])


def test_non_numeric_text_names_file_column_row(tmp_path):
    df = _frame().astype({"model_a": object})
    df.loc[4, "model_a"] = "n/a?"
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"p\.csv, column 'model_a', row 5: non-numeric value 'n/a\?'"):
        load_dataset(path, pred_cols=["model_a", "model_b"])


@pytest.mark.parametrize("content, message", [
    ("", "empty file"),
    ("mos,pred\n", "no data rows"),
    ("image,pred\na,1\nb,2\nc,3\n", "no MOS column found"),
    ("mos,pred\n1,2\n2,3\n", "only 2 data row"),
    ("mos,mos\n1,2\n", "duplicate column"),
])
def test_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_dataset(path)


def test_missing_file_and_columns(tmp_path):
    with pytest.raises(InputError, match="nope.csv: no such file"):
        load_dataset(tmp_path / "nope.csv")
    path = tmp_path / "p.csv"
    _frame().to_csv(path, index=False)
    with pytest.raises(InputError, match="column 'zzz'"):
        load_dataset(path, mos_col="zzz")
    with pytest.raises(InputError, match="column 'zzz': prediction column not found"):
        load_dataset(path, pred_cols=["zzz"])
    with pytest.raises(InputError, match="column 'zzz': std column not found"):
        load_dataset(path, std_col="zzz")


def test_duplicate_keys(tmp_path):
    df = _frame()
    df.loc[3, "image"] = df.loc[2, "image"]
    df[["image", "MOS", "model_a"]].to_csv(tmp_path / "a.csv", index=False)
    df[["image", "model_b"]].to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(InputError, match=r"a\.csv, column 'image', row 4: duplicate key"):
        load_dataset([tmp_path / "a.csv", tmp_path / "b.csv"])


def test_nan_policy_drops_with_counts_or_raises(tmp_path):
    df = _frame()
    df.loc[[2, 5], "model_a"] = np.nan
    df.loc[9, "MOS"] = np.nan
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    data = load_dataset(path)
    sub = data.complete(["model_a"])
    assert len(sub) == 17
    assert any("dropped 2 row(s)" in n and "'model_a'" in n for n in sub.notes)
    assert any("dropped 1 row(s)" in n and "MOS" in n for n in sub.notes)
    assert len(data.complete(["model_b"])) == 19
    with pytest.raises(InputError, match=r"p\.csv, column 'MOS', row 10"):
        data.complete(["model_b"], nan_policy="raise")


def test_inf_and_empty_cells_are_missing(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("mos,pred\n1,0.1\n2,inf\n3,\n4,0.4\n5,0.5\n")
    data = load_dataset(path)
    assert data.models == ["p"]  # a lone generic 'pred' column is named after its file
    assert np.isinf(data.predictions["p"][1]) and np.isnan(data.predictions["p"][2])


def test_orientation_flips_negative_models_and_says_so(tmp_path):
    path = tmp_path / "p.csv"
    _frame().to_csv(path, index=False)
    data = load_dataset(path).oriented()
    assert data.flipped == ("model_b",)
    assert any("'model_b' flipped" in n for n in data.notes)
    kept = load_dataset(path).oriented(flip=False)
    assert kept.flipped == () and not kept.notes
    forced = load_dataset(path).oriented(lower_is_better=["model_a"], flip=False)
    assert forced.flipped == ("model_a",)
    with pytest.raises(InputError, match="unknown model"):
        load_dataset(path).oriented(lower_is_better=["zzz"])


def test_reference_files_join_by_row_order(shared_dir):
    livec = shared_dir / "LIVEC"
    # LIVEC's MOS has ties (49.5 twice, 41.1 twice, ...): its row order is not proven by MOS
    with pytest.raises(InputError, match=r"qalign\.csv, column 'Ground Truth Labels': .*tied values"):
        load_dataset([livec / "meta.csv", livec / "qalign.csv", livec / "niqe.csv"])
    data = load_dataset([livec / "meta.csv", livec / "qalign.csv", livec / "niqe.csv"], join="order")
    assert data.models == ["qalign", "niqe"] and len(data) == 1162
    assert data.std is not None and data.sources["std"][1] == "std"
