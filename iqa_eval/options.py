"""The package's vocabulary: every allowed option value, declared once, checked in one place.

Each option that takes one of a fixed set of values has its set here; library functions
check their arguments with :func:`validate_params` (the role of scikit-learn's
``validate_params``) and the command line builds its ``click.Choice`` lists from the same
tuples, so a value is spelled the same way in the library, on the command line, in JSON and
in the docs.

Names
-----
``srocc``, ``krcc``, ``plcc``
    The correlations, for the global metrics and the GMC forms alike.
``ci_low``, ``ci_high``
    The ends of every interval (table columns and JSON fields).
``n_resamples``, ``seed``
    Bootstrap size and the seed of every random draw.

Old spellings (``srcc``, ``fisher``, ``bootstrap``, ``--n-boot``) are accepted by the command
line only (:data:`CLI_ALIASES`), so scripts written for earlier versions keep working.

This module imports nothing but :mod:`iqa_eval.errors`: every layer may use it.
"""
from __future__ import annotations

import enum
import functools
import inspect
import math
import numbers

from .errors import InputError

__all__ = ["MULTIPLICITY", "CORRELATIONS", "PAIRED_CORRELATIONS", "GMC_METHODS", "MAPPINGS", "NAN_POLICIES",
           "DELIMITERS", "JOINS", "REGULATORS", "RANKS", "BACKENDS", "ADJUSTMENTS", "BANDWIDTH_METHODS",
           "GMC_PRESETS", "BENCH_FORMATS", "BENCH_METRICS", "DATASET_NAN_POLICIES", "FRIEDMAN_METHODS",
           "POSTHOC_TESTS", "ALTERNATIVES", "CORRELATION_P_METHODS", "DEPENDENT_CORRELATION_TESTS", "PAIRED_TESTS",
           "CIMethod",
           "CI_METHODS", "COMPARE_CI_METHODS", "BOOTSTRAP_CI_METHODS", "EVALUATION_FORMATS", "TABLE_SUFFIXES",
           "FIGURE_SUFFIXES", "HTML_SUFFIXES", "OUTPUT_FORMAT_SUFFIXES", "SURFACE_OUTPUT_SUFFIXES",
           "COMPARE_OUTPUT_SUFFIXES", "LATEX_FITS", "TABLE_DIGITS", "SIGNIFICANCE_METRICS", "SIGNIFICANCE_FORMATS",
           "CLI_ALIASES", "MOS_METHODS", "SCREEN_METHODS", "RATING_LAYOUTS", "SUBJECT_VARIANCES", "Interval",
           "Either", "SEED", "N_RESAMPLES", "ALPHA", "GRID_RES", "CONFIDENCE_LEVEL", "N_RATINGS", "BREAKDOWN_MIN_N",
           "BREAKDOWN_FORMATS", "describe_rule",
           "check_choice", "check_param", "validate_params"]

#: Global correlations with MOS (PLCC after the fitted mapping; ``plcc_raw`` unmapped).
CORRELATIONS = ("srocc", "krcc", "plcc", "plcc_raw")
#: Correlations with a paired bootstrap and a comparison of two models (:func:`iqa_eval.compare_correlations`).
PAIRED_CORRELATIONS = ("srocc", "plcc", "krcc")
#: Correlation forms of GMC, in the reference's order.
GMC_METHODS = ("srocc", "plcc", "krcc")
#: Monotonic mappings fitted before PLCC and the error measures.
MAPPINGS = ("logistic4", "logistic5", "poly3", "linear", "none", "vmaf", "vqeg5")
#: What to do with pairs holding NaN/inf.
NAN_POLICIES = ("propagate", "omit", "raise")
#: Field delimiters of a text table: sniffed (``auto``) or given (``tab``, ``whitespace`` = runs of blanks).
DELIMITERS = ("auto", ",", ";", "tab", "|", "whitespace")
#: GMC distribution regulators.
REGULATORS = ("auto", "gaussian", "lds", "none")
#: Ranks of GMC's SROCC form: dense (the reference) or average (scipy's rankdata).
RANKS = ("dense", "average")
#: GMC engine backends.
BACKENDS = ("auto", "numba", "numpy", "cupy", "dask")
#: Multiple-comparison handling over the cells of a difference surface.
ADJUSTMENTS = ("maxt", "fdr", "none")
#: Bandwidth selection of the kernel surface.
BANDWIDTH_METHODS = ("cv_ls", "aic")
#: Published GMC configurations (:data:`iqa_eval.gmc.PRESETS`).
GMC_PRESETS = ("livec", "kadid10k", "pipal", "spaq")
#: Output formats of the paper table (:meth:`iqa_eval.Benchmark.format`, ``iqa-eval bench --format``).
BENCH_FORMATS = ("table", "csv", "json", "markdown", "html", "latex")
#: Metrics with a cell per dataset in the paper table (the columns it can show).
BENCH_METRICS = ("srocc", "krcc", "plcc", "rmse")
#: How a wide LaTeX table is fitted to the page (``bench --fit``): scaled to ``\\linewidth`` when wider
#: than the text ('auto'), always ('resize'), or never ('none').
LATEX_FITS = ("auto", "resize", "none")
#: Metrics of the significance matrix (those with a paired test: :func:`iqa_eval.studies.significance.significance_matrix`).
SIGNIFICANCE_METRICS = ("srocc", "plcc")
#: Formats of the significance matrix (``bench --significance FILE``: from the file's ending).
SIGNIFICANCE_FORMATS = ("table", "csv", "json", "markdown", "html", "latex")
#: Text formats of the score table (:func:`iqa_eval.format_evaluation`, ``iqa-eval score --format``).
EVALUATION_FORMATS = ("table", "csv", "json", "markdown", "latex")
#: How several input files are aligned (:func:`iqa_eval.load_dataset`, ``--join``).
JOINS = ("auto", "key", "order")
#: File endings read as tables (:func:`iqa_eval.read_table`); a directory given as input (or as
#: a ``bench`` dataset) is read as its files with these endings.
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".parquet", ".pq")
#: Static figure files (matplotlib); ``.html`` is the interactive (plotly) figure.
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")
#: An HTML page (the report).
HTML_SUFFIXES = (".html", ".htm")
#: Text output endings -> the format written into them (``-o scores.json`` writes JSON).
OUTPUT_FORMAT_SUFFIXES = {".csv": "csv", ".json": "json", ".md": "markdown", ".markdown": "markdown",
                          ".tex": "latex", ".latex": "latex", ".html": "html", ".htm": "html", ".txt": "table"}
#: What the GMC surfaces are written as: the grid, one interactive page, or static figures.
SURFACE_OUTPUT_SUFFIXES = (".csv", ".html") + FIGURE_SUFFIXES
#: What a comparison is written as: JSON, a page, figures, or text (``''``: a file with no ending).
COMPARE_OUTPUT_SUFFIXES = (".json", ".html") + FIGURE_SUFFIXES + (".txt", "")
#: NaN policies of whole-dataset analyses (``benchmark``, ``krasula``): rows are dropped with a note, or refused.
DATASET_NAN_POLICIES = ("omit", "raise")


class CIMethod(str, enum.Enum):
    """How confidence intervals (and the paired tests that go with them) are computed.

    ``ANALYTIC``: closed forms (Fisher z with Bonett–Wright variances, Williams' t with Zou's
    interval, the delta method on GMC influence values). ``PERCENTILE`` and ``BCA``: a seeded
    bootstrap of the images with percentile or bias-corrected accelerated intervals. A
    ``CIMethod`` compares equal to its value, so plain strings work everywhere.
    """

    ANALYTIC = "analytic"
    PERCENTILE = "percentile"
    BCA = "bca"

    def __str__(self) -> str:
        return self.value

    @property
    def is_bootstrap(self) -> bool:
        return self is not CIMethod.ANALYTIC


#: Every interval method, as accepted by :func:`iqa_eval.evaluate`.
CI_METHODS = tuple(m.value for m in CIMethod)
#: The bootstrap interval methods (:func:`iqa_eval.bootstrap_ci`).
BOOTSTRAP_CI_METHODS = ("percentile", "bca")
#: The interval methods of :func:`iqa_eval.compare_models` (BCa needs a jackknife per cell:
#: not offered there).
COMPARE_CI_METHODS = ("analytic", "percentile")

#: How a MOS is made from raw ratings (:func:`iqa_eval.subjective.compute_mos`): the plain mean,
#: or the subject model's maximum-likelihood true quality (P.913 clause 12; Li et al. 2020).
MOS_METHODS = ("mean", "mle")
#: Observer screening before the MOS: none, BT.500-14 Annex 2 §2.3.1 (beta2), P.913 correlation.
SCREEN_METHODS = ("none", "bt500", "p913")
#: Inconsistency estimates of the subject model: maximum likelihood (sureal), or each subject's
#: residual variance over its residual degrees of freedom (leverage-corrected; never collapses to 0).
SUBJECT_VARIANCES = ("ml", "corrected")
#: Shapes of a raw-ratings table: a row per rating (long) or a column per subject (wide).
RATING_LAYOUTS = ("auto", "long", "wide")

#: Multiplicity control over the comparisons with each dataset's best (:func:`iqa_eval.benchmark`).
MULTIPLICITY = ("none", "holm")
#: Alternative hypotheses of the correlation tests (scipy's ``alternative=``; 'greater': positive association).
ALTERNATIVES = ("two-sided", "greater", "less")
#: p-value methods of SROCC/KRCC: 'auto' (KRCC: scipy's rule; SROCC: exact for n <= 9, else t),
#: 'asymptotic' (t / normal), 'exact' (every permutation), 'permutation' (SROCC, seeded Monte Carlo).
CORRELATION_P_METHODS = ("auto", "asymptotic", "exact", "permutation")
#: cocor's tests of two overlapping dependent correlations (:mod:`iqa_eval.stats.dependent_correlations`).
DEPENDENT_CORRELATION_TESTS = ("pearson1898", "hotelling1940", "williams1959", "olkin1967", "dunn1969",
                               "hendrickson1970", "steiger1980", "meng1992", "hittner2003", "zou2007")
#: The paired test of two models' correlations in ``evaluate``/``compare_models``/``benchmark`` (``--test``):
#: the tests above with a p-value (zou2007 is an interval: it is the analytic ``ci_low``/``ci_high`` already).
PAIRED_TESTS = tuple(t for t in DEPENDENT_CORRELATION_TESTS if t != "zou2007")
#: Which p-value of the Friedman test decides (:func:`iqa_eval.stats.posthoc.friedman_test`).
FRIEDMAN_METHODS = ("auto", "exact", "monte-carlo", "iman-davenport", "chi2")
#: Post-hoc tests after the Friedman test (:func:`iqa_eval.stats.posthoc.posthoc`, ``bench --posthoc``).
POSTHOC_TESTS = ("nemenyi", "wilcoxon-holm", "bayes")

#: Earlier spellings the command line still accepts: option name -> {old: new}.
CLI_ALIASES = {
    "method": {"srcc": "srocc"},
    "ci": {"fisher": "analytic", "bootstrap": "percentile"},
}


class Interval:
    """A real (or integral) range for :func:`validate_params`, e.g. ``Interval(0, 1, closed='neither')``."""

    def __init__(self, low=None, high=None, *, closed: str = "both", integral: bool = False):
        self.low, self.high, self.closed, self.integral = low, high, closed, integral

    def __contains__(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if not math.isfinite(float(value)):  # before int(): int(nan) is a ValueError
            return False
        if self.integral and int(value) != value:
            return False
        if self.low is not None:
            if value < self.low or (value == self.low and self.closed in ("right", "neither")):
                return False
        if self.high is not None:
            if value > self.high or (value == self.high and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self) -> str:
        kind = "an integer" if self.integral else "a number"
        lo = "" if self.low is None else (f" > {self.low}" if self.closed in ("right", "neither")
                                          else f" >= {self.low}")
        hi = "" if self.high is None else (f" < {self.high}" if self.closed in ("left", "neither")
                                           else f" <= {self.high}")
        return kind + lo + (" and" if lo and hi else "") + hi


class Either:
    """A rule, or an object that ``accepts(value)`` approves (``what`` names it in messages).

    For parameters that take a name or a ready object, e.g. ``mapping='logistic4'`` or a
    ``MappingFit``: ``Either(MAPPINGS, is_fit, "a MappingFit")``. The command line uses ``rule``.
    """

    def __init__(self, rule, accepts, what: str):
        self.rule, self.accepts, self.what = rule, accepts, what


class _SignificanceLevel(Interval):
    """(0, 1), and ``1 - alpha < 1`` in double precision: an alpha below about 1.1e-16 leaves no
    confidence level ``1 - alpha`` to compute intervals with (it rounds to 1)."""

    def __init__(self):
        super().__init__(0, 1, closed="neither")

    def __contains__(self, value) -> bool:
        return super().__contains__(value) and 1.0 - float(value) < 1.0

    def __str__(self) -> str:
        return super().__str__() + " with 1 - alpha < 1 in double precision"


#: Rules shared by many functions (one declaration, so their bounds cannot drift apart).
SEED = Interval(0, None, integral=True)
N_RESAMPLES = Interval(1, None, integral=True)
ALPHA = _SignificanceLevel()
GRID_RES = Interval(2, None, integral=True)
CONFIDENCE_LEVEL = Interval(0, 1, closed="neither")
#: A number of ratings per image given as one constant (a mean of fewer than 2 has no spread).
N_RATINGS = Interval(2, None, integral=True)
#: Fewest images a group or split of a breakdown is scored on (SROCC needs 3).
BREAKDOWN_MIN_N = Interval(3, None, integral=True)
#: Formats of the breakdown tables (per group, over splits, cross-dataset).
BREAKDOWN_FORMATS = ("table", "csv", "json", "markdown", "html", "latex")
#: Decimals printed in a table (``--digits``).
TABLE_DIGITS = Interval(1, 8, integral=True)


def describe_rule(rule) -> str:
    """The words after ``must be`` in the one message form: ``'one of a, b'`` or ``'a number > 0'``."""
    if isinstance(rule, Either):
        return f"{describe_rule(rule.rule)} or {rule.what}"
    if isinstance(rule, Interval):
        return str(rule)
    if isinstance(rule, type) and issubclass(rule, enum.Enum):
        rule = tuple(m.value for m in rule)
    return "one of " + ", ".join(map(str, rule))


def check_choice(name: str, value, allowed):
    """``value`` if it is one of ``allowed`` (a tuple of strings or an Enum class), else InputError.

    Enum members are returned as members (a string names one by its value).

    Examples
    --------
    >>> check_choice("mapping", "poly3", MAPPINGS)
    'poly3'
    >>> check_choice("ci", "bca", CIMethod)
    <CIMethod.BCA: 'bca'>
    """
    if isinstance(allowed, type) and issubclass(allowed, enum.Enum):
        try:
            return allowed(value)
        except ValueError:
            pass
    elif isinstance(value, str) and value in allowed:
        return value
    raise InputError(f"{name} must be {describe_rule(allowed)}; got {value!r}")


def check_param(name: str, value, rule):
    """``value`` checked against ``rule`` (a tuple of values, an Enum class or an :class:`Interval`).

    The one check behind :func:`validate_params`, for the few values that are only known inside
    a function (a field of an options object, an element of a list). The message has the one
    form ``<name> must be <rule>; got <value>``.

    Examples
    --------
    >>> check_param("alpha", 1.5, ALPHA)
    Traceback (most recent call last):
    ...
    iqa_eval.errors.InputError: alpha must be a number > 0 and < 1 with 1 - alpha < 1 in double precision; got 1.5
    """
    if isinstance(rule, Either):
        if rule.accepts(value):
            return value
        try:
            return check_param(name, value, rule.rule)
        except InputError:
            raise InputError(f"{name} must be {describe_rule(rule)}; got {value!r}") from None
    if isinstance(rule, Interval):
        if value not in rule:
            raise InputError(f"{name} must be {rule}; got {value!r}")
        return value
    return check_choice(name, value, rule)


def validate_params(rules: dict):
    """Decorator: check the named arguments of every call against ``rules`` before the body runs.

    ``rules`` maps an argument name to a tuple of allowed strings, an Enum class or an
    :class:`Interval`. The first argument that breaks its rule raises :class:`InputError`
    naming the argument, the allowed values and the value given, in one form:
    ``<name> must be <rule>; got <value>``. Enum-valued arguments reach the function as
    members. ``None`` passes when it is the parameter's default. The rules are kept on the
    wrapper as ``__parameter_rules__``: the command line builds its option types (choices and
    bounds) from them, so an option cannot drift from the library's rule.

    Examples
    --------
    >>> @validate_params({"alpha": Interval(0, 1, closed="neither")})
    ... def level(*, alpha=0.05):
    ...     return 1 - alpha
    >>> level(alpha=0.1)
    0.9
    """
    def decorate(func):
        signature = inspect.signature(func)
        unknown = set(rules) - set(signature.parameters)
        if unknown:
            raise TypeError(f"validate_params: {func.__name__} has no argument(s) {sorted(unknown)}")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            for name, rule in rules.items():
                value = bound.arguments[name]
                if value is None and signature.parameters[name].default is None:
                    continue
                bound.arguments[name] = check_param(name, value, rule)
            return func(*bound.args, **bound.kwargs)

        wrapper.__wrapped__ = func
        wrapper.__parameter_rules__ = dict(rules)   # read by the CLI (its option types) and the tests
        return wrapper
    return decorate
