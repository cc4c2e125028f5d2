"""What the studio computes and exports: the command line's own steps, called with the options
of the page, and the command line that gives the same output.

Each function here is the body of a command (``score``, ``surface``, ``compare``) without its
printing: the same reader (:func:`iqa_eval.cli._common.load_dataset_from_options`), the same
library calls in the same order, and the same writers, so an exported file is byte for byte
the file the command writes.
"""
from __future__ import annotations

import json
import shlex
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

__all__ = ["load", "score", "score_export", "surfaces", "surface_export", "compare", "compare_export",
           "bench", "bench_export", "cli_line", "SCORE_EXPORTS", "SURFACE_EXPORTS", "BENCH_EXPORTS"]

#: Held while matplotlib draws or saves: its savefig settings (``rc_context``) are global state,
#: and two threads saving at once could restore each other's (an export must be the CLI's bytes).
MATPLOTLIB = threading.Lock()

#: score table formats offered for export -> file suffix (the CLI picks the format from it)
SCORE_EXPORTS = {"csv": ".csv", "latex": ".tex", "markdown": ".md"}
#: paper table formats offered for export -> file suffix (bench picks the format from it)
BENCH_EXPORTS = {"latex": ".tex", "markdown": ".md", "csv": ".csv", "html": ".html"}
#: surface exports -> (file suffix, contour maps)
SURFACE_EXPORTS = {"html": (".html", False), "csv": (".csv", False), "png": (".png", False),
                   "svg": (".svg", False), "pdf": (".pdf", False), "contour-png": (".png", True),
                   "contour-svg": (".svg", True)}


def load(files, *, join: str = "auto"):
    """Read and orient ``files`` exactly as every command does (notes included)."""
    from ..cli._common import load_dataset_from_options

    return load_dataset_from_options({"files": [str(f) for f in files], "join": join})


# -- score -------------------------------------------------------------------------------
def score(data, opts: dict):
    from ..studies.evaluation import evaluate

    return evaluate(data, mapping=opts["mapping"], ci=opts["ci"], n_resamples=int(opts["n_resamples"]),
                    alpha=float(opts["alpha"]), seed=int(opts["seed"]), nan_policy="omit", pairwise=True)


def score_export(result, fmt: str) -> bytes:
    """The bytes of ``iqa-eval score ... -o scores<suffix>`` (write_output adds the final newline)."""
    from ..render.formatting import format_evaluation

    text = format_evaluation(result, fmt)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def _score_args(opts):
    return ["--mapping", opts["mapping"], "--ci", opts["ci"], "--n-resamples", str(opts["n_resamples"]),
            "--alpha", repr(float(opts["alpha"])), "--seed", str(opts["seed"])]


# -- surface ------------------------------------------------------------------------------
def surfaces(data, opts: dict):
    """``iqa-eval surface``'s computation (its own :class:`~iqa_eval.cli._common.GMCRequest`):
    preset, std source, complete rows, surfaces."""
    from ..cli._common import GMCRequest, gmc_surfaces_from
    from ..options import GMC_METHODS

    notes = []
    if opts["std_source"] == "beta":
        data = replace(data, std=None)
        notes.append("std estimated from the Beta model (the std column is not used)")
    params = {"preset": opts.get("preset") or None, "std_scale": float(opts["std_scale"]),
              "regulator": opts["regulator"]}
    if opts["sampling"] == "samples":
        params["samples"] = int(opts["samples"])
    else:
        params["grid"] = opts["grid"]
    request = GMCRequest(params, given=())     # a preset sets its own values, as on the command line
    result = gmc_surfaces_from(request, data, {"nan_policy": "omit"}, seed=int(opts["seed"]),
                               methods=list(GMC_METHODS), backend="auto", progress=False, notes=notes)
    return replace(result, notes=tuple(notes) + tuple(result.notes)) if notes else result


def _grid(text):
    from ..cli._common import parse_grid

    return parse_grid(text)


def surface_export(result, kind: str, method: str) -> tuple:
    """``(file name, bytes)`` of ``iqa-eval surface ... -o gmc<suffix> [--contour]``: the same
    writer into a private folder; a figure per form is ``gmc_<method><suffix>``."""
    from .._runtime.atomic import OutputSet
    from ..render.plot import write_surfaces

    suffix, contour = SURFACE_EXPORTS[kind]
    with tempfile.TemporaryDirectory(prefix="iqa-eval-export-") as folder:
        target = Path(folder) / f"gmc{suffix}"
        with MATPLOTLIB, OutputSet() as outputs:
            written = write_surfaces(result.surface, target, outputs, contour=contour)
        chosen = [Path(p) for p in written]
        if len(chosen) > 1:
            chosen = [p for p in chosen if p.stem.endswith("_" + method.lower())]
        path = chosen[0]
        return path.name, path.read_bytes()


def _surface_args(opts):
    args = []
    if opts.get("preset"):
        args += ["--preset", opts["preset"]]
    else:
        args += ["--std-scale", repr(float(opts["std_scale"])), "--regulator", opts["regulator"]]
    if opts["sampling"] == "grid":
        args += ["--grid", str(opts["grid"])]
    else:
        args += ["--samples", str(int(opts["samples"]))]
    return args + ["--seed", str(opts["seed"])]


# -- compare ------------------------------------------------------------------------------
def compare(data, opts: dict):
    from ..gmc import GMCOptions
    from ..studies.compare import check_model_pair, compare_models

    a, b = opts["model_a"], opts["model_b"]
    check_model_pair(data, a, b)
    return compare_models(data.select([a, b]), a, b, method=opts["method"], grid=_grid(opts["grid"]),
                          alpha=float(opts["alpha"]), adjust=opts["adjust"], seed=int(opts["seed"]),
                          options=GMCOptions(), nan_policy="omit", progress=False)


def compare_export(result) -> bytes:
    """The bytes of ``iqa-eval compare ... -o compare.json``."""
    text = json.dumps(result.to_dict(), indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _compare_args(opts):
    return ["--models", f"{opts['model_a']},{opts['model_b']}", "--method", opts["method"], "--grid",
            str(opts["grid"]), "--alpha", repr(float(opts["alpha"])), "--adjust", opts["adjust"],
            "--seed", str(opts["seed"])]


# -- bench: the paper table of several datasets ---------------------------------------------
def bench(datasets, opts: dict):
    """``iqa-eval bench DATASET...``'s computation: each of ``datasets`` (a listed folder or
    table) read as bench reads its arguments, every model scored on each, ties, Friedman."""
    from ..studies.bench import benchmark, dataset_spec

    specs = [dataset_spec(path, **_BENCH_READ) for path in datasets]
    return benchmark(specs, mapping=opts["mapping"], ci=opts["ci"], n_resamples=int(opts["n_resamples"]),
                     alpha=float(opts["alpha"]), seed=int(opts["seed"]), nan_policy="omit")


# what bench's column options are when none is given (cli/bench.py passes them to dataset_spec)
_BENCH_READ = {"mos_col": None, "std_col": None, "nratings_col": None, "key_col": None, "pred_cols": None,
               "join": "auto", "delimiter": "auto", "n_ratings": None}


def bench_export(result, fmt: str, metrics) -> bytes:
    """The bytes of ``iqa-eval bench ... --metrics M -o table<suffix>`` (the page shows the HTML
    page, its own CSP, in a sandboxed frame)."""
    from ..render.bench_tables import format_benchmark

    text = format_benchmark(result, fmt, metrics=tuple(metrics), caption=True, fit="auto")
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def _bench_args(opts):
    return ["--metrics", ",".join(opts["metrics"]), *_score_args(opts)]


# -- the command line ---------------------------------------------------------------------
def cli_line(command: str, files, load_options: dict, opts: dict, output: str) -> str:
    """The ``iqa-eval`` command that computes the same numbers and writes the same file.

    Every value is shell-quoted (a file or model name cannot break out of its argument).
    """
    args = ["iqa-eval", command, *[str(f) for f in files]]
    if load_options.get("join", "auto") != "auto":
        args += ["--join", load_options["join"]]
    args += {"score": _score_args, "surface": _surface_args, "compare": _compare_args,
             "bench": _bench_args}[command](opts)
    if command == "surface" and output.endswith("#contour"):
        output, extra = output[:-len("#contour")], ["--contour"]
    else:
        extra = []
    line = " ".join(shlex.quote(a) for a in args + ["-o", output] + extra)
    if command == "surface" and opts.get("std_source") == "beta" and not opts.get("preset"):
        line += "    # std estimated: the command does so for FILES without a std column"
    return line
