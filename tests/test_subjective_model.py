"""The subject model (iqa_eval.subjective.fit_subject_model) against sureal, the likelihood, and the truth.

* sureal (Netflix, PyPI): tests/data/sureal_reference.json holds ratings of four simulated
  studies (complete / incomplete, with / without content ambiguity) and sureal 0.x's MLE on
  them (tests/data/make_sureal_reference.py); the live package is used too when importable.
  Tolerance 1e-6 (both run the same update equations to ||dx|| < 1e-8; an inconsistency that
  sureal drives to 0 is held at 1e-6 here).
* the likelihood written here from the model (Li et al. 2020, eq. 1; P.913 clause 12): the
  estimate is a stationary point (finite-difference gradient), and the standard errors equal the
  constrained inverse of the finite-difference Hessian of the mean parameters.
* recovery over seeds: true qualities and biases inside their 95% intervals at the nominal rate.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from iqa_eval.errors import InputError
from iqa_eval.subjective import Ratings, fit_subject_model

DATA = Path(__file__).parent / "data"
REFERENCE = json.loads((DATA / "sureal_reference.json").read_text())
TOL = 1e-6


def _ratings(u, cid=None):
    ee, ss = np.nonzero(np.isfinite(u))
    E, S = u.shape
    return Ratings(image=ee, subject=ss, rating=u[ee, ss], images=[f"i{k}" for k in range(E)],
                   subjects=[f"s{j:02d}" for j in range(S)], content=None if cid is None else np.asarray(cid),
                   contents=None if cid is None else [str(c) for c in range(int(np.max(cid)) + 1)])


def _case_ratings(case):
    u = np.array([[np.nan if t is None else t for t in row] for row in case["ratings"]], float)
    return u, _ratings(u, case["content_id"])


def _check_against(fit, ref, content):
    np.testing.assert_allclose(fit.quality, ref["quality_scores"], atol=TOL, rtol=0)
    np.testing.assert_allclose(fit.bias, ref["observer_bias"], atol=TOL, rtol=0)
    np.testing.assert_allclose(fit.inconsistency, ref["observer_inconsistency"], atol=TOL, rtol=0)
    if content:
        np.testing.assert_allclose(fit.ambiguity, ref["content_ambiguity"], atol=TOL, rtol=0)
    # sureal's quality error is the biases-known one, 1/sqrt(sum 1/w); ours adds the biases' uncertainty
    assert np.all(fit.quality_se >= np.array(ref["quality_scores_std"]) - 1e-9)
    assert np.median(fit.quality_se / np.array(ref["quality_scores_std"])) < 1.05


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=[c["name"] for c in REFERENCE["cases"]])
def test_equals_sureal_reference(case):
    u, r = _case_ratings(case)
    content = case["model"] == "MLE"
    fit = fit_subject_model(r, content=content)
    assert fit.converged
    _check_against(fit, case["sureal"], content)


def test_equals_live_sureal():
    pytest.importorskip("sureal")
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_ref", DATA / "make_sureal_reference.py")
    make_ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_ref)
    compared = []
    for name, seed, n_images, missing, content, model in make_ref.CASES:
        u, cid = make_ref.simulate(seed + 100, E=n_images, missing=missing, content=content)
        ref = make_ref.sureal_fit(u, cid, model)
        try:
            fit = fit_subject_model(_ratings(u, cid), content=content)
        except InputError:
            # sureal followed the unbounded edge (a rating variance -> 0); we refuse it
            assert min(np.array(ref["observer_inconsistency"]) ** 2 + (min(ref.get("content_ambiguity", [0])) ** 2)) < 1e-6
            continue
        _check_against(fit, ref, content)
        compared.append(name)
    assert len(compared) >= 2, compared


def _loglik(u, x, b, v, a=None, cid=None):
    """The model's log-likelihood, written from its density: U_ij ~ N(x_j + b_i, v_i^2 + a_c(j)^2)."""
    var = v[None, :] ** 2 + (0 if a is None else a[np.asarray(cid)][:, None] ** 2)
    mean = x[:, None] + b[None, :]
    ok = np.isfinite(u)
    return stats.norm.logpdf(u[ok], mean[ok], np.sqrt(np.broadcast_to(var, u.shape)[ok])).sum()


@pytest.mark.slow
@pytest.mark.parametrize("case", REFERENCE["cases"][:2], ids=[c["name"] for c in REFERENCE["cases"][:2]])
def test_stationary_point_and_standard_errors_from_the_likelihood(case):
    u, r = _case_ratings(case)
    fit = fit_subject_model(r, content=False)
    x, b, v = fit.quality, fit.bias, fit.inconsistency
    E, S = u.shape
    theta = np.concatenate([x, b, v])

    def ll(t):
        return _loglik(u, t[:E], t[E:E + S], t[E + S:])

    h = 1e-5
    grad = np.array([(ll(theta + h * np.eye(len(theta))[k]) - ll(theta - h * np.eye(len(theta))[k])) / (2 * h)
                     for k in range(len(theta))])
    assert np.max(np.abs(grad)) < 1e-4 * len(r)
    # Hessian of the means (it does not depend on the residuals: equal to the expected information)
    n = E + S
    H = np.zeros((n, n))
    for k in range(n):
        for m in range(k, n):
            ek, em = np.eye(len(theta))[k] * 1e-3, np.eye(len(theta))[m] * 1e-3
            H[k, m] = H[m, k] = -(ll(theta + ek + em) - ll(theta + ek - em) - ll(theta - ek + em)
                                  + ll(theta - ek - em)) / 4e-6
    A = np.concatenate([np.zeros(E), np.ones(S)])[None, :]      # sum of biases = 0
    bordered = np.block([[H, A.T], [A, np.zeros((1, 1))]])
    cov = np.linalg.inv(bordered)[:n, :n]
    np.testing.assert_allclose(fit.quality_se, np.sqrt(np.diag(cov)[:E]), rtol=1e-3)
    np.testing.assert_allclose(fit.bias_se, np.sqrt(np.diag(cov)[E:]), rtol=1e-3)
    # inconsistency: 1 / Fisher information of v_i = v_i / sqrt(2 n_i) without ambiguity
    n_i = np.isfinite(u).sum(axis=0)
    np.testing.assert_allclose(fit.inconsistency_se, v / np.sqrt(2 * n_i), rtol=1e-9)


def _recovery(missing, variance, seeds=range(8), E=150, S=16):
    cover_x, cover_b, z_v = [], [], []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        x = rng.uniform(1, 5, E)
        b = rng.normal(0, 0.4, S)
        v = rng.uniform(0.3, 1.0, S)
        u = x[:, None] + b[None, :] + v[None, :] * rng.standard_normal((E, S))
        u[rng.random((E, S)) < missing] = np.nan
        fit = fit_subject_model(_ratings(u), content=False, variance=variance)
        assert fit.converged
        x_true, b_true = x + b.mean(), b - b.mean()     # the model identifies the biases up to their mean
        cover_x.append(np.abs(fit.quality - x_true) <= 1.96 * fit.quality_se)
        cover_b.append(np.abs(fit.bias - b_true) <= 1.96 * fit.bias_se)
        z_v.append((fit.inconsistency - v) / fit.inconsistency_se)
    return (np.mean(np.concatenate(cover_x)), np.mean(np.concatenate(cover_b)), np.concatenate(z_v))


def test_ml_recovers_simulated_parameters_over_seeds():
    """Complete design, 8 seeds x 150 images x 16 subjects: 95% intervals cover the truth near 95%.

    Slightly under: the errors use the ML inconsistencies, which are biased low (most for the
    most consistent subjects, whose ratings pull the qualities to themselves; the z-scores of
    the inconsistencies show it), and errors within a seed share the estimated biases."""
    cx, cb, z_v = _recovery(0.0, "ml")
    assert 0.90 <= cx <= 0.97, cx
    assert 0.85 <= cb <= 0.995, cb       # 128 subjects
    assert np.mean(z_v) < -0.3          # the known downward bias of ML variances, visible


@pytest.mark.parametrize("missing", [0.0, 0.3])
def test_corrected_recovers_simulated_parameters_over_seeds(missing):
    """Leverage-corrected inconsistencies: unbiased (mean z near 0), nominal coverage, no collapse
    even with 30% of the ratings missing (where ML collapses: next test)."""
    cx, cb, z_v = _recovery(missing, "corrected")
    assert 0.92 <= cx <= 0.975, cx
    assert 0.88 <= cb <= 0.995, cb
    assert abs(np.mean(z_v)) < 0.25 and np.mean(np.abs(z_v) < 3) > 0.97, (np.mean(z_v), np.mean(np.abs(z_v) < 3))


def test_ml_collapses_where_corrected_does_not():
    rng = np.random.default_rng(1)
    E, S = 150, 16
    x, b, v = rng.uniform(1, 5, E), rng.normal(0, 0.4, S), rng.uniform(0.3, 1.0, S)
    u = x[:, None] + b[None, :] + v[None, :] * rng.standard_normal((E, S))
    u[rng.random((E, S)) < 0.3] = np.nan
    with pytest.raises(InputError, match="fitted exactly.*variance='corrected'"):
        fit_subject_model(_ratings(u), content=False)
    fit = fit_subject_model(_ratings(u), content=False, variance="corrected")
    assert fit.inconsistency.min() > 0.2


def test_refuses_the_unbounded_edge():
    # a subject who rates only where nobody else does can be fitted exactly (inconsistency -> 0)
    rng = np.random.default_rng(0)
    u = 3 + rng.normal(0, 0.7, (12, 5))
    u[:6, 4] = np.nan
    u[6:, :3] = np.nan
    with pytest.raises(InputError, match="fitted exactly"):
        fit_subject_model(_ratings(u), content=False)


def test_single_rating_subject_left_out_with_a_note():
    rng = np.random.default_rng(1)
    u = 3 + rng.normal(0, 0.5, (30, 6))
    u[1:, 5] = np.nan
    fit = fit_subject_model(_ratings(u), content=False, variance="corrected")
    assert fit.subjects == [f"s{j:02d}" for j in range(5)]
    assert any("single rating left out" in n for n in fit.notes)
