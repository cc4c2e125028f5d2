"""``iqa-eval surface``: GMC correlation surfaces and scores (a thin layer over iqa_eval.gmc)."""
from __future__ import annotations

from pathlib import Path

import click

from ..options import FIGURE_SUFFIXES, GMC_METHODS, SURFACE_OUTPUT_SUFFIXES
from ._common import (Command, GMCRequest, check_outputs, command, echo_notes, echo_written, gmc_methods,
                      gmc_options, gmc_sampling_options, gmc_surfaces_from, input_options, library_option,
                      load_dataset_from_options, safe_terminal_text)


_SURFACES = "gmc.api:correlation_surfaces"


@click.command(cls=Command)
@input_options
@gmc_options
@gmc_sampling_options
@library_option("--seed", library=_SURFACES, help="Seed of the Latin hypercube.")
@click.option("--method", "methods", multiple=True,
              help="GMC forms, comma-separated or repeated: srocc, plcc, krcc [default: all three].")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the surfaces of every requested form: .html (one interactive page), "
                   ".png/.pdf/.svg (one file per form when several: x_srocc.png, x_plcc.png, ...), "
                   "or .csv (the grid).")
@click.option("--contour", is_flag=True, default=False,
              help="With -o x.png/pdf/svg: filled contour maps instead of 3D surfaces.")
@click.option("--points-out", type=click.Path(dir_okay=False), default=None,
              help="Write point values (model, method, Q, Qd, value) to this CSV.")
@click.option("--scores-out", type=click.Path(dir_okay=False), default=None,
              help="Write scores (model, method, gmc) to this CSV.")
@command
def surface(seed, methods, backend, output, points_out, scores_out, contour, **inputs):
    """GMC correlation surfaces and scores of every model in FILES.

    \b
    Examples:
      iqa-eval surface preds.csv --std-col std -o surfaces.html
      iqa-eval surface meta.csv a.csv b.csv --grid 20x20 --scores-out gmc.csv
    """
    from .._runtime.atomic import OutputSet
    from .._runtime.escape import csv_text, neutralise_frame
    from ..errors import InputError
    from ..render.formatting import format_gmc_scores
    from ..render.plot import surface_targets, write_surfaces

    request = GMCRequest(inputs)
    if output and Path(output).suffix.lower() not in SURFACE_OUTPUT_SUFFIXES:
        raise InputError(f"-o takes {_either(SURFACE_OUTPUT_SUFFIXES)}", file=str(output))
    if contour and not (output and Path(output).suffix.lower() in FIGURE_SUFFIXES):
        raise InputError(f"--contour draws static contour maps: give -o {_either(FIGURE_SUFFIXES, 'x')}")
    outs = [points_out, scores_out]
    if output:
        names = gmc_methods(methods) or GMC_METHODS
        one_file = Path(output).suffix.lower() not in FIGURE_SUFFIXES
        outs += [output] if one_file else [t for _, t in surface_targets(output, [m.upper() for m in names])]
    check_outputs(outs, inputs["files"])
    if output:                         # a missing [plot] extra is found before the computation
        from ..render.plot import require_figure_packages
        require_figure_packages(output)
    result = gmc_surfaces_from(request, load_dataset_from_options(inputs), inputs, seed=seed,
                               methods=gmc_methods(methods) or GMC_METHODS, backend=backend,
                               progress=True)   # the bar itself honours --no-progress and non-terminal stderr
    echo_notes(result.notes)     # a note already printed as a warning is not repeated

    with OutputSet() as outputs:   # every output appears together, or none does
        if points_out:
            outputs.stage(points_out).write_text(csv_text(result.points), encoding="utf-8")
        if scores_out:
            neutralise_frame(result.ranked_scores()).to_csv(outputs.stage(scores_out), index=False)
        written = write_surfaces(result.surface, output, outputs, contour=contour) if output else []
    echo_written([points_out, scores_out, *written])
    click.echo(safe_terminal_text(format_gmc_scores(result)))


def _either(suffixes, stem=""):
    """``.csv, .html or .svg`` (``stem='x'``: ``x.csv, x.html or x.svg``)."""
    names = [stem + s for s in suffixes]
    return ", ".join(names[:-1]) + " or " + names[-1]
