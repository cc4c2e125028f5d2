"""Observer screening: ITU-R BT.500-14 Annex 2 §2.3.1 (beta2 test) and the ITU-T P.913 correlation rule.

Each screen returns a :class:`Screening`: the table of every subject's statistics, the
rejected subjects with the reason, and notes; nothing is removed silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from ..options import SCREEN_METHODS, Interval, validate_params
from ._tables import as_ratings

__all__ = ["Screening", "screen_subjects", "bt500_screen", "p913_screen"]


@dataclass(frozen=True)
class Screening:
    """Result of a screen: ``table`` (a row per subject, ``rejected`` and ``reason`` columns)."""

    method: str
    table: pd.DataFrame
    notes: tuple = field(default=())

    @property
    def rejected(self) -> list:
        return self.table.loc[self.table["rejected"], "subject"].tolist()

    @property
    def kept_indices(self) -> np.ndarray:
        return np.flatnonzero(~self.table["rejected"].to_numpy(bool))


def bt500_screen(ratings) -> Screening:
    """The beta2 screening of ITU-R BT.500-14, Annex 2, §2.3.1.

    For each image (presentation) with mean ``u``, standard deviation ``S`` (N - 1 in the
    denominator, as §2.2.1 defines it) and kurtosis ``beta2 = m4 / m2**2`` (moments about the
    mean, N in the denominator): if ``2 <= beta2 <= 4`` the ratings are taken as normal and
    a rating ``>= u + 2 S`` adds one to its subject's P, ``<= u - 2 S`` one to Q; otherwise the
    bounds are ``u +- sqrt(20) S``. A subject is rejected when ``(P + Q) / n > 0.05`` and
    ``|P - Q| / (P + Q) < 0.3``, with ``n`` the number of ratings the subject gave (J·K·R in a
    complete design). Repetitions count as separate ratings of the presentation.
    Images with fewer than 2 ratings, or all ratings equal, count nothing.
    """
    ratings = as_ratings(ratings)
    e, s, y = ratings.image, ratings.subject, ratings.rating
    E, S = ratings.n_images, ratings.n_subjects
    n_e = np.bincount(e, minlength=E).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(e, y, E) / n_e
        d = y - mean[e]
        m2 = np.bincount(e, d ** 2, E) / n_e
        m4 = np.bincount(e, d ** 4, E) / n_e
        beta2 = m4 / m2 ** 2
        sd = np.sqrt(np.bincount(e, d ** 2, E) / (n_e - 1))
    usable = (n_e >= 2) & (m2 > 0)
    k = np.where((beta2 >= 2) & (beta2 <= 4), 2.0, np.sqrt(20.0))
    ok = usable[e]
    above = ok & (y >= mean[e] + k[e] * sd[e])
    below = ok & (y <= mean[e] - k[e] * sd[e])
    P = np.bincount(s, above, S).astype(int)
    Q = np.bincount(s, below, S).astype(int)
    n = np.bincount(s, minlength=S)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio1 = (P + Q) / n
        ratio2 = np.where(P + Q > 0, np.abs(P - Q) / (P + Q), np.nan)
    reject = (ratio1 > 0.05) & (P + Q > 0) & (ratio2 < 0.3)
    reasons = [f"(P+Q)/n = {r1:.3f} > 0.05 and |P-Q|/(P+Q) = {r2:.3f} < 0.3" if rj else ""
               for r1, r2, rj in zip(ratio1, ratio2, reject)]
    table = pd.DataFrame({"subject": ratings.subjects, "n_ratings": n, "P": P, "Q": Q,
                          "ratio_pq": ratio1, "asymmetry": ratio2, "rejected": reject, "reason": reasons})
    notes = [f"bt500 screening: {int(usable.sum())} of {E} images usable (>= 2 ratings, not all equal); "
             f"{int((usable & (k == 2.0)).sum())} normal by beta2 (bounds 2 S), the others sqrt(20) S"]
    return Screening("bt500", table, tuple(notes))


def _pearson_rows(mat, ref):
    """Pearson r of each column of ``mat`` (NaN = missing) with ``ref`` over its rated rows."""
    out = np.full(mat.shape[1], np.nan)
    for j in range(mat.shape[1]):
        m = np.isfinite(mat[:, j]) & np.isfinite(ref)
        if m.sum() >= 3 and np.std(mat[m, j]) > 0 and np.std(ref[m]) > 0:
            out[j] = np.corrcoef(mat[m, j], ref[m])[0, 1]
    return out


@validate_params({"threshold": Interval(-1, 1)})
def p913_screen(ratings, *, threshold: float = 0.75) -> Screening:
    """The correlation screening of ITU-T P.913: subjects whose ratings correlate poorly with the MOS.

    ``r`` is the Pearson correlation between a subject's ratings (mean over repetitions) and
    the MOS of the images they rated. While some subject has ``r < threshold`` (0.75, P.913's
    PVS-level limit), the subject with the lowest ``r`` is rejected and the MOS and every ``r``
    are recomputed without them (one at a time, so that one bad subject does not pull others
    below the limit). P.913's second, condition-level test (r2 < 0.8 over HRCs) needs a
    condition per image and is not applied here.
    """
    ratings = as_ratings(ratings)
    mat = ratings.matrix()
    S = ratings.n_subjects
    active = np.ones(S, bool)
    r_first = None
    r_at_rejection = np.full(S, np.nan)
    order = []
    while active.sum() > 2:
        mos = np.nanmean(np.where(active[None, :], mat, np.nan), axis=1)
        r = _pearson_rows(mat, mos)
        if r_first is None:
            r_first = r.copy()
        cand = np.where(active & np.isfinite(r), r, np.inf)
        worst = int(np.argmin(cand))
        if not cand[worst] < threshold:
            break
        active[worst] = False
        r_at_rejection[worst] = r[worst]
        order.append(worst)
    if r_first is None:
        r_first = np.full(S, np.nan)
    mos = np.nanmean(np.where(active[None, :], mat, np.nan), axis=1)
    r_final = _pearson_rows(mat, mos)
    reasons = [""] * S
    for rank, j in enumerate(order, 1):
        reasons[j] = f"r = {r_at_rejection[j]:.3f} < {threshold:g} (rejected {rank}. of {len(order)})"
    table = pd.DataFrame({"subject": ratings.subjects, "n_ratings": np.bincount(ratings.subject, minlength=S),
                          "r_initial": r_first, "r_final": np.where(active, r_final, r_at_rejection),
                          "rejected": ~active, "reason": reasons})
    notes = []
    undefined = int(np.isnan(r_first).sum())
    if undefined:
        notes.append(f"p913 screening: {undefined} subject(s) with fewer than 3 rated images or constant "
                     "ratings have no correlation and are kept")
    return Screening("p913", table, tuple(notes))


@validate_params({"method": SCREEN_METHODS})
def screen_subjects(ratings, method: str = "bt500", **options) -> Screening | None:
    """Screen the subjects of ``ratings`` by ``method`` (``'none'`` returns None).

    Parameters
    ----------
    ratings : :class:`~iqa_eval.subjective.Ratings`
    method : {'bt500', 'p913', 'none'}
        ITU-R BT.500-14 Annex 2 §2.3.1 (:func:`bt500_screen`) or the ITU-T P.913 correlation
        rule (:func:`p913_screen`).
    **options
        For ``p913``: ``threshold``, the smallest correlation with the MOS a subject may have.

    Returns
    -------
    Screening or None
        ``table``: one row per subject with its statistics, ``rejected`` and ``reason``.

    Raises
    ------
    InputError
        The method rejects every subject.

    Examples
    --------
    >>> import pandas as pd
    >>> from iqa_eval.subjective import ratings_from_frame
    >>> df = pd.DataFrame({"image": list("abcdef"), "s1": [1, 2, 3, 4, 5, 5], "s2": [2, 2, 4, 4, 5, 4],
    ...                    "s3": [1, 3, 3, 5, 4, 5], "s4": [2, 1, 3, 4, 5, 5]})
    >>> screen_subjects(ratings_from_frame(df), "p913", threshold=0.75).rejected
    []
    """
    ratings = as_ratings(ratings)
    if method == "none":
        return None
    result = bt500_screen(ratings) if method == "bt500" else p913_screen(ratings, **options)
    if result.table["rejected"].all():
        raise InputError(f"{method} screening rejects every subject; the study cannot be screened this way "
                         "(use screen='none')")
    return result
