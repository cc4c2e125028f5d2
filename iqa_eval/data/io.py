"""Reading prediction/MOS tables and joining them into a :class:`~iqa_eval.data.dataset.Dataset`.

Supported: CSV with any common delimiter (UTF-8, with or without BOM), TSV, XLSX and
Parquet. One file may hold several prediction columns; several files may each hold one
model (the model is then named after the file stem). Files are joined on a key column
(given, or a real image identifier found in the files: unique, not empty, not a row number)
or, without keys, by row order only when it is proven (a MOS column in both files that agrees
row by row and has no ties) or asked for (``join='order'``); anything else is an error, so
misaligned files are never silently combined.

Every problem is an :class:`~iqa_eval.errors.InputError` naming file, column and row.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import Dataset
from .._runtime.optional import require
from ..errors import InputError, MissingDependencyError, warn
from ..options import DELIMITERS, JOINS, N_RATINGS, TABLE_SUFFIXES, check_choice, validate_params

__all__ = ["read_table", "load_dataset", "find_column", "normalised_keys", "MOS_NAMES", "STD_NAMES",
           "NRATINGS_NAMES", "KEY_NAMES"]

# Recognised column names, compared after lower-casing and dropping non-alphanumerics.
MOS_NAMES = ("mos", "dmos", "groundtruthlabels", "groundtruth", "gt", "meanopinionscore",
             "mosscore", "subjectivescore", "zmos", "mosz", "label", "labels", "target")
STD_NAMES = ("std", "mosstd", "stddev", "stdev", "sd", "sigma", "std_mos", "mossd")
NRATINGS_NAMES = ("nratings", "numratings", "ratings", "nvotes", "numvotes", "votes", "count",
                  "nobservers", "numobservers", "nsubjects", "numsubjects", "n")
KEY_NAMES = ("image", "imagename", "img", "imgname", "distname", "distortedimage", "filename",
             "file", "name", "path", "imagepath", "key", "id", "imageid", "picture", "video")
# Numeric columns that are metadata, never a model's predictions.
_NOT_PREDICTIONS = ("refname", "reference", "index", "unnamed0", "row", "split", "fold",
                    "cilow", "cihigh")  # ci_low/ci_high: the MOS interval written by `iqa-eval mos`
# Row numbers (what DataFrame.reset_index() or to_csv() writes): never an image key.
_ROW_NUMBER_NAMES = ("index", "unnamed0", "row", "rowid", "rownumber")
# MOS-like columns (opinion scores, their spread and counts): never scored as a model.
_MOS_LIKE = frozenset(re.sub(r"[^0-9a-z]", "", n) for n in MOS_NAMES + STD_NAMES + NRATINGS_NAMES)
_EXACT_INT = 2 ** 53   # float64 holds every integer up to this one exactly

# A lone prediction column with one of these names is named after its file instead.
_GENERIC_PREDICTIONS = ("resultsscoresforcc", "pred", "prediction", "predictions", "predicted",
                        "score", "scores", "ypred", "output", "quality")

_DELIMITERS = (",", ";", "\t", "|")
_READ_ROWS = 65_536  # rows per block when reading a text table
_TEXT_SUFFIXES = (".csv", ".txt", ".dat", "")


def _norm(name) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def find_column(columns, candidates):
    """First column whose normalised name is in ``candidates`` (in candidate order)."""
    by_norm = {}
    for col in columns:
        by_norm.setdefault(_norm(col), col)
    for cand in candidates:
        if _norm(cand) in by_norm:
            return by_norm[_norm(cand)]
    return None


def _sniff_delimiter(path: Path) -> str:
    """Delimiter that splits the first records into the same, largest number of fields
    (records parsed as CSV, so a quoted ``"a,b"`` or a quoted line break counts once)."""
    with open(path, "r", encoding="utf-8-sig", errors="replace", newline="") as fh:
        head = fh.read(1 << 16)
    lines = [line for line in head.splitlines() if line.strip()][:20]
    if not lines:
        return ","
    best, best_fields = ",", 1
    for delim in _DELIMITERS:
        try:
            records = [r for _, r in zip(range(21), csv.reader(io.StringIO(head), delimiter=delim)) if r]
        except csv.Error:
            continue
        if len(records) > 20 or len(head) == (1 << 16):
            records = records[:-1]  # the last one may be cut by the read
        counts = {len(r) for r in records}
        if len(counts) == 1 and (n := counts.pop()) > best_fields:
            best, best_fields = delim, n
    # blanks separate fields only when every line splits into the header's number of
    # fields: a one-column header with spaces ('Results Scores for CC') is one column
    whole = lines[:-1] if len(head) == (1 << 16) and len(lines) > 1 else lines
    if best_fields == 1 and len({len(line.split()) for line in whole}) == 1 and len(lines[0].split()) > 1:
        return r"\s+"
    return best


def _is_number(text) -> bool:
    try:
        return np.isfinite(float(str(text).strip()))
    except ValueError:
        return False


@validate_params({"delimiter": DELIMITERS})
def read_table(path, *, delimiter: str = "auto") -> pd.DataFrame:
    """Read one table by its extension.

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.txt`` (delimiter sniffed: comma, semicolon, tab, pipe or blanks; UTF-8
        with or without BOM), ``.tsv``, ``.xlsx``/``.xls``, ``.parquet``/``.pq``.
    delimiter : {'auto', ',', ';', 'tab', '|', 'whitespace'}, default 'auto'
        Field delimiter of a text table; ``'auto'`` sniffs it from the first records
        (blanks only when every line splits into the same number of fields).

    Returns
    -------
    DataFrame
        Columns as in the file; the index is the 0-based data row.

    Raises
    ------
    InputError
        Missing, unreadable or empty file, or a file with no columns.

    Warns
    -----
    IQAEvalWarning
        A choice made while reading (e.g. which sheet of a workbook); :func:`load_dataset`
        lists the same choices in ``Dataset.notes`` instead.

    Examples
    --------
    >>> read_table("examples/simulated_study.csv").columns[:3].tolist()
    ['image', 'mos', 'std']
    """
    df, notes = _read_table(path, delimiter=delimiter)
    for note in notes:
        warn(note)
    return df


def _read_table(path, delimiter="auto"):
    """(DataFrame, notes) of one table file: :func:`read_table` without the warnings."""
    check_choice("delimiter", delimiter, DELIMITERS)
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file" if not path.exists() else "not a file", file=path)
    suffix = path.suffix.lower()
    notes = []
    from .._runtime.resources import check_memory, format_size

    # a parsed table takes about the file's size (numbers as float64, names as strings);
    # parsing holds a few copies at once; compressed formats expand
    factor = 10 if suffix in (".xlsx", ".xlsm", ".xls", ".parquet", ".pq") else 4
    check_memory(factor * path.stat().st_size, f"reading {path.name} ({format_size(path.stat().st_size)})",
                 hint="use a smaller file")
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            require("openpyxl", "XLSX files")
            sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=object)
            names = list(sheets)
            if not names:
                raise InputError("workbook has no sheet", file=path)
            used = next((n for n in names if sheets[n].dropna(how="all").shape[0]), names[0])
            raw = sheets[used].dropna(how="all").dropna(axis=1, how="all")
            if len(names) > 1:
                notes.append(f"{path}: workbook has {len(names)} sheets; read sheet {used!r} only "
                             f"(others: {', '.join(repr(n) for n in names if n != used)})")
            header = [str(c).strip() for c in raw.iloc[0].tolist()] if len(raw) else []
            df = pd.DataFrame(raw.iloc[1:].to_numpy(), columns=header)
            df = df.apply(lambda c: pd.to_numeric(c) if _all_numeric(c) else c)
        elif suffix in (".parquet", ".pq"):
            require("pyarrow", "Parquet files")
            df = pd.read_parquet(path)
            header = list(df.columns)
        elif suffix in (".tsv",) + _TEXT_SUFFIXES:
            if path.stat().st_size == 0:
                raise InputError("empty file", file=path)
            sep = {"tab": "\t", "whitespace": r"\s+"}.get(delimiter, delimiter)
            if delimiter == "auto":
                sep = "\t" if suffix == ".tsv" else _sniff_delimiter(path)
            engine = "python" if len(sep) > 1 else "c"
            header = pd.read_csv(path, sep=sep, encoding="utf-8-sig", engine=engine, header=None,
                                 nrows=1, dtype=str, keep_default_na=False).iloc[0].tolist()
            # read in blocks of rows: one read of a large file builds every text cell as a
            # Python string first (and every column twice); blocks keep that to one block's worth.
            # Column types are inferred per block and combined, as pandas' own low_memory reader does.
            blocks = pd.read_csv(path, sep=sep, encoding="utf-8-sig", engine=engine, chunksize=_READ_ROWS)
            with blocks:
                parts = list(blocks)
            if not parts:  # a header and no data row
                parts = [pd.read_csv(path, sep=sep, encoding="utf-8-sig", engine=engine)]
            df = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
            del parts
        else:
            raise InputError(f"unsupported file type {suffix!r} (use CSV, TSV, XLSX or Parquet)", file=path)
    except (InputError, MissingDependencyError):
        raise
    except pd.errors.EmptyDataError:
        raise InputError("empty file", file=path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=path) from None
    except (pd.errors.ParserError, ValueError, OSError, ImportError, zipfile.BadZipFile, KeyError,
            EOFError, TypeError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read table ({type(exc).__name__}: {msg})", file=path) from None
    except Exception as exc:  # e.g. a truncated workbook or Parquet file: the reader's own errors
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise InputError(f"cannot read table ({type(exc).__name__}{': ' + msg if msg else ''})",
                         file=path) from None
    if df.shape[1] == 0:
        raise InputError("no columns found", file=path)
    header = [str(c).strip() for c in header]
    numeric_names = [c for c in header if _is_number(c)]
    if numeric_names:
        raise InputError(f"the first line looks like data, not column names (e.g. {numeric_names[0]!r}): "
                         "the file seems to have no header line; add one (e.g. image,mos,model)",
                         file=path)
    if df.shape[0] == 0:
        raise InputError("no data rows (only a header)", file=path)
    seen = {}
    for k, col in enumerate(header):
        if col in seen:
            raise InputError(f"duplicate column name (columns {seen[col] + 1} and {k + 1})",
                             file=path, column=col)
        seen[col] = k
    df.columns = header
    df = df.reset_index(drop=True)
    return df, tuple(notes)


def _all_numeric(col: pd.Series) -> bool:
    values = col.dropna()
    return len(values) > 0 and pd.to_numeric(values, errors="coerce").notna().all()


def numeric_column(df: pd.DataFrame, column, *, file=None) -> np.ndarray:
    """A column as float64; empty cells become NaN, any other text is an error naming its row."""
    col = df[column]
    if pd.api.types.is_integer_dtype(col):
        _check_exact_integers(col, file=file, column=column)
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        # a copy: a view would keep the table's whole 2-D block alive after reading
        return np.array(col.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64, copy=True)
    values = pd.to_numeric(col, errors="coerce")
    if pd.api.types.is_integer_dtype(values):
        _check_exact_integers(values, file=file, column=column)
    text = col.astype("string").str.strip()
    bad = values.isna() & col.notna() & (text != "") & ~text.str.lower().isin(["nan", "na", "n/a", "null", "none", "inf", "-inf"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy(dtype=bool))[0])
        raise InputError(f"non-numeric value {str(col.iloc[i])!r}", file=file, column=column, row=i + 1)
    out = np.array(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)  # writable copy
    low = text.str.lower().to_numpy(dtype=object)
    out[low == "inf"] = np.inf
    out[low == "-inf"] = -np.inf
    return out


def _check_exact_integers(col: pd.Series, *, file=None, column=None) -> None:
    """Integers beyond 2**53 would be rounded when made float64 (and their ranks change):
    refused, naming the first such row, rather than silently made inexact."""
    values = col.to_numpy()
    big = np.flatnonzero((values > _EXACT_INT) | (values < -_EXACT_INT))
    if big.size:
        i = int(big[0])
        raise InputError(f"integer {int(values[i])} is beyond 2^53 and cannot be compared exactly as a "
                         "float64 score; rescale the column (e.g. divide by a power of ten) or store it as "
                         "a decimal", file=file, column=column, row=i + 1)


class _Table:
    """One file's roles: which column is MOS, std, count, key and the predictions."""

    def __init__(self, path, df, *, mos_col, pred_cols, std_col, nratings_col, key_col, joined=True):
        self.path, self.df = Path(path), df
        self._keys = {}
        cols = list(df.columns)
        self.mos = self._pick(mos_col, MOS_NAMES, "MOS")
        self.std = self._pick(std_col, STD_NAMES, "std")
        self.nratings = self._pick(nratings_col, NRATINGS_NAMES, "number-of-ratings")
        self.key = self._pick(key_col, KEY_NAMES, "key")
        if self.key is not None and key_col is None and (
                self.keys_of(self.key) is None or _is_row_number(df[self.key])
                if joined else pd.api.types.is_float_dtype(df[self.key])):
            # a named column that cannot identify images (fractions, empty cells, row numbers)
            self.key = None
        self.explicit_preds = bool(pred_cols)
        used = {self.mos, self.std, self.nratings, self.key}
        if pred_cols:
            self.preds = [c for c in pred_cols if c in cols]
            for c in self.preds:
                if c in (self.mos, self.std, self.nratings) or _norm(c) in _MOS_LIKE:
                    raise InputError("is an opinion-score column (MOS, its std or its number of ratings), "
                                     "not a prediction: leave it out of pred_cols", file=self.path, column=c)
        else:
            self.preds = [c for c in cols if c not in used and _norm(c) not in _NOT_PREDICTIONS
                          and _norm(c) not in KEY_NAMES and _norm(c) not in _MOS_LIKE
                          and _looks_numeric(df[c])]

    def _pick(self, given, names, role):
        if given is None:
            return find_column(self.df.columns, names)
        if given in self.df.columns:
            return given
        match = find_column(self.df.columns, [given])
        return match  # absence is checked by the caller, which knows whether it is required

    def keys_of(self, col):
        """``normalised_keys`` of a column (not checked for repeats), computed once."""
        if col not in self._keys:
            self._keys[col] = normalised_keys(self.df[col], unique=False)
        return self._keys[col]

    def key_candidates(self) -> dict:
        """Columns that could identify images: unique strings or integers with no gaps
        (MOS, std and count excluded; so are explicitly chosen predictions)."""
        out = {}
        skip = {self.mos, self.std, self.nratings}
        for col in self.df.columns:
            if col in skip or (self.explicit_preds and col in self.preds):
                continue
            if _norm(col) in _GENERIC_PREDICTIONS or _norm(col) in _ROW_NUMBER_NAMES:
                continue
            if _norm(col) in _MOS_LIKE or _is_row_number(self.df[col]):
                continue
            keys = self.keys_of(col)
            if keys is not None and len(set(keys.tolist())) == len(keys):
                out[col] = keys
        return out

    def use_key(self, col) -> None:
        """Make ``col`` this file's key: it is then no prediction."""
        self.key = col
        self.preds = [c for c in self.preds if c != col]


def _is_row_number(col: pd.Series) -> bool:
    """True when ``col`` is 0..n-1 or 1..n in file order: a row number, never an image key."""
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col) or col.isna().any():
        return False
    values = col.to_numpy()
    start = values[0] if len(values) else 0
    return start in (0, 1) and np.array_equal(values, np.arange(start, start + len(values)))


def normalised_keys(col: pd.Series, *, unique: bool = True):
    """Image identifiers comparable across files, or None when ``col`` cannot be a key.

    Text is stripped; numeric ids are compared as numbers (``7``, ``7.0`` and ``"007"``
    are one key), so a column read as integers in one file and as floats in another still
    joins. Non-integer numbers, empty cells and (with ``unique``) repeated values make no
    key. Returns an object array of str.
    """
    if pd.api.types.is_bool_dtype(col) or col.isna().any():
        return None
    if pd.api.types.is_integer_dtype(col):   # exact, also beyond 2**53
        keys = col.astype(str).to_numpy(dtype=object)
        return keys if not unique or len(set(keys.tolist())) == len(keys) else None
    if pd.api.types.is_numeric_dtype(col):
        num = col.to_numpy(dtype=np.float64)
    else:
        text = [str(v).strip() for v in col.tolist()]   # plain lists: fast for any string dtype
        if any(t == "" for t in text):
            return None
        num = None
        if all(_is_number(t) for t in text[:64]):
            num = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").to_numpy(dtype=np.float64)
            if np.isnan(num).any():
                num = None
        if num is None:
            keys = np.array(text, dtype=object)
            return keys if not unique or len(set(text)) == len(text) else None
    if not np.all(np.isfinite(num)) or np.any(num != np.round(num)):
        return None
    keys = num.astype(np.int64).astype(str).astype(object)
    return keys if not unique or len(set(keys.tolist())) == len(keys) else None


def _looks_numeric(col: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(col):
        return False
    if pd.api.types.is_numeric_dtype(col):
        return True
    sample = col.dropna().astype(str).str.strip()
    sample = sample[sample != ""].head(50)
    return len(sample) > 0 and pd.to_numeric(sample, errors="coerce").notna().mean() > 0.5


def _mos_agree(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise agreement of two MOS vectors, tolerant to float32 round trips."""
    scale = max(np.nanmax(np.abs(a)), 1.0)
    both_nan = np.isnan(a) & np.isnan(b)
    return both_nan | np.isclose(a, b, rtol=1e-5, atol=1e-6 * scale)


def as_dataset(data) -> Dataset:
    """``data`` itself when it is a :class:`Dataset`; a DataFrame is read like a table file
    (:func:`load_dataset`) and oriented (:meth:`Dataset.oriented`, each flip a note).

    Parameters
    ----------
    data : Dataset or pandas.DataFrame

    Returns
    -------
    Dataset

    Examples
    --------
    >>> frame = pd.DataFrame({"mos": [1.0, 2.0, 3.0, 4.0], "model": [0.1, 0.3, 0.2, 0.9]})
    >>> as_dataset(frame).models
    ['model']
    """
    if isinstance(data, Dataset):
        return data
    if isinstance(data, pd.DataFrame):
        return load_dataset(data).oriented()
    raise InputError(f"expected a Dataset or a pandas DataFrame, got {type(data).__name__}")


def _named_table(source, k, delimiter="auto"):
    """(name, DataFrame, notes of the reading) of a path (read) or of an in-memory table."""
    if isinstance(source, pd.DataFrame):
        return f"<DataFrame {k + 1}>", source, ()
    return (source, *_read_table(source, delimiter=delimiter))


@validate_params({"join": JOINS, "delimiter": DELIMITERS, "n_ratings": N_RATINGS})
def load_dataset(paths, *, mos_col=None, pred_cols=None, std_col=None, nratings_col=None,
                 key_col=None, join: str = "auto", delimiter: str = "auto", n_ratings=None) -> Dataset:
    """Read one or more tables into a :class:`Dataset`.

    Parameters
    ----------
    paths : path, DataFrame or a list of them
        Table files, or tables already in memory (named ``<DataFrame k>`` in messages).
    mos_col, std_col, nratings_col, key_col : str, optional
        Column names; auto-detected (case-insensitive) when omitted.
    pred_cols : list of str, optional
        Prediction columns; default every numeric column that is not MOS, std, count or key.
        MOS-like columns (any MOS, std or count name, e.g. ``dmos`` next to ``mos``) are never
        predictions; naming one is an InputError.
    join : {'auto', 'key', 'order'}, default 'auto'
        How several files are aligned. ``'auto'``: by key where files have image names
        (a named column such as ``image``/``img_name``, or a column of unique strings or
        integers shared by name; numeric ids compared as numbers; never a row number such
        as ``index`` or 0..n-1), otherwise by row order only where a file's MOS column proves
        it (agrees row by row, no ties, at most one empty row); anything else is an
        InputError saying what would make the join possible. ``'key'``: every file must
        have a key. ``'order'``: row order, trusted where a file has no MOS column. Every
        file's alignment is a note (docs/input.md has the decision table).
    delimiter : {'auto', ',', ';', 'tab', '|', 'whitespace'}, default 'auto'
        Field delimiter of text tables (see :func:`read_table`).
    n_ratings : int >= 2, optional
        Every MOS is the mean of this many ratings: the number of ratings of every image,
        where the files have no number-of-ratings column (one found as well is an InputError).
    Directories are read as every table in them (sorted by name).

    Returns
    -------
    Dataset
        Not yet oriented and with missing values kept (see :meth:`Dataset.complete`).

    Examples
    --------
    >>> from iqa_eval.data.io import load_dataset
    >>> data = load_dataset(["examples/simulated_study.csv"])  # doctest: +SKIP
    >>> data.models  # doctest: +SKIP
    ['sharp', 'fine', ...]
    """
    paths = [paths] if isinstance(paths, (str, Path, pd.DataFrame)) else list(paths)
    if not paths:
        raise InputError("no input file given")
    constant_ratings = n_ratings
    paths, read_notes = _expand_directories(paths)
    pred_cols = list(pred_cols) if pred_cols else None
    named = [_named_table(p, k, delimiter) for k, p in enumerate(paths)]
    read_notes += [n for _, _, notes in named for n in notes]
    named = [(name, df) for name, df, _ in named]
    tables = [_Table(name, df, mos_col=mos_col, pred_cols=pred_cols, std_col=std_col,
                     nratings_col=nratings_col, key_col=key_col, joined=len(named) > 1)
              for name, df in named]

    for t in tables:
        if key_col is not None and t.key is None and len(tables) == 1:
            raise InputError(f"key column not found; columns are {list(t.df.columns)}", file=t.path, column=key_col)
    base = next((t for t in tables if t.mos is not None), None)
    if base is None:
        t = tables[0]
        what = f"MOS column {mos_col!r} not found" if mos_col else "no MOS column found (looked for mos, dmos, 'Ground Truth Labels', ...; name it with mos_col)"
        raise InputError(f"{what}; columns are {list(t.df.columns)}", file=t.path)
    if pred_cols:
        missing = [c for c in pred_cols if not any(c in t.preds for t in tables)]
        if missing:
            raise InputError(f"prediction column not found in any file; columns are "
                             f"{sorted({c for t in tables for c in t.df.columns})}",
                             file=tables[0].path if len(tables) == 1 else None, column=missing[0])
    for name, given in (("std", std_col), ("number-of-ratings", nratings_col)):
        attr = "std" if name == "std" else "nratings"
        if given is not None and not any(getattr(t, attr) is not None for t in tables):
            raise InputError(f"{name} column not found; columns are "
                             f"{sorted({str(c) for t in tables for c in t.df.columns})}",
                             file=tables[0].path if len(tables) == 1 else None, column=given)

    if key_col is not None and len(tables) > 1 and join != "order":
        for t in tables:
            if t.key is None:
                raise InputError(f"key column not found; columns are {list(t.df.columns)}",
                                 file=t.path, column=key_col)
    if len(tables) > 1 and join != "order":
        base = _choose_keys(tables, base, key_col=key_col)
        if join == "key":
            for t in tables:
                if t.key is None:
                    raise InputError("join='key': no column here identifies the images of "
                                     f"{base.path} (name one with key_col)", file=t.path)
    else:
        if len(tables) > 1:   # the same order-setting file as join='auto' picks when it can: a
            # file with MOS and an image-name column (the metadata), else the first with MOS
            base = next((t for t in tables if t.mos is not None and t.key is not None), base)
        for t in tables:
            if len(tables) > 1 or key_col is None:
                t.key = t.key if t is base else None

    mos = numeric_column(base.df, base.mos, file=base.path)
    n = len(mos)
    # a pandas string array: one Python str per image (about 60 bytes each) would be the
    # largest single part of a big score run
    keys = (base.df[base.key].astype("string").str.strip().array if base.key is not None else None)
    rows = np.arange(1, n + 1)
    sources = {"mos": (str(base.path), base.mos)}
    source_rows = {}
    notes = list(read_notes)
    predictions, std, n_ratings = {}, None, None

    multi_file = len(tables) > 1
    if multi_file and base.key is not None:
        base_keys = _unique_keys(base)
        index = pd.Index(base_keys, dtype=object)
        notes.append(f"{base.path}: sets the image order ({n} rows, key column {base.key!r}, "
                     f"MOS column {base.mos!r})")
    elif multi_file:
        notes.append(f"{base.path}: sets the image order ({n} rows, MOS column {base.mos!r}; "
                     "no image-name column)")
    if not multi_file and keys is not None:
        repeated = pd.Series(keys).duplicated(keep=False).to_numpy()
        if repeated.any():   # one file: each row stays an image, but say so
            first = int(np.flatnonzero(repeated)[0])
            again = [int(j) + 1 for j in np.flatnonzero(repeated & (pd.Series(keys) == keys[first]).to_numpy())]
            notes.append(f"{base.path}: column {base.key!r} repeats image names ({int(repeated.sum())} rows "
                         f"share a name, e.g. {str(keys[first])!r} in rows {', '.join(map(str, again[:5]))}); "
                         "each row is scored as a separate image")
    for t in tables:
        if t is base:
            pos = np.arange(n)
        elif t.key is not None and base.key is not None:
            pos = pd.Index(_unique_keys(t), dtype=object).get_indexer(index)
            matched = int((pos >= 0).sum())
            if matched == 0:
                raise InputError(f"no key matches an image of {base.path} column {base.key!r} "
                                 f"(e.g. {str(t.df[t.key].iloc[0])!r} vs {str(keys[0])!r})",
                                 file=t.path, column=t.key)
            missing, extra = n - matched, len(t.df) - matched
            how = (f"{t.path}: aligned by key column {t.key!r} to {base.path} {base.key!r}: "
                   f"{matched} of {n} images matched")
            if missing:
                how += f"; {missing} image(s) of {base.path} have no row here (their values are missing)"
            if extra:
                how += f"; {extra} row(s) whose key is not in {base.path} were ignored"
            notes.append(how)
        else:
            if len(t.df) != n:
                raise InputError(f"has {len(t.df)} rows but {base.path} has {n}; cannot join by row order "
                                 f"(name a key column with key_col)", file=t.path)
            order_fix = ("add an image-name column to both files and name it with key_col, or "
                         "join='order' to trust the row order")
            lost = getattr(t, "lost_key", None)
            if t.mos is None and join != "order":
                if lost is not None:    # this file names its images; the order-setting file cannot match them
                    if lost in base.df.columns and _is_row_number(base.df[lost]):
                        lost_why = (f" ({base.path} {lost!r} is 0..n-1 or 1..n in file order: a row number, "
                                    "not an image key; name it with key_col if it really names the images)")
                    else:
                        lost_why = ""
                    raise InputError(f"names the images, but {base.path} has no column to match it{lost_why} and no MOS "
                                     f"column here can check the row order; add the image names to "
                                     f"{base.path} and name the column with key_col, or join='order' to "
                                     "trust the row order", file=t.path, column=lost)
                if base.key is not None:
                    raise InputError(f"no column identifies the images of {base.path} (key column "
                                     f"{base.key!r}) and no MOS column can check the row order; add an "
                                     "image-name column, name one with key_col, or join='order' to trust "
                                     "the row order", file=t.path)
                # A column of unique names or ids elsewhere (under a name not recognised as a key)
                # means the files may well be in different orders.
                named = next(((o, c) for o in tables if o is not t for c in o.key_candidates()), None)
                if named is not None:
                    raise InputError(f"no column here identifies the images and no MOS column can check "
                                     f"the row order, while {named[0].path} has a column that may name them "
                                     f"({named[1]!r}); add that column here and name it with key_col, or "
                                     "join='order' to trust the row order", file=t.path)
                raise InputError("no column identifies the images and no MOS column can check the row "
                                 f"order against {base.path}; {order_fix}", file=t.path)
            pos = np.arange(n)
            if t.mos is not None:
                notes.append(f"{t.path}: aligned by row order, checked: its MOS column {t.mos!r} "
                             f"agrees with {base.path} {base.mos!r} row by row")
            else:
                notes.append(f"{t.path}: aligned by row order, trusted (join='order'; it has no MOS "
                             "column to check the order against)")

        def column(col, _t=t, _pos=pos):
            values = numeric_column(_t.df, col, file=_t.path)
            if _t is base or _t.key is None or base.key is None:   # pos is 0..n-1 (row order)
                return values, np.arange(1, n + 1)   # aligned row by row: no second copy
            out = np.full(n, np.nan)
            ok = _pos >= 0
            out[ok] = values[_pos[ok]]
            return out, np.where(ok, _pos + 1, 0)

        if t is not base and t.mos is not None:
            other, _ = column(t.mos)
            agree = _mos_agree(mos, other) | np.isnan(other)
            by_key = t.key is not None and base.key is not None
            if not agree.all():
                i = int(np.flatnonzero(~agree)[0])
                how = "by key" if by_key else "by row order"
                if np.isnan(mos[i]):   # not a disagreement to fix by a key: a value only this file has
                    raise InputError(f"has a MOS ({float(other[i])!r}) for an image whose MOS is missing in "
                                     f"{base.path} column {base.mos!r}, the file that sets the image order and "
                                     f"whose MOS is used; fill it in there or leave the image out",
                                     file=t.path, column=t.mos, row=int(pos[i]) + 1)
                raise InputError(f"MOS disagrees with {base.path} column {base.mos!r} at the same image "
                                 f"({float(other[i])!r} vs {float(mos[i])!r}); cannot join {how}"
                                 + ("" if by_key else " (name a key column with key_col)"),
                                 file=t.path, column=t.mos, row=int(pos[i]) + 1)
            proof = None if by_key or join == "order" else _order_proof(t, base, mos, other, order_fix)
            both = np.isfinite(other) & np.isfinite(mos)
            if both.any() and np.any(other[both] != mos[both]):
                diff = np.abs(other[both] - mos[both])
                i = int(np.flatnonzero(both)[int(np.argmax(diff))])
                # one note per file: the rounding goes on the file's alignment note
                rounding = (f"only within rounding (largest difference {float(diff.max()):.3g}, row "
                            f"{int(pos[i]) + 1}): the values of {base.path} {base.mos!r} are used")
                if not by_key:   # the row-order note: say it once
                    notes[-1] += " " + rounding
                else:
                    notes[-1] += f"; its MOS column {t.mos!r} agrees with {base.path} {base.mos!r} {rounding}"
            if proof:
                notes[-1] += "; " + proof
            elif not by_key:
                notes[-1] += " (join='order': rows permuted among equal MOS values would not show)"
        if std is None and t.std is not None:
            std, srow = column(t.std)
            sources["std"] = (str(t.path), t.std)
            if t is not base:
                source_rows["std"] = srow
        if n_ratings is None and t.nratings is not None:
            n_ratings, srow = column(t.nratings)
            sources["n_ratings"] = (str(t.path), t.nratings)
            if t is not base:
                source_rows["n_ratings"] = srow
        for col in t.preds:
            single = len(t.preds) == 1
            name = t.path.stem if single and (multi_file or _norm(col) in _GENERIC_PREDICTIONS) else col
            if name in predictions:
                name = f"{t.path.stem}:{col}"
            if name in predictions:
                raise InputError(f"two prediction columns would both be named {name!r}", file=t.path, column=col)
            predictions[name], srow = column(col)
            sources[name] = (str(t.path), col)
            if t is not base:
                source_rows[name] = srow
    for name, values in predictions.items():
        if not np.isfinite(values).any():
            file, col = sources[name]
            raise InputError("no numeric value in this column (every cell is empty or missing"
                             + (" after the join" if multi_file else "") + "); leave it out with pred_cols",
                             file=file, column=col)
    for what, values, rows_of in (("std", std, source_rows.get("std")),
                                  ("number-of-ratings", n_ratings, source_rows.get("n_ratings"))):
        if values is None:
            continue
        low = 0.0 if what == "std" else 1.0
        bad = np.flatnonzero(values < low)
        if bad.size:
            i = int(bad[0])
            file, col = sources["std" if what == "std" else "n_ratings"]
            row = int(rows_of[i]) if rows_of is not None else int(rows[i])
            raise InputError(f"{what} must be >= {low:g}, got {float(values[i])!r}", file=file, column=col,
                             row=row)
    if not predictions:
        raise InputError("no prediction column found (numeric columns other than MOS/std/key; name them with pred_cols)",
                         file=base.path if len(tables) == 1 else None)
    if n < 3:
        raise InputError(f"only {n} data row(s); at least 3 are needed", file=base.path)
    if constant_ratings is not None:
        if n_ratings is not None:
            raise InputError(f"give the number of ratings either as a column ({sources['n_ratings'][1]!r} "
                             "was found; nratings_col) or as n_ratings=N, not both")
        k = int(constant_ratings)
        n_ratings = np.full(n, float(k))
        sources["n_ratings"] = (None, f"n_ratings={k}")   # a constant: no file
    if _norm(base.mos) == "dmos":
        notes.append(f"MOS column {base.mos!r} is a difference score (lower = better quality): "
                     "it is used as given, and models are oriented against it")
    return Dataset(mos=mos, predictions=predictions, std=std, n_ratings=n_ratings, keys=keys,
                   rows=rows, sources=sources, source_rows=source_rows, notes=tuple(notes))


def _order_proof(t, base, mos, other, fix):
    """Why the row order of ``t`` is proven by its MOS column (which agrees with the base's):
    the check sees every permutation only when no two rows share a value (MOS, or MOS with a
    shared column that agrees too) and at most one row is empty here. Otherwise InputError."""
    unseen = np.flatnonzero(np.isnan(other) & np.isfinite(mos))
    if unseen.size > 1:   # a single empty row is pinned by all the others
        raise InputError(f"is empty in {unseen.size} rows where {base.path} {base.mos!r} has a value (e.g. row "
                         f"{int(unseen[0]) + 1}), so it cannot check the row order there; {fix}",
                         file=t.path, column=t.mos)
    seen = np.isfinite(mos)
    order = np.argsort(mos[seen], kind="stable")
    ranked = mos[seen][order]
    tied = np.flatnonzero(_mos_agree(ranked[1:], ranked[:-1]))
    if not tied.size:
        return f"{base.mos!r} has no ties, so any permutation of the rows would show"
    # another column in both files that agrees row by row may tell tied rows apart
    for col in t.df.columns:
        if col in (t.mos, base.mos) or col not in base.df.columns or not _looks_numeric(t.df[col]) \
                or not _looks_numeric(base.df[col]):
            continue
        try:
            a, b = numeric_column(t.df, col), numeric_column(base.df, col)
        except InputError:
            continue
        if not np.all(_mos_agree(b, a)) or not np.isfinite(b).all():
            continue
        pairs = pd.DataFrame({"m": np.round(mos, 5), "c": b})[seen]
        if not pairs.duplicated().any():
            return (f"{base.mos!r} has ties, but with column {col!r} (equal in both files) no two rows "
                    "share values, so any permutation of the rows would show")
    first = int(tied[0])
    same = np.flatnonzero(_mos_agree(mos, np.full_like(mos, ranked[first])))
    n_tied = len(set(tied.tolist()) | set((tied + 1).tolist()))
    shown = ", ".join(f"{int(r) + 1} ({float(mos[r])!r})" for r in same[:3])
    raise InputError(f"agrees with {base.path} {base.mos!r} row by row, but the MOS has tied values ({n_tied} "
                     f"rows equal another within the check's relative tolerance 1e-5, e.g. rows {shown}), so "
                     f"rows permuted among them would pass: cannot verify the row order; {fix}",
                     file=t.path, column=t.mos)


def _unique_keys(t: _Table) -> np.ndarray:
    """The normalised keys of ``t``; a repeated key is an error naming both rows."""
    keys = t.keys_of(t.key)
    if keys is None:
        raise InputError("cannot identify images (empty cells or fractional numbers)",
                         file=t.path, column=t.key)
    seen = {}
    for i, k in enumerate(keys.tolist()):
        j = seen.setdefault(k, i)
        if j != i:
            raise InputError(f"duplicate key {str(t.df[t.key].iloc[i])!r} in rows {j + 1} and {i + 1}",
                             file=t.path, column=t.key, row=i + 1)
    return keys


def _choose_keys(tables, base, *, key_col=None):
    """Decide each file's key column; return the file that sets the image order.

    A key is a named image-name column (``KEY_NAMES`` or ``key_col``) or, failing that, a
    column of unique strings or integers shared by name with another file, or one whose
    values are the other file's keys. Files with no such column get ``key = None`` and
    are aligned by row order (checked by their MOS column where they have one).
    """
    if key_col is not None:
        return base
    cands = {id(t): None for t in tables}

    def candidates(t):
        if cands[id(t)] is None:
            cands[id(t)] = t.key_candidates()
        return cands[id(t)]

    # The order-setting file: the first one with MOS and a key, named or shared.
    with_mos = [t for t in tables if t.mos is not None]
    for t in with_mos:
        if t.key is None:
            shared = [c for c in candidates(t)
                      if any(u is not t and c in candidates(u) for u in tables)]
            if shared:
                t.use_key(shared[0])
    base = next((t for t in with_mos if t.key is not None), base)
    if base.key is None:
        for t in tables:   # a file that names its images, with nothing to match them: said later
            t.lost_key = t.key if t.key is not None else next(iter(candidates(t)), None)
            t.key = None
        return base
    base_keys = set(base.keys_of(base.key).tolist())
    for t in tables:
        if t is base:
            continue
        if base.key in t.df.columns and t.keys_of(base.key) is not None:
            t.use_key(base.key)
        elif t.key is None:
            best, best_n = None, 0
            for col, keys in candidates(t).items():
                n_match = sum(k in base_keys for k in keys.tolist())
                if n_match > best_n:
                    best, best_n = col, n_match
            if best is not None and 2 * best_n >= len(t.df):
                t.use_key(best)
    return base


def _expand_directories(paths):
    """Replace each directory by the tables in it (sorted by name), with a note."""
    out, notes = [], []
    for p in paths:
        if isinstance(p, pd.DataFrame):   # a table already in memory
            out.append(p)
            continue
        p = Path(p)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in TABLE_SUFFIXES
                           and not f.name.startswith("."))
            if not found:
                raise InputError(f"directory holds no table ({', '.join(TABLE_SUFFIXES)})", file=p)
            notes.append(f"{p}: read {len(found)} table(s): {', '.join(f.name for f in found)}")
            out += found
        else:
            out.append(p)
    return out, notes
