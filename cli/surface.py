"""``iqa-eval surface``: GMC correlation surfaces and scores (a thin layer over iqa_eval.gmc)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from ..options import BANDWIDTH_METHODS, GMC_METHODS
from ._common import (Choice, command, echo_notes, gmc_methods, gmc_options, gmc_options_from, input_options,
                      load_dataset_from_options, parse_grid)


def _per_image(values, data, file):
    """Values from a one-per-line file, checked to have one per row of the input table."""
    from ..errors import InputError

    if len(values) != len(data):
        raise InputError(f"has {len(values)} values but the input has {len(data)} rows "
                         "(one value per line, in the row order of the first FILE)", file=file)
    return values


def _score_text(result) -> str:
    table = result.score_table()
    width = max([len("model")] + [len(str(m)) for m in table.index])
    lines = ["GMC score (average surface height)",
             f"{'model':<{width}}  " + "  ".join(f"{c:>6}" for c in table.columns)]
    for model, row in table.iterrows():
        lines.append(f"{model:<{width}}  " + "  ".join(f"{v:>6.4f}" for v in row.to_numpy()))
    return "\n".join(lines)


@click.command()
@input_options
@gmc_options
@click.option("--std-file", type=click.Path(dir_okay=False), default=None,
              help="Per-image MOS std, one value per line, in the row order of the first FILE.")
@click.option("--weights-file", type=click.Path(dir_okay=False), default=None,
              help="Distribution-regulator weights, one per line (overrides --regulator).")
@click.option("--weight-plus", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, help="Regulator multiplier (cancels out of every GMC form).")
@click.option("--samples", type=click.IntRange(min=3), default=None,
              help="Latin-hypercube sample points [default: 100].")
@click.option("--sample-file", type=click.Path(dir_okay=False), default=None,
              help="Sample points from a CSV/XLSX file with columns Q, Qd.")
@click.option("--grid", default=None, metavar="NxM",
              help="Evaluate GMC exactly on an N (Q) x M (Qd) regular grid; no regression.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the Latin hypercube.")
@click.option("--method", "methods", multiple=True,
              help="GMC forms, comma-separated or repeated: srocc, plcc, krcc [default: all three].")
@click.option("--bw-method", type=Choice(BANDWIDTH_METHODS), default="cv_ls", show_default=True,
              help="Bandwidth selection of the kernel-regression surface.")
@click.option("--grid-res", type=click.IntRange(min=2), default=100, show_default=True,
              help="Surface grid resolution (grid-res x grid-res).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the surfaces: .html (interactive), .png/.pdf/.svg, or .csv (the grid).")
@click.option("--points-out", type=click.Path(dir_okay=False), default=None,
              help="Write point values (model, method, Q, Qd, value) to this CSV.")
@click.option("--scores-out", type=click.Path(dir_okay=False), default=None,
              help="Write scores (model, method, gmc) to this CSV.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Progress bar on stderr for runs over a second.")
@command
def surface(std_file, weights_file, weight_plus, samples, sample_file, grid, seed, methods, backend,
            bw_method, grid_res, output, points_out, scores_out, progress, **inputs):
    """GMC correlation surfaces and scores of every model in FILES.

    \b
    Examples:
      iqa-eval surface preds.csv --std-col std -o surfaces.html
      iqa-eval surface meta.csv a.csv b.csv --grid 20x20 --scores-out gmc.csv
    """
    from ..errors import InputError
    from ..gmc import correlation_surfaces, read_std_file, read_weights_file

    chosen = [name for name, v in (("--samples", samples), ("--sample-file", sample_file),
                                   ("--grid", grid)) if v is not None]
    if len(chosen) > 1:
        raise InputError(f"choose one source of sample points, not {' and '.join(chosen)}")
    if std_file and inputs.get("std_col"):
        raise InputError("give the std either as a column (--std-col) or a file (--std-file), not both")

    grid = parse_grid(grid)
    options = gmc_options_from(inputs, plus=weight_plus,
                               samples=sample_file if sample_file else (samples or 100))
    data = load_dataset_from_options(inputs)
    if std_file:
        std = _per_image(read_std_file(std_file), data, std_file)
        data = replace(data, std=std, sources={**data.sources, "std": (str(std_file), None)})
    weights = None
    if weights_file:
        weights = dict(zip(data.rows.tolist(),
                           _per_image(read_weights_file(weights_file), data, weights_file)))
    data = data.complete(nan_policy=inputs["nan_policy"], need_std=data.std is not None)
    if weights is not None:            # the weights of the rows that were kept
        weights = [weights[r] for r in data.rows.tolist()]

    result = correlation_surfaces(
        data, std=None, seed=seed, grid=grid, methods=gmc_methods(methods) or GMC_METHODS,
        weights=weights, options=options, backend=backend, grid_res=grid_res, bw_method=bw_method,
        progress=progress)
    echo_notes(result.notes)     # a note already printed as a warning is not repeated

    if points_out:
        result.points.to_csv(points_out, index=False, float_format="%.17g")
        click.echo(f"wrote {points_out}", err=True)
    if scores_out:
        result.scores.to_csv(scores_out, index=False)
        click.echo(f"wrote {scores_out}", err=True)
    if output:
        _write_surface(result.surface, output)
    click.echo(_score_text(result))


def _write_surface(surface_df, output) -> None:
    if Path(output).suffix.lower() != ".csv":
        try:
            from ..plot import save_surface
        except ImportError as exc:
            echo_notes([f"figures unavailable ({exc}); wrote the grid surface as CSV instead"])
        else:
            save_surface(surface_df, output)
            click.echo(f"wrote {output}", err=True)
            return
        output = str(Path(output).with_suffix(".csv"))
    surface_df.to_csv(output, index=False, float_format="%.17g")
    click.echo(f"wrote {output}", err=True)
