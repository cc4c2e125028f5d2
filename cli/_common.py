"""What every command shares: input options, loading, error handling, notes.

Commands stay thin: they parse options, call the library and print. Bad input becomes
one ``error: ...`` line on stderr and exit status 2 — never a traceback.
"""
from __future__ import annotations

import functools
import sys

import click

from ..errors import IQAEvalError, IQAEvalWarning

from ..options import BACKENDS, CLI_ALIASES, DATASET_NAN_POLICIES, DELIMITERS, OUTPUT_FORMAT_SUFFIXES, Interval

__all__ = ["library_option", "Command", "SECTIONS", "input_options", "column_options", "load_dataset_from_options", "command", "echo_notes",
           "split_list", "gmc_options", "gmc_sampling_options", "gmc_options_from", "GMCRequest", "gmc_methods", "parse_grid", "write_output",
           "check_outputs", "echo_written", "output_format", "safe_terminal_text", "Choice"]


class Choice(click.Choice):
    """``click.Choice`` over one of the library's tuples of allowed values (iqa_eval.options).

    ``aliases`` maps earlier spellings to current ones (``options.CLI_ALIASES``): they are
    accepted, not listed, so old scripts keep working while help shows one vocabulary.
    """

    def __init__(self, values, aliases=None, case_sensitive: bool = True):
        super().__init__([str(v) for v in values], case_sensitive=case_sensitive)
        self.aliases = dict(aliases or {})

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value.lower() in self.aliases:
            value = self.aliases[value.lower()]
        return super().convert(value, param, ctx)


def gmc_methods(values) -> list:
    """GMC method names from repeated/comma-separated option values, old spellings mapped."""
    aliases = CLI_ALIASES["method"]
    return [aliases.get(m.lower(), m) for m in split_list(values)]


def _click_type(rule, aliases=None, case_sensitive: bool = True):
    """The click type of an option from its library rule (a tuple of values, an Enum, an
    Interval, or the name/number part of an ``Either``): bounds and open ends included."""
    import enum

    from ..options import Either

    if isinstance(rule, Either):
        rule = rule.rule
    if isinstance(rule, Interval):
        cls = click.IntRange if rule.integral else click.FloatRange
        return cls(min=rule.low, max=rule.high, min_open=rule.closed in ("right", "neither"),
                   max_open=rule.closed in ("left", "neither"))
    if isinstance(rule, type) and issubclass(rule, enum.Enum):
        rule = tuple(m.value for m in rule)
    return Choice(rule, aliases, case_sensitive=case_sensitive)


def library_rule(library: str, param: str):
    """The declared rule of ``param`` of a library function or options class, ``library`` being
    ``'module:name'`` relative to the package (``'studies.evaluation:evaluate'``)."""
    import importlib
    import inspect

    module, _, name = library.partition(":")
    obj = getattr(importlib.import_module(f"..{module}", __package__), name)
    if inspect.isclass(obj):
        rules = obj.rules() if hasattr(obj, "rules") else getattr(obj.__init__, "__parameter_rules__", {})
        signature = inspect.signature(obj)
    else:
        rules, signature = getattr(obj, "__parameter_rules__", {}), inspect.signature(obj)
    return rules[param], signature.parameters[param].default


class LibraryOption(click.Option):
    """An option that sets a library parameter: its type (choices, bounds, open or closed ends)
    and default come from the parameter's declared rule (``validate_params``), so the command
    line cannot drift from the library. The library module is imported only when the option is
    parsed or its help is shown (``iqa-eval --help`` stays free of numerics)."""

    def __init__(self, *args, library: str, library_param: str | None = None, aliases=None,
                 case_sensitive: bool = True, section: str = "Statistics", **attrs):
        self._explicit_default = "default" in attrs
        super().__init__(*args, **attrs)
        self.library, self.library_param = library, library_param or self.name
        self.aliases, self.case_sensitive, self.section = aliases, case_sensitive, section
        self._resolved = False

    def resolve(self) -> None:
        """Set the click type (and the default, unless given) from the library rule."""
        if self._resolved:
            return
        rule, default = library_rule(self.library, self.library_param)
        self.type = _click_type(rule, self.aliases, self.case_sensitive)
        if not self._explicit_default:
            self.default = default
        self._resolved = True


def library_option(*param_decls, library: str, param: str | None = None, **attrs):
    """A click option generated from a library parameter's declaration (see :class:`LibraryOption`).

    ``library``: ``'module:function'`` in the package; ``param``: the library parameter (default:
    the option's name). Give ``help=``; ``section=`` (default Statistics) places it in ``--help``.
    """
    attrs.setdefault("show_default", True)
    return click.option(*param_decls, cls=LibraryOption, library=library, library_param=param, **attrs)


#: The sections of every command's --help, in order.
SECTIONS = ("Input", "Statistics", "GMC", "Output", "Runtime")

#: Section of the options that are not library options (by click parameter name).
_SECTION_OF = {
    **dict.fromkeys(["mos_col", "pred_cols", "std_col", "nratings_col", "n_ratings", "key_col", "join",
                     "delimiter", "nan_policy", "lower_is_better", "no_flip", "manifest", "names", "models", "model_names",
                     "n_images", "delimiter", "layout", "subject_col", "image_col", "rating_col",
                     "repetition_col", "session_col", "content_col", "scale"], "Input"),
    **dict.fromkeys(["rmse_dof", "no_pairwise", "krasula", "metrics", "posthoc", "friedman_method", "rope",
                     "ceiling"],
                    "Statistics"),
    **dict.fromkeys(["weights_file", "weight_plus", "sample_file", "grid", "methods", "method", "preset", "std_file",
                     "lds_exact_counts", "backend", "scheduler", "compare_grid", "samples"], "GMC"),
    **dict.fromkeys(["output", "fmt", "show_ci", "cd_path", "contour", "points_out", "scores_out", "title",
                     "ratings_out", "screening_out", "subjects_out", "labels", "groups", "model_info",
                     "no_caption", "caption_file", "transpose", "significance_out"],
                    "Output"),
    **dict.fromkeys(["std_scale", "std_phi", "regulator", "ks", "sigma", "ranks"], "GMC"),
    **dict.fromkeys(["debug", "max_memory", "progress"], "Runtime"),
}


class Command(click.Command):
    """A click command whose ``--help`` lists its options in sections (Input, Statistics, GMC,
    Output, Runtime), each option's section an attribute of the option (``section``)."""

    def _prepare(self, ctx) -> list:
        params = self.get_params(ctx)
        for p in params:
            if isinstance(p, LibraryOption):
                p.resolve()
            elif getattr(p, "section", None) is None:
                p.section = "Runtime" if "--help" in p.opts else _SECTION_OF.get(p.name)
        return params

    def parse_args(self, ctx, args):
        self._prepare(ctx)
        return super().parse_args(ctx, args)

    def format_options(self, ctx, formatter):
        params = self._prepare(ctx)
        rows = {name: [] for name in SECTIONS}
        for p in params:
            record = p.get_help_record(ctx)
            if record is not None and isinstance(p, click.Option):
                section = p.section or "Options"
                rows.setdefault(section, []).append(record)
        for name, records in rows.items():
            if records:
                with formatter.section(name):
                    formatter.write_dl(records)


def display_options(func):
    """The paper-table options of ``bench`` and ``score``: display names and groups of the models,
    decimals, caption (--digits and --fit are library options of each command)."""
    for decorator in reversed([
        click.option("--label", "labels", multiple=True, metavar="MODEL=TEXT",
                     help="Print MODEL as TEXT (repeat; also 'label' in --model-info or the manifest)."),
        click.option("--group", "groups", multiple=True, metavar="MODEL=GROUP",
                     help="Put MODEL in a block of rows headed GROUP (repeat; blocks in the order given)."),
        click.option("--model-info", type=click.Path(dir_okay=False), default=None,
                     help="Table with columns model, label and/or group."),
        click.option("--no-caption", is_flag=True, help="Leave the caption (legend) out of the table."),
        click.option("--caption-file", type=click.Path(dir_okay=False), default=None,
                     help="Write the caption to this file (in the table's format) and leave it out of the table."),
    ]):
        func = decorator(func)
    return func


def significance_format(path):
    """The format of ``--significance FILE`` from its ending (``.txt`` or none: the text matrix), checked
    before computing."""
    from pathlib import Path

    from ..errors import InputError
    from ..options import SIGNIFICANCE_FORMATS

    if path is None:
        return None
    suffix = Path(str(path)).suffix.lower()
    fmt = "table" if suffix in ("", ".txt") else OUTPUT_FORMAT_SUFFIXES.get(suffix)
    if fmt not in SIGNIFICANCE_FORMATS:
        raise InputError("--significance writes .txt, .tex, .md, .html, .csv or .json", file=str(path))
    return fmt


def model_display(labels=(), groups=(), model_info=None, base=None) -> tuple:
    """``(labels, groups)`` dicts from --model-info, then --label / --group (later wins), on top of ``base``
    (e.g. a manifest's [[model]] tables)."""
    from ..errors import InputError

    out_labels, out_groups = (dict(base[0]), dict(base[1])) if base else ({}, {})
    if model_info:
        from ..studies.bench import read_model_info

        more_labels, more_groups = read_model_info(model_info)
        out_labels.update(more_labels)
        out_groups.update(more_groups)
    for option, values, target in (("--label", labels, out_labels), ("--group", groups, out_groups)):
        for value in values or ():
            model, sep, text = str(value).partition("=")
            if not sep or not model.strip() or not text.strip():
                raise InputError(f"{option} takes MODEL=TEXT; got {value!r}")
            target[model.strip()] = text.strip()
    return out_labels, out_groups


def split_list(values) -> list:
    """Flatten repeated and comma-separated option values: ('a,b', 'c') -> ['a', 'b', 'c']."""
    out = []
    for v in values or ():
        out += [p.strip() for p in str(v).split(",") if p.strip()]
    return out


def parse_grid(text, option: str = "--grid"):
    """``'20x15'`` -> (20, 15), ``'20'`` -> (20, 20), None -> None (N MOS levels x M |dMOS| values).

    Only the text is parsed here; the shape is validated by ``iqa_eval.gmc.sampling.grid_shape``,
    the library's one check. Called in the command body (not as a click callback) so that a bad
    value is one ``error:`` line naming the option, like every other input error.
    """
    from ..errors import InputError
    from ..gmc.sampling import grid_shape

    if text is None:
        return None
    parts = str(text).strip().lower().replace("*", "x").replace(",", "x").split("x")
    try:
        return grid_shape(int(parts[0]) if len(parts) == 1 else tuple(int(p) for p in parts))
    except (ValueError, InputError):
        raise InputError(f"{option} must be NxM with N, M >= 2 (e.g. 20x20); got {text!r}") from None


_INPUT_OPTIONS = [
    click.argument("files", nargs=-1, required=True, type=click.Path()),
    click.option("--mos-col", default=None, help="MOS column (default: auto-detect mos, dmos, 'Ground Truth Labels', ...)."),
    click.option("--pred-cols", multiple=True, help="Prediction columns, comma-separated or repeated (default: every other numeric column)."),
    click.option("--std-col", default=None, help="Per-image std of the ratings (default: auto-detect std, mos_std, ...)."),
    click.option("--nratings-col", default=None, help="Number of ratings per image (default: auto-detect n_ratings, votes, ...)."),
    library_option("--n-ratings", "n_ratings", library="data.io:load_dataset", section="Input", metavar="N",
                   show_default=False,
                   help="Every MOS is the mean of N ratings (instead of a number-of-ratings column)."),
    click.option("--key-col", default=None, help="Image-name column used to join several files (default: auto-detect)."),
    library_option("--join", library="data.io:load_dataset", section="Input",
                   help="How several files are aligned: by image name where files have one, else by a row "
                        "order their MOS proves (present in both files, no ties) (auto); names required "
                        "(key); row order trusted (order). Anything unproven is an error; each file's "
                        "alignment is a note (docs/input.md)."),
    click.option("--delimiter", type=Choice(DELIMITERS), default="auto", show_default=True,
                 help="Field delimiter of CSV/TXT inputs (auto: sniffed from the first lines)."),
    click.option("--nan-policy", type=Choice(DATASET_NAN_POLICIES), default="omit", show_default=True,
                 help="Rows with NaN/inf/empty values: drop them with a stated count, or stop with an error."),
    click.option("--lower-is-better", multiple=True, metavar="NAME",
                 help="Model whose scores fall as quality rises (negated before evaluation). Repeatable."),
    click.option("--no-flip", is_flag=True, default=False,
                 help="Do not negate models whose SROCC with MOS is negative."),
]


def _gmc_option_decorators():
    """The GMC options every GMC command takes (surface, compare, report), generated once: the
    published presets, the std and regulator-weight files, GMCOptions' fields (``--std-scale``,
    ``--regulator``, ``--min-pairs``, ...), ``--backend`` and ``--scheduler``."""
    from ..gmc.options import GMCOptions
    from ..options import GMC_PRESETS

    out = [
        click.option("--preset", type=click.Choice(list(GMC_PRESETS)), default=None,
                     help="A published configuration: livec, kadid10k (Gaussian regulator, the dataset's "
                          "std column), pipal (LDS ks 5 sigma 2, Beta std phi 3), spaq (LDS ks 5 sigma 1, "
                          "Beta std phi 3); plus 100. Options given explicitly override it (with a note)."),
        click.option("--std-file", type=click.Path(dir_okay=False), default=None,
                     help="Per-image MOS std, one value per line, in the row order of the file that sets the "
                          "image order (the first FILE with a MOS column; a note names it)."),
        click.option("--weights-file", type=click.Path(dir_okay=False), default=None,
                     help="Distribution-regulator weights, one per line in the same row order as --std-file "
                          "(overrides --regulator)."),
        library_option("--weight-plus", library="gmc.options:GMCOptions", param="plus", section="GMC",
                       help="Regulator multiplier (cancels out of every GMC form)."),
        click.option("--lds-exact-counts", is_flag=True, default=False,
                     help="LDS: keep the smoothed histogram as floats (the reference, and published "
                          "PIPAL/SPAQ numbers, truncate every bin to an integer; that is the default)."),
    ]
    out += [library_option("--" + f.name.replace("_", "-"), f.name, library="gmc.options:GMCOptions",
                           section="GMC", help=f.metadata["help"])
            for f in GMCOptions.cli_fields()]
    out.append(library_option("--backend", library="gmc.api:correlation_surfaces", section="GMC",
                            help="GMC engine backend (auto: numba on CPU, CuPy for large sets when "
                                 "importable; dask: on a Dask cluster, see --scheduler)."))
    out.append(click.option("--scheduler", envvar="DASK_SCHEDULER_ADDRESS", default=None, metavar="ADDRESS",
                            help="--backend dask: address of a running Dask scheduler (tcp://HOST:PORT) "
                                 "[env DASK_SCHEDULER_ADDRESS]; without it a LocalCluster sized to this "
                                 "machine is started and closed on exit."))
    return out


def _gmc_sampling_decorators():
    """Where GMC is evaluated and how it is smoothed (surface and report; compare evaluates its
    own exact ``--grid`` and takes none of these)."""
    return [
        library_option("--samples", library="gmc.options:GMCOptions", default=None, show_default=False,
                       section="GMC", help="Latin-hypercube sample points [default: 100]."),
        click.option("--sample-file", type=click.Path(dir_okay=False), default=None,
                     help="Sample points from a CSV/XLSX file with columns Q, Qd."),
        click.option("--grid", default=None, metavar="NxM",
                     help="Evaluate GMC exactly on an N (Q) x M (Qd) regular grid; no regression."),
        library_option("--bw-method", library="gmc.api:correlation_surfaces", section="GMC",
                       help="Bandwidth selection of the kernel-regression surface."),
        library_option("--grid-res", library="gmc.api:correlation_surfaces", section="GMC",
                       help="Surface grid resolution (grid-res x grid-res)."),
    ]


#: click parameter names of the sampling options (compare evaluates an exact --grid of its own)
GMC_SAMPLING_PARAMS = ("samples", "sample_file", "grid", "bw_method", "grid_res")


def gmc_options(func):
    """Add the GMC options shared by surface, compare and report (see :func:`_gmc_option_decorators`)."""
    for decorator in reversed(_gmc_option_decorators()):
        func = decorator(func)
    return func


def gmc_sampling_options(func):
    """Add the sample-point and surface options of surface and report."""
    for decorator in reversed(_gmc_sampling_decorators()):
        func = decorator(func)
    return func


def gmc_options_from(params: dict, **more):
    """Pop the GMCOptions fields that :func:`gmc_options` added from a command's ``params``
    and build the options (``more``: fields set by other options of the command)."""
    from ..gmc.options import GMCOptions

    values = {f.name: params.pop(f.name) for f in GMCOptions.cli_fields() if f.name in params}
    return GMCOptions(**values, **more)


#: GMCOptions field -> the click parameter that sets it (for a preset's "given explicitly" notes).
_PRESET_PARAMS = {"regulator": "regulator", "std_scale": "std_scale", "plus": "weight_plus", "ks": "ks",
                  "sigma": "sigma", "std_phi": "std_phi"}


class GMCRequest:
    """Everything the GMC options of a command asked for, read from its ``params`` before any data
    are loaded (so a bad option is an error before minutes of reading): :meth:`apply` then resolves
    the preset and the std/weights files against the data. One code path for surface, compare and
    report, so the three cannot compute with different settings from the same options."""

    def __init__(self, params: dict, *, given=None):
        """``given``: the GMCOptions fields set explicitly (default: those the command line set;
        a caller without one, such as the studio, says which)."""
        from ..errors import InputError

        self.preset = params.pop("preset", None)
        self.std_file = params.pop("std_file", None)
        self.weights_file = params.pop("weights_file", None)
        plus = params.pop("weight_plus", None)
        lds_exact = params.pop("lds_exact_counts", False)
        if self.std_file and params.get("std_col"):
            raise InputError("give the std either as a column (--std-col) or a file (--std-file), not both")
        samples, sample_file, grid = (params.pop(k, None) for k in ("samples", "sample_file", "grid"))
        chosen = [name for name, v in (("--samples", samples), ("--sample-file", sample_file),
                                       ("--grid", grid)) if v is not None]
        if len(chosen) > 1:
            raise InputError(f"choose one source of sample points, not {' and '.join(chosen)}")
        self.grid = parse_grid(grid)
        self.bw_method = params.pop("bw_method", None)
        self.grid_res = params.pop("grid_res", None)
        more = {"lds_exact_counts": bool(lds_exact), "samples": sample_file if sample_file else (samples or 100)}
        if plus is not None:
            more["plus"] = plus
        self.options = gmc_options_from(params, **more)
        if given is None:
            ctx = click.get_current_context(silent=True)
            given = () if ctx is None else [
                field for field, param in _PRESET_PARAMS.items()
                if ctx.get_parameter_source(param) == click.core.ParameterSource.COMMANDLINE]
        self.given = set(given)

    def apply(self, data, notes=None):
        """``(data, options, weights)``: the preset applied (its notes printed, or added to the
        list ``notes`` when one is given), the std of
        ``--std-file`` in ``data``, and the ``--weights-file`` weights (one per row of ``data``, or
        None). A preset that estimates the std leaves neither a std column nor --std-file in use."""
        from dataclasses import replace

        from ..gmc import apply_preset, read_std_file, read_weights_file

        options, std_file = self.options, self.std_file
        if self.preset:
            options, use_std, preset_notes = apply_preset(self.preset, options, given=self.given,
                                                   has_std=data.std is not None or bool(std_file),
                                                   std_column=data.sources.get("std", ("", "std"))[1])
            if notes is None:
                echo_notes(preset_notes)
            else:
                notes.extend(preset_notes)
            if not use_std:
                data, std_file = replace(data, std=None), None   # the note says so: neither is used
        if std_file:
            std = per_image_values(read_std_file(std_file), data, std_file, "--std-file")
            data = replace(data, std=std, sources={**data.sources, "std": (str(std_file), None)})
        weights = None
        if self.weights_file:
            weights = per_image_values(read_weights_file(self.weights_file), data, self.weights_file,
                                       "--weights-file")
        return data, options, weights


def gmc_surfaces_from(request: GMCRequest, data, inputs: dict, *, seed, methods, backend, progress=True,
                      notes=None):
    """``correlation_surfaces`` of ``data`` as ``request`` (a :class:`GMCRequest`) asks: the preset,
    std and weights files applied, incomplete rows dropped (weights kept aligned). ``notes``: as in
    :meth:`GMCRequest.apply`."""
    from ..gmc import correlation_surfaces

    data, options, weights = request.apply(data, notes)
    if weights is not None:
        weights = dict(zip(data.rows.tolist(), weights))
    data = data.complete(nan_policy=inputs["nan_policy"], need_std=data.std is not None)
    if weights is not None:            # the weights of the rows that were kept
        weights = [weights[r] for r in data.rows.tolist()]
    more = {k: v for k, v in (("grid_res", request.grid_res), ("bw_method", request.bw_method)) if v is not None}
    return correlation_surfaces(data, std=None, seed=seed, grid=request.grid, methods=methods, weights=weights,
                                options=options, backend=backend, progress=progress, **more)


def input_options(func):
    """Add the FILES argument and the column/policy options shared by every command."""
    for decorator in reversed(_INPUT_OPTIONS):
        func = decorator(func)
    return func


def column_options(func):
    """The column/policy options of :func:`input_options` without FILES (``bench`` reads directories)."""
    for decorator in reversed(_INPUT_OPTIONS[1:]):
        func = decorator(func)
    return func


def load_dataset_from_options(opts: dict, *, models=None):
    """Read and orient the data named by :func:`input_options` options (a dict of them).

    ``models``: a callable that picks model names from the loaded data (e.g. the two that
    ``compare`` compares); the others are left out before orientation, so that nothing is
    said about models the command does not use.
    """
    from ..data.io import load_dataset

    data = load_dataset(opts["files"], mos_col=opts.get("mos_col"),
                        pred_cols=split_list(opts.get("pred_cols")) or None,
                        std_col=opts.get("std_col"), nratings_col=opts.get("nratings_col"),
                        key_col=opts.get("key_col"), join=opts.get("join") or "auto",
                        delimiter=opts.get("delimiter") or "auto", n_ratings=opts.get("n_ratings"))
    lower = split_list(opts.get("lower_is_better"))
    if models is not None:
        data = data.select(models(data))
        unknown = [m for m in lower if m not in data.predictions]
        lower = [m for m in lower if m in data.predictions]
        if unknown:
            data = data.with_notes(f"--lower-is-better {', '.join(unknown)}: not among the models used")
    return data.oriented(lower_is_better=lower, flip=not opts.get("no_flip", False))


def per_image_values(values, data, file, option):
    """Values of a side file (``--std-file``, ``--weights-file``: one value per line), one per row
    of the file that sets the image order (the data are in its row order), with a note naming it."""
    from iqa_eval.errors import InputError

    base = data.source("mos")[0]
    if len(values) != len(data):
        raise InputError(f"has {len(values)} values but {base}, the file that sets the image order, has "
                         f"{len(data)} rows (one value per line, in the row order of that file)", file=file)
    echo_notes([f"{option} {file}: one value per row of {base}, in its row order (the file that sets "
                "the image order)"])
    return values


#: Library parameter names in library messages -> the options that set them here. The library
#: speaks its own vocabulary (it does not know this command line exists); the CLI translates.
_OPTION_WORDS = {"flip=False": "--no-flip", "lower_is_better": "--lower-is-better", "mos_col": "--mos-col",
                 "key_col": "--key-col", "pred_cols": "--pred-cols", "std_col": "--std-col",
                 "nratings_col": "--nratings-col", "join='order'": "--join order", "join='key'": "--join key",
                 "lds_exact_counts=True": "--lds-exact-counts", "n_resamples": "--n-resamples",
                 "max_memory": "--max-memory", "krasula=True": "--krasula", "names=[...]": "--name",
                 "models=[...]": "--models", "n_ratings=": "--n-ratings ", "samples=": "--samples",
                 "grid=": "--grid", "grid_res": "--grid-res", "variance='corrected'": "--variance corrected",
                 "method='mean'": "--method mean", "screen='none'": "--screen none",
                 # apply_preset's notes: "sigma=2.0 given" -> "--sigma 2.0 given"
                 "regulator=": "--regulator ", "std_scale=": "--std-scale ", "plus=": "--weight-plus ",
                 "ks=": "--ks ", "sigma=": "--sigma ", "std_phi=": "--std-phi ", "or a std file": "or --std-file",
                 "(min_pairs)": "(--min-pairs)", "methods must be": "--method must be"}


def cli_words(text: str) -> str:
    """A library message with its parameter names replaced by this command line's options."""
    text = str(text)
    for word, flag in _OPTION_WORDS.items():
        text = text.replace(word, flag)
    return text


#: Messages already printed as ``warning:`` lines by :func:`command` in this invocation.
_WARNED: set = set()


def echo_notes(notes) -> None:
    """Print recoveries on stderr, one ``note:`` line each, once each (not again when the
    same message was already printed as a warning). A note is one line whatever the user
    strings in it hold (a newline is written ``\\n``)."""
    from .._runtime.escape import terminal_safe

    seen = set(_WARNED)
    for note in notes or ():
        note = cli_words(note)
        if note not in seen:
            seen.add(note)
            click.echo(terminal_safe(f"note: {note}"), err=True)


def write_output(text: str, output, outputs=None) -> None:
    """Write ``text`` to ``output`` or to stdout (``None`` or ``-``).

    A path is written atomically (a symlink's target replaced, a device or FIFO written
    through; see ``iqa_eval._runtime.atomic``), or staged in ``outputs`` (an ``OutputSet``) to be
    committed with the command's other outputs: then the caller says ``wrote`` after the
    commit (:func:`echo_written`)."""
    if output in (None, "-"):
        click.echo(safe_terminal_text(text.rstrip("\n")))
        return
    text = text if text.endswith("\n") else text + "\n"
    if outputs is not None:
        outputs.stage(output).write_text(text, encoding="utf-8")
        return
    from .._runtime.atomic import atomic_write

    atomic_write(output, text)
    echo_written([output])


def echo_written(paths) -> None:
    """One ``wrote PATH`` line on stderr per file written (``None`` and ``-`` skipped)."""
    from .._runtime.escape import terminal_safe

    for path in paths:
        if path not in (None, "-"):
            click.echo(f"wrote {terminal_safe(str(path))}", err=True)   # one line, whatever the name holds


def output_format(fmt: str, output, allowed) -> str:
    """The format to write ``output`` in: ``--format`` when given, else the file's ending
    (``-o scores.json`` writes JSON). An ending that contradicts ``--format``, or that no
    allowed format writes (``-o scores.png`` without ``--format``), is an error before any
    computation."""
    from pathlib import Path

    from ..errors import InputError

    if output in (None, "-"):
        return fmt
    suffix = Path(str(output)).suffix.lower()
    implied = OUTPUT_FORMAT_SUFFIXES.get(suffix) if suffix else "table"
    ctx = click.get_current_context(silent=True)
    given = ctx is not None and ctx.get_parameter_source("fmt") == click.core.ParameterSource.COMMANDLINE
    if implied is None and given:      # an ending of the user's own, with an explicit --format
        return fmt
    if implied not in allowed:
        raise InputError(f"cannot write a {suffix or 'suffix-less'} file here; the formats are "
                         f"{', '.join(allowed)} (.csv, .json, .md, .tex, .html, .txt)", file=str(output))
    if given and fmt != implied and suffix not in ("", ".txt"):
        raise InputError(f"--format {fmt} but the file ends in {suffix}; choose one", file=str(output))
    return fmt if given else implied


def check_outputs(outputs, inputs=()) -> None:
    """Check output paths before any computation (directory exists and is writable, not an
    input, not given twice): a bad one is an ``error:`` line before minutes of work."""
    from .._runtime.atomic import check_output_paths

    check_output_paths(outputs, inputs=_input_files(inputs))


def _input_files(inputs):
    """The input files (a directory's entries); a symbolic-link loop among them is an error
    naming it (pathlib's resolve() raises RuntimeError for one)."""
    import errno
    from pathlib import Path

    from ..errors import InputError

    out = []
    for f in inputs or ():
        p = Path(f)
        out += list(p.iterdir()) if p.is_dir() else [p]
    for p in out:
        try:
            p.stat()
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise InputError("a symbolic link that leads back to itself (a link loop); remove "
                                 "it or point it at a file", file=str(p)) from None
    return out


def safe_terminal_text(text: str) -> str:
    """Text laid out in lines by the tool, its control characters shown (``\\x1b``), never sent
    to the terminal; its newlines kept. User strings in it must be escaped where they are put
    in (:func:`iqa_eval._runtime.escape.terminal_safe`): their newlines could not be told from the tool's."""
    from .._runtime.escape import terminal_lines

    return terminal_lines(text)


def _debugging(debug: bool) -> bool:
    import os

    return debug or os.environ.get("IQA_EVAL_DEBUG", "") not in ("", "0")


def _engine_session(backend, scheduler):
    """With ``--backend dask``: a Dask session (the cluster at ``--scheduler``, or a LocalCluster
    started at first use) closed when the command ends, also on Ctrl-C."""
    import contextlib

    from iqa_eval.errors import InputError

    if backend == "dask":
        from iqa_eval.gmc import cluster_session
        return cluster_session(scheduler)
    ctx = click.get_current_context(silent=True)
    if scheduler and ctx is not None and \
            ctx.get_parameter_source("scheduler") == click.core.ParameterSource.COMMANDLINE:
        raise InputError("--scheduler is used only with --backend dask")
    return contextlib.nullcontext()


def command(func):
    """Run a command body with the package's error policy.

    ``IQAEvalError`` (bad input, an output that cannot be written, too little memory) ->
    ``error: <one line>`` and exit 2; an unexpected failure -> one ``error: internal error``
    line and exit 1. ``--debug`` (or ``IQA_EVAL_DEBUG=1``) shows the traceback. Ctrl-C ->
    staged outputs removed, ``interrupted`` and exit 130. Warnings of this package are shown
    as ``warning: <one line>`` (no source line, no traceback). Adds ``--debug``,
    ``--max-memory`` and ``--progress/--no-progress`` to the command. A ``scheduler`` option (of :func:`gmc_options`) is taken here: the body
    runs inside the engine's Dask session.
    """
    @functools.wraps(func)
    def wrapper(*args, debug=False, progress=True, max_memory=None, **kwargs):
        import threading
        import traceback
        import warnings

        from .._runtime import progress as _progress
        from .._runtime import resources as _resources
        from .._runtime.atomic import exit_on_signals
        from .._runtime.escape import terminal_safe

        def show(message, category, filename, lineno, file=None, line=None):
            prefix = "warning" if issubclass(category, IQAEvalWarning) else category.__name__
            message = cli_words(message)
            _WARNED.add(message)
            click.echo(terminal_safe(f"{prefix}: {message}"), err=True)

        def fail(message, status, exc=None):
            if exc is not None and _debugging(debug):
                traceback.print_exception(exc, file=sys.stderr)
            message = str(message)
            if not getattr(exc, "own_words", False):   # a message already in its reader's words (a manifest's)
                message = cli_words(message)
            click.echo(terminal_safe("error: " + " ".join(message.split())), err=True)
            _exit(status)

        old = warnings.showwarning
        old_handlers = exit_on_signals()
        if kwargs.get("backend") == "dask" and threading.current_thread() is threading.main_thread():
            # Ctrl-C as KeyboardInterrupt: the Dask session closes its cluster in order (no
            # worker, semaphore or "leaked" warning left behind); the kernels run in the workers,
            # so no jitted call is interrupted here. Staged outputs are discarded by OutputSet.
            import signal
            signal.signal(signal.SIGINT, signal.default_int_handler)
        warnings.showwarning = show
        _WARNED.clear()
        scheduler = kwargs.pop("scheduler", None)
        _progress.ENABLED = progress
        try:
            _resources.set_limit(max_memory)
            with warnings.catch_warnings(), _engine_session(kwargs.get("backend"), scheduler):
                warnings.simplefilter("default", IQAEvalWarning)
                result = func(*args, **kwargs)
            sys.stdout.flush()
            return result
        except IQAEvalError as exc:
            fail(exc, 2, exc)
        except MemoryError as exc:
            fail("out of memory; use smaller --grid/--samples/--n-resamples, or fewer rows", 2, exc)
        except OSError as exc:   # stdout closed or full, a disk error while reading
            if isinstance(exc, BrokenPipeError):
                _exit(1, quiet=True)
            if exc.errno is None and getattr(exc, "filename", None) is None:
                # no file and no errno (a TimeoutError from a cluster, ...): not an output problem
                fail(f"internal error ({type(exc).__name__}: {exc}); run with --debug for the "
                     "traceback and please report it", 1, exc)
            where = getattr(exc, "filename", None) or "standard output"
            fail(f"{where}: cannot write ({exc.strerror or type(exc).__name__})", 2, exc)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            _exit(130)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except Exception as exc:  # a bug: one line, the traceback only with --debug
            fail(f"internal error ({type(exc).__name__}: {exc}); run with --debug for the traceback "
                 "and please report it", 1, exc)
        finally:
            warnings.showwarning = old
            _progress.ENABLED = True
            _resources.set_limit(None)
            import signal
            for signum, handler in old_handlers.items():
                signal.signal(signum, handler)
    wrapper = click.option("--debug", is_flag=True, default=False,
                           help="Show the traceback of an error (for bug reports).")(wrapper)
    wrapper = click.option("--max-memory", default=None, metavar="SIZE",
                           help="Memory the command may plan to use, e.g. 8G or 500M "
                                "(default: the available memory).")(wrapper)
    wrapper = click.option("--progress/--no-progress", default=True, show_default=True,
                           help="Progress bar on stderr (only on a terminal, for runs over a "
                                "second).")(wrapper)
    return wrapper


def _exit(status: int, quiet: bool = False):
    """Exit with ``status``; a closed or full stdout cannot turn this into a traceback."""
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    if not quiet:
        sys.exit(status)
    # stdout is gone: silence the interpreter's final flush, which would fail again
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except Exception:
        pass
    sys.exit(status)
