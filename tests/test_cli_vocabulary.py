"""One vocabulary on the command line: every renamed option value still works under its old spelling.

Each test runs a command twice, with the old and the new spelling, and requires the same output.
Choices are generated from iqa_eval.options, so the library's allowed values and the CLI's agree.
"""
from __future__ import annotations

import pytest
from helpers import run_cli as run
from helpers import write_simulated_study


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return write_simulated_study(tmp_path_factory.mktemp("vocabulary"), 150, seed=2)


def _same(old, new):
    code_old, out_old, err_old = run(*old)
    code_new, out_new, err_new = run(*new)
    assert code_old == 0, err_old
    assert code_new == 0, err_new
    assert out_old == out_new
    return out_new


def test_score_ci_fisher_is_analytic(study):
    _same(["score", study, "--ci", "fisher", "--format", "json"],
          ["score", study, "--ci", "analytic", "--format", "json"])


def test_score_n_boot_is_n_resamples(study):
    out = _same(["score", study, "--ci", "percentile", "--n-boot", "120", "--format", "json"],
                ["score", study, "--ci", "percentile", "--n-resamples", "120", "--format", "json"])
    assert '"n_resamples": 120' in out


def test_compare_ci_bootstrap_is_percentile(study):
    _same(["compare", study, "-m", "precise,noisy", "--grid", "3x3", "--ci", "bootstrap", "--n-resamples", "25"],
          ["compare", study, "-m", "precise,noisy", "--grid", "3x3", "--ci", "percentile", "--n-resamples", "25"])


def test_compare_n_boot_is_n_resamples(study):
    _same(["compare", study, "-m", "precise,noisy", "--grid", "3x3", "--ci", "percentile", "--n-boot", "25"],
          ["compare", study, "-m", "precise,noisy", "--grid", "3x3", "--ci", "percentile", "--n-resamples", "25"])


@pytest.mark.parametrize("old", ["srcc", "SRCC"])
def test_compare_method_srcc_is_srocc(study, old):
    out = _same(["compare", study, "-m", "precise,noisy", "--grid", "3x3", "--method", old, "--format", "json"],
                ["compare", study, "-m", "precise,noisy", "--grid", "3x3", "--method", "srocc", "--format", "json"])
    assert '"method": "srocc"' in out


def test_surface_method_srcc_is_srocc(study):
    out = _same(["surface", study, "--grid", "3x3", "--method", "srcc,plcc", "--no-progress"],
                ["surface", study, "--grid", "3x3", "--method", "srocc,plcc", "--no-progress"])
    assert "SROCC" in out and "SRCC" not in out


@pytest.mark.slow
def test_report_method_and_compare_method_srcc(study, tmp_path):
    common = ["--samples", "12", "--grid-res", "6", "--compare-grid", "3x3", "--max-compare", "1",
              "--pred-cols", "precise,noisy"]
    old, new = tmp_path / "old.html", tmp_path / "new.html"
    code, _, err = run("report", study, *common, "--method", "srcc", "--compare-method", "srcc", "-o", old)
    assert code == 0, err
    code, _, err = run("report", study, *common, "--method", "srocc", "--compare-method", "srocc", "-o", new)
    assert code == 0, err
    assert old.read_bytes() == new.read_bytes()


def test_unknown_values_name_the_current_vocabulary(study):
    code, _, err = run("score", study, "--ci", "jackknife")
    assert code == 2 and "analytic" in err and "fisher" not in err
