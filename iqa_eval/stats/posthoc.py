"""Tests of k models over N datasets that stay right when N is small (2-10 datasets).

The Friedman test's chi-square approximation is conservative with few datasets (Demšar 2006,
§3.2.2): with N = 2 datasets and k = 7 models the chi-square p is 0.067 where the exact
permutation p is 0.0014. :func:`friedman_test` reports, side by side,

- Friedman's chi-square (tie-corrected, equal to :func:`scipy.stats.friedmanchisquare`);
- Iman and Davenport's (1980) ``F_F = (N-1) chi2 / (N (k-1) - chi2)`` with ``(k-1, (k-1)(N-1))``
  degrees of freedom (Demšar 2006, the equation after eq. (3));
- the permutation p: under the null hypothesis the k values of a dataset are exchangeable, so
  every dataset's ranks are permuted independently. Exact (every arrangement counted) when the
  ``(k!)^(N-1)`` arrangements (the first dataset's order is fixed: the statistic does not change
  when the models are relabelled) number at most :data:`EXACT_LIMIT` and k <= 8; otherwise Monte Carlo with
  ``n_permutations`` seeded draws, ``p = (1 + #{T* >= T}) / (1 + n_permutations)`` (Phipson &
  Smyth 2010), whose resolution ``1 / (1 + n_permutations)`` is reported.

``FriedmanTest.decides`` names the p-value used for the verdict (``method='auto'``: the
permutation p, exact where feasible).

Post-hoc tests after the Friedman test (``posthoc=`` of :func:`iqa_eval.benchmark`):

- ``'nemenyi'``: the critical difference of mean ranks (:func:`iqa_eval.studies.bench.friedman_nemenyi`);
- ``'wilcoxon-holm'``: every pair of models by :func:`scipy.stats.wilcoxon` on their per-dataset
  values (exact null distribution for small N, as scipy's ``method='auto'``), Holm's (1979)
  step-down over the ``k (k-1) / 2`` pairs; the cliques of the diagram join models no pair of
  which is significantly different (Benavoli, Corani & Mangili 2016, as autorank draws them);
- ``'bayes'``: the Bayesian signed-rank test (Benavoli et al. 2014), posterior probabilities that
  model a is practically worse, equivalent (difference inside ``[-rope, rope]``) or better than b.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from ..options import ALTERNATIVES, FRIEDMAN_METHODS, POSTHOC_TESTS, Interval, validate_params

__all__ = ["EXACT_LIMIT", "EXACT_MAX_MODELS", "FriedmanTest", "friedman_test", "PosthocResult", "wilcoxon_holm",
           "bayes_signed_rank", "posthoc", "holm", "cliques"]

#: Largest number of arrangements ``(k!)^(N-1)`` the exact permutation p enumerates (about 1 s).
EXACT_LIMIT = 30_000_000
#: Most models for the exact p (the k! orders of one dataset are held in memory: 2.6 MB at k = 8).
EXACT_MAX_MODELS = 8


@dataclass(frozen=True)
class FriedmanTest:
    """Friedman's test over N datasets (rows) and k models (columns), every p-value side by side.

    Unpacks as ``statistic, pvalue`` (chi-square and the p-value that ``decides``).

    Attributes
    ----------
    statistic : float
        Friedman's chi-square, tie-corrected (scipy's ``friedmanchisquare``).
    pvalue : float
        The p-value named by ``decides``.
    chi2_pvalue : float
        From chi-square with k - 1 degrees of freedom.
    f_statistic, f_pvalue : float
        Iman-Davenport ``F_F`` and its p from F(k-1, (k-1)(N-1)).
    permutation_pvalue : float
        Exact or Monte Carlo (``permutation_method``); NaN with ``method`` 'chi2' or 'iman-davenport'.
    permutation_method : str
        'exact', 'monte-carlo' or 'none'.
    n_permutations : int
        Arrangements counted (exact: ``(k!)^(N-1)``; Monte Carlo: the draws).
    resolution : float
        Smallest step of the permutation p (``1 / n_permutations`` exact, ``1 / (1 + n)`` Monte Carlo).
    seed : int or None
        Seed of the Monte Carlo draws (None when exact).
    decides : str
        'exact', 'monte-carlo', 'iman-davenport' or 'chi2'.
    """

    statistic: float
    pvalue: float
    chi2_pvalue: float
    f_statistic: float
    f_pvalue: float
    permutation_pvalue: float
    permutation_method: str
    n_permutations: int
    resolution: float
    seed: int | None
    decides: str
    n_datasets: int
    n_models: int

    def __iter__(self):
        return iter((self.statistic, self.pvalue))

    def describe(self) -> str:
        """One sentence: every statistic and which p decides."""
        perm = ""
        if self.permutation_method == "exact":
            perm = f"; exact permutation p = {self.permutation_pvalue:.3g} (all {self.n_permutations} arrangements)"
        elif self.permutation_method == "monte-carlo":
            perm = (f"; Monte Carlo permutation p = {self.permutation_pvalue:.3g} ({self.n_permutations} "
                    f"permutations, seed {self.seed}, resolution {self.resolution:.2g})")
        df = f"df {self.n_models - 1}, {(self.n_models - 1) * (self.n_datasets - 1)}"
        if np.isinf(self.f_statistic):   # chi2 at its maximum N(k-1): F_F's denominator is 0
            ff = f"Iman-Davenport F_F unbounded ({df}: every dataset ranks the models identically)"
        else:
            ff = f"Iman-Davenport F_F = {self.f_statistic:.3f} ({df}; p = {self.f_pvalue:.3g})"
        return (f"chi2 = {self.statistic:.3f} (p = {self.chi2_pvalue:.3g}); {ff}{perm}; "
                f"the {_DECIDES_WORDS[self.decides]} p decides")


_DECIDES_WORDS = {"exact": "exact permutation", "monte-carlo": "Monte Carlo permutation",
                  "iman-davenport": "Iman-Davenport", "chi2": "chi-square"}


def _chi2_from_sums(ss, n, k, correction):
    """Friedman's chi-square from the sum of squared rank sums (vectorised over ``ss``)."""
    return (12.0 / (n * k * (k + 1)) * ss - 3.0 * n * (k + 1)) / correction


def _n_arrangements(n, k) -> float:
    return math.exp((n - 1) * math.lgamma(k + 1))


def _exact_tail(r, ss_obs) -> tuple:
    """Count arrangements (rows permuted independently, row 0 fixed) with sum of squared column
    sums >= ``ss_obs``. Dynamic programme over the rows: distinct column-sum vectors with
    their multiplicities; the last row only needs ``||s + p||^2 = ||s||^2 + 2 s.p + ||p||^2``."""
    n, k = r.shape
    perms = [np.array(list(itertools.permutations(row)), dtype=np.float64) for row in r[1:]]
    states, counts = r[:1].copy(), np.ones(1)
    for p in perms[:-1]:
        grown = (states[:, None, :] + p[None, :, :]).reshape(-1, k)
        mult = np.repeat(counts, len(p))
        states, inverse = np.unique(grown, axis=0, return_inverse=True)
        counts = np.bincount(inverse.ravel(), weights=mult)
    last = perms[-1]
    last_sq = float(last[0] @ last[0])
    tol = 1e-9 * max(1.0, ss_obs)
    hits, total = 0.0, 0.0
    chunk = max(1, 2_000_000 // len(last))
    for lo in range(0, len(states), chunk):
        s, c = states[lo:lo + chunk], counts[lo:lo + chunk]
        ss = (s * s).sum(axis=1)[:, None] + 2.0 * s @ last.T + last_sq
        hits += float(c @ (ss >= ss_obs - tol).sum(axis=1))
        total += float(c.sum()) * len(last)
    return hits, total


@validate_params({"method": FRIEDMAN_METHODS, "n_permutations": Interval(1, None, integral=True)})
def friedman_test(values, *, method: str = "auto", n_permutations: int = 10000, seed: int = 0,
                  higher_is_better: bool = True) -> FriedmanTest:
    """Friedman's test with Iman-Davenport's F and a permutation p (exact for small N and k).

    Parameters
    ----------
    values : array-like or DataFrame, N datasets x k models
        A value per model and dataset (e.g. SROCC, or ranks). Ranked within each row (average
        ranks for ties), so ranks may be given too.
    method : {'auto', 'exact', 'monte-carlo', 'iman-davenport', 'chi2'}
        Which p decides. 'auto': exact permutation when ``(k!)^(N-1) <= EXACT_LIMIT``, else
        Monte Carlo. 'exact' beyond the limit is an error.
    n_permutations : int
        Monte Carlo draws (the p's resolution is ``1 / (1 + n_permutations)``).
    seed : int
        Seed of the Monte Carlo draws.
    higher_is_better : bool
        Rank 1 to the highest value (irrelevant for the test; kept for the ranks' meaning).

    Returns
    -------
    FriedmanTest

    Examples
    --------
    >>> x = [[0.9, 0.8, 0.7, 0.6], [0.8, 0.7, 0.6, 0.5]]   # two datasets, identical orders
    >>> res = friedman_test(x)
    >>> round(res.chi2_pvalue, 4), round(res.permutation_pvalue, 4), res.decides
    (0.1116, 0.0417, 'exact')
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] < 2 or v.shape[1] < 2:
        raise InputError(f"the Friedman test needs at least 2 datasets x 2 models; got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise InputError("the Friedman test needs a finite value for every model on every dataset")
    n, k = v.shape
    r = pd.DataFrame(-v if higher_is_better else v).rank(axis=1, method="average").to_numpy()
    sums = r.sum(axis=0)
    ss_obs = float(sums @ sums)
    ties = sum(float(np.sum(c ** 3 - c)) for c in (np.unique(row, return_counts=True)[1] for row in r))
    correction = 1.0 - ties / (n * k * (k * k - 1))
    if correction <= 0:  # every row all tied: no information
        nan = float("nan")
        return FriedmanTest(nan, nan, nan, nan, nan, nan, "none", 0, nan, None, "chi2", n, k)
    from scipy import stats

    chi2 = float(_chi2_from_sums(ss_obs, n, k, correction))
    chi2_p = float(stats.chi2.sf(chi2, k - 1))
    # Iman & Davenport (1980); Demsar (2006) after eq. (3). chi2 = N(k-1) (complete agreement) -> F = inf
    denom = n * (k - 1) - chi2
    f = (n - 1) * chi2 / denom if denom > 1e-12 * n * k else math.inf
    f_p = float(stats.f.sf(f, k - 1, (k - 1) * (n - 1))) if math.isfinite(f) else 0.0
    # the k! orders of a dataset are held in memory (8 k * k! bytes): at most 8! = 40,320 of them
    exact_ok = _n_arrangements(n, k) <= EXACT_LIMIT and k <= EXACT_MAX_MODELS
    if method == "exact" and not exact_ok:
        raise InputError(f"method='exact': (k!)^(N-1) = {_n_arrangements(n, k):.3g} arrangements for N = {n}, "
                         f"k = {k} exceed {EXACT_LIMIT} (or k > {EXACT_MAX_MODELS}); use method='monte-carlo'")
    perm_p, perm_method, count, resolution, used_seed = math.nan, "none", 0, math.nan, None
    if method in ("auto", "exact") and exact_ok:
        hits, total = _exact_tail(r, ss_obs)
        perm_p, perm_method, count, resolution = hits / total, "exact", int(round(total)), 1.0 / total
    elif method in ("auto", "monte-carlo"):
        rng = np.random.default_rng(seed)
        tol = 1e-9 * max(1.0, ss_obs)
        hits, done = 0, 0
        block = max(1, min(n_permutations, 4_000_000 // (n * k)))
        while done < n_permutations:
            b = min(block, n_permutations - done)
            perm = rng.permuted(np.broadcast_to(r, (b, n, k)), axis=2)
            s = perm.sum(axis=1)
            hits += int(np.count_nonzero((s * s).sum(axis=1) >= ss_obs - tol))
            done += b
        perm_p = (1.0 + hits) / (1.0 + n_permutations)
        perm_method, count, resolution, used_seed = "monte-carlo", int(n_permutations), 1.0 / (1 + n_permutations), seed
    decides = {"auto": perm_method, "exact": "exact", "monte-carlo": "monte-carlo",
               "iman-davenport": "iman-davenport", "chi2": "chi2"}[method]
    pvalue = {"exact": perm_p, "monte-carlo": perm_p, "iman-davenport": f_p, "chi2": chi2_p}[decides]
    return FriedmanTest(chi2, float(pvalue), chi2_p, float(f), f_p, float(perm_p), perm_method, count,
                        float(resolution), used_seed, decides, n, k)


def holm(pvalues) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values: ``max_{j <= i} min(1, (m - j + 1) p_(j))``."""
    p = np.asarray(pvalues, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    m = p.size
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def cliques(order, different) -> list:
    """Maximal runs of consecutive models (in ``order``) no two of which are ``different[a][b]``.

    Returns a list of tuples of model names, each of length >= 2 (the bars of the diagram).
    """
    order = list(order)
    runs = []
    for a in range(len(order)):
        b = a
        while b + 1 < len(order) and not any(different[order[i]][order[b + 1]] for i in range(a, b + 1)):
            b += 1
        if b > a and not any(a0 <= a and b <= b0 for a0, b0 in runs):
            runs.append((a, b))
    return [tuple(order[a:b + 1]) for a, b in runs]


@dataclass(frozen=True)
class PosthocResult:
    """Pairwise comparisons of k models over N datasets.

    Attributes
    ----------
    test : str
        'nemenyi', 'wilcoxon-holm' or 'bayes'.
    order : tuple
        Models by mean rank (best first).
    mean_ranks : dict
    pairs : DataFrame
        One row per pair (model_a, model_b, a before b in ``order``): for 'wilcoxon-holm'
        statistic, pvalue, pvalue_holm, different; for 'bayes' mean_difference, p_left (a worse
        by more than the ROPE), p_rope, p_right (a better), verdict; for 'nemenyi' rank_difference,
        different.
    cliques : list of tuple
        Groups of consecutive models not shown to differ (bars of the diagram).
    settings : dict
        alpha, rope, n_samples, seed, prior as used.
    """

    test: str
    order: tuple
    mean_ranks: dict
    pairs: pd.DataFrame
    cliques: list
    settings: dict = field(default_factory=dict)

    def describe(self) -> str:
        s = self.settings
        if self.test == "wilcoxon-holm":
            return (f"post-hoc: Wilcoxon signed-rank test of every pair over the {s['n_datasets']} datasets "
                    f"(scipy, {s.get('alternative', 'two-sided')}, {s['wilcoxon_method']}), Holm-adjusted over {len(self.pairs)} pairs, alpha = "
                    f"{s['alpha']:g}; {int(self.pairs['different'].sum())} pair(s) differ"
                    + ("; with fewer than 6 datasets no pair can reach p < 0.05 (two-sided exact)"
                       if s["n_datasets"] < 6 else ""))
        if self.test == "bayes":
            return (f"post-hoc: Bayesian signed-rank test (Benavoli et al. 2014) of every pair, ROPE = "
                    f"[-{s['rope']:g}, {s['rope']:g}] on {s['metric']}, prior pseudo-observation at 0 with weight "
                    f"{s['prior']:g}, {s['n_samples']} posterior samples, seed {s['seed']}; a verdict needs "
                    f"posterior probability >= {s['threshold']:g}")
        return (f"post-hoc: Nemenyi critical difference of mean ranks CD = {s['critical_difference']:.3f} "
                f"(alpha = {s['alpha']:g})")


def _mean_ranks(v, columns):
    r = pd.DataFrame(-v).rank(axis=1, method="average").to_numpy()
    return dict(zip(columns, map(float, r.mean(axis=0))))


def _as_frame(values) -> pd.DataFrame:
    frame = values if isinstance(values, pd.DataFrame) else pd.DataFrame(np.asarray(values, dtype=np.float64))
    if frame.shape[0] < 2 or frame.shape[1] < 2:
        raise InputError(f"post-hoc tests need at least 2 datasets x 2 models; got {frame.shape}")
    if not np.all(np.isfinite(frame.to_numpy(dtype=np.float64))):
        raise InputError("post-hoc tests need a finite value for every model on every dataset")
    return frame


@validate_params({"alpha": Interval(0, 1, closed="neither"), "alternative": ALTERNATIVES})
def wilcoxon_holm(values, *, alpha: float = 0.05, alternative: str = "two-sided") -> PosthocResult:
    """Every pair of models by the Wilcoxon signed-rank test over datasets, Holm-adjusted.

    Parameters
    ----------
    values : DataFrame, datasets x models
        Higher is better (e.g. SROCC).
    alpha : float
        Family-wise level over the ``k (k-1) / 2`` pairs.
    alternative : {'two-sided', 'greater', 'less'}
        scipy's: a pair row is ``model_a`` (the better mean rank) vs ``model_b``; 'greater' tests
        that the differences a - b are shifted above 0.

    Returns
    -------
    PosthocResult
        ``pairs['pvalue']`` is :func:`scipy.stats.wilcoxon` (``alternative``, ``zero_method='wilcox'``,
        ``method='auto'``: exact null distribution for N <= 50 without ties or zeros); a pair whose
        differences are all zero gets p = 1. ``pvalue_holm`` by :func:`holm`.
    """
    from scipy import stats

    frame = _as_frame(values)
    v = frame.to_numpy(dtype=np.float64)
    models = list(frame.columns)
    ranks = _mean_ranks(v, models)
    order = tuple(sorted(models, key=lambda m: (ranks[m], str(m))))
    rows = []
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            d = frame[a].to_numpy(dtype=np.float64) - frame[b].to_numpy(dtype=np.float64)
            if np.all(d == 0):
                stat, p = 0.0, 1.0
            else:
                res = stats.wilcoxon(frame[a], frame[b], alternative=alternative)
                stat, p = float(res.statistic), float(res.pvalue)
            rows.append({"model_a": a, "model_b": b, "statistic": stat, "pvalue": p})
    pairs = pd.DataFrame(rows, columns=["model_a", "model_b", "statistic", "pvalue"])
    pairs["pvalue_holm"] = holm(pairs["pvalue"].to_numpy())
    pairs["different"] = pairs["pvalue_holm"] < alpha
    different = {m: {o: False for o in models} for m in models}
    for row in pairs.itertuples():
        different[row.model_a][row.model_b] = different[row.model_b][row.model_a] = bool(row.different)
    return PosthocResult("wilcoxon-holm", order, ranks, pairs, cliques(order, different),
                         {"alpha": float(alpha), "n_datasets": len(frame), "alternative": alternative,
                          "wilcoxon_method": "exact null distribution where N <= 50 without ties"})


def _bayes_pair(d, rope, prior, weights):
    """Posterior probabilities (left, rope, right) of the Bayesian signed-rank test.

    ``z = (0, d_1, ..., d_N)`` (the prior pseudo-observation at 0); for Dirichlet weights ``w``,
    ``theta_left = sum_ij w_i w_j [z_i + z_j < -2 rope]``, ``theta_rope`` for
    ``|z_i + z_j| <= 2 rope``, ``theta_right`` for ``> 2 rope`` (Benavoli et al. 2014, eq. (9);
    Benavoli et al. 2017 JMLR §4.2); each sample votes for its largest theta (ties share)."""
    z = np.concatenate([[0.0], d])
    s = z[:, None] + z[None, :]
    regions = (s < -2 * rope, (s >= -2 * rope) & (s <= 2 * rope), s > 2 * rope)
    theta = np.stack([np.einsum("ti,ij,tj->t", weights, m.astype(np.float64), weights) for m in regions], axis=1)
    best = theta >= theta.max(axis=1, keepdims=True) - 1e-15
    return tuple((best / best.sum(axis=1, keepdims=True)).mean(axis=0))


@validate_params({"rope": Interval(0, None), "n_samples": Interval(1, None, integral=True),
                  "prior": Interval(0, None, closed="neither"), "threshold": Interval(0.5, 1, closed="right")})
def bayes_signed_rank(values, *, rope: float = 0.01, n_samples: int = 20000, seed: int = 0, prior: float = 0.5,
                      threshold: float = 0.95, metric: str = "srocc") -> PosthocResult:
    """The Bayesian signed-rank test (Benavoli et al. 2014) for every pair of models.

    Parameters
    ----------
    values : DataFrame, datasets x models
        Higher is better (e.g. SROCC).
    rope : float
        Region of practical equivalence ``[-rope, rope]`` on the differences (in the metric's
        units; 0.01 SROCC by default, Benavoli et al.'s choice for accuracies).
    n_samples : int
        Dirichlet posterior samples.
    seed : int
    prior : float
        Weight of the prior pseudo-observation at 0 (Benavoli et al.: 0.5).
    threshold : float
        A pair gets a verdict ('a better', 'equivalent', 'b better') when that posterior
        probability reaches it, else 'undecided'.

    Returns
    -------
    PosthocResult
        ``pairs``: p_left (a worse than b by more than the ROPE), p_rope, p_right (a better).
    """
    frame = _as_frame(values)
    v = frame.to_numpy(dtype=np.float64)
    models = list(frame.columns)
    ranks = _mean_ranks(v, models)
    order = tuple(sorted(models, key=lambda m: (ranks[m], str(m))))
    rng = np.random.default_rng(seed)
    n = len(frame)
    weights = rng.dirichlet(np.r_[prior, np.ones(n)], n_samples)  # the same draws for every pair
    rows = []
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            d = frame[a].to_numpy(dtype=np.float64) - frame[b].to_numpy(dtype=np.float64)
            left, mid, right = _bayes_pair(d, rope, prior, weights)
            verdict = ("a better" if right >= threshold else "b better" if left >= threshold
                       else "equivalent" if mid >= threshold else "undecided")
            rows.append({"model_a": a, "model_b": b, "mean_difference": float(d.mean()), "p_left": left,
                         "p_rope": mid, "p_right": right, "verdict": verdict})
    pairs = pd.DataFrame(rows, columns=["model_a", "model_b", "mean_difference", "p_left", "p_rope", "p_right",
                                        "verdict"])
    different = {m: {o: False for o in models} for m in models}
    for row in pairs.itertuples():
        different[row.model_a][row.model_b] = different[row.model_b][row.model_a] = row.verdict in ("a better",
                                                                                                   "b better")
    return PosthocResult("bayes", order, ranks, pairs, cliques(order, different),
                         {"rope": float(rope), "n_samples": int(n_samples), "seed": int(seed), "prior": float(prior),
                          "threshold": float(threshold), "metric": metric, "n_datasets": n})


def nemenyi(values, critical_difference: float, *, alpha: float = 0.05) -> PosthocResult:
    """Nemenyi's test as a :class:`PosthocResult`: a pair differs when its mean ranks differ by at
    least ``critical_difference`` (:func:`iqa_eval.studies.bench.friedman_nemenyi` computes it)."""
    frame = _as_frame(values)
    v = frame.to_numpy(dtype=np.float64)
    models = list(frame.columns)
    ranks = _mean_ranks(v, models)
    order = tuple(sorted(models, key=lambda m: (ranks[m], str(m))))
    rows = [{"model_a": a, "model_b": b, "rank_difference": ranks[b] - ranks[a],
             "different": ranks[b] - ranks[a] >= critical_difference}
            for i, a in enumerate(order) for b in order[i + 1:]]
    pairs = pd.DataFrame(rows, columns=["model_a", "model_b", "rank_difference", "different"])
    different = {m: {o: False for o in models} for m in models}
    for row in pairs.itertuples():
        different[row.model_a][row.model_b] = different[row.model_b][row.model_a] = bool(row.different)
    return PosthocResult("nemenyi", order, ranks, pairs, cliques(order, different),
                         {"alpha": float(alpha), "critical_difference": float(critical_difference),
                          "n_datasets": len(frame)})


@validate_params({"test": POSTHOC_TESTS, "alternative": ALTERNATIVES})
def posthoc(values, test: str = "nemenyi", *, alpha: float = 0.05, rope: float = 0.01, seed: int = 0,
            n_samples: int = 20000, metric: str = "srocc", critical_difference: float | None = None,
            alternative: str = "two-sided") -> PosthocResult:
    """Dispatch to :func:`nemenyi` (needs ``critical_difference``), :func:`wilcoxon_holm` (with
    ``alternative``) or :func:`bayes_signed_rank`."""
    if test == "wilcoxon-holm":
        return wilcoxon_holm(values, alpha=alpha, alternative=alternative)
    if test == "bayes":
        return bayes_signed_rank(values, rope=rope, seed=seed, n_samples=n_samples, metric=metric)
    if critical_difference is None:
        raise InputError("posthoc='nemenyi' needs the critical difference (iqa_eval.studies.bench.friedman_nemenyi)")
    return nemenyi(values, critical_difference, alpha=alpha)
