"""The studio's project file: the last session in a small JSON file, and back.

A project holds the format name and version, the loaded tables (an uploaded table inline, in
base64, under its name; a table given at start by its name in the server's list, never by a
path), the join option and every option of the score, surface and compare sections. Loading
one writes the tables and reads them through the same steps as an upload; the options it
brings are checked here, each against the values the page offers, so a hand-edited file is one
``error:`` line, never a half-restored page.
"""
from __future__ import annotations

import base64
import binascii
import json
import math

from ..errors import InputError
from ..options import ADJUSTMENTS, CI_METHODS, GMC_METHODS, GMC_PRESETS, JOINS, MAPPINGS, REGULATORS
from . import work

__all__ = ["FORMAT", "VERSION", "OPTIONS", "save_project", "read_project"]

FORMAT = "iqa-eval studio project"
VERSION = 1

_CHOICE, _NUMBER, _TEXT, _NAME, _NAMES = "choice", "number", "text", "name", "names"
#: every option of the page a project keeps: component id -> (kind, allowed values of a choice)
OPTIONS = {
    # scores
    "mapping": (_CHOICE, MAPPINGS), "ci": (_CHOICE, CI_METHODS), "n-resamples": (_NUMBER, None),
    "alpha": (_NUMBER, None), "seed": (_NUMBER, None), "score-format": (_CHOICE, tuple(work.SCORE_EXPORTS)),
    # surface
    "preset": (_CHOICE, (None,) + GMC_PRESETS), "std-source": (_CHOICE, ("column", "beta")),
    "regulator": (_CHOICE, REGULATORS), "std-scale": (_NUMBER, None), "sampling": (_CHOICE, ("grid", "samples")),
    "grid": (_TEXT, None), "samples": (_NUMBER, None), "view-method": (_CHOICE, GMC_METHODS),
    "view-models": (_NAMES, None), "surface-format": (_CHOICE, tuple(work.SURFACE_EXPORTS)),
    # compare
    "model-a": (_NAME, None), "model-b": (_NAME, None), "compare-method": (_CHOICE, GMC_METHODS),
    "compare-grid": (_TEXT, None), "adjust": (_CHOICE, ADJUSTMENTS),
}


def save_project(session, options: dict) -> bytes:
    """The project file of ``session`` with the page's ``options`` (component id -> value)."""
    if session.data is None:
        raise InputError("nothing to save: load tables first")
    if session.source is not None:
        tables = [{"source": session.source}]
    else:
        tables = [{"name": label, "base64": base64.b64encode(path.read_bytes()).decode("ascii")}
                  for path, label in zip(session.files, session.file_labels)]
    body = {"format": FORMAT, "version": VERSION, "tables": tables,
            "join": session.load_options.get("join", "auto"),
            "options": {k: options[k] for k in OPTIONS if k in options}}
    return (json.dumps(body, indent=1, allow_nan=False) + "\n").encode("utf-8")


def read_project(body: bytes, *, max_upload: int, sources=()) -> dict:
    """The checked content of a project file: ``{"tables": [(name, bytes), ...] or None,
    "source": index in ``sources`` or None, "join": ..., "options": {...}}``.

    ``sources`` are the labels of the tables the server lists. Anything malformed, another
    format or version, a table the server does not list, or tables over ``max_upload`` bytes
    is an :class:`InputError` naming what is wrong.
    """
    def bad(what):
        return InputError(f"not a studio project file of version {VERSION}: {what}", file="project")

    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad(f"not JSON ({' '.join(str(exc).split())})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise bad(f"its format is not {FORMAT!r}")
    if doc.get("version") != VERSION:
        raise bad(f"it has version {doc.get('version')!r}")
    join = doc.get("join", "auto")
    if join not in JOINS:
        raise bad(f"join is {join!r}")
    tables = doc.get("tables")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise bad("it lists no tables")
    out = {"tables": None, "source": None, "join": join, "options": _options(doc.get("options", {}), bad)}
    if len(tables) == 1 and set(tables[0]) == {"source"}:
        label = tables[0]["source"]
        if label not in list(sources):
            raise InputError(f"the project names the table {str(label)!r}, which this server does not list "
                             "(start iqa-eval serve with its folder)", file="project")
        out["source"] = list(sources).index(label)
        return out
    decoded = []
    for t in tables:
        if set(t) != {"name", "base64"} or not isinstance(t["name"], str) or not isinstance(t["base64"], str):
            raise bad("a table is not {name, base64}")
        try:
            decoded.append((t["name"], base64.b64decode(t["base64"], validate=True)))
        except (binascii.Error, ValueError):
            raise bad(f"the table {t['name']!r} is not base64") from None
    total = sum(len(b) for _, b in decoded)
    if total > max_upload:
        raise InputError(f"the project's tables have {total:,} bytes; the limit is {max_upload:,} "
                         "(iqa-eval serve --max-upload)", file="project")
    out["tables"] = decoded
    return out


def _options(given, bad) -> dict:
    if not isinstance(given, dict):
        raise bad("options is not an object")
    unknown = sorted(set(given) - set(OPTIONS))
    if unknown:
        raise bad(f"unknown option {unknown[0]!r}")
    for key, value in given.items():
        kind, allowed = OPTIONS[key]
        if kind == _CHOICE:
            ok = value in allowed
        elif kind == _NUMBER:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        elif kind == _TEXT:
            ok = isinstance(value, str) and len(value) <= 64
        elif kind == _NAME:
            ok = value is None or isinstance(value, str)
        else:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if not ok:
            raise bad(f"option {key!r} has the value {value!r}")
    return dict(given)
