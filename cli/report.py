"""``iqa-eval report``: one self-contained HTML page of a whole evaluation."""
from __future__ import annotations

import click

from ..options import CLI_ALIASES, HTML_SUFFIXES
from ._common import (Command, GMCRequest, library_option, check_outputs, command, echo_notes, echo_written,
                      gmc_methods, gmc_options, gmc_sampling_options, input_options,
                      load_dataset_from_options, parse_grid)


_REPORT = "render.report:build_report"


@click.command(cls=Command)
@input_options
@gmc_options
@gmc_sampling_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="report.html",
              show_default=True, help="The HTML file to write.")
@click.option("--title", default=None, help="Page title (default: 'IQA evaluation of FILES').")
@library_option("--mapping", library=_REPORT,
                help="Monotonic mapping fitted from predictions to MOS before PLCC/RMSE.")
@library_option("--alpha", library=_REPORT, help="1 - confidence level; level of every test.")
@library_option("--seed", library=_REPORT, help="Seed of every random draw.")
@click.option("--method", "methods", multiple=True, default=("srocc,plcc,krcc",), show_default=True,
              help="GMC forms to draw, comma-separated (srocc, plcc, krcc).")
@library_option("--compare-method", library=_REPORT, aliases=CLI_ALIASES["method"], case_sensitive=False,
                section="GMC", help="GMC form of the comparisons.")
@click.option("--compare-grid", default="20x20", show_default=True, metavar="NxM",
              help="Grid of the comparisons' difference surfaces.")
@library_option("--max-compare", library=_REPORT, section="GMC",
                help="Most comparisons of the best model with models tied with it (0: none).")
@command
def report(output, title, mapping, alpha, seed, methods, compare_method, compare_grid,
           max_compare, backend, **inputs):
    """Write one self-contained HTML report: scores with CIs and ties, scatter plots, the
    GMC surfaces of every model, and the best model compared with those tied with it.

    The page embeds everything it shows (no network needed to open it).

    \b
    Examples:
      iqa-eval report examples/simulated_study.csv -o report.html
      iqa-eval report meta.csv model_a.csv model_b.csv --method srocc -o report.html
    """
    from pathlib import Path

    from ..render.report import build_report

    request = GMCRequest(inputs)
    grid = parse_grid(compare_grid, option="--compare-grid")
    nan_policy = inputs["nan_policy"]
    check_outputs([output], inputs["files"])
    if Path(str(output)).suffix.lower() not in HTML_SUFFIXES:
        from ..errors import InputError
        raise InputError("the report is an HTML page: -o must end in .html", file=str(output))
    from ..render.plot import require_figure_packages
    require_figure_packages(interactive=True, static=True)   # before computing: the page draws both kinds
    data, options, weights = request.apply(load_dataset_from_options(inputs))
    result = build_report(data, mapping=mapping, alpha=alpha, seed=seed, methods=gmc_methods(methods),
                          grid_res=request.grid_res, compare_method=compare_method, compare_grid=grid,
                          max_compare=max_compare, options=options, backend=backend, weights=weights,
                          grid=request.grid, bw_method=request.bw_method,
                          nan_policy=inputs["nan_policy"], progress=True)
    title = title or "IQA evaluation of " + ", ".join(Path(f).name for f in inputs["files"])
    from ._common import cli_words
    result.write(output, title=title, words=cli_words)   # notes in this command line's words
    echo_notes(result.notes)
    echo_written([output])
