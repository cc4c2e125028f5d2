"""The noise ceiling against a brute-force simulation of many studies with known true quality."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from iqa_eval.subjective import Ratings, ceiling_from_summary, expected_correlations, noise_ceiling


def _study(rng, E, S, noise, bias_sd, missing=0.0):
    q = rng.standard_normal(E)
    u = q[:, None] + rng.normal(0, bias_sd, S)[None, :] + rng.normal(0, noise, (E, S))
    u[rng.random((E, S)) < missing] = np.nan
    ee, ss = np.nonzero(np.isfinite(u))
    r = Ratings(image=ee, subject=ss, rating=u[ee, ss], images=[str(k) for k in range(E)],
                subjects=[str(j) for j in range(S)])
    return q, u, r


def test_pearson_to_spearman_for_the_bivariate_normal():
    # (6/pi) asin(rho/2): checked by simulation of a large bivariate normal sample
    rng = np.random.default_rng(0)
    rho = 0.9
    x = rng.standard_normal(200_000)
    y = rho * x + np.sqrt(1 - rho ** 2) * rng.standard_normal(200_000)
    _, srocc = expected_correlations(rho ** 2)
    assert stats.spearmanr(x, y)[0] == pytest.approx(srocc, abs=3e-3)


@pytest.mark.parametrize("S,noise,bias_sd", [(16, 1.5, 0.5), (7, 1.0, 0.3)])
def test_split_half_ceiling_equals_brute_force(S, noise, bias_sd):
    """Mean predicted ceiling vs the mean actual correlation of true quality with the MOS, over
    120 simulated complete studies of 200 images (biases common to all images do not count)."""
    rng = np.random.default_rng(S)
    pred_p, pred_s, act_p, act_s, covered = [], [], [], [], []
    theory = 1.0 / (1.0 + noise ** 2 / S)                    # reliability of a mean of S ratings
    for _ in range(120):
        q, u, r = _study(rng, 200, S, noise, bias_sd)
        c = noise_ceiling(r, n_splits=20, seed=1)
        mos = np.nanmean(u, axis=1)
        pred_p.append(c.plcc)
        pred_s.append(c.srocc)
        act_p.append(stats.pearsonr(q, mos)[0])
        act_s.append(stats.spearmanr(q, mos)[0])
        covered.append(c.ci_low <= theory <= c.ci_high)
    assert np.mean(pred_p) == pytest.approx(np.mean(act_p), abs=0.006)
    assert np.mean(pred_s) == pytest.approx(np.mean(act_s), abs=0.008)
    assert np.mean(pred_p) == pytest.approx(np.sqrt(theory), abs=0.006)
    assert 0.85 <= np.mean(covered) <= 1.0


def test_summary_ceiling_equals_brute_force_when_each_image_has_its_own_raters():
    """mos, std, n_ratings only: biases are noise when every image has different raters."""
    rng = np.random.default_rng(7)
    pred, act = [], []
    for _ in range(150):
        E = 200
        q = rng.standard_normal(E)
        n = rng.integers(8, 20, E)
        mos, std = np.empty(E), np.empty(E)
        for j in range(E):
            votes = q[j] + rng.normal(0, 0.5, n[j]) + rng.normal(0, 1.2, n[j])   # fresh raters: bias + noise
            mos[j], std[j] = votes.mean(), votes.std(ddof=1)
        c = ceiling_from_summary(mos, std, n)
        pred.append(c.plcc)
        act.append(stats.pearsonr(q, mos)[0])
    assert np.mean(pred) == pytest.approx(np.mean(act), abs=0.006)


def test_ceiling_is_seeded_and_reproducible():
    rng = np.random.default_rng(2)
    _, _, r = _study(rng, 60, 10, 1.0, 0.2, missing=0.2)
    a, b = noise_ceiling(r, n_splits=30, seed=4), noise_ceiling(r, n_splits=30, seed=4)
    assert a == b
    assert noise_ceiling(r, n_splits=30, seed=5).reliability != a.reliability
