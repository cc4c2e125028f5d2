"""`iqa-eval mos`: ratings -> the metadata file score reads; bad input is one error line or a counted note."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import run_cli

from iqa_eval.subjective import METADATA_COLUMNS


def _long(tmp_path, rows, name="ratings.csv", header="subject,image,rating"):
    p = tmp_path / name
    p.write_text(header + "\n" + "\n".join(rows) + "\n")
    return p


def _panel(tmp_path, E=12, S=6, seed=0):
    rng = np.random.default_rng(seed)
    q = np.linspace(1.5, 4.5, E)
    u = np.clip(np.rint(q[:, None] + rng.normal(0, 0.6, (E, S))), 1, 5).astype(int)
    rows = [f"s{j},im{k:02d},{u[k, j]}" for k in range(E) for j in range(S)]
    return _long(tmp_path, rows), u


def test_long_table_to_metadata_matches_plain_statistics(tmp_path):
    p, u = _panel(tmp_path)
    out = tmp_path / "meta.csv"
    code, _, err = run_cli("mos", p, "-o", out, "--scale", "1,5", "--n-splits", "10")
    assert code == 0, err
    meta = pd.read_csv(out)
    assert tuple(meta.columns) == METADATA_COLUMNS
    np.testing.assert_allclose(meta["mos"], u.mean(axis=1), atol=1e-5)
    np.testing.assert_allclose(meta["std"], u.std(axis=1, ddof=1), atol=1e-5)
    half = 2.5705818366147395 * u.std(axis=1, ddof=1) / np.sqrt(6)     # t(0.975, 5)
    np.testing.assert_allclose(meta["ci_high"] - meta["mos"], half, atol=2e-5)
    assert "noise ceiling" in err and "note: MOS of 12 image(s) from 72 rating(s) by 6 subject(s)" in err


def test_score_joins_the_metadata_file(tmp_path):
    p, u = _panel(tmp_path)
    out = tmp_path / "meta.csv"
    assert run_cli("mos", p, "-o", out, "--no-ceiling")[0] == 0
    preds = tmp_path / "preds.csv"
    pd.DataFrame({"image": [f"im{k:02d}" for k in range(12)][::-1], "model_a": np.arange(12)[::-1] * 0.1,
                  "model_b": np.random.default_rng(1).random(12)}).to_csv(preds, index=False)
    code, stdout, err = run_cli("score", out, preds)
    assert code == 0, err
    assert "model_a" in stdout and "model_b" in stdout
    assert "ci_low" not in stdout and "ci_high" not in stdout       # the MOS interval is no model
    assert "12 of 12 images matched" in err


def test_wide_table_same_as_long(tmp_path):
    p, u = _panel(tmp_path)
    wide = tmp_path / "wide.csv"
    df = pd.DataFrame(u, columns=[f"s{j}" for j in range(6)])
    df.insert(0, "image", [f"im{k:02d}" for k in range(12)])
    df.to_csv(wide, index=False)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run_cli("mos", p, "-o", a, "--no-ceiling")[0] == 0
    assert run_cli("mos", wide, "-o", b, "--no-ceiling")[0] == 0
    pd.testing.assert_frame_equal(pd.read_csv(a), pd.read_csv(b))


@pytest.mark.parametrize("rows,extra,message", [
    (["s1,a,3", "s1,b,x", "s2,a,4", "s2,b,2"], (), "ratings.csv, column 'rating', row 2: non-numeric value 'x'"),
    (["s1,a,3", "s1,a,4", "s2,a,4", "s2,b,2"], (), "subject 's1' rated image 'a' more than once (rows 1, 2"),
    (["s1,a,3", "s1,b,7", "s2,a,4", "s2,b,2"], ("--scale", "1,5"),
     "ratings.csv, column 'rating', row 2: rating 7 outside the declared scale 1..5"),
    (["s1,a,3", "s1,b,4"], ("--scale", "5,1"), "--scale must be LOW,HIGH with LOW < HIGH"),
])
def test_bad_input_is_one_error_line(tmp_path, rows, extra, message):
    p = _long(tmp_path, rows)
    code, stdout, err = run_cli("mos", p, "-o", tmp_path / "m.csv", *extra)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert not (tmp_path / "m.csv").exists()


def test_repetitions_are_told_apart_by_a_repetition_column(tmp_path):
    p = _long(tmp_path, ["s1,a,1,3", "s1,a,2,4", "s2,a,1,4", "s1,b,1,2", "s2,b,1,2", "s2,b,2,1"],
              header="subject,image,repetition,rating")
    code, stdout, err = run_cli("mos", p, "--no-ceiling")
    assert code == 0, err
    meta = pd.read_csv(__import__("io").StringIO(stdout))
    assert meta["mos"].tolist() == pytest.approx([11 / 3, 5 / 3])
    assert meta["n_ratings"].tolist() == [3, 3]


def test_counted_notes_nothing_dropped_silently(tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text("image,s1,s2,s3\na,3,4,\nb,2,,\nc,,,\nd,4,5,\n")
    code, stdout, err = run_cli("mos", wide, "--no-ceiling")
    assert code == 0, err
    assert "note: 7 empty rating cell(s) skipped (not rated)" in err
    assert "note: 1 image(s) without any rating (c): no MOS for them" in err
    assert "note: 1 subject(s) with a single rating (s3)" not in err     # s3 has no rating at all
    assert "image(s) with a single rating: std and interval left empty" in err
    meta = pd.read_csv(__import__("io").StringIO(stdout))
    assert meta["image"].tolist() == ["a", "b", "d"]


def test_single_rating_subject_is_a_note(tmp_path):
    p = _long(tmp_path, ["s1,a,3", "s1,b,4", "s2,a,4", "s2,b,2", "s3,b,5"])
    code, stdout, err = run_cli("mos", p, "--no-ceiling")
    assert code == 0 and "note: 1 subject(s) with a single rating (s3)" in err


def test_screening_and_subject_tables(tmp_path):
    rng = np.random.default_rng(4)
    q = rng.uniform(1, 5, 40)
    u = q[:, None] + rng.normal(0, 0.4, (40, 10))
    u[:, 9] = rng.uniform(1, 5, 40)
    rows = [f"r{j},im{k:02d},{u[k, j]:.3f}" for k in range(40) for j in range(10)]
    p = _long(tmp_path, rows)
    scr, subj, meta = tmp_path / "screen.csv", tmp_path / "subjects.csv", tmp_path / "meta.csv"
    code, _, err = run_cli("mos", p, "--screen", "p913", "--screening-out", scr, "--method", "mle",
                           "--variance", "corrected", "--subjects-out", subj, "-o", meta, "--n-splits", "10")
    assert code == 0, err
    assert "note: p913 screening rejected 1 of 10 subject(s): r9 (r = " in err
    t = pd.read_csv(scr)
    assert t.loc[t["rejected"], "subject"].tolist() == ["r9"]
    s = pd.read_csv(subj)
    assert s["subject"].tolist() == [f"r{j}" for j in range(9)]
    assert np.all(np.abs(pd.read_csv(meta)["mos"] - q - np.mean(u[:, :9] - q[:, None])) < 0.6)


def test_simulate_writes_ratings_that_mos_reads(tmp_path):
    study, ratings, meta = tmp_path / "study.csv", tmp_path / "ratings.csv", tmp_path / "meta.csv"
    code, _, err = run_cli("simulate", "-n", "40", "-o", study, "--ratings-out", ratings)
    assert code == 0, err
    raw = pd.read_csv(ratings)
    assert list(raw.columns) == ["subject", "image", "content", "rating"]
    assert raw["rating"].between(1, 5).all() and 0.7 < len(raw) / (40 * 24) < 0.9
    assert run_cli("mos", ratings, "-o", meta, "--n-splits", "10")[0] == 0
    df = pd.read_csv(study)
    m = pd.read_csv(meta)
    assert m["image"].tolist() == df["image"].tolist()
    assert np.corrcoef(m["mos"], df["mos"])[0, 1] > 0.9      # two panels rating the same latent quality
    # the study table itself is unchanged by asking for ratings
    code, stdout, _ = run_cli("simulate", "-n", "40")
    assert pd.read_csv(__import__("io").StringIO(stdout)).equals(df)


def test_score_reports_the_noise_ceiling_of_a_metadata_file(tmp_path):
    from iqa_eval.subjective import ceiling_from_summary

    study, ratings, meta = tmp_path / "study.csv", tmp_path / "ratings.csv", tmp_path / "meta.csv"
    assert run_cli("simulate", "-n", "60", "-o", study, "--ratings-out", ratings)[0] == 0
    assert run_cli("mos", ratings, "-o", meta, "--no-ceiling")[0] == 0
    df = pd.read_csv(study)
    preds = tmp_path / "preds.csv"
    df[["image", "precise", "noisy"]].to_csv(preds, index=False)
    code, stdout, err = run_cli("score", meta, preds, "--no-pairwise")
    assert code == 0, err
    m = pd.read_csv(meta)
    c = ceiling_from_summary(m["mos"], m["std"], m["n_ratings"])
    d = c.as_dict()
    # a reference row below the models (not a note): a perfect model's expected SROCC and PLCC
    row = [x for x in stdout.splitlines() if x.startswith("noise ceiling ")]
    assert len(row) == 1
    assert f"{c.srocc:.4f} [{d['srocc_ci_low']:.4f}, {d['srocc_ci_high']:.4f}]" in row[0]
    assert f"{c.plcc:.4f} [{d['plcc_ci_low']:.4f}, {d['plcc_ci_high']:.4f}]" in row[0]
    # the note says only what the row does not: the reliability and how it was estimated
    line = [x for x in err.splitlines() if x.startswith("note: noise ceiling")]
    assert len(line) == 1 and f"reliability {c.reliability:.4f}" in line[0] and "variance components" in line[0]
