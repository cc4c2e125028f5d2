"""Sample points (Q, Qd) at which GMC is evaluated.

Q is a quality level on the MOS scale, Qd an absolute MOS difference. The domain is
``[min(mos), max(mos)] x [0, max(mos) - min(mos)]``. Three sources:

- :func:`latin_hypercube` -- seeded 2-D Latin hypercube (the reference is unseeded);
- :func:`regular_grid` -- an exact regular grid (no regression needed afterwards);
- :func:`read_sample_file` -- a CSV or XLSX file with columns ``Q`` and ``Qd``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..options import SEED, Either, Interval, validate_params
from .weights import check_mos

__all__ = ["sample_domain", "latin_hypercube", "grid_shape", "regular_grid", "read_sample_file", "check_samples"]


def sample_domain(mos) -> tuple[tuple[float, float], tuple[float, float]]:
    """``((min l, max l), (0, max l - min l))``: the rectangle GMC surfaces cover."""
    l = check_mos(mos)
    lo, hi = float(l.min()), float(l.max())
    return (lo, hi), (0.0, hi - lo)


def _is_generator(value) -> bool:
    return isinstance(value, np.random.Generator)


@validate_params({"n_samples": Interval(1, None, integral=True),
                  "seed": Either(SEED, _is_generator, "a numpy.random.Generator")})
def latin_hypercube(mos, n_samples: int = 100, *, seed=0) -> pd.DataFrame:
    """Seeded 2-D Latin hypercube over the GMC domain.

    Each axis is cut into ``n_samples`` equal strata with one uniform draw in each;
    the two columns are shuffled independently, so every stratum of Q and every
    stratum of Qd holds exactly one point.

    Parameters
    ----------
    mos : array-like of shape (n,)
    n_samples : int, default 100
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    DataFrame with float columns ``Q`` and ``Qd``.

    Examples
    --------
    >>> pts = latin_hypercube([20.0, 50.0, 80.0], 4, seed=1)
    >>> sorted(((pts.Q - 20) // 15).astype(int))
    [0, 1, 2, 3]
    """
    n = int(n_samples)
    (qlo, qhi), (dlo, dhi) = sample_domain(mos)
    rng = np.random.default_rng(seed)
    cols = []
    for lo, hi in ((qlo, qhi), (dlo, dhi)):
        u = (np.arange(n) + rng.random(n)) / n   # one draw in each stratum
        cols.append(lo + (hi - lo) * rng.permutation(u))
    return pd.DataFrame({"Q": cols[0], "Qd": cols[1]})


def grid_shape(shape) -> tuple:
    """Validate a grid shape: an int ``n`` (``n x n``) or two ints ``(nq, nqd)``, each >= 2.

    Examples
    --------
    >>> grid_shape(5), grid_shape((4, 6))
    ((5, 5), (4, 6))
    """
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape, shape)
    try:
        nq, nqd = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise InputError(f"grid shape must be an integer or two integers (nq, nqd), got {shape!r}") from None
    if nq < 2 or nqd < 2 or (nq, nqd) != tuple(shape):
        raise InputError(f"grid needs at least 2 x 2 integer nodes, got {shape!r}")
    return nq, nqd


def regular_grid(mos, shape=(10, 10)) -> pd.DataFrame:
    """Regular ``nq x nqd`` grid over the GMC domain, edges included.

    Parameters
    ----------
    mos : array-like of shape (N,)
        The grid covers ``[min MOS, max MOS] x [0, max MOS - min MOS]``.
    shape : int or (int, int), default (10, 10)
        Checked by :func:`grid_shape`.

    Returns
    -------
    DataFrame with columns ``Q`` and ``Qd``, Q varying slowest (``Q`` outer, ``Qd`` inner), so
    the values reshape to ``(nq, nqd)``.

    Examples
    --------
    >>> regular_grid([0.0, 10.0], shape=(2, 3)).Qd.tolist()
    [0.0, 5.0, 10.0, 0.0, 5.0, 10.0]
    """
    nq, nqd = grid_shape(shape)
    (qlo, qhi), (dlo, dhi) = sample_domain(mos)
    q, qd = np.meshgrid(np.linspace(qlo, qhi, nq), np.linspace(dlo, dhi, nqd), indexing="ij")
    return pd.DataFrame({"Q": q.ravel(), "Qd": qd.ravel()})


def check_samples(samples, *, file=None) -> pd.DataFrame:
    """Validate sample points (a DataFrame with Q, Qd or an (S, 2) array) -> DataFrame.

    Raises :class:`InputError` naming the column and row (1-based) of a missing,
    non-numeric, non-finite or negative-Qd value.
    """
    if isinstance(samples, pd.DataFrame):
        missing = [c for c in ("Q", "Qd") if c not in samples.columns]
        if missing:
            raise InputError(f"sample points need columns Q and Qd; missing {', '.join(missing)}"
                             f" (found: {', '.join(map(str, samples.columns))})", file=file)
        frame = samples[["Q", "Qd"]]
    else:
        arr = np.asarray(samples)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise InputError(f"sample points must have shape (S, 2), got {arr.shape}", file=file)
        frame = pd.DataFrame(arr, columns=["Q", "Qd"])
    if len(frame) == 0:
        raise InputError("no sample points", file=file)
    out = {}
    for col in ("Q", "Qd"):
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if col == "Qd":
            bad |= values < 0
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raw = frame[col].iloc[i]
            why = "must be >= 0" if col == "Qd" and np.isfinite(values[i]) else "is not a finite number"
            raise InputError(f"value {raw!r} {why}", file=file, column=col, row=i + 1)
        out[col] = values
    return pd.DataFrame(out)


def read_sample_file(path) -> pd.DataFrame:
    r"""Read sample points from a table (CSV with any delimiter, TSV, XLSX, Parquet) with
    columns ``Q`` and ``Qd``.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    DataFrame with float columns ``Q`` and ``Qd``.

    Raises
    ------
    InputError
        Naming the file, the column and the 1-based data row of a bad value.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "samples.csv"
    >>> _ = path.write_text("Q,Qd\n3.0,0.5\n4.0,1.5\n")
    >>> read_sample_file(path).Qd.tolist()
    [0.5, 1.5]
    """
    from ..data.io import read_table  # reading files is io's job; imported only when a file is read

    return check_samples(read_table(path), file=Path(path))


def grid_values(rows, value: str = "value"):
    """Pivot tidy rows of ONE surface into ``(q, qd, z)`` with ``z[i, j]`` at ``(q[i], qd[j])``.

    The one pivot of the package (GMC scores, exact-grid surfaces and the figures all use it).

    Parameters
    ----------
    rows : DataFrame
        Columns ``Q``, ``Qd`` and ``value``; each node of a regular grid (at least 2 x 2)
        exactly once.
    value : str, default 'value'
        The column to place on the grid.

    Returns
    -------
    q : ndarray of shape (nq,)
    qd : ndarray of shape (nqd,)
    z : ndarray of shape (nq, nqd)

    Examples
    --------
    >>> rows = pd.DataFrame({"Q": [1.0, 1.0, 2.0, 2.0], "Qd": [0.0, 1.0, 0.0, 1.0],
    ...                      "value": [0.1, 0.2, 0.3, 0.4]})
    >>> grid_values(rows)[2].tolist()
    [[0.1, 0.2], [0.3, 0.4]]
    """
    q = np.unique(rows["Q"].to_numpy(dtype=np.float64))
    qd = np.unique(rows["Qd"].to_numpy(dtype=np.float64))
    if len(rows) != q.size * qd.size or q.size < 2 or qd.size < 2:
        raise InputError(f"values do not form a regular grid ({len(rows)} rows for {q.size} Q x "
                         f"{qd.size} Qd values)")
    i = np.searchsorted(q, rows["Q"].to_numpy(dtype=np.float64))
    j = np.searchsorted(qd, rows["Qd"].to_numpy(dtype=np.float64))
    z = np.full((q.size, qd.size), np.nan)
    seen = np.zeros(z.shape, dtype=bool)
    seen[i, j] = True
    if not seen.all():
        raise InputError("values do not form a regular grid: some (Q, Qd) nodes repeat and others "
                         "are missing")
    z[i, j] = rows[value].to_numpy(dtype=np.float64)
    return q, qd, z
