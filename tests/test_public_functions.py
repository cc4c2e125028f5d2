"""Every public function validates its options through the one mechanism (as scikit-learn's
``sklearn/tests/test_public_functions.py`` does for its ``validate_params``).

For each public callable: every option parameter (a default that is a string or a number,
not a bool) has a declared rule; and for each rule, an invalid value raises
``InputError`` with the one message form ``<name> must be <rule>; got <value>`` before
any data is looked at (the data arguments are ``None`` here).
"""
from __future__ import annotations

import enum
import importlib
import importlib.util
import inspect
import pathlib
import re

import pytest

from iqa_eval.errors import InputError
from iqa_eval.options import Either, Interval, describe_rule

MODULES = ["iqa_eval", "iqa_eval.gmc", "iqa_eval.stats.metrics"]
HAVE_TORCH = importlib.util.find_spec("torch") is not None
if HAVE_TORCH:
    MODULES.append("iqa_eval.training.losses")

#: Public classes that hold results or data (their fields are outputs, not options), and
#: exceptions/enums; every other public class is an options class whose rules are checked.
NOT_OPTIONS = {"Dataset", "CorrelationResult", "ErrorResult", "ConfidenceInterval", "MappingFit",
               "PairedComparison", "Evaluation", "GMCResult", "Comparison", "Report", "CIMethod",
               "InputError", "IQAEvalWarning", "Benchmark", "DatasetSpec", "FriedmanResult",
               "KrasulaResult", "GMCPoints", "GMCSurface", "PLCCLoss", "NiNLoss", "MonotonicityLoss",
               "GroupEvaluation", "SplitEvaluation", "CrossDataset", "Ratings", "MOSResult", "Screening",
               "SubjectModelResult", "NoiseCeiling"}


def _public():
    seen, out = set(), []
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if not HAVE_TORCH and module_name == "iqa_eval" and module._LAZY.get(name) == "training.losses":
                continue   # the [torch] extra is not installed: the losses are walked where it is
            obj = getattr(module, name)
            if not callable(obj) or name in NOT_OPTIONS or id(obj) in seen:
                continue
            seen.add(id(obj))
            out.append(pytest.param(obj, id=f"{module_name}.{name}"))
    return out


PUBLIC = _public()


def _rules(obj) -> dict:
    if inspect.isclass(obj):
        if hasattr(obj, "rules"):                       # GMCOptions: rules on its fields
            return obj.rules()
        return getattr(obj.__init__, "__parameter_rules__", {})
    return getattr(obj, "__parameter_rules__", {})


def _signature(obj):
    return inspect.signature(obj.__init__ if inspect.isclass(obj) else obj)


def _is_option(parameter) -> bool:
    d = parameter.default
    return isinstance(d, (str, int, float)) and not isinstance(d, bool)


def _invalid(rule):
    """A value that breaks ``rule``."""
    if isinstance(rule, Either):
        rule = rule.rule
    if isinstance(rule, Interval):
        if rule.low is not None:
            return rule.low if rule.closed in ("right", "neither") else rule.low - 1
        if rule.high is not None:
            return rule.high if rule.closed in ("left", "neither") else rule.high + 1
        return float("nan")
    assert isinstance(rule, tuple) or (isinstance(rule, type) and issubclass(rule, enum.Enum)), rule
    return "not-an-option"


def test_the_walk_finds_the_api():
    names = {p.id.rsplit(".", 1)[1] for p in PUBLIC}
    assert {"evaluate", "srocc", "fit_mapping", "bootstrap_ci", "compare_models", "correlation_surfaces",
            "gmc_points", "distribution_weights", "GMCOptions", "load_dataset", "build_report"} <= names
    assert sum(bool(_rules(p.values[0])) for p in PUBLIC) >= 30


@pytest.mark.parametrize("func", PUBLIC)
def test_every_option_parameter_has_a_rule(func):
    rules = _rules(func)
    options = [p.name for p in _signature(func).parameters.values() if _is_option(p)]
    missing = [name for name in options if name not in rules]
    assert not missing, f"{func.__name__}: option parameter(s) without a declared rule: {missing}"


@pytest.mark.parametrize("func", [p for p in PUBLIC if _rules(p.values[0])])
def test_invalid_options_give_the_one_message_form(func):
    rules = _rules(func)
    parameters = _signature(func).parameters
    required = [p.name for p in parameters.values() if p.default is p.empty and p.name != "self"
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    for name, rule in rules.items():
        value = _invalid(rule)
        # data arguments None (never looked at); a required option (``kind``) a valid value
        given = {r: rules[r][0] if r in rules else None for r in required if r != name}
        with pytest.raises(InputError) as info:
            func(**given, **{name: value})
        # one form, the same words for every function: name, rule, the value given
        assert str(info.value) == f"{name} must be {describe_rule(rule)}; got {value!r}"


def test_rules_follow_the_wrapped_signature():
    # validate_params keeps the signature (docs, help) and refuses a rule for a missing argument
    from iqa_eval import evaluate
    from iqa_eval.options import validate_params

    assert "n_resamples" in inspect.signature(evaluate).parameters
    with pytest.raises(TypeError, match="no argument"):
        validate_params({"alpha": Interval(0, 1)})(lambda *, beta=1: beta)


def test_no_hand_written_choice_messages():
    # "must be one of" is written in one place: options.check_choice / describe_rule
    package = pathlib.Path(importlib.import_module("iqa_eval").__file__).parent
    offenders = [f"{path.relative_to(package)}:{n}"
                 for path in sorted(package.rglob("*.py")) if path.name != "options.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"must be one of", line) and not line.lstrip().startswith((">>>", "#"))
                 and "InputError:" not in line]
    assert not offenders, offenders
