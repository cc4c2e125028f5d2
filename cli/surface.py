"""``iqa-eval surface``: GMC correlation surfaces and scores (a thin layer over iqa_eval.gmc)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from ..options import FIGURE_SUFFIXES, GMC_METHODS, GMC_PRESETS, SURFACE_OUTPUT_SUFFIXES
from ._common import (Command, check_outputs, command, echo_notes, echo_written, gmc_methods, gmc_options,
                      gmc_options_from, input_options, library_option, load_dataset_from_options, parse_grid,
                      per_image_values, safe_terminal_text)


_SURFACES = "gmc.api:correlation_surfaces"
_OPTIONS = "gmc.options:GMCOptions"


@click.command(cls=Command)
@input_options
@gmc_options
@click.option("--std-file", type=click.Path(dir_okay=False), default=None,
              help="Per-image MOS std, one value per line, in the row order of the file that sets the image "
                   "order (the first FILE with a MOS column; a note names it).")
@click.option("--weights-file", type=click.Path(dir_okay=False), default=None,
              help="Distribution-regulator weights, one per line in the same row order as --std-file "
                   "(overrides --regulator).")
@library_option("--weight-plus", library=_OPTIONS, param="plus", section="GMC",
                help="Regulator multiplier (cancels out of every GMC form).")
@library_option("--samples", library=_OPTIONS, default=None, show_default=False, section="GMC",
                help="Latin-hypercube sample points [default: 100].")
@click.option("--sample-file", type=click.Path(dir_okay=False), default=None,
              help="Sample points from a CSV/XLSX file with columns Q, Qd.")
@click.option("--grid", default=None, metavar="NxM",
              help="Evaluate GMC exactly on an N (Q) x M (Qd) regular grid; no regression.")
@library_option("--seed", library=_SURFACES, help="Seed of the Latin hypercube.")
@click.option("--method", "methods", multiple=True,
              help="GMC forms, comma-separated or repeated: srocc, plcc, krcc [default: all three].")
@library_option("--bw-method", library=_SURFACES, section="GMC",
                help="Bandwidth selection of the kernel-regression surface.")
@library_option("--grid-res", library=_SURFACES, section="GMC", help="Surface grid resolution (grid-res x grid-res).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the surfaces of every requested form: .html (one interactive page), "
                   ".png/.pdf/.svg (one file per form when several: x_srocc.png, x_plcc.png, ...), "
                   "or .csv (the grid).")
@click.option("--contour", is_flag=True, default=False,
              help="With -o x.png/pdf/svg: filled contour maps instead of 3D surfaces.")
@click.option("--preset", type=click.Choice(list(GMC_PRESETS)), default=None,
              help="A published configuration: livec, kadid10k (Gaussian regulator, the dataset's "
                   "std column), pipal (LDS ks 5 sigma 2, Beta std phi 3), spaq (LDS ks 5 sigma 1, "
                   "Beta std phi 3); plus 100. Options given explicitly override it (with a note).")
@click.option("--lds-exact-counts", is_flag=True, default=False,
              help="LDS: keep the smoothed histogram as floats (the reference, and published "
                   "PIPAL/SPAQ numbers, truncate every bin to an integer; that is the default).")
@click.option("--points-out", type=click.Path(dir_okay=False), default=None,
              help="Write point values (model, method, Q, Qd, value) to this CSV.")
@click.option("--scores-out", type=click.Path(dir_okay=False), default=None,
              help="Write scores (model, method, gmc) to this CSV.")
@command
def surface(std_file, weights_file, weight_plus, samples, sample_file, grid, seed, methods, backend,
            bw_method, grid_res, output, points_out, scores_out, contour, preset, lds_exact_counts,
            **inputs):
    """GMC correlation surfaces and scores of every model in FILES.

    \b
    Examples:
      iqa-eval surface preds.csv --std-col std -o surfaces.html
      iqa-eval surface meta.csv a.csv b.csv --grid 20x20 --scores-out gmc.csv
    """
    from .._runtime.atomic import OutputSet
    from .._runtime.escape import neutralise_frame
    from ..errors import InputError
    from ..gmc import apply_preset, correlation_surfaces, read_std_file, read_weights_file
    from ..render.formatting import format_gmc_scores
    from ..render.plot import surface_targets, write_surfaces

    chosen = [name for name, v in (("--samples", samples), ("--sample-file", sample_file),
                                   ("--grid", grid)) if v is not None]
    if len(chosen) > 1:
        raise InputError(f"choose one source of sample points, not {' and '.join(chosen)}")
    if std_file and inputs.get("std_col"):
        raise InputError("give the std either as a column (--std-col) or a file (--std-file), not both")

    grid = parse_grid(grid)
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
    options = gmc_options_from(inputs, plus=weight_plus, lds_exact_counts=lds_exact_counts,
                               samples=sample_file if sample_file else (samples or 100))
    data = load_dataset_from_options(inputs)
    if preset:
        options, use_std, notes = apply_preset(preset, options, given=_given(_PRESET_PARAMS),
                                               has_std=data.std is not None or bool(std_file),
                                               std_column=data.sources.get("std", ("", "std"))[1])
        echo_notes(notes)
        if not use_std:
            data, std_file = replace(data, std=None), None   # the note says so: neither is used
    if std_file:
        std = per_image_values(read_std_file(std_file), data, std_file, "--std-file")
        data = replace(data, std=std, sources={**data.sources, "std": (str(std_file), None)})
    weights = None
    if weights_file:
        weights = dict(zip(data.rows.tolist(),
                           per_image_values(read_weights_file(weights_file), data, weights_file, "--weights-file")))
    data = data.complete(nan_policy=inputs["nan_policy"], need_std=data.std is not None)
    if weights is not None:            # the weights of the rows that were kept
        weights = [weights[r] for r in data.rows.tolist()]

    result = correlation_surfaces(
        data, std=None, seed=seed, grid=grid, methods=gmc_methods(methods) or GMC_METHODS,
        weights=weights, options=options, backend=backend, grid_res=grid_res, bw_method=bw_method,
        progress=True)   # the bar itself honours --no-progress and non-terminal stderr
    echo_notes(result.notes)     # a note already printed as a warning is not repeated

    with OutputSet() as outputs:   # every output appears together, or none does
        if points_out:
            neutralise_frame(result.points).to_csv(outputs.stage(points_out), index=False,
                                                   float_format="%.17g")
        if scores_out:
            neutralise_frame(result.ranked_scores()).to_csv(outputs.stage(scores_out), index=False)
        written = write_surfaces(result.surface, output, outputs, contour=contour) if output else []
    echo_written([points_out, scores_out, *written])
    click.echo(safe_terminal_text(format_gmc_scores(result)))


def _either(suffixes, stem=""):
    """``.csv, .html or .svg`` (``stem='x'``: ``x.csv, x.html or x.svg``)."""
    names = [stem + s for s in suffixes]
    return ", ".join(names[:-1]) + " or " + names[-1]


#: GMCOptions field -> the click parameter that sets it here.
_PRESET_PARAMS = {"regulator": "regulator", "std_scale": "std_scale", "plus": "weight_plus", "ks": "ks",
                  "sigma": "sigma", "std_phi": "std_phi"}


def _given(params):
    """The fields among ``params`` whose option was given on the command line."""
    ctx = click.get_current_context()
    return {field for field, param in params.items()
            if ctx.get_parameter_source(param) == click.core.ParameterSource.COMMANDLINE}


