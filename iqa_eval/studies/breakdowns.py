"""Breakdowns of the score table: per group (distortion type, level, content), over repeated
train/test splits, and across datasets (trained on A, tested on B).

Every number comes from :func:`iqa_eval.studies.evaluation.evaluate` run on a part of the data:

- :func:`evaluate_by_group`: ``evaluate`` on the rows of each group value, so each group has the
  same CIs, paired tests and tie marks as the global table, and its own count. A group with
  fewer than ``min_n`` images gets no number (its ``status`` says why); with at most as many
  images as the mapping has parameters it gets SROCC and KRCC but no PLCC or RMSE (the mapping
  cannot be fitted: ``evaluate`` would fall back to a simpler one).
- :func:`evaluate_splits`: ``evaluate`` per split; per model mean, standard deviation (n - 1)
  and median over the splits, and the split-by-split paired tests of ``evaluate`` (Williams' t,
  or the paired bootstrap with a bootstrap ``ci``) against a reference model counted as
  better / n.s. / worse.
- :func:`cross_dataset`: ``evaluate`` per (train set, test set) entry of a manifest
  (:func:`read_cross_manifest`), laid out with rows trained-on and columns tested-on.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..options import (ALPHA, BREAKDOWN_MIN_N, DATASET_NAN_POLICIES, JOINS, MAPPINGS, N_RESAMPLES, SEED, CIMethod,
                       check_choice, validate_params)
from .evaluation import evaluate

__all__ = ["GroupEvaluation", "SplitEvaluation", "CrossDataset", "evaluate_by_group", "evaluate_splits",
           "cross_dataset", "read_cross_manifest", "read_group_labels", "labels_from_names", "GROUP_PATTERNS"]

#: Named-group patterns on the image names of two synthetic-distortion datasets (docs/bench.md):
#: KADID-10k ``I01_01_01.png`` and TID2013 ``i01_01_1.bmp`` = reference, distortion type, level.
GROUP_PATTERNS = {
    "kadid10k": {"reference": r"^(?P<reference>I\d+)_\d+_\d+\.png$",
                 "distortion": r"^I\d+_(?P<distortion>\d+)_\d+\.png$",
                 "level": r"^I\d+_\d+_(?P<level>\d+)\.png$"},
    "tid2013": {"reference": r"(?i)^(?P<reference>i\d+)_\d+_\d+\.bmp$",
                "distortion": r"(?i)^i\d+_(?P<distortion>\d+)_\d+\.bmp$",
                "level": r"(?i)^i\d+_\d+_(?P<level>\d+)\.bmp$"},
}

#: The metrics of a breakdown table (the columns of ``evaluate``'s table they come from).
METRICS = ("srocc", "krcc", "plcc", "rmse")
#: Metrics that need the fitted mapping (too few images for it: no number).
_MAPPED = ("plcc", "rmse")
_COLUMNS = ["n", "srocc", "srocc_ci_low", "srocc_ci_high", "krcc", "krcc_ci_low", "krcc_ci_high",
            "plcc", "plcc_ci_low", "plcc_ci_high", "rmse", "tied_with_best"]


def _natural_key(label):
    """Group values in their natural order: numbers as numbers (``2`` before ``10``), then text."""
    s = str(label)
    try:
        return (0, float(s), s)
    except ValueError:
        return (1, 0.0, s)


def _evaluate_part(data, *, what, min_n, mapping, options, notes):
    """``evaluate`` on one part (a group, a split): rows of the long table, the Evaluation (or None)."""
    from ..stats.mapping import N_PARAMS

    finite_mos = np.isfinite(data.mos)
    counts = {m: int((finite_mos & np.isfinite(v)).sum()) for m, v in data.predictions.items()}
    enough = [m for m in data.models if counts[m] >= min_n]
    rows = {}
    for m in data.models:
        if m not in enough:
            rows[m] = {"n": counts[m], **{k: np.nan for k in _COLUMNS[1:-1]}, "tied_with_best": False,
                       "status": f"too few images (n={counts[m]} < {min_n})"}
    ev = None
    if enough:
        part = replace(data.select(enough), notes=())
        ev = evaluate(part, mapping=mapping, pairwise=len(enough) > 1, **options)
        notes.extend((what, note) for note in ev.notes)
        need = N_PARAMS[mapping] + 1   # fit_mapping needs more points than parameters
        for r in ev.table.to_dict("records"):
            row = {k: r[k] for k in _COLUMNS}
            row["status"] = "ok"
            if mapping != "none" and r["n"] < need:
                row.update({k: np.nan for k in ("plcc", "plcc_ci_low", "plcc_ci_high", "rmse")})
                row["status"] = f"too few images for the {mapping} mapping (n={r['n']} < {need}): no PLCC, RMSE"
            rows[r["model"]] = row
    return rows, ev


def _merge_notes(notes, name):
    """Notes as lines: a plain note as is; ``(part, note)`` pairs with the same text said once,
    naming every part it applies to (25 distortion types need not repeat one remark 25 times)."""
    parts = {}
    out = []
    for item in notes:
        if isinstance(item, tuple):
            if item[1] not in parts:
                out.append(item[1])
                parts[item[1]] = []
            parts[item[1]].append(item[0])
        else:
            out.append(item)
    lines = []
    for item in dict.fromkeys(out):
        where = parts.get(item)
        if where is None:
            lines.append(item)
            continue
        # the overall row ("all images") is not a value of the grouping: said apart, not counted
        overall = "all images" in where
        values = [w for w in where if w != "all images"]
        if not values:
            lines.append(f"all images: {item}")
        elif len(values) == 1:
            lines.append(f"{name} {values[0]!r}{' and all images' if overall else ''}: {item}")
        else:
            shown = ", ".join(map(repr, values[:6])) + (", ..." if len(values) > 6 else "")
            lines.append(f"{len(values)} {name} values ({shown}){' and all images' if overall else ''}: {item}")
    return tuple(lines)


def _check_labels(labels, n, source, rows, what):
    labels = pd.Series(labels, dtype=object).reset_index(drop=True) if not isinstance(labels, np.ndarray) \
        else pd.Series(labels, dtype=object)
    if len(labels) != n:
        raise InputError(f"{what}: {len(labels)} labels for {n} images", file=source[0], column=source[1])
    bad = labels.isna() | labels.map(lambda v: isinstance(v, float) and not math.isfinite(v)) | \
        (labels.map(lambda v: str(v).strip()) == "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        row = int(rows[i]) if rows is not None else i + 1
        raise InputError(f"{what}: empty or missing value ({int(bad.sum())} row(s)); every image needs one",
                         file=source[0], column=source[1], row=row)
    return labels.map(lambda v: str(v).strip() if not isinstance(v, (int, np.integer)) else str(v)).to_numpy(object)


@dataclass(frozen=True, eq=False)
class GroupEvaluation:
    """Result of :func:`evaluate_by_group`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group value and model: group, model, n, srocc (with ci_low/ci_high), krcc, plcc,
        rmse, tied_with_best (the score table's rule within the group), status (``'ok'`` or why a
        number is missing).
    groups : tuple of str
        Group values in their natural order.
    models : tuple of str
        Models, by their mean SROCC over the groups (highest first).
    name : str
        What the groups are (the column or the pattern's group name).
    evaluations : dict of str -> Evaluation
        The per-group :class:`~iqa_eval.studies.evaluation.Evaluation` (groups with enough images).
    notes : tuple of str
    settings : dict
    overall : pandas.DataFrame or None
        With ``overall=True``: the same columns for all images together (group ``None``), the
        score table's numbers; printed as a last row ``all`` below a rule.
    """

    table: pd.DataFrame
    groups: tuple
    models: tuple
    name: str
    evaluations: dict
    notes: tuple
    settings: dict = field(default_factory=dict)
    overall: pd.DataFrame | None = None


def _settings(mapping, ci, n_resamples, alpha, seed, rmse_dof, nan_policy, min_n):
    return {"mapping": mapping, "ci": getattr(ci, "value", ci), "n_resamples": int(n_resamples),
            "alpha": float(alpha), "confidence_level": 1.0 - float(alpha), "seed": int(seed),
            "rmse_dof": bool(rmse_dof), "nan_policy": nan_policy, "min_n": int(min_n)}


@validate_params({"mapping": MAPPINGS, "ci": CIMethod, "n_resamples": N_RESAMPLES, "alpha": ALPHA, "seed": SEED,
                  "nan_policy": DATASET_NAN_POLICIES, "min_n": BREAKDOWN_MIN_N})
def evaluate_by_group(dataset, groups, *, name=None, source=None, min_n: int = 3,
                      mapping: str = "logistic4", ci: str = "analytic", n_resamples: int = 1000,
                      alpha: float = 0.05, seed: int = 0, rmse_dof: bool = False,
                      nan_policy: str = "omit", overall: bool = False) -> GroupEvaluation:
    """Score every model within each group of images (distortion type, level, content, ...).

    Parameters
    ----------
    dataset : Dataset
        Already oriented (orientation is decided on all images, not per group).
    groups : array-like of shape (n,)
        The group value of each image (text or numbers); an empty or missing value is an error.
    name : str, optional
        What the groups are (a table heading: ``'distortion'``); default ``'group'``.
    source : (file, column), optional
        Where ``groups`` came from, for messages.
    min_n : int >= 3
        Fewer images in a group (for a model: with a finite score) -> no number, a status.
    mapping, ci, n_resamples, alpha, seed, rmse_dof, nan_policy
        As in :func:`~iqa_eval.studies.evaluation.evaluate`, applied to each group.
    overall : bool
        Also score all images together (:attr:`GroupEvaluation.overall`, the last row of the tables).

    Returns
    -------
    GroupEvaluation

    Examples
    --------
    >>> from iqa_eval.data.dataset import Dataset
    >>> rng = np.random.default_rng(0)
    >>> q = rng.normal(size=120)
    >>> data = Dataset(mos=q, predictions={"a": q + 0.3 * rng.normal(size=120), "b": q + rng.normal(size=120)})
    >>> res = evaluate_by_group(data, np.repeat(["blur", "noise"], 60), name="distortion")
    >>> res.groups, list(res.table["n"])
    (('blur', 'noise'), [60, 60, 60, 60])
    """
    name = "group" if name is None else str(name)   # a heading, not an option
    source = tuple(source) if source is not None else (None, name)
    labels = _check_labels(groups, len(dataset), source, dataset.rows, f"group values ({name})")
    values = tuple(sorted(set(labels.tolist()), key=_natural_key))
    options = dict(ci=ci, n_resamples=n_resamples, alpha=alpha, seed=seed, rmse_dof=rmse_dof, nan_policy=nan_policy)
    notes = list(dataset.notes)
    records, evaluations = [], {}
    for g in values:
        part = dataset.take(labels == g)
        rows, ev = _evaluate_part(part, what=g, min_n=min_n, mapping=mapping, options=options,
                                  notes=notes)
        if ev is not None:
            evaluations[g] = ev
        records += [{"group": g, "model": m, **row} for m, row in rows.items()]
    table = pd.DataFrame(records, columns=["group", "model"] + _COLUMNS + ["status"])
    whole = None
    if overall:
        rows, _ = _evaluate_part(dataset, what="all images", min_n=min_n, mapping=mapping, options=options,
                                 notes=notes)
        whole = pd.DataFrame([{"group": None, "model": m, **row} for m, row in rows.items()], columns=table.columns)
    few = sorted({r["group"] for r in records if r["status"].startswith("too few images (")}, key=_natural_key)
    if few:
        notes.append(f"{len(few)} {name} value(s) with fewer than {min_n} images for some model: no number "
                     f"({', '.join(map(repr, few[:5]))}{', ...' if len(few) > 5 else ''})")
    order = _overall_order(table, dataset.models)
    settings = _settings(mapping, ci, n_resamples, alpha, seed, rmse_dof, nan_policy, min_n)
    settings["test"] = _test_name(ci)
    settings["tie_rule"] = ("within each group: the model with the highest SROCC, and every model whose paired "
                            f"test of SROCC against it gives p >= alpha ({_test_name(ci)})")
    return GroupEvaluation(table, values, tuple(order), str(name), evaluations, _merge_notes(notes, name),
                           settings, whole)


def _test_name(ci) -> str:
    return "Williams' t" if getattr(ci, "value", ci) == "analytic" else "paired bootstrap"


def _overall_order(table, models):
    """Models by their mean SROCC over the parts (NaN last), a stable order for the columns."""
    means = table.groupby("model", sort=False)["srocc"].mean()
    return sorted(models, key=lambda m: (-(means.get(m, np.nan)) if np.isfinite(means.get(m, np.nan)) else np.inf))


# -- reading group values from the input files ------------------------------------------------
def labels_from_names(names, pattern: str, *, source=(None, None), rows=None):
    """The value of ``pattern``'s one named group in each image name (an unmatched name: error).

    Returns ``(labels, group_name)``.

    Examples
    --------
    >>> labels_from_names(["I01_03_05.png", "I02_11_01.png"], GROUP_PATTERNS["kadid10k"]["distortion"])
    (array(['03', '11'], dtype=object), 'distortion')
    """
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise InputError(f"--group-pattern is not a regular expression ({exc}): {pattern!r}") from None
    if len(rx.groupindex) != 1:
        raise InputError(f"--group-pattern needs exactly one named group, (?P<name>...), for the group value; "
                         f"{pattern!r} has {len(rx.groupindex)}")
    group = next(iter(rx.groupindex))
    out = np.empty(len(names), dtype=object)
    for i, text in enumerate(pd.Series(names, dtype=object).tolist()):
        m = rx.search("" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text).strip())
        if m is None or m.group(group) is None:
            row = int(rows[i]) if rows is not None else i + 1
            raise InputError(f"image name {text!r} does not match --group-pattern {pattern!r}",
                             file=source[0], column=source[1], row=row)
        out[i] = m.group(group)
    return out, group


def read_group_labels(paths, dataset, *, column=None, pattern=None, delimiter: str = "auto"):
    """The group value of each image of ``dataset`` (read from ``paths``, the files it was read from).

    ``column``: a column of one of the files; ``pattern``: a regular expression with one named group
    applied to ``column`` or, without it, to the image names (the key column, or a column named like
    one: ``dist_name``, ``image``, ...). A column in a file other than the one that sets the image
    order is aligned by the image names where that file and the data both have them, else row by
    row (as :func:`~iqa_eval.data.io.load_dataset` joined it: a file without names was aligned by row).

    Returns
    -------
    (labels, name, source, note)
        ``labels``: one text value per image; ``name``: the column or the pattern's group name;
        ``source``: ``(file, column)``; ``note``: how the column was aligned (None for the file
        that sets the image order).
    """
    from ..data.io import KEY_NAMES, _expand_directories, find_column, read_table

    if column is None and pattern is None:
        raise InputError("give a group column or a group pattern")
    files, _ = _expand_directories(paths)
    tables = [(str(p), read_table(p, delimiter=delimiter)) for p in files if not isinstance(p, pd.DataFrame)]
    base = dataset.source("mos")[0]
    tables.sort(key=lambda t: t[0] != base)   # the file that sets the image order first
    if column is not None:
        found = [(p, df) for p, df in tables if column in df.columns]
        if not found:
            cols = sorted({str(c) for _, df in tables for c in df.columns})
            raise InputError(f"group column not found in any input file; columns are {cols}",
                             file=tables[0][0] if len(tables) == 1 else None, column=column)
        path, df = found[0]
    else:
        found = [(p, df, find_column(df.columns, KEY_NAMES)) for p, df in tables]
        found = [(p, df, c) for p, df, c in found if c is not None]
        if not found:
            raise InputError("--group-pattern: no image-name column (image, dist_name, filename, ...) in the input "
                             "files; name the column of image names with --group-col")
        path, df, column = found[0]
    values, rows, note = _aligned(df, column, path, dataset, base)
    if pattern is None:
        labels = _check_labels(values, len(dataset), (path, column), rows, f"group column {column!r}")
        return labels, column, (path, column), note
    names = _check_labels(values, len(dataset), (path, column), rows, "image names")
    labels, name = labels_from_names(names, pattern, source=(path, column), rows=rows)
    return labels, name, (path, column), note


def _aligned(df, column, path, dataset, base):
    """``df[column]`` in the row order of ``dataset``, the row numbers of ``path`` it came from, and
    a note saying how (None for the file that sets the order)."""
    n = len(dataset)
    values = df[column].reset_index(drop=True)
    if path != base and dataset.keys is not None:
        keys = pd.Series(dataset.keys, dtype=object).map(lambda v: str(v).strip())
        for col in df.columns:   # the column of this file that holds the image names of the data
            text = df[col].map(lambda v: str(v).strip())
            if text.is_unique and keys.isin(set(text)).all():
                pos = pd.Index(text).get_indexer(keys)
                return (values.to_numpy(object)[pos], pos + 1,
                        f"{path}: column {column!r} aligned to {base} by the image names in its column {col!r}")
    if len(values) != n:
        raise InputError(f"has {len(values)} rows but {base} (the file that sets the image order) has {n}, and no "
                         f"column here holds its image names: the column cannot be aligned", file=path, column=column)
    note = None if path == base else f"{path}: column {column!r} aligned to {base} by row order, as the files were joined"
    return values.to_numpy(object), np.arange(1, n + 1), note


# -- repeated splits -----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SplitEvaluation:
    """Result of :func:`evaluate_splits`.

    Attributes
    ----------
    per_split : pandas.DataFrame
        One row per split and model: split, model, n, srocc, krcc, plcc, rmse (with CIs), status.
    summary : pandas.DataFrame
        One row per model: n_splits, and ``<metric>_mean``, ``<metric>_std`` (n - 1),
        ``<metric>_median`` for srocc, krcc, plcc, rmse; sorted by mean SROCC.
    tests : pandas.DataFrame
        One row per model other than the reference and metric (srocc, plcc): better, ns, worse,
        untested (counts of splits).
    reference : str
    splits : tuple of str
    notes : tuple of str
    settings : dict
    """

    per_split: pd.DataFrame
    summary: pd.DataFrame
    tests: pd.DataFrame
    reference: str
    splits: tuple
    notes: tuple
    settings: dict = field(default_factory=dict)


def _split_datasets(dataset, splits, source):
    """``{split: Dataset}`` from a dict, or from one Dataset and a split id per row."""
    if isinstance(dataset, dict):
        if splits is not None:
            raise InputError("give per-split datasets (a dict) or one dataset with a split id per row, not both")
        parts = {str(k): v for k, v in dataset.items()}
        if len(parts) < 2:
            raise InputError(f"{len(parts)} split(s); at least 2 are needed for a spread over splits")
        first_name, first = next(iter(parts.items()))
        for k, d in parts.items():
            missing = [m for m in first.models if m not in d.predictions]
            extra = [m for m in d.models if m not in first.predictions]
            if missing or extra:
                what = (f"model {missing[0]!r} of split {first_name!r} is missing" if missing
                        else f"model {extra[0]!r} is not in split {first_name!r}")
                raise InputError(f"split {k!r}: the splits do not line up ({what}); every split needs the same models",
                                 file=d.source("mos")[0])
        return parts
    if splits is None:
        raise InputError("give a split id per row (splits=...) or a dict of per-split datasets")
    source = tuple(source) if source is not None else (None, "split")
    labels = _check_labels(splits, len(dataset), source, dataset.rows, "split ids")
    values = sorted(set(labels.tolist()), key=_natural_key)
    if len(values) < 2:
        raise InputError(f"only one split id ({values[0]!r}); at least 2 splits are needed", file=source[0],
                         column=source[1])
    return {v: dataset.take(labels == v) for v in values}


@validate_params({"mapping": MAPPINGS, "ci": CIMethod, "n_resamples": N_RESAMPLES, "alpha": ALPHA, "seed": SEED,
                  "nan_policy": DATASET_NAN_POLICIES, "min_n": BREAKDOWN_MIN_N})
def evaluate_splits(dataset, splits=None, *, reference=None, source=None, min_n: int = 3,
                    mapping: str = "logistic4", ci: str = "analytic", n_resamples: int = 1000,
                    alpha: float = 0.05, seed: int = 0, rmse_dof: bool = False,
                    nan_policy: str = "omit") -> SplitEvaluation:
    """Score every model on each of repeated train/test splits, and summarise over the splits.

    Parameters
    ----------
    dataset : Dataset or dict of str -> Dataset
        The test-set predictions of every split: one Dataset with a split id per row
        (``splits``), or one Dataset per split (the same models in each).
    splits : array-like of shape (n,), optional
        The split id of each row of ``dataset``.
    reference : str, optional
        The model the others are tested against in each split (default: the highest mean SROCC).
    source : (file, column), optional
        Where ``splits`` came from, for messages.
    min_n, mapping, ci, n_resamples, alpha, seed, rmse_dof, nan_policy
        As in :func:`evaluate_by_group`, applied to each split.

    Returns
    -------
    SplitEvaluation

    Examples
    --------
    >>> from iqa_eval.data.dataset import Dataset
    >>> rng = np.random.default_rng(0)
    >>> q = rng.normal(size=300)
    >>> data = Dataset(mos=q, predictions={"a": q + 0.3 * rng.normal(size=300), "b": q + rng.normal(size=300)})
    >>> res = evaluate_splits(data, np.tile(np.arange(3), 100))
    >>> res.reference, list(res.summary["n_splits"])
    ('a', [3, 3])
    """
    parts = _split_datasets(dataset, splits, source)
    options = dict(ci=ci, n_resamples=n_resamples, alpha=alpha, seed=seed, rmse_dof=rmse_dof, nan_policy=nan_policy)
    notes = [] if isinstance(dataset, dict) else list(dataset.notes)
    records, evaluations = [], {}
    for k, part in parts.items():
        if isinstance(dataset, dict):
            notes.extend((k, note) for note in part.notes)
        rows, ev = _evaluate_part(part, what=k, min_n=min_n, mapping=mapping, options=options,
                                  notes=notes)
        evaluations[k] = ev
        records += [{"split": k, "model": m, **row} for m, row in rows.items()]
    per_split = pd.DataFrame(records, columns=["split", "model"] + _COLUMNS + ["status"])
    per_split = per_split.drop(columns="tied_with_best")
    grouped = per_split.groupby("model", sort=False)
    summary = pd.DataFrame({"model": list(grouped.groups)})
    summary["n_splits"] = [int(grouped.get_group(m)["srocc"].notna().sum()) for m in summary["model"]]
    for metric in METRICS:
        agg = grouped[metric].agg(["mean", "std", "median"])   # pandas skips NaN; std with n - 1
        for stat in ("mean", "std", "median"):
            summary[f"{metric}_{stat}"] = summary["model"].map(agg[stat]).astype(float)
    summary = summary.sort_values("srocc_mean", ascending=False, na_position="last", kind="stable")
    summary = summary.reset_index(drop=True)
    models = list(summary["model"])
    if reference is None:
        reference = models[0]
        notes.append(f"reference of the per-split tests: {reference!r}, the highest mean SROCC over the splits")
    elif reference not in models:
        raise InputError(f"reference model {reference!r} is not among the models: {', '.join(map(repr, models))}")
    tests = _split_tests(evaluations, models, reference, ci, alpha)
    settings = _settings(mapping, ci, n_resamples, alpha, seed, rmse_dof, nan_policy, min_n)
    settings.update(reference=reference, test=_test_name(ci), std="sample standard deviation (n - 1) over splits",
                    test_rule=("per split, the paired test of score (" + _test_name(ci) + ") of each model "
                               f"against the reference: better or worse at p < {float(alpha):g} by the sign of the "
                               "difference, else n.s.; no multiplicity adjustment"))
    return SplitEvaluation(per_split, summary, tests, reference, tuple(parts), _merge_notes(notes, "split"), settings)


def _split_tests(evaluations, models, reference, ci, alpha):
    """Better / n.s. / worse counts of each model against ``reference`` over the splits, from the
    paired tests each split's ``evaluate`` ran (never recomputed here)."""
    p_col = "williams_pvalue" if getattr(ci, "value", ci) == "analytic" else "bootstrap_pvalue"
    out = []
    for metric in ("srocc", "plcc"):
        for m in models:
            if m == reference:
                continue
            counts = {"better": 0, "ns": 0, "worse": 0, "untested": 0}
            for ev in evaluations.values():
                pw = ev.pairwise if ev is not None else pd.DataFrame(columns=["model_a", "model_b", "metric"])
                hit = pw[(pw["metric"] == metric) & (((pw["model_a"] == m) & (pw["model_b"] == reference))
                                                     | ((pw["model_a"] == reference) & (pw["model_b"] == m)))]
                if hit.empty or not np.isfinite(hit.iloc[0][p_col]):
                    counts["untested"] += 1
                    continue
                r = hit.iloc[0]
                diff = r["diff"] if r["model_a"] == m else -r["diff"]   # model minus reference
                if r[p_col] < alpha:
                    counts["better" if diff > 0 else "worse"] += 1
                else:
                    counts["ns"] += 1
            out.append({"model": m, "reference": reference, "metric": metric, **counts})
    return pd.DataFrame(out, columns=["model", "reference", "metric", "better", "ns", "worse", "untested"])


# -- cross-dataset ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CrossEntry:
    """One line of a cross-dataset manifest: predictions of models trained on ``train``, on ``test``."""

    train: str
    test: str
    files: tuple
    model: str | None = None
    mos_col: str | None = None
    key_col: str | None = None
    join: str = "auto"
    where: tuple = (None, None)   # (manifest, row) for messages


@dataclass(frozen=True, eq=False)
class CrossDataset:
    """Result of :func:`cross_dataset`.

    Attributes
    ----------
    cells : pandas.DataFrame
        One row per model, train set and test set: n, srocc, krcc, plcc, rmse (with CIs).
    models, train_sets, test_sets : tuple of str
        In manifest order.
    notes : tuple of str
    settings : dict
    """

    cells: pd.DataFrame
    models: tuple
    train_sets: tuple
    test_sets: tuple
    notes: tuple
    settings: dict = field(default_factory=dict)


_MANIFEST_KEYS = ("train", "test", "predictions", "metadata", "model", "mos_col", "key_col", "join")


def read_cross_manifest(path) -> list:
    """The entries of a cross-dataset manifest (CSV with a header, or TOML with ``[[run]]`` tables).

    Keys: ``train``, ``test``, ``predictions`` (file; may hold the MOS), optional ``metadata`` (file
    with the MOS), ``model`` (a name for the file's one prediction column), ``mos_col``, ``key_col``,
    ``join``. Relative paths are relative to the manifest.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("cross-dataset manifest not found", file=str(path))
    if path.suffix.lower() == ".toml":
        import tomllib
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"not a valid TOML file ({exc})", file=str(path)) from None
        runs = doc.get("run")
        if not isinstance(runs, list) or not runs:
            raise InputError("a TOML cross-dataset manifest needs [[run]] tables (train, test, predictions)",
                             file=str(path))
        records = [(k + 1, r) for k, r in enumerate(runs)]
        label = "run"
    else:
        from ..data.io import read_table
        df = read_table(path)
        records = [(k + 2, {c: (None if pd.isna(v) or str(v).strip() == "" else str(v).strip()) for c, v in r.items()})
                   for k, r in enumerate(df.to_dict("records"))]   # row 1 is the header
        label = "row"
    entries = []
    for row, rec in records:
        unknown = [k for k in rec if k not in _MANIFEST_KEYS]
        if unknown:
            raise InputError(f"unknown key {unknown[0]!r}; the keys are {', '.join(_MANIFEST_KEYS)}",
                             file=str(path), column=unknown[0], row=row if label == "row" else None)
        for key in ("train", "test", "predictions"):
            if not rec.get(key):
                raise InputError(f"{label} {row}: {key} is missing", file=str(path), column=key,
                                 row=row if label == "row" else None)
        files = tuple(str((path.parent / rec[k]) if not Path(rec[k]).is_absolute() else Path(rec[k]))
                      for k in ("metadata", "predictions") if rec.get(k))
        join = rec.get("join") or "auto"
        try:
            check_choice("join", join, JOINS)
        except InputError as exc:   # the same message, placed in the manifest
            raise InputError(exc.reason, file=str(path), column="join", row=row if label == "row" else None) from None
        entries.append(CrossEntry(str(rec["train"]), str(rec["test"]), files, rec.get("model"), rec.get("mos_col"),
                                  rec.get("key_col"), join, (str(path), row)))
    return entries


@validate_params({"mapping": MAPPINGS, "ci": CIMethod, "n_resamples": N_RESAMPLES, "alpha": ALPHA, "seed": SEED,
                  "nan_policy": DATASET_NAN_POLICIES})
def cross_dataset(entries, *, mapping: str = "logistic4", ci: str = "analytic", n_resamples: int = 1000,
                  alpha: float = 0.05, seed: int = 0, rmse_dof: bool = False, nan_policy: str = "omit",
                  lower_is_better=(), flip: bool = True) -> CrossDataset:
    """Score models trained on one dataset and tested on another, for every manifest entry.

    Parameters
    ----------
    entries : list of CrossEntry, or a path to a manifest (:func:`read_cross_manifest`)
    mapping, ci, n_resamples, alpha, seed, rmse_dof, nan_policy
        As in :func:`~iqa_eval.studies.evaluation.evaluate`, per entry.
    lower_is_better, flip
        As in :meth:`Dataset.oriented`, per entry.

    Returns
    -------
    CrossDataset

    Examples
    --------
    >>> res = cross_dataset("manifest.csv")  # doctest: +SKIP
    >>> res.cells.pivot_table(index=["model", "train"], columns="test", values="srocc")  # doctest: +SKIP
    """
    from ..data.io import load_dataset

    if isinstance(entries, (str, Path)):
        entries = read_cross_manifest(entries)
    notes, records, seen = [], [], set()
    for e in entries:
        try:
            data = load_dataset(list(e.files), mos_col=e.mos_col, key_col=e.key_col, join=e.join)
        except InputError as exc:   # the join and key column are the manifest entry's: say so in its words
            entry = (f"[[run]] {e.where[1]}" if str(e.where[0]).lower().endswith(".toml") else f"row {e.where[1]}")
            entry += f" of {e.where[0]}"
            reason = re.sub(r"join='(\w+)'", lambda m: f'join = "{m.group(1)}" in {entry}', exc.reason)
            reason = reason.replace("name it with key_col", f"name it with key_col in {entry}")
            err = InputError(reason, file=exc.file, column=exc.column, row=exc.row)
            err.own_words = True           # the command line's option names do not apply here
            raise err from None
        if e.model is not None:
            if len(data.models) != 1:
                raise InputError(f"model {e.model!r} names the one prediction column, but the files have "
                                 f"{len(data.models)}: {', '.join(data.models)}", file=e.where[0], column="model",
                                 row=e.where[1])
            old = data.models[0]
            data = replace(data, predictions={e.model: data.predictions[old]},
                           sources={**data.sources, e.model: data.source(old)})
        data = data.oriented(lower_is_better=[m for m in lower_is_better if m in data.predictions], flip=flip)
        what = f"trained on {e.train!r}, tested on {e.test!r}"
        for m in data.models:
            if (m, e.train, e.test) in seen:
                raise InputError(f"model {m!r} {what} is listed twice", file=e.where[0], row=e.where[1])
            seen.add((m, e.train, e.test))
        ev = evaluate(replace(data, notes=()), mapping=mapping, ci=ci, n_resamples=n_resamples, alpha=alpha,
                      seed=seed, rmse_dof=rmse_dof, nan_policy=nan_policy, pairwise=False)
        notes.extend(f"{what}: {note}" for note in data.notes + ev.notes if "paired tests skipped" not in note)
        for r in ev.table.to_dict("records"):
            records.append({"model": r["model"], "train": e.train, "test": e.test,
                            **{k: r[k] for k in _COLUMNS[:-1]}})
    cells = pd.DataFrame(records, columns=["model", "train", "test"] + _COLUMNS[:-1])
    order = lambda col: tuple(dict.fromkeys(cells[col]))   # noqa: E731  (manifest order)
    settings = _settings(mapping, ci, n_resamples, alpha, seed, rmse_dof, nan_policy, 3)
    return CrossDataset(cells, order("model"), order("train"), order("test"), tuple(dict.fromkeys(notes)), settings)
