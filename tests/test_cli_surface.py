"""`iqa-eval surface` end to end: published LIVEC values, grid mode, notes and one-line errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import run_cli
from iqa_eval.gmc import correlation_surfaces, gmc_score

from test_gmc_reference import GOLDEN_DEFECTS


def run(*args):
    return run_cli("surface", *args)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A small study with a std column, ties in MOS and a lower-is-better model."""
    rng = np.random.default_rng(7)
    n = 90
    mos = np.round(rng.uniform(1, 5, n), 1)
    df = pd.DataFrame({"image": [f"i{k}.png" for k in range(n)], "mos": mos,
                       "std": rng.uniform(0.3, 0.9, n),
                       "good": mos + rng.normal(0, 0.4, n),
                       "noisy": mos + rng.normal(0, 1.2, n)})
    path = tmp_path_factory.mktemp("small") / "study.csv"
    df.to_csv(path, index=False)
    return path, df


@pytest.mark.slow
def test_livec_published_settings(shared_dir, tmp_path):
    base = shared_dir / "LIVEC"
    meta = pd.read_csv(base / "meta.csv")
    std_file = tmp_path / "std.txt"
    std_file.write_text("\n".join(repr(float(v)) for v in meta["std"]) + "\n")
    points, scores = tmp_path / "points.csv", tmp_path / "scores.csv"
    # pyiqa files: no image names, and LIVEC's MOS has ties, so the row order is asked for
    code, out, err = run(base / "clipiqa.csv", base / "niqe.csv", "--join", "order", "--std-file", std_file,
                         "--sample-file", base / "samples.csv", "--weights-file", base / "weights.txt",
                         "--method", "SROCC,plcc", "--method", "Krcc", "--no-progress",
                         "--points-out", points, "--scores-out", scores)
    assert code == 0, err
    assert f"note: --std-file {std_file}: one value per row of {base / 'clipiqa.csv'}" in err
    pts = pd.read_csv(points)
    assert list(pts.columns) == ["model", "method", "Q", "Qd", "value", "n_eff", "supported"]
    assert pts.supported.all() and pts.n_eff.min() > 10_000     # no published LIVEC point is masked
    golden = pd.read_csv(base / "golden_points.csv").replace({"method": {"SRCC": "SROCC"}})
    golden = golden[golden.model.isin(["clipiqa", "niqe"])].reset_index(drop=True)
    assert (pts[["model", "method"]].to_numpy() == golden[["model", "method"]].to_numpy()).all()
    idx = golden.groupby(["model", "method"], sort=False).cumcount()
    defect = np.array([(m, k, i) in GOLDEN_DEFECTS for m, k, i in zip(golden.model, golden.method, idx)])
    np.testing.assert_allclose(pts.value[~defect], golden.value[~defect], rtol=0, atol=1e-9)
    sc = pd.read_csv(scores)
    assert list(sc.columns) == ["model", "method", "gmc"] and len(sc) == 6
    heights = pd.read_csv(base / "golden_heights.csv").replace({"method": {"SRCC": "SROCC"}}).merge(sc, on=["model", "method"])
    np.testing.assert_allclose(heights.gmc, heights.avg_height, atol=2e-4 + 1e-12)
    # the score table on stdout
    assert "SROCC" in out and "KRCC" in out
    line = next(l for l in out.splitlines() if l.startswith("niqe"))
    assert line.split()[1] == f"{sc.gmc[(sc.model == 'niqe') & (sc.method == 'SROCC')].item():.4f}"


def test_grid_mode_exact(small, tmp_path):
    path, df = small
    surf, points = tmp_path / "grid.csv", tmp_path / "points.csv"
    code, out, err = run(path, "--grid", "6x5", "--method", "srocc", "--no-progress",
                         "-o", surf, "--points-out", points)
    assert code == 0, err
    grid = pd.read_csv(surf)
    pts = pd.read_csv(points)
    # grid mode: the surface IS the point values, no regression
    assert len(grid) == 2 * 30
    np.testing.assert_array_equal(grid.value.to_numpy(), pts.value.to_numpy())
    assert sorted(np.unique(grid.Q)) == pytest.approx(np.linspace(df.mos.min(), df.mos.max(), 6))
    assert sorted(np.unique(grid.Qd)) == pytest.approx(np.linspace(0, df.mos.max() - df.mos.min(), 5))
    api = correlation_surfaces({"good": df.good, "noisy": df.noisy}, df.mos, std=df["std"], grid=(6, 5),
                               methods=["srocc"])
    np.testing.assert_allclose(pts.value, api.points.value, rtol=1e-13)
    expected = gmc_score(grid)
    line = next(l for l in out.splitlines() if l.startswith("good"))
    assert float(line.split()[1]) == expected.gmc[expected.model == "good"].item()


def test_beta_std_note_and_zero_weight_warning(small, tmp_path):
    path, df = small
    nostd = tmp_path / "nostd.csv"
    df.drop(columns=["std"]).to_csv(nostd, index=False)
    code, out, err = run(nostd, "--samples", 20, "--method", "plcc", "--no-progress",
                         "--scores-out", tmp_path / "s.csv")
    assert code == 0, err
    assert "note: no per-image std given: std estimated from the Beta model (phi=8)" in err
    n_ends = int((df.mos == df.mos.min()).sum() + (df.mos == df.mos.max()).sum())
    assert f"warning: {n_ends} image(s) have std 0" in err
    assert err.count("have std 0") == 1          # shown once, not again as a note


def test_nan_rows_dropped_and_weights_aligned(small, tmp_path):
    path, df = small
    holes = df.copy()
    holes.loc[[3, 40], "noisy"] = np.nan
    hpath = tmp_path / "holes.csv"
    holes.to_csv(hpath, index=False)
    w = np.linspace(1, 2, len(df))
    wfile = tmp_path / "w.txt"
    wfile.write_text("\n".join(repr(float(v)) for v in w))
    points = tmp_path / "p.csv"
    code, out, err = run(hpath, "--weights-file", wfile, "--samples", 8, "--method", "krcc",
                         "--no-progress", "--points-out", points)
    assert code == 0, err
    assert "note: " in err and "noisy" in err
    keep = np.ones(len(df), bool)
    keep[[3, 40]] = False
    api = correlation_surfaces({"good": df.good[keep], "noisy": df.noisy[keep]}, df.mos[keep],
                               std=df["std"][keep], weights=w[keep], samples=8, methods=["krcc"])
    np.testing.assert_allclose(pd.read_csv(points).value, api.points.value, rtol=1e-12)


def test_html_figure(small, tmp_path):
    path, _ = small
    fig = tmp_path / "s.html"
    code, out, err = run(path, "--samples", 12, "--grid-res", 15, "--method", "srocc", "--no-progress",
                         "-o", fig)
    assert code == 0, err
    text = fig.read_text()
    assert "<html" in text[:200] and "plotly" in text and "Content-Security-Policy" in text[:300]


@pytest.mark.parametrize("args, message", [
    (["--grid", "5x5", "--samples", "10"], "choose one source of sample points"),
    (["--method", "spearman"], "--method must be one of srocc, plcc, krcc"),
    (["--grid", "5by5"], "NxM"),
    (["--samples", "10", "--std-file", "STD"], "std-bad.txt"),
    (["--sample-file", "SAMPLES"], "column 'Qd', row 2"),
])
def test_errors_are_one_line(small, tmp_path, args, message):
    path, _ = small
    bad_std = tmp_path / "std-bad.txt"
    bad_std.write_text("1\n2\n")
    samples = tmp_path / "pts.csv"
    samples.write_text("Q,Qd\n2,1\n3,oops\n")
    args = [str(bad_std) if a == "STD" else str(samples) if a == "SAMPLES" else a for a in args]
    code, out, err = run(path, "--no-progress", *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
