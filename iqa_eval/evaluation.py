"""Score every model of a :class:`~iqa_eval.dataset.Dataset`: the table behind ``iqa-eval score``.

:func:`evaluate` computes, per model, SROCC / KRCC / PLCC (raw and after the fitted
mapping) with confidence intervals, RMSE, MAE and — when the dataset has a std column —
outlier ratio and RMSE*; then, for every pair of models, paired tests on the images both
models scored; and marks the models tied with the best.

Rows are handled per model: a model is scored on the rows where it and the MOS are
finite (the count dropped is a note), and a pair of models on the rows complete in both.
Sort orders and ranks are computed once per vector and shared by SROCC, KRCC and the
paired tests, so the default (analytic) path stays fast on a million rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import metrics as _m
from .errors import InputError
from .inference import CI_METHODS, bootstrap_ci, compare_correlations, fisher_ci, tied_with_best
from .mapping import MAPPING_KINDS, fit_mapping

__all__ = ["Evaluation", "evaluate", "TIE_RULE"]

TIE_RULE = ("tied with the best: the model with the highest SROCC, and every model whose paired "
            "test of SROCC against it gives p >= alpha ({test})")


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Result of :func:`evaluate`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per model, sorted by SROCC (descending, NaN last).
    pairwise : pandas.DataFrame
        One row per pair of models and metric (``srocc``, ``plcc``): model_a, model_b,
        n, metric, diff (= a - b), ci_lo, ci_hi, p_williams, p_bootstrap.
    fits : dict of str -> MappingFit
    notes : tuple of str
        Dataset notes, rows dropped per model, mapping fallbacks, test remarks.
    settings : dict
        The options used, the confidence level and the tie rule in words.
    best : str or None
        The model with the highest SROCC.
    """

    table: pd.DataFrame
    pairwise: pd.DataFrame
    fits: dict
    notes: tuple
    settings: dict = field(default_factory=dict)
    best: str | None = None


class _Vector:
    """A finite vector with its sort order, average ranks and dense ranks (computed lazily)."""

    def __init__(self, values):
        self.values = values
        self._ranked = None

    @property
    def ranked(self):
        if self._ranked is None:
            self._ranked = _m._ranked(self.values)
        return self._ranked


def _check_options(mapping, ci, n_boot, alpha, nan_policy):
    if mapping not in MAPPING_KINDS:
        raise InputError(f"mapping must be one of {MAPPING_KINDS}, got {mapping!r}")
    if ci not in CI_METHODS:
        raise InputError(f"ci must be one of {CI_METHODS}, got {ci!r}")
    if int(n_boot) < 1:
        raise InputError(f"n_boot must be a positive integer, got {n_boot!r}")
    if not (0.0 < float(alpha) < 1.0):
        raise InputError(f"alpha must be between 0 and 1, got {alpha!r}")
    if nan_policy not in ("omit", "raise"):
        raise InputError(f"nan_policy must be 'omit' or 'raise', got {nan_policy!r}")


def _interval(kind, r, x, y, *, ci, level, n_boot, seed, notes, model):
    if ci == "fisher" or not np.isfinite(r):
        return fisher_ci(r, x.size, kind=kind, confidence_level=level)
    interval, extra = bootstrap_ci(kind, x, y, method=ci, confidence_level=level, n_boot=n_boot, seed=seed)
    notes.extend(f"model {model!r}: {note}" for note in extra)
    return interval


def _score_model(name, data, mos_vec, *, mapping, ci, level, n_boot, seed, rmse_dof, nan_policy, notes):
    """One table row, the fit, and the vectors the paired tests reuse."""
    x, y = data.predictions[name], data.mos
    pred_vec = _Vector(x)
    n = x.size
    row = {"model": name, "n": n}
    degenerate = []
    nan_row = _m._degenerate(x, y, f"every coefficient of model {name!r}", degenerate)
    notes.extend(degenerate)
    if nan_row:
        fit = fit_mapping(x, y, kind=mapping, seed=seed)
        for key in ("srocc", "srocc_lo", "srocc_hi", "srocc_p", "krcc", "krcc_lo", "krcc_hi", "krcc_p",
                    "plcc_raw", "plcc_raw_p", "plcc", "plcc_lo", "plcc_hi", "rmse", "mae"):
            row[key] = np.nan
        return row, fit, pred_vec, None
    _, rx, _ = pred_vec.ranked
    order_y, ry, dense_y = mos_vec.ranked
    r_s = _m._pearson(rx, ry)
    tau, p_tau = _m._kendall_from_ranks(x, pred_vec.ranked[0], dense_y)
    r_raw = _m._pearson(x, y)
    fit = fit_mapping(x, y, kind=mapping, seed=seed)
    notes.extend(f"model {name!r}: {note}" for note in fit.notes)
    fx = fit.predict(x)
    r_p = _m._pearson(fx, y) if np.ptp(fx) > 0 else np.nan
    err = y - fx
    dof = n - fit.n_params if rmse_dof else n
    common = dict(ci=ci, level=level, n_boot=n_boot, seed=seed, notes=notes, model=name)
    s_lo, s_hi = _interval("srocc", r_s, x, y, **common)
    k_lo, k_hi = _interval("krcc", tau, x, y, **common)
    p_lo, p_hi = _interval("plcc", r_p, fx, y, **common)
    row.update(srocc=r_s, srocc_lo=s_lo, srocc_hi=s_hi, srocc_p=_m._t_pvalue(r_s, n),
               krcc=tau, krcc_lo=k_lo, krcc_hi=k_hi, krcc_p=p_tau,
               plcc_raw=r_raw, plcc_raw_p=_m._t_pvalue(r_raw, n),
               plcc=r_p, plcc_lo=p_lo, plcc_hi=p_hi,
               rmse=float(np.sqrt(err @ err / dof)) if dof > 0 else np.nan,
               mae=float(np.mean(np.abs(err))))
    return row, fit, pred_vec, fx


def _std_metrics(name, data, fit, *, rmse_dof, nan_policy, notes):
    """Outlier ratio and RMSE* on the model's rows that also have a finite std (and n_ratings)."""
    before = len(data.notes)
    sub = data.complete(nan_policy=nan_policy, need_std=True, need_n_ratings=True)
    notes.extend(f"model {name!r} (outlier ratio, RMSE*): {note}" for note in sub.notes[before:])
    x, y = sub.predictions[name], sub.mos
    k = sub.n_ratings
    o = _m.outlier_ratio(x, y, sub.std, n_ratings=k, mapping=fit, nan_policy="raise")
    s = _m.rmse_star(x, y, sub.std, n_ratings=k, mapping=fit, dof_correction=rmse_dof, nan_policy="raise")
    notes.extend(n for n in o.notes if n not in fit.notes)
    return {"outlier_ratio": o.statistic, "rmse_star": s.statistic}


def _pair_rows(a, b, dataset, per_model, *, ci, level, n_boot, seed, nan_policy, notes):
    masks = {m: per_model[m]["mask"] for m in (a, b)}
    both = masks[a] & masks[b]
    if both.sum() < 4:
        notes.append(f"pair {a!r} vs {b!r}: only {int(both.sum())} rows complete in both; no paired test")
        return []
    if np.array_equal(both, masks[a]) and np.array_equal(both, masks[b]):
        va, vb, vy = per_model[a]["vec"], per_model[b]["vec"], per_model[a]["mos"]
        fa, fb = per_model[a]["fx"], per_model[b]["fx"]
    else:
        sub = dataset.complete([a, b], nan_policy=nan_policy)
        notes.append(f"pair {a!r} vs {b!r}: compared on the {len(sub)} rows complete in both")
        va, vb, vy = _Vector(sub.predictions[a]), _Vector(sub.predictions[b]), _Vector(sub.mos)
        fa = per_model[a]["fit"].predict(sub.predictions[a])
        fb = per_model[b]["fit"].predict(sub.predictions[b])
    rows = []
    for metric in ("srocc", "plcc"):
        if metric == "srocc":
            args, ranks = (va.values, vb.values, vy.values), (va.ranked[1], vb.ranked[1], vy.ranked[1])
        else:
            if fa is None or fb is None:
                continue
            args, ranks = (fa, fb, vy.values), None
        res = compare_correlations(*args, metric=metric, ci=ci, confidence_level=level, n_boot=n_boot,
                                   seed=seed, _ranks=ranks)
        notes.extend(f"pair {a!r} vs {b!r} ({metric}): {note}" for note in res.notes)
        rows.append({"model_a": a, "model_b": b, "n": res.n, "metric": metric, "diff": res.diff,
                     "ci_lo": res.confidence_interval.low, "ci_hi": res.confidence_interval.high,
                     "p_williams": res.p_williams, "p_bootstrap": res.p_bootstrap})
    return rows


def evaluate(dataset, *, mapping: str = "logistic4", ci: str = "fisher", n_boot: int = 1000,
             alpha: float = 0.05, seed: int = 0, rmse_dof: bool = False, nan_policy: str = "omit",
             pairwise: bool = True) -> Evaluation:
    """Score every model in ``dataset`` against its MOS.

    Parameters
    ----------
    dataset : Dataset
        Already oriented by the caller (:meth:`Dataset.oriented`); ``dataset.flipped``
        is reported in the ``flipped`` column.
    mapping : {'logistic4', 'logistic5', 'poly3', 'linear', 'none'}
        Mapping fitted per model before PLCC, RMSE, MAE, outlier ratio and RMSE*.
    ci : {'fisher', 'percentile', 'bca'}
        Confidence intervals: Fisher z with Bonett–Wright variances (analytic, default)
        or a seeded bootstrap of the images. With a bootstrap the paired tests also
        get a paired bootstrap (``p_bootstrap``) and its interval for the difference.
    n_boot : int
        Bootstrap resamples.
    alpha : float
        Significance level of the paired tests; intervals are at ``1 - alpha``.
    seed : int
        Seed of every resampling and of the mapping's subsample on large sets.
    rmse_dof : bool
        RMSE (and RMSE*) divide by ``n - d`` (ITU-T P.1401) instead of ``n``.
    nan_policy : {'omit', 'raise'}
        Rows with a missing value in a model (or the MOS) are dropped for that model
        with a note, or rejected with an error naming file, column and row.
    pairwise : bool
        Run the paired tests (needed for ``tied_with_best``).

    Returns
    -------
    Evaluation

    Examples
    --------
    >>> from iqa_eval.dataset import Dataset
    >>> rng = np.random.default_rng(0)
    >>> q = rng.normal(size=200)
    >>> data = Dataset(mos=q, predictions={"good": q + 0.3 * rng.normal(size=200),
    ...                                    "poor": q + 2.0 * rng.normal(size=200)})
    >>> ev = evaluate(data)
    >>> list(ev.table["model"]), list(ev.table["tied_with_best"])
    (['good', 'poor'], [True, False])
    """
    _check_options(mapping, ci, n_boot, alpha, nan_policy)
    from .dataset import Dataset

    if not isinstance(dataset, Dataset):
        raise InputError(f"evaluate takes a Dataset (Dataset(mos=..., predictions={{name: scores}}) or "
                         f"load_dataset(files)), got {type(dataset).__name__}")
    if not dataset.models:
        raise InputError("no prediction columns to score")
    level = 1.0 - float(alpha)
    notes = list(dataset.notes)
    mos_finite = np.isfinite(dataset.mos)
    shared_mos = {}  # rows mask bytes -> _Vector of MOS on those rows (ranked once)
    rows, fits, per_model = [], {}, {}
    # P.1401's outlier ratio and RMSE* need the 95% interval of each MOS: the spread of
    # the individual ratings AND their number. A std alone could be a standard error or a
    # spread; it is not guessed.
    per_rating = dataset.std is not None and dataset.n_ratings is not None
    if per_rating:
        std_src, n_src = dataset.source("std"), dataset.source("n_ratings")
        notes.append("outlier ratio and RMSE*: threshold t(0.975, n-1) * std / sqrt(n), with std "
                     f"{std_src[1]!r} read as the spread of the individual ratings and n from "
                     f"{n_src[1] if n_src[0] != '--n-ratings' else '--n-ratings ' + str(n_src[1])}")
    elif dataset.std is not None:
        notes.append("outlier ratio and RMSE* not computed: they need the number of ratings per image "
                     "with the std of the individual ratings (give --nratings-col or --n-ratings N)")
    for name in dataset.models:
        before = len(dataset.notes)
        data = dataset.complete([name], nan_policy=nan_policy)
        notes.extend(data.notes[before:])
        mask = mos_finite & np.isfinite(dataset.predictions[name])
        key = mask.tobytes() if not mask.all() else b"all"
        mos_vec = shared_mos.setdefault(key, _Vector(data.mos))
        row, fit, vec, fx = _score_model(name, data, mos_vec, mapping=mapping, ci=ci, level=level,
                                         n_boot=n_boot, seed=seed, rmse_dof=rmse_dof,
                                         nan_policy=nan_policy, notes=notes)
        row["mapping"] = fit.kind
        if per_rating:
            if fx is None:
                row.update(outlier_ratio=np.nan, rmse_star=np.nan)
            else:
                row.update(_std_metrics(name, data, fit, rmse_dof=rmse_dof, nan_policy=nan_policy,
                                        notes=notes))
        row["flipped"] = name in dataset.flipped
        rows.append(row)
        fits[name] = fit
        per_model[name] = {"mask": mask, "vec": vec, "mos": mos_vec, "fx": fx, "fit": fit}

    table = pd.DataFrame(rows)
    table = table.sort_values("srocc", ascending=False, na_position="last", kind="stable")
    table = table.reset_index(drop=True)
    order = list(table["model"])

    pair_rows = []
    if pairwise and len(order) > 1:
        for i, a in enumerate(order):
            for b in order[i + 1:]:
                pair_rows.extend(_pair_rows(a, b, dataset, per_model, ci=ci, level=level, n_boot=n_boot,
                                            seed=seed, nan_policy=nan_policy, notes=notes))
    columns = ["model_a", "model_b", "n", "metric", "diff", "ci_lo", "ci_hi", "p_williams", "p_bootstrap"]
    pair_table = pd.DataFrame(pair_rows, columns=columns)

    test = "Williams' t" if ci == "fisher" else "paired bootstrap"
    p_col = "p_williams" if ci == "fisher" else "p_bootstrap"
    srocc_pairs = pair_table[pair_table["metric"] == "srocc"]
    pvalues = {(r.model_a, r.model_b): getattr(r, p_col) for r in srocc_pairs.itertuples()}
    stats = dict(zip(table["model"], table["srocc"]))
    if pairwise and len(order) > 1:
        best, tied = tied_with_best(stats, pvalues, alpha=alpha)
    else:
        finite = {m: s for m, s in stats.items() if np.isfinite(s)}
        best = max(finite, key=finite.get) if finite else None
        tied = {m: m == best for m in stats}
        if len(order) > 1:
            notes.append("paired tests skipped: only the best model is marked in tied_with_best")
    table.insert(len(table.columns) - 1, "tied_with_best", [tied[m] for m in table["model"]])

    settings = {"mapping": mapping, "ci": ci, "n_boot": int(n_boot), "alpha": float(alpha),
                "confidence_level": level, "seed": int(seed), "rmse_dof": bool(rmse_dof),
                "nan_policy": nan_policy, "tie_rule": TIE_RULE.format(test=test)}
    return Evaluation(table, pair_table, fits, tuple(dict.fromkeys(notes)), settings, best)
