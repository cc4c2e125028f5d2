"""``score --krasula``: the Krasula analysis added to score's output (kept out of score.py)."""
from __future__ import annotations

from ._common import echo_notes


def add_krasula(text, data, fmt, *, seed, nan_policy, notes):
    """Run the analysis on ``data`` (or say why not) and return ``text`` with it added."""
    from ..render.bench_tables import with_krasula
    from ..studies.krasula import krasula, missing_inputs

    why = missing_inputs(data)
    if why:
        echo_notes(list(notes) + [why])
        return text
    res = krasula(data, seed=seed, nan_policy=nan_policy)
    echo_notes(list(notes) + [f"Krasula: {n}" for n in res.notes])
    return with_krasula(text, {"the data": res}, fmt)
