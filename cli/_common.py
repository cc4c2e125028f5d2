"""What every command shares: input options, loading, error handling, notes.

Commands stay thin: they parse options, call the library and print. Bad input becomes
one ``error: ...`` line on stderr and exit status 2 — never a traceback.
"""
from __future__ import annotations

import functools
import sys

import click

from ..errors import IQAEvalError, IQAEvalWarning

from ..options import BACKENDS, CLI_ALIASES, NAN_POLICIES, Interval

__all__ = ["input_options", "load_dataset_from_options", "command", "echo_notes", "split_list",
           "gmc_options", "gmc_options_from", "gmc_methods", "parse_grid", "write_output", "Choice"]


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


def _click_type(rule):
    """The click type of an option from its library rule (a tuple of values or an Interval)."""
    if isinstance(rule, Interval):
        cls = click.IntRange if rule.integral else click.FloatRange
        return cls(min=rule.low, max=rule.high, min_open=rule.closed in ("right", "neither"),
                   max_open=rule.closed in ("left", "neither"))
    return Choice(rule)


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
    click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False)),
    click.option("--mos-col", default=None, help="MOS column (default: auto-detect mos, dmos, 'Ground Truth Labels', ...)."),
    click.option("--pred-cols", multiple=True, help="Prediction columns, comma-separated or repeated (default: every other numeric column)."),
    click.option("--std-col", default=None, help="Per-image std of the ratings (default: auto-detect std, mos_std, ...)."),
    click.option("--nratings-col", default=None, help="Number of ratings per image (default: auto-detect n_ratings, votes, ...)."),
    click.option("--key-col", default=None, help="Image-name column used to join several files (default: auto-detect)."),
    click.option("--nan-policy", type=Choice([p for p in NAN_POLICIES if p != "propagate"]), default="omit", show_default=True,
                 help="Rows with NaN/inf/empty values: drop them with a stated count, or stop with an error."),
    click.option("--lower-is-better", multiple=True, metavar="NAME",
                 help="Model whose scores fall as quality rises (negated before evaluation). Repeatable."),
    click.option("--no-flip", is_flag=True, default=False,
                 help="Do not negate models whose SROCC with MOS is negative."),
]


def _gmc_option_decorators():
    """``--std-scale``, ``--regulator``, ... generated from the fields of GMCOptions, and ``--backend``."""
    from ..gmc.options import GMCOptions

    out = [click.option("--" + f.name.replace("_", "-"), f.name, type=_click_type(f.metadata["rule"]),
                        default=f.default, show_default=True, help=f.metadata["help"])
           for f in GMCOptions.cli_fields()]
    out.append(click.option("--backend", type=Choice(BACKENDS), default="auto", show_default=True,
                            help="GMC engine backend (auto: numba on CPU, CuPy for large sets when "
                                 "importable)."))
    return out


def gmc_options(func):
    """Add the GMC options shared by surface, compare and report (GMCOptions' fields, backend)."""
    for decorator in reversed(_gmc_option_decorators()):
        func = decorator(func)
    return func


def gmc_options_from(params: dict, **more):
    """Pop the GMCOptions fields that :func:`gmc_options` added from a command's ``params``
    and build the options (``more``: fields set by other options of the command)."""
    from ..gmc.options import GMCOptions

    values = {f.name: params.pop(f.name) for f in GMCOptions.cli_fields() if f.name in params}
    return GMCOptions(**values, **more)


def input_options(func):
    """Add the FILES argument and the column/policy options shared by every command."""
    for decorator in reversed(_INPUT_OPTIONS):
        func = decorator(func)
    return func


def load_dataset_from_options(opts: dict, *, models=None):
    """Read and orient the data named by :func:`input_options` options (a dict of them).

    ``models``: a callable that picks model names from the loaded data (e.g. the two that
    ``compare`` compares); the others are left out before orientation, so that nothing is
    said about models the command does not use.
    """
    from ..io import load_dataset

    data = load_dataset(opts["files"], mos_col=opts.get("mos_col"),
                        pred_cols=split_list(opts.get("pred_cols")) or None,
                        std_col=opts.get("std_col"), nratings_col=opts.get("nratings_col"),
                        key_col=opts.get("key_col"))
    lower = split_list(opts.get("lower_is_better"))
    if models is not None:
        data = data.select(models(data))
        unknown = [m for m in lower if m not in data.predictions]
        lower = [m for m in lower if m in data.predictions]
        if unknown:
            data = data.with_notes(f"--lower-is-better {', '.join(unknown)}: not among the models used")
    return data.oriented(lower_is_better=lower, flip=not opts.get("no_flip", False))


#: Library parameter names in library messages -> the options that set them here. The library
#: speaks its own vocabulary (it does not know this command line exists); the CLI translates.
_OPTION_WORDS = {"flip=False": "--no-flip", "lower_is_better": "--lower-is-better", "mos_col": "--mos-col",
                 "key_col": "--key-col", "pred_cols": "--pred-cols", "std_col": "--std-col",
                 "nratings_col": "--nratings-col"}


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
    same message was already printed as a warning)."""
    seen = set(_WARNED)
    for note in notes or ():
        note = cli_words(note)
        if note not in seen:
            seen.add(note)
            click.echo(f"note: {note}", err=True)


def write_output(text: str, output) -> None:
    """Write ``text`` to ``output`` (a path) or to stdout."""
    if output in (None, "-"):
        click.echo(text.rstrip("\n"))
        return
    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise click.ClickException(f"{output}: cannot write ({exc.strerror})")
    click.echo(f"wrote {output}", err=True)


def command(func):
    """Run a command body with the package's error policy.

    ``IQAEvalError`` -> ``error: <one line>`` and exit 2; warnings of this package are shown as
    ``warning: <one line>`` (no source line, no traceback).
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import warnings

        def show(message, category, filename, lineno, file=None, line=None):
            prefix = "warning" if issubclass(category, IQAEvalWarning) else category.__name__
            message = cli_words(message)
            _WARNED.add(message)
            click.echo(f"{prefix}: {message}", err=True)

        old = warnings.showwarning
        warnings.showwarning = show
        _WARNED.clear()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default", IQAEvalWarning)
                return func(*args, **kwargs)
        except IQAEvalError as exc:
            click.echo(f"error: {cli_words(exc)}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        finally:
            warnings.showwarning = old
    return wrapper
