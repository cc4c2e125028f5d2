"""The evaluation data: MOS, per-image metadata and one prediction vector per model.

A :class:`Dataset` holds the columns exactly as read (missing values included) plus
where each came from, so that every later step can say which file, column and row a
problem is in. Policies that change the data — dropping incomplete rows, flipping a
lower-is-better model — return a new :class:`Dataset` and record a note.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import InputError
from ..options import DATASET_NAN_POLICIES, check_param

__all__ = ["Dataset"]


def _check_exact(values, name):
    """Integers beyond 2**53 would be rounded when made float64 (their ranks could change):
    refused rather than silently made inexact."""
    arr = getattr(values, "to_numpy", lambda: values)() if values is not None else None
    if arr is None or not isinstance(arr, np.ndarray) or arr.dtype.kind not in "iu":
        return
    big = np.flatnonzero((arr > 2 ** 53) | (arr < -(2 ** 53))) if arr.ndim else np.array([], int)
    if big.size:
        i = int(big[0])
        raise InputError(f"{name}: integer {int(arr.reshape(-1)[i])} (position {i + 1}) is beyond 2^53 and "
                         "cannot be compared exactly as float64; rescale it or pass floats")


@dataclass(frozen=True)
class Dataset:
    """MOS and model predictions for one set of images.

    Parameters
    ----------
    mos : ndarray of shape (n,)
        Mean opinion scores (higher = better quality).
    predictions : dict of str -> ndarray of shape (n,)
        One float64 vector per model; NaN marks a missing value.
    std : ndarray of shape (n,), optional
        Per-image standard deviation of the ratings.
    n_ratings : ndarray of shape (n,), optional
        Number of ratings behind each MOS.
    keys : array-like of str of shape (n,), optional
        Image identifiers (used to join files and to name rows in messages); a pandas
        string array when read from files (compact for large studies).
    rows : ndarray of shape (n,), optional
        1-based data-row numbers in the source file, for messages. Defaults to 1..n.
    sources : dict of str -> (file, column)
        Where each model's predictions, and ``"mos"``, ``"std"``, ``"n_ratings"``, came from.
    source_rows : dict of str -> ndarray, optional
        Row numbers in the source file of a column that was joined from another file by key
        (default: ``rows``).
    notes : list of str
        Recoveries applied so far (rows dropped, models flipped, ...).
    flipped : tuple of str
        Models whose predictions were negated so that higher means better.
    """

    mos: np.ndarray
    predictions: dict
    std: np.ndarray | None = None
    n_ratings: np.ndarray | None = None
    keys: object = None
    rows: np.ndarray | None = None
    sources: dict = field(default_factory=dict)
    source_rows: dict = field(default_factory=dict)
    notes: tuple = ()
    flipped: tuple = ()

    def __post_init__(self):
        # Lists, Series (NaN kept as missing values) and column vectors become 1-D float64
        # arrays here, once; anything else is an InputError, never an error deep inside.
        from .._runtime.validation import as_float_vector

        if self.mos is None:
            raise InputError("Dataset needs mos (one MOS value per image)")
        if not isinstance(self.predictions, dict):
            raise InputError("Dataset predictions must be a dict {model name: scores}, "
                             f"got {type(self.predictions).__name__}")
        self._align_series()
        for name, v in [("mos", self.mos), ("std", self.std), ("n_ratings", self.n_ratings)] + \
                [(f"predictions of {k!r}", v) for k, v in self.predictions.items()]:
            _check_exact(v, name)
        object.__setattr__(self, "mos", as_float_vector(self.mos, name="mos"))
        object.__setattr__(self, "predictions", {str(k) if not isinstance(k, str) else k:
                                                 as_float_vector(v, name=f"predictions of {k!r}")
                                                 for k, v in self.predictions.items()})
        for attr in ("std", "n_ratings"):
            if getattr(self, attr) is not None:
                object.__setattr__(self, attr, as_float_vector(getattr(self, attr), name=attr))
        n = len(self.mos)
        for attr in ("std", "n_ratings"):
            v = getattr(self, attr)
            if v is not None and len(v) != n:
                raise InputError(f"{attr} has {len(v)} values for {n} MOS values")
        for name, values in self.predictions.items():
            if len(values) != n:
                raise InputError(f"model {name!r} has {len(values)} values for {n} MOS values")
        if self.rows is None:
            object.__setattr__(self, "rows", np.arange(1, n + 1))

    def _align_series(self):
        """pandas Series are paired by their index, never by position: every Series must carry
        the same set of labels (each once); they are put in the order of the MOS index (or of
        the first Series), with a note. Arrays and lists are paired by position with that order."""
        import pandas as pd

        named = [("mos", self.mos), ("std", self.std), ("n_ratings", self.n_ratings)] + \
            [(f"predictions of {k!r}", v) for k, v in self.predictions.items()]
        series = [(name, v) for name, v in named if isinstance(v, pd.Series)]
        if not series:
            return
        ref_name, ref = series[0]
        for name, v in series:
            if not v.index.is_unique:
                raise InputError(f"{name}: its index repeats a label ({v.index[v.index.duplicated()][0]!r}); "
                                 "Series are paired by their index, which must name each image once")
            if len(v) != len(ref) or not v.index.isin(ref.index).all():
                odd = v.index[~v.index.isin(ref.index)]
                what = f"e.g. {odd[0]!r} is not in it" if len(odd) else f"{len(v)} labels for {len(ref)}"
                raise InputError(f"{name}: its index does not hold the same labels as the index of {ref_name} "
                                 f"({what}); Series are paired by their index: give them one index, or "
                                 "pass arrays to pair by position")
        moved = [name for name, v in series if not v.index.equals(ref.index)]
        if not moved:
            return

        def aligned(v):
            return v.reindex(ref.index) if isinstance(v, pd.Series) else v

        object.__setattr__(self, "mos", aligned(self.mos))
        object.__setattr__(self, "std", aligned(self.std))
        object.__setattr__(self, "n_ratings", aligned(self.n_ratings))
        object.__setattr__(self, "predictions", {k: aligned(v) for k, v in self.predictions.items()})
        object.__setattr__(self, "notes", tuple(self.notes) + (
            f"{', '.join(moved)}: aligned on the index of {ref_name} (pandas Series are paired by label, "
            "not by position)",))

    # -- basic views --------------------------------------------------------------
    @property
    def models(self) -> list:
        return list(self.predictions)

    def __len__(self) -> int:
        return len(self.mos)

    def source(self, name: str):
        """``(file, column)`` of a model or of ``"mos"``/``"std"``/``"n_ratings"``."""
        return self.sources.get(name, (None, name))

    def prediction_matrix(self, models=None) -> np.ndarray:
        """Predictions as a C-contiguous float64 array of shape (models, n)."""
        models = self.models if models is None else list(models)
        return np.ascontiguousarray(np.vstack([self.predictions[m] for m in models]), dtype=np.float64)

    def with_notes(self, *notes) -> "Dataset":
        return replace(self, notes=tuple(self.notes) + tuple(n for n in notes if n))

    def select(self, models) -> "Dataset":
        """The same rows with only ``models`` (in that order)."""
        models = list(models)
        unknown = [m for m in models if m not in self.predictions]
        if unknown:
            raise InputError(f"unknown model(s) {', '.join(map(repr, unknown))}; "
                             f"available: {', '.join(map(repr, self.models))}")
        return replace(self, predictions={m: self.predictions[m] for m in models},
                       flipped=tuple(m for m in self.flipped if m in models))

    def take(self, index) -> "Dataset":
        """Subset of rows (a boolean mask or integer index), metadata kept aligned."""
        def sub(a):
            return None if a is None else a[index]
        return replace(self, mos=self.mos[index],
                       predictions={m: v[index] for m, v in self.predictions.items()},
                       std=sub(self.std), n_ratings=sub(self.n_ratings), keys=sub(self.keys),
                       rows=self.rows[index],
                       source_rows={k: v[index] for k, v in self.source_rows.items()})

    # -- missing values -------------------------------------------------------------
    def complete(self, models=None, *, nan_policy: str = "omit", need_std: bool = False,
                 need_n_ratings: bool = False) -> "Dataset":
        """Rows where MOS and every chosen model (and std if needed) are finite.

        Parameters
        ----------
        models : list of str, optional
            Models that must be present; default all.
        nan_policy : {'omit', 'raise'}
            ``'omit'`` drops incomplete rows and records a note per column with a count;
            ``'raise'`` raises :class:`InputError` naming the first bad file, column and row.
        need_std, need_n_ratings : bool
            Also require a finite std / number of ratings.
        """
        check_param("nan_policy", nan_policy, DATASET_NAN_POLICIES)
        data = self if models is None else self.select(models)
        columns = [("mos", data.mos)]
        if need_std:
            if data.std is None:
                raise InputError("a standard-deviation column is required but none was given")
            columns.append(("std", data.std))
        if need_n_ratings and data.n_ratings is not None:
            columns.append(("n_ratings", data.n_ratings))
        columns += list(data.predictions.items())
        keep = np.ones(len(data), dtype=bool)
        notes, sparsest = [], (0, None)
        for name, values in columns:
            bad = ~np.isfinite(values)
            if not bad.any():
                continue
            sparsest = max(sparsest, (int(bad.sum()), name), key=lambda t: t[0])
            file, column = data.source(name)
            if nan_policy == "raise":
                rows = data.source_rows.get(name, data.rows)
                row = int(rows[np.flatnonzero(bad)[0]])
                raise InputError("missing or non-finite value (nan_policy='raise')",
                                 file=file, column=column, row=row)
            what = "MOS" if name == "mos" else (name if name in ("std", "n_ratings") else "prediction")
            label = f"column {column!r}" + (f" of {file}" if file else "")
            notes.append(f"dropped {int(bad.sum())} row(s) with NaN/inf/empty {what} in {label}")
            keep &= ~bad
        if keep.all():
            return data
        out = data.take(keep).with_notes(*notes)
        if len(out) < 3:   # named by the column that lacks the most values (a sparse model)
            file, column = data.source(sparsest[1])
            raise InputError(f"only {len(out)} complete row(s) left after dropping missing values; need at "
                             f"least 3 (this column lacks {sparsest[0]} of {len(data)} values; leave it out "
                             f"with pred_cols or fill it)", file=file, column=column)
        return out

    # -- orientation ----------------------------------------------------------------
    def oriented(self, *, lower_is_better=(), flip: bool = True) -> "Dataset":
        """Make every model's scores rise with quality, saying which were flipped.

        Parameters
        ----------
        lower_is_better : iterable of str
            Models to negate whatever their correlation (e.g. NIQE, LPIPS).
        flip : bool
            When True (default) also negate any other model whose SROCC with MOS (over
            its complete rows) is negative. When False only ``lower_is_better`` is applied.
        """
        from ..stats import _metric_kernels as K  # the data layer sits below metrics: SROCC from the kernels

        def srocc_of(x, y):  # = iqa_eval.stats.metrics.srocc(x, y).statistic (the same kernels, same order)
            x, y = (np.ascontiguousarray(v, dtype=np.float64) for v in (x, y))
            rx, ry = K.rank_data(x, np.argsort(x))[0], K.rank_data(y, np.argsort(y))[0]
            return float(K.weighted_pearson(rx, ry, np.ones(rx.size)))

        lower = list(lower_is_better)
        unknown = [m for m in lower if m not in self.predictions]
        if unknown:
            raise InputError(f"lower_is_better names unknown model(s) {', '.join(map(repr, unknown))}; "
                             f"available: {', '.join(map(repr, self.models))}")
        preds = dict(self.predictions)
        flipped = list(self.flipped)
        notes = []
        for name, values in self.predictions.items():
            if name in lower:
                reason = "declared lower-is-better"
            elif flip:
                ok = np.isfinite(values) & np.isfinite(self.mos)
                # constant scores have no direction (their metrics warn later, naming the model)
                if ok.sum() < 3 or np.ptp(values[ok]) == 0 or np.ptp(self.mos[ok]) == 0:
                    continue
                rho = srocc_of(values[ok], self.mos[ok])
                if not (rho < 0):
                    continue
                reason = f"SROCC with MOS is {rho:.4f} < 0; pass flip=False to keep it"
            else:
                continue
            preds[name] = -values
            flipped.append(name)
            notes.append(f"model {name!r} flipped (scores negated so higher is better): {reason}")
        return replace(self, predictions=preds, flipped=tuple(flipped)).with_notes(*notes)
