"""The breakdown options of ``score`` (per group, over splits) and ``bench --cross-dataset``.

Kept apart from score.py and bench.py: those commands add the options with one decorator and
hand over to :func:`run_score_breakdown` / :func:`run_cross_dataset` when one is given.
"""
from __future__ import annotations

import click

from ._common import echo_notes, library_option, split_list, write_output

__all__ = ["CrossOption", "breakdown_options", "wants_breakdown", "drop_breakdown_options", "run_score_breakdown", "run_cross_dataset"]

_GROUPS = "studies.breakdowns:evaluate_by_group"
_KEYS = ("group_col", "group_pattern", "split_col", "split_files", "reference", "breakdown_metrics", "min_n",
         "overall")


class _Option(click.Option):
    """A plain option with its --help section (Command sorts options into sections)."""

    def __init__(self, *args, section: str = "Input", **attrs):
        super().__init__(*args, **attrs)
        self.section = section


class CrossOption(_Option):
    """``bench --cross-dataset``: an Input option."""


_OPTIONS = [
    click.option("--group-col", cls=_Option, default=None, metavar="COL",
                 help="Breakdown per value of this column (distortion type, level, content): the table per "
                      "group with CIs, ties and n (docs/bench.md). With --group-pattern: the column of image "
                      "names the pattern reads."),
    click.option("--group-pattern", cls=_Option, default=None, metavar="REGEX",
                 help="Groups from the image names: a regular expression with one named group, e.g. "
                      "'^I\\d+_(?P<distortion>\\d+)_\\d+\\.png$' for KADID-10k (docs/bench.md)."),
    click.option("--overall", cls=_Option, section="Output", is_flag=True, default=False,
                 help="Per group: a last row 'all' with every image together (the score table's numbers)."),
    click.option("--split-col", cls=_Option, default=None, metavar="COL",
                 help="Column holding the split id of each test-set row: mean ± std and median over the "
                      "splits, per-split paired tests counted."),
    click.option("--split-files", cls=_Option, is_flag=True, default=False,
                 help="Each FILES argument (a file or a directory) is one split; a single directory of "
                      "directories: each of them is one split."),
    click.option("--reference", cls=_Option, section="Statistics", default=None, metavar="MODEL",
                 help="Splits: the model the others are tested against (default: highest mean SROCC)."),
    library_option("--min-n", library=_GROUPS, help="Breakdowns: fewest images a group or split is scored on."),
    click.option("--breakdown-metrics", cls=_Option, section="Output", default="srocc,plcc", show_default=True,
                 help="Breakdowns: metrics shown (srocc, krcc, plcc, rmse); CSV and JSON carry all."),
]


def breakdown_options(func):
    """Add the per-group and split options to ``score``."""
    for decorator in reversed(_OPTIONS):
        func = decorator(func)
    return func


def wants_breakdown(params: dict) -> bool:
    """True when a breakdown option was given (pops nothing)."""
    return bool(params.get("group_col") or params.get("group_pattern") or params.get("split_col")
                or params.get("split_files"))


def drop_breakdown_options(params: dict) -> dict:
    """Remove the (unused) breakdown options from a command's parameters; returns them."""
    return {k: params.pop(k, None) for k in _KEYS}


def _split_paths(files):
    """The split datasets' paths: one directory of directories -> each subdirectory; else each argument."""
    from pathlib import Path

    if len(files) == 1 and Path(files[0]).is_dir():
        subdirs = sorted(p for p in Path(files[0]).iterdir() if p.is_dir() and not p.name.startswith("."))
        if subdirs:
            return {p.name: [str(p)] for p in subdirs}
    return {Path(f).stem if Path(f).is_file() else Path(f).name: [f] for f in files}


def run_score_breakdown(inputs: dict, *, fmt, output, evaluation: dict) -> None:
    """``score`` with --group-col/--group-pattern or --split-col/--split-files."""
    from ..errors import InputError
    from ..render.bench_tables import check_metrics
    from ..render.breakdown_tables import format_breakdown
    from ..studies.breakdowns import evaluate_by_group, evaluate_splits, read_group_labels
    from ._common import load_dataset_from_options

    opts = drop_breakdown_options(inputs)
    metrics = check_metrics(opts["breakdown_metrics"] or "srocc,plcc")
    grouped = bool(opts["group_col"] or opts["group_pattern"])
    split = bool(opts["split_col"] or opts["split_files"])
    if grouped and split:
        raise InputError("choose a per-group breakdown (--group-col/--group-pattern) or splits "
                         "(--split-col/--split-files), not both")
    if opts["split_col"] and opts["split_files"]:
        raise InputError("give --split-col or --split-files, not both")
    if opts["overall"] and not grouped:
        raise InputError("--overall is used with --group-col or --group-pattern")
    if opts["reference"] and not split:
        raise InputError("--reference is used with --split-col or --split-files")
    common = dict(min_n=opts["min_n"], nan_policy=inputs["nan_policy"], **evaluation)
    column = opts["split_col"] or opts["group_col"]

    def models(data):   # a numeric group or split column is not a model
        return [m for m in data.models if column is None or data.source(m)[1] != column]
    if opts["split_files"]:
        parts = {}
        for name, paths in _split_paths(inputs["files"]).items():
            if name in parts:
                raise InputError(f"two splits are named {name!r}", file=paths[0])
            parts[name] = load_dataset_from_options({**inputs, "files": paths}, models=models)
        result = evaluate_splits(parts, reference=opts["reference"], **common)
    else:
        data = load_dataset_from_options(inputs, models=models)
        delimiter = inputs.get("delimiter") or "auto"
        if split:
            labels, _, source, note = read_group_labels(inputs["files"], data, column=opts["split_col"],
                                                        delimiter=delimiter)
            result = evaluate_splits(data.with_notes(note), labels, reference=opts["reference"], source=source, **common)
        else:
            labels, name, source, note = read_group_labels(inputs["files"], data, column=opts["group_col"],
                                                           pattern=opts["group_pattern"], delimiter=delimiter)
            result = evaluate_by_group(data.with_notes(note), labels, name=name, source=source,
                                       overall=opts["overall"], **common)
    text = format_breakdown(result, fmt, metrics=metrics)
    echo_notes(result.notes)
    write_output(text, output)


def run_cross_dataset(manifest, *, fmt, output, metrics, show_ci, evaluation: dict, nan_policy, lower_is_better,
                      flip) -> None:
    """``bench --cross-dataset MANIFEST``: rows trained-on, columns tested-on, one table per metric."""
    from ..render.breakdown_tables import format_breakdown
    from ..studies.breakdowns import cross_dataset, read_cross_manifest

    entries = read_cross_manifest(manifest)
    result = cross_dataset(entries, nan_policy=nan_policy, lower_is_better=split_list(lower_is_better), flip=flip,
                           **evaluation)
    text = format_breakdown(result, fmt, metrics=metrics, show_ci=show_ci)
    echo_notes(result.notes)
    write_output(text, output)
