"""From raw ratings to MOS: reading ratings, observer screening, the subject model, the noise ceiling.

* :func:`read_ratings` reads long (subject, image, rating[, repetition, session, content]) or
  wide (a column per subject) tables into :class:`Ratings`;
* :func:`screen_subjects` applies ITU-R BT.500-14 Annex 2 §2.3.1 (``'bt500'``) or the ITU-T
  P.913 correlation rule (``'p913'``);
* :func:`fit_subject_model` estimates true quality, subject bias, inconsistency and content
  ambiguity by maximum likelihood (Li & Bampis 2017; Li et al. 2020; P.913);
* :func:`compute_mos` chains them and returns the metadata table ``score``, ``surface``,
  ``compare`` and ``bench`` read (``image, mos, std, n_ratings, ci_low, ci_high``);
* :func:`noise_ceiling` / :func:`ceiling_from_summary`: the correlation a perfect model can
  reach against that MOS.

See ``docs/subjective.md``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..options import MOS_METHODS, SCREEN_METHODS, SUBJECT_VARIANCES, Interval, validate_params
from ._tables import Ratings, as_ratings, ratings_from_frame, read_ratings
from .ceiling import NoiseCeiling, ceiling_from_summary, expected_correlations, noise_ceiling
from .screening import Screening, bt500_screen, p913_screen, screen_subjects
from .subject_model import SubjectModelResult, fit_subject_model

__all__ = ["Ratings", "read_ratings", "ratings_from_frame", "Screening", "screen_subjects", "bt500_screen",
           "p913_screen", "SubjectModelResult", "fit_subject_model", "MOSResult", "compute_mos",
           "NoiseCeiling", "noise_ceiling", "ceiling_from_summary", "expected_correlations", "METADATA_COLUMNS"]

#: The columns of the metadata table (what ``iqa-eval score`` reads as MOS, std and count).
METADATA_COLUMNS = ("image", "mos", "std", "n_ratings", "ci_low", "ci_high")


@dataclass(frozen=True)
class MOSResult:
    """A MOS per image, with how it was made.

    Attributes
    ----------
    table : DataFrame
        ``image, mos, std, n_ratings, ci_low, ci_high`` (:data:`METADATA_COLUMNS`), one row
        per rated image. ``std`` is the standard deviation of the image's ratings (N - 1), the
        spread GMC weights by; ``n_ratings`` their number (after screening).
    method, screen : str
    screening : Screening or None
    model : SubjectModelResult or None
        With ``method='mle'``.
    ratings : Ratings
        The ratings the MOS was computed from (screened).
    notes : tuple of str
    """

    table: pd.DataFrame
    method: str
    screen: str
    screening: Screening | None
    model: SubjectModelResult | None
    ratings: Ratings
    notes: tuple = field(default=())


@validate_params({"method": MOS_METHODS, "screen": SCREEN_METHODS, "variance": SUBJECT_VARIANCES,
                  "p913_threshold": Interval(-1, 1), "confidence_level": Interval(0, 1, closed="neither")})
def compute_mos(ratings: Ratings, *, method: str = "mean", screen: str = "none", confidence_level: float = 0.95,
                content: bool | None = None, variance: str = "ml", p913_threshold: float = 0.75) -> MOSResult:
    """The MOS of every rated image.

    Parameters
    ----------
    ratings : Ratings, DataFrame or path
        From :func:`read_ratings`; a table or the path of one is read with it (default options).
    method : {'mean', 'mle'}
        ``mean``: the mean rating, with a Student t interval ``mean +- t(n-1) * std / sqrt(n)``
        (BT.500-14 Annex 2 §2.2.1 gives the large-sample ``1.96``). ``mle``: the true quality of
        the subject model (:func:`fit_subject_model`) with a normal interval from its standard
        error.
    screen : {'none', 'bt500', 'p913'}
        Observer screening before the MOS; rejected subjects are listed in notes and in
        ``screening.table``.
    content, variance
        Passed to :func:`fit_subject_model` (content ambiguity; ML or corrected inconsistencies).
    confidence_level : float
        Of the intervals ``ci_low``, ``ci_high``.
    p913_threshold : float
        ``screen='p913'``: subjects whose correlation with the MOS is below it are rejected.

    Returns
    -------
    MOSResult
        ``table``: ``image, mos, std, n_ratings, ci_low, ci_high``, the metadata table every
        command reads; the screening, the subject model (``method='mle'``) and the notes.

    Examples
    --------
    >>> import pandas as pd
    >>> from iqa_eval.subjective import ratings_from_frame, compute_mos
    >>> df = pd.DataFrame({"image": ["a", "b", "c"], "s1": [1, 3, 5], "s2": [2, 3, 4]})
    >>> compute_mos(ratings_from_frame(df)).table["mos"].tolist()
    [1.5, 3.0, 4.5]
    """
    ratings = as_ratings(ratings)
    notes = list(ratings.notes)
    screening = None
    if screen != "none":
        screening = screen_subjects(ratings, screen, **({"threshold": p913_threshold} if screen == "p913" else {}))
        notes += list(screening.notes)
        rej = screening.table[screening.table["rejected"]]
        if len(rej):
            notes.append(f"{screen} screening rejected {len(rej)} of {ratings.n_subjects} subject(s): " +
                         "; ".join(f"{s} ({why})" for s, why in zip(rej["subject"].head(5), rej["reason"].head(5))) +
                         (" ..." if len(rej) > 5 else "") + " (see the screening table)")
        else:
            notes.append(f"{screen} screening rejected no subject ({ratings.n_subjects} kept)")
        before = np.bincount(ratings.image, minlength=ratings.n_images) > 0
        ratings = ratings.subset(screening.kept_indices)
        after = np.bincount(ratings.image, minlength=ratings.n_images) > 0
        lost = int((before & ~after).sum())
        if lost:
            notes.append(f"{lost} image(s) were rated only by rejected subjects: no MOS for them")
    e, y, E = ratings.image, ratings.rating, ratings.n_images
    n = np.bincount(e, minlength=E)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(e, y, E) / n
        std = np.sqrt(np.bincount(e, (y - mean[e]) ** 2, E) / (n - 1))
    std[n < 2] = np.nan
    model = None
    if method == "mean":
        mos = mean
        with np.errstate(invalid="ignore", divide="ignore"):
            half = stats.t.ppf(0.5 + confidence_level / 2, np.maximum(n - 1, 1)) * std / np.sqrt(n)
    else:
        model = fit_subject_model(ratings, content=content, variance=variance, confidence_level=confidence_level)
        notes += list(model.notes)
        mos = model.quality
        half = stats.norm.ppf(0.5 + confidence_level / 2) * model.quality_se
    single = int((n == 1).sum())
    if single:
        notes.append(f"{single} image(s) with a single rating: std and interval left empty")
    rated = n > 0
    table = pd.DataFrame({"image": np.asarray(ratings.images, object)[rated], "mos": mos[rated],
                          "std": std[rated], "n_ratings": n[rated], "ci_low": (mos - half)[rated],
                          "ci_high": (mos + half)[rated]})
    return MOSResult(table=table.reset_index(drop=True), method=method, screen=screen, screening=screening,
                     model=model, ratings=ratings, notes=tuple(notes))

