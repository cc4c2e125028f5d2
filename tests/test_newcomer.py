"""What a newcomer hit on real data (issue 7, point 7), each checked through the command line."""
from __future__ import annotations

import io
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iqa_eval._runtime.progress import Progress
from iqa_eval.render.formatting import format_p

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "examples" / "simulated_study.csv"


def _cli(*args):
    """In-process ``iqa-eval ARGS`` (fast); the subprocess cases are in test_safety."""
    from types import SimpleNamespace

    from helpers import run_cli

    code, out, err = run_cli(*args)
    return SimpleNamespace(returncode=code, stdout=out, stderr=err)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("newcomer") / "small.csv"
    pd.read_csv(STUDY).iloc[:300].to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_surface_draws_every_requested_method(small, tmp_path):
    r = _cli("surface", small, "--grid", "5x5", "--method", "srocc,krcc", "-o", tmp_path / "s.png", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s_krcc.png", "s_srocc.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in tmp_path.iterdir())
    r = _cli("surface", small, "--grid", "5x5", "--method", "srocc,plcc", "-o", tmp_path / "s.html")
    page = (tmp_path / "s.html").read_text()
    assert page.count('id="gmc-') == 2 and "Content-Security-Policy" in page
    r = _cli("surface", small, "--grid", "5x5", "--method", "plcc", "--contour", "-o", tmp_path / "c.svg")
    assert r.returncode == 0 and (tmp_path / "c.svg").read_text().lstrip().startswith("<?xml")
    r = _cli("surface", small, "--grid", "5x5", "--contour", "-o", tmp_path / "c.html")
    assert r.returncode == 2 and "--contour draws static contour maps" in r.stderr


@pytest.mark.slow
def test_compare_writes_the_figure_for_image_suffixes(small, tmp_path):
    for suffix, magic in ((".svg", b"<?xml"), (".pdf", b"%PDF"), (".png", b"\x89PNG")):
        out = tmp_path / f"cmp{suffix}"
        r = _cli("compare", small, "-m", "high_end,fine_grain", "--grid", "5x5", "-o", out, "--no-progress")
        assert r.returncode == 0, r.stderr
        assert out.read_bytes().startswith(magic)


def test_n_ratings_and_when_outlier_ratio_is_shown(small, tmp_path):
    no_count = tmp_path / "no_count.csv"
    pd.read_csv(small).drop(columns=["n_ratings"]).to_csv(no_count, index=False)
    r = _cli("score", no_count, "--format", "json", "--no-pairwise")
    doc = json.loads(r.stdout)
    assert "outlier_ratio" not in doc["models"][0]
    assert "outlier ratio and RMSE* not computed" in r.stderr
    r = _cli("score", no_count, "--format", "json", "--no-pairwise", "--n-ratings", "20")
    doc = json.loads(r.stdout)
    assert "from --n-ratings 20" in r.stderr
    # the n = 20 threshold, written out: t(0.975, 19) * std / sqrt(20); check one model by hand
    from scipy import stats

    from iqa_eval.stats.mapping import fit_mapping
    df = pd.read_csv(small)
    x = df["precise"].to_numpy()
    fit = fit_mapping(x, df["mos"].to_numpy())
    eps = stats.t.ppf(0.975, 19) * df["std"].to_numpy() / math.sqrt(20)
    expected = np.mean(np.abs(df["mos"].to_numpy() - fit.predict(x)) > eps)
    row = next(m for m in doc["models"] if m["model"] == "precise")
    assert row["outlier_ratio"] == pytest.approx(expected, abs=1e-12)
    r = _cli("score", small, "--n-ratings", "20")
    assert r.returncode == 2 and "not both" in r.stderr


def test_every_command_accepts_no_progress_and_bars_only_on_terminals(tmp_path):
    for cmd in ("score", "surface", "compare", "report", "simulate"):
        r = _cli(cmd, "--help")
        assert "--no-progress" in r.stdout and "--debug" in r.stdout and "--max-memory" in r.stdout, cmd
    import iqa_eval._runtime.progress as progress_module

    class Pipe(io.StringIO):
        def isatty(self):
            return False

    old = sys.stderr
    sys.stderr = Pipe()
    try:
        bar = Progress(10, "x", delay=0.0)
        assert not bar.enabled
    finally:
        sys.stderr = old
    stream = io.StringIO()
    bar = Progress(100, "x", delay=0.0, stream=stream)
    bar._start -= 10.0                  # 10 s elapsed, 1% done: no ETA yet
    bar.update(1)
    assert "eta    ..." in stream.getvalue()
    bar._last = 0.0
    bar.update(19)                      # 20% done after 10 s: ETA 40 s
    assert stream.getvalue().rstrip().endswith("eta    40s")
    progress_module.ENABLED = False
    try:
        assert not Progress(10, "x", stream=io.StringIO()).enabled
    finally:
        progress_module.ENABLED = True


def test_bootstrap_p_values_carry_their_resolution():
    for b in (200, 1000, 5000):
        floor = 2 / (b + 1)
        digits = math.ceil(math.log10(b))
        text = format_p(floor, n_resamples=b)
        assert text.startswith("<=") and float(text[2:]) >= floor and float(text[2:]) - floor < 10 ** -digits
        assert format_p(0.04321, n_resamples=b) == f"{0.04321:.{digits}f}"
    assert format_p(2 / 1001, n_resamples=1000) == "<=0.002"
    assert format_p(3e-5) == "<1e-4"


def test_report_tied_heading_only_when_tied(monkeypatch):
    from iqa_eval.render import report

    monkeypatch.setattr(report, "_comparison_block", lambda c, k, interactive, shown=(), words=None: "")

    class C:
        models = ("best", "second")

    assert "Models tied with the best" in report._comparison_section([C()], tied={"best", "second"})
    text = report._comparison_section([C()], tied={"best"})
    assert "tied with the best" not in text and "runner-up" in text


def test_gmc_score_tables_are_ranked(small, tmp_path):
    r = _cli("surface", small, "--grid", "5x5", "--method", "plcc,srocc", "--scores-out", tmp_path / "g.csv")
    assert r.returncode == 0, r.stderr
    g = pd.read_csv(tmp_path / "g.csv")
    srcc = g[g["method"] == "SROCC"]["gmc"].to_numpy()
    assert list(srcc) == sorted(srcc, reverse=True)
    printed = [line.split()[0] for line in r.stdout.splitlines()[2:]]
    assert printed == list(g[g["method"] == "SROCC"]["model"])


def test_preset_matches_a_reference_weights_file(small, tmp_path):
    """PIPAL-style: ``--preset pipal`` gives the same GMC scores as the run fed with the
    weights the reference code produces (written in test_gmc_weights from gmc-reference.md)
    and the Beta-model std (phi 3) as files."""
    from test_gmc_weights import _reference_lds_weights

    from iqa_eval.gmc.weights import beta_std

    df = pd.read_csv(small)
    wfile, sfile = tmp_path / "weights.txt", tmp_path / "std.txt"
    wfile.write_text("\n".join(repr(float(w)) for w in _reference_lds_weights(list(df["mos"]), 5, 2.0, 100.0)))
    sfile.write_text("\n".join(repr(float(v)) for v in beta_std(df["mos"], phi=3.0)))
    common = ("--grid", "6x6", "--method", "srocc,plcc", "--no-progress")
    a = _cli("surface", small, "--preset", "pipal", *common, "--scores-out", tmp_path / "a.csv")
    assert a.returncode == 0, a.stderr
    assert "preset pipal: LDS regulator (ks 5, sigma 2, integer-truncated histogram)" in a.stderr
    assert "the std column 'std' is not used" in a.stderr
    b = _cli("surface", small, "--std-file", sfile, "--weights-file", wfile, *common, "--scores-out", tmp_path / "b.csv")
    assert b.returncode == 0, b.stderr
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))
    c = _cli("surface", small, "--preset", "pipal", "--lds-exact-counts", *common, "--scores-out", tmp_path / "c.csv")
    assert not pd.read_csv(tmp_path / "c.csv")["gmc"].equals(pd.read_csv(tmp_path / "a.csv")["gmc"])
    no_std = tmp_path / "no_std.csv"
    df.drop(columns=["std"]).to_csv(no_std, index=False)
    r = _cli("surface", no_std, "--preset", "livec", *common)
    assert r.returncode == 2 and "preset livec uses the dataset's per-image std" in r.stderr
    r = _cli("surface", small, "--preset", "spaq", "--sigma", "2", *common)
    assert "--sigma 2.0 given: used instead of the preset's 1.0" in r.stderr
