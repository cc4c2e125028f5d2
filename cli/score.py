"""``iqa-eval score``: the standard metrics with CIs, paired tests and ties with the best."""
from __future__ import annotations

import click

from ..options import CLI_ALIASES, EVALUATION_FORMATS
from ._breakdowns import breakdown_options, drop_breakdown_options, run_score_breakdown, wants_breakdown
from ._common import (Command, check_outputs, command, display_options, echo_notes, input_options, library_option,
                      load_dataset_from_options, model_display, output_format, significance_format,
                      write_output)

_EVALUATE = "studies.evaluation:evaluate"


@click.command(cls=Command)
@input_options
@library_option("--mapping", library=_EVALUATE,
                help="Monotonic mapping fitted from predictions to MOS before PLCC/RMSE.")
@library_option("--ci", library=_EVALUATE, aliases=CLI_ALIASES["ci"],
                help="Confidence intervals: analytic (Fisher z, Bonett-Wright) or bootstrap (percentile, bca).")
@library_option("--n-resamples", "--n-boot", "n_resamples", library=_EVALUATE,
                help="Bootstrap resamples (bootstrap CIs and the paired bootstrap test).")
@library_option("--alpha", library=_EVALUATE, help="1 - confidence level; significance level of the paired tests.")
@library_option("--seed", library=_EVALUATE, help="Seed of every resampling.")
@library_option("--paired-test", "test", library=_EVALUATE, help="Paired test of two models' SROCC/PLCC (cocor's tests; decides the ties with --ci analytic).")
@library_option("--alternative", library=_EVALUATE,
                help="Of the paired tests: 'greater' = the higher-SROCC model of a pair is better.")
@click.option("--rmse-dof", is_flag=True, help="RMSE with the ITU-T P.1401 degrees-of-freedom correction.")
@click.option("--no-pairwise", is_flag=True, help="Skip the paired tests between models.")
@click.option("--krasula", is_flag=True, help="Also the Krasula et al. (2016) AUC analysis (needs std and "
                                               "number of ratings; not with --format csv).")
@library_option("--format", "fmt", library="render.formatting:format_evaluation", section="Output",
                show_default=False, help="Output format (default: from the -o file's ending, else table).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the result to this file instead of stdout.")
@library_option("--digits", library="render.formatting:format_evaluation", section="Output", show_default=False,
                help="Decimals of the values (default 4).")
@display_options
@click.option("--significance", "significance_out", type=click.Path(dir_okay=False), default=None,
              help="Write the all-pairs significance matrix (1 / 0 / - per pair, SROCC and PLCC, Holm over the "
                   "pairs); format from the ending (.txt, .tex, .md, .html, .csv, .json).")
@breakdown_options
@command
def score(fmt, output, mapping, ci, n_resamples, alpha, seed, rmse_dof, no_pairwise, krasula, test, alternative, digits, labels, groups,
          model_info, no_caption, caption_file, significance_out, **inputs):
    """Score every model in FILES against MOS.

    \b
    Examples:
      iqa-eval score examples/simulated_study.csv
      iqa-eval score meta.csv model_a.csv model_b.csv --format json -o scores.json
      iqa-eval score kadid10k/ --join order --group-pattern '^I\\d+_(?P<distortion>\\d+)_\\d+\\.png$'
      iqa-eval score scores.csv --format latex --label ms_ssim=MS-SSIM --group psnr=traditional --digits 3
    """
    from ..studies.evaluation import evaluate
    from ..render.formatting import format_evaluation

    check_outputs([output, caption_file, significance_out], list(inputs["files"]) + ([model_info] if model_info else []))
    sig_fmt = significance_format(significance_out)
    if sig_fmt and no_pairwise:
        from ..errors import InputError
        raise InputError("--significance needs the paired tests: leave out --no-pairwise")
    shown = model_display(labels, groups, model_info)
    fmt = output_format(fmt, output, EVALUATION_FORMATS)
    if krasula and fmt == "csv":  # checked before computing
        from ..errors import InputError
        raise InputError("--krasula has no CSV form (a second table); use --format json, table or markdown")
    if wants_breakdown(inputs):   # per group or over splits (cli/_breakdowns.py)
        if krasula or no_pairwise:
            from ..errors import InputError
            raise InputError("--krasula and --no-pairwise are not used with --group-col/--group-pattern/"
                             "--split-col/--split-files")
        if (test, alternative) != ("williams1959", "two-sided"):   # the breakdowns test with Williams' t only
            from ..errors import InputError
            raise InputError("--paired-test and --alternative are not used with --group-col/--group-pattern/"
                             "--split-col/--split-files (their ties use two-sided Williams' t)")
        return run_score_breakdown(inputs, fmt=fmt, output=output, evaluation=dict(
            mapping=mapping, ci=ci, n_resamples=n_resamples, alpha=alpha, seed=seed, rmse_dof=rmse_dof))
    drop_breakdown_options(inputs)
    data = load_dataset_from_options(inputs)
    result = evaluate(data, mapping=mapping, ci=ci, n_resamples=n_resamples, alpha=alpha, seed=seed,
                      rmse_dof=rmse_dof, nan_policy=inputs["nan_policy"], pairwise=not no_pairwise,
                      krasula=krasula, test=test, alternative=alternative)
    labels, groups = shown
    text = format_evaluation(result, fmt, labels=labels, groups=groups, digits=digits,
                             caption=not (no_caption or caption_file))
    echo_notes(result.notes)
    if caption_file or significance_out:
        from ..render.formatting import evaluation_caption
        from .._runtime.atomic import OutputSet
        from ._common import echo_written

        with OutputSet() as outputs:   # the table, its caption and the matrix appear together
            if output not in (None, "-"):
                write_output(text, output, outputs)
            if caption_file:
                write_output(evaluation_caption(result), caption_file, outputs)
            if significance_out:
                from ..studies.significance import significance_matrix
                from ..render.significance import format_significance
                matrix = significance_matrix(result, alpha=alpha)
                write_output(format_significance(matrix, sig_fmt, labels=labels), significance_out, outputs)
        if output in (None, "-"):
            write_output(text, output)
        echo_written([output, caption_file, significance_out])
        return
    write_output(text, output)
