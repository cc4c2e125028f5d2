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

from ..errors import InputError
from ..options import GMC_PRESETS, describe_rule

__all__ = ["PRESETS", "preset"]

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
