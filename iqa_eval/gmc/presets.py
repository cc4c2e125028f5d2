"""Published GMC configurations, as plain data (``iqa-eval surface --preset NAME``).

From ``../shared/docs/gmc-reference.md`` ("Distribution regulator" and "Standard
deviation when none is given"): KADID-10k and LIVEC used Gaussian weights with the
dataset's std column; PIPAL used LDS (ks 5, sigma 2) with a Beta-model std (phi 3); SPAQ
used LDS (ks 5, sigma 1) with a Beta-model std (phi 3). The published runs multiplied
the weights by 100 (``plus``; it cancels out of every GMC form) and truncated the LDS
histogram to integers (the default of :func:`~iqa_eval.gmc.weights.lds_density`).

``std``: ``"column"`` means the dataset's own per-image std is required; ``"beta"``
means the std is estimated from MOS with the Beta model of precision ``std_phi``.
"""
from __future__ import annotations

from dataclasses import replace

from ..errors import InputError
from ..options import GMC_PRESETS, describe_rule

__all__ = ["PRESETS", "preset", "apply_preset"]

PRESETS = {
    "livec": {"std": "column", "regulator": "gaussian", "std_scale": 1.0, "plus": 100.0},
    "kadid10k": {"std": "column", "regulator": "gaussian", "std_scale": 1.0, "plus": 100.0},
    "pipal": {"std": "beta", "std_phi": 3.0, "regulator": "lds", "ks": 5, "sigma": 2.0,
              "std_scale": 1.0, "plus": 100.0},
    "spaq": {"std": "beta", "std_phi": 3.0, "regulator": "lds", "ks": 5, "sigma": 1.0,
             "std_scale": 1.0, "plus": 100.0},
}
assert tuple(PRESETS) == GMC_PRESETS


def preset(name: str) -> dict:
    """The options of a published GMC configuration (a copy of its :data:`PRESETS` entry).

    Parameters
    ----------
    name : {'livec', 'kadid10k', 'pipal', 'spaq'}
        Case, ``-`` and ``_`` are ignored (``'KADID-10k'`` works).

    Returns
    -------
    dict
        ``std`` (``'column'``: the dataset's std column is required; ``'beta'``: estimated
        with the Beta model of precision ``std_phi``) and the :class:`~iqa_eval.gmc.GMCOptions`
        fields ``regulator``, ``ks``, ``sigma``, ``std_scale``, ``plus``.

    Examples
    --------
    >>> preset("PIPAL")["regulator"], preset("pipal")["sigma"]
    ('lds', 2.0)
    """
    key = str(name).lower().replace("-", "").replace("_", "")
    if key not in PRESETS:
        raise InputError(f"preset must be {describe_rule(GMC_PRESETS)}; got {name!r}")
    return dict(PRESETS[key])


def describe(name: str) -> str:
    """One line: ``pipal: LDS regulator (ks 5, sigma 2), Beta-model std (phi 3), plus 100``."""
    p = preset(name)
    parts = []
    if p["regulator"] == "lds":
        parts.append(f"LDS regulator (ks {p['ks']}, sigma {p['sigma']:g}, integer-truncated histogram)")
    else:
        parts.append("Gaussian regulator")
    parts.append("the dataset's std column" if p["std"] == "column" else f"Beta-model std (phi {p['std_phi']:g})")
    parts.append(f"std scale {p['std_scale']:g}, plus {p['plus']:g}")
    return f"{name}: " + ", ".join(parts)


#: The GMCOptions fields a preset sets, in the order their notes are written.
_PRESET_FIELDS = ("regulator", "std_scale", "plus", "ks", "sigma", "std_phi")


def apply_preset(name: str, options, *, given=(), has_std: bool = False, std_column=None):
    """``options`` with a published configuration applied; a field in ``given`` wins (noted).

    Parameters
    ----------
    name : {'livec', 'kadid10k', 'pipal', 'spaq'}
        The configuration (see :func:`preset`).
    options : GMCOptions
        The options to start from.
    given : iterable of str
        The GMCOptions fields the caller set explicitly: where one differs from the preset,
        the caller's value is kept and a note says so.
    has_std : bool
        Whether the data carry a per-image std (a column or a file).
    std_column : str, optional
        The std column's name, for the note when the preset does not use it (default ``'std'``).

    Returns
    -------
    (GMCOptions, bool, list of str)
        The options, whether the data's std is used (``False``: the preset estimates it with
        the Beta model), and the notes (the preset, every override, an unused std).

    Raises
    ------
    InputError
        A preset that uses the dataset's std (livec, kadid10k) without one.

    Examples
    --------
    >>> from iqa_eval.gmc import GMCOptions
    >>> opts, use_std, notes = apply_preset("spaq", GMCOptions(sigma=2.0), given={"sigma"})
    >>> opts.regulator, opts.sigma, use_std
    ('lds', 2.0, False)
    >>> notes[1]
    "sigma=2.0 given: used instead of the preset's 1.0"
    """
    conf = preset(name)
    given = set(given)
    notes = [f"preset {describe(name)}"]
    changes = {}
    for field in _PRESET_FIELDS:
        if field not in conf:
            continue
        current, value = getattr(options, field), conf[field]
        if field in given and current != value:
            notes.append(f"{field}={current} given: used instead of the preset's {value}")
        else:
            changes[field] = value
    use_std = has_std
    if conf["std"] == "column":
        if not has_std:
            raise InputError(f"preset {name} uses the dataset's per-image std: give a std column "
                             "(std_col) or a std file")
    elif has_std:
        notes.append(f"preset {name} estimates the std from the Beta model (phi {conf['std_phi']:g}) as "
                     f"the published run did; the std column {std_column or 'std'!r} is not used")
        use_std = False
    return replace(options, **changes), use_std, notes
