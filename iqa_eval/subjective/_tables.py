"""Reading raw ratings: long tables (one rating a row) or wide tables (one column per subject).

The result is a :class:`Ratings`: flat arrays of (image, subject, rating) indices, the names
they index, and the notes of every decision taken while reading (empty cells skipped, images
without a rating, subjects with one rating). Nothing is dropped without a note; anything that
cannot be read with certainty (a non-numeric rating, a repeated (subject, image) without a
repetition column, a rating outside the declared scale) is one :class:`InputError` naming
file, column and row.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..errors import InputError
from ..data.io import KEY_NAMES, find_column, numeric_column, read_table
from ..options import RATING_LAYOUTS, check_choice, validate_params

__all__ = ["Ratings", "read_ratings", "ratings_from_frame", "as_ratings", "SUBJECT_NAMES", "RATING_NAMES"]

# Recognised column names (compared lower-cased, non-alphanumerics dropped, as in iqa_eval.data.io).
SUBJECT_NAMES = ("subject", "subjectid", "observer", "observerid", "rater", "raterid", "worker",
                 "workerid", "participant", "participantid", "user", "userid", "viewer")
RATING_NAMES = ("rating", "ratings", "score", "vote", "opinion", "opinionscore", "os", "value")
REPETITION_NAMES = ("repetition", "rep", "repeat", "trial")
SESSION_NAMES = ("session", "sessionid")
CONTENT_NAMES = ("content", "contentid", "source", "src", "srcid", "reference", "refname", "ref")
IMAGE_NAMES = tuple(n for n in KEY_NAMES if n not in ("name", "key", "id"))


@dataclass(frozen=True)
class Ratings:
    """Raw ratings in long form.

    Attributes
    ----------
    image, subject : int arrays (n_obs,)
        Indices into ``images`` and ``subjects``.
    rating : float array (n_obs,)
    images, subjects : lists of str
        Names, in order of first appearance.
    content : int array (n_images,) or None
        Content (source) index of each image, where a content column was given.
    notes : tuple of str
        Decisions taken while reading.
    """

    image: np.ndarray
    subject: np.ndarray
    rating: np.ndarray
    images: list
    subjects: list
    content: np.ndarray | None = None
    contents: list | None = None
    scale: tuple | None = None
    notes: tuple = field(default=())

    @property
    def n_images(self) -> int:
        return len(self.images)

    @property
    def n_subjects(self) -> int:
        return len(self.subjects)

    def __len__(self) -> int:
        return len(self.rating)

    def matrix(self) -> np.ndarray:
        """(n_images, n_subjects) mean rating of each subject on each image (NaN where none)."""
        from .._runtime.resources import check_memory

        check_memory(3 * 8.0 * self.n_images * self.n_subjects, "the image x subject rating matrix")
        total = np.zeros((self.n_images, self.n_subjects))
        count = np.zeros((self.n_images, self.n_subjects))
        np.add.at(total, (self.image, self.subject), self.rating)
        np.add.at(count, (self.image, self.subject), 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    def subset(self, keep_subjects) -> "Ratings":
        """The ratings of the subjects whose indices are in ``keep_subjects`` (images kept)."""
        keep = np.zeros(self.n_subjects, bool)
        keep[np.asarray(keep_subjects, int)] = True
        new_index = np.cumsum(keep) - 1
        mask = keep[self.subject]
        return replace(self, image=self.image[mask], subject=new_index[self.subject[mask]],
                       rating=self.rating[mask], subjects=[s for s, k in zip(self.subjects, keep) if k])

    def with_notes(self, *notes) -> "Ratings":
        return replace(self, notes=self.notes + tuple(n for n in notes if n))


def _pick(df, given, names, role, file, required=True):
    if given is not None:
        if given in df.columns:
            return given
        match = find_column(df.columns, [given])
        if match is None:
            raise InputError(f"no {role} column {given!r} (columns: {', '.join(map(str, df.columns))})", file=file)
        return match
    match = find_column(df.columns, names)
    if match is None and required:
        raise InputError(f"no {role} column found (looked for {', '.join(names[:4])}, ...); name it with "
                         f"the {role} column option", file=file)
    return match


def _layout(df, layout, subject_col, rating_col, file):
    if layout != "auto":
        return layout
    has_subject = subject_col is not None or find_column(df.columns, SUBJECT_NAMES) is not None
    has_rating = rating_col is not None or find_column(df.columns, RATING_NAMES) is not None
    if has_subject and has_rating:
        return "long"
    if not has_subject and not has_rating:
        return "wide"
    raise InputError("cannot tell whether this is a long table (subject, image, rating columns) or a wide "
                     "one (a column per subject): found a " + ("subject" if has_subject else "rating") +
                     " column but no " + ("rating" if has_subject else "subject") + " column; give "
                     "layout='long' with the column names, or layout='wide'", file=file)


def _names(col: pd.Series) -> np.ndarray:
    """Cell text as names (integers written without '.0'); empty cells -> None."""
    out = []
    for v in col.tolist():
        if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
            out.append(None)
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v).strip())
    return np.array(out, dtype=object)


def _long_rows(df, file, *, subject_col, image_col, rating_col, repetition_col, session_col, content_col):
    s_col = _pick(df, subject_col, SUBJECT_NAMES, "subject", file)
    i_col = _pick(df, image_col, IMAGE_NAMES, "image", file)
    r_col = _pick(df, rating_col, RATING_NAMES, "rating", file)
    rep_col = _pick(df, repetition_col, REPETITION_NAMES, "repetition", file, required=False)
    ses_col = _pick(df, session_col, SESSION_NAMES, "session", file, required=False)
    c_col = _pick(df, content_col, CONTENT_NAMES, "content", file, required=False)
    if len({s_col, i_col, r_col}) < 3:
        raise InputError("the subject, image and rating columns must be three different columns", file=file)
    rating = numeric_column(df, r_col, file=file)
    subj, img = _names(df[s_col]), _names(df[i_col])
    for col, names in ((s_col, subj), (i_col, img)):
        empty = np.flatnonzero(names == None)  # noqa: E711 (object array)
        if len(empty):
            raise InputError("empty cell", file=file, column=col, row=int(empty[0]) + 1)
    rep = np.zeros(len(df), object)
    if rep_col is not None:
        rep = _names(df[rep_col])
    if ses_col is not None:
        rep = np.array([f"{a}|{b}" for a, b in zip(rep, _names(df[ses_col]))], dtype=object)
    content = _names(df[c_col]) if c_col is not None else None
    return {"subject": subj, "image": img, "rating": rating, "rep": rep, "content": content,
            "rows": np.arange(1, len(df) + 1), "file": np.full(len(df), str(file), object),
            "rating_col": np.full(len(df), str(r_col), object), "has_rep": rep_col is not None or ses_col is not None}


def _wide_rows(df, file, *, image_col, content_col):
    i_col = _pick(df, image_col, IMAGE_NAMES, "image", file)
    c_col = _pick(df, content_col, CONTENT_NAMES, "content", file, required=False)
    subjects = [c for c in df.columns if c not in (i_col, c_col)]
    if len(subjects) < 2:
        raise InputError("a wide table needs an image column and a column per subject (at least two)", file=file)
    img = _names(df[i_col])
    empty = np.flatnonzero(img == None)  # noqa: E711
    if len(empty):
        raise InputError("empty cell", file=file, column=i_col, row=int(empty[0]) + 1)
    values = np.column_stack([numeric_column(df, c, file=file) for c in subjects])
    n, k = values.shape
    content = _names(df[c_col]) if c_col is not None else None
    return {"subject": np.tile(np.array([str(s) for s in subjects], object), n), "image": np.repeat(img, k),
            "rating": values.ravel(), "rep": np.zeros(n * k, object),
            "content": None if content is None else np.repeat(content, k),
            "rows": np.repeat(np.arange(1, n + 1), k), "file": np.full(n * k, str(file), object),
            "rating_col": np.tile(np.array([str(s) for s in subjects], object), n), "has_rep": False,
            "all_images": img}


def _index(names):
    uniq, first, inverse = np.unique(names.astype(str), return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")          # order of first appearance
    rank = np.empty(len(order), int)
    rank[order] = np.arange(len(order))
    return [str(u) for u in uniq[order]], rank[inverse]


def ratings_from_frame(df: pd.DataFrame, *, file="<table>", layout="auto", scale=None, subject_col=None,
                       image_col=None, rating_col=None, repetition_col=None, session_col=None,
                       content_col=None) -> Ratings:
    """:class:`Ratings` from one table already in memory (see :func:`read_ratings`)."""
    return read_ratings([df], layout=layout, scale=scale, subject_col=subject_col, image_col=image_col,
                        rating_col=rating_col, repetition_col=repetition_col, session_col=session_col,
                        content_col=content_col, _names_of_frames=[file])


@validate_params({"layout": RATING_LAYOUTS})
def read_ratings(paths, *, layout="auto", scale=None, subject_col=None, image_col=None, rating_col=None,
                 repetition_col=None, session_col=None, content_col=None, _names_of_frames=None) -> Ratings:
    """Read raw ratings from one or more tables.

    Parameters
    ----------
    paths : path, or list of paths (or DataFrames)
        Tables read with :func:`iqa_eval.read_table`; several are concatenated (a subject or
        an image may appear in several files).
    layout : {'auto', 'long', 'wide'}
        ``long``: a row per rating with subject, image and rating columns (and optional
        repetition, session, content columns). ``wide``: an image column and one column per
        subject (empty cell = not rated). ``auto`` decides by the column names and refuses
        a table that has only one of a subject and a rating column.
    scale : (low, high) or None
        The rating scale; a rating outside it is an error naming its row.
    subject_col, image_col, rating_col, repetition_col, session_col, content_col : str
        Column names (default: recognised names such as ``subject``, ``image``, ``rating``).

    Returns
    -------
    Ratings

    Raises
    ------
    InputError
        Non-numeric rating; (subject, image) rated twice without a repetition or session
        column telling the repetitions apart; a rating outside ``scale``; an image given two
        contents.

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({"image": ["a", "a", "b", "b", "c", "c"], "subject": ["s1", "s2"] * 3,
    ...                      "rating": [1, 2, 3, 3, 5, 4]})
    >>> r = read_ratings(long)
    >>> r.n_images, r.n_subjects
    (3, 2)
    """
    layout = check_choice("layout", layout, RATING_LAYOUTS)
    if isinstance(paths, (str, bytes)) or hasattr(paths, "__fspath__") or isinstance(paths, pd.DataFrame):
        paths = [paths]
    parts = []
    for k, p in enumerate(paths):
        if isinstance(p, pd.DataFrame):
            df, file = p, (_names_of_frames[k] if _names_of_frames else f"<table {k + 1}>")
        else:
            df, file = read_table(p), str(p)
        lay = _layout(df, layout, subject_col, rating_col, file)
        parts.append(_long_rows(df, file, subject_col=subject_col, image_col=image_col, rating_col=rating_col,
                                repetition_col=repetition_col, session_col=session_col, content_col=content_col)
                     if lay == "long" else _wide_rows(df, file, image_col=image_col, content_col=content_col))
    if not parts:
        raise InputError("no ratings table given")
    cat = {k: np.concatenate([p[k] for p in parts]) for k in ("subject", "image", "rating", "rep", "rows",
                                                               "file", "rating_col")}
    has_rep = all(p["has_rep"] for p in parts)
    notes = []
    rating = cat["rating"]
    bad = ~np.isfinite(rating) & ~np.isnan(rating)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError("infinite rating", file=cat["file"][i], column=cat["rating_col"][i], row=cat["rows"][i])
    if scale is not None:
        low, high = float(scale[0]), float(scale[1])
        if not low < high:
            raise InputError(f"scale must be (low, high) with low < high; got {scale!r}")
        out = np.flatnonzero(~np.isnan(rating) & ((rating < low) | (rating > high)))
        if len(out):
            i = int(out[0])
            raise InputError(f"rating {rating[i]:g} outside the declared scale {low:g}..{high:g} "
                             f"({len(out)} rating(s) outside it)", file=cat["file"][i],
                             column=cat["rating_col"][i], row=cat["rows"][i])
    all_images = np.concatenate([p.get("all_images", p["image"]) for p in parts])
    images, _ = _index(all_images)
    empty = np.isnan(rating)
    if empty.any():
        notes.append(f"{int(empty.sum())} empty rating cell(s) skipped (not rated)")
    keep = ~empty
    subj_names = cat["subject"][keep]
    img_names = cat["image"][keep]
    subjects, s_idx = _index(subj_names)
    position = {name: k for k, name in enumerate(images)}
    i_idx = np.array([position[n] for n in img_names.astype(str)], int)
    # (subject, image[, repetition/session]) must be unique.
    key = pd.DataFrame({"s": s_idx, "i": i_idx, "r": cat["rep"][keep].astype(str)})
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any():
        rows, files = cat["rows"][keep][dup], cat["file"][keep][dup]
        j = int(np.flatnonzero(dup)[0])
        what = "repetition/session" if has_rep else "no repetition or session column tells the repetitions apart"
        raise InputError(f"subject {subj_names[j]!r} rated image {img_names[j]!r} more than once "
                         f"(rows {', '.join(map(str, rows[:4]))}{' ...' if len(rows) > 4 else ''}"
                         f"{'' if len(set(files)) == 1 else ' of several files'}; {what}); "
                         f"{int(key.duplicated().sum())} repeated row(s) in all", file=files[0])
    rated = np.bincount(i_idx, minlength=len(images))
    if (rated == 0).any():
        names = [images[k] for k in np.flatnonzero(rated == 0)]
        notes.append(f"{len(names)} image(s) without any rating ({', '.join(names[:3])}"
                     f"{', ...' if len(names) > 3 else ''}): no MOS for them")
    per_subject = np.bincount(s_idx, minlength=len(subjects))
    if (per_subject == 1).any():
        names = [subjects[k] for k in np.flatnonzero(per_subject == 1)]
        notes.append(f"{len(names)} subject(s) with a single rating ({', '.join(names[:3])}"
                     f"{', ...' if len(names) > 3 else ''})")
    content = contents = None
    if all(p["content"] is not None for p in parts):
        c_all = np.concatenate([p["content"] for p in parts])[keep]
        contents, c_idx = _index(c_all)
        image_content = np.full(len(images), -1)
        for img, c in zip(i_idx, c_idx):
            if image_content[img] not in (-1, c):
                raise InputError(f"image {images[img]!r} is given two contents ({contents[image_content[img]]!r} "
                                 f"and {contents[c]!r})")
            image_content[img] = c
        content = image_content
    return Ratings(image=i_idx, subject=s_idx, rating=rating[keep].astype(float), images=images,
                   subjects=subjects, content=content, contents=contents,
                   scale=None if scale is None else (float(scale[0]), float(scale[1])), notes=tuple(notes))


def as_ratings(ratings) -> Ratings:
    """``ratings`` as :class:`Ratings`: as it is, or read with :func:`read_ratings` when it is a
    table (DataFrame) or the path(s) of one; anything else is an :class:`InputError`."""
    if isinstance(ratings, Ratings):
        return ratings
    if isinstance(ratings, (str, pd.DataFrame)) or hasattr(ratings, "__fspath__") or \
            (isinstance(ratings, (list, tuple)) and ratings and
             all(isinstance(r, (str, pd.DataFrame)) or hasattr(r, "__fspath__") for r in ratings)):
        return read_ratings(ratings)
    raise InputError(f"ratings must be Ratings (from read_ratings), a table or the path of one; got "
                     f"{type(ratings).__name__}")
