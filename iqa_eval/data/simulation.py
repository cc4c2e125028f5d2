"""A simulated subjective study, so that everything runs without external data.

:func:`simulate_study` draws a latent quality per image, has a panel of raters score
each image on a 5-point ACR scale (integer votes, rater bias, per-image difficulty),
and reports MOS, the standard deviation of the votes and the number of votes — the
columns a real study publishes. It then simulates several IQA models with known,
different behaviours:

``precise``
    small Gaussian error everywhere: the best model.
``noisy``
    the same kind of error, three times larger.
``saturating``
    logit-like scores: MOS saturates at both ends as a function of the score, so PLCC on
    raw scores understates the model and the 4-parameter logistic mapping recovers it.
``distance``
    a full-reference distance (lower is better), like LPIPS or NIQE.
``high_end``
    error that shrinks with quality: ranks high-quality images well, low-quality poorly.
``fine_grain``
    very small error on most images plus a few gross failures: separates images with
    small MOS differences well but misorders some far-apart pairs.

``high_end`` and ``fine_grain`` are calibrated (bisection on the failure size of
``fine_grain``) to the same global SROCC within ``1e-3`` (in studies of fewer than about
100 images, within the step by which SROCC moves on n images): global metrics cannot tell them
apart, GMC surfaces can. The pair is :data:`EQUAL_SROCC_PAIR`; the distance-like model,
lower is better, is listed in :data:`LOWER_IS_BETTER`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..options import SEED, Interval, validate_params

__all__ = ["simulate_study", "simulate_ratings", "EQUAL_SROCC_PAIR", "LOWER_IS_BETTER"]

#: The two simulated models with the same global SROCC (GMC tells them apart).
EQUAL_SROCC_PAIR = ("high_end", "fine_grain")
#: The simulated models whose score falls as quality rises.
LOWER_IS_BETTER = ("distance",)


def _srocc(a, b) -> float:
    from ..stats.metrics import srocc
    return float(srocc(a, b).statistic)


@validate_params({"n_images": Interval(10, None, integral=True), "seed": SEED})
def simulate_study(n_images: int = 1500, *, n_raters: tuple = (15, 30), seed: int = 0,
                   ratings: bool = False):
    """Simulate a subjective study and six IQA models' predictions.

    Parameters
    ----------
    n_images : int, default 1500
        Number of images (1,500: enough for compare to resolve both regions where the
        equal-SROCC pair differs; with 600 only the low-quality one is significant).
    n_raters : (int, int), default (15, 30)
        Each image is rated by a number of raters drawn uniformly from this range.
    seed : int, default 0
        Seed of every random draw: the same seed gives the same table.

    Returns
    -------
    DataFrame
        Columns ``image, mos, std, n_ratings`` and one column per model (see the module
        docstring): plain data, ready to write as CSV. The two models with equal SROCC are
        :data:`EQUAL_SROCC_PAIR`, the distance-like ones :data:`LOWER_IS_BETTER`.
        With ``ratings=True``, ``(table, raw)``: ``raw`` is :func:`simulate_ratings` of the same
        latent qualities (drawn after everything else, so the table is unchanged).

    Examples
    --------
    >>> from iqa_eval.data.simulation import simulate_study
    >>> df = simulate_study(200, seed=1)
    >>> list(df.columns[:4])
    ['image', 'mos', 'std', 'n_ratings']
    """
    rng = np.random.default_rng(seed)
    # Latent quality on the 1..5 scale, more mid-quality images than extremes (as in real sets).
    q = 1.0 + 4.0 * rng.beta(1.6, 1.6, n_images)
    difficulty = rng.uniform(0.55, 1.0, n_images)          # per-image rating spread
    counts = rng.integers(n_raters[0], n_raters[1] + 1, n_images)
    mos = np.empty(n_images)
    std = np.empty(n_images)
    for i in range(n_images):
        bias = rng.normal(0.0, 0.3, counts[i])               # rater leniency
        votes = np.clip(np.rint(q[i] + bias + rng.normal(0.0, difficulty[i], counts[i])), 1, 5)
        mos[i] = votes.mean()
        std[i] = votes.std(ddof=1)
    u = (q - 1.0) / 4.0                                      # latent quality in [0, 1]

    z = rng.standard_normal((6, n_images))
    models = {
        "precise": u + 0.05 * z[0],
        "noisy": 25.0 + 20.0 * (u + 0.15 * z[1]),            # PSNR-like scale
        # logit-like scores: MOS is a logistic function of them (plus noise)
        "saturating": np.log((0.04 + 0.92 * u) / (0.96 - 0.92 * u)) + 0.25 * z[2],
        "distance": 0.6 * np.exp(-2.5 * u) * np.exp(0.12 * z[3]),
        "high_end": u + (0.12 - 0.10 * u) * z[4],             # error shrinks with quality
    }
    # fine_grain: tiny error, plus gross failures on 10% of images; the failure size is tuned
    # so that its SROCC equals high_end's.
    draw = rng.random(n_images)
    failing = draw < 0.10
    jump = rng.choice([-1.0, 1.0], n_images) * rng.uniform(0.3, 0.8, n_images)
    target = _srocc(models["high_end"], mos)

    def fine(scale):
        return u + 0.01 * z[5] + failing * jump * scale

    # In a small study 10% may be too few failures to bring SROCC down to the target at
    # any scale (the failing images saturate at the ends of the ranking): then the next
    # images in draw order fail too, until the target is reachable.
    order = np.argsort(draw, kind="stable")
    n_failing = int(failing.sum())
    lo, hi, max_scale = 0.0, 2.0, 2.0 ** 20
    if _srocc(fine(lo), mos) < target:  # even without failures fine_grain is worse: keep it plain
        scale = lo
    else:
        while _srocc(fine(hi), mos) > target:
            if hi < max_scale:
                hi *= 2.0
            elif n_failing < n_images:
                failing[order[n_failing]] = True
                n_failing += 1
            else:  # unreachable in principle (all images failing at huge scale); stay finite
                break
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if _srocc(fine(mid), mos) > target else (lo, mid)
        scale = 0.5 * (lo + hi)
    models["fine_grain"] = fine(scale)

    df = pd.DataFrame({"image": [f"img_{i:05d}.png" for i in range(n_images)],
                       "mos": np.round(mos, 4), "std": np.round(std, 4), "n_ratings": counts})
    for name, values in models.items():
        df[name] = np.round(values, 6)
    if ratings:
        return df, simulate_ratings(q, df["image"].tolist(), seed=int(rng.integers(2 ** 31)))
    return df


def simulate_ratings(quality, images=None, *, n_subjects: int = 24, images_per_content: int = 5,
                     missing: float = 0.2, seed: int = 0, truth: bool = False):
    """Raw ACR ratings of a panel, drawn from the subject model (Li et al. 2020; P.913).

    A rating of image j by subject i is ``round(quality_j + bias_i + inconsistency_i * X +
    ambiguity_c(j) * Y)`` clipped to 1..5, ``X, Y ~ N(0, 1)``; biases ~ N(0, 0.3),
    inconsistencies ~ U(0.3, 0.9), ambiguities ~ U(0.1, 0.4); images come in contents of
    ``images_per_content``; each rating is missing with probability ``missing`` (an
    incomplete design).

    Returns
    -------
    DataFrame ``subject, image, content, rating`` (long form); with ``truth=True`` also a dict of
    the drawn ``bias``, ``inconsistency``, ``ambiguity`` and ``content`` arrays.
    """
    q = np.asarray(quality, float)
    n = len(q)
    images = [f"img_{i:05d}.png" for i in range(n)] if images is None else list(images)
    rng = np.random.default_rng(seed)
    bias = rng.normal(0.0, 0.3, n_subjects)
    inconsistency = rng.uniform(0.3, 0.9, n_subjects)
    content = np.arange(n) // images_per_content
    ambiguity = rng.uniform(0.1, 0.4, content.max() + 1)
    noise = (inconsistency[None, :] * rng.standard_normal((n, n_subjects))
             + ambiguity[content][:, None] * rng.standard_normal((n, n_subjects)))
    votes = np.clip(np.rint(q[:, None] + bias[None, :] + noise), 1, 5)
    rated = rng.random((n, n_subjects)) >= missing
    jj, ii = np.nonzero(rated)
    out = pd.DataFrame({"subject": [f"s{i:02d}" for i in ii], "image": [images[j] for j in jj],
                        "content": [f"c{content[j]:04d}" for j in jj], "rating": votes[jj, ii].astype(int)})
    if truth:
        return out, {"bias": bias, "inconsistency": inconsistency, "ambiguity": ambiguity, "content": content}
    return out
