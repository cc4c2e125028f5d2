"""surface, compare and report take every GMC option from one generated set (issue 16 item 4):
the same options give the same per-model GMC values in every command, and the option lists
cannot drift apart (compare evaluates its own exact --grid, so it alone lacks the sampling and
regression options, declared once in cli._common.GMC_SAMPLING_PARAMS)."""
from __future__ import annotations

import json

import click
import numpy as np
import pandas as pd
import pytest

from helpers import run_cli as run
from iqa_eval.cli._common import GMC_SAMPLING_PARAMS
from iqa_eval.cli.main import cli
from iqa_eval.data.simulation import simulate_study


def _options(name):
    """{click parameter name: option strings} of a command's options, with their --help section."""
    command = cli.get_command(click.Context(cli), name)
    ctx = click.Context(command, info_name=name)
    params = command._prepare(ctx)
    return {p.name: (tuple(p.opts), p.section) for p in params if isinstance(p, click.Option)}


def test_every_gmc_option_of_surface_exists_on_compare_and_report():
    surface = _options("surface")
    gmc = {name: opts for name, (opts, section) in surface.items() if section == "GMC"}
    # the list, so that a GMC option leaving the GMC section is noticed too
    for name in ("preset", "std_file", "weights_file", "weight_plus", "lds_exact_counts", "std_scale",
                 "std_phi", "regulator", "ks", "sigma", "ranks", "min_pairs", "backend", "scheduler",
                 "samples", "sample_file", "grid", "bw_method", "grid_res"):
        assert name in gmc, name
    assert set(GMC_SAMPLING_PARAMS) <= set(gmc)
    for command, exempt in (("report", ()), ("compare", GMC_SAMPLING_PARAMS)):
        theirs = {opt for opts, _ in _options(command).values() for opt in opts}
        missing = [opts[0] for name, opts in gmc.items() if name not in exempt and not set(opts) <= theirs]
        assert not missing, f"{command} lacks {missing}"
    # compare's --grid is its own exact grid; it takes no sample points and no regression
    compare = _options("compare")
    assert not {"samples", "sample_file", "bw_method", "grid_res"} & set(compare)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gmcopts")
    df = simulate_study(300, seed=3)[["mos", "std", "high_end", "fine_grain"]]
    path = folder / "study.csv"
    df.to_csv(path, index=False)
    nostd = folder / "nostd.csv"
    df.drop(columns="std").to_csv(nostd, index=False)
    std_file = folder / "std.txt"
    std_file.write_text("\n".join(repr(float(v) * 1.7) for v in df["std"]) + "\n")   # not the column
    return path, nostd, std_file


def _surface_points(tmp_path, *args):
    out = tmp_path / "points.csv"
    code, _, err = run("surface", *args, "--grid", "5x4", "--method", "srocc", "--points-out", out)
    assert code == 0, err
    return pd.read_csv(out), err


def _compare_cells(*args):
    code, out, err = run("compare", *args, "--grid", "5x4", "--models", "high_end,fine_grain",
                         "--n-resamples", "20", "--format", "json")
    assert code == 0, err
    return json.loads(out)["surface"]["cells"], err


@pytest.mark.parametrize("case", ["preset spaq", "std file", "regulator options"])
def test_compare_per_model_surfaces_equal_surfaces(case, study, tmp_path):
    path, nostd, std_file = study
    args = {"preset spaq": (path, "--preset", "spaq"),
            "std file": (nostd, "--std-file", std_file),
            "regulator options": (path, "--regulator", "lds", "--ks", "3", "--sigma", "1.5", "--std-scale",
                                  "1.3", "--lds-exact-counts", "--ranks", "average")}[case]
    points, err_s = _surface_points(tmp_path, *args)
    cells, err_c = _compare_cells(*args)
    for model, col in (("high_end", "A"), ("fine_grain", "B")):
        ref = points[points.model == model].reset_index(drop=True)
        got = pd.DataFrame(cells)
        np.testing.assert_allclose(got[["Q", "Qd"]].to_numpy(), ref[["Q", "Qd"]].to_numpy(), rtol=1e-15)
        np.testing.assert_allclose(got[col].to_numpy(dtype=float), ref["value"].to_numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(got["n_eff"].to_numpy(dtype=float), ref["n_eff"].to_numpy(), rtol=1e-12)
        assert got["supported"].tolist() == ref["supported"].tolist()
    if case == "preset spaq":
        # the preset's std (Beta phi 3), not compare's former default (phi 8): said in both
        for err in (err_s, err_c):
            assert "note: preset spaq: LDS regulator (ks 5, sigma 1" in err and "phi 3" in err
            assert "the std column 'std' is not used" in err
    if case == "std file":
        for err in (err_s, err_c):
            assert f"note: --std-file {std_file}: one value per row of" in err


def test_preset_changes_compare_against_the_default(study):
    """Without the option compare used phi 8: the preset's numbers differ (the issue's SPAQ case)."""
    path, _, _ = study
    with_preset, _ = _compare_cells(path, "--preset", "spaq")
    default, _ = _compare_cells(path)
    a = np.array([c["A"] for c in with_preset], dtype=float)
    b = np.array([c["A"] for c in default], dtype=float)
    assert np.nanmax(np.abs(a - b)) > 1e-3


@pytest.mark.slow
def test_report_takes_the_same_options_and_computes_the_same_surfaces(study, tmp_path):
    path, nostd, std_file = study
    out = tmp_path / "r.html"
    code, _, err = run("report", nostd, "--std-file", std_file, "--preset", "kadid10k", "--grid", "5x4",
                       "--min-pairs", "60", "--max-compare", "1", "--compare-grid", "4x4", "-o", out)
    assert code == 0, err
    assert "note: preset kadid10k: Gaussian regulator" in err
    assert f"note: --std-file {std_file}" in err
    assert out.stat().st_size > 0
    # the library call behind it: build_report's surfaces are correlation_surfaces' with the options
    from iqa_eval import Dataset
    from iqa_eval.gmc import GMCOptions, correlation_surfaces
    from iqa_eval.render.report import build_report

    df = pd.read_csv(nostd)
    std = np.loadtxt(std_file)
    data = Dataset(mos=df.mos.to_numpy(), std=std,
                   predictions={m: df[m].to_numpy() for m in ("high_end", "fine_grain")})
    options = GMCOptions(regulator="lds", ks=3, sigma=1.0, min_pairs=60)
    weights = np.linspace(1.0, 2.0, len(df))
    rep = build_report(data, grid=(5, 4), options=options, weights=weights, max_compare=1,
                       compare_grid=(4, 4), methods=["srocc"])
    ref = correlation_surfaces(data, grid=(5, 4), options=options, weights=weights, methods=["srocc"])
    np.testing.assert_allclose(rep.gmc_result.points.value, ref.points.value, rtol=0, atol=1e-12)
    assert rep.gmc_result.points.supported.tolist() == ref.points.supported.tolist()
    assert rep.gmc_result.config["min_pairs"] == 60.0
    for comp in rep.comparisons:
        assert comp.min_pairs == 60.0
