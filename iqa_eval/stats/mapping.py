"""Monotonic mappings from model predictions to the MOS scale.

``fit_mapping(pred, mos, kind=...)`` fits one of

==============  ===============================================================  ======
kind            function                                                         params
==============  ===============================================================  ======
``logistic4``   ``(β1-β2) / (1 + exp(-(x-β3)/|β4|)) + β2`` (VQEG / VIDEVAL)        4
``logistic5``   ``β1 (0.5 - 1/(1 + exp(β2 (x-β3)))) + β4 x + β5`` (Sheikh 2006)   5
                with the logistic part and the linear term rising (or falling)
                together, so the curve is monotone
``poly3``       ``a0 + a1 x + a2 x² + a3 x³``, monotone on the data (P.1401)      4
``linear``      ``a0 + a1 x``                                                     2
``none``        ``x`` (identity)                                                  0
``vmaf``        ``expit((x-a)/b) (y_high-y_low) + y_low`` (Netflix vmaf's         2
                ``sigmoid_adjust``): ``y_low/high = min/max MOS -/+ 0.1``, and
                ``a, b`` from the least-squares line ``x = a + b logit(ỹ)``,
                ``ỹ = (MOS - y_low)/(y_high - y_low)`` -- closed form, no iteration
``vqeg5``       the ``logistic5`` function fitted as the widely copied VQEG/       5
                MATLAB ``verify_performance.m`` does: unconstrained least
                squares (Levenberg-Marquardt, like ``nlinfit``) in raw units from
                ``β = (10, 0, mean(x), 0.1, 0.1)``; a note when it ends in a worse
                optimum than our ``logistic4``/``logistic5`` fits (both nested in
                its family)
==============  ===============================================================  ======

``vmaf`` and ``vqeg5`` reproduce other tools' numbers; they are not made robust (below).

How the fits are made robust (pyiqa's plain ``curve_fit`` raises on large-offset
predictions, step-like data and tiny sets):

* x and MOS are standardised internally (``u = s (x - mean) / std``), so PSNR-scale
  and 1e-3-scale predictions are the same problem; parameters are reported back in
  the original units. Predictions beyond ~1e150 (whose mean and variance overflow) are
  first divided by a power of two, exactly, with a note: the same mapping, no LinAlgError.
* the logistics are separable: amplitudes and offsets enter linearly, so only the
  location and scale are optimised (variable projection) and the linear parameters
  are solved exactly at each step. Fits whose best curve is nearly exponential
  (inflection far outside the data) are therefore reached rather than stalled.
* the two nonlinear parameters are bounded (location within 50 standard deviations
  of the data, scale in [1e-3, 1e3] standard deviations); a grid of starts over data
  quantiles and scales is scored, the 3 best are refined (Kaufman Jacobian), the
  lowest residual sum of squares wins. 4PL: Levenberg–Marquardt where each step is
  one numba pass returning the 2x2 Gauss-Newton system of (β3, β4) (bounds by
  projection; no n x p matrices, no BLAS threads). 5PL: trust-region least squares
  (:func:`scipy.optimize.least_squares`). The logistic never overflows (``expit``
  form), so there are no RuntimeWarnings. Everything is deterministic.
* above 20,000 points the starts run on a seeded random subsample of 20,000 and
  the best is then polished on all points.
* a fit never raises: when every start fails (or there are too few points for the
  parameters) it falls back to the next simpler kind — logistic5 → logistic4 →
  poly3 → linear → none — and a note says so.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import special  # scipy.optimize is imported only by the 5PL and poly3 fits

from . import _metric_kernels as K
from .._runtime.validation import check_paired
from ..options import MAPPINGS, SEED, validate_params

__all__ = ["MappingFit", "fit_mapping", "N_PARAMS"]

N_PARAMS = {"logistic5": 5, "logistic4": 4, "poly3": 4, "linear": 2, "none": 0, "vmaf": 2, "vqeg5": 5}
_FALLBACK = {"logistic5": "logistic4", "logistic4": "poly3", "poly3": "linear", "linear": "none",
             "vmaf": "linear", "vqeg5": "logistic5"}
_VQEG5_START = (10.0, 0.0, None, 0.1, 0.1)  # verify_performance.m; None = mean(x)
_VMAF_MARGIN = 0.1  # vmaf's sigmoid_adjust: MOS range widened by 0.1 (MOS units) each side
_SUBSAMPLE = 20_000


@dataclass(frozen=True, eq=False)
class MappingFit:
    """A fitted monotonic mapping.

    Attributes
    ----------
    kind : str
        The mapping actually used (may differ from ``requested`` after a fallback).
    requested : str
    params : dict of str -> float
        Parameters in the original units of the predictions and MOS
        (``beta1``..``beta5`` for logistics, ``a0``..``a3`` for polynomials).
    converged : bool
        The optimiser reported convergence (always True for closed-form fits).
    notes : tuple of str
        Fallbacks and other remarks, in plain language.
    n : int
        Points used for the fit.
    sse : float
        Residual sum of squares on those points.
    """

    kind: str
    requested: str
    params: dict
    converged: bool
    notes: tuple
    n: int
    sse: float
    _norm: tuple = field(default=(0.0, 1.0, 0.0, 1.0, 1.0), repr=False)
    _theta: np.ndarray = field(default=None, repr=False)

    @property
    def n_params(self) -> int:
        """Number of fitted parameters (``d`` in the P.1401 dof correction)."""
        return N_PARAMS[self.kind]

    def predict(self, x) -> np.ndarray:
        """Map predictions ``x`` to the MOS scale."""
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "none":
            return x.copy()
        mx, sx, my, sy, sign = self._norm
        u = sign * (x - mx) / sx
        return my + sy * _MODELS[self.kind](u, self._theta)


# ---- standardised model functions g(u; theta) -------------------------------------------
# theta holds the nonlinear parameters first, then the linear ones:
#   logistic4: (b3, b4, c0, c1) with g = c0 + c1 * expit((u - b3) / b4)
#              i.e. beta2 = c0, beta1 = c0 + c1 (standardised units)
#   logistic5: (b2, b3, b1, b4, b5) with g = b1 (expit(b2 (u - b3)) - 0.5) + b4 u + b5
def _logistic4(u, t):
    return t[2] + t[3] * special.expit((u - t[0]) / t[1])  # t = (b3, b4, c0, c1)


def _logistic5(u, t):
    return t[2] * (special.expit(t[0] * (u - t[1])) - 0.5) + t[3] * u + t[4]


def _poly(u, t):
    return np.polynomial.polynomial.polyval(u, t)


def _vmaf(x, t):  # raw units: t = (a, b, y_low, y_high)
    return special.expit((x - t[0]) / t[1]) * (t[3] - t[2]) + t[2]


def _vqeg5(x, t):  # raw units: t = (beta1..beta5); expit(z) - 0.5 == 0.5 - 1/(1 + exp(z)), overflow-free
    return t[0] * (special.expit(t[1] * (x - t[2])) - 0.5) + t[3] * x + t[4]


_MODELS = {"logistic4": _logistic4, "logistic5": _logistic5, "poly3": _poly, "linear": _poly,
           "vmaf": _vmaf, "vqeg5": _vqeg5}


def _l5_basis(u, th):
    return np.column_stack([special.expit(th[0] * (u - th[1])) - 0.5, u, np.ones_like(u)])


def _l5_dmodel(u, th, c):
    e = special.expit(th[0] * (u - th[1]))
    d = c[0] * e * (1.0 - e)
    return np.column_stack([d * (u - th[1]), -d * th[0]])


class _FitFailed(Exception):
    pass


class _Separable:
    """Variable projection (Golub & Pereyra): y ~ B(u; theta) c with c solved exactly.

    Only the 2 nonlinear parameters are optimised; the linear ones (amplitudes,
    offsets) follow in closed form, so no bound on them is needed and fits whose best
    curve is nearly exponential (inflection far outside the data, huge amplitude)
    are reached instead of stalling. ``nonneg`` lists linear coefficients held >= 0
    (the monotone 5PL); they are handled by trying each active set. Jacobian:
    Kaufman's approximation ``(I - QQ^T) d(Bc)/dtheta``.
    """

    def __init__(self, basis, dmodel, u, y, nonneg=()):
        self.basis, self.dmodel, self.u, self.y, self.nonneg = basis, dmodel, u, y, tuple(nonneg)
        self._key = None

    def _solve(self, th):
        key = tuple(th)
        if key == self._key:
            return
        B = self.basis(self.u, th)
        k = B.shape[1]
        scale = np.sqrt(np.einsum("ij,ij->j", B, B))
        best = None
        clamps = [()] + [(j,) for j in self.nonneg] + ([tuple(self.nonneg)] if len(self.nonneg) > 1 else [])
        for clamp in clamps:
            keep = [j for j in range(k) if j not in clamp and scale[j] > 0]
            while keep:
                Q, R = np.linalg.qr(B[:, keep] / scale[keep])
                diag = np.abs(np.diag(R))
                ok = diag > 1e-11 * diag.max()
                if ok.all():
                    break
                keep = [j for j, good in zip(keep, ok) if good]
            c = np.zeros(k)
            if keep:
                c[keep] = np.linalg.solve(R, Q.T @ self.y) / scale[keep]
            if any(c[j] < 0 for j in self.nonneg):
                continue
            r = B @ c - self.y
            cost = float(r @ r)
            if best is None or cost < best[0]:
                best = (cost, c, Q if keep else np.zeros((self.u.size, 0)), r)
        self._key, (self.cost, self.c, self._q, self.r) = key, best

    def fun(self, th):
        self._solve(th)
        return self.r

    def jac(self, th):
        self._solve(th)
        V = self.dmodel(self.u, th, self.c)
        return V - self._q @ (self._q.T @ V)

    def theta(self, th):
        self._solve(th)
        return np.concatenate([th, self.c])


def _lm_logistic4(u, y, th, lower, upper, max_iter=100):
    """Levenberg–Marquardt on (b3, b4) of the separable 4PL, bounds by projection.

    Each step needs one numba pass (:func:`_kernels.logistic4_normal_equations`) that
    returns the cost, the linear coefficients, and the 2x2 Gauss-Newton system.
    Returns (theta = (b3, b4, c0, c1), cost, converged).
    """
    th = np.clip(np.asarray(th, dtype=np.float64), lower, upper)
    cur = K.logistic4_normal_equations(u, y, th[0], th[1])
    lam = 1e-4
    for _ in range(max_iter):
        cost, _, _, g0, g1, h00, h01, h11 = cur
        g = np.array([g0, g1])
        H = np.array([[h00, h01], [h01, h11]])
        while True:
            A = H + lam * np.diag(np.diag(H) + 1e-300)
            try:
                step = np.linalg.solve(A, -g)
            except np.linalg.LinAlgError:
                step = np.full(2, np.nan)
            if np.all(np.isfinite(step)):
                cand = np.clip(th + step, lower, upper)
                new = K.logistic4_normal_equations(u, y, cand[0], cand[1])
                if new[0] <= cost:
                    break
            lam *= 10.0
            if lam > 1e14:  # no descent direction left: stationary point (or a bound)
                return np.array([th[0], th[1], cur[1], cur[2]]), cost, True
        gain = cost - new[0]
        moved = np.abs(cand - th)
        th, cur = cand, new
        lam = max(lam / 10.0, 1e-12)
        # relative cost change 1e-11: the fitted values are then settled far below
        # any digit we report (PLCC, RMSE to 1e-9)
        if gain <= 1e-11 * max(cost, 1e-300) or np.all(moved <= 1e-12 * (np.abs(th) + 1e-12)):
            return np.array([th[0], th[1], cur[1], cur[2]]), cur[0], True
    return np.array([th[0], th[1], cur[1], cur[2]]), cur[0], False


def _refine(problem, starts, lower, upper, max_nfev):
    """Best bounded least-squares refinement over ``starts`` -> (theta_nonlinear, converged)."""
    from scipy import optimize

    best, reasons = None, []
    for x0 in starts:
        x0 = np.clip(np.asarray(x0, dtype=np.float64), lower, upper)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = optimize.least_squares(problem.fun, x0, jac=problem.jac, bounds=(lower, upper),
                                             method="trf", x_scale="jac", ftol=1e-12, xtol=1e-12,
                                             gtol=1e-12, max_nfev=max_nfev)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
            reasons.append(f"{type(exc).__name__}: {exc}")
            continue
        if res.status < 0 or not np.isfinite(res.cost):
            reasons.append(res.message)
            continue
        if best is None or res.cost < best.cost:
            best = res
    if best is None:
        raise _FitFailed(f"no start succeeded ({reasons[0] if reasons else 'unknown reason'})")
    return best.x, best.status > 0


def _subsample(u, y, seed):
    if u.size <= _SUBSAMPLE:
        return u, y
    idx = np.sort(np.random.default_rng(seed).choice(u.size, _SUBSAMPLE, replace=False))
    return u[idx], y[idx]


def _fit_separable(make_problem, grid, lower, upper, u, y, seed):
    """Grid of starts (scored on <= 4,000 points) -> refine the 3 best (<= 20,000
    points) -> on bigger sets refine on all points (trust-region least squares)."""
    us, ys = _subsample(u, y, seed)
    step = max(1, us.size // 4000)
    coarse = make_problem(us[::step], ys[::step])
    scored = []
    for th in grid:
        th = np.clip(np.asarray(th, dtype=np.float64), lower, upper)
        r = coarse.fun(th)
        scored.append((float(r @ r), tuple(th)))
    scored.sort()
    starts = [np.array(t) for _, t in scored[:3]]
    small = make_problem(us, ys)
    th, converged = _refine(small, starts, lower, upper, max_nfev=200)
    if us.size == u.size:
        return small.theta(th), converged
    full = make_problem(u, y)
    try:
        th, converged = _refine(full, [th], lower, upper, max_nfev=50)
    except _FitFailed:
        converged = False
    return full.theta(th), converged


def _location_grid(u, lo, hi):
    """Starting locations: deciles of (a subsample of) the data and points beyond its range."""
    return list(np.quantile(u, np.linspace(0.05, 0.95, 9))) + [lo - 2.0, hi + 2.0, lo - 6.0, hi + 6.0]


def _fit_logistic4(u, y, r, seed):
    """Grid of (b3, b4) starts scored on <= 4,000 points -> LM from the 3 best on
    <= 20,000 points -> on bigger sets LM polish on all points."""
    us, ys = _subsample(u, y, seed)
    scales = np.geomspace(0.03, 10.0, 7)
    grid = [(b3, b4) for b3 in _location_grid(us, u.min(), u.max()) for b4 in scales]
    lower = np.array([u.min() - 50.0, 1e-3])
    upper = np.array([u.max() + 50.0, 1e3])
    step = max(1, us.size // 4000)
    uc, yc = np.ascontiguousarray(us[::step]), np.ascontiguousarray(ys[::step])
    scored = sorted((K.logistic4_normal_equations(uc, yc, b3, b4)[0], (b3, b4)) for b3, b4 in grid)
    best = None
    for _, start in scored[:3]:
        theta, cost, converged = _lm_logistic4(us, ys, start, lower, upper)
        if np.isfinite(cost) and (best is None or cost < best[1]):
            best = (theta, cost, converged)
    if best is None:
        raise _FitFailed("no start gave a finite fit")
    theta, _, converged = best
    if us.size < u.size:
        theta, cost, converged = _lm_logistic4(u, y, theta[:2], lower, upper)
        if not np.isfinite(cost):
            raise _FitFailed("the fit on all points is not finite")
    return theta, converged


def _fit_logistic5(u, y, r, seed):
    rates = np.geomspace(0.1, 30.0, 7)
    grid = [(b2, b3) for b3 in _location_grid(u, u.min(), u.max()) for b2 in rates]
    lower = np.array([1e-3, u.min() - 50.0])
    upper = np.array([1e3, u.max() + 50.0])
    return _fit_separable(lambda uu, yy: _Separable(_l5_basis, _l5_dmodel, uu, yy, (0, 1)),
                          grid, lower, upper, u, y, seed)


def _fit_linear(u, y, r, seed):
    coef, *_ = np.linalg.lstsq(np.column_stack([np.ones_like(u), u]), y, rcond=None)
    return coef, True


def _min_derivative(c, lo, hi):
    """Smallest value of d/du (c0 + c1 u + c2 u² + c3 u³) on [lo, hi] and where."""
    pts = [lo, hi]
    if c[3] != 0:
        v = -c[2] / (3.0 * c[3])
        if lo < v < hi:
            pts.append(v)
    d = [c[1] + 2 * c[2] * p + 3 * c[3] * p * p for p in pts]
    k = int(np.argmin(d))
    return d[k], pts[k]


def _fit_poly3(u, y, r, seed):
    """Least-squares cubic constrained to be non-decreasing on [min u, max u] (u is oriented).

    The constraint set is convex and the derivative is a quadratic, so the optimum is
    either the free cubic, or a cubic whose derivative touches zero at one end, at both
    ends, or at one interior point (a double root: ``a + b (u - t)^3``, b >= 0), or a
    non-decreasing line. Every case is a small equality-constrained least-squares
    problem on the 4x4 normal equations (O(1) whatever n is); the best feasible one wins.
    """
    V = np.column_stack([np.ones_like(u), u, u * u, u * u * u])
    G, b, yy = V.T @ V, V.T @ y, float(y @ y)
    lo, hi = float(u.min()), float(u.max())

    def sse(c):
        return yy - 2.0 * b @ c + c @ G @ c

    def feasible(c):
        return _min_derivative(c, lo, hi)[0] >= -1e-10 * (abs(c[1]) + abs(c[2]) + abs(c[3]) + 1e-300)

    def constrained(E):  # min ||Vc - y|| subject to E c = 0, via E's null space
        _, sv, vt = np.linalg.svd(np.atleast_2d(E))
        N = vt[int(np.sum(sv > 1e-12 * sv.max())):].T
        z = np.linalg.lstsq(N.T @ G @ N, N.T @ b, rcond=None)[0]
        return N @ z

    def dq(t):
        return np.array([0.0, 1.0, 2.0 * t, 3.0 * t * t])

    free = np.linalg.lstsq(G, b, rcond=None)[0]
    if feasible(free):
        return free, True
    candidates = [constrained(E) for E in (dq(lo), dq(hi), np.vstack([dq(lo), dq(hi)]))]
    line = constrained(np.array([[0, 0, 1.0, 0], [0, 0, 0, 1.0]]))
    candidates.append(line if line[1] >= 0 else constrained(np.eye(4)[1:]))

    def interior(t):  # a + beta (u - t)^3 with beta >= 0
        m = np.array([-t ** 3, 3 * t * t, -3 * t, 1.0])
        Gm = G @ m
        A = np.array([[G[0, 0], Gm[0]], [Gm[0], m @ Gm]])
        try:
            a, beta = np.linalg.solve(A, [b[0], b @ m])
        except np.linalg.LinAlgError:
            a, beta = b[0] / G[0, 0], 0.0
        if beta < 0:
            a, beta = b[0] / G[0, 0], 0.0
        return a * np.eye(4)[0] + beta * m

    from scipy import optimize

    grid = np.linspace(lo, hi, 201)
    k = int(np.argmin([sse(interior(t)) for t in grid]))
    res = optimize.minimize_scalar(lambda t: sse(interior(t)), method="bounded",
                                   bounds=(grid[max(k - 1, 0)], grid[min(k + 1, 200)]),
                                   options={"xatol": 1e-10 * (hi - lo)})
    candidates.append(interior(float(res.x)))
    ok = [c for c in candidates if feasible(c)]
    if not ok:
        raise _FitFailed("could not make the cubic monotone on the data range")
    coef = np.array(min(ok, key=sse), dtype=np.float64)
    # a derivative within rounding of zero: lift the linear term by that amount so the
    # curve is non-decreasing exactly, and re-centre the offset
    dmin, _ = _min_derivative(coef, lo, hi)
    if dmin < 0:
        coef[1] -= dmin
        coef[0] += float(np.mean(y - V @ coef))
    return coef, True


_FITTERS = {"logistic4": _fit_logistic4, "logistic5": _fit_logistic5, "poly3": _fit_poly3,
            "linear": _fit_linear}


# ---- parameters in original units ------------------------------------------------------------
def _raw_params(kind, theta, norm):
    return {k: float(v) for k, v in _raw_param_values(kind, theta, norm).items()}


def _raw_param_values(kind, theta, norm):
    mx, sx, my, sy, s = norm
    t = theta
    if kind == "logistic4":  # (b3, b4, c0, c1), s = +1
        return {"beta1": my + sy * (t[2] + t[3]), "beta2": my + sy * t[2], "beta3": mx + sx * t[0],
                "beta4": sx * t[1]}
    if kind == "logistic5":  # (b2, b3, b1, b4, b5)
        b4 = sy * t[3] * s / sx
        return {"beta1": sy * t[2], "beta2": s * t[0] / sx, "beta3": mx + s * t[1] * sx, "beta4": b4,
                "beta5": my + sy * t[4] - b4 * mx}
    if kind in ("poly3", "linear"):
        P = np.polynomial.Polynomial
        p = P(np.asarray(t) * sy)(P([-s * mx / sx, s / sx])) + my
        coef = np.zeros(len(t))
        coef[:len(p.coef)] = p.coef
        return {f"a{k}": float(c) for k, c in enumerate(coef)}
    return {}


def _fit_raw(kind, x, y, notes, seed):
    """The ``vmaf`` and ``vqeg5`` mappings, fitted in raw units exactly as their tools do."""
    if kind == "vmaf":
        lo, hi = float(y.min()) - _VMAF_MARGIN, float(y.max()) + _VMAF_MARGIN
        z = special.logit((y - lo) / (hi - lo))
        (a, b), *_ = np.linalg.lstsq(np.column_stack([np.ones_like(z), z]), x, rcond=-1)
        if not (np.isfinite(a) and np.isfinite(b)) or b == 0:
            raise _FitFailed("the line of predictions on logit(MOS) is flat")
        theta, params, converged = np.array([a, b, lo, hi]), {"a": a, "b": b, "y_low": lo, "y_high": hi}, True
    else:
        from scipy import optimize

        start = np.array([v if v is not None else float(np.mean(x)) for v in _VQEG5_START])
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                # MINPACK Levenberg-Marquardt with nlinfit's tolerances (TolX = TolFun = 1e-8) and
                # its 100 iterations (x 6 evaluations for the finite-difference Jacobian)
                t, _, _, _, ier = optimize.leastsq(lambda t: _vqeg5(x, t) - y, start, xtol=1e-8, ftol=1e-8,
                                                   maxfev=600, full_output=True)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
            raise _FitFailed(f"{type(exc).__name__}: {exc}") from None
        if not np.all(np.isfinite(t)) or not np.all(np.isfinite(_vqeg5(x, t))):
            raise _FitFailed("the least-squares fit is not finite")
        theta, converged = t, ier in (1, 2, 3, 4)
        params = {f"beta{k + 1}": v for k, v in enumerate(theta)}
        if not converged:
            notes.append("vqeg5 fit stopped at its evaluation limit before converging; "
                         "using the parameters reached")
    resid = y - _MODELS[kind](x, theta)
    sse = float(resid @ resid)
    if kind == "vqeg5":
        # logistic4 (beta4 = 0) and the monotone logistic5 are both inside this family, so a larger
        # SSE than either proves the MATLAB start led to a worse local optimum
        best = min((fit_mapping(x, y, kind=k, seed=seed) for k in ("logistic4", "logistic5")),
                   key=lambda f: f.sse)
        if best.kind in ("logistic4", "logistic5") and sse > best.sse * (1 + 1e-6) + 1e-300:
            notes.append(f"vqeg5 (MATLAB start) ended in a worse local optimum: SSE {sse:.6g} vs "
                         f"{best.sse:.6g} for our {best.kind} fit, a special case of the same function")
    return MappingFit(kind, kind, {k: float(v) for k, v in params.items()}, converged, tuple(notes), x.size,
                      sse, (0.0, 1.0, 0.0, 1.0, 1.0), np.asarray(theta, dtype=np.float64))


@validate_params({"kind": MAPPINGS, "seed": SEED})
def fit_mapping(pred, mos, *, kind: str = "logistic4", seed: int = 0) -> MappingFit:
    """Fit a monotonic mapping from predictions to MOS; never fails on legal input.

    Parameters
    ----------
    pred, mos : array-like of shape (n,)
        Pairs with NaN/inf are left out (the count is in ``notes``).
    kind : {'logistic4', 'logistic5', 'poly3', 'linear', 'none', 'vmaf', 'vqeg5'}
    seed : int
        Seed of the subsample used for the starts when n > 20,000.

    Returns
    -------
    MappingFit
        ``kind`` is the mapping actually used; ``notes`` explain any fallback.

    Raises
    ------
    InputError
        Unknown ``kind`` or invalid data (non-numeric, mismatched lengths, < 3 pairs).

    Examples
    --------
    >>> x = np.linspace(0, 10, 50)
    >>> y = 20 + 60 / (1 + np.exp(-(x - 5) / 1.5))
    >>> fit = fit_mapping(x, y)
    >>> fit.kind, {k: round(v, 3) for k, v in fit.params.items()}
    ('logistic4', {'beta1': 80.0, 'beta2': 20.0, 'beta3': 5.0, 'beta4': 1.5})
    """
    x, y, dropped = check_paired(pred, mos, nan_policy="omit")
    notes = [f"mapping fit left out {dropped} pair(s) with NaN/inf"] if dropped else []
    n = x.size
    if kind in ("vmaf", "vqeg5") and np.ptp(x) > 0 and np.ptp(y) > 0:
        try:
            if n <= N_PARAMS[kind]:
                raise _FitFailed(f"needs more than {N_PARAMS[kind]} points, got {n}")
            return _fit_raw(kind, x, y, notes, seed)
        except _FitFailed as exc:
            notes.append(f"{kind} mapping failed ({exc}); fell back to {_FALLBACK[kind]}")
            fit = fit_mapping(x, y, kind=_FALLBACK[kind], seed=seed)
            return MappingFit(fit.kind, kind, fit.params, fit.converged, tuple(notes) + fit.notes, n, fit.sse,
                              fit._norm, fit._theta)
    # predictions beyond ~1e150 overflow the mean and the variance: fitted on x / 2**k, exact
    # (a power of two), which gives the same mapping; ordinary scales are untouched (p = 1)
    big = float(np.max(np.abs(x))) if n else 0.0
    p = 2.0 ** (int(np.floor(np.log2(big))) - 1) if big > 2.0 ** 500 else 1.0
    if p != 1.0:
        notes.append(f"predictions reach {big:.3g}: the mapping was fitted on them divided by "
                     f"2**{int(np.log2(p))} (exact; the same mapping)")
    xp = x / p
    mx, sx = float(np.mean(xp)) * p, float(np.std(xp)) * p
    my, sy = float(np.mean(y)), float(np.std(y))
    if not (sx > 0) or not (sy > 0):
        what = "predictions" if not (sx > 0) else "MOS values"
        notes.append(f"{what} are constant: no {kind} mapping can be fitted; using none")
        return MappingFit("none", kind, {}, False, tuple(notes), n, float(np.sum((y - x) ** 2)))
    ys = (y - my) / sy
    r = float(np.mean((x - mx) / sx * ys))  # Pearson correlation
    current = kind
    while current != "none":
        s = 1.0 if (current == "logistic4" or r >= 0) else -1.0
        norm = (mx, sx, my, sy, s)
        u = s * (xp - mx / p) / (sx / p)
        try:
            if n <= N_PARAMS[current]:
                raise _FitFailed(f"needs more than {N_PARAMS[current]} points, got {n}")
            theta, converged = _FITTERS[current](u, ys, r, seed)
        except _FitFailed as exc:
            nxt = _FALLBACK[current]
            notes.append(f"{current} mapping failed ({exc}); fell back to {nxt}")
            current = nxt
            continue
        if not converged:
            notes.append(f"{current} fit stopped at its evaluation limit before converging; "
                         f"using the best parameters found")
        theta = np.asarray(theta, dtype=np.float64)
        resid = ys - _MODELS[current](u, theta)
        sse = float(np.dot(resid, resid) * sy * sy)
        return MappingFit(current, kind, _raw_params(current, theta, norm), converged, tuple(notes), n,
                          sse, norm, theta)
    return MappingFit("none", kind, {}, True, tuple(notes), n, float(np.sum((y - x) ** 2)))
