"""Nelder–Mead as ``scipy.optimize.fmin`` runs it, without importing scipy.optimize.

The kernel surface picks its bandwidths with ``fmin`` from the normal-reference start, as
statsmodels' KernelReg does. Importing ``scipy.optimize`` (and with it ``scipy.linalg``) costs
about half a second, more than the whole bandwidth search of a LIVEC-size ``iqa-eval surface``,
for one pure-Python routine. This is that routine, step for step: SciPy's
``_minimize_neldermead`` (scipy 1.10–1.17, BSD-3-Clause, Copyright (c) 2001-2002 Enthought,
Inc. and 2003-2024 SciPy Developers) for the settings ``fmin`` uses (no bounds, no adaptive
parameters, the default initial simplex), with the same floating-point operations in the same
order, so it visits the same points and returns the same minimiser. ``tests/test_gmc_kernel_regression.py``
compares it with ``scipy.optimize.fmin`` itself.
"""
from __future__ import annotations

import numpy as np

__all__ = ["fmin"]


class _TooManyCalls(Exception):
    pass


def fmin(func, x0, *, xtol=1e-4, ftol=1e-4, maxiter=None, maxfun=None):
    """Minimise ``func`` from ``x0``; returns the best vertex (``scipy.optimize.fmin(...)``'s ``xopt``).

    Parameters
    ----------
    func : callable
        ``func(x) -> float`` for a 1-D array ``x`` (it receives a copy).
    x0 : array-like
        Start.
    xtol, ftol : float, default 1e-4
        Stop when every vertex is within ``xtol`` of the best and every value within ``ftol``.
    maxiter, maxfun : int, optional
        Iteration and evaluation limits (default ``200 * len(x0)`` each).

    Returns
    -------
    ndarray
        The minimiser.

    Examples
    --------
    >>> x = fmin(lambda v: float((v[0] - 1.0) ** 2 + (v[1] + 2.0) ** 2), [0.0, 0.0])
    >>> np.round(x, 3).tolist()
    [1.0, -2.0]
    """
    x0 = np.atleast_1d(x0).flatten()
    dtype = x0.dtype if np.issubdtype(x0.dtype, np.inexact) else np.float64
    x0 = np.asarray(x0, dtype=dtype)
    rho, chi, psi, sigma = 1, 2, 0.5, 0.5
    nonzdelt, zdelt = 0.05, 0.00025

    N = len(x0)
    sim = np.empty((N + 1, N), dtype=x0.dtype)
    sim[0] = x0
    for k in range(N):
        y = np.array(x0, copy=True)
        if y[k] != 0:
            y[k] = (1 + nonzdelt) * y[k]
        else:
            y[k] = zdelt
        sim[k + 1] = y

    if maxiter is None and maxfun is None:
        maxiter = maxfun = N * 200
    elif maxiter is None:
        maxiter = N * 200 if maxfun == np.inf else np.inf
    elif maxfun is None:
        maxfun = N * 200 if maxiter == np.inf else np.inf

    one2np1 = list(range(1, N + 1))
    fsim = np.full((N + 1,), np.inf, dtype=float)
    ncalls = [0]

    def f(x):
        if ncalls[0] >= maxfun:
            raise _TooManyCalls
        ncalls[0] += 1
        fx = func(np.copy(x))
        if not np.isscalar(fx):
            fx = np.asarray(fx).item()
        return fx

    try:
        for k in range(N + 1):
            fsim[k] = f(sim[k])
    except _TooManyCalls:
        pass
    finally:
        ind = np.argsort(fsim)
        sim = np.take(sim, ind, 0)
        fsim = np.take(fsim, ind, 0)

    ind = np.argsort(fsim)
    fsim = np.take(fsim, ind, 0)
    sim = np.take(sim, ind, 0)

    iterations = 1
    while ncalls[0] < maxfun and iterations < maxiter:
        try:
            if (np.max(np.ravel(np.abs(sim[1:] - sim[0]))) <= xtol
                    and np.max(np.abs(fsim[0] - fsim[1:])) <= ftol):
                break
            xbar = np.add.reduce(sim[:-1], 0) / N
            xr = (1 + rho) * xbar - rho * sim[-1]
            fxr = f(xr)
            doshrink = 0
            if fxr < fsim[0]:
                xe = (1 + rho * chi) * xbar - rho * chi * sim[-1]
                fxe = f(xe)
                if fxe < fxr:
                    sim[-1] = xe
                    fsim[-1] = fxe
                else:
                    sim[-1] = xr
                    fsim[-1] = fxr
            else:
                if fxr < fsim[-2]:
                    sim[-1] = xr
                    fsim[-1] = fxr
                else:
                    if fxr < fsim[-1]:
                        xc = (1 + psi * rho) * xbar - psi * rho * sim[-1]
                        fxc = f(xc)
                        if fxc <= fxr:
                            sim[-1] = xc
                            fsim[-1] = fxc
                        else:
                            doshrink = 1
                    else:
                        xcc = (1 - psi) * xbar + psi * sim[-1]
                        fxcc = f(xcc)
                        if fxcc < fsim[-1]:
                            sim[-1] = xcc
                            fsim[-1] = fxcc
                        else:
                            doshrink = 1
                    if doshrink:
                        for j in one2np1:
                            sim[j] = sim[0] + sigma * (sim[j] - sim[0])
                            fsim[j] = f(sim[j])
            iterations += 1
        except _TooManyCalls:
            pass
        ind = np.argsort(fsim)
        sim = np.take(sim, ind, 0)
        fsim = np.take(fsim, ind, 0)
    return sim[0]
