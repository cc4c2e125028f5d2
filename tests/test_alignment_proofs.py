"""Alignment by proof (issue 14, item 1): a join is by a real image key, by a row order the
data verifies (a MOS without ties, present in both files), or asked for (``join='order'``);
anything else is one InputError saying what would make the join possible.

Every accepted join is checked against scipy's SROCC of the truly paired data; every
refused one is a case that, before this change, gave a silently wrong number (SROCC near 0
where the truth is about 0.97).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers import run_cli
from iqa_eval.data.dataset import Dataset
from iqa_eval.errors import InputError
from iqa_eval.data.io import load_dataset, read_table


def _study(n=60, seed=11, mos=None):
    rng = np.random.default_rng(seed)
    mos = rng.uniform(1, 5, n).round(4) if mos is None else mos
    return pd.DataFrame({"image": [f"p{i:03d}.png" for i in range(n)], "mos": mos,
                         "model": (mos + rng.normal(0, 0.25, n)).round(5)})


def _truth(df):
    return stats.spearmanr(df["model"], df["mos"]).statistic


def _srocc(data, name):
    ok = np.isfinite(data.predictions[name]) & np.isfinite(data.mos)
    return stats.spearmanr(data.predictions[name][ok], data.mos[ok]).statistic


def test_mos_only_metadata_next_to_keyed_shuffled_predictions_is_an_error(tmp_path):
    df = _study()
    df[["mos"]].to_csv(tmp_path / "meta.csv", index=False)
    df[["image", "model"]].sample(frac=1, random_state=0).to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(InputError, match=r"p\.csv, column 'image': .*meta\.csv has no column to match.*"
                                         r"key_col.*join='order'"):
        load_dataset([tmp_path / "meta.csv", tmp_path / "p.csv"])
    # with the key in both files the same pair gives the true SROCC
    df[["image", "mos"]].to_csv(tmp_path / "meta.csv", index=False)
    data = load_dataset([tmp_path / "meta.csv", tmp_path / "p.csv"])
    assert _srocc(data, "p") == pytest.approx(_truth(df), abs=1e-12)


def test_nameless_files_without_a_check_are_an_error_unless_asked(tmp_path):
    df = _study()
    df[["mos"]].to_csv(tmp_path / "meta.csv", index=False)
    df[["model"]].to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(InputError, match=r"p\.csv: no column identifies the images.*join='order'"):
        load_dataset([tmp_path / "meta.csv", tmp_path / "p.csv"])
    data = load_dataset([tmp_path / "meta.csv", tmp_path / "p.csv"], join="order")
    assert any("p.csv: aligned by row order, trusted (join='order'" in n for n in data.notes)
    assert _srocc(data, "p") == pytest.approx(_truth(df), abs=1e-12)


def test_an_all_empty_mos_column_verifies_nothing(tmp_path):
    df = _study()
    df[["mos"]].to_csv(tmp_path / "meta.csv", index=False)
    shuffled = df[["model"]].sample(frac=1, random_state=1).assign(label=np.nan)
    shuffled.to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(InputError, match=r"p\.csv, column 'label': .*empty in 60 rows.*cannot check the row order"):
        load_dataset([tmp_path / "meta.csv", tmp_path / "p.csv"])


@pytest.mark.parametrize("start", [0, 1])
def test_a_row_number_column_is_never_a_key(tmp_path, start):
    df = _study()
    meta = df[["mos"]].copy()
    meta.insert(0, "index", np.arange(start, start + len(df)))
    meta.to_csv(tmp_path / "meta.csv", index=False)
    shuffled = df[["model"]].sample(frac=1, random_state=2).reset_index(drop=True)
    shuffled.insert(0, "index", np.arange(start, start + len(df)))   # what reset_index() writes
    shuffled.to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(InputError, match=r"p\.csv: no column identifies the images"):
        load_dataset([tmp_path / "meta.csv", tmp_path / "p.csv"])
    # the same under a name that is not metadata ('n_id'): row numbers in file order are no key
    meta.rename(columns={"index": "n_id"}).to_csv(tmp_path / "meta.csv", index=False)
    shuffled.rename(columns={"index": "n_id"}).to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(InputError, match=r"p\.csv: no column identifies the images"):
        load_dataset([tmp_path / "meta.csv", tmp_path / "p.csv"])


@pytest.mark.parametrize("scale", ["integer", "half"])
def test_rows_permuted_among_tied_mos_are_refused(tmp_path, scale):
    rng = np.random.default_rng(5)
    mos = rng.integers(1, 6, 60).astype(float)
    if scale == "half":
        mos = rng.integers(2, 11, 60) / 2
    df = _study(mos=mos)
    df[["image", "mos"]].to_csv(tmp_path / "meta.csv", index=False)
    # permute within each tied group: the MOS column still agrees row by row
    perm = np.arange(60)
    for v in np.unique(mos):
        idx = np.flatnonzero(mos == v)
        perm[idx] = rng.permutation(idx)
    assert (perm != np.arange(60)).any()
    bad = df[["model", "mos"]].iloc[perm].reset_index(drop=True)
    assert np.array_equal(bad["mos"], df["mos"])
    bad.to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(InputError, match=r"p\.csv, column 'mos': .*tied.*cannot verify the row order.*"
                                         r"key_col.*join='order'"):
        load_dataset([tmp_path / "meta.csv", tmp_path / "p.csv"])
    code, out, err = run_cli("score", tmp_path / "meta.csv", tmp_path / "p.csv")
    assert code == 2 and err.count("error:") == 1 and "--join order" in err and "Traceback" not in err


def test_unique_mos_in_order_is_a_verified_join(tmp_path):
    df = _study()
    df[["image", "mos"]].to_csv(tmp_path / "meta.csv", index=False)
    df[["model", "mos"]].to_csv(tmp_path / "p.csv", index=False)
    data = load_dataset([tmp_path / "meta.csv", tmp_path / "p.csv"])
    assert _srocc(data, "p") == pytest.approx(_truth(df), abs=1e-12)
    assert any("p.csv: aligned by row order, checked" in n and "no ties" in n for n in data.notes)


def test_std_file_follows_the_order_setting_file_and_says_so(tmp_path):
    rng = np.random.default_rng(9)
    df = _study(n=50).assign(std=rng.uniform(0.2, 0.9, 50).round(4))
    df[["image", "mos"]].to_csv(tmp_path / "meta.csv", index=False)
    df[["image", "model"]].sample(frac=1, random_state=3).to_csv(tmp_path / "p.csv", index=False)
    (tmp_path / "std.txt").write_text("\n".join(map(str, df["std"])) + "\n")
    df[["image", "mos", "std", "model"]].to_csv(tmp_path / "whole.csv", index=False)
    common = ("--samples", "20", "--grid-res", "20", "--seed", "1", "--no-progress")
    code, out_side, err = run_cli("surface", tmp_path / "p.csv", tmp_path / "meta.csv",
                                  "--std-file", tmp_path / "std.txt", *common)
    assert code == 0, err
    assert "--std-file" in err and "one value per row of" in err and "meta.csv" in err
    code, out_whole, err2 = run_cli("surface", tmp_path / "whole.csv", *common)
    assert code == 0, err2
    assert out_side.splitlines()[2].split()[1:] == out_whole.splitlines()[2].split()[1:]


def test_dataset_from_series_aligns_on_the_index():
    df = _study()
    mos = pd.Series(df["mos"].to_numpy(), index=df["image"])
    pred = pd.Series(df["model"].to_numpy(), index=df["image"]).sample(frac=1, random_state=4)
    data = Dataset(mos=mos, predictions={"m": pred})
    np.testing.assert_array_equal(data.predictions["m"], df["model"].to_numpy())
    assert any("aligned on the index" in n for n in data.notes)
    with pytest.raises(InputError, match="index"):
        Dataset(mos=mos, predictions={"m": pred.iloc[:-1]})
    with pytest.raises(InputError, match="index"):
        Dataset(mos=mos, predictions={"m": pd.Series(pred.to_numpy(), index=[f"q{i}" for i in range(60)])})


def test_integers_beyond_2_to_53_are_refused(tmp_path):
    base = 2 ** 53
    df = pd.DataFrame({"mos": np.arange(10) + 1.5, "model": base + np.array([3, 1, 4, 5, 9, 2, 6, 8, 7, 10])})
    df.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(InputError, match=r"t\.csv, column 'model', row \d+: .*2\^53"):
        load_dataset(tmp_path / "t.csv")
    with pytest.raises(InputError, match=r"2\^53"):
        Dataset(mos=np.arange(10.0), predictions={"m": df["model"].to_numpy()})


def test_mos_like_columns_are_never_predictions(tmp_path):
    df = _study()
    df.assign(dmos=6 - df["mos"], std=0.5).to_csv(tmp_path / "t.csv", index=False)
    data = load_dataset(tmp_path / "t.csv")
    assert data.models == ["model"]
    for col in ("mos", "dmos", "std"):
        with pytest.raises(InputError, match=rf"column '{col}': .*not a prediction"):
            load_dataset(tmp_path / "t.csv", pred_cols=[col])
    code, out, err = run_cli("score", tmp_path / "t.csv", "--pred-cols", "mos")
    assert code == 2 and err.count("error:") == 1 and "Traceback" not in err


def test_one_column_header_with_spaces_is_one_column(tmp_path):
    path = tmp_path / "qalign.csv"
    path.write_text("Results Scores for CC\n0.5\n0.25\n0.75\n")
    assert read_table(path).columns.tolist() == ["Results Scores for CC"]
    # blank-separated tables are still read as such
    (tmp_path / "b.txt").write_text("image mos model\na.png 1.5 0.2\nb.png 2.5 0.4\nc.png 3.5 0.3\n")
    assert read_table(tmp_path / "b.txt").columns.tolist() == ["image", "mos", "model"]


def test_delimiter_is_an_explicit_choice(tmp_path):
    df = _study(n=30)
    path = tmp_path / "t.csv"
    path.write_text("image;mos;a,b\n" + "".join(f"{r.image};{r.mos};{r.model}\n" for r in df.itertuples()))
    assert read_table(path, delimiter=";").columns.tolist() == ["image", "mos", "a,b"]
    assert read_table(path, delimiter=",").columns.tolist() == ["image;mos;a", "b"]
    with pytest.raises(InputError, match="delimiter must be one of"):
        read_table(path, delimiter="#")
    data = load_dataset(path, delimiter=";")
    assert data.models == ["a,b"]
    assert _srocc(data, "a,b") == pytest.approx(_truth(df), abs=1e-12)
    code, out, err = run_cli("score", path, "--delimiter", ";")
    assert code == 0, err
    assert f"{_truth(df):.4f}" in out
