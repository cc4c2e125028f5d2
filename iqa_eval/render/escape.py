"""User strings made inert for each text output: spreadsheets, Markdown, terminals.

Model names, file names and column names come from the user's files and can hold
anything. HTML is escaped where pages are built (``html.escape``) and LaTeX by
``formatting.latex_escape``; this module holds the other three, in one place:

- :func:`spreadsheet_safe` / :func:`neutralise_frame`: a CSV/XLSX cell starting with
  ``=``, ``+``, ``-``, ``@``, tab or carriage return would be a live formula when the file
  is opened in a spreadsheet (OWASP "CSV injection"); such text cells get a leading ``'``.
  Numbers are never touched (``-0.5`` stays a number).
- :func:`markdown_safe`: Markdown table cells with HTML, emphasis, links and line breaks
  shown literally.
- :func:`terminal_safe`: control characters (escape sequences, ``\\r``, bell, ...) shown as
  ``\\x1b``-style text instead of being sent to the terminal.
"""
from __future__ import annotations

import html
import re

import pandas as pd

__all__ = ["spreadsheet_safe", "neutralise_frame", "markdown_safe", "terminal_safe"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# C0 and C1 control characters except newline (and tab, harmless on a terminal).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def spreadsheet_safe(value):
    """``value`` as a spreadsheet cell that cannot be a formula (OWASP: prefix ``'``)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name made :func:`spreadsheet_safe`."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(spreadsheet_safe)
    out.columns = [spreadsheet_safe(c) for c in out.columns]
    return out


def markdown_safe(text) -> str:
    """Text for a Markdown table cell: no raw HTML, no markup, one line."""
    s = terminal_safe(" ".join(str(text).split()))
    s = html.escape(s, quote=False)
    return re.sub(r"([\\`*_{}\[\]|~!])", r"\\\1", s)


def terminal_safe(text) -> str:
    """``text`` with control characters written out (``'\\x1b[31m'`` -> ``'\\\\x1b[31m'``)."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), str(text))
