"""``iqa-eval report``: one self-contained HTML page of a whole evaluation."""
from __future__ import annotations

import click

from ._common import (command, echo_notes, gmc_options, input_options, load_dataset_from_options, parse_grid,
                      split_list)


@click.command()
@input_options
@gmc_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="report.html",
              show_default=True, help="The HTML file to write.")
@click.option("--title", default=None, help="Page title (default: 'IQA evaluation of FILES').")
@click.option("--mapping", type=click.Choice(["logistic4", "logistic5", "poly3", "linear", "none"]),
              default="logistic4", show_default=True,
              help="Monotonic mapping fitted from predictions to MOS before PLCC/RMSE.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05,
              show_default=True, help="1 - confidence level; level of every test.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random draw.")
@click.option("--method", "methods", multiple=True, default=("srcc,plcc,krcc",), show_default=True,
              help="GMC forms to draw, comma-separated (srcc, plcc, krcc).")
@click.option("--samples", type=click.IntRange(min=4), default=100, show_default=True,
              help="Latin-hypercube sample points of each GMC surface.")
@click.option("--grid-res", type=click.IntRange(min=2), default=100, show_default=True,
              help="Resolution of the GMC surface grid.")
@click.option("--compare-method", type=click.Choice(["srcc", "plcc", "krcc"], case_sensitive=False),
              default="srcc", show_default=True, help="GMC form of the comparisons.")
@click.option("--compare-grid", default="20x20", show_default=True, metavar="NxM",
              help="Grid of the comparisons' difference surfaces.")
@click.option("--max-compare", type=click.IntRange(min=0), default=3, show_default=True,
              help="Most comparisons of the best model with models tied with it (0: none).")
@command
def report(output, title, mapping, alpha, seed, methods, samples, grid_res, std_scale, std_phi,
           regulator, ks, sigma, compare_method, compare_grid, max_compare, backend, **inputs):
    """Write one self-contained HTML report: scores with CIs and ties, scatter plots, the
    GMC surfaces of every model, and the best model compared with those tied with it.

    The page embeds everything it shows (no network needed to open it).

    \b
    Examples:
      iqa-eval report examples/simulated_study.csv -o report.html
      iqa-eval report meta.csv model_a.csv model_b.csv --method srcc -o report.html
    """
    from pathlib import Path

    from .._progress import Progress
    from ..compare import compare_models
    from ..evaluation import evaluate
    from ..gmc import correlation_surfaces
    from ..report import models_to_compare, write_report

    grid = parse_grid(compare_grid, option="--compare-grid")
    nan_policy = inputs["nan_policy"]
    data = load_dataset_from_options(inputs)
    stages = 3 + 2 * max_compare

    def stage(name):  # fixed width: the bar is redrawn in place with '\r'
        return f"report: {name:<12}"

    with Progress(stages, stage("scores")) as bar:
        evaluation = evaluate(data, mapping=mapping, alpha=alpha, seed=seed, nan_policy=nan_policy)
        bar.label = stage("GMC surfaces")
        bar.update(1)
        # one GMC pass serves every model: it needs the rows where all of them are present
        complete = data.complete(nan_policy=nan_policy, need_std=False)
        gmc = correlation_surfaces(complete, methods=split_list(methods), samples=samples, seed=seed,
                                   grid_res=grid_res, std_scale=std_scale, std_phi=std_phi,
                                   regulator=regulator, ks=ks, sigma=sigma, backend=backend)
        bar.label = stage("comparisons")
        bar.update(1)
        comparisons = []
        for a, b in models_to_compare(evaluation.table, max_pairs=max_compare) if max_compare else []:
            comparisons.append(compare_models(data, a, b, method=compare_method.lower(), grid=grid,
                                              alpha=alpha, seed=seed, std_scale=std_scale,
                                              std_phi=std_phi, regulator=regulator, ks=ks,
                                              sigma=sigma, nan_policy=nan_policy, backend=backend))
            bar.update(2)
        bar.label = stage("page")
        bar.update(2 * (max_compare - len(comparisons)))
        title = title or "IQA evaluation of " + ", ".join(Path(f).name for f in inputs["files"])
        write_report(output, evaluation=evaluation, gmc_result=gmc, comparison=comparisons,
                     dataset=data, title=title)
        bar.update(1)
    notes = list(evaluation.notes) + list(gmc.notes)
    for comparison in comparisons:
        notes += list(comparison.notes)
    echo_notes(notes)
    click.echo(f"wrote {output}", err=True)
