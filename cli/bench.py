"""``iqa-eval bench``: the models x datasets table of a paper, with CIs, ties and a CD diagram."""
from __future__ import annotations

import os
import sys

import click

from ..options import BENCH_FORMATS, BENCH_METRICS, CLI_ALIASES, FRIEDMAN_METHODS, POSTHOC_TESTS
from ._breakdowns import CrossOption, run_cross_dataset
from ._common import (Choice, Command, check_outputs, column_options, command, display_options, echo_notes,
                      echo_written, library_option, model_display, output_format, significance_format, split_list,
                      write_output)

_BENCHMARK = "studies.bench:benchmark"
_FORMAT = "render.bench_tables:format_benchmark"


@click.command(cls=Command)
@click.argument("datasets", nargs=-1, type=click.Path())
@click.option("--manifest", type=click.Path(dir_okay=False), default=None,
              help="TOML file listing datasets, their files and options (see docs/bench.md).")
@click.option("--cross-dataset", "cross_manifest", cls=CrossOption, type=click.Path(dir_okay=False), default=None,
              help="CSV/TOML manifest of (train, test, predictions, metadata) runs: the cross-dataset table, "
                   "rows trained-on, columns tested-on (docs/bench.md).")
@click.option("--name", "names", multiple=True,
              help="Rename the datasets given as arguments, in order (repeat or comma-separate).")
@click.option("--models", multiple=True, help="Only these models (comma-separated or repeated).")
@column_options
@click.option("--metrics", default="srocc,plcc", show_default=True,
              help=f"Columns per dataset: any of {', '.join(BENCH_METRICS)}.")
@library_option("--mapping", library=_BENCHMARK, help="Mapping fitted before PLCC/RMSE (as in score).")
@library_option("--ci", library=_BENCHMARK, aliases=CLI_ALIASES["ci"],
                help="Confidence intervals and paired test (as in score).")
@library_option("--n-resamples", "--n-boot", "n_resamples", library=_BENCHMARK, help="Bootstrap resamples.")
@library_option("--alpha", library=_BENCHMARK, help="Level of the paired tests, the CIs and the Nemenyi CD.")
@library_option("--multiplicity", library=_BENCHMARK,
                help="Control over the comparisons with each dataset's best (none = score's rule).")
@library_option("--seed", library=_BENCHMARK, help="Seed of every resampling.")
@library_option("--paired-test", "test", library=_BENCHMARK,
                help="Paired test of each dataset's best against the others (as in score).")
@library_option("--alternative", library=_BENCHMARK,
                help="Of the paired tests: 'greater' = the best's correlation is larger.")
@click.option("--posthoc", type=Choice(POSTHOC_TESTS), default="nemenyi", show_default=True,
              help="Pairwise test after Friedman (its cliques are the diagram's bars); see docs/bench.md.")
@click.option("--friedman-method", type=Choice(FRIEDMAN_METHODS), default="auto", show_default=True,
              help="Which Friedman p decides (auto: exact permutation where feasible, else Monte Carlo).")
@click.option("--rope", type=click.FloatRange(min=0), default=0.01, show_default=True,
              help="Region of practical equivalence (SROCC units) of --posthoc bayes.")
@click.option("--rmse-dof", is_flag=True, help="RMSE with the ITU-T P.1401 degrees-of-freedom correction.")
@click.option("--krasula", is_flag=True, help="Also the Krasula et al. (2016) AUC analysis per dataset.")
@click.option("--format", "fmt", type=click.Choice(BENCH_FORMATS),
              default="table", show_default=True)
@click.option("--show-ci/--hide-ci", default=None, help="CIs next to the values (default: yes, not in LaTeX).")
@library_option("--digits", library=_FORMAT, section="Output", show_default=False,
                help="Decimals of the values (default 3; marks are decided on the printed values).")
@click.option("--transpose", is_flag=True, help="Datasets as rows, models as columns.")
@library_option("--fit", library=_FORMAT, section="Output",
                help="LaTeX: scale the table to \\linewidth when wider than the text (auto), always or never.")
@display_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the table to this file instead of stdout.")
@click.option("--significance", "significance_out", type=click.Path(dir_okay=False), default=None,
              help="Write the all-pairs significance matrix (1 / 0 / - per pair, SROCC and PLCC, Holm over the "
                   "pairs of each dataset); format from the ending (.txt, .tex, .md, .html, .csv, .json).")
@click.option("--cd-diagram", "cd_path", type=click.Path(dir_okay=False), default=None,
              help="Write the critical-difference diagram (.png, .pdf or .svg).")
@command
def bench(datasets, manifest, names, models, metrics, mapping, ci, n_resamples, alpha, multiplicity, posthoc,
          friedman_method, rope, seed, rmse_dof,
          krasula, fmt, show_ci, output, cd_path, test, alternative, digits, transpose, fit, labels, groups,
          model_info, no_caption, caption_file, significance_out, cross_manifest=None, **columns):
    """Score every model on every DATASET: the table of an IQA paper.

    Each DATASET is a directory whose table files are read together exactly as
    `iqa-eval score` reads several files (one file per model plus an optional metadata
    table), or a single file. The column heading is the directory name (--name renames).

    \b
    Examples:
      iqa-eval bench data/LIVEC data/KonIQ --format latex -o table.tex --cd-diagram cd.pdf
      iqa-eval bench --manifest datasets.toml --metrics srocc,plcc,rmse --format markdown
      iqa-eval bench data/KADID data/TID --label ms_ssim=MS-SSIM --group psnr=traditional --digits 2
    """
    from pathlib import Path

    from ..studies.bench import DatasetSpec, benchmark, dataset_spec, read_manifest, read_manifest_models
    from ..render.bench_tables import benchmark_caption, check_metrics, check_model_names, format_benchmark
    from ..errors import InputError
    from .._runtime.atomic import OutputSet
    from ..options import FIGURE_SUFFIXES
    from ..render.plot import save_figure

    chosen_metrics = check_metrics(metrics)
    if cross_manifest is not None:   # the cross-dataset layout (cli/_breakdowns.py)
        if datasets or manifest or cd_path or krasula:
            raise InputError("--cross-dataset takes no DATASET, --manifest, --cd-diagram or --krasula")
        if (test, alternative) != ("williams1959", "two-sided"):   # the cross-dataset table's ties: Williams' t
            raise InputError("--paired-test and --alternative are not used with --cross-dataset (its ties use "
                             "two-sided Williams' t)")
        check_outputs([output], [cross_manifest])
        return run_cross_dataset(cross_manifest, fmt=output_format(fmt, output, BENCH_FORMATS), output=output,
                                 metrics=chosen_metrics, show_ci=show_ci, nan_policy=columns["nan_policy"],
                                 lower_is_better=columns.get("lower_is_better"), flip=not columns.get("no_flip"),
                                 evaluation=dict(mapping=mapping, ci=ci, n_resamples=n_resamples, alpha=alpha,
                                                 seed=seed, rmse_dof=rmse_dof))
    check_outputs([output, cd_path, caption_file, significance_out], list(datasets) + ([manifest] if manifest else [])
                  + ([model_info] if model_info else []))
    fmt = output_format(fmt, output, BENCH_FORMATS)
    sig_fmt = significance_format(significance_out)   # from the file's ending (--format is the table's)
    if cd_path is not None and Path(cd_path).suffix.lower() not in FIGURE_SUFFIXES:
        raise InputError(f"the CD diagram is written as {', '.join(FIGURE_SUFFIXES)}", file=cd_path)
    if not datasets and manifest is None:
        raise InputError("give at least one DATASET directory or --manifest FILE")
    names = split_list(names)
    if len(names) > len(datasets):
        raise InputError(f"{len(names)} --name value(s) for {len(datasets)} DATASET argument(s)")
    options = {"mos_col": columns.get("mos_col"), "std_col": columns.get("std_col"),
               "nratings_col": columns.get("nratings_col"), "key_col": columns.get("key_col"),
               "pred_cols": tuple(split_list(columns.get("pred_cols"))) or None,
               "join": columns.get("join") or "auto", "delimiter": columns.get("delimiter") or "auto",
               "n_ratings": columns.get("n_ratings")}
    specs = read_manifest(manifest) if manifest else []
    shown = model_display(labels, groups, model_info, read_manifest_models(manifest) if manifest else None)
    for k, path in enumerate(datasets):
        specs.append(dataset_spec(path, name=names[k] if k < len(names) else None, **options))
    if manifest:
        given = {k: v for k, v in options.items() if v and v != "auto"}
        if given:  # command-line column options fill what the manifest leaves open
            specs = [DatasetSpec(**{**vars(s), **{k: v for k, v in given.items() if getattr(s, k) in (None, "auto")}})
                     for s in specs]
    result = benchmark(specs, mapping=mapping, ci=ci, n_resamples=n_resamples, alpha=alpha, seed=seed, rmse_dof=rmse_dof,
                       nan_policy=columns["nan_policy"], multiplicity=multiplicity,
                       models=split_list(models) or None,
                       lower_is_better=split_list(columns.get("lower_is_better")),
                       flip=False if columns.get("no_flip") else None, krasula=krasula,
                       krasula_options={"seed": seed, "nan_policy": columns["nan_policy"]},
                       posthoc=posthoc, friedman_method=friedman_method, rope=rope,
                       test=test, alternative=alternative)
    echo_notes(result.notes)
    color = (fmt == "table" and output in (None, "-") and sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    if models:   # a manifest or --model-info may describe more models than --models chose
        shown = tuple({m: v for m, v in d.items() if m in result.models} for d in shown)
    labels, groups = check_model_names(result, *shown)
    view = {"metrics": chosen_metrics, "show_ci": show_ci, "labels": labels, "groups": groups, "digits": digits,
            "transpose": transpose}
    text = format_benchmark(result, fmt, color=color, caption=not (no_caption or caption_file), fit=fit, **view)
    caption = benchmark_caption(result, fmt, **view) if caption_file else None
    diagram = cd_path is not None and result.friedman is not None
    if cd_path is not None and not diagram:
        click.echo("note: no CD diagram written: the Friedman test needs at least 2 datasets on which "
                   "every model has a cell", err=True)
    with OutputSet() as outputs:   # the table and the diagram appear together, or neither does
        if output not in (None, "-"):
            write_output(text, output, outputs)
        if diagram:
            save_figure(result.cd_diagram(), outputs.stage(cd_path))
        if caption is not None:
            write_output(caption, caption_file, outputs)
        if significance_out is not None:
            from ..studies.significance import significance_matrix
            from ..render.significance import format_significance
            matrix = significance_matrix(result, alpha=alpha)
            write_output(format_significance(matrix, sig_fmt, labels=labels), significance_out, outputs)
    if output in (None, "-"):      # stdout cannot be taken back: printed once the files are in place
        write_output(text, output)
    echo_written([output, cd_path if diagram else None, caption_file, significance_out])
