"""Compare two IQA models on the same images: paired global tests and a GMC difference surface.

Two models can have the same global SROCC and still differ: one ranks high-quality images
better, the other separates images with small MOS differences better. :func:`compare_models`
answers *where* they differ and *whether the difference is real*:

- the global SROCC, PLCC and KRCC of both models with the paired tests of
  :mod:`iqa_eval.stats.inference` (difference A - B, its confidence interval, a p-value);
- both GMC surfaces on an exact regular grid (GMC evaluated at every node, no regression)
  and their difference A - B with a confidence interval per cell and the cells where the
  models differ significantly, after a stated multiple-comparison adjustment.

The uncertainty of each cell comes from the images. A GMC value is a ratio of weighted
U-statistics over image pairs; its first-order (Hoeffding) projection on image ``i`` is
proportional to the image's row sum ``R_i = sum_{j != i} w_ij t_ij``, which the GMC engine
accumulates in the same pass as the totals. The delta method turns these into one
influence value per image, model and cell; the variance of the difference and the
correlation between cells follow from the influence values of A minus those of B. The
derivation, its approximations and its check against a paired bootstrap are in
``docs/compare.md``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from ..errors import InputError
from ..gmc.options import GMCOptions
from ..options import (ADJUSTMENTS, ALPHA, ALTERNATIVES, BACKENDS, COMPARE_CI_METHODS, DATASET_NAN_POLICIES,
                       GMC_METHODS, PAIRED_TESTS, SEED, Interval, check_param, validate_params)

__all__ = ["compare_models", "Comparison", "gmc_influence", "influence_se"]

# A cell whose difference has a standard error below this fraction of the models' own
# standard errors is degenerate (the models agree there up to rounding): not tested.
_DEGENERATE_RTOL = 1e-9
# GMCOptions' default, for a Comparison built by hand (compare_models sets the value it used)
_DEFAULT_MIN_PAIRS = GMCOptions.min_pairs
# Draws of the Gaussian reference distribution of max |t| (analytic band).
_N_MAXT_DRAWS = 10_000


# --------------------------------------------------------------------------------------
# Influence values: the core of the analytic uncertainty
# --------------------------------------------------------------------------------------
def gmc_influence(sums, method: str, n_images: int):
    """GMC values and per-image influence values from pair sums with row sums.

    Parameters
    ----------
    sums : PairSums
        Output of :func:`iqa_eval.gmc.engine.pair_sums` computed with ``row_sums=True``
        for ``method``: totals ``sw (S,)``, ``ssign (M, S)``, ``sxy[m]``/``sxx[m]`` ``(M, S)``,
        ``syy[m] (S,)`` and ``rows[key]`` with a trailing image axis (``rows[key][..., i] =
        sum_{j != i} w_ij t_ij``).
    method : {'srocc', 'plcc', 'krcc'}
    n_images : int
        Number of images N the sums run over.

    Returns
    -------
    values : ndarray of shape (M, S)
        GMC value per model and cell (NaN where a denominator is 0).
    influence : ndarray of shape (M, S, N)
        ``psi_i`` with ``value - E[value] ~ mean_i psi_i``; ``sum_i psi_i = 0``. For the
        PLCC/SROCC form ``r = Txy / sqrt(Txx Tyy)``::

            psi_i = N * (Rxy_i / sqrt(Txx Tyy) - r/2 * (Rxx_i / Txx + Ryy_i / Tyy))

        and for the KRCC form ``k = Ts / Tw``: ``psi_i = N * (Rs_i - k Rw_i) / Tw``.

    Notes
    -----
    Ranks (SROCC form) and the distribution-regulator weights are treated as fixed data;
    see ``docs/compare.md`` for the derivation and what that approximation means.

    Examples
    --------
    >>> from iqa_eval.gmc.engine import pair_sums
    >>> rng = np.random.default_rng(0)
    >>> mos = rng.uniform(1, 5, 50)
    >>> pred = mos + rng.normal(0, 0.5, 50)
    >>> sums = pair_sums(pred[None], mos, np.full(50, 0.5), np.ones(50), [3.0], [1.0],
    ...                  methods=("plcc",), row_sums=True)
    >>> values, psi = gmc_influence(sums, "plcc", 50)
    >>> values.shape, psi.shape, bool(abs(psi.sum()) < 1e-9 * np.abs(psi).sum())
    ((1, 1), (1, 1, 50), True)
    """
    n = float(n_images)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "krcc":
            tw = np.asarray(sums.sw, dtype=np.float64)                   # (S,)
            ts = np.asarray(sums.ssign, dtype=np.float64)                # (M, S)
            rw = np.asarray(sums.rows["sw"], dtype=np.float64)           # (S, N)
            rs = np.asarray(sums.rows["ssign"], dtype=np.float64)        # (M, S, N)
            values = ts / tw[None, :]
            influence = np.empty(rs.shape)
            for m in range(rs.shape[0]):                            # (S, N) temporaries
                np.multiply(rw, values[m][:, None], out=influence[m])
                np.subtract(rs[m], influence[m], out=influence[m])
                influence[m] *= (n / tw)[:, None]
        elif method in ("srocc", "plcc"):
            txy = np.asarray(sums.sxy[method], dtype=np.float64)         # (M, S)
            txx = np.asarray(sums.sxx[method], dtype=np.float64)         # (M, S)
            tyy = np.asarray(sums.syy[method], dtype=np.float64)         # (S,)
            rxy = np.asarray(sums.rows[f"sxy:{method}"], dtype=np.float64)
            rxx = np.asarray(sums.rows[f"sxx:{method}"], dtype=np.float64)
            ryy = np.asarray(sums.rows[f"syy:{method}"], dtype=np.float64)
            den = np.sqrt(txx) * np.sqrt(tyy)[None, :]            # no underflow of tiny sums
            values = txy / den
            # psi = N (Rxy / den - r/2 (Rxx / Txx + Ryy / Tyy)), one model at a time so that
            # the temporaries stay (S, N)
            influence = np.empty(rxy.shape)
            ryy_rel = ryy / tyy[:, None]
            for m in range(rxy.shape[0]):
                out = influence[m]
                np.divide(rxx[m], txx[m][:, None], out=out)
                out += ryy_rel
                out *= -0.5 * values[m][:, None]
                out += rxy[m] / den[m][:, None]
                out *= n
        else:
            check_param("method", method, GMC_METHODS)
    bad = ~np.isfinite(values)
    if bad.any():
        values = np.where(bad, np.nan, values)
        influence[bad] = np.nan
    return values, influence


def influence_se(influence) -> np.ndarray:
    """Standard error from influence values over the last (image) axis.

    ``se = sqrt(sum_i psi_i^2 / (N (N - 1)))`` — the variance of the mean of the
    projections with the unbiased ``N - 1`` (Sen's estimator for U-statistics).

    Examples
    --------
    >>> float(influence_se([1.0, -1.0, 2.0, -2.0]))  # sqrt(10 / (4 * 3))
    0.9128709291752769
    """
    psi = np.asarray(influence, dtype=np.float64)
    n = psi.shape[-1]
    return np.sqrt(np.einsum("...i,...i->...", psi, psi) / (n * (n - 1.0)))


def _effective_images(rows_sw) -> np.ndarray:
    """Kish effective number of images per cell from the weight row sums (S, N)."""
    rw = np.asarray(rows_sw, dtype=np.float64)
    tot = rw.sum(-1)
    sq = np.einsum("si,si->s", rw, rw)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = tot * tot / sq
    return np.where(sq > 0, out, 0.0)


# --------------------------------------------------------------------------------------
# Multiple comparisons over the cells
# --------------------------------------------------------------------------------------
def _norm_sf2(t):
    """Two-sided normal p-value."""
    return special.erfc(np.abs(t) / math.sqrt(2.0))


def _norm_isf2(p):
    """``z`` with two-sided normal p-value ``p``."""
    return math.sqrt(2.0) * float(special.erfcinv(p))


def _correlation_root(corr):
    """``L`` with ``L @ L.T == corr`` (eigendecomposition; tiny negative eigenvalues clipped)."""
    lam, vec = np.linalg.eigh(corr)
    return vec * np.sqrt(np.clip(lam, 0.0, None))


def _maxt_from_correlation(corr, t, alpha, rng):
    """Critical value and adjusted p-values of max |Z|, Z ~ N(0, corr)."""
    return _maxt_from_root(_correlation_root(corr), t, alpha, rng)


def _maxt_from_influence(psi, t, alpha, rng):
    """max-|t| reference from the influence values (S, N) of the tested cells.

    The correlation of the cells is ``z z^T`` with ``z`` the row-normalised influence
    values; draws are ``z g`` (g ~ N(0, I_N)) or, when there are fewer cells than images,
    go through the S x S correlation's eigendecomposition (cheaper).
    """
    z = psi / np.sqrt(np.einsum("si,si->s", psi, psi))[:, None]
    root = _correlation_root(z @ z.T) if z.shape[0] <= z.shape[1] else z
    return _maxt_from_root(root, t, alpha, rng)


def _maxt_from_root(root, t, alpha, rng):
    maxabs = np.empty(_N_MAXT_DRAWS)
    chunk = 1000
    for start in range(0, _N_MAXT_DRAWS, chunk):
        g = rng.standard_normal((min(chunk, _N_MAXT_DRAWS - start), root.shape[1]))
        maxabs[start:start + g.shape[0]] = np.abs(g @ root.T).max(axis=1)
    return _maxt_from_draws(maxabs, t, alpha)


def _maxt_from_draws(maxabs, t, alpha):
    crit = float(np.quantile(maxabs, 1.0 - alpha))
    srt = np.sort(maxabs)
    # P(max|Z| >= |t|), with the usual +1 so that no adjusted p-value is exactly 0.
    ge = srt.size - np.searchsorted(srt, np.abs(t), side="left")
    p_adj = (ge + 1.0) / (srt.size + 1.0)
    return crit, p_adj


def _bh_adjust(p):
    """Benjamini–Hochberg step-up adjusted p-values."""
    p = np.asarray(p, dtype=np.float64)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def _adjust(t, adjust, alpha, *, psi=None, boot_t=None, rng=None):
    """Critical value for the band and adjusted p-values of the tested cells.

    ``t`` are the tested cells' statistics. ``maxt`` uses the joint null distribution of
    max |t| — Gaussian with the correlation of the influence values ``psi`` or the bootstrap
    replicates of the studentised differences (``boot_t``). ``fdr`` uses Benjamini–Hochberg
    and the false-coverage-rate interval of Benjamini–Yekutieli (level ``1 - R alpha / m``
    with R rejections, R >= 1), so a cell's interval excludes 0 exactly when it is
    rejected. ``none`` tests each cell at level ``alpha``.
    """
    m = t.size
    p = _norm_sf2(t)
    if m == 0:
        return _norm_isf2(alpha), p, p
    if adjust == "none":
        return _norm_isf2(alpha), p, p
    if adjust == "fdr":
        p_adj = _bh_adjust(p)
        r = max(int((p_adj <= alpha).sum()), 1)
        return _norm_isf2(r * alpha / m), p, p_adj
    if boot_t is not None:
        crit, p_adj = _maxt_from_draws(np.nanmax(np.abs(boot_t), axis=1), t, alpha)
    else:
        crit, p_adj = _maxt_from_influence(psi, t, alpha, rng)
    return crit, p, p_adj


# --------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------
def _json_float(x):
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare_models`.

    Attributes
    ----------
    models : list of str
        ``[A, B]``; every difference is A - B.
    method : str
        GMC form of the surface (``'srocc'``, ``'plcc'`` or ``'krcc'``).
    global_tests : DataFrame
        One row per metric (``srocc``, ``plcc``, ``krcc``) with columns ``metric, A, B,
        diff, ci_low, ci_high, pvalue, test, alternative`` (``test`` in words; 'greater': A's is larger).
    cells : DataFrame
        One row per grid node (Q slowest): ``Q, Qd, A, B, diff, ci_low, ci_high, significant`` and
        ``se, se_A, se_B, pvalue, adjusted_pvalue, n_eff, n_images_eff, supported, tested``:
        ``n_eff`` is the cell's Kish effective number of image pairs (:mod:`iqa_eval.gmc.support`),
        ``supported`` is ``n_eff >= min_pairs`` (an unsupported cell is masked: blank in maps,
        never tested), ``n_images_eff`` the effective number of images of ``min_images``.
    grid_shape : (int, int)
        ``(nq, nqd)``; ``cells[col].to_numpy().reshape(grid_shape)`` is a surface.
    alpha, ci, adjust : the settings used; ``critical_value`` the band's multiplier of ``se``.
    n_images : int
    min_pairs : float
        The ``GMCOptions.min_pairs`` the cells were masked with.
    n_resamples : int
        Bootstrap size of the KRCC test (and of every test with ``ci='percentile'``): the
        resolution of those p-values.
    notes : tuple of str
        Recoveries (rows dropped, models flipped, cells not tested and why).
    """

    models: list
    method: str
    global_tests: pd.DataFrame
    cells: pd.DataFrame
    grid_shape: tuple
    alpha: float
    ci: str
    adjust: str
    critical_value: float
    n_images: int
    n_resamples: int = 1000
    notes: tuple = field(default_factory=tuple)
    min_pairs: float = _DEFAULT_MIN_PAIRS
    #: The paired test of the global SROCC/PLCC (``PAIRED_TESTS``) and the alternative of every global test.
    test: str = "williams1959"
    alternative: str = "two-sided"

    @property
    def significant_fraction(self) -> float:
        """Fraction of all grid cells where A and B differ significantly."""
        return float(self.cells["significant"].mean()) if len(self.cells) else 0.0

    def surface(self, column: str = "diff") -> np.ndarray:
        """A column of :attr:`cells` as an ``(nq, nqd)`` array (Q along rows)."""
        return self.cells[column].to_numpy().reshape(self.grid_shape)

    def to_dict(self) -> dict:
        """The JSON document of ``iqa-eval compare --format json`` (NaN becomes null)."""
        glob = {}
        for row in self.global_tests.itertuples(index=False):
            glob[row.metric] = {"A": _json_float(row.A), "B": _json_float(row.B),
                                "diff": _json_float(row.diff),
                                "ci_low": _json_float(row.ci_low), "ci_high": _json_float(row.ci_high),
                                "pvalue": _json_float(row.pvalue), "test": row.test,
                                "alternative": row.alternative}
        cells = [{"Q": _json_float(c.Q), "Qd": _json_float(c.Qd), "A": _json_float(c.A),
                  "B": _json_float(c.B), "diff": _json_float(c.diff), "ci_low": _json_float(c.ci_low),
                  "ci_high": _json_float(c.ci_high), "significant": bool(c.significant),
                  "n_eff": _json_float(c.n_eff), "supported": bool(c.supported)}
                 for c in self.cells.itertuples(index=False)]
        return {"models": list(self.models), "global": glob,
                "surface": {"method": self.method, "min_pairs": float(self.min_pairs), "cells": cells,
                            "significant_fraction": self.significant_fraction}}


# --------------------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------------------
def check_model_pair(data, model_a, model_b):
    """InputError unless ``model_a`` and ``model_b`` are two different models of ``data``."""
    from ..data.dataset import Dataset

    if not isinstance(data, Dataset):
        raise InputError(f"compare_models takes a Dataset (Dataset(mos=..., predictions={{name: scores}}) or "
                         f"load_dataset(files)), got {type(data).__name__}")
    for name in (model_a, model_b):
        if name not in data.predictions:
            raise InputError(f"unknown model {name!r}; available: "
                             f"{', '.join(map(repr, data.models))}")
    if model_a == model_b:
        raise InputError(f"compare needs two different models; got {model_a!r} twice")


def _complete(dataset, model_a, model_b, nan_policy, weights):
    """Rows complete for both models (and std), with per-image weights kept aligned."""
    need_std = dataset.std is not None
    data = dataset.complete([model_a, model_b], nan_policy=nan_policy, need_std=need_std)
    if weights is None:
        return data, None
    c = np.asarray(weights, dtype=np.float64).reshape(-1)
    if c.size != len(dataset):
        raise InputError(f"weights have {c.size} values for {len(dataset)} images")
    if not np.all(np.isfinite(c) & (c >= 0)):
        raise InputError("weights must be finite and non-negative")
    keep = np.isfinite(dataset.mos) & np.isfinite(dataset.predictions[model_a]) \
        & np.isfinite(dataset.predictions[model_b])
    if need_std:
        keep &= np.isfinite(dataset.std)
    assert keep.sum() == len(data)  # the same rule as Dataset.complete
    return data, c[keep]


@validate_params({"method": GMC_METHODS, "ci": COMPARE_CI_METHODS, "adjust": ADJUSTMENTS, "alpha": ALPHA,
                  "n_resamples": Interval(20, None, integral=True), "seed": SEED,
                  "min_images": Interval(0, None), "nan_policy": DATASET_NAN_POLICIES, "backend": BACKENDS,
                  "test": PAIRED_TESTS, "alternative": ALTERNATIVES})
def compare_models(dataset, model_a: str, model_b: str, *, method: str = "srocc",
                   grid=(20, 20), alpha: float = 0.05, ci: str = "analytic",
                   adjust: str = "maxt", n_resamples: int = 1000, seed: int = 0,
                   options=None, weights=None, min_images: float = 10.0,
                   nan_policy: str = "omit", backend: str = "auto", progress: bool = False, client=None,
                   test: str = "williams1959", alternative: str = "two-sided", **option_values) -> Comparison:
    """Compare two models: paired global tests and the GMC difference surface A - B.

    Parameters
    ----------
    dataset : Dataset
        Oriented data (every model's scores rise with quality), e.g. from
        :func:`iqa_eval.data.io.load_dataset` followed by ``.oriented()``.
    model_a, model_b : str
        The two models; differences are A - B.
    method : {'srocc', 'plcc', 'krcc'}, default 'srocc'
        GMC form of the surface.
    grid : int or (int, int), default (20, 20)
        Regular grid ``(nq, nqd)`` over ``[min MOS, max MOS] x [0, MOS range]``; GMC is
        evaluated exactly at every node.
    alpha : float, default 0.05
        Level of the tests; intervals have coverage ``1 - alpha``.
    ci : {'analytic', 'percentile'} or CIMethod, default 'analytic'
        ``'analytic'``: one pass of the GMC engine with per-image row sums (Hoeffding
        projection + delta method). ``'percentile'``: ``n_resamples`` paired resamples of the
        images (the same resample for both models), one engine pass each.
    adjust : {'maxt', 'fdr', 'none'}, default 'maxt'
        Multiple-comparison handling over the cells. ``'maxt'``: a simultaneous band from
        the joint distribution of max |t| over cells (controls the familywise error, uses
        the correlation between neighbouring cells); ``'fdr'``: Benjamini–Hochberg with
        false-coverage-rate intervals; ``'none'``: per-cell tests.
    n_resamples : int, default 1000
        Bootstrap resamples (``ci='percentile'``, and the global paired bootstrap).
    seed : int, default 0
        Seed of every random draw (bootstrap resamples, the max-|t| reference draws).
    options : GMCOptions, optional
        GMC's std, regulator and rank options (:class:`iqa_eval.gmc.GMCOptions`; its
        ``samples`` is not used: the surface is the regular ``grid``). ``**option_values``
        (GMCOptions field names such as ``std_scale=2``) replace single fields.
    weights : array-like of shape (N,), optional
        Explicit per-image regulator weights (override ``options.regulator``).
    min_images : float, default 10
        Cells whose Kish effective number of images (from the pair-weight row sums) is
        below this are reported but not tested: their interval is NaN. (Cells with fewer
        effective image *pairs* than ``options.min_pairs`` are masked before that: see
        :mod:`iqa_eval.gmc.support`.)
    nan_policy : {'omit', 'raise'}
        Rows where either model, the MOS or the std is missing are dropped with a note,
        or raise.
    backend : str, default 'auto'
        GMC engine backend.
    client : distributed.Client, optional
        The Dask cluster of ``backend='dask'`` (see :func:`iqa_eval.gmc.engine.pair_sums`).
    progress : bool, default False
        Progress bar on stderr for long runs.
    test : str, default 'williams1959'
        The closed-form paired test of the global SROCC and PLCC (:data:`iqa_eval.options.PAIRED_TESTS`,
        as in :func:`~iqa_eval.studies.evaluation.evaluate`); with ``ci='percentile'`` the paired bootstrap.
    alternative : {'two-sided', 'greater', 'less'}
        Of the global tests (KRCC's paired bootstrap too): 'greater' tests that A's correlation is
        larger than B's. The surface's cells stay two-sided.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> from iqa_eval import Dataset, simulate_study
    >>> from iqa_eval.render.formatting import summarize_comparison
    >>> df = simulate_study(1500, seed=0)
    >>> data = Dataset(mos=df["mos"].to_numpy(), std=df["std"].to_numpy(),
    ...                predictions={m: df[m].to_numpy() for m in ("high_end", "fine_grain")})
    >>> comp = compare_models(data, "high_end", "fine_grain", grid=(10, 10))
    >>> summary = summarize_comparison(comp)
    >>> print(summary.splitlines()[0])
    Global SROCC: high_end 0.9474, fine_grain 0.9474, difference +0.0000 (95% CI ...): not significant.
    >>> print(summary.splitlines()[4])  # doctest: +ELLIPSIS
    high_end is ahead in 15 cells, at MOS 3.982-4.8 (high quality) and ...
    """
    from ..data.io import as_dataset

    gmc_options = GMCOptions.resolve(options, option_values)
    ranks = gmc_options.ranks
    ci = str(ci)
    dataset = as_dataset(dataset)
    check_model_pair(dataset, model_a, model_b)
    from ..gmc.api import gmc_inputs
    from ..gmc.engine import pair_sums
    from ..gmc.sampling import grid_shape, regular_grid

    shape = grid_shape(grid)

    data, weights = _complete(dataset, model_a, model_b, nan_policy, weights)
    nodes = regular_grid(data.mos, shape=shape)
    gin = gmc_inputs({model_a: data.predictions[model_a], model_b: data.predictions[model_b]},
                     data.mos, std=data.std, weights=weights,
                     options=GMCOptions.resolve(gmc_options, {"samples": nodes}))
    notes = list(data.notes) + list(gin.notes)
    mos, pred, scaled_std, c = gin.mos, gin.pred, gin.scaled_std, gin.c
    n = mos.size
    q, qd = nodes["Q"].to_numpy(), nodes["Qd"].to_numpy()

    sums = pair_sums(pred, mos, scaled_std, c, q, qd, methods=(method,), ranks=ranks,
                     row_sums=True, backend=backend, progress=progress, client=client)
    values, psi = gmc_influence(sums, method, n)
    n_images_eff = _effective_images(sums.rows["sw"])
    from ..gmc.support import effective_pairs
    n_eff = effective_pairs(mos, scaled_std, c, q, qd, sw=sums.sw, backend=backend, client=client)
    identical = bool(np.array_equal(pred[0], pred[1]))
    diff = values[0] - values[1]
    psi_d = psi[0] - psi[1]
    if identical:
        # Same predictions: the difference is exactly 0 with no uncertainty.
        diff = np.where(np.isfinite(diff), 0.0, np.nan)
        psi_d = np.zeros_like(psi_d)
        notes.append(f"models {model_a!r} and {model_b!r} have identical predictions: "
                     "their difference is 0 in every cell")
    se_a, se_b = influence_se(psi[0]), influence_se(psi[1])
    rng = np.random.default_rng(seed)

    if ci == "analytic":
        se = influence_se(psi_d)
    else:
        reps = _bootstrap_values(pair_sums, pred, mos, scaled_std, c, q, qd, method=method,
                                 ranks=ranks, backend=backend, client=client, n_resamples=int(n_resamples), rng=rng,
                                 progress=progress)
        boot_d = reps[:, 0] - reps[:, 1]
        se_a, se_b = np.nanstd(reps[:, 0], axis=0, ddof=1), np.nanstd(reps[:, 1], axis=0, ddof=1)
        se = np.nanstd(boot_d, axis=0, ddof=1)
        if identical:
            se = np.zeros_like(se)

    finite = np.isfinite(diff) & np.isfinite(se)
    degenerate = finite & (se <= _DEGENERATE_RTOL * np.maximum(se_a, se_b))
    # masked cells (too few effective pairs: gmc.support) are not tested at all; cells on
    # too few effective images are shown but not tested (their standard error is unreliable)
    supported = n_eff >= gmc_options.min_pairs
    enough_images = n_images_eff >= min_images
    tested = finite & ~degenerate & supported & enough_images
    idx = np.flatnonzero(tested)
    t = diff[idx] / se[idx]
    if ci == "analytic" and adjust == "maxt" and idx.size:
        crit, p_t, padj_t = _adjust(t, adjust, alpha, psi=psi_d[idx], rng=rng)
    elif ci == "percentile" and adjust == "maxt" and idx.size:
        bt = (boot_d[:, idx] - diff[idx]) / se[idx]
        crit, p_t, padj_t = _adjust(t, adjust, alpha, boot_t=bt)
    else:
        crit, p_t, padj_t = _adjust(t, adjust, alpha)

    p = np.full(diff.shape, np.nan)
    p_adj = np.full(diff.shape, np.nan)
    p[idx], p_adj[idx] = p_t, padj_t
    lo = np.where(tested, diff - crit * se, np.nan)
    hi = np.where(tested, diff + crit * se, np.nan)
    lo = np.where(degenerate & supported & enough_images, diff, lo)   # exact agreement: a point interval
    hi = np.where(degenerate & supported & enough_images, diff, hi)
    significant = tested & ((lo > 0) | (hi < 0))

    cells = pd.DataFrame({"Q": q, "Qd": qd, "A": values[0], "B": values[1], "diff": diff,
                          "ci_low": lo, "ci_high": hi, "significant": significant, "se": se,
                          "se_A": se_a, "se_B": se_b, "pvalue": p, "adjusted_pvalue": p_adj, "n_eff": n_eff,
                          "n_images_eff": n_images_eff, "supported": supported, "tested": tested})
    n_masked = int((~supported).sum())
    if n_masked:
        notes.append(f"{n_masked} of {len(cells)} cells have fewer than {gmc_options.min_pairs:g} effective "
                     "image pairs (min_pairs): masked (blank in maps, not tested)")
    n_few = int((finite & supported & ~enough_images).sum())
    if n_few:
        notes.append(f"{n_few} of {len(cells)} cells have fewer than {min_images:g} "
                     "effective images carrying weight: shown, not tested")

    global_tests, more = _global_tests(data, model_a, model_b, alpha=alpha, ci=ci,
                                       n_resamples=int(n_resamples), seed=seed, test=test, alternative=alternative)
    notes += more
    return Comparison(models=[model_a, model_b], method=method, global_tests=global_tests,
                      cells=cells, grid_shape=shape, alpha=float(alpha), ci=ci, adjust=adjust,
                      critical_value=float(crit), n_images=int(n), n_resamples=int(n_resamples),
                      notes=tuple(notes), min_pairs=float(gmc_options.min_pairs), test=test,
                      alternative=alternative)


def _bootstrap_values(pair_sums, pred, mos, scaled_std, c, q, qd, *, method, ranks, backend,
                      client, n_resamples, rng, progress):
    """GMC values of both models on ``n_resamples`` paired resamples of the images, (B, 2, S).

    A resample is drawn as multiplicities ``m_i`` (multinomial, same for both models).
    Its pair sums are the sums over pairs of distinct draws: the images with ``m_i > 0``
    with regulator weights ``c_i m_i``, so ``w_ij`` is multiplied by ``m_i m_j``. Pairs of
    two copies of one image are left out (they would add zero-difference pairs that no
    real sample contains). Ranks are recomputed on each resample.
    """
    from .._runtime.progress import Progress
    from .._runtime.resources import check_memory

    n = mos.size

    check_memory(8.0 * n_resamples * 2 * q.size,
                 f"{n_resamples:,} bootstrap resamples of a {q.size:,}-cell surface",
                 hint="use fewer resamples (n_resamples) or a coarser grid")
    out = np.empty((n_resamples, 2, q.size))
    with Progress(n_resamples, "bootstrap", enabled=progress) as bar:
        for b in range(n_resamples):
            m = np.bincount(rng.integers(0, n, n), minlength=n)
            keep = m > 0
            sums = pair_sums(pred[:, keep], mos[keep], scaled_std[keep], c[keep] * m[keep], q, qd,
                             methods=(method,), ranks=ranks, row_sums=False, backend=backend,
                             progress=False, client=client)
            out[b] = sums.values()[method]
            bar.update(1)
    return out


def _global_tests(data, model_a, model_b, *, alpha, ci, n_resamples, seed, test="williams1959",
                  alternative="two-sided"):
    """Global SROCC, PLCC (after the 4-parameter logistic) and KRCC with paired tests of A vs B.

    The coefficients and fits are :func:`iqa_eval.studies.evaluation.evaluate`'s (the numbers
    ``iqa-eval score`` prints); the paired tests are :func:`iqa_eval.stats.inference.compare_correlations`
    on A then B (so a one-sided ``alternative`` reads 'A greater'): ``test`` with Zou's interval
    (``ci='analytic'``) or the paired bootstrap (``ci='percentile'``). KRCC (cocor's tests are for
    Pearson and Spearman): with ``ci='analytic'`` the normal interval and test with the variance of
    the two tau-b's U-statistic influence values, with ``ci='percentile'`` the paired bootstrap
    (percentile interval, bootstrap p-value with the +1 correction).

    Returns
    -------
    table : DataFrame with columns ``metric, A, B, diff, ci_low, ci_high, pvalue, test, alternative``
    notes : list of str
    """
    from dataclasses import replace

    from .evaluation import evaluate, paired_test_words
    from ..stats.inference import compare_correlations, paired_bootstrap_difference

    boot = ci == "percentile"
    level = 1.0 - alpha
    # std and rating counts only feed evaluate's outlier ratio and RMSE*, not used here
    pair = replace(data.select([model_a, model_b]), std=None, n_ratings=None)
    ev = evaluate(pair, ci="percentile" if boot else "analytic", n_resamples=n_resamples, alpha=alpha, seed=seed,
                  pairwise=False)
    table = ev.table.set_index("model")
    notes = [n for n in ev.notes if n not in data.notes and not n.startswith("paired tests skipped")]
    x_a, x_b = data.predictions[model_a], data.predictions[model_b]
    words = paired_test_words(test, alternative, "percentile" if boot else "analytic")
    rows = []
    for metric in ("srocc", "plcc"):
        stat_a, stat_b = table.loc[model_a, metric], table.loc[model_b, metric]
        if metric == "srocc":
            args = (x_a, x_b, data.mos)
        else:
            args = (ev.fits[model_a].predict(x_a), ev.fits[model_b].predict(x_b), data.mos)
        if np.isfinite(stat_a - stat_b) and data.mos.size >= 4:
            res = compare_correlations(*args, metric=metric, ci="percentile" if boot else "analytic",
                                       confidence_level=level, n_resamples=n_resamples, seed=seed, test=test,
                                       alternative=alternative)
            lo, hi = res.ci_low, res.ci_high
            p = res.bootstrap_pvalue if boot else res.pvalue
            notes += [f"{metric.upper()} test: {n}" for n in res.notes]
        else:
            lo = hi = p = np.nan
        label = words if boot else f"{words}, Zou CI"
        if metric == "plcc":
            label += " on logistic-mapped scores"
        rows.append((metric, stat_a, stat_b, stat_a - stat_b, lo, hi, p, label, alternative))

    k_a, k_b = table.loc[model_a, "krcc"], table.loc[model_b, "krcc"]
    if np.isfinite(k_a - k_b):
        if boot:
            res = paired_bootstrap_difference("krcc", x_a, x_b, data.mos, n_resamples=n_resamples, seed=seed,
                                              confidence_level=level, alternative=alternative)
            notes += [f"KRCC test: {n}" for n in res.notes]
            krcc_test = f"paired bootstrap, {alternative}"
        else:   # U-statistic influence values of both tau-b (O(n log n)), no resampling
            res = compare_correlations(x_a, x_b, data.mos, metric="krcc", confidence_level=level,
                                       alternative=alternative)
            krcc_test = f"normal, U-statistic variance, {alternative}"
        lo, hi, p = res.ci_low, res.ci_high, res.pvalue
    else:
        lo = hi = p = np.nan
        krcc_test = f"paired bootstrap, {alternative}" if boot else f"normal, U-statistic variance, {alternative}"
    rows.append(("krcc", k_a, k_b, k_a - k_b, lo, hi, p, krcc_test, alternative))
    cols = ["metric", "A", "B", "diff", "ci_low", "ci_high", "pvalue", "test", "alternative"]
    out = pd.DataFrame(rows, columns=cols)
    for col in cols[1:-2]:
        out[col] = out[col].astype(np.float64)
    return out, notes
