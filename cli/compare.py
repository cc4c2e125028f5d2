"""``iqa-eval compare``: two models, paired global tests and where their GMC surfaces differ."""
from __future__ import annotations

import json
from pathlib import Path

import click

from ..options import CLI_ALIASES, COMPARE_OUTPUT_SUFFIXES
from ._common import (Command, GMCRequest, library_option, check_outputs, command, echo_notes, gmc_options,
                      input_options, load_dataset_from_options, parse_grid, safe_terminal_text, split_list,
                      write_output)


def _pick_models(data, names):
    from ..errors import InputError

    models = split_list(names)
    if not models:
        if len(data.models) == 2:
            return data.models
        raise InputError(f"the inputs hold {len(data.models)} models; choose two with --models A,B "
                         f"(available: {', '.join(data.models)})")
    if len(models) != 2:
        raise InputError(f"--models takes exactly two models A,B; got {len(models)}: "
                         f"{', '.join(models)}")
    from ..studies.compare import check_model_pair

    check_model_pair(data, *models)
    return models


def _check_number(option, value):
    """click's FloatRange lets NaN through (every comparison with NaN is false)."""
    import math

    if value is not None and math.isnan(value):
        raise click.BadParameter(f"{option} must be a number, got nan")
    return value


def _check_alpha(value):
    """--alpha in its own terms: intervals of coverage 1 - alpha need 1 - alpha < 1 in floating
    point (1e-300 was refused as "confidence_level ... got 1.0", a parameter no option names)."""
    value = _check_number("--alpha", value)
    if 1.0 - value == 1.0:
        raise click.BadParameter(f"--alpha {value!r} is too small: 1 - alpha rounds to 1 "
                                 f"(the smallest usable alpha is about 1.1e-16)")
    return value


_COMPARE = "studies.compare:compare_models"

@click.command(cls=Command)
@input_options
@gmc_options
@click.option("--models", "-m", "model_names", multiple=True, metavar="A,B",
              help="The two models to compare, A then B (differences are A - B). "
                   "Default: the only two models in FILES.")
@library_option("--method", library=_COMPARE, aliases=CLI_ALIASES["method"], case_sensitive=False,
                section="GMC", help="GMC form of the difference surface.")
@click.option("--grid", "grid", default="20x20", show_default=True, metavar="NxM",
              help="Regular grid of N MOS levels x M |dMOS| values; GMC exact at every node.")
@library_option("--alpha", library=_COMPARE, callback=lambda ctx, param, value: _check_alpha(value),
                help="Significance level; intervals have coverage 1 - alpha.")
@library_option("--ci", library=_COMPARE, aliases=CLI_ALIASES["ci"],
              help="Cell uncertainty: influence values (one engine pass) or a paired bootstrap "
                   "(percentile).")
@library_option("--adjust", library=_COMPARE,
              help="Multiple comparisons over cells: simultaneous max-|t| band, "
                   "Benjamini-Hochberg FDR, or none.")
@library_option("--n-resamples", "--n-boot", "n_resamples", library=_COMPARE,
                help="Bootstrap resamples (--ci percentile, and the global KRCC test).")
@library_option("--seed", library=_COMPARE, help="Seed of every random draw.")
@library_option("--paired-test", "test", library=_COMPARE, help="Paired test of the global SROCC/PLCC (cocor's tests).")
@library_option("--alternative", library=_COMPARE,
                help="Of the global paired tests: 'greater' = A's correlation is larger than B's.")
@library_option("--min-images", library=_COMPARE, section="GMC",
                callback=lambda ctx, param, value: _check_number("--min-images", value),
                help="Cells with fewer effective images carrying weight are shown, not tested.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to FILE: .json (JSON), .html (self-contained page), .png/.pdf/.svg (the "
                   "comparison figure: A, B and A - B with significant cells hatched), else --format text.")
@command
def compare(model_names, method, grid, alpha, ci, adjust, n_resamples, seed, min_images,
            backend, fmt, output, test, alternative, **inputs):
    """Compare two models on the same images: global paired tests and the GMC
    difference surface A - B with a confidence interval per cell.

    \b
    Examples:
      iqa-eval compare examples/simulated_study.csv --models high_end,fine_grain
      iqa-eval compare meta.csv a.csv b.csv --method krcc --format json -o cmp.json
      iqa-eval compare preds.csv -m dbcnn,hyperiqa -o compare.html
    """
    from ..studies.compare import compare_models
    from ..render.formatting import format_comparison

    check_outputs([output], inputs["files"])
    if output not in (None, "-") and Path(str(output)).suffix.lower() not in COMPARE_OUTPUT_SUFFIXES:
        from ..errors import InputError
        raise InputError(f"-o writes {', '.join(COMPARE_OUTPUT_SUFFIXES[:-1])} or a suffix-less text file",
                         file=str(output))
    if output:                         # a figure's missing [plot] extra is found before the computation
        from ..render.plot import require_figure_packages
        require_figure_packages(output)
    request = GMCRequest(inputs)
    data = load_dataset_from_options(inputs, models=lambda d: _pick_models(d, model_names))
    model_a, model_b = data.models
    data, options, weights = request.apply(data)
    result = compare_models(data, model_a, model_b, method=method.lower(), grid=parse_grid(grid),
                            alpha=alpha, ci=ci, adjust=adjust, n_resamples=n_resamples, seed=seed,
                            options=options, weights=weights, min_images=min_images, nan_policy=inputs["nan_policy"],
                            backend=backend, progress=True,  # the bar honours --no-progress
                            test=test, alternative=alternative)
    echo_notes(result.notes)
    suffix = str(output).lower().rsplit(".", 1)[-1] if output else ""
    if suffix == "html":
        from ..render.report import write_comparison_page
        write_comparison_page(output, result)
        click.echo(f"wrote {safe_terminal_text(str(output))}", err=True)
        return
    if suffix in ("png", "pdf", "svg"):
        from ..render.plot import comparison_figure, save_figure
        save_figure(comparison_figure(result), output)
        click.echo(f"wrote {safe_terminal_text(str(output))}", err=True)
        return
    if fmt == "json" or suffix == "json":
        text = json.dumps(result.to_dict(), indent=2, allow_nan=False)
    else:
        text = format_comparison(result)
    write_output(text, output)
