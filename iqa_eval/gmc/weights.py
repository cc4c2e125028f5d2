"""Per-image inputs of the GMC granularity modulator: MOS standard deviations and
distribution-regulator weights.

The definitions follow ``../shared/docs/gmc-reference.md``; where the reference
implementation has a quirk (the float32 cast of ``1 / density``), the quirk is kept
because published GMC values depend on it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .._runtime.validation import as_float_vector, finite_vector
from ..errors import InputError, warn
from ..options import REGULATORS, check_param, validate_params
from .options import GMCOptions

__all__ = [
    "beta_std",
    "read_std_file",
    "distribution_weights",
    "read_weights_file",
]

# Added to the scaled std in the Gaussian density, as the reference does, so that an
# image with std 0 does not divide by zero (it then only counts in its own bin).
_DENSITY_EPS = 1e-8


def check_mos(mos) -> np.ndarray:
    """MOS as float64: finite, at least two values, not constant."""
    l = as_float_vector(mos, name="mos")
    if l.size < 2:
        raise InputError(f"mos needs at least 2 values, got {l.size}")
    if not np.all(np.isfinite(l)):
        first = int(np.flatnonzero(~np.isfinite(l))[0])
        raise InputError(f"mos has a non-finite value at index {first}")
    if l.max() == l.min():
        raise InputError("mos is constant: GMC needs a range of MOS values")
    return l


def check_per_image(values, n: int, *, name: str = "std") -> np.ndarray:
    """Per-image values (std or regulator weights): n finite numbers >= 0."""
    return finite_vector(values, name=name, n=n, nonnegative=True)


@validate_params({"phi": GMCOptions.rules()["std_phi"]})
def beta_std(mos, *, phi: float = 8.0) -> np.ndarray:
    """Per-image MOS standard deviation under a Beta model of the ratings.

    With ``m = (l - min l) / (max l - min l)`` the ratings of an image are modelled as
    Beta with mean ``m`` and precision ``phi``, whose std is ``sqrt(m (1 - m) / (phi + 1))``,
    rescaled back to MOS units.

    Parameters
    ----------
    mos : array-like of shape (n,)
    phi : float, default 8.0
        Beta precision. The reference tool's default is 8; the published PIPAL and
        SPAQ std files used 3.

    Returns
    -------
    ndarray of shape (n,)
        Zero at the lowest and the highest MOS.

    Examples
    --------
    >>> beta_std([0.0, 50.0, 100.0], phi=8.0)
    array([ 0.        , 16.66666667,  0.        ])
    """
    l = check_mos(mos)
    lo, hi = l.min(), l.max()
    m = (l - lo) / (hi - lo)
    return np.sqrt(m * (1.0 - m) / (phi + 1.0)) * (hi - lo)


def _read_one_per_line(path, what: str) -> np.ndarray:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read {what} file ({exc.strerror or exc})", file=path) from None
    values = []
    for row, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            values.append(float(text))
        except ValueError:
            raise InputError(f"{what} must be one number per line, got {text!r}",
                             file=path, row=row) from None
        if not np.isfinite(values[-1]):
            raise InputError(f"{what} must be finite, got {text!r}", file=path, row=row)
    if not values:
        raise InputError(f"no {what} values found", file=path)
    return np.asarray(values, dtype=np.float64)


def read_std_file(path) -> np.ndarray:
    r"""Read per-image MOS standard deviations, one value per line (blank lines skipped).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    ndarray of shape (N,)

    Raises
    ------
    InputError
        Naming the file and line of a value that is not a finite number >= 0.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "std.txt"
    >>> _ = path.write_text("0.5\n\n0.7\n")
    >>> read_std_file(path).tolist()
    [0.5, 0.7]
    """
    s = _read_one_per_line(path, "std")
    neg = np.flatnonzero(s < 0)
    if neg.size:
        raise InputError(f"std must be >= 0, got {s[neg[0]]!r}", file=path, row=int(neg[0]) + 1)
    return s


def read_weights_file(path) -> np.ndarray:
    r"""Read per-image distribution-regulator weights ``c``, one value per line.

    Parameters
    ----------
    path : str or Path
        Weights must be finite and >= 0 (an image with weight 0 is left out of every sum).

    Returns
    -------
    ndarray of shape (N,)

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "weights.txt"
    >>> _ = path.write_text("1\n0.25\n")
    >>> read_weights_file(path).tolist()
    [1.0, 0.25]
    """
    c = _read_one_per_line(path, "weight")
    neg = np.flatnonzero(c < 0)
    if neg.size:
        raise InputError(f"weights must be >= 0, got {c[neg[0]]!r}", file=path, row=int(neg[0]) + 1)
    return c


def _scaled_mos(l: np.ndarray):
    """MOS mapped to [0, 100], its integer bins and the number of bins."""
    lo, hi = l.min(), l.max()
    # Same expression order as the reference: (100 * (l - lo)) / (hi - lo).
    L = 100 * (l - lo) / (hi - lo)
    bins = np.floor(L).astype(np.intp)
    return L, bins, int(np.floor(L.max())) + 1


def gaussian_density(mos, std) -> np.ndarray:
    """Gaussian-smoothed MOS density at the bin centres 0, 1, ..., floor(max L).

    Every image spreads a unit Gaussian of its own (rescaled) std over the bins;
    memory is O(n_bins * n) with n_bins = 101.
    """
    l = check_mos(mos)
    s = check_per_image(std, l.size, name="std")
    L, _, n_bins = _scaled_mos(l)
    S = s * 100 / (l.max() - l.min())
    x = np.arange(n_bins, dtype=np.float64)
    density = np.zeros(n_bins)
    # Chunked over images to keep the temporary at (n_bins, chunk).
    for start in range(0, l.size, 4096):
        Lc, Sc = L[start:start + 4096], S[start:start + 4096]
        density += np.exp(-(x[:, None] - Lc) ** 2 / (2 * (Sc + _DENSITY_EPS) ** 2)).sum(axis=1)
    return density


def lds_kernel_window(ks: int = 5, sigma: float = 2.0) -> np.ndarray:
    """Label-distribution-smoothing window: a Gaussian-filtered unit impulse of size
    ``ks`` divided by its maximum."""
    check_param("ks", ks, GMCOptions.rules()["ks"])
    check_param("sigma", sigma, GMCOptions.rules()["sigma"])
    if ks % 2 == 0:    # the LDS window is centred on the bin
        raise InputError(f"ks must be an odd integer >= 1; got {ks!r}")
    if sigma * sigma < np.finfo(float).tiny:   # the Gaussian divides by sigma**2
        raise InputError(f"sigma (LDS kernel width) is too small: its square underflows (at least "
                         f"{np.sqrt(np.finfo(float).tiny):.1e}; any sigma below 0.1 already gives "
                         f"the one-bin window); got {sigma!r}")
    half = (int(ks) - 1) // 2
    impulse = np.zeros(int(ks))
    impulse[half] = 1.0
    from scipy import ndimage  # only the LDS regulator needs it (a tenth of a second to import)

    window = ndimage.gaussian_filter1d(impulse, sigma=sigma)
    return window / window.max()


def lds_density(mos, *, ks: int = 5, sigma: float = 2.0, exact_counts: bool = False) -> np.ndarray:
    """Smoothed histogram of the integer MOS bins (LDS), rescaled to the same total count.

    By default every smoothed bin is truncated toward zero to an integer before the
    rescaling, as the reference does (it convolves an integer histogram, and
    ``convolve1d`` returns its input's dtype); published PIPAL/SPAQ weights depend on it
    (up to 31% otherwise). ``exact_counts=True`` keeps the smoothed values as floats.
    """
    l = check_mos(mos)
    _, bins, n_bins = _scaled_mos(l)
    counts = np.bincount(bins, minlength=n_bins).astype(np.int64)
    window = lds_kernel_window(ks, sigma)
    from scipy import ndimage

    if exact_counts:
        smoothed = ndimage.convolve1d(counts.astype(np.float64), weights=window, mode="constant")
    else:
        smoothed = ndimage.convolve1d(counts, weights=window, mode="constant").astype(np.float64)
    if smoothed.sum() <= 0:
        raise InputError("every smoothed MOS bin truncates to 0 (too few images per bin for LDS); "
                         "use the exact counts (lds_exact_counts=True) or another regulator")
    return smoothed * (counts.sum() / smoothed.sum())


@validate_params({k: GMCOptions.rules()[k] for k in ("regulator", "ks", "sigma", "plus")})
def distribution_weights(mos, *, std=None, regulator: str = "auto", ks: int = 5,
                         sigma: float = 2.0, plus: float = 10.0,
                         lds_exact_counts: bool = False) -> np.ndarray:
    """Per-image distribution-regulator weights ``c_i = plus / density(bin of image i)``.

    Images in crowded parts of the MOS scale get small weights, rare ones large
    weights, so that the GMC surface is not dominated by where most images lie.

    Parameters
    ----------
    mos : array-like of shape (n,)
    std : array-like of shape (n,), optional
        Per-image MOS standard deviations (unscaled). Needed by the Gaussian regulator.
    regulator : {'auto', 'gaussian', 'lds', 'none'}, default 'auto'
        ``'gaussian'``: density from every image's Gaussian of its own std.
        ``'lds'``: label distribution smoothing of the bin histogram (``ks``, ``sigma``).
        ``'none'``: all weights equal to 1. ``'auto'``: Gaussian when ``std`` is given,
        LDS otherwise.
    ks, sigma : LDS kernel size (odd) and width.
    plus : float, default 10.0
        Multiplier. It cancels out of every GMC form; the published runs used 100.
    lds_exact_counts : bool, default False
        LDS only: keep the smoothed histogram as floats instead of truncating every bin
        to an integer as the reference does (see :func:`lds_density`).

    Returns
    -------
    ndarray of shape (n,)
        As in the reference, ``1 / density`` is rounded to float32 before being
        multiplied by ``plus`` (a relative effect of about 1e-7 that published values
        carry). Bins with zero density (possible only for std-0 images far from any
        other image) get weight 0, with a warning.

    Examples
    --------
    >>> c = distribution_weights([10.0, 20.0, 20.5, 90.0], std=[5.0, 5.0, 5.0, 5.0])
    >>> bool(c[3] > c[1])
    True
    """
    l = check_mos(mos)
    if regulator == "auto":
        regulator = "gaussian" if std is not None else "lds"
    if regulator == "none":
        return np.ones(l.size)
    if regulator == "gaussian":
        if std is None:
            raise InputError("the Gaussian regulator needs per-image std values")
        density = gaussian_density(l, std)
    else:
        density = lds_density(l, ks=ks, sigma=sigma, exact_counts=lds_exact_counts)
    _, bins, _ = _scaled_mos(l)
    d = density[bins]
    empty = d <= 0
    with np.errstate(divide="ignore", over="ignore"):
        exact = 1.0 / d
        inverse = exact.astype(np.float32).astype(np.float64)
    overflow = ~empty & np.isinf(inverse)
    if overflow.any():   # the reference's float32 cast gives inf (every GMC sum NaN): keep float64 there
        inverse[overflow] = exact[overflow]
        warn(f"{int(overflow.sum())} images lie in MOS bins of density below float32's range (std tiny "
             "against the MOS range): their regulator weight 1/density is kept in float64, where the "
             "reference implementation's float32 cast overflows")
    if empty.any():
        inverse[empty] = 0.0
        warn(f"{int(empty.sum())} images lie in MOS bins of zero density and were given weight 0")
    return plus * inverse
