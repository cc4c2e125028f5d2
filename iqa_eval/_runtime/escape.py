"""User strings made inert for each text output: spreadsheets, Markdown, terminals.

Model names, file names and column names come from the user's files and can hold
anything. HTML is escaped where pages are built (``html.escape``); this module holds the
others, in one place (LaTeX: :func:`latex_escape`, every special written out, ``*`` braced so no
later replacement can turn a user's star into a mark):

- :func:`spreadsheet_safe` / :func:`csv_safe` / :func:`neutralise_frame`: a CSV/XLSX cell
  starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return would be a live formula when
  the file is opened in a spreadsheet (OWASP "CSV injection"); such text cells get a leading
  ``'``. The text cells of a CSV are also :func:`terminal_safe`: a carriage return inside a
  name is not quoted by the CSV writer and would start a new row (``x\\r=HYPERLINK(...)``).
  Numbers are never touched (``-0.5`` stays a number).
- :func:`markdown_safe`: Markdown table cells with HTML, emphasis, links and line breaks
  shown literally.
- :func:`terminal_safe`: one user string on one line: control characters (escape sequences,
  newline, ``\\r``, bell, ...), Unicode line separators and bidirectional overrides shown as
  ``\\x1b``-style text instead of being sent to the terminal, so a name can neither break a
  table nor start a line of its own (a forged ``note:`` or ``error:``);
- :func:`terminal_lines`: text the tool laid out in lines: each line made :func:`terminal_safe`.
  User strings inside it must have been escaped where they were put in (a newline in them
  could not be told from the tool's).
"""
from __future__ import annotations

import html
import re

__all__ = ["spreadsheet_safe", "csv_safe", "neutralise_frame", "markdown_safe", "terminal_safe", "terminal_lines",
           "latex_escape"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# C0 and C1 control characters (newline and tab included: one string, one line, no column
# shift), the Unicode line and paragraph separators, zero-width and bidirectional controls
# (which reorder what a line shows) and the byte-order mark.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def spreadsheet_safe(value):
    """``value`` as a spreadsheet cell that cannot be a formula (OWASP: prefix ``'``)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_safe(value):
    """A text cell of a CSV: one line (:func:`terminal_safe`) and never a formula."""
    return spreadsheet_safe(terminal_safe(value)) if isinstance(value, str) else value


def neutralise_frame(frame):
    """A copy of ``frame`` with every text cell and column name made :func:`csv_safe`."""
    import pandas as pd  # here: errors.where uses this module and must stay light

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(csv_safe)
    out.columns = [csv_safe(c) for c in out.columns]
    return out


def markdown_safe(text) -> str:
    """Text for a Markdown table cell: no raw HTML, no markup, no math (``$``), one line."""
    s = terminal_safe(" ".join(str(text).split()))
    s = html.escape(s, quote=False)
    return re.sub(r"([\\`*_{}\[\]|~!$])", r"\\\1", s)


def terminal_safe(text) -> str:
    """``text`` on one line, control characters written out (``'\\x1b[31m'`` -> ``'\\\\x1b[31m'``,
    a newline -> ``'\\\\n'``)."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), str(text))


def terminal_lines(text) -> str:
    """Text laid out in lines by the tool: every line :func:`terminal_safe`, the newlines kept."""
    return "\n".join(terminal_safe(line) for line in str(text).split("\n"))


# ``*`` is braced so that no later replacement can find a user's star and make it a mark
_LATEX_SPECIAL = {"*": "{*}", "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  # OT1 fonts print these as other glyphs (< > | as ¡ ¿ —)
                  "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters in plain text; control characters are written out
    (``\\x1b``) first, since pdflatex rejects them."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in terminal_safe(str(text)))
