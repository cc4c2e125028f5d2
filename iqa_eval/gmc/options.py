"""GMC's std, regulator and sampling options: one frozen dataclass used by every GMC entry point.

:func:`~iqa_eval.gmc.gmc_inputs`, :func:`~iqa_eval.gmc.gmc_points`,
:func:`~iqa_eval.gmc.correlation_surfaces` and :func:`~iqa_eval.compare_models` take an
``options=GMCOptions(...)`` (or the same fields as keywords, which build one), and the command
line generates its GMC options from the fields below (their ``metadata`` holds the help text
and the allowed values), so a default or a range is written once.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..options import RANKS, REGULATORS, Either, Interval, check_param
from ..errors import InputError

__all__ = ["GMCOptions"]


def _not_a_count(value) -> bool:
    """``samples`` given as points (a file, a table, an array) rather than a number of them."""
    return not isinstance(value, (int, float)) or isinstance(value, bool)


def _option(default, help_, rule, cli=True):
    return field(default=default, metadata={"help": help_, "rule": rule, "cli": cli})


@dataclass(frozen=True)
class GMCOptions:
    """How GMC turns per-image std and MOS into pair weights, and where it samples the domain.

    Parameters
    ----------
    std_scale : float, default 1.0
        ``k``: the granularity modulator uses ``k * std``.
    std_phi : float, default 8.0
        Beta-model precision used to estimate the std when none is given.
    regulator : {'auto', 'gaussian', 'lds', 'none'}, default 'auto'
        Distribution regulator; 'auto' is Gaussian when a std was given, LDS when estimated.
    ks : int, default 5
        LDS kernel size (odd).
    sigma : float, default 2.0
        LDS kernel width.
    plus : float, default 10.0
        Multiplier of the regulator weights, ``c_i = plus / density`` (> 0; it cancels out of
        every GMC form; see :func:`~iqa_eval.gmc.weights.distribution_weights`).
    ranks : {'dense', 'average'}, default 'dense'
        Ranks of the SROCC form; 'dense' reproduces the published values.
    lds_exact_counts : bool, default False
        LDS regulator: keep the smoothed histogram as floats instead of the reference's
        integer truncation (see :func:`~iqa_eval.gmc.weights.lds_density`).
    samples : int, path, DataFrame or (S, 2) array, default 100
        Sample points of :func:`~iqa_eval.gmc.gmc_points`: an int draws that many seeded
        Latin-hypercube points; a path is read with
        :func:`~iqa_eval.gmc.read_sample_file`. (``compare_models`` evaluates a regular grid
        instead and does not use it.)
    min_pairs : float, default 45
        GMC points (grid cells) whose Kish effective number of image pairs
        ``(sum w)^2 / sum w^2`` is below this are *unsupported*: blank in figures, never tested
        by ``compare_models`` (see :mod:`iqa_eval.gmc.support`; 45 is the number of pairs of 10
        equally weighted images). 0 keeps every point.

    Examples
    --------
    >>> GMCOptions(std_scale=2.0).regulator
    'auto'
    >>> GMCOptions(regulator="box")
    Traceback (most recent call last):
    ...
    iqa_eval.errors.InputError: regulator must be one of auto, gaussian, lds, none; got 'box'
    """

    std_scale: float = _option(1.0, "k: the granularity modulator of GMC uses k * (per-image MOS std).",
                               Interval(0, None, closed="right"))
    std_phi: float = _option(8.0, "Beta-model precision used to estimate the std when FILES have no std "
                                  "column.", Interval(0, None, closed="right"))
    regulator: str = _option("auto", "Distribution regulator: auto = Gaussian when a std was given, LDS when "
                                     "it was estimated.", REGULATORS)
    ks: int = _option(5, "LDS kernel size (odd).", Interval(1, None, integral=True))
    sigma: float = _option(2.0, "LDS kernel width.", Interval(0, None, closed="right"))
    plus: float = _option(10.0, "Multiplier of the regulator weights (cancels out of every GMC form).",
                          Interval(0, None, closed="neither"), cli=False)
    ranks: str = _option("dense", "Ranks of the SROCC form: dense (the reference) or average "
                                  "(scipy's rankdata).", RANKS)
    lds_exact_counts: bool = _option(False, "LDS regulator: keep the smoothed histogram as floats instead of "
                                            "the reference's integer truncation.", None, cli=False)
    samples: object = _option(100, "Latin-hypercube sample points.",
                              Either(Interval(1, None, integral=True), _not_a_count,
                                     "a sample file, a DataFrame or an (S, 2) array"), cli=False)
    min_pairs: float = _option(45.0, "Cells whose effective number of image pairs (Kish: (sum w)^2 / sum w^2) "
                                     "is below this are masked: blank in surfaces and maps, never tested "
                                     "(0: none).", Interval(0, None))

    def __post_init__(self):
        # the one check of every GMC option (a bad value is an InputError naming the option)
        for f in dataclasses.fields(self):
            rule = f.metadata["rule"]
            if rule is None:
                continue
            check_param(f.name, getattr(self, f.name), rule)

    @classmethod
    def resolve(cls, options=None, values=None) -> "GMCOptions":
        """``options`` (default ``GMCOptions()``) with the fields named in ``values`` replaced.

        Lets every entry point take either ``options=GMCOptions(...)`` or the fields as
        keywords; an unknown keyword is a TypeError, as for any function.
        """
        options = cls() if options is None else options
        if not isinstance(options, cls):
            raise InputError(f"options must be a GMCOptions, got {type(options).__name__}")
        values = dict(values or {})
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise TypeError(f"unexpected keyword argument(s) {', '.join(map(repr, unknown))}")
        return dataclasses.replace(options, **values) if values else options

    @classmethod
    def rules(cls) -> dict:
        """Field name -> rule (a tuple of values or an Interval): the one declaration of each
        GMC option's allowed values, used by :func:`~iqa_eval.gmc.weights.distribution_weights`
        and :func:`~iqa_eval.gmc.beta_std` too."""
        return {f.name: f.metadata["rule"] for f in dataclasses.fields(cls) if f.metadata["rule"] is not None}

    @classmethod
    def cli_fields(cls):
        """The fields the command line exposes as ``--name`` options."""
        return [f for f in dataclasses.fields(cls) if f.metadata["cli"]]
