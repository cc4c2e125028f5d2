"""Issue 15 item 4, a thin CLI: what the commands used to decide themselves is library code,
called here directly, and the commands print the library's answer (byte for byte)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from helpers import run_cli
from iqa_eval.errors import InputError


# --- presets (iqa_eval.gmc.presets.apply_preset) ------------------------------------------

def test_apply_preset_sets_the_published_fields_and_keeps_the_given_ones():
    from iqa_eval.gmc import GMCOptions, apply_preset

    opts, use_std, notes = apply_preset("spaq", GMCOptions(sigma=2.0, std_scale=0.5), given={"sigma"})
    # spaq = LDS ks 5 sigma 1, Beta std phi 3, plus 100 (gmc-reference.md); sigma was given, std_scale not
    assert (opts.regulator, opts.ks, opts.sigma, opts.std_phi, opts.std_scale, opts.plus) == \
        ("lds", 5, 2.0, 3.0, 1.0, 100.0)
    assert use_std is False
    assert notes == ["preset spaq: LDS regulator (ks 5, sigma 1, integer-truncated histogram), Beta-model "
                     "std (phi 3), std scale 1, plus 100",
                     "sigma=2.0 given: used instead of the preset's 1.0"]
    # a given value equal to the preset's is no override: no note
    _, _, notes = apply_preset("spaq", GMCOptions(sigma=1.0), given={"sigma"})
    assert len(notes) == 1


def test_apply_preset_std_rules():
    from iqa_eval.gmc import GMCOptions, apply_preset

    with pytest.raises(InputError, match="preset livec uses the dataset's per-image std"):
        apply_preset("livec", GMCOptions(), has_std=False)
    opts, use_std, notes = apply_preset("kadid10k", GMCOptions(), has_std=True)
    assert use_std is True and opts.regulator == "gaussian" and len(notes) == 1
    _, use_std, notes = apply_preset("pipal", GMCOptions(), has_std=True, std_column="mos_std")
    assert use_std is False
    assert notes[-1].endswith("as the published run did; the std column 'mos_std' is not used")
    with pytest.raises(InputError, match="preset must be one of livec, kadid10k, pipal, spaq"):
        apply_preset("tid2013", GMCOptions())


# --- GMC scores: ranking and text ------------------------------------------------------------

def _result(scores):
    from iqa_eval.gmc import GMCResult

    empty = pd.DataFrame()
    return GMCResult(points=empty, surface=empty, scores=pd.DataFrame(scores, columns=["model", "method", "gmc"]),
                     bandwidths=empty, notes=(), config={})


SCORES = [("b", "plcc", 0.5), ("b", "srocc", 0.7), ("a", "plcc", 0.9), ("a", "srocc", 0.6),
          ("c", "plcc", 0.1), ("c", "srocc", 0.7)]


def test_ranked_scores_orders_by_the_srocc_form_then_name():
    ranked = _result(SCORES).ranked_scores()
    # by hand: srocc b 0.7, c 0.7, a 0.6 -> b, c (tie broken by name), a; forms in computed order
    assert list(map(tuple, ranked.itertuples(index=False))) == [
        ("b", "plcc", 0.5), ("b", "srocc", 0.7), ("c", "plcc", 0.1), ("c", "srocc", 0.7),
        ("a", "plcc", 0.9), ("a", "srocc", 0.6)]
    only_plcc = _result([s for s in SCORES if s[1] == "plcc"]).ranked_scores()
    assert list(only_plcc["model"]) == ["a", "b", "c"]


def test_format_gmc_scores_text():
    from iqa_eval.render.formatting import format_gmc_scores

    assert format_gmc_scores(_result(SCORES)) == "\n".join([
        "GMC score (average surface height)",
        "model    plcc   srocc",
        "b      0.5000  0.7000",
        "c      0.1000  0.7000",
        "a      0.9000  0.6000"])


# --- surface files (iqa_eval.render.plot.write_surfaces) -------------------------------------

def test_surface_targets_and_csv_surface(tmp_path):
    from iqa_eval._runtime.atomic import OutputSet
    from iqa_eval.render.plot import surface_targets, write_surfaces

    assert surface_targets(tmp_path / "x.png", ["SROCC"]) == [("SROCC", tmp_path / "x.png")]
    assert surface_targets(tmp_path / "x.png", ["SROCC", "PLCC"]) == [
        ("SROCC", tmp_path / "x_srocc.png"), ("PLCC", tmp_path / "x_plcc.png")]
    surface = pd.DataFrame({"model": ["=m", "=m"], "method": ["SROCC"] * 2, "Q": [1.0, 2.0],
                            "Qd": [0.5, 0.5], "value": [0.1, 1 / 3]})
    with OutputSet() as outputs:
        written = write_surfaces(surface, tmp_path / "s.csv", outputs)
    assert written == [tmp_path / "s.csv"]
    back = pd.read_csv(tmp_path / "s.csv")
    assert back["value"].tolist() == [0.1, 1 / 3]          # %.17g: exact round trip
    assert back["model"].tolist() == ["'=m", "'=m"]        # a formula-like name neutralised


# --- the command prints the library's answer -------------------------------------------------

@pytest.fixture(scope="module")
def study(tmp_path_factory):
    rng = np.random.default_rng(3)
    n = 40
    mos = np.round(rng.uniform(1, 5, n), 2)
    df = pd.DataFrame({"image": [f"i{k}" for k in range(n)], "mos": mos, "std": rng.uniform(0.3, 0.9, n),
                       "good": mos + rng.normal(0, 0.4, n), "noisy": mos + rng.normal(0, 1.2, n)})
    path = tmp_path_factory.mktemp("thin") / "study.csv"
    df.to_csv(path, index=False)
    return path, df


def test_surface_prints_the_library_scores(study, tmp_path):
    from iqa_eval.data.io import load_dataset
    from iqa_eval.gmc import GMCOptions, apply_preset, correlation_surfaces
    from iqa_eval.render.formatting import format_gmc_scores

    path, _ = study
    code, out, err = run_cli("surface", path, "--grid", "5x5", "--method", "srocc,plcc", "--no-progress",
                             "--preset", "pipal", "--scores-out", tmp_path / "s.csv")
    assert code == 0, err
    opts, use_std, _ = apply_preset("pipal", GMCOptions(), has_std=True)
    data = load_dataset([path]).oriented()
    assert not use_std                                   # pipal: the Beta-model std
    data = replace(data, std=None).complete()
    res = correlation_surfaces(data, grid=(5, 5),
                               methods=["srocc", "plcc"], options=opts)
    assert out == format_gmc_scores(res) + "\n"
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "s.csv"), res.ranked_scores())


def test_surface_preset_with_a_beta_std_leaves_a_std_file_unused(study, tmp_path):
    """pipal estimates the std (Beta model): a --std-file is noted as unused, and is unused."""
    path, df = study
    std = tmp_path / "std.txt"
    std.write_text("\n".join(repr(float(v) * 3) for v in df["std"]))
    common = ("--grid", "5x5", "--method", "srocc", "--no-progress", "--preset", "pipal")
    code, with_file, err = run_cli("surface", path, *common, "--std-file", std)
    assert code == 0 and "is not used" in err, err
    code, without, _ = run_cli("surface", path, *common)
    assert with_file == without


# --- a constant number of ratings (load_dataset(n_ratings=)) ---------------------------------

def _table(tmp_path, with_count=False):
    df = pd.DataFrame({"mos": [1.0, 2.5, 3.0, 4.5], "std": [0.5, 0.6, 0.7, 0.4], "m": [1.1, 2.0, 3.3, 4.0]})
    if with_count:
        df["votes"] = [10, 12, 9, 11]
    path = tmp_path / ("counted.csv" if with_count else "plain.csv")
    df.to_csv(path, index=False)
    return path


def test_load_dataset_n_ratings_constant(tmp_path):
    from iqa_eval.data.io import load_dataset

    data = load_dataset([_table(tmp_path)], n_ratings=7)
    assert data.n_ratings.tolist() == [7.0] * 4
    assert data.sources["n_ratings"] == (None, "n_ratings=7")
    assert load_dataset([_table(tmp_path)]).n_ratings is None
    with pytest.raises(InputError, match=r"^give the number of ratings either as a column \('votes' was found; "
                                         r"nratings_col\) or as n_ratings=N, not both$"):
        load_dataset([_table(tmp_path, with_count=True)], n_ratings=7)
    for bad in (1, 2.5, 0, True):
        with pytest.raises(InputError, match=r"^n_ratings must be an integer >= 2; got "):
            load_dataset([_table(tmp_path)], n_ratings=bad)


def test_cli_n_ratings_is_the_library_parameter(tmp_path):
    from iqa_eval.cli._common import library_rule
    from iqa_eval.options import N_RATINGS

    assert library_rule("data.io:load_dataset", "n_ratings") == (N_RATINGS, None)
    code, _, err = run_cli("score", _table(tmp_path, with_count=True), "--n-ratings", "7")
    assert code == 2 and err == ("error: give the number of ratings either as a column ('votes' was found; "
                                 "--nratings-col) or as --n-ratings N, not both\n")
    code, _, err = run_cli("score", _table(tmp_path), "--n-ratings", "1")
    assert code == 2 and "--n-ratings" in err and "1 is not in the range x>=2" in err


# --- bench honours --n-ratings and --join ----------------------------------------------------

def _bench_dir(root, name, seed):
    """A dataset directory: meta.csv (MOS with ties, std, no image names) and one file per model."""
    rng = np.random.default_rng(seed)
    n = 30
    mos = np.round(rng.uniform(1, 5, n), 0)          # ties: the row order cannot be proven by MOS
    folder = root / name
    folder.mkdir()
    pd.DataFrame({"mos": mos, "std": rng.uniform(0.4, 0.9, n)}).to_csv(folder / "meta.csv", index=False)
    for model, noise in (("good", 0.4), ("poor", 1.5)):
        pd.DataFrame({"score": mos + rng.normal(0, noise, n)}).to_csv(folder / f"{model}.csv", index=False)
    return folder


def test_bench_passes_n_ratings_and_join_to_every_dataset(tmp_path):
    from iqa_eval.render.bench_tables import format_benchmark
    from iqa_eval.studies.bench import benchmark, dataset_spec

    a, b = _bench_dir(tmp_path, "A", 1), _bench_dir(tmp_path, "B", 2)
    code, _, err = run_cli("bench", a, b, "--krasula")
    assert code == 2 and "join" in err             # unproven row order: refused, not guessed
    code, out, err = run_cli("bench", a, b, "--krasula", "--join", "order", "--n-ratings", "15")
    assert code == 0, err
    specs = [dataset_spec(d, join="order", n_ratings=15) for d in (a, b)]
    result = benchmark(specs, krasula=True, krasula_options={"seed": 0, "nan_policy": "omit"})
    assert set(result.krasula) == {"A", "B"}        # the count was used: Krasula could run
    assert out == format_benchmark(result, "table", metrics=["srocc", "plcc"]).rstrip("\n") + "\n"
    code, out_without, _ = run_cli("bench", a, b, "--krasula", "--join", "order")
    assert code == 0 and out_without != out        # without the count: no Krasula section


def test_manifest_n_ratings(tmp_path):
    from iqa_eval.studies.bench import read_manifest

    _bench_dir(tmp_path, "A", 1)
    manifest = tmp_path / "sets.toml"
    manifest.write_text('[[dataset]]\ndir = "A"\njoin = "order"\nn_ratings = 12\n')
    (spec,) = read_manifest(manifest)
    assert spec.n_ratings == 12 and spec.load().n_ratings.tolist() == [12.0] * 30
    manifest.write_text('[[dataset]]\ndir = "A"\nn_ratings = 1\n')
    with pytest.raises(InputError, match="'n_ratings' must be an integer >= 2"):
        read_manifest(manifest)
    # the command line fills what the manifest leaves open
    manifest.write_text('[[dataset]]\ndir = "A"\njoin = "order"\n')
    code, out, err = run_cli("bench", "--manifest", manifest, "--krasula", "--n-ratings", "12")
    assert code == 0 and "Krasula" in out, err


# --- Krasula in evaluate / format_evaluation --------------------------------------------------

def _rated(n=60, seed=5, counts=True):
    from iqa_eval.data.dataset import Dataset

    rng = np.random.default_rng(seed)
    mos = rng.uniform(1, 5, n)
    return Dataset(mos=mos, std=rng.uniform(0.3, 0.9, n),
                   n_ratings=rng.integers(8, 20, n).astype(float) if counts else None,
                   predictions={"a": mos + rng.normal(0, .5, n), "b": mos + rng.normal(0, 1, n)})


def test_evaluate_krasula_is_the_krasula_analysis():
    from iqa_eval.studies.evaluation import evaluate
    from iqa_eval.studies.krasula import krasula

    data = _rated()
    ev = evaluate(data, seed=3, krasula=True)
    ref = krasula(data, seed=3, nan_policy="omit")
    pd.testing.assert_frame_equal(ev.krasula.table, ref.table)
    pd.testing.assert_frame_equal(ev.krasula.pvalues_ds, ref.pvalues_ds)
    assert ev.notes == evaluate(data, seed=3).notes + tuple(f"Krasula: {n}" for n in ref.notes)
    assert evaluate(data).krasula is None
    skipped = evaluate(_rated(counts=False), krasula=True)
    assert skipped.krasula is None and skipped.notes[-1].startswith("Krasula analysis skipped: no number-of-ratings")


def test_format_evaluation_renders_the_krasula_section():
    import json

    from iqa_eval.render.formatting import format_evaluation
    from iqa_eval.render.krasula import format_krasula, krasula_json
    from iqa_eval.studies.evaluation import evaluate

    with_k, without = evaluate(_rated(), krasula=True), evaluate(_rated())
    for fmt in ("table", "markdown", "latex"):
        assert format_evaluation(with_k, fmt) == (format_evaluation(without, fmt).rstrip("\n") + "\n\n"
                                                  + format_krasula({"the data": with_k.krasula}, fmt))
    doc = json.loads(format_evaluation(with_k, "json"))
    assert doc["krasula"] == json.loads(json.dumps(krasula_json({"the data": with_k.krasula})))
    with pytest.raises(InputError, match="krasula=True has no CSV form"):
        format_evaluation(with_k, "csv")


def test_score_krasula_prints_format_evaluation(tmp_path):
    from iqa_eval.data.io import load_dataset
    from iqa_eval.render.formatting import format_evaluation
    from iqa_eval.studies.evaluation import evaluate

    data = _rated()
    path = tmp_path / "s.csv"
    pd.DataFrame({"mos": data.mos, "std": data.std, "n_ratings": data.n_ratings, **data.predictions}).to_csv(
        path, index=False)
    for fmt in ("table", "json", "markdown"):
        code, out, err = run_cli("score", path, "--krasula", "--format", fmt)
        assert code == 0, err
        ev = evaluate(load_dataset([path]).oriented(), krasula=True)
        assert out == format_evaluation(ev, fmt).rstrip("\n") + "\n"
    code, out, err = run_cli("score", path, "--krasula", "--format", "csv")
    assert code == 2 and out == "" and err.startswith("error: --krasula has no CSV form")


# --- output file endings: declared once (options.py) -----------------------------------------

def test_output_endings_are_declared_once_in_options():
    """No module of cli/ or render/ holds its own collection of file endings (a tuple, set or
    dict literal of two or more); they come from iqa_eval.options."""
    import ast
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1]
    ending = re.compile(r"^\.[a-z]{2,8}$")
    found = []
    for path in [*(root / "cli").glob("*.py"), *(root / "iqa_eval" / "render").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            items = (node.keys if isinstance(node, ast.Dict) else node.elts
                     if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [])
            strings = [k.value for k in items if isinstance(k, ast.Constant) and isinstance(k.value, str)
                       and ending.match(k.value)]
            if len(strings) >= 2:
                found.append(f"{path.name}:{node.lineno} {strings}")
    assert not found, found


def test_ending_messages_are_unchanged(study, tmp_path):
    from iqa_eval.options import COMPARE_OUTPUT_SUFFIXES, FIGURE_SUFFIXES, SURFACE_OUTPUT_SUFFIXES

    assert SURFACE_OUTPUT_SUFFIXES == (".csv", ".html", ".png", ".pdf", ".svg")
    assert COMPARE_OUTPUT_SUFFIXES == (".json", ".html", ".png", ".pdf", ".svg", ".txt", "")
    path, _ = study
    code, _, err = run_cli("surface", path, "-o", tmp_path / "x.bmp")
    assert code == 2 and err == f"error: {tmp_path / 'x.bmp'}: -o takes .csv, .html, .png, .pdf or .svg\n"
    code, _, err = run_cli("surface", path, "-o", tmp_path / "x.csv", "--contour")
    assert code == 2 and err == "error: --contour draws static contour maps: give -o x.png, x.pdf or x.svg\n"
    code, _, err = run_cli("bench", path, "--cd-diagram", tmp_path / "cd.html")
    assert code == 2 and err.endswith(f"the CD diagram is written as {', '.join(FIGURE_SUFFIXES)}\n")
    code, _, err = run_cli("report", path, "-o", tmp_path / "r.pdf")
    assert code == 2 and err.endswith("the report is an HTML page: -o must end in .html\n")
    code, _, err = run_cli("score", path, "-o", tmp_path / "s.xyz")
    assert code == 2 and "cannot write a .xyz file here" in err
