"""``iqa-eval score``: the standard metrics with CIs, paired tests and ties with the best."""
from __future__ import annotations

import click

from ..options import CI_METHODS, CLI_ALIASES, MAPPINGS
from ._common import (Choice, check_outputs, command, echo_notes, input_options, load_dataset_from_options,
                      output_format, write_output)


@click.command()
@input_options
@click.option("--mapping", type=Choice(MAPPINGS),
              default="logistic4", show_default=True,
              help="Monotonic mapping fitted from predictions to MOS before PLCC/RMSE.")
@click.option("--ci", "ci", type=Choice(CI_METHODS, CLI_ALIASES["ci"]), default="analytic",
              show_default=True, help="Confidence intervals: analytic (Fisher z, Bonett-Wright) or "
                                      "bootstrap (percentile, bca).")
@click.option("--n-resamples", "--n-boot", "n_resamples", type=click.IntRange(min=100), default=1000, show_default=True,
              help="Bootstrap resamples (bootstrap CIs and the paired bootstrap test).")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05,
              show_default=True, help="1 - confidence level; significance level of the paired tests.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of every resampling.")
@click.option("--rmse-dof", is_flag=True, help="RMSE with the ITU-T P.1401 degrees-of-freedom correction.")
@click.option("--no-pairwise", is_flag=True, help="Skip the paired tests between models.")
@click.option("--krasula", is_flag=True, help="Also the Krasula et al. (2016) AUC analysis (needs std and "
                                               "number of ratings; not with --format csv).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "markdown", "latex"]),
              default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the result to this file instead of stdout.")
@command
def score(fmt, output, mapping, ci, n_resamples, alpha, seed, rmse_dof, no_pairwise, krasula, **inputs):
    """Score every model in FILES against MOS.

    \b
    Examples:
      iqa-eval score examples/simulated_study.csv
      iqa-eval score meta.csv model_a.csv model_b.csv --format json -o scores.json
    """
    from ..studies.evaluation import evaluate
    from ..render.formatting import format_evaluation

    check_outputs([output], inputs["files"])
    fmt = output_format(fmt, output, ("table", "csv", "json", "markdown", "latex"))
    if krasula and fmt == "csv":  # checked before computing
        from ..errors import InputError
        raise InputError("--krasula has no CSV form (a second table); use --format json, table or markdown")
    data = load_dataset_from_options(inputs)
    result = evaluate(data, mapping=mapping, ci=ci, n_resamples=n_resamples, alpha=alpha, seed=seed,
                      rmse_dof=rmse_dof, nan_policy=inputs["nan_policy"], pairwise=not no_pairwise)
    text = format_evaluation(result, fmt)
    if krasula:
        from ._krasula import add_krasula
        text = add_krasula(text, data, fmt, seed=seed, nan_policy=inputs["nan_policy"], notes=result.notes)
    else:
        echo_notes(result.notes)
    if data.std is not None and data.n_ratings is not None:   # the noise ceiling (docs/subjective.md)
        from ..subjective import ceiling_note
        echo_notes([ceiling_note(data.mos, data.std, data.n_ratings, result)])
    write_output(text, output)
