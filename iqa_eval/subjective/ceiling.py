"""The noise ceiling: how well a perfect model can correlate with a MOS from finite, noisy raters.

Two estimates of the reliability ``R`` of the MOS (the share of its variance across images
that is true quality):

* from raw ratings, the **split-half** reliability: the raters are split at random into two
  halves, the Pearson correlation ``r`` of the two half-panel MOS is averaged over splits (in
  Fisher z) and stepped up to the whole panel by the Spearman-Brown formula
  ``R = m r / (1 + (m - 1) r)`` with ``m`` = whole panel / half panel (2 for equal halves).
  Rater biases common to all images cancel, as they do in any correlation with the MOS.
* from a metadata file (``mos``, ``std``, ``n_ratings``), the **variance components**:
  ``R = 1 - mean(std**2 / n_ratings) / var(mos)``. Rater bias counts as noise here (right when
  each image has its own raters; conservative for a complete design).

The expected correlations of the true quality with the MOS follow (a linear measurement model
with normal errors): ``PLCC = sqrt(R)`` and, for a bivariate normal pair,
``SROCC = (6 / pi) * arcsin(PLCC / 2)``. A model whose SROCC reaches the ceiling predicts the
MOS as well as a fresh panel of the same size would.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ..errors import InputError
from ..options import Interval, validate_params
from ._tables import as_ratings

__all__ = ["NoiseCeiling", "noise_ceiling", "ceiling_from_summary", "expected_correlations"]


def expected_correlations(reliability):
    """(plcc, srocc) of the true quality with a MOS of this reliability (see the module docstring)."""
    rel = np.clip(np.asarray(reliability, float), 0.0, 1.0)
    plcc = np.sqrt(rel)
    return plcc, 6.0 / np.pi * np.arcsin(plcc / 2.0)


@dataclass(frozen=True)
class NoiseCeiling:
    """Reliability of a MOS and the correlations a perfect model can expect with it."""

    reliability: float
    ci_low: float
    ci_high: float
    plcc: float
    srocc: float
    method: str
    n_images: int
    split_half_r: float | None = None
    n_splits: int | None = None
    confidence_level: float = 0.95
    notes: tuple = field(default=())

    def as_dict(self) -> dict:
        lo_p, lo_s = expected_correlations(self.ci_low)
        hi_p, hi_s = expected_correlations(self.ci_high)
        return {"method": self.method, "n_images": self.n_images, "reliability": self.reliability,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "split_half_r": self.split_half_r,
                "n_splits": self.n_splits, "plcc": self.plcc, "plcc_ci_low": float(lo_p),
                "plcc_ci_high": float(hi_p), "srocc": self.srocc, "srocc_ci_low": float(lo_s),
                "srocc_ci_high": float(hi_s)}


def _spearman_brown(r, m):
    return m * r / (1.0 + (m - 1.0) * r)


@validate_params({"n_splits": Interval(1, None, integral=True), "seed": Interval(0, None, integral=True),
                  "confidence_level": Interval(0, 1, closed="neither")})
def noise_ceiling(ratings, *, n_splits: int = 200, seed: int = 0, confidence_level: float = 0.95) -> NoiseCeiling:
    """Split-half reliability of the MOS of ``ratings`` and the ceiling it implies.

    Parameters
    ----------
    ratings : :class:`~iqa_eval.subjective.Ratings`
    n_splits : int
        Random splits of the raters into halves (the estimate is their Fisher-z mean).
    seed : int
        Seed of the splits.
    confidence_level : float
        Of the interval on the reliability: Fisher z of the mean split-half ``r`` with
        ``n_images - 3`` degrees of freedom (the sampling of images; the splits are averaged),
        stepped up by Spearman-Brown (monotone, so the ends map to ends).

    Returns
    -------
    NoiseCeiling
        ``reliability`` with ``ci_low``, ``ci_high``; ``srocc`` and ``plcc``, a perfect model's
        expected correlations with this MOS.

    Examples
    --------
    >>> import pandas as pd
    >>> from iqa_eval.subjective import ratings_from_frame
    >>> df = pd.DataFrame({"image": list("abcdef"), "s1": [1, 2, 3, 4, 5, 5], "s2": [2, 2, 4, 4, 5, 4],
    ...                    "s3": [1, 3, 3, 5, 4, 5], "s4": [2, 1, 3, 4, 5, 5]})
    >>> c = noise_ceiling(ratings_from_frame(df), n_splits=50, seed=0)
    >>> round(c.reliability, 3), c.n_images
    (0.961, 6)
    """
    ratings = as_ratings(ratings)
    mat = ratings.matrix()
    S = mat.shape[1]
    if S < 2:
        raise InputError("a split-half reliability needs at least two raters")
    rng = np.random.default_rng(seed)
    half = S // 2
    zs, used = [], []
    for _ in range(n_splits):
        perm = rng.permutation(S)
        with np.errstate(invalid="ignore"):
            ma = np.nanmean(mat[:, perm[:half]], axis=1)
            mb = np.nanmean(mat[:, perm[half:2 * half]], axis=1)
        ok = np.isfinite(ma) & np.isfinite(mb)
        if ok.sum() < 4 or np.std(ma[ok]) == 0 or np.std(mb[ok]) == 0:
            continue
        r = np.corrcoef(ma[ok], mb[ok])[0, 1]
        zs.append(np.arctanh(np.clip(r, -0.999999, 0.999999)))
        used.append(ok.sum())
    if not zs:
        raise InputError("no split of the raters leaves 4 images rated in both halves: the design is too sparse "
                         "for a split-half reliability")
    z = float(np.mean(zs))
    n_img = int(np.round(np.mean(used)))
    # equal halves (one rater left out of every split when S is odd); step up to the whole panel
    m = S / half
    zc = stats.norm.ppf(0.5 + confidence_level / 2) / np.sqrt(max(n_img - 3, 1))
    r_half = float(np.tanh(z))
    rel = float(_spearman_brown(r_half, m))
    lo, hi = (float(_spearman_brown(np.tanh(z + d), m)) for d in (-zc, zc))
    plcc, srocc = expected_correlations(rel)
    notes = []
    if len(zs) < n_splits:
        notes.append(f"noise ceiling: {n_splits - len(zs)} of {n_splits} splits left too few images rated "
                     "in both halves and were skipped")
    return NoiseCeiling(reliability=rel, ci_low=lo, ci_high=hi, plcc=float(plcc), srocc=float(srocc),
                        method="split_half", n_images=n_img, split_half_r=r_half, n_splits=len(zs),
                        confidence_level=confidence_level, notes=tuple(notes))


@validate_params({"confidence_level": Interval(0, 1, closed="neither")})
def ceiling_from_summary(mos, std, n_ratings, *, confidence_level: float = 0.95) -> NoiseCeiling:
    """The ceiling from a metadata table: ``R = 1 - mean(std**2 / n_ratings) / var(mos)``.

    The interval treats ``var(mos)`` as the uncertain part (a chi-square interval with
    ``n_images - 1`` degrees of freedom); images with a missing value are left out.
    """
    mos, std, n = (np.asarray(v, float) for v in (mos, std, n_ratings))
    ok = np.isfinite(mos) & np.isfinite(std) & np.isfinite(n) & (n >= 1)
    k = int(ok.sum())
    if k < 4:
        raise InputError("the noise ceiling needs at least 4 images with mos, std and n_ratings")
    noise = float(np.mean(std[ok] ** 2 / n[ok]))
    var = float(np.var(mos[ok], ddof=1))
    rel = 1.0 - noise / var
    a = 1 - confidence_level
    var_lo = (k - 1) * var / stats.chi2.ppf(1 - a / 2, k - 1)
    var_hi = (k - 1) * var / stats.chi2.ppf(a / 2, k - 1)
    lo, hi = 1.0 - noise / var_lo, 1.0 - noise / var_hi
    plcc, srocc = expected_correlations(rel)
    notes = [] if k == len(mos) else [f"noise ceiling: {len(mos) - k} image(s) without mos, std or n_ratings left out"]
    return NoiseCeiling(reliability=rel, ci_low=lo, ci_high=hi, plcc=float(plcc), srocc=float(srocc),
                        method="variance_components", n_images=k, confidence_level=confidence_level,
                        notes=tuple(notes))
