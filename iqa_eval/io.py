"""Reading prediction/MOS tables and joining them into a :class:`~iqa_eval.dataset.Dataset`.

Supported: CSV with any common delimiter (UTF-8, with or without BOM), TSV, XLSX and
Parquet. One file may hold several prediction columns; several files may each hold one
model (the model is then named after the file stem). Files are joined on a key column
(given, or an image-name column found in every file) or, without keys, by row order —
only if their MOS columns agree, so misaligned files are never silently combined.

Every problem is an :class:`~iqa_eval.errors.InputError` naming file, column and row.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import Dataset
from ._optional import require
from .errors import InputError, MissingDependencyError

__all__ = ["read_table", "load_dataset", "find_column", "MOS_NAMES", "STD_NAMES",
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
_NOT_PREDICTIONS = ("refname", "reference", "index", "unnamed0", "row", "split", "fold")

# A lone prediction column with one of these names is named after its file instead.
_GENERIC_PREDICTIONS = ("resultsscoresforcc", "pred", "prediction", "predictions", "predicted",
                        "score", "scores", "ypred", "output", "quality")

_DELIMITERS = (",", ";", "\t", "|")
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
    """Delimiter that splits the first lines into the same, largest number of fields."""
    with open(path, "r", encoding="utf-8-sig", errors="replace", newline="") as fh:
        lines = [line for _, line in zip(range(20), fh) if line.strip()]
    if not lines:
        return ","
    best, best_fields = ",", 1
    for delim in _DELIMITERS:
        counts = {line.count(delim) for line in lines}
        if len(counts) == 1 and (n := counts.pop() + 1) > best_fields:
            best, best_fields = delim, n
    if best_fields == 1 and len(lines[0].split()) > 1:
        return r"\s+"
    return best


def read_table(path) -> pd.DataFrame:
    """Read one table by its extension.

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.txt`` (delimiter sniffed: comma, semicolon, tab, pipe or blanks; UTF-8
        with or without BOM), ``.tsv``, ``.xlsx``/``.xls``, ``.parquet``/``.pq``.

    Returns
    -------
    DataFrame
        Columns as in the file; the index is the 0-based data row.

    Raises
    ------
    InputError
        Missing, unreadable or empty file, or a file with no columns.

    Examples
    --------
    >>> read_table("examples/simulated_study.csv").columns[:3].tolist()
    ['image', 'mos', 'std']
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            require("openpyxl", "XLSX files")
            df = pd.read_excel(path)
        elif suffix in (".parquet", ".pq"):
            require("pyarrow", "Parquet files")
            df = pd.read_parquet(path)
        elif suffix == ".tsv":
            df = pd.read_csv(path, sep="\t", encoding="utf-8-sig")
        elif suffix in _TEXT_SUFFIXES:
            if path.stat().st_size == 0:
                raise InputError("empty file", file=path)
            sep = _sniff_delimiter(path)
            df = pd.read_csv(path, sep=sep, encoding="utf-8-sig",
                             engine="python" if len(sep) > 1 else "c")
        else:
            raise InputError(f"unsupported file type {suffix!r} (use CSV, TSV, XLSX or Parquet)", file=path)
    except (InputError, MissingDependencyError):
        raise
    except pd.errors.EmptyDataError:
        raise InputError("empty file", file=path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=path) from None
    except (pd.errors.ParserError, ValueError, OSError, ImportError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read table: {msg}", file=path) from None
    if df.shape[1] == 0:
        raise InputError("no columns found", file=path)
    if df.shape[0] == 0:
        raise InputError("no data rows (only a header)", file=path)
    df.columns = [str(c).strip() for c in df.columns]
    # pandas renames a repeated header 'x' to 'x.1': report it instead of guessing.
    names = set(df.columns)
    for col in df.columns:
        m = re.fullmatch(r"(.*)\.(\d+)", col)
        if (m and m.group(1) in names) or list(df.columns).count(col) > 1:
            raise InputError("duplicate column name", file=path, column=m.group(1) if m else col)
    return df.reset_index(drop=True)


def numeric_column(df: pd.DataFrame, column, *, file=None) -> np.ndarray:
    """A column as float64; empty cells become NaN, any other text is an error naming its row."""
    col = df[column]
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    values = pd.to_numeric(col, errors="coerce")
    text = col.astype("string").str.strip()
    bad = values.isna() & col.notna() & (text != "") & ~text.str.lower().isin(["nan", "na", "n/a", "null", "none", "inf", "-inf"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy(dtype=bool))[0])
        raise InputError(f"non-numeric value {str(col.iloc[i])!r}", file=file, column=column, row=i + 1)
    out = values.to_numpy(dtype=np.float64, na_value=np.nan)
    low = text.str.lower().to_numpy(dtype=object)
    out[low == "inf"] = np.inf
    out[low == "-inf"] = -np.inf
    return out


class _Table:
    """One file's roles: which column is MOS, std, count, key and the predictions."""

    def __init__(self, path, df, *, mos_col, pred_cols, std_col, nratings_col, key_col):
        self.path, self.df = Path(path), df
        cols = list(df.columns)
        self.mos = self._pick(mos_col, MOS_NAMES, "MOS")
        self.std = self._pick(std_col, STD_NAMES, "std")
        self.nratings = self._pick(nratings_col, NRATINGS_NAMES, "number-of-ratings")
        self.key = self._pick(key_col, KEY_NAMES, "key")
        if self.key is not None and pd.api.types.is_float_dtype(df[self.key]):
            self.key = None if key_col is None else self.key  # a float column is no image name
        used = {self.mos, self.std, self.nratings, self.key}
        if pred_cols:
            self.preds = [c for c in pred_cols if c in cols]
        else:
            self.preds = [c for c in cols if c not in used and _norm(c) not in _NOT_PREDICTIONS
                          and _norm(c) not in KEY_NAMES and _looks_numeric(df[c])]

    def _pick(self, given, names, role):
        if given is None:
            return find_column(self.df.columns, names)
        if given in self.df.columns:
            return given
        match = find_column(self.df.columns, [given])
        return match  # absence is checked by the caller, which knows whether it is required


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


def _named_table(source, k):
    """(name, DataFrame) of a path (read) or of an in-memory table."""
    if isinstance(source, pd.DataFrame):
        return f"<DataFrame {k + 1}>", source
    return source, read_table(source)


def load_dataset(paths, *, mos_col=None, pred_cols=None, std_col=None, nratings_col=None,
                 key_col=None) -> Dataset:
    """Read one or more tables into a :class:`Dataset`.

    Parameters
    ----------
    paths : path, DataFrame or a list of them
        Table files, or tables already in memory (named ``<DataFrame k>`` in messages).
    mos_col, std_col, nratings_col, key_col : str, optional
        Column names; auto-detected (case-insensitive) when omitted.
    pred_cols : list of str, optional
        Prediction columns; default every numeric column that is not MOS, std, count or key.

    Returns
    -------
    Dataset
        Not yet oriented and with missing values kept (see :meth:`Dataset.complete`).

    Examples
    --------
    >>> from iqa_eval.io import load_dataset
    >>> data = load_dataset(["examples/simulated_study.csv"])  # doctest: +SKIP
    >>> data.models  # doctest: +SKIP
    ['sharp', 'fine', ...]
    """
    paths = [paths] if isinstance(paths, (str, Path, pd.DataFrame)) else list(paths)
    if not paths:
        raise InputError("no input file given")
    pred_cols = list(pred_cols) if pred_cols else None
    tables = [_Table(*_named_table(p, k), mos_col=mos_col, pred_cols=pred_cols, std_col=std_col,
                     nratings_col=nratings_col, key_col=key_col) for k, p in enumerate(paths)]

    for t in tables:
        if key_col is not None and t.key is None and len(tables) == 1:
            raise InputError(f"key column not found; columns are {list(t.df.columns)}", file=t.path, column=key_col)
    base = next((t for t in tables if t.mos is not None), None)
    if base is None:
        t = tables[0]
        what = f"MOS column {mos_col!r} not found" if mos_col else "no MOS column found (looked for mos, dmos, 'Ground Truth Labels', ...; name it with mos_col)"
        raise InputError(f"{what}; columns are {list(t.df.columns)}", file=t.path)
    if mos_col is not None:
        for t in tables:
            if t.mos is None and t.preds:
                pass  # a predictions-only file is joined by key or row order
    if pred_cols:
        missing = [c for c in pred_cols if not any(c in t.preds for t in tables)]
        if missing:
            raise InputError(f"prediction column not found in any file; columns are "
                             f"{sorted({c for t in tables for c in t.df.columns})}",
                             file=tables[0].path if len(tables) == 1 else None, column=missing[0])
    for name, given in (("std", std_col), ("number-of-ratings", nratings_col)):
        attr = "std" if name == "std" else "nratings"
        if given is not None and not any(getattr(t, attr) is not None for t in tables):
            raise InputError(f"{name} column not found", file=tables[0].path if len(tables) == 1 else None, column=given)

    use_keys = all(t.key is not None for t in tables) and (len(tables) > 1 or key_col is not None)
    if key_col is not None and len(tables) > 1 and not use_keys:
        t = next(t for t in tables if t.key is None)
        raise InputError(f"key column not found; columns are {list(t.df.columns)}", file=t.path, column=key_col)

    mos = numeric_column(base.df, base.mos, file=base.path)
    n = len(mos)
    keys = base.df[base.key].astype(str).to_numpy() if base.key is not None else None
    if use_keys:
        _check_unique_keys(base)
        index = pd.Index(keys)
    rows = np.arange(1, n + 1)
    sources = {"mos": (str(base.path), base.mos)}
    source_rows = {}
    notes = []
    predictions, std, n_ratings = {}, None, None

    multi_file = len(tables) > 1
    for t in tables:
        if use_keys and t is not base:
            _check_unique_keys(t)
            pos = pd.Index(t.df[t.key].astype(str).to_numpy()).get_indexer(index)
            missing = int((pos < 0).sum())
            extra = len(t.df) - int((pos >= 0).sum())
            if missing:
                notes.append(f"{t.path}: {missing} image(s) of {base.path} have no row here (their values are missing)")
            if extra:
                notes.append(f"{t.path}: {extra} row(s) whose key is not in {base.path} were ignored")
        elif t is not base:
            if len(t.df) != n:
                raise InputError(f"has {len(t.df)} rows but {base.path} has {n}; cannot join by row order "
                                 f"(name a key column with key_col)", file=t.path)
            pos = np.arange(n)
        else:
            pos = np.arange(n)

        def column(col, _t=t, _pos=pos):
            values = numeric_column(_t.df, col, file=_t.path)
            out = np.full(n, np.nan)
            ok = _pos >= 0
            out[ok] = values[_pos[ok]]
            return out, np.where(ok, _pos + 1, 0)

        if t is not base and t.mos is not None:
            other, _ = column(t.mos)
            agree = _mos_agree(mos, other) | np.isnan(other)
            if not agree.all():
                i = int(np.flatnonzero(~agree)[0])
                how = "by key" if use_keys else "by row order"
                raise InputError(f"MOS disagrees with {base.path} column {base.mos!r} at the same image "
                                 f"({float(other[i])!r} vs {float(mos[i])!r}); cannot join {how}"
                                 + ("" if use_keys else " (name a key column with key_col)"),
                                 file=t.path, column=t.mos, row=int(pos[i]) + 1)
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
    if not predictions:
        raise InputError("no prediction column found (numeric columns other than MOS/std/key; name them with pred_cols)",
                         file=base.path if len(tables) == 1 else None)
    if n < 3:
        raise InputError(f"only {n} data row(s); at least 3 are needed", file=base.path)
    if _norm(base.mos) == "dmos":
        notes.append(f"MOS column {base.mos!r} is a difference score (lower = better quality): "
                     "it is used as given, and models are oriented against it")
    return Dataset(mos=mos, predictions=predictions, std=std, n_ratings=n_ratings, keys=keys,
                   rows=rows, sources=sources, source_rows=source_rows, notes=tuple(notes))


def _check_unique_keys(t: _Table) -> None:
    dup = t.df[t.key].astype(str).duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"duplicate key {str(t.df[t.key].iloc[i])!r}", file=t.path, column=t.key, row=i + 1)
