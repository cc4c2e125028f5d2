"""Krasula et al. (2016): can a model tell which of two images is better, and whether they differ?

L. Krasula, K. Fliegel, P. Le Callet, M. Klíma, "On the accuracy of objective image and
video quality models: New methodology for performance evaluation", QoMEX 2016. The
definitions follow vmaf's ``AucPerfMetric`` (``python/vmaf/core/perf_metric.py``):

- every pair of images (i, j) is *significantly different* when
  ``|z| > z_critical`` with ``z = (MOS_i - MOS_j) / sqrt(s_i^2 / n_i + s_j^2 / n_j)``
  (s: std of the ratings, n: number of ratings; vmaf's threshold is 2), else *similar*;
- **different/similar**: AUC of ``|pred_i - pred_j|`` separating different from similar pairs;
- **better/worse**: on the different pairs, oriented so that the first image is the better
  one, the prediction difference ``B`` (positives) against ``-B`` (negatives); the AUC;
- **C0**: the fraction of different pairs whose prediction difference has the right sign
  (correct classification at a threshold of 0);
- **THR**: vmaf's threshold, the 95th percentile (numpy's linear interpolation, as vmaf's
  ``np.percentile``) of ``|pred_i - pred_j|`` over the *similar* pairs: prediction differences
  above it are rarer than 5 % among pairs humans do not tell apart. vmaf's code takes the
  similar pairs although its comment copies MATLAB's ``prctile(D', 95)``; we follow the code,
  on our unordered pairs (vmaf's N x N pairs add the zero self-differences);
- **DeLong** tests of the difference between two models' AUCs on the same pairs (the
  placement values of Sun and Xu, 2014, from sorted arrays), two-sided.

Two choices differ from vmaf and are stated: pairs are the unordered pairs ``i < j`` (vmaf
uses all ``N x N`` ordered pairs, self-pairs included, which duplicates every pair: the
AUCs are the same up to the self-pairs but DeLong's variance shrinks by the duplication);
and on large sets a seeded random subset of images is used so that the pairs stay within
``max_pairs`` (memory is about ``8 * (models + 3) * max_pairs`` bytes). Pairs share images,
so DeLong's independence assumption holds only approximately (as in the paper).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from ..options import ALTERNATIVES, DATASET_NAN_POLICIES, SEED, Interval, validate_params

__all__ = ["KrasulaResult", "DeLongAUC", "krasula", "auc_delong", "delong_pvalues", "binomial_pvalues",
           "missing_inputs"]


def missing_inputs(data):
    """Why the analysis cannot run on ``data`` (a sentence), or None when it can.

    Parameters
    ----------
    data : Dataset

    Returns
    -------
    str or None
        A note naming the missing std and/or number-of-ratings column.

    Examples
    --------
    >>> from iqa_eval.data.dataset import Dataset
    >>> missing_inputs(Dataset(mos=[1.0, 2.0, 3.0], predictions={"a": [1.0, 2.0, 3.0]}))[:48]
    'Krasula analysis skipped: no std and no number-o'
    """
    missing = [w for w, v in (("std", data.std), ("number-of-ratings", data.n_ratings)) if v is None]
    if not missing:
        return None
    return (f"Krasula analysis skipped: no {' and no '.join(missing)} column (whether two MOS differ "
            "significantly needs the std and the number of ratings of each image; give them with "
            "std_col / nratings_col)")


@dataclass(frozen=True, eq=False)
class KrasulaResult:
    """Result of :func:`krasula`.

    Attributes
    ----------
    table : DataFrame
        One row per model: ``auc_ds`` (different/similar), ``auc_bw`` (better/worse), ``cc0``
        (fraction correctly classified at 0), ``thr`` (vmaf's THR: 95th percentile of the
        absolute prediction difference over the similar pairs; NaN without similar pairs).
    pvalues_ds, pvalues_bw : DataFrame
        Models x models DeLong p-values of the AUC differences (1 on the diagonal), not
        adjusted for multiplicity; with a one-sided ``alternative`` entry ``[a, b]`` tests
        'a greater' (or 'a less') than b.
    n_images, n_pairs, n_different, n_similar : int
    notes : tuple of str
    settings : dict
    pvalues_cc0 : DataFrame
        Models x models p-values of the C0 differences: vmaf's ``significanceBinomial``, the
        pooled two-proportion z test ``z = |c_a - c_b| / sqrt(p (1 - p) 2 / N)`` with
        ``p = (c_a + c_b) / 2`` and N the number of different pairs, two-sided. Like DeLong's,
        it treats the pairs as independent although they share images (anti-conservative).
    """

    table: pd.DataFrame
    pvalues_ds: pd.DataFrame
    pvalues_bw: pd.DataFrame
    n_images: int
    n_pairs: int
    n_different: int
    n_similar: int
    notes: tuple = ()
    settings: dict = field(default_factory=dict)
    pvalues_cc0: pd.DataFrame | None = None


def _sided_normal(z, alternative):
    """p of a standard normal ``z`` (entry-wise): two-sided ``2 Phi(-|z|)``, 'greater' ``Phi(-z)``, 'less' ``Phi(z)``."""
    from scipy.special import ndtr

    if alternative == "greater":
        return ndtr(-z)
    if alternative == "less":
        return ndtr(z)
    return 2.0 * ndtr(-np.abs(z))


def _zero_variance_p(diff, alternative):
    """The p of a difference with no sampling variance: 1 when it is 0 or against the alternative, else 0."""
    if alternative == "greater":
        return np.where(diff > 0, 0.0, 1.0)
    if alternative == "less":
        return np.where(diff < 0, 0.0, 1.0)
    return np.where(diff == 0, 1.0, 0.0)


@validate_params({"alternative": ALTERNATIVES})
def binomial_pvalues(cc0, n_pairs: int, *, alternative: str = "two-sided") -> np.ndarray:
    """p of every pair of C0 values (vmaf's ``significanceBinomial``, two-sided by default).

    Parameters
    ----------
    cc0 : array-like (k,)
        Fraction of different pairs correctly ordered, per model.
    n_pairs : int
        Number of significantly different pairs (the binomial N).
    alternative : {'two-sided', 'greater', 'less'}
        Entry ``[a, b]``: 'greater' tests ``c_a > c_b`` (``1 - Phi(z)``), 'less' ``c_a < c_b``.

    Returns
    -------
    ndarray (k, k)
        ``2 (1 - Phi(|z|))`` with ``z = (c_a - c_b) / sqrt(p (1 - p) 2 / N)``, ``p = (c_a + c_b) / 2``
        (one-sided: the tail of ``alternative``); 1 on the diagonal.

    Examples
    --------
    >>> p = binomial_pvalues([0.80, 0.75], 400)
    >>> round(float(p[0, 1]), 4)
    0.0904
    """
    c = np.asarray(cc0, dtype=np.float64)
    pooled = (c[:, None] + c[None, :]) / 2
    se = np.sqrt(pooled * (1 - pooled) * 2.0 / n_pairs) if n_pairs else np.full(pooled.shape, np.nan)
    diff = c[:, None] - c[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff / se
        p = np.where(se > 0, _sided_normal(z, alternative), _zero_variance_p(diff, alternative))
    np.fill_diagonal(p, 1.0)
    return p


@dataclass(frozen=True, eq=False)
class DeLongAUC:
    """Result of :func:`auc_delong`; unpacks as ``auc, cov``.

    Attributes
    ----------
    auc : ndarray (k,)
        Mann-Whitney AUC of each scorer: P(positive > negative) + P(tie) / 2.
    cov : ndarray (k, k)
        DeLong's covariance of the AUC estimates.
    """

    auc: np.ndarray
    cov: np.ndarray

    def __iter__(self):
        return iter((self.auc, self.cov))


def _placement(values: np.ndarray, sorted_other: np.ndarray) -> np.ndarray:
    """Per value: the fraction of ``sorted_other`` below it, ties counted one half."""
    order = np.argsort(values, kind="stable")  # sorted keys make the binary searches cache-friendly
    keys = values[order]
    counts = np.searchsorted(sorted_other, keys, side="left") + np.searchsorted(sorted_other, keys, side="right")
    out = np.empty(values.size)
    out[order] = counts / (2.0 * sorted_other.size)
    return out


def auc_delong(positives: np.ndarray, negatives: np.ndarray) -> DeLongAUC:
    """AUCs of several scorers on the same samples and DeLong's covariance (Sun & Xu 2014).

    Parameters
    ----------
    positives : ndarray (k, m)
        Scores of the ``m`` positive samples by each of ``k`` scorers.
    negatives : ndarray (k, n)

    Returns
    -------
    DeLongAUC
        ``.auc`` (k,), the Mann-Whitney AUCs: P(positive > negative) + P(tie) / 2, and
        ``.cov`` (k, k), DeLong's covariance of the AUC estimates; unpacks as ``auc, cov``.

    Examples
    --------
    >>> auc, cov = auc_delong(np.array([[3.0, 4.0, 1.0]]), np.array([[0.0, 2.0]]))
    >>> round(float(auc[0]), 4)
    0.8333
    """
    pos = np.atleast_2d(np.asarray(positives, dtype=np.float64))
    neg = np.atleast_2d(np.asarray(negatives, dtype=np.float64))
    k, m = pos.shape
    n = neg.shape[1]
    if m < 2 or n < 2:
        return DeLongAUC(np.full(k, np.nan), np.full((k, k), np.nan))
    v_pos = np.empty((k, m))  # per positive: fraction of negatives below it (ties count 1/2)
    v_neg = np.empty((k, n))  # per negative: fraction of positives above it
    for r in range(k):
        # Sun & Xu's midrank differences are these placements; two sorts and binary searches
        v_pos[r] = _placement(pos[r], np.sort(neg[r]))
        v_neg[r] = 1.0 - _placement(neg[r], np.sort(pos[r]))
    auc = v_pos.mean(axis=1)
    cov = np.atleast_2d(np.cov(v_pos)) / m + np.atleast_2d(np.cov(v_neg)) / n
    return DeLongAUC(auc, cov)


@validate_params({"alternative": ALTERNATIVES})
def delong_pvalues(auc: np.ndarray, cov: np.ndarray, *, alternative: str = "two-sided") -> np.ndarray:
    """p-value of ``auc[i] - auc[j]`` for every pair (normal approximation, DeLong et al. 1988).

    ``z = (auc_i - auc_j) / sqrt(cov_ii + cov_jj - 2 cov_ij)``; two-sided ``2 Phi(-|z|)``.

    Parameters
    ----------
    auc : ndarray (k,)
    cov : ndarray (k, k)
        As returned by :func:`auc_delong`.
    alternative : {'two-sided', 'greater', 'less'}
        Entry ``[i, j]``: 'greater' tests ``auc_i > auc_j`` (``Phi(-z)``), 'less' ``auc_i < auc_j``.

    Returns
    -------
    ndarray (k, k)
        1 on the diagonal; two-sided: symmetric, a zero variance gives 1 for equal AUCs, else 0
        (one-sided: 0 when the difference is in the alternative's direction, else 1).

    Examples
    --------
    >>> delong_pvalues(np.array([0.8, 0.6]), np.array([[0.01, 0.0], [0.0, 0.01]])).round(4)
    array([[1.    , 0.1573],
           [0.1573, 1.    ]])
    """
    k = len(auc)
    p = np.ones((k, k))
    for i in range(k):
        for j in range(k):
            if i == j:
                continue
            var = cov[i, i] + cov[j, j] - 2.0 * cov[i, j]
            diff = auc[i] - auc[j]
            if var > 0:
                p[i, j] = float(_sided_normal(diff / np.sqrt(var), alternative))
            else:  # identical classifications on every pair: no evidence of a difference
                p[i, j] = float(_zero_variance_p(diff, alternative))
    return p


def significance(mos, std, n_ratings, i, j, *, z_critical: float = 2.0) -> np.ndarray:
    """-1, 0, 1 per pair: is image ``i`` significantly worse than, as good as, or better than ``j``."""
    var = std * std / n_ratings
    den = np.sqrt(var[i] + var[j])
    den = np.where(den > 0, den, 1e-8)  # as vmaf: equal zero-variance MOS are similar
    z = (mos[i] - mos[j]) / den
    return np.where(z > z_critical, 1, np.where(z < -z_critical, -1, 0)).astype(np.int8)


@validate_params({"z_critical": Interval(0, None, closed="neither"), "max_pairs": Interval(3, None, integral=True),
                  "seed": SEED, "nan_policy": DATASET_NAN_POLICIES, "alternative": ALTERNATIVES})
def krasula(data, *, z_critical: float = 2.0, max_pairs: int = 2_000_000, seed: int = 0,
            nan_policy: str = "omit", alternative: str = "two-sided") -> KrasulaResult:
    """The Krasula et al. (2016) analysis of every model of ``data``.

    Parameters
    ----------
    data : Dataset
        Oriented (higher = better) with ``std`` and ``n_ratings``; the analysis uses the rows
        complete in every model, the MOS, std and number of ratings.
    z_critical : float
        Two MOS differ significantly when ``|z|`` exceeds this (vmaf: 2, about 95 %).
    max_pairs : int
        Largest number of image pairs; above it a seeded random subset of images is used.
    seed : int
        Seed of that subset (used only above ``max_pairs``).
    nan_policy : {'omit', 'raise'}
        Rows missing a value of any model, the MOS, std or number of ratings: dropped with
        a note, or an :class:`~iqa_eval.errors.InputError`.
    alternative : {'two-sided', 'greater', 'less'}
        Of the DeLong and C0 tests: entry ``[a, b]`` of a p-value table tests 'a greater' (or less) than b.

    Returns
    -------
    KrasulaResult

    Examples
    --------
    >>> from iqa_eval.data.dataset import Dataset
    >>> rng = np.random.default_rng(0)
    >>> q = rng.uniform(1, 5, 60)
    >>> data = Dataset(mos=q, predictions={"good": q + 0.1 * rng.normal(size=60),
    ...                                    "poor": q + 1.5 * rng.normal(size=60)},
    ...                std=np.full(60, 0.8), n_ratings=np.full(60, 20.0))
    >>> res = krasula(data)
    >>> bool(res.table.set_index("model").loc["good", "auc_bw"] > res.table.set_index("model").loc["poor", "auc_bw"])
    True
    """
    if data.std is None or data.n_ratings is None:
        raise InputError("the Krasula analysis needs a std and a number-of-ratings column")
    before = len(data.notes)
    sub = data.complete(nan_policy=nan_policy, need_std=True, need_n_ratings=True)
    notes = list(sub.notes[before:])
    n = len(sub)
    idx = np.arange(n)
    if n * (n - 1) // 2 > max_pairs:
        m = int((1 + np.sqrt(1 + 8 * max_pairs)) / 2)
        while m * (m - 1) // 2 > max_pairs:
            m -= 1
        idx = np.sort(np.random.default_rng(seed).choice(n, m, replace=False))
        notes.append(f"{n} images give {n * (n - 1) // 2} pairs, more than max_pairs={max_pairs}: the analysis "
                     f"uses a random subset of {m} images (seed {seed})")
    if (sub.n_ratings[idx] < 2).any():
        raise InputError("a number of ratings below 2: the MOS has no standard error",
                         file=sub.source("n_ratings")[0], column=sub.source("n_ratings")[1],
                         row=int(sub.rows[idx][np.flatnonzero(sub.n_ratings[idx] < 2)[0]]))
    i, j = np.triu_indices(len(idx), 1)
    i, j = idx[i], idx[j]
    sig = significance(sub.mos, sub.std, sub.n_ratings, i, j, z_critical=z_critical)
    different = sig != 0
    n_diff, n_sim = int(different.sum()), int((~different).sum())
    models = sub.models
    if n_diff < 2 or n_sim < 2:
        notes.append(f"only {n_diff} different and {n_sim} similar pair(s): the different/similar AUC is undefined")
    if n_diff < 2:
        notes.append("fewer than 2 significantly different pairs: the better/worse AUC is undefined")
    ds_pos, ds_neg, bw_pos = [], [], []
    for name in models:
        x = sub.predictions[name]
        d = x[i] - x[j]
        ds_pos.append(np.abs(d[different]))
        ds_neg.append(np.abs(d[~different]))
        bw_pos.append(d[different] * sig[different])
    ds_pos, ds_neg, bw_pos = np.array(ds_pos), np.array(ds_neg), np.array(bw_pos)
    auc_ds, cov_ds = auc_delong(ds_pos, ds_neg)
    auc_bw, cov_bw = auc_delong(bw_pos, -bw_pos)
    cc0 = (bw_pos > 0).mean(axis=1) if n_diff else np.full(len(models), np.nan)
    thr = np.percentile(ds_neg, 95, axis=1) if n_sim else np.full(len(models), np.nan)
    table = pd.DataFrame({"model": models, "auc_ds": auc_ds, "auc_bw": auc_bw, "cc0": cc0, "thr": thr})
    p_ds = pd.DataFrame(delong_pvalues(auc_ds, cov_ds, alternative=alternative), index=models, columns=models)
    p_bw = pd.DataFrame(delong_pvalues(auc_bw, cov_bw, alternative=alternative), index=models, columns=models)
    p_cc0 = pd.DataFrame(binomial_pvalues(cc0, n_diff, alternative=alternative), index=models, columns=models)
    settings = {"z_critical": float(z_critical), "max_pairs": int(max_pairs), "seed": int(seed),
                "pairs": "unordered pairs i < j", "test": f"DeLong ({alternative}, unadjusted)",
                "cc0_test": f"pooled two-proportion z (vmaf's significanceBinomial), {alternative}, unadjusted",
                "alternative": alternative,
                "thr": "95th percentile (linear interpolation) of |prediction difference| over the similar "
                       "pairs (vmaf's THR)",
                "se_floor": "a zero standard error of a MOS difference is replaced by 1e-8 (so equal zero-std "
                            "MOS are similar and any other difference at zero std is significant; vmaf floors "
                            "the variance instead, so MOS differing by about 2e-8..2e-4 at zero std can get "
                            "another verdict there)",
                "independence": "pair-level p-values (DeLong, C0) treat the pairs as independent; they share "
                                "images, so the p-values are optimistic"}
    return KrasulaResult(table, p_ds, p_bw, len(idx), len(i), n_diff, n_sim, tuple(notes), settings, p_cc0)
