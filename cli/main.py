"""The ``iqa-eval`` command: a group of thin sub-commands (one module each).

:func:`main` installs its Ctrl-C handler before anything slow is imported (click alone takes
~60 ms), so the group (``cli``) is built on first use, not at import.
"""
from __future__ import annotations

import functools
import importlib

# name -> module in this package defining a click command of the same name. Commands are
# imported only when used, so `iqa-eval score` never pays for plotting or statsmodels.
COMMANDS = {
    "score": "Standard metrics (SROCC, KRCC, PLCC, RMSE) with CIs and paired tests.",
    "surface": "GMC correlation surfaces and scores.",
    "compare": "Compare two models: paired tests and where on the GMC surface they differ.",
    "report": "One self-contained HTML report of an evaluation.",
    "bench": "The paper table: every model on every dataset, ties with the best, Friedman/Nemenyi.",
    "simulate": "Write a simulated subjective study (example data).",
    "mos": "Raw ratings -> MOS, std, n_ratings, CI (screening, subject model MLE, noise ceiling).",
    "serve": "The GMC studio: explore, compare and export in the browser (local web app).",
}


@functools.lru_cache(maxsize=None)
def _build():
    """The click group (and its class), built once."""
    import click

    class LazyGroup(click.Group):
        def list_commands(self, ctx):
            return list(COMMANDS)

        def get_command(self, ctx, name):
            if name not in COMMANDS:
                return None
            try:
                module = importlib.import_module(f".{name}", __package__)
            except ModuleNotFoundError as exc:
                if exc.name == f"{__package__}.{name}":
                    return None
                raise
            return getattr(module, name)

        def format_commands(self, ctx, formatter):
            rows = [(name, help_) for name, help_ in COMMANDS.items() if self.get_command(ctx, name)]
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    @click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(package_name="iqa-eval")
    def cli():
        """Evaluate image quality assessment models against MOS.

        Every command reads CSV/TSV/XLSX/Parquet tables: one file with several prediction
        columns, or one file per model (joined on image names, or by row order checked by MOS;
        see --join). A directory reads every table in it.
        """

    return cli, LazyGroup


def __getattr__(name):   # ``from iqa_eval.cli.main import cli`` builds the group
    if name in ("cli", "LazyGroup"):
        return _build()[name == "LazyGroup"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _interrupted(signum, frame):
    # Ctrl-C or SIGTERM before a command runs (imports, option parsing): one line, exit 130 or
    # 143, no traceback. Commands replace this with a handler that also removes staged outputs.
    import os
    import signal

    os.write(2, b"interrupted\n" if signum == signal.SIGINT else b"terminated\n")
    os._exit(128 + signum)


def main():
    """Run the command line. A bad option or argument is one ``error:`` line and exit 2, like
    every other input error (click's own three-line usage message is not shown)."""
    import signal
    import sys

    signal.signal(signal.SIGINT, _interrupted)   # first: before click and the commands load
    signal.signal(signal.SIGTERM, _interrupted)
    import click

    cli = _build()[0]
    try:
        status = cli.main(prog_name="iqa-eval", standalone_mode=False)
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":   # bare `iqa-eval`: the help, as asked
            click.echo(exc.format_message())
            sys.exit(0)
        where = exc.ctx.command_path if exc.ctx is not None else "iqa-eval"
        hint = f" (see '{where} --help')" if exc.ctx is not None else ""
        click.echo(f"error: {where}: {' '.join(exc.format_message().split())}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
        sys.exit(2)
    except click.Abort:
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
