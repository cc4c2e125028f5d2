"""The paper table: every model on every dataset, with the statistics papers leave out.

:func:`benchmark` reads each dataset exactly as ``iqa-eval score`` reads its files
(:func:`~iqa_eval.data.io.load_dataset`, then :meth:`~iqa_eval.data.dataset.Dataset.oriented`) and
scores it with :func:`~iqa_eval.studies.evaluation.evaluate`, so a cell of the table is the row
``score`` prints for that model on that dataset alone. On top of the cells it computes:

- per dataset, the rank of each model by SROCC and which models are tied with the best
  (the paired tests of ``score``; multiplicity control ``'none'`` or ``'holm'``);
- per model, the mean and the N-weighted mean of SROCC, KRCC and PLCC and the mean rank,
  over the datasets where *every* model has a cell (the *common* datasets, listed in
  ``settings['summary_datasets']``): a mean over different datasets per model would
  compare models on different tests;
- over the common datasets, the Friedman test and the Nemenyi critical difference of the
  mean ranks (Demšar 2006), the data of a critical-difference diagram;
- optionally (``krasula=True``) the Krasula et al. (2016) analysis per dataset
  (:func:`iqa_eval.krasula`).

The result is pure data; :mod:`iqa_eval.render.bench_tables` renders it.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.dataset import Dataset
from ..errors import InputError
from ..options import (ALTERNATIVES, BENCH_METRICS, DATASET_NAN_POLICIES, FRIEDMAN_METHODS, MAPPINGS, MULTIPLICITY,
                       PAIRED_TESTS, POSTHOC_TESTS, TABLE_SUFFIXES, CIMethod, Interval, N_RATINGS, N_RESAMPLES, ALPHA,
                       SEED, validate_params)

__all__ = ["Benchmark", "DatasetSpec", "FriedmanResult", "benchmark", "dataset_spec", "read_manifest",
           "read_manifest_models", "read_model_info",
           "friedman_nemenyi", "studentized_range_quantile"]

# The summary averages the correlations only (RMSE is in each dataset's MOS units, so its mean
# over datasets is not a quantity); the cells are options.BENCH_METRICS.
SUMMARY_METRICS = ("srocc", "krcc", "plcc")


@dataclass(frozen=True)
class DatasetSpec:
    """Where one dataset's files are and how to read them (the options of ``score``).

    Attributes
    ----------
    name : str
        The column heading of the dataset in the table.
    files : tuple of Path
        Read together by :func:`~iqa_eval.data.io.load_dataset` (one file per model and an optional
        metadata table, or one file with several prediction columns).
    mos_col, std_col, nratings_col, key_col : str, optional
    pred_cols : tuple of str, optional
    lower_is_better : tuple of str
        Models negated before evaluation (when present in this dataset).
    flip : bool
        Negate any other model whose SROCC with MOS is negative (as ``score`` does).
    mos_scale : (float, float), optional
        The rating scale; every MOS must lie in it (checked, so that a swapped column or a
        0-1 / 0-100 mix-up is an error, not a table).
    directory : Path, optional
        The directory the files were listed from (named in errors).
    join, delimiter : str
        As in :func:`~iqa_eval.data.io.load_dataset` (``join='order'`` for files whose row order
        their MOS cannot prove, e.g. a MOS with ties).
    n_ratings : int, optional
        Every MOS is the mean of this many ratings (as in :func:`~iqa_eval.data.io.load_dataset`).
    """

    name: str
    files: tuple
    mos_col: str | None = None
    pred_cols: tuple | None = None
    std_col: str | None = None
    nratings_col: str | None = None
    key_col: str | None = None
    lower_is_better: tuple = ()
    flip: bool = True
    mos_scale: tuple | None = None
    directory: Path | None = None
    join: str = "auto"
    delimiter: str = "auto"
    n_ratings: int | None = None

    def load(self, models=None) -> Dataset:
        """Read, check the MOS scale, keep ``models`` (those present; default all), orient as ``score`` does."""
        from ..data.io import load_dataset

        try:
            data = load_dataset(list(self.files), mos_col=self.mos_col, pred_cols=self.pred_cols,
                                std_col=self.std_col, nratings_col=self.nratings_col, key_col=self.key_col,
                                join=self.join, delimiter=self.delimiter, n_ratings=self.n_ratings)
        except InputError as exc:
            if self.directory is None:
                raise
            raise InputError(f"{exc.reason} [dataset {self.name!r} is every table file in {self.directory}; to "
                             "leave files out, list the dataset's files in a manifest]",
                             file=exc.file, column=exc.column, row=exc.row) from None
        if self.mos_scale is not None:
            lo, hi = self.mos_scale
            outside = np.isfinite(data.mos) & ((data.mos < lo) | (data.mos > hi))
            if outside.any():
                i = int(np.flatnonzero(outside)[0])
                file, column = data.source("mos")
                raise InputError(f"MOS {float(data.mos[i])!r} outside the declared scale [{lo:g}, {hi:g}] "
                                 f"of dataset {self.name!r}", file=file, column=column, row=int(data.rows[i]))
        if models is not None:
            data = data.select([m for m in models if m in data.predictions])
        lower = [m for m in self.lower_is_better if m in data.predictions]
        return data.oriented(lower_is_better=lower, flip=self.flip)


def dataset_spec(path, *, name=None, **options) -> DatasetSpec:
    """A :class:`DatasetSpec` for a directory (every table file in it) or a single file.

    Parameters
    ----------
    path : str or Path
        A directory (its files with a :data:`iqa_eval.options.TABLE_SUFFIXES` ending are the dataset, others
        such as a README are not read) or one table file.
    name : str, optional
        Default: the directory name, or the file stem.
    **options
        Further :class:`DatasetSpec` fields (``mos_col``, ``lower_is_better``, ``mos_scale``, ...).

    Returns
    -------
    DatasetSpec

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "KonIQ"
    >>> folder.mkdir()
    >>> for f in ("meta.csv", "niqe.csv", "README.md"):
    ...     _ = (folder / f).write_text("")
    >>> spec = dataset_spec(folder, lower_is_better=("niqe",))
    >>> spec.name, [f.name for f in spec.files]
    ('KonIQ', ['meta.csv', 'niqe.csv'])
    """
    path = Path(path)
    if path.is_dir():
        files = _table_files(path)
        if not files:
            raise InputError(f"no table files ({', '.join(TABLE_SUFFIXES)}) in the directory", file=path)
        default = path.resolve().name
    elif path.is_file():
        files, default = (path,), path.stem
    else:
        raise InputError("no such file or directory", file=path)
    return DatasetSpec(name=name or default, files=files, directory=path if path.is_dir() else None, **options)


def _table_files(directory: Path, *, hidden: bool = False) -> tuple:
    """The table files of a directory, sorted by name. Dot-files (an editor's or a writer's
    temporary files, ``.iqa-XXXXXXXX.tmp.csv``) are never inputs: ``hidden=True`` lists
    those that were skipped (for a note)."""
    return tuple(sorted(p for p in Path(directory).iterdir()
                        if p.name.startswith(".") == hidden and p.suffix.lower() in TABLE_SUFFIXES
                        and p.is_file()))


def _skipped_note(directory: Path) -> str | None:
    skipped = [p.name for p in _table_files(directory, hidden=True)]
    if not skipped:
        return None
    shown = ", ".join(skipped[:3]) + (", ..." if len(skipped) > 3 else "")
    return f"skipped {len(skipped)} hidden file{'s' if len(skipped) > 1 else ''} ({shown})"


_MANIFEST_KEYS = {"name", "dir", "files", "metadata", "mos_col", "pred_cols", "std_col", "nratings_col", "key_col",
                  "lower_is_better", "flip", "mos_scale", "join", "delimiter", "n_ratings"}


def _read_toml(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=path) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=path) from None


_MODEL_KEYS = {"name", "label", "group"}


def read_manifest_models(path) -> tuple:
    """The ``[[model]]`` tables of a manifest: ``(labels, groups)``, each ``{model: text}`` in the
    manifest's order (the display name and the row block of each model in the paper table).

    Format::

        [[model]]
        name = "ms_ssim"          # the model as its file or column names it
        label = "MS-SSIM"         # printed instead of the name
        group = "full-reference"  # rows in blocks, one per group, in the order first listed

    Parameters
    ----------
    path : str or Path
        The manifest (TOML). Unknown keys, a table without ``name`` or a model listed twice are
        :class:`~iqa_eval.errors.InputError` naming the file.

    Returns
    -------
    (dict, dict)
        ``labels`` and ``groups`` (:func:`iqa_eval.render.bench_tables.format_benchmark`'s arguments).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "sets.toml"
    >>> _ = path.write_text('[[model]]\\nname = "ms_ssim"\\nlabel = "MS-SSIM"\\ngroup = "FR"\\n')
    >>> read_manifest_models(path)
    ({'ms_ssim': 'MS-SSIM'}, {'ms_ssim': 'FR'})
    """
    doc = _read_toml(path)
    entries = doc.get("model", [])
    if not isinstance(entries, list):
        raise InputError("'model' must be [[model]] tables", file=path)
    labels, groups = {}, {}
    for k, entry in enumerate(entries, start=1):
        where = f"model {k}"
        unknown = sorted(set(entry) - _MODEL_KEYS)
        if unknown:
            raise InputError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(_MODEL_KEYS))}",
                             file=path)
        for key in _MODEL_KEYS:
            if key in entry and not (isinstance(entry[key], str) and entry[key].strip()):
                raise InputError(f"{where}: {key!r} must be a non-empty string", file=path)
        if "name" not in entry:
            raise InputError(f"{where}: no 'name' (the model as its file or column names it)", file=path)
        name = entry["name"]
        if name in labels or name in groups:
            raise InputError(f"{where}: model {name!r} is listed twice", file=path)
        if "label" in entry:
            labels[name] = entry["label"]
        if "group" in entry:
            groups[name] = entry["group"]
    return labels, groups


def read_model_info(path, *, delimiter: str = "auto") -> tuple:
    """``(labels, groups)`` from a table with a ``model`` column and a ``label`` and/or ``group`` column
    (one row per model; an empty cell leaves that model's name or group unset).

    Parameters
    ----------
    path : str or Path
        Any table :func:`~iqa_eval.data.io.read_table` reads (CSV, TSV, Excel, Parquet).
    delimiter : str
        As in :func:`~iqa_eval.data.io.read_table`.

    Returns
    -------
    (dict, dict)
        ``labels`` and ``groups``; a missing ``model`` column, an empty or repeated model name is an
        :class:`~iqa_eval.errors.InputError` naming the file, column and row.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "models.csv"
    >>> _ = path.write_text("model,label,group\\nms_ssim,MS-SSIM,FR\\nniqe,NIQE,\\n")
    >>> read_model_info(path)
    ({'ms_ssim': 'MS-SSIM', 'niqe': 'NIQE'}, {'ms_ssim': 'FR'})
    """
    from ..data.io import read_table

    frame = read_table(path, delimiter=delimiter)
    if "model" not in frame.columns:
        raise InputError("no 'model' column (the table names each model, with its 'label' and/or 'group')",
                         file=path)
    have = [c for c in ("label", "group") if c in frame.columns]
    if not have:
        raise InputError("no 'label' or 'group' column", file=path)
    out = {"label": {}, "group": {}}
    seen = set()
    for row, record in frame.iterrows():
        model = record["model"]
        if not isinstance(model, str) or not model.strip():
            raise InputError("empty model name", file=path, column="model", row=int(row) + 1)
        if model in seen:
            raise InputError(f"model {model!r} listed twice", file=path, column="model", row=int(row) + 1)
        seen.add(model)
        for col in have:
            value = record[col]
            if isinstance(value, str) and value.strip():
                out[col][model] = value
            elif not (value is None or (isinstance(value, float) and math.isnan(value))):
                out[col][model] = str(value)
    return out["label"], out["group"]


def read_manifest(path) -> list:
    """Datasets listed in a TOML manifest, as :class:`DatasetSpec` objects.

    Format (paths relative to the manifest's directory)::

        [[dataset]]
        name = "LIVEC"                      # default: the directory name
        dir = "LIVEC"                       # every table file in it, or:
        files = ["LIVEC/meta.csv", "LIVEC/niqe.csv"]
        metadata = "../labels/livec.csv"    # a metadata (MOS) file kept anywhere, read with dir or files
        mos_col = "mos"                     # also std_col, nratings_col, key_col, pred_cols
        n_ratings = 20                      # every MOS a mean of 20 ratings (no count column)
        lower_is_better = ["niqe"]
        mos_scale = [0, 100]
        flip = true

    Parameters
    ----------
    path : str or Path
        The TOML file. Unknown keys, a missing ``[[dataset]]`` table, both or neither of
        ``dir`` and ``files`` are :class:`~iqa_eval.errors.InputError` naming the file.

    Returns
    -------
    list of DatasetSpec
        In the manifest's order; pass them to :func:`benchmark`.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "A").mkdir()
    >>> _ = (folder / "A" / "scores.csv").write_text("mos,niqe\\n1,5\\n2,4\\n3,2\\n")
    >>> _ = (folder / "sets.toml").write_text('[[dataset]]\\ndir = "A"\\nlower_is_better = ["niqe"]\\n')
    >>> [(spec.name, [f.name for f in spec.files], spec.lower_is_better)
    ...  for spec in read_manifest(folder / "sets.toml")]
    [('A', ['scores.csv'], ('niqe',))]
    """
    path = Path(path)
    doc = _read_toml(path)
    entries = doc.get("dataset")
    unknown_top = sorted(set(doc) - {"dataset", "model"})
    if unknown_top:
        raise InputError(f"unknown key {unknown_top[0]!r} (the manifest holds [[dataset]] and [[model]] tables)",
                         file=path)
    if not isinstance(entries, list) or not entries:
        raise InputError("no [[dataset]] table", file=path)
    base = path.parent
    specs = []
    for k, entry in enumerate(entries, start=1):
        where = f"dataset {k}" + (f" ({entry.get('name')!r})" if isinstance(entry.get("name"), str) else "")
        unknown = sorted(set(entry) - _MANIFEST_KEYS)
        if unknown:
            raise InputError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(_MANIFEST_KEYS))}",
                             file=path)
        if ("dir" in entry) == ("files" in entry):
            raise InputError(f"{where}: give exactly one of 'dir' or 'files'", file=path)
        opts = {}
        for key in ("mos_col", "std_col", "nratings_col", "key_col", "name", "join", "delimiter"):
            if key in entry:
                if not isinstance(entry[key], str):
                    raise InputError(f"{where}: {key!r} must be a string", file=path)
                opts[key] = entry[key]
        for key in ("pred_cols", "lower_is_better"):
            if key in entry:
                if not (isinstance(entry[key], list) and all(isinstance(v, str) for v in entry[key])):
                    raise InputError(f"{where}: {key!r} must be a list of strings", file=path)
                opts[key] = tuple(entry[key])
        if "flip" in entry:
            if not isinstance(entry["flip"], bool):
                raise InputError(f"{where}: 'flip' must be true or false", file=path)
            opts["flip"] = entry["flip"]
        if "n_ratings" in entry:
            if entry["n_ratings"] not in N_RATINGS:
                raise InputError(f"{where}: 'n_ratings' must be {N_RATINGS}", file=path)
            opts["n_ratings"] = int(entry["n_ratings"])
        if "mos_scale" in entry:
            scale = entry["mos_scale"]
            if not (isinstance(scale, list) and len(scale) == 2
                    and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in scale)
                    and scale[0] < scale[1]):
                raise InputError(f"{where}: 'mos_scale' must be [low, high] with low < high", file=path)
            opts["mos_scale"] = (float(scale[0]), float(scale[1]))
        metadata = None
        if "metadata" in entry:   # the MOS file kept apart from the predictions (checked here: one error line)
            if not isinstance(entry["metadata"], str) or not entry["metadata"].strip():
                raise InputError(f"{where}: 'metadata' must be a path", file=path)
            metadata = base / entry["metadata"]
            if not metadata.is_file():
                raise InputError(f"{where}: metadata file {str(metadata)!r} not found (paths are relative to the "
                                 "manifest's folder)", file=path)
        if "dir" in entry:
            if not (base / entry["dir"]).exists():
                raise InputError(f"{where}: directory {str(base / entry['dir'])!r} not found (paths are relative "
                                 "to the manifest's folder)", file=path)
            spec = dataset_spec(base / entry["dir"], **opts)
        else:
            files = entry["files"]
            if not (isinstance(files, list) and files and all(isinstance(f, str) for f in files)):
                raise InputError(f"{where}: 'files' must be a non-empty list of paths", file=path)
            name = opts.pop("name", None) or Path(files[0]).parent.name or Path(files[0]).stem
            spec = DatasetSpec(name=name, files=tuple(base / f for f in files), **opts)
        if metadata is not None:   # first, as load_dataset takes the metadata table (once, if also listed)
            same = [f for f in spec.files if f.resolve() == metadata.resolve()]
            spec = replace(spec, files=(metadata,) + tuple(f for f in spec.files if f not in same))
        specs.append(spec)
    return specs


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman test over datasets (blocks) and the Nemenyi critical difference (Demšar 2006).

    Unpacks as ``statistic, pvalue``. ``mean_ranks`` (model -> mean rank, 1 = best) and
    ``critical_difference`` are what a critical-difference diagram draws: two models whose
    mean ranks differ by less than the CD are not shown to differ (Nemenyi, all pairs,
    family-wise level ``alpha``).
    """

    statistic: float
    pvalue: float
    critical_difference: float
    mean_ranks: dict
    n_datasets: int
    alpha: float
    datasets: tuple = ()
    #: Iman-Davenport F_F and the permutation p beside chi-square, and which p decides
    #: (:class:`iqa_eval.stats.posthoc.FriedmanTest`); ``statistic, pvalue`` above stay chi-square's.
    test: object = None

    def __iter__(self):
        return iter((self.statistic, self.pvalue))


def studentized_range_quantile(p: float, k: int) -> float:
    """Quantile of the range of ``k`` independent standard normal values (infinite df).

    ``P(R <= q) = k * integral phi(z) * (Phi(z + q) - Phi(z)) ** (k - 1) dz``, integrated on a
    fine grid and inverted by bisection (equal to ``scipy.stats.studentized_range.ppf(p, k,
    np.inf)`` to about 1e-12, tested; written out here because importing scipy.stats costs more
    than the whole Friedman test).

    Parameters
    ----------
    p : float
        Probability, in (0, 1).
    k : int
        Number of groups (>= 2).

    Returns
    -------
    float

    Examples
    --------
    >>> round(studentized_range_quantile(0.95, 3), 4)   # Demsar (2006), Table 5a: 2.343 * sqrt(2)
    3.3145
    """
    from scipy.special import ndtr

    z = np.linspace(-9.0, 9.0, 4001)
    dz = z[1] - z[0]
    phi = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    cdf_z = ndtr(z)

    def cdf(q):
        return float(k * np.sum(phi * (ndtr(z + q) - cdf_z) ** (k - 1)) * dz)

    lo, hi = 0.0, 1.0
    while cdf(hi) < p:
        hi *= 2.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
    return 0.5 * (lo + hi)


def friedman_nemenyi(ranks, *, alpha: float = 0.05, datasets=()) -> FriedmanResult:
    """Friedman chi-square (with the tie correction scipy uses) and the Nemenyi CD.

    Parameters
    ----------
    ranks : DataFrame, datasets x models
        Rank of each model within each dataset (1 = best, average ranks for ties).
    alpha : float
        Level of the Nemenyi critical difference.

    Returns
    -------
    FriedmanResult
        ``CD = q_alpha * sqrt(k (k + 1) / (6 N))`` with ``q_alpha`` the studentized range
        quantile (k groups, infinite degrees of freedom) divided by sqrt(2).

    Examples
    --------
    >>> r = pd.DataFrame([[1, 2, 3], [1, 3, 2], [2, 1, 3]], columns=list("abc"))
    >>> res = friedman_nemenyi(r)
    >>> round(res.statistic, 4), round(res.critical_difference, 4)
    (2.6667, 1.9136)
    """
    from scipy.special import chdtrc

    r = np.asarray(ranks, dtype=np.float64)
    n, k = r.shape
    sums = r.sum(axis=0)
    stat = 12.0 / (n * k * (k + 1)) * float(sums @ sums) - 3.0 * n * (k + 1)
    ties = 0.0
    for row in r:
        _, counts = np.unique(row, return_counts=True)
        ties += float(np.sum(counts ** 3 - counts))
    correction = 1.0 - ties / (n * k * (k * k - 1))
    stat = stat / correction if correction > 0 else np.nan
    pvalue = float(chdtrc(k - 1, stat)) if np.isfinite(stat) else np.nan
    q = studentized_range_quantile(1.0 - alpha, k) / math.sqrt(2.0)
    cd = q * math.sqrt(k * (k + 1) / (6.0 * n))
    columns = list(ranks.columns) if isinstance(ranks, pd.DataFrame) else list(range(k))
    return FriedmanResult(float(stat), pvalue, cd, dict(zip(columns, map(float, r.mean(axis=0)))), n,
                          float(alpha), tuple(datasets))


@dataclass(frozen=True, eq=False)
class Benchmark:
    """Result of :func:`benchmark`.

    Attributes
    ----------
    cells : DataFrame
        One row per (dataset, model) with a cell: n, srocc, srocc_ci_low, srocc_ci_high, krcc,
        krcc_ci_low, krcc_ci_high, plcc, plcc_ci_low, plcc_ci_high, rmse, rank (by SROCC within the dataset, 1 = best),
        tied_with_best (SROCC), plcc_tied_with_best (PLCC). Intervals and tests are ``score``'s.
    summary : DataFrame
        One row per model: mean_* and weighted_* (N-weighted) of srocc, krcc, plcc and mean_rank,
        over the common datasets (``settings['summary_datasets']``); NaN when there are none.
    friedman : FriedmanResult or None
        Over the common datasets; None when fewer than 2 datasets or 2 models are common.
    datasets : list of str
    models : list of str
        In order of first appearance.
    evaluations : dict of str -> Evaluation
        The full ``score`` result of each dataset (pairwise tests, fits, notes).
    sizes : dict of str -> int
        Rows of each dataset as read.
    krasula : dict of str -> KrasulaResult
        Only with ``krasula=True`` and for datasets with std and number of ratings.
    notes : tuple of str
    settings : dict
    """

    cells: pd.DataFrame
    summary: pd.DataFrame
    friedman: FriedmanResult | None
    datasets: list
    models: list
    evaluations: dict
    sizes: dict
    krasula: dict = field(default_factory=dict)
    notes: tuple = ()
    settings: dict = field(default_factory=dict)
    #: Pairwise post-hoc comparisons (:class:`iqa_eval.stats.posthoc.PosthocResult`), None without Friedman.
    posthoc: object = None

    @property
    def table(self) -> pd.DataFrame:
        """The paper table: models x (dataset, metric) values, then the summary columns.

        Missing cells are NaN. Columns are a two-level index: ``(dataset, metric)`` for
        ``metric`` in srocc, krcc, plcc, rmse and ``('summary', name)`` for the summary.
        """
        wide = self.cells.pivot(index="model", columns="dataset", values=list(BENCH_METRICS))
        wide = wide.swaplevel(axis=1).reindex(index=self.models,
                                              columns=pd.MultiIndex.from_product([self.datasets, BENCH_METRICS]))
        summary = self.summary.set_index("model").reindex(self.models)
        summary.columns = pd.MultiIndex.from_product([["summary"], summary.columns])
        out = pd.concat([wide, summary], axis=1)
        out.index.name = "model"
        return out

    @property
    def ceilings(self) -> dict:
        """``{dataset: NoiseCeiling}`` for every dataset with std and n_ratings
        (:attr:`Evaluation.ceiling <iqa_eval.studies.evaluation.Evaluation>`): a reference row of the
        table, never a model (not in ``cells``, ranks, ties or the Friedman test)."""
        return {d: ev.ceiling for d, ev in self.evaluations.items() if getattr(ev, "ceiling", None) is not None}

    def format(self, fmt: str = "table", *, metrics=("srocc", "plcc"), color: bool = False, **options) -> str:
        """Render as text (see :func:`iqa_eval.render.bench_tables.format_benchmark`: ``labels``, ``groups``,
        ``digits``, ``caption``, ``transpose``, ``fit``, ``show_ci``)."""
        from ..render.bench_tables import format_benchmark
        return format_benchmark(self, fmt, metrics=metrics, color=color, **options)

    def to_latex(self, *, metrics=("srocc", "plcc"), **options) -> str:
        """The booktabs LaTeX table (best bold, second underlined, daggers on ties)."""
        return self.format("latex", metrics=metrics, **options)

    def cd_diagram(self, path=None, *, ax=None):
        """The critical-difference diagram (matplotlib Figure); saved when ``path`` is given."""
        from ..render.bench_tables import cd_diagram
        return cd_diagram(self, path, ax=ax)


def _average_ranks(values: pd.Series, *, ascending: bool = False) -> pd.Series:
    """Rank 1 = best (highest unless ``ascending``), ties share their average rank, NaN -> NaN."""
    return values.rank(ascending=ascending, method="average", na_option="keep")


def _holm_ties(stats: dict, pvalues: dict, alpha: float):
    """Ties with the best after Holm's step-down over the comparisons with the best."""
    from ..stats.inference import tied_with_best

    best, _ = tied_with_best(stats, pvalues, alpha=alpha)
    if best is None:
        return {m: False for m in stats}
    others = [m for m in stats if m != best and np.isfinite(stats[m])]
    p = np.array([pvalues.get((best, m), pvalues.get((m, best), np.nan)) for m in others], dtype=float)
    tied = {m: m == best for m in stats}
    ok = np.isfinite(p)
    if ok.any():
        from ..stats.posthoc import holm

        reject = np.zeros(len(p), dtype=bool)
        reject[ok] = holm(p[ok]) < alpha     # the tie rule everywhere: tied while p >= alpha
        for m, r, fin in zip(others, reject, ok):
            tied[m] = bool(fin and not r)
    return tied


def _ties(evaluation, metric: str, alpha: float, multiplicity: str) -> dict:
    from ..stats.inference import tied_with_best

    table = evaluation.table
    stats = dict(zip(table["model"], table[metric]))
    if len(stats) == 1:
        return {m: bool(np.isfinite(s)) for m, s in stats.items()}
    pw = evaluation.pairwise
    p_col = "pvalue" if evaluation.settings["ci"] == "analytic" else "bootstrap_pvalue"   # evaluate's rule
    rows = pw[pw["metric"] == metric]
    pvalues = {(r.model_a, r.model_b): getattr(r, p_col) for r in rows.itertuples()}
    if not pvalues:  # paired tests skipped: only the best is marked (as score does)
        finite = {m: s for m, s in stats.items() if np.isfinite(s)}
        best = max(finite, key=finite.get) if finite else None
        return {m: m == best for m in stats}
    if multiplicity == "holm":
        return _holm_ties(stats, pvalues, alpha)
    return tied_with_best(stats, pvalues, alpha=alpha)[1]


def _as_specs(datasets, names):
    if isinstance(datasets, (str, Path, Dataset, DatasetSpec)):
        datasets = [datasets]
    items = list(datasets.items()) if isinstance(datasets, dict) else [(None, d) for d in datasets]
    if not items:
        raise InputError("no dataset given")
    if names is not None:
        names = list(names)
        if len(names) > len(items):
            raise InputError(f"{len(names)} names for {len(items)} datasets")
        items = [(names[i] if i < len(names) else key, d) for i, (key, d) in enumerate(items)]
    out = []
    for key, d in items:
        if isinstance(d, Dataset):
            if key is None:
                raise InputError("a Dataset object needs a name: pass {name: dataset}")
            out.append((str(key), d))
        elif isinstance(d, DatasetSpec):
            out.append((str(key) if key is not None else d.name, d))
        elif isinstance(d, (str, Path)):
            spec = dataset_spec(d)
            out.append((str(key) if key is not None else spec.name, spec))
        elif isinstance(d, (list, tuple)) and d and all(isinstance(f, (str, Path)) for f in d):
            if key is None:
                raise InputError("a list of files needs a name: pass {name: [files]}")
            out.append((str(key), DatasetSpec(name=str(key), files=tuple(Path(f) for f in d))))
        else:
            raise InputError(f"cannot read a dataset from {type(d).__name__}: give a directory, a file, a "
                             "list of files, a DatasetSpec or a Dataset")
    seen = set()
    for name, _ in out:
        if name in seen:
            raise InputError(f"two datasets are named {name!r}; rename one (names=[...], or 'name' in the manifest)")
        seen.add(name)
    return out


@validate_params({"mapping": MAPPINGS, "ci": CIMethod, "n_resamples": N_RESAMPLES, "alpha": ALPHA, "seed": SEED,
                  "nan_policy": DATASET_NAN_POLICIES, "multiplicity": MULTIPLICITY, "posthoc": POSTHOC_TESTS,
                  "friedman_method": FRIEDMAN_METHODS, "rope": Interval(0, None), "test": PAIRED_TESTS,
                  "alternative": ALTERNATIVES})
def benchmark(datasets, *, names=None, mapping: str = "logistic4", ci: str = "analytic", n_resamples: int = 1000,
              alpha: float = 0.05, seed: int = 0, rmse_dof: bool = False, nan_policy: str = "omit",
              multiplicity: str = "none", models=None, lower_is_better=(), flip: bool | None = None,
              krasula: bool = False, krasula_options=None, posthoc: str = "nemenyi",
              friedman_method: str = "auto", rope: float = 0.01, test: str = "williams1959",
              alternative: str = "two-sided") -> Benchmark:
    """Score every model on every dataset: the table of an IQA paper, with its statistics.

    Parameters
    ----------
    datasets : sequence or dict
        Directories (every table file in one directory is one dataset, read as ``score``
        reads several files), single files, :class:`DatasetSpec` objects (e.g. from
        :func:`read_manifest`), or ``{name: directory | [files] | DatasetSpec | Dataset}``.
        A :class:`~iqa_eval.data.dataset.Dataset` is used as given (already oriented).
    names : list of str, optional
        Rename the datasets, in order.
    mapping, ci, n_resamples, alpha, seed, rmse_dof, nan_policy, test, alternative
        As in :func:`~iqa_eval.studies.evaluation.evaluate`, for every dataset (``test`` and
        ``alternative``: the paired test of a dataset's best against each model, which marks the ties;
        'greater': the best's correlation is larger).
    multiplicity : {'none', 'holm'}
        Control over the M-1 paired tests of a dataset's best model against the others:
        ``'none'`` marks a model tied when its own test gives p >= alpha (``score``'s rule);
        ``'holm'`` applies Holm's step-down to those tests (fewer models called worse).
    models : iterable of str, optional
        Only these models (each where present); default every model of every dataset.
    lower_is_better : iterable of str
        Models negated on every dataset that has them (added to each spec's own list).
    flip : bool, optional
        Override every spec's ``flip`` (negate models with negative SROCC).
    krasula : bool
        Also run the Krasula et al. (2016) analysis on each dataset with std and ratings counts.
    krasula_options : dict, optional
        Keyword arguments of :func:`iqa_eval.krasula`.
    posthoc : {'nemenyi', 'wilcoxon-holm', 'bayes'}
        Pairwise test after Friedman, on the SROCC of the common datasets
        (:mod:`iqa_eval.stats.posthoc`); its cliques are the bars of the diagram.
    friedman_method : {'auto', 'exact', 'monte-carlo', 'iman-davenport', 'chi2'}
        Which Friedman p decides (:func:`iqa_eval.stats.posthoc.friedman_test`; 'auto': the exact
        permutation p where feasible, else Monte Carlo with 10000 permutations seeded by ``seed``).
    rope : float
        Region of practical equivalence (SROCC units) of ``posthoc='bayes'``.

    Returns
    -------
    Benchmark

    Examples
    --------
    >>> from iqa_eval.data.dataset import Dataset
    >>> rng = np.random.default_rng(0)
    >>> sets = {}
    >>> for name in ("A", "B", "C"):
    ...     q = rng.normal(size=200)
    ...     sets[name] = Dataset(mos=q, predictions={m: q + s * rng.normal(size=200)
    ...                                              for m, s in (("good", .3), ("fair", .8), ("poor", 2.))})
    >>> res = benchmark(sets)
    >>> list(res.summary.sort_values("mean_rank")["model"])
    ['good', 'fair', 'poor']
    """
    from .evaluation import evaluate

    specs = _as_specs(datasets, names)
    lower_is_better = tuple(lower_is_better)
    notes, cell_rows, evaluations, sizes, kras = [], [], {}, {}, {}
    chosen = None if models is None else list(dict.fromkeys(models))
    models: list = []
    seen_lower, seen_chosen = set(), set()
    loaded = []  # every dataset is read (and checked) before anything is computed
    for name, spec in specs:
        if isinstance(spec, DatasetSpec):
            opts = {"lower_is_better": tuple(dict.fromkeys(spec.lower_is_better + lower_is_better))}
            if flip is not None:
                opts["flip"] = flip
            spec = DatasetSpec(**{**{f.name: getattr(spec, f.name) for f in fields(spec)}, **opts})
            data = spec.load(chosen)
            skipped = _skipped_note(spec.directory) if spec.directory is not None else None
            if skipped:
                notes.append(f"{name}: {skipped}")
        else:
            data = spec if chosen is None else spec.select([m for m in chosen if m in spec.predictions])
        seen_lower.update(m for m in lower_is_better if m in data.predictions)
        seen_chosen.update(data.predictions)
        sizes[name] = len(data)
        loaded.append((name, data))
    if chosen is not None:
        absent = [m for m in chosen if m not in seen_chosen]
        if absent:
            raise InputError(f"model(s) {', '.join(map(repr, absent))} in no dataset")
    for name, data in loaded:
        if not data.predictions:
            notes.append(f"{name}: none of the chosen models; the dataset's column is empty")
            continue
        ev = evaluate(data, mapping=mapping, ci=ci, n_resamples=n_resamples, alpha=alpha, seed=seed, rmse_dof=rmse_dof,
                      nan_policy=nan_policy, pairwise=True, test=test, alternative=alternative)
        evaluations[name] = ev
        notes.extend(f"{name}: {note}" for note in ev.notes)
        table = ev.table
        ranks = dict(zip(table["model"], _average_ranks(table["srocc"])))
        ties = {m: _ties(ev, m, alpha, multiplicity) for m in ("srocc", "plcc")}
        for row in table.to_dict("records"):
            m = row["model"]
            if m not in models:
                models.append(m)
            cell_rows.append({"dataset": name, "model": m, "n": int(row["n"]),
                              **{k: float(row[k]) for k in ("srocc", "srocc_ci_low", "srocc_ci_high", "krcc",
                                                            "krcc_ci_low", "krcc_ci_high", "plcc", "plcc_ci_low",
                                                            "plcc_ci_high", "rmse")},
                              "rank": float(ranks[m]), "tied_with_best": bool(ties["srocc"][m]),
                              "plcc_tied_with_best": bool(ties["plcc"][m]), "flipped": bool(row["flipped"])})
        if krasula:
            from .krasula import krasula as _krasula, missing_inputs
            why = missing_inputs(data)
            if why:
                notes.append(f"{name}: {why}")
            else:
                res = _krasula(data, **(krasula_options or {}))
                kras[name] = res
                notes.extend(f"{name} (Krasula): {note}" for note in res.notes)
    unused = [m for m in lower_is_better if m not in seen_lower]
    if unused:
        notes.append(f"lower-is-better {', '.join(map(repr, unused))}: in no dataset")

    dataset_names = [name for name, _ in specs]
    cells = pd.DataFrame(cell_rows)
    summary, friedman, common = _summary(cells, dataset_names, models, alpha, notes)
    post = None
    if friedman is not None:
        from dataclasses import replace

        from ..stats.posthoc import friedman_test, posthoc as _posthoc
        sub = cells[cells["dataset"].isin(common)]
        values = sub.pivot(index="dataset", columns="model", values="srocc").reindex(index=common, columns=models)
        friedman = replace(friedman, test=friedman_test(values, method=friedman_method, seed=seed))
        post = _posthoc(values, posthoc, alpha=alpha, rope=rope, seed=seed,
                        critical_difference=friedman.critical_difference)
    settings = {"mapping": mapping, "ci": str(ci), "n_resamples": int(n_resamples), "alpha": float(alpha),
                "confidence_level": 1.0 - float(alpha), "seed": int(seed), "rmse_dof": bool(rmse_dof),
                "nan_policy": nan_policy, "multiplicity": multiplicity,
                "test": test, "alternative": alternative,
                "tie_rule": _tie_rule(ci, alpha, multiplicity, test, alternative), "summary_datasets": common,
                "posthoc": posthoc, "friedman_method": friedman_method, "rope": float(rope)}
    return Benchmark(cells, summary, friedman, dataset_names, models, evaluations, sizes, kras,
                     tuple(dict.fromkeys(notes)), settings, post)


def _tie_rule(ci, alpha, multiplicity, test="williams1959", alternative="two-sided") -> str:
    from .evaluation import paired_test_words

    test = paired_test_words(test, alternative, ci)
    control = ("no multiplicity adjustment of the M-1 comparisons with the best in a dataset"
               if multiplicity == "none" else "Holm-adjusted over the M-1 comparisons with the best in a dataset")
    return (f"tied with the best: paired test ({test}) against the dataset's best on the same images "
            f"gives p >= {alpha:g} ({control})")


def _summary(cells, dataset_names, models, alpha, notes):
    columns = ["model"] + [f"{kind}_{m}" for m in SUMMARY_METRICS for kind in ("mean", "weighted")] + \
              ["mean_rank", "n_datasets"]
    if cells.empty:
        return pd.DataFrame(columns=columns), None, []
    have = cells[np.isfinite(cells["srocc"])]
    per_dataset = have.groupby("dataset")["model"].apply(set).to_dict()
    every = set(models)
    common = [d for d in dataset_names if per_dataset.get(d, set()) == every]
    left_out = [d for d in dataset_names if d not in common]
    if left_out and common:
        notes.append(f"summary (means, mean rank, Friedman) over the {len(common)} dataset(s) where every model "
                     f"has a cell: {', '.join(common)}; left out: {', '.join(left_out)}")
    elif left_out:
        notes.append("no dataset has a cell for every model: the summary means, mean ranks and the Friedman "
                     "test are left empty (benchmark models that share datasets, e.g. with models=[...])")
    sub = cells[cells["dataset"].isin(common)]
    rows = []
    for m in models:
        s = sub[sub["model"] == m]
        row = {"model": m}
        w = s["n"].to_numpy(dtype=np.float64)
        for metric in SUMMARY_METRICS:
            v = s[metric].to_numpy(dtype=np.float64)
            row[f"mean_{metric}"] = float(v.mean()) if v.size else np.nan
            row[f"weighted_{metric}"] = float(w @ v / w.sum()) if v.size else np.nan
        row["mean_rank"] = float(s["rank"].mean()) if len(s) else np.nan
        row["n_datasets"] = len(s)
        rows.append(row)
    summary = pd.DataFrame(rows, columns=columns)
    friedman = None
    if len(common) >= 2 and len(models) >= 2:
        ranks = sub.pivot(index="dataset", columns="model", values="rank").reindex(index=common, columns=models)
        friedman = friedman_nemenyi(ranks, alpha=alpha, datasets=common)
    elif common:
        notes.append(f"Friedman test needs at least 2 datasets and 2 models in common; "
                     f"have {len(common)} and {len(models)}")
    return summary, friedman, common
