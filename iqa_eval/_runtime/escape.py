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

__all__ = ["spreadsheet_safe", "csv_safe", "neutralise_frame", "csv_text", "markdown_safe", "terminal_safe", "terminal_lines",
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
            out[col] = _safe_text_column(out[col])
    out.columns = [csv_safe(c) for c in out.columns]
    return out


def _safe_text_column(column):
    """:func:`csv_safe` of every cell, computed once per distinct string (a surface's model and
    method columns repeat a few names over 10^5 rows); other cells (numbers, missing) as they are."""
    import pandas as pd

    if isinstance(column.dtype, pd.CategoricalDtype):   # escaped names are not its categories
        column = column.astype(object)
    values = column.to_numpy(dtype=object)
    strings = [i for i, v in enumerate(values) if isinstance(v, str)]
    if not strings:
        return column
    codes, uniques = pd.factorize(pd.Series(values[strings], dtype=object))
    safe = [csv_safe(u) for u in uniques]
    out = values.copy()
    out[strings] = [safe[k] for k in codes]
    return pd.Series(out, index=column.index, dtype=column.dtype)


def csv_text(frame, *, float_format: str | None = "%.17g") -> str:
    """``frame`` as CSV text, without its index, every text cell and column name made
    :func:`csv_safe`; floats written with ``float_format`` (``%.17g``: read back exactly; None:
    the shortest text that reads back exactly, as pandas writes them by default), missing values
    empty.

    The bytes of ``neutralise_frame(frame).to_csv(index=False, float_format=float_format)``
    (tested), about three times faster on large tables (a surface grid: 10^5 rows), where
    pandas formats every float through its own Python layer."""
    import csv
    import io

    import numpy as np
    import pandas as pd

    safe = neutralise_frame(frame)

    def plain(dtype):   # what the fast path writes as pandas does
        if isinstance(dtype, np.dtype):
            return dtype == object or dtype.kind == "b" or (dtype.kind in "fiu" and dtype.itemsize == 8)
        return isinstance(dtype, pd.StringDtype)

    if safe.shape[1] == 0 or not all(plain(safe[c].dtype) and isinstance(c, str) for c in safe.columns):
        # the shapes the fast path does not write as pandas does (float32, dates, extension
        # types, non-text column names, no columns): pandas itself
        return safe.to_csv(index=False, float_format=float_format)
    columns = []
    for col in safe.columns:
        series = safe[col]
        missing = series.isna().to_numpy()
        if series.dtype.kind == "f":
            # each distinct value formatted once (grid coordinates repeat per model and form);
            # distinct by bit pattern, so -0.0 and 0.0 keep their own text
            bits = series.to_numpy(dtype=np.float64).view(np.int64)
            distinct, where = np.unique(bits, return_inverse=True)
            text = [float_format % v if float_format else repr(v) for v in distinct.view(np.float64).tolist()]
            cells = [text[k] for k in where.tolist()]
        else:
            cells = [v if isinstance(v, str) else str(v) for v in series.to_numpy(dtype=object).tolist()]
        if missing.any():
            for i in missing.nonzero()[0].tolist():
                cells[i] = ""
        columns.append(cells)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")   # pandas' own writer and defaults (QUOTE_MINIMAL)
    writer.writerow([c if isinstance(c, str) else str(c) for c in safe.columns])
    writer.writerows(zip(*columns))
    return out.getvalue()


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
