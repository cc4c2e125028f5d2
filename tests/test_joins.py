"""Joining several files: the right rows together or an error, never a silent wrong number.

Every case checks the joined predictions against the true alignment (scipy's SROCC of
the correctly paired data) or expects an InputError naming the file.
"""
from __future__ import annotations

import decimal

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from iqa_eval.errors import InputError
from iqa_eval.data.io import load_dataset, normalised_keys, read_table


def _study(n=40, seed=3):
    rng = np.random.default_rng(seed)
    mos = rng.uniform(1, 5, n).round(3)
    return pd.DataFrame({"pic_no": np.arange(100, 100 + n), "name": [f"x{i:03d}.jpg" for i in range(n)],
                         "mos": mos, "model": (mos + rng.normal(0, 0.4, n)).round(4)})


def _srocc(data, model):
    ok = np.isfinite(data.predictions[model])
    return stats.spearmanr(data.predictions[model][ok], data.mos[ok]).statistic


def test_unusual_shared_key_name_joins_a_shuffled_file(tmp_path):
    df = _study()
    df[["pic_no", "mos"]].to_csv(tmp_path / "meta.csv", index=False)
    df[["pic_no", "model"]].sample(frac=1, random_state=0).to_csv(tmp_path / "m.csv", index=False)
    data = load_dataset([tmp_path / "meta.csv", tmp_path / "m.csv"])
    truth = stats.spearmanr(df["model"], df["mos"]).statistic
    assert _srocc(data, "m") == pytest.approx(truth, abs=1e-12)
    assert any("m.csv: aligned by key column 'pic_no'" in n for n in data.notes)


def test_numeric_ids_compare_as_numbers(tmp_path):
    df = _study()
    meta = df[["pic_no", "mos"]].rename(columns={"pic_no": "id"})
    meta.to_csv(tmp_path / "meta.csv", index=False)
    shuffled = df[["pic_no", "model"]].rename(columns={"pic_no": "id"}).sample(frac=1, random_state=1)
    shuffled["id"] = shuffled["id"].astype(float)          # '107.0' in one file, '107' in the other
    shuffled.to_csv(tmp_path / "m.csv", index=False)
    data = load_dataset([tmp_path / "meta.csv", tmp_path / "m.csv"])
    np.testing.assert_array_equal(data.predictions["m"], df["model"].to_numpy())
    assert list(normalised_keys(pd.Series(["007", " 7.0 ", "8"]), unique=False)) == ["7", "7", "8"]


def test_keys_under_different_names_are_matched_by_value(tmp_path):
    df = _study()
    df[["name", "mos"]].rename(columns={"name": "img_name"}).to_csv(tmp_path / "meta.csv", index=False)
    df[["name", "model"]].rename(columns={"name": "which"}).sample(frac=1, random_state=2).to_csv(
        tmp_path / "m.csv", index=False)
    data = load_dataset([tmp_path / "meta.csv", tmp_path / "m.csv"])
    np.testing.assert_array_equal(data.predictions["m"], df["model"].to_numpy())
    assert any("aligned by key column 'which' to" in n for n in data.notes)


def test_named_metadata_and_a_shuffled_nameless_file_with_mos_is_an_error(tmp_path):
    df = _study()
    df[["name", "mos"]].to_csv(tmp_path / "meta.csv", index=False)
    pyiqa = df[["model", "mos"]].rename(columns={"model": "Results Scores for CC",
                                                 "mos": "Ground Truth Labels"})
    pyiqa.sample(frac=1, random_state=3).to_csv(tmp_path / "shuffled.csv", index=False)
    with pytest.raises(InputError, match=r"shuffled\.csv, column 'Ground Truth Labels', row \d+: MOS disagrees"):
        load_dataset([tmp_path / "meta.csv", tmp_path / "shuffled.csv"])
    # in order, the row order is checked by the MOS column and said so
    pyiqa.astype({"Ground Truth Labels": np.float32}).to_csv(tmp_path / "inorder.csv", index=False)
    data = load_dataset([tmp_path / "meta.csv", tmp_path / "inorder.csv"])
    np.testing.assert_array_equal(data.predictions["inorder"], df["model"].to_numpy())
    assert any("inorder.csv: aligned by row order, checked" in n for n in data.notes)


def test_nameless_file_without_mos_next_to_named_files_needs_join_order(tmp_path):
    df = _study()
    df[["name", "mos"]].to_csv(tmp_path / "meta.csv", index=False)
    df[["model"]].sample(frac=1, random_state=4).to_csv(tmp_path / "bare.csv", index=False)
    with pytest.raises(InputError, match=r"bare\.csv: no column identifies the images .* join='order'"):
        load_dataset([tmp_path / "meta.csv", tmp_path / "bare.csv"])
    data = load_dataset([tmp_path / "meta.csv", tmp_path / "bare.csv"], join="order")
    assert any("bare.csv: aligned by row order, trusted (join='order'" in n for n in data.notes)
    with pytest.raises(InputError, match="join='key'"):
        load_dataset([tmp_path / "meta.csv", tmp_path / "bare.csv"], join="key")


def test_no_file_with_names_needs_join_order_and_says_so(tmp_path):
    """Nothing proves the row order (no key, no MOS in b.csv): an error, or trusted when asked."""
    df = _study()
    df[["mos", "model"]].to_csv(tmp_path / "a.csv", index=False)
    df[["model"]].rename(columns={"model": "other"}).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(InputError, match=r"b\.csv: no column identifies the images .*join='order'"):
        load_dataset([tmp_path / "a.csv", tmp_path / "b.csv"])
    data = load_dataset([tmp_path / "a.csv", tmp_path / "b.csv"], join="order")
    notes = [n for n in data.notes if "b.csv" in n]
    assert len(notes) == 1 and "trusted (join='order'" in notes[0]
    assert sum("a.csv: sets the image order" in n for n in data.notes) == 1


def test_duplicate_key_names_both_rows(tmp_path):
    df = _study()
    df.loc[9, "name"] = df.loc[4, "name"]
    df[["name", "mos"]].to_csv(tmp_path / "meta.csv", index=False)
    df[["name", "model"]].to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(InputError, match=r"meta\.csv, column 'name', row 10: duplicate key 'x004.jpg' in rows 5 and 10"):
        load_dataset([tmp_path / "meta.csv", tmp_path / "m.csv"])


def test_keys_matching_nothing_name_the_file_and_column(tmp_path):
    df = _study()
    df[["name", "mos"]].to_csv(tmp_path / "meta.csv", index=False)
    other = df[["name", "model"]].copy()
    other["name"] = "other_" + other["name"]
    other.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(InputError, match=r"m\.csv, column 'name': no key matches an image of"):
        load_dataset([tmp_path / "meta.csv", tmp_path / "m.csv"])


def test_mos_agreeing_only_within_rounding_is_a_note_with_the_largest_difference(tmp_path):
    df = _study()
    df["mos"] = df["mos"] + 1e-3 / 7  # not representable in float32
    df[["name", "mos"]].to_csv(tmp_path / "meta.csv", index=False, float_format="%.17g")
    f32 = df[["name", "model", "mos"]].astype({"mos": np.float32})
    f32.to_csv(tmp_path / "m.csv", index=False)
    data = load_dataset([tmp_path / "meta.csv", tmp_path / "m.csv"])
    expected = np.abs(pd.read_csv(tmp_path / "m.csv")["mos"].to_numpy() - df["mos"].to_numpy()).max()
    assert expected > 0
    note = next(n for n in data.notes if "only within rounding" in n)
    assert f"largest difference {expected:.3g}" in note and "meta.csv 'mos' are used" in note


def test_directory_argument_reads_every_table(tmp_path):
    df = _study()
    folder = tmp_path / "results"
    folder.mkdir()
    df[["name", "mos"]].to_csv(folder / "a_meta.csv", index=False)
    df[["name", "model"]].to_csv(folder / "b_model.csv", index=False)
    (folder / "README").write_text("not a table")
    data = load_dataset([folder])
    assert data.models == ["b_model"]
    assert any("read 2 table(s): a_meta.csv, b_model.csv" in n for n in data.notes)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty: directory holds no table"):
        load_dataset([tmp_path / "empty"])


@pytest.mark.parametrize("content, message", [
    ("a.png,3.1,0.2\nb.png,2.2,0.5\nc.png,4.0,0.9\n", "no header line"),
    ("mos,v1,v1.1\n1,2,3\n2,3,1\n3,1,2\n", None),            # v1 and v1.1 are two columns
    ('mos,"score, v2"\n1,2\n2,3\n3,1\n', None),                # quoted comma in the header
    ("mos,m\n1, \n2,none\n3,0.5\n4,0.7\n", None),              # a space and 'none' are missing
])
def test_headers_and_cells(tmp_path, content, message):
    path = tmp_path / "t.csv"
    path.write_text(content)
    if message:
        with pytest.raises(InputError, match=message):
            load_dataset(path)
    else:
        data = load_dataset(path)
        assert len(data.models) >= 1 and len(data) >= 3


def test_workbooks_and_parquet(tmp_path):
    df = _study()
    book = tmp_path / "book.xlsx"
    with pd.ExcelWriter(book) as xl:
        df[["name", "mos", "model"]].to_excel(xl, sheet_name="scores", index=False)
        df[["name"]].to_excel(xl, sheet_name="notes", index=False)
    data = load_dataset(book)
    assert any("2 sheets; read sheet 'scores' only (others: 'notes')" in n for n in data.notes)
    # read_table alone says it as a warning (its result is a plain DataFrame, no .attrs)
    from iqa_eval.errors import IQAEvalWarning
    with pytest.warns(IQAEvalWarning, match="2 sheets; read sheet 'scores' only"):
        table = read_table(book)
    assert list(table.columns) == ["name", "mos", "model"] and not table.attrs
    truncated = tmp_path / "cut.xlsx"
    truncated.write_bytes(book.read_bytes()[:300])
    with pytest.raises(InputError, match=r"cut\.xlsx: cannot read table"):
        read_table(truncated)
    dec = df[["mos", "model"]].copy()
    dec["model"] = [decimal.Decimal(str(v)) for v in dec["model"]]
    dec.to_parquet(tmp_path / "d.parquet")
    data = load_dataset(tmp_path / "d.parquet")
    np.testing.assert_allclose(data.predictions["model"], df["model"])


def test_empty_column_and_negative_std_name_file_column_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("image,mos,std,empty,m\na,1,0.5,,0.1\nb,2,0.3,,0.5\nc,3,0.2,,0.2\nd,4,0.4,,0.9\n")
    with pytest.raises(InputError, match=r"t\.csv, column 'empty': no numeric value in this column"):
        load_dataset(path)
    path.write_text("image,mos,sd,votes,m\na,1,0.5,9,0.1\nb,2,0.3,9,0.5\nc,3,-0.2,9,0.2\nd,4,0.4,0,0.9\n")
    with pytest.raises(InputError, match=r"t\.csv, column 'sd', row 3: std must be >= 0, got -0\.2"):
        load_dataset(path)
    path.write_text("image,mos,sd,votes,m\na,1,0.5,9,0.1\nb,2,0.3,9,0.5\nc,3,0.2,9,0.2\nd,4,0.4,0,0.9\n")
    with pytest.raises(InputError, match=r"t\.csv, column 'votes', row 4: number-of-ratings must be >= 1"):
        load_dataset(path)


def test_livec_metadata_with_pyiqa_files_one_note_each_and_shuffles_caught(shared_dir, tmp_path):
    livec = shared_dir / "LIVEC"
    files = [livec / "meta.csv", livec / "qalign.csv", livec / "niqe.csv"]
    # LIVEC's MOS has ties: the row order is not proven by it, so it must be asked for
    with pytest.raises(InputError, match="tied values .*join='order'"):
        load_dataset(files)
    data = load_dataset(files, join="order")
    for f in files:
        assert sum(str(f) + ":" in n for n in data.notes) == 1, f
    assert "only within rounding" in next(n for n in data.notes if "qalign.csv" in n)
    q = pd.read_csv(livec / "qalign.csv")
    expected = stats.spearmanr(q["Results Scores for CC"], pd.read_csv(livec / "meta.csv")["mos"]).statistic
    assert _srocc(data, "qalign") == pytest.approx(expected, abs=1e-12)
    q.sample(frac=1, random_state=5).to_csv(tmp_path / "qalign.csv", index=False)
    with pytest.raises(InputError, match="MOS disagrees"):
        load_dataset([livec / "meta.csv", tmp_path / "qalign.csv"], join="order")


def test_unrecognised_name_column_elsewhere_stops_a_trusted_row_order(tmp_path):
    """A metadata file whose image-name column has a name no detector knows, next to a shuffled
    predictions-only file: an error (or --join order), never a row-order join and a wrong SROCC."""
    from iqa_eval.data.simulation import simulate_study

    df = simulate_study(300, seed=1)
    df[["image", "mos", "std"]].rename(columns={"image": "dis_img_path"}).to_csv(tmp_path / "m.csv", index=False)
    df[["precise"]].sample(frac=1, random_state=3).to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(InputError, match=r"c\.csv: no column here identifies the images .*'dis_img_path'"):
        load_dataset([tmp_path / "m.csv", tmp_path / "c.csv"])
    data = load_dataset([tmp_path / "m.csv", tmp_path / "c.csv"], join="order")   # asked for: trusted, said
    assert any("c.csv: aligned by row order, trusted (join='order'" in n for n in data.notes)


def test_repeated_names_in_one_file_are_a_note(tmp_path):
    (tmp_path / "d.csv").write_text("image,mos,p\na,1,1\nb,2,2\na,3,3\nc,4,5\nd,5,4\ne,6,6\n")
    data = load_dataset([tmp_path / "d.csv"])
    assert len(data) == 6
    assert any("column 'image' repeats image names" in n and "'a' in rows 1, 3" in n for n in data.notes)


def test_row_order_rounding_note_says_it_once(tmp_path):
    import numpy as np

    mos = np.linspace(1, 5, 50) + 1e-7
    pd.DataFrame({"name": [f"i{k}" for k in range(50)], "mos": mos}).to_csv(tmp_path / "meta.csv", index=False)
    pd.DataFrame({"Ground Truth Labels": mos.astype(np.float32), "pred": mos}).to_csv(tmp_path / "m.csv", index=False)
    data = load_dataset([tmp_path / "meta.csv", tmp_path / "m.csv"])
    note = next(n for n in data.notes if n.startswith(str(tmp_path / "m.csv")))
    assert "row by row only within rounding" in note and note.count("agrees") == 1


@pytest.mark.parametrize("join", ["auto", "order"])
def test_join_order_takes_the_mos_of_the_same_file_as_auto(tmp_path, join):
    """A folder as the reference sets ship it: prediction files that carry a rounded copy of the
    MOS (sorted first by name) and meta.csv with the MOS and image names. Both joins take the MOS
    (and the image order) from meta.csv, so --join order changes no number."""
    rng = np.random.default_rng(5)
    mos = rng.uniform(1, 5, 40) + 1e-7 * rng.random(40)
    names = [f"I{k:02d}.png" for k in range(40)]
    pd.DataFrame({"dist_name": names, "mos": mos}).to_csv(tmp_path / "meta.csv", index=False)
    pd.DataFrame({"Results Scores for CC": rng.random(40),
                  "Ground Truth Labels": mos.astype(np.float32)}).to_csv(tmp_path / "Alpha.csv", index=False)
    if join == "auto":   # a nameless file without proof of its order: auto needs order or names
        pd.DataFrame({"dist_name": names, "Results Scores for CC": rng.random(40)}).to_csv(
            tmp_path / "Alpha.csv", index=False)
    data = load_dataset(tmp_path, join=join)
    np.testing.assert_array_equal(data.mos, mos)
    assert data.sources["mos"][0].endswith("meta.csv")


def test_join_order_a_mos_only_another_file_has_is_one_clear_error(tmp_path):
    """The order-setting file's MOS is used: a value given only by another file is not taken
    silently, and the error says where it is missing (not 'name a key column')."""
    rng = np.random.default_rng(2)
    mos = rng.uniform(1, 5, 20)
    meta = pd.DataFrame({"image": [f"i{k}.png" for k in range(20)], "mos": mos})
    meta.loc[4, "mos"] = np.nan
    meta.to_csv(tmp_path / "meta.csv", index=False)
    pd.DataFrame({"mos": mos, "a": rng.random(20)}).to_csv(tmp_path / "A.csv", index=False)
    with pytest.raises(InputError, match=r"A\.csv, column 'mos', row 5: has a MOS .* missing in .*meta\.csv"):
        load_dataset(tmp_path, join="order")
