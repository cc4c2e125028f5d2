"""The subject model: maximum-likelihood true quality, subject bias and inconsistency.

Model (Li & Bampis 2017; Li et al. 2020; adopted by ITU-T P.913 (06/2021) clause 12)::

    U_ijr = psi_j + Delta_i + nu_i * X + phi_c(j) * Y,    X, Y ~ N(0, 1)

``psi_j`` the true quality of image j, ``Delta_i`` the bias of subject i (the biases sum to
zero: the model only identifies quality up to a common shift), ``nu_i`` the subject's
inconsistency and ``phi_c`` the ambiguity of content c (only where images share contents;
without a content column ``phi = 0``, sureal's ``MLE_CO``). A rating is thus normal with mean
``psi_j + Delta_i`` and variance ``nu_i**2 + phi_c(j)**2``. Missing ratings (incomplete
designs) simply contribute no term; repetitions contribute one term each.

The estimates are found with the update equations of Li & Bampis (2017) (sureal's
``MaximumLikelihoodEstimationModel``, 'simplified' gradients: a Newton step per parameter group,
blended in at rate 0.1, from MOS, zero bias and the residual spreads; stop when the qualities
move by less than ``tol``): the same stationary point as sureal (tests/test_subjective_model.py).
The normal likelihood is unbounded where a spread reaches 0 (a subject fitted exactly); the
iteration is stopped there with an error instead of following it.

Standard errors come from the expected Fisher information, which is block diagonal between the
means (psi, Delta) and the spreads (nu, phi) for a normal likelihood. The mean block is
inverted with the zero-sum constraint on the biases (its Schur complement on the biases has
the constant vector as null space: its pseudo-inverse is the constrained covariance), so the
errors of psi include the uncertainty of the biases it is corrected by. sureal reports
``1/sqrt(sum_i 1/w_ij)``, the error with the biases known: ours are slightly larger.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from ..options import SUBJECT_VARIANCES, Interval, validate_params
from ._tables import as_ratings

__all__ = ["SubjectModelResult", "fit_subject_model"]

_REFRESH = 0.1      # sureal's REFRESH_RATE: the blend of each Newton step
_MIN_SPREAD = 1e-6  # nu_i lower bound: a subject who always agrees with the model has no density otherwise


@dataclass(frozen=True)
class SubjectModelResult:
    """Estimates of the subject model (arrays indexed like ``images``, ``subjects``, ``contents``)."""

    quality: np.ndarray
    quality_se: np.ndarray
    bias: np.ndarray
    bias_se: np.ndarray
    inconsistency: np.ndarray
    inconsistency_se: np.ndarray
    ambiguity: np.ndarray | None
    ambiguity_se: np.ndarray | None
    images: list
    subjects: list
    contents: list | None
    loglikelihood: float
    n_iter: int
    converged: bool
    confidence_level: float = 0.95
    notes: tuple = field(default=())

    def _z(self):
        return stats.norm.ppf(0.5 + self.confidence_level / 2)

    def quality_table(self) -> pd.DataFrame:
        z = self._z()
        return pd.DataFrame({"image": self.images, "quality": self.quality, "se": self.quality_se,
                             "ci_low": self.quality - z * self.quality_se,
                             "ci_high": self.quality + z * self.quality_se})

    def subject_table(self) -> pd.DataFrame:
        return pd.DataFrame({"subject": self.subjects, "bias": self.bias, "bias_se": self.bias_se,
                             "inconsistency": self.inconsistency, "inconsistency_se": self.inconsistency_se})

    def content_table(self) -> pd.DataFrame | None:
        if self.ambiguity is None:
            return None
        return pd.DataFrame({"content": self.contents, "ambiguity": self.ambiguity,
                             "ambiguity_se": self.ambiguity_se})


def _negloglik(theta, y, e, s, c, E, S, C):
    """Negative log-likelihood and its gradient; theta = (psi, Delta, nu[, phi])."""
    x, b, v = theta[:E], theta[E:E + S], theta[E + S:E + 2 * S]
    a = theta[E + 2 * S:] if C else None
    w = v[s] ** 2 + (a[c] ** 2 if C else 0.0)
    r = y - x[e] - b[s]
    nll = 0.5 * np.sum(np.log(2 * np.pi * w) + r * r / w)
    g_mean = -r / w
    g_var = 1.0 / w - r * r / (w * w)          # d nll / d w, times 2 below via d w / d v = 2 v
    grad = [np.bincount(e, g_mean, E), np.bincount(s, g_mean, S), np.bincount(s, g_var, S) * v]
    if C:
        grad.append(np.bincount(c, g_var, C) * a)
    return nll, np.concatenate(grad)


def _mean_block_se(w_obs, e, s, E, S):
    """Standard errors of (psi, Delta) from the expected information with sum(Delta) = 0."""
    from .._runtime.resources import check_memory

    check_memory(8.0 * (3 * E * S + 3 * S * S), "the standard errors of the subject model")
    W = np.zeros((E, S))
    np.add.at(W, (e, s), 1.0 / w_obs)
    dx = W.sum(axis=1)
    db = W.sum(axis=0)
    U = W / dx[:, None]
    M = np.diag(db) - W.T @ U                    # Schur complement on the biases, null space = 1
    Mp = np.linalg.pinv(M, hermitian=True)
    var_b = np.diag(Mp)
    var_x = 1.0 / dx + ((U @ Mp) * U).sum(axis=1)      # diag(U Mp U^T) through BLAS
    return np.sqrt(var_x), np.sqrt(np.maximum(var_b, 0.0))


def _spread_se(v, a, w_obs, s, c, S, C):
    """Standard errors of (nu, phi) from the inverse expected information of the spread block."""
    q = 2.0 / (w_obs * w_obs)
    n = S + (C if C else 0)
    info = np.zeros((n, n))
    info[np.arange(S), np.arange(S)] = np.bincount(s, q, S) * v * v
    if C:
        info[S + np.arange(C), S + np.arange(C)] = np.bincount(c, q, C) * a * a
        cross = np.zeros((S, C))
        np.add.at(cross, (s, c), q)
        cross *= v[:, None] * a[None, :]
        info[:S, S:] = cross
        info[S:, :S] = cross.T
    free = np.concatenate([v > 10 * _MIN_SPREAD] + ([a > 1e-8] if C else []))
    se = np.full(n, np.nan)              # a spread at its bound (0) has no normal-theory error
    if free.any():
        sub = info[np.ix_(free, free)]
        se[free] = np.sqrt(np.maximum(np.diag(np.linalg.pinv(sub, hermitian=True)), 0.0))
    return se[:S], (se[S:] if C else None)


@validate_params({"variance": SUBJECT_VARIANCES, "confidence_level": Interval(0, 1, closed="neither"),
                  "tol": Interval(0, None, closed="neither"), "max_iter": Interval(1, None, integral=True)})
def fit_subject_model(ratings, *, content: bool | None = None, variance: str = "ml", confidence_level: float = 0.95,
                      tol: float = 1e-8, max_iter: int = 10000) -> SubjectModelResult:
    """Maximum-likelihood estimates of the subject model (see the module docstring).

    Parameters
    ----------
    ratings : :class:`~iqa_eval.subjective.Ratings`
    content : bool or None
        Estimate content ambiguity (needs a content per image). ``None``: with
        ``variance='ml'``, where the ratings carry contents and some content has more than one
        image.
    variance : {'ml', 'corrected'}
        ``ml``: the maximum-likelihood inconsistencies (sureal's estimate). Like every ML
        variance they are biased low, most for the most consistent subjects (whose ratings
        pull the qualities towards themselves), and in incomplete designs that feedback can
        drive one to 0, where the likelihood is unbounded (an error here). ``corrected``
        (content-oblivious model only): the same equations for quality and bias, but each
        subject's inconsistency is its residual sum of squares over its residual degrees of
        freedom, ``nu_i**2 = sum_j r_ij**2 / (sum_j (1 - h_ij) - 1)`` with ``h_ij`` the weight of
        subject i in quality j (its leverage) and 1 for its bias (as REML does for variance
        components): nearly unbiased, and it cannot collapse.
    confidence_level : float
        Of the intervals in :meth:`SubjectModelResult.quality_table`.
    tol : float
        The iteration stops when the qualities move by less than this (Euclidean norm), as
        sureal's ``delta_thr``.
    max_iter : int
        At most this many iterations (``converged`` False and a note if the qualities still move
        by more than ``tol``).

    Returns
    -------
    SubjectModelResult
        Images without a rating get NaN quality; subjects with a single rating are left out
        (their inconsistency is not estimable), with a note.

    Examples
    --------
    >>> import pandas as pd
    >>> from iqa_eval.subjective import ratings_from_frame
    >>> df = pd.DataFrame({"image": list("abcdef"), "s1": [1, 2, 3, 4, 5, 5], "s2": [2, 2, 4, 4, 5, 4],
    ...                    "s3": [1, 3, 3, 5, 4, 5], "s4": [2, 1, 3, 4, 5, 5]})
    >>> fit = fit_subject_model(ratings_from_frame(df), variance="corrected")
    >>> np.round(fit.quality, 2).tolist(), np.round(fit.bias, 2).tolist()
    ([1.36, 1.96, 3.18, 4.14, 4.95, 4.91], [-0.08, 0.08, 0.08, -0.08])
    """
    ratings = as_ratings(ratings)
    notes = []
    max_iter = int(max_iter)                 # a whole float (2.0) passes the rule; range() needs an int
    per_subject = np.bincount(ratings.subject, minlength=ratings.n_subjects)
    if (per_subject == 1).any():
        single = np.flatnonzero(per_subject == 1)
        notes.append(f"subject model: {len(single)} subject(s) with a single rating left out "
                     "(their inconsistency cannot be estimated)")
        ratings = ratings.subset(np.flatnonzero(per_subject > 1))
    rated = np.bincount(ratings.image, minlength=ratings.n_images) > 0
    img_map = np.cumsum(rated) - 1
    e = img_map[ratings.image]
    s = ratings.subject
    y = ratings.rating
    E, S = int(rated.sum()), ratings.n_subjects
    if S < 2 or E < 2:
        raise InputError("the subject model needs at least two subjects and two rated images")
    if content is None:
        content = variance == "ml" and ratings.content is not None and len(np.unique(ratings.content[rated])) < E
    C = 0
    if content:
        if ratings.content is None:
            raise InputError("content ambiguity needs a content column (content=True without contents)")
        uc, c_of_image = np.unique(ratings.content[rated], return_inverse=True)
        C = len(uc)
        c = c_of_image[e]
        contents = [ratings.contents[k] for k in uc]
    else:
        c, contents = np.zeros(len(y), int), None
    # sureal's starting point: MOS, no bias, per-subject / per-content residual spread.
    mos = np.bincount(e, y, E) / np.bincount(e, minlength=E)
    res = y - mos[e]
    n_s = np.bincount(s, minlength=S)
    v0 = np.sqrt(np.bincount(s, res ** 2, S) / n_s - (np.bincount(s, res, S) / n_s) ** 2)
    v = np.maximum(v0, _MIN_SPREAD)
    a = np.zeros(1)
    if C:
        n_c = np.bincount(c, minlength=C)
        a = np.sqrt(np.maximum(np.bincount(c, res ** 2, C) / n_c - (np.bincount(c, res, C) / n_c) ** 2, 0.0))
    x, b = mos.copy(), np.zeros(S)
    converged = False
    if variance == "corrected":
        if C:
            raise InputError("variance='corrected' is for the content-oblivious model (content=False)")
        if (n_s < 3).any():
            raise InputError("variance='corrected' needs at least 3 ratings per subject")
        v2 = v ** 2
        for it in range(1, max_iter + 1):
            # exact conditional solutions (weights 1/nu_i^2 are constant within a subject,
            # so the bias is a plain mean of its residuals); then the corrected variances
            x_prev = x
            w = v2[s]
            sw = np.bincount(e, 1.0 / w, E)
            x = np.bincount(e, (y - b[s]) / w, E) / sw
            b = np.bincount(s, y - x[e], S) / n_s
            h = (1.0 / w) / sw[e]
            dof = np.bincount(s, 1.0 - h, S) - 1.0
            v2 = np.bincount(s, (y - x[e] - b[s]) ** 2, S) / np.maximum(dof, 1e-12)
            if np.linalg.norm(x - x_prev) < tol:
                converged = True
                break
        v = np.sqrt(np.maximum(v2, _MIN_SPREAD ** 2))
    for it in (range(1, max_iter + 1) if variance == "ml" else ()):
        # One round of the update equations of Li & Bampis (2017) / sureal's 'simplified'
        # gradient method, in sureal's order (bias, inconsistency, ambiguity, quality), each a
        # Newton step blended in at rate `_REFRESH`.
        x_prev = x
        a_o = a[c] if C else 0.0
        w = v[s] ** 2 + a_o ** 2
        b_new = np.bincount(s, (y - x[e]) / w, S) / np.bincount(s, 1.0 / w, S)
        b = (1 - _REFRESH) * b + _REFRESH * b_new
        r2 = (y - x[e] - b[s]) ** 2
        vo = v[s]
        num = np.bincount(s, -vo / w + vo * r2 / w ** 2, S)
        poly = a_o ** 4 - 3 * vo ** 4 - 2 * vo ** 2 * a_o ** 2
        den = np.bincount(s, (vo ** 2 - a_o ** 2) / w ** 2 + r2 * poly / w ** 4, S)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            step = num / den
        step = np.where(np.isfinite(step), step, 0.0)     # a spread at its floor: no step
        v = np.maximum((1 - _REFRESH) * v + _REFRESH * (v - step), _MIN_SPREAD)
        if C:
            vo = v[s]
            w = vo ** 2 + a_o ** 2
            num = np.bincount(c, -a_o / w + a_o * r2 / w ** 2, C)
            poly = vo ** 4 - 3 * a_o ** 4 - 2 * vo ** 2 * a_o ** 2
            den = np.bincount(c, -(vo ** 2 - a_o ** 2) / w ** 2 + r2 * poly / w ** 4, C)
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                step = np.where((a > 0) & np.isfinite(num / den), num / den, 0.0)     # an ambiguity at 0 stays there (as in sureal)
            a = np.maximum((1 - _REFRESH) * a + _REFRESH * (a - step), 0.0)
            a_o = a[c]
        w = v[s] ** 2 + a_o ** 2
        if np.min(w) <= (10 * _MIN_SPREAD) ** 2:
            k = int(s[np.argmin(w)])
            raise InputError(f"subject model: subject {ratings.subjects[k]!r} can be fitted exactly (its "
                             "inconsistency goes to 0, where the likelihood has no maximum); this happens in incomplete "
                             "designs with a subject much more consistent than the others: use variance='corrected' "
                             "(leverage-corrected inconsistencies), method='mean', or screen the subjects")
        x_new = np.bincount(e, (y - b[s]) / w, E) / np.bincount(e, 1.0 / w, E)
        x = (1 - _REFRESH) * x + _REFRESH * x_new
        if np.linalg.norm(x - x_prev) < tol:
            converged = True
            break
    r2 = (y - x[e] - b[s]) ** 2
    w = v[s] ** 2 + (a[c] ** 2 if C else 0.0)
    ll = -0.5 * np.sum(np.log(2 * np.pi * w) + r2 / w)
    if not C:
        a = None
    shift = b.mean()                       # the biases sum to zero (sureal's force_subjbias_zeromean)
    b = b - shift
    x = x + shift
    w_obs = v[s] ** 2 + (a[c] ** 2 if C else 0.0)
    # a spread at 0 gives infinite weights; the errors are computed with the weights capped
    # (a degenerate fit, said in a note below)
    w_se = np.maximum(w_obs, 1e-6 * np.median(w_obs))
    try:
        x_se, b_se = _mean_block_se(w_se, e, s, E, S)
    except np.linalg.LinAlgError:
        x_se, b_se = np.full(E, np.nan), np.full(S, np.nan)
    v_se, a_se = _spread_se(v, a, w_obs, s, c, S, C)
    if not converged:
        notes.append(f"subject model: no convergence in {max_iter} iterations; estimates may be inaccurate")
    if (v <= 10 * _MIN_SPREAD).any():
        zero = [ratings.subjects[k] for k in np.flatnonzero(v <= 10 * _MIN_SPREAD)]
        notes.append(f"subject model: {len(zero)} subject(s) with inconsistency 0 ({', '.join(zero[:3])}"
                     f"{', ...' if len(zero) > 3 else ''}): a maximum on the boundary, their spread explained by "
                     "content ambiguity alone (as sureal returns it); no standard error for it; "
                     "variance='corrected' (content-oblivious) never reaches 0")

    def full(values):  # back to every image (unrated ones NaN)
        out = np.full(ratings.n_images, np.nan)
        out[rated] = values
        return out

    return SubjectModelResult(
        quality=full(x), quality_se=full(x_se), bias=b, bias_se=b_se, inconsistency=v.copy(),
        inconsistency_se=v_se, ambiguity=None if a is None else a.copy(), ambiguity_se=a_se,
        images=list(ratings.images), subjects=list(ratings.subjects), contents=contents,
        loglikelihood=float(ll), n_iter=it, converged=converged,
        confidence_level=confidence_level, notes=tuple(notes))
