"""Every exception of the package, and the notes that reach the user.

Every problem with user input is an :class:`InputError` whose message is one line
naming the file, column and row where they apply. The command line prints that line
and exits with status 2; it never shows a traceback for bad input.

Recoveries (rows dropped, a model flipped, a fit that fell back to a simpler mapping)
are not errors: they are recorded as plain-language *notes* on the result objects and
printed by the command line on stderr, so nothing is changed silently.
"""
from __future__ import annotations

import warnings

__all__ = ["IQAEvalError", "InputError", "OutputError", "ResourceError", "MissingDependencyError",
           "IQAEvalWarning", "where", "warn"]


class IQAEvalError(Exception):
    """Base class of the errors this package raises on purpose."""


def where(file=None, column=None, row=None) -> str:
    """Format a location prefix: ``"preds.csv, column 'mos', row 12"``.

    Rows are 1-based data rows (the header is not counted), as a user sees them in a
    spreadsheet below the header line.
    """
    parts = []
    if file is not None:
        from ._runtime.escape import terminal_safe  # a newline in a file name is shown, not collapsed

        parts.append(terminal_safe(file))
    if column is not None:
        parts.append(f"column {str(column)!r}")
    if row is not None:
        parts.append(f"row {int(row)}")
    return ", ".join(parts)


class InputError(IQAEvalError, ValueError):
    """Bad user input. ``str(err)`` is one line: ``"<file>, column 'c', row r: <message>"``."""

    def __init__(self, message: str, *, file=None, column=None, row=None):
        self.file, self.column, self.row = file, column, row
        self.reason = " ".join(str(message).split())  # always one line
        loc = where(file, column, row)
        super().__init__(f"{loc}: {self.reason}" if loc else self.reason)


class OutputError(InputError):
    """An output cannot be written (missing directory, no permission, disk full, ...)."""


class ResourceError(InputError):
    """A computation would need more memory than the limit (:func:`iqa_eval.set_config`)."""


class IQAEvalWarning(UserWarning):
    """Warning for degenerate but legal input (constant predictions, zero std, ...)."""


def warn(message: str, stacklevel: int = 3) -> None:
    warnings.warn(" ".join(str(message).split()), IQAEvalWarning, stacklevel=stacklevel)


class MissingDependencyError(IQAEvalError, ImportError):
    """An optional dependency is not installed; the message names the pip extra that brings it."""
