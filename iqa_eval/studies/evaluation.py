"""Score every model of a :class:`~iqa_eval.data.dataset.Dataset`: the table behind ``iqa-eval score``.

:func:`evaluate` computes, per model, SROCC / KRCC / PLCC (raw and after the fitted
mapping) with confidence intervals, RMSE, MAE and — when the dataset has a std column —
outlier ratio and RMSE*; then, for every pair of models, paired tests on the images both
models scored; and marks the models tied with the best.

Rows are handled per model: a model is scored on the rows where it and the MOS are
finite (the count dropped is a note), and a pair of models on the rows complete in both.
Every number comes from the steps of :mod:`iqa_eval.stats.metrics` (sort orders and ranks of
large vectors are remembered there, once, and shared by SROCC, KRCC and the paired tests), so
the default (analytic) path stays fast on a million rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._runtime.progress import Progress
from ..errors import InputError
from ..stats.inference import bootstrap_ci, compare_correlations, fisher_ci, tied_with_best
from ..stats.exact_tests import near_constant
from ..stats.mapping import fit_mapping
from ..stats.metrics import (check_constant, error_dof, kendall_from_ranks, outlier_ratio, pearson, ranked,
                      rmse_star, root_mean_square, srocc_pvalue, t_pvalue)
from ..options import (ALPHA, ALTERNATIVES, DATASET_NAN_POLICIES, MAPPINGS, N_RESAMPLES, PAIRED_TESTS, SEED,
                       CIMethod, validate_params)

__all__ = ["Evaluation", "evaluate", "TIE_RULE", "PVALUE_METHODS"]

TIE_RULE = ("tied with the best: the model with the highest SROCC, and every model whose paired "
            "test of SROCC against it gives p >= alpha ({test})")
#: How the per-model p-values of the table are computed (``settings['pvalue_methods']``).
PVALUE_METHODS = ("SROCC: exact over every pairing of the ranks for n <= 9, else t with n-2 df; KRCC: exact "
                  "without ties for n <= 33, else the tie-corrected normal (scipy's method='auto'); PLCC: t with "
                  "n-2 df; two-sided")


def paired_test_words(test: str, alternative: str, ci) -> str:
    """The paired test in words, as outputs print it: ``"Williams' t (williams1959), two-sided"``;
    with a bootstrap ``ci`` the decision is the paired bootstrap's."""
    from ..stats.dependent_correlations import TEST_NAMES

    if str(ci) != "analytic":
        return f"paired bootstrap, {alternative}"
    return f"{TEST_NAMES[test]} ({test}), {alternative}"


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Result of :func:`evaluate`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per model, sorted by SROCC (descending, NaN last).
    pairwise : pandas.DataFrame
        One row per pair of models and metric (``srocc``, ``plcc``): model_a, model_b,
        n, metric, diff (= a - b), ci_low, ci_high, williams_pvalue, bootstrap_pvalue, and
        test, pvalue (that test's p), alternative ('greater': model_a's correlation is larger).
    fits : dict of str -> MappingFit
    notes : tuple of str
        Dataset notes, rows dropped per model, mapping fallbacks, test remarks.
    settings : dict
        The options used, the confidence level and the tie rule in words.
    best : str or None
        The model with the highest SROCC.
    krasula : KrasulaResult or None
        The Krasula et al. (2016) analysis, with ``krasula=True`` where the data have a std and
        a number of ratings (else None, and a note says what is missing).
    """

    table: pd.DataFrame
    pairwise: pd.DataFrame
    fits: dict
    notes: tuple
    settings: dict = field(default_factory=dict)
    best: str | None = None
    krasula: object = None
    ceiling: object = None


def _interval(kind, r, x, y, *, ci, level, n_resamples, seed, notes, model):
    if ci == "analytic" or not np.isfinite(r):
        return fisher_ci(r, x.size, kind=kind, confidence_level=level)
    res = bootstrap_ci(kind, x, y, method=ci, confidence_level=level, n_resamples=n_resamples, seed=seed)
    notes.extend(f"model {model!r}: {note}" for note in res.notes)
    return res.confidence_interval()


def _score_model(name, data, *, mapping, ci, level, n_resamples, seed, rmse_dof, nan_policy, notes):
    """One table row, the fit, and the mapped predictions the paired tests reuse."""
    x, y = data.predictions[name], data.mos
    n = x.size
    row = {"model": name, "n": n}
    degenerate = []
    nan_row = check_constant(x, y, f"every coefficient of model {name!r}", degenerate)
    notes.extend(degenerate)
    if nan_row:
        fit = fit_mapping(x, y, kind=mapping, seed=seed)
        for key in ("srocc", "srocc_ci_low", "srocc_ci_high", "srocc_pvalue", "krcc", "krcc_ci_low", "krcc_ci_high", "krcc_pvalue",
                    "plcc_raw", "plcc_raw_pvalue", "plcc", "plcc_ci_low", "plcc_ci_high", "rmse", "mae"):
            row[key] = np.nan
        return row, fit, None
    notes.extend(f"model {name!r}: {w} nearly constant (scipy's rule); its correlations may be inaccurate" for w, v in (("predictions", x), ("MOS", y)) if near_constant(v))
    order_x, rx, _ = ranked(x)
    _, ry, dense_y = ranked(y)
    r_s = pearson(rx, ry)
    tau, p_tau = kendall_from_ranks(x, order_x, dense_y)
    del order_x, rx, ry, dense_y   # four vectors fewer while the mapping is fitted (peak memory)
    r_raw = pearson(x, y)
    fit = fit_mapping(x, y, kind=mapping, seed=seed)
    notes.extend(f"model {name!r}: {note}" for note in fit.notes)
    fx = fit.predict(x)
    r_p = pearson(fx, y) if np.ptp(fx) > 0 else np.nan
    lo_x, hi_x = fit.predict(np.array([x.min(), x.max()]))
    if hi_x < lo_x:   # VQEG's fits may fall; then PLCC is positive although the ranking is reversed
        notes.append(f"model {name!r}: the fitted {fit.kind} mapping decreases (the model scores "
                     f"opposite to MOS, SROCC {r_s:.4f}), so its PLCC and RMSE are those of the reversed "
                     "model; orient it first (Dataset.oriented, or lower_is_better) to compare it with the others")
    err = y - fx
    dof = error_dof(n, fit, rmse_dof)
    common = dict(ci=ci, level=level, n_resamples=n_resamples, seed=seed, notes=notes, model=name)
    s_lo, s_hi = _interval("srocc", r_s, x, y, **common)
    k_lo, k_hi = _interval("krcc", tau, x, y, **common)
    p_lo, p_hi = _interval("plcc", r_p, fx, y, **common)
    p_notes = []
    p_s, _ = srocc_pvalue(x, y, r_s, notes=p_notes)   # exact for n <= 9, as srocc's default (a note says so)
    notes.extend(f"model {name!r}: {note}" for note in p_notes)
    row.update(srocc=r_s, srocc_ci_low=s_lo, srocc_ci_high=s_hi, srocc_pvalue=p_s,
               krcc=tau, krcc_ci_low=k_lo, krcc_ci_high=k_hi, krcc_pvalue=p_tau,
               plcc_raw=r_raw, plcc_raw_pvalue=t_pvalue(r_raw, n),
               plcc=r_p, plcc_ci_low=p_lo, plcc_ci_high=p_hi,
               rmse=root_mean_square(err, dof),
               mae=float(np.mean(np.abs(err))))
    return row, fit, fx


def _std_metrics(name, data, fit, *, rmse_dof, nan_policy, notes):
    """Outlier ratio and RMSE* on the model's rows that also have a finite std (and n_ratings)."""
    before = len(data.notes)
    sub = data.complete(nan_policy=nan_policy, need_std=True, need_n_ratings=True)
    notes.extend(f"model {name!r} (outlier ratio, RMSE*): {note}" for note in sub.notes[before:])
    x, y = sub.predictions[name], sub.mos
    k = sub.n_ratings
    o = outlier_ratio(x, y, sub.std, n_ratings=k, mapping=fit, nan_policy="raise")
    s = rmse_star(x, y, sub.std, n_ratings=k, mapping=fit, rmse_dof=rmse_dof, nan_policy="raise")
    notes.extend(n for n in o.notes if n not in fit.notes)
    return {"outlier_ratio": o.statistic, "rmse_star": s.statistic}


def _pair_rows(a, b, dataset, per_model, *, ci, level, n_resamples, seed, nan_policy, notes, test, alternative):
    masks = {m: per_model[m]["mask"] for m in (a, b)}
    both = masks[a] & masks[b]
    if both.sum() < 4:
        notes.append(f"pair {a!r} vs {b!r}: only {int(both.sum())} rows complete in both; no paired test")
        return []
    if np.array_equal(both, masks[a]) and np.array_equal(both, masks[b]):
        va, vb, vy = per_model[a]["x"], per_model[b]["x"], per_model[a]["mos"]
        # mapped predictions are recomputed (the same fit on the same values: the same numbers)
        # rather than kept for every model, which would add a vector per model to the peak memory
        fa = per_model[a]["fit"].predict(va) if per_model[a]["mapped"] else None
        fb = per_model[b]["fit"].predict(vb) if per_model[b]["mapped"] else None
    else:
        sub = dataset.complete([a, b], nan_policy=nan_policy)
        notes.append(f"pair {a!r} vs {b!r}: compared on the {len(sub)} rows complete in both")
        va, vb, vy = sub.predictions[a], sub.predictions[b], sub.mos
        fa = per_model[a]["fit"].predict(sub.predictions[a])
        fb = per_model[b]["fit"].predict(sub.predictions[b])
    rows = []
    for metric in ("srocc", "plcc"):
        if metric == "srocc":
            args, ranks = (va, vb, vy), (ranked(va)[1], ranked(vb)[1], ranked(vy)[1])
        else:
            if fa is None or fb is None:
                continue
            args, ranks = (fa, fb, vy), None
        res = compare_correlations(*args, metric=metric, ci=ci, confidence_level=level, n_resamples=n_resamples,
                                   seed=seed, test=test, alternative=alternative, _ranks=ranks)
        notes.extend(f"pair {a!r} vs {b!r} ({metric}): {note}" for note in res.notes)
        rows.append({"model_a": a, "model_b": b, "n": res.n, "metric": metric, "diff": res.diff,
                     "ci_low": res.ci_low, "ci_high": res.ci_high,
                     "williams_pvalue": res.williams_pvalue, "bootstrap_pvalue": res.bootstrap_pvalue,
                     "test": test, "pvalue": res.pvalue, "alternative": alternative})
    return rows


@validate_params({"mapping": MAPPINGS, "ci": CIMethod, "n_resamples": N_RESAMPLES, "alpha": ALPHA, "seed": SEED,
                  "nan_policy": DATASET_NAN_POLICIES, "test": PAIRED_TESTS, "alternative": ALTERNATIVES})
def evaluate(dataset, *, mapping: str = "logistic4", ci: str = "analytic", n_resamples: int = 1000,
             alpha: float = 0.05, seed: int = 0, rmse_dof: bool = False, nan_policy: str = "omit",
             pairwise: bool = True, krasula: bool = False, test: str = "williams1959",
             alternative: str = "two-sided") -> Evaluation:
    """Score every model in ``dataset`` against its MOS.

    Parameters
    ----------
    dataset : Dataset or pandas.DataFrame
        Already oriented by the caller (:meth:`Dataset.oriented`); ``dataset.flipped``
        is reported in the ``flipped`` column. A DataFrame is read as a table file would be
        (:func:`iqa_eval.data.io.load_dataset`: MOS, std and prediction columns detected by name)
        and oriented (models with a negative SROCC are negated, with a note).
    mapping : {'logistic4', 'logistic5', 'poly3', 'linear', 'none'}
        Mapping fitted per model before PLCC, RMSE, MAE, outlier ratio and RMSE*.
    ci : {'analytic', 'percentile', 'bca'} or CIMethod
        Confidence intervals: Fisher z with Bonett–Wright variances (``'analytic'``, default)
        or a seeded bootstrap of the images. With a bootstrap the paired tests also
        get a paired bootstrap (``bootstrap_pvalue``) and its interval for the difference.
    n_resamples : int
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
    test : str, default 'williams1959'
        The closed-form paired test of two models' SROCC (and mapped PLCC) on the same images, one
        of :data:`iqa_eval.options.PAIRED_TESTS` (cocor's tests, :mod:`iqa_eval.stats.dependent_correlations`);
        its p-value is the pairwise ``pvalue`` and decides ``tied_with_best`` with ``ci='analytic'``
        (a bootstrap ``ci``: the paired bootstrap's p decides).
    alternative : {'two-sided', 'greater', 'less'}
        Of the paired tests (closed form and bootstrap). A pair row is ``model_a`` (the higher
        SROCC) vs ``model_b``: 'greater' tests that model_a's correlation is larger, so with
        'greater' a model is tied with the best unless the best is significantly *better*.
    krasula : bool
        Also the Krasula et al. (2016) analysis (:func:`iqa_eval.studies.krasula.krasula`, same
        ``seed`` and ``nan_policy``) on :attr:`Evaluation.krasula`; its notes, prefixed
        ``Krasula:``, follow the others. It needs std and number of ratings: without them a
        note says so and ``Evaluation.krasula`` is None.

    Returns
    -------
    Evaluation

    Examples
    --------
    >>> from iqa_eval.data.dataset import Dataset
    >>> rng = np.random.default_rng(0)
    >>> q = rng.normal(size=200)
    >>> data = Dataset(mos=q, predictions={"good": q + 0.3 * rng.normal(size=200),
    ...                                    "poor": q + 2.0 * rng.normal(size=200)})
    >>> ev = evaluate(data)
    >>> list(ev.table["model"]), list(ev.table["tied_with_best"])
    (['good', 'poor'], [True, False])
    """
    from ..data.dataset import Dataset

    if not isinstance(dataset, Dataset):
        if not isinstance(dataset, pd.DataFrame):
            raise InputError(f"evaluate takes a Dataset (Dataset(mos=..., predictions={{name: scores}}) or "
                             f"load_dataset(files)) or a DataFrame, got {type(dataset).__name__}")
        from ..data.io import as_dataset
        dataset = as_dataset(dataset)
    if not dataset.models:
        raise InputError("no prediction columns to score")
    level = 1.0 - float(alpha)
    notes = list(dataset.notes)
    mos_finite = np.isfinite(dataset.mos)
    rows, fits, per_model = [], {}, {}
    # P.1401's outlier ratio and RMSE* need the 95% interval of each MOS: the spread of
    # the individual ratings AND their number. A std alone could be a standard error or a
    # spread; it is not guessed.
    per_rating = dataset.std is not None and dataset.n_ratings is not None
    if per_rating:
        std_src, n_src = dataset.source("std"), dataset.source("n_ratings")
        few = np.flatnonzero(dataset.n_ratings < 2)   # NaN rows are a nan_policy matter
        if few.size:
            rows = dataset.source_rows.get("n_ratings", dataset.rows)
            raise InputError(f"n_ratings must be at least 2 for a t-based MOS interval (outlier ratio, "
                             f"RMSE*); got {dataset.n_ratings[few[0]]:g}"
                             + (f" ({few.size} rows)" if few.size > 1 else ""),
                             file=n_src[0], column=n_src[1], row=int(rows[few[0]]))
        notes.append("outlier ratio and RMSE*: threshold t(0.975, n-1) * std / sqrt(n), with std "
                     f"{std_src[1]!r} read as the spread of the individual ratings and n from "
                     f"{n_src[1]}")
    elif dataset.std is not None:
        notes.append("outlier ratio and RMSE* not computed: they need the number of ratings per image "
                     "with the std of the individual ratings (give nratings_col or n_ratings=N)")
    # observer-only (no bar on the terminal): a caller can follow the work and stop it between
    # models and pairs (the studio's progress and cancel)
    n_pairs = len(dataset.models) * (len(dataset.models) - 1) // 2 if pairwise else 0
    with Progress(len(dataset.models) + n_pairs, "scores", enabled=False) as progress:
        for name in dataset.models:
            before = len(dataset.notes)
            data = dataset.complete([name], nan_policy=nan_policy)
            notes.extend(data.notes[before:])
            mask = mos_finite & np.isfinite(dataset.predictions[name])
            row, fit, fx = _score_model(name, data, mapping=mapping, ci=ci, level=level,
                                        n_resamples=n_resamples, seed=seed, rmse_dof=rmse_dof,
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
            progress.update()
            fits[name] = fit
            per_model[name] = {"mask": mask, "x": data.predictions[name], "mos": data.mos, "mapped": fx is not None,
                               "fit": fit}
            del fx

        table = pd.DataFrame(rows)
        table = table.sort_values("srocc", ascending=False, na_position="last", kind="stable")
        table = table.reset_index(drop=True)
        order = list(table["model"])

        pair_rows = []
        if pairwise and len(order) > 1:
            for i, a in enumerate(order):
                for b in order[i + 1:]:
                    pair_rows.extend(_pair_rows(a, b, dataset, per_model, ci=ci, level=level, n_resamples=n_resamples,
                                                seed=seed, nan_policy=nan_policy, notes=notes, test=test,
                                                alternative=alternative))
                    progress.update()
    columns = ["model_a", "model_b", "n", "metric", "diff", "ci_low", "ci_high", "williams_pvalue", "bootstrap_pvalue",
               "test", "pvalue", "alternative"]
    pair_table = pd.DataFrame(pair_rows, columns=columns)

    words = paired_test_words(test, alternative, ci)
    p_col = "pvalue" if ci == "analytic" else "bootstrap_pvalue"
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

    settings = {"mapping": mapping, "ci": ci.value, "n_resamples": int(n_resamples), "alpha": float(alpha),
                "confidence_level": level, "seed": int(seed), "rmse_dof": bool(rmse_dof),
                "nan_policy": nan_policy, "tie_rule": TIE_RULE.format(test=words), "test": test,
                "alternative": alternative, "pvalue_methods": PVALUE_METHODS}
    ceiling = _ceiling(dataset, level, notes) if per_rating else None
    kras = None
    if krasula:
        from .krasula import krasula as _krasula, missing_inputs

        why = missing_inputs(dataset)
        if why:
            notes.append(why)
        else:
            kras = _krasula(dataset, seed=seed, nan_policy=nan_policy)
            notes.extend(f"Krasula: {note}" for note in kras.notes)
    return Evaluation(table, pair_table, fits, tuple(dict.fromkeys(notes)), settings, best, kras, ceiling)


def _ceiling(dataset, level, notes):
    """The noise ceiling of the dataset's MOS from its std and n_ratings, or None (with a note saying why)."""
    from ..subjective import ceiling_from_summary

    try:
        c = ceiling_from_summary(dataset.mos, dataset.std, dataset.n_ratings, confidence_level=level)
    except InputError as exc:
        notes.append(f"noise ceiling: not computed ({exc})")
        return None
    notes.extend(c.notes)
    # what the table's reference row does not say: how R was estimated and what it counts as noise
    notes.append(f"noise ceiling: MOS reliability {c.reliability:.4f} [{c.ci_low:.4f}, {c.ci_high:.4f}] from "
                 f"std and n_ratings over {c.n_images} images (variance components, rater bias counted as "
                 "noise: conservative for a complete design)")
    return c
