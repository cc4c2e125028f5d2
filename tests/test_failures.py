"""Every failure is the right sentence (issue 14, item 4): user input that used to give an
internal error, a misleading message, a traceback or a number for an undefined value gives one
``error:`` line naming the cause (exit 2), or NaN with a ``note:``."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from helpers import run_cli, write_simulated_study

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _popen(*args, pre=()):
    return subprocess.Popen([sys.executable, *pre, "-c", "from iqa_eval.cli.main import main; main()",
                             *map(str, args)], env={**os.environ, "PYTHONPATH": REPO}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _main(*args):
    """``iqa-eval ARGS`` in a child process (click's usage errors are formatted by main) ->
    (exit code, stderr)."""
    proc = subprocess.run([sys.executable, "-c", "from iqa_eval.cli.main import main; main()",
                           *map(str, args)], env={**os.environ, "PYTHONPATH": REPO}, text=True,
                          capture_output=True, timeout=120)
    return proc.returncode, proc.stderr


def _one_error(code, err):
    lines = [ln for ln in err.splitlines() if not ln.startswith(("note:", "warning:"))]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (code, err)
    return lines[0]


# --- Ctrl-C in the first milliseconds ---------------------------------------------------------------

def test_ctrl_c_while_click_is_imported_is_one_line(tmp_path):
    """A real SIGINT while click is being imported (the first ~60 ms of a run): the handler is
    installed before that import. Synchronised on -X importtime's line for a click module."""
    study = write_simulated_study(tmp_path, 30, seed=0)
    proc = _popen("score", study, pre=("-X", "importtime"))
    try:
        for line in proc.stderr:          # the event: a click module finished importing
            if line.rstrip().split("|")[-1].strip().startswith("click"):
                os.kill(proc.pid, signal.SIGSTOP)   # hold it there while the signal is sent
                os.kill(proc.pid, signal.SIGINT)
                os.kill(proc.pid, signal.SIGCONT)
                break
        else:
            pytest.fail("click was never imported")
        rest = proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = "\n".join(ln for ln in rest.splitlines() if not ln.startswith("import time:"))
    assert proc.returncode == 130, text
    assert text.strip() == "interrupted", text


# --- options and inputs in their own terms ------------------------------------------------------

@pytest.fixture
def study(tmp_path):
    return write_simulated_study(tmp_path, 60, seed=0)


def test_sigma_whose_square_underflows_is_an_error(study):
    line = _one_error(*run_cli("surface", study, "--grid", "4x4", "--regulator", "lds", "--sigma", "1e-320")[::2])
    assert line == ("error: sigma (LDS kernel width) is too small: its square underflows (at least "
                    "1.5e-154; any sigma below 0.1 already gives the one-bin window); got 1e-320")
    # the window is still a Gaussian just above the limit: exactly the one-bin window
    from iqa_eval.gmc.weights import lds_kernel_window
    np.testing.assert_array_equal(lds_kernel_window(5, 1.6e-154), [0, 0, 1, 0, 0])


@pytest.mark.parametrize("option, value, message", [
    ("--alpha", "1e-300", "--alpha 1e-300 is too small: 1 - alpha rounds to 1 (the smallest usable "
                          "alpha is about 1.1e-16)"),
    ("--alpha", "nan", "--alpha must be a number, got nan"),
    ("--min-images", "nan", "--min-images must be a number, got nan"),
])
def test_compare_options_in_their_own_terms(study, option, value, message):
    line = _one_error(*_main("compare", study, "-m", "precise,noisy", "--grid", "4x4", option, value))
    assert line == f"error: iqa-eval compare: Invalid value for '{option}': {message} (see 'iqa-eval compare --help')"


def test_smallest_usable_alpha_is_accepted(study):
    assert 1.0 - 1.2e-16 < 1.0   # the limit the message names
    code, out, err = run_cli("compare", study, "-m", "precise,noisy", "--grid", "4x4", "--alpha", "1.2e-16")
    assert code == 0, err


def test_symlink_loop_in_an_input_directory_names_the_link(tmp_path, study):
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "study.csv").write_bytes(study.read_bytes())
    (folder / "a").symlink_to("b")
    (folder / "b").symlink_to("a")
    code, out, err = run_cli("score", folder)
    line = _one_error(code, err)
    assert line.startswith(f"error: {folder}/") and line.endswith(
        ": a symbolic link that leads back to itself (a link loop); remove it or point it at a file"), line


def test_n_ratings_of_one_names_file_column_and_row(tmp_path):
    from iqa_eval.data.simulation import simulate_study

    df = simulate_study(40, seed=2)
    df["n_ratings"] = 20
    df.loc[[6, 9], "n_ratings"] = 1          # file rows 7 and 10 (rows count from 1 after the header)
    path = tmp_path / "ratings.csv"
    df.to_csv(path, index=False)
    line = _one_error(*run_cli("score", path, "--std-col", "std")[::2])
    assert line == (f"error: {path}, column 'n_ratings', row 7: n_ratings must be at least 2 for a t-based "
                    "MOS interval (outlier ratio, RMSE*); got 1 (2 rows)")


# --- predictions near the top of the float range ------------------------------------------------

def _run(*args):
    proc = subprocess.run([sys.executable, "-c", "from iqa_eval.cli.main import main; main()",
                           *map(str, args)], env={**os.environ, "PYTHONPATH": REPO}, text=True,
                          capture_output=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("factor", [1e307, -1.7e308])
def test_predictions_near_1e307_score_as_their_scaled_copy(tmp_path, factor):
    """Decision: a model reaching ~1e150 and beyond is fitted (mapping, Pearson, GMC sums) on
    its values divided by a power of two, exact, so every number equals that of the model at
    ordinary scale; the mapping says so in a note. Was: LinAlgError, LAPACK text on stdout."""
    from iqa_eval.data.simulation import simulate_study

    df = simulate_study(60, seed=0)
    huge = df[["image", "mos", "std"]].assign(model=df["precise"] * factor)
    plain = df[["image", "mos", "std"]].assign(model=df["precise"] * np.sign(factor))
    huge.to_csv(tmp_path / "huge.csv", index=False)
    plain.to_csv(tmp_path / "plain.csv", index=False)
    for command in (("score",), ("surface", "--std-col", "std", "--grid", "4x4")):
        code, out, err = _run(command[0], tmp_path / "huge.csv", *command[1:])
        want = _run(command[0], tmp_path / "plain.csv", *command[1:])
        assert code == 0 and out == want[1], (out, err)      # same table, digit for digit
        assert "DLASCL" not in out + err and "Warning" not in err, err
        if command[0] == "score":
            assert "note: model 'model': predictions reach" in err, err


def test_a_sparse_model_names_its_file_and_column(tmp_path):
    from iqa_eval.data.simulation import simulate_study

    df = simulate_study(60, seed=0)[["image", "mos", "std", "precise"]]
    df["sparse"] = np.where(np.arange(60) < 2, df["precise"], np.nan)   # 58 of 60 missing
    path = tmp_path / "sparse.csv"
    df.to_csv(path, index=False)
    want = (f"error: {path}, column 'sparse': only 2 complete row(s) left after dropping missing values; "
            "need at least 3 (this column lacks 58 of 60 values; leave it out with --pred-cols or fill it)")
    for command in (("score",), ("surface", "--std-col", "std", "--grid", "4x4")):
        assert _one_error(*run_cli(*command[:1], path, *command[1:])[::2]) == want


# --- undefined GMC values are NaN, fitted surfaces stay in their points' range ------------------

@pytest.fixture
def one_model(tmp_path):
    from iqa_eval.data.simulation import simulate_study

    df = simulate_study(60, seed=0)[["image", "mos", "std", "precise"]]
    df.to_csv(tmp_path / "one.csv", index=False)
    df.assign(std=0.0).to_csv(tmp_path / "std0.csv", index=False)
    (tmp_path / "point.csv").write_text("Q,Qd\n3.0,0.5\n")
    (tmp_path / "zeros.txt").write_text("0\n" * 60)
    return tmp_path


@pytest.mark.parametrize("case, args, why", [
    ("all std 0", ("std0.csv", "--grid", "4x4"), "every grid value has all weights 0"),
    ("all-zero weights", ("one.csv", "--grid", "4x4", "--weights-file", "zeros.txt"),
     "every grid value has all weights 0"),
    ("one-point sample file", ("one.csv", "--sample-file", "point.csv"),
     "1 defined point value(s); a surface needs 3"),
])
def test_undefined_surfaces_are_nan_with_a_note(one_model, monkeypatch, case, args, why):
    monkeypatch.chdir(one_model)
    code, out, err = run_cli("surface", *args, "--std-col", "std")
    assert code == 0, err
    row = [ln.split() for ln in out.splitlines() if ln.startswith("precise")]
    assert row == [["precise", "nan", "nan", "nan"]], out          # was 0.0000
    for method in ("SROCC", "PLCC", "KRCC"):
        assert f"note: precise {method}: undefined ({why}); its surface and score are NaN" in err, err


def test_gmc_score_of_an_undefined_surface_is_nan_and_of_a_partly_defined_one_counts_zeros():
    import pandas as pd
    from iqa_eval.gmc import gmc_score

    grid = pd.DataFrame({"model": "a", "method": "SROCC", "Q": [0, 0, 1, 1], "Qd": [0, 1, 0, 1]})
    assert np.isnan(gmc_score(grid.assign(value=np.nan)).gmc.iloc[0])
    # the reference's rule for a few undefined values: counted as 0 -> trapezoid of [0.5, 0, 0.7, 0.9]
    assert gmc_score(grid.assign(value=[0.5, np.nan, 0.7, 0.9])).gmc.iloc[0] == pytest.approx(
        (0.5 + 0.0 + 0.7 + 0.9) / 4)


@pytest.mark.slow
def test_aic_surface_leaving_its_points_range_is_a_note_without_raw_warnings(one_model):
    """bw_method='aic' on 10 sample points: statsmodels' AIC bandwidths let the local-linear
    fit extrapolate (the issue: 0.07 from points in 0.89-0.97). Decision: the surface is kept as
    KernelReg fits it (the reference's), and a note gives the points' range and the surface's;
    no RuntimeWarning or FutureWarning reaches the caller."""
    import warnings

    from iqa_eval.gmc import correlation_surfaces
    from iqa_eval.gmc.api import RANGE_SLACK
    from iqa_eval.data.simulation import simulate_study

    pytest.importorskip("statsmodels")
    df = simulate_study(60, seed=3)   # points in 0.88-0.96; the fit reaches 0.08
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = correlation_surfaces({"precise": df["precise"].to_numpy()}, df["mos"].to_numpy(),
                                   std=df["std"].to_numpy(), samples=10, methods=["srocc"],
                                   bw_method="aic", grid_res=30)
    assert not [w for w in caught if issubclass(w.category, (RuntimeWarning, FutureWarning))], \
        [str(w.message) for w in caught]
    pts = res.points["value"].to_numpy()
    z = res.surface["value"].to_numpy()
    lo, hi = pts.min(), pts.max()
    slack = RANGE_SLACK * (hi - lo)
    outside = int(((z < lo - slack) | (z > hi + slack)).sum())
    assert outside > 0          # this case does leave the range: the note is due
    assert [n for n in res.notes if "range of its points" in n] == [
        f"precise SROCC: the fitted surface leaves the range of its points [{lo:.4g}, {hi:.4g}] at "
        f"{outside} of 900 grid nodes (values {z.min():.4g} to {z.max():.4g}): the regression "
        "extrapolates there and the score includes it; more sample points or bw_method='cv_ls' avoid this"]


def test_cv_ls_surface_within_its_points_has_no_range_note():
    from iqa_eval.gmc import correlation_surfaces
    from iqa_eval.gmc.api import RANGE_SLACK
    from iqa_eval.data.simulation import simulate_study

    df = simulate_study(300, seed=1)
    res = correlation_surfaces({"precise": df["precise"].to_numpy()}, df["mos"].to_numpy(),
                               std=df["std"].to_numpy(), samples=60, methods=["srocc"], grid_res=30)
    pts, z = res.points["value"].to_numpy(), res.surface["value"].to_numpy()
    slack = RANGE_SLACK * (pts.max() - pts.min())
    assert pts.min() - slack <= z.min() and z.max() <= pts.max() + slack
    assert not [n for n in res.notes if "range of its points" in n]
