"""Every command-line option that sets a library parameter has that parameter's rule: the same
choices, the same bounds with the same open or closed ends, the same default; and every
command's --help lists its options in the sections Input / Statistics / GMC / Output / Runtime."""
from __future__ import annotations

import enum
import inspect

import click
import pytest

from iqa_eval.cli._common import SECTIONS, Command, LibraryOption, library_rule
from iqa_eval.cli.main import COMMANDS, cli
from iqa_eval.options import Either, Interval

from helpers import run_cli

#: Options that are deliberately not library parameters (parsed by the command itself).
#: Everything else named like a library option must be a LibraryOption.
STATISTICS_NAMES = {"n_resamples", "alpha", "seed", "samples", "grid_res", "mapping", "ci", "method",
                    "compare_method", "adjust", "multiplicity", "min_images", "max_compare", "bw_method",
                    "backend", "join", "weight_plus", "std_scale", "std_phi", "regulator", "ks", "sigma",
                    "ranks", "n_images", "test", "alternative"}


def _commands():
    ctx = click.Context(cli)
    return [pytest.param(cli.get_command(ctx, name), id=name) for name in COMMANDS]


def _params(command):
    ctx = click.Context(command, info_name=command.name)
    params = command.get_params(ctx)
    command._prepare(ctx)
    return params


def _expected(rule):
    """(click type class, min, max, min_open, max_open) or the choices, written from the rule."""
    if isinstance(rule, Either):
        rule = rule.rule
    if isinstance(rule, Interval):
        return ((click.IntRange if rule.integral else click.FloatRange), rule.low, rule.high,
                rule.closed in ("right", "neither"), rule.closed in ("left", "neither"))
    if isinstance(rule, type) and issubclass(rule, enum.Enum):
        return tuple(m.value for m in rule)
    return tuple(rule)


def _actual(type_):
    if isinstance(type_, (click.IntRange, click.FloatRange)):
        return type(type_), type_.min, type_.max, type_.min_open, type_.max_open
    assert isinstance(type_, click.Choice), type_
    return tuple(type_.choices)


@pytest.mark.parametrize("command", _commands())
def test_every_cli_option_has_its_library_parameters_bounds(command):
    assert isinstance(command, Command)
    checked = 0
    for p in _params(command):
        if p.name in STATISTICS_NAMES:
            assert isinstance(p, LibraryOption), f"{command.name} --{p.name}: typed by hand, not from the library"
        if not isinstance(p, LibraryOption):
            continue
        rule, default = library_rule(p.library, p.library_param)
        assert _actual(p.type) == _expected(rule), f"{command.name} {p.opts[0]}"
        if default is not inspect.Parameter.empty and not p._explicit_default:
            assert p.default == default
        checked += 1
    assert checked >= 2


def test_the_drifted_bounds_are_the_librarys_now():
    # the examples: --n-resamples 100/100/20 and --samples 3/4 while the library said otherwise
    ctx = click.Context(cli)
    bounds = {}
    for name in ("score", "bench", "compare", "surface", "report"):
        for p in _params(cli.get_command(ctx, name)):
            if p.name in ("n_resamples", "samples"):
                bounds[name, p.name] = p.type.min
    assert bounds == {("score", "n_resamples"): 1, ("bench", "n_resamples"): 1, ("compare", "n_resamples"): 20,
                      ("surface", "samples"): 1, ("report", "samples"): 1}


def test_an_out_of_bounds_option_is_refused_by_its_library_rule(tmp_path):
    code, out, err = run_cli("simulate", "-n", "9")
    assert code == 2 and "'-n' / '--n-images': 9 is not in the range x>=10" in err, err


@pytest.mark.parametrize("command", _commands())
def test_every_option_has_a_section(command):
    for p in _params(command):
        if isinstance(p, click.Option):
            assert p.section in SECTIONS, f"{command.name} {p.opts[0]}: section {p.section!r}"


def test_surface_help_has_sections():
    code, out, err = run_cli("surface", "--help")
    assert code == 0, err
    headings = [line[:-1] for line in out.splitlines() if line and not line[0].isspace() and line.endswith(":")]
    assert headings == ["Input", "Statistics", "GMC", "Output", "Runtime"], headings

    def block(name):
        lines = out.splitlines()
        start = lines.index(name + ":") + 1
        end = next((k for k in range(start, len(lines)) if lines[k] and not lines[k][0].isspace()), len(lines))
        return "\n".join(lines[start:end])

    assert "--mos-col" in block("Input") and "--nan-policy" in block("Input")
    assert "--seed" in block("Statistics")
    assert "--std-scale" in block("GMC") and "--grid-res" in block("GMC") and "--samples" in block("GMC")
    assert "--points-out" in block("Output") and "--output" in block("Output")
    assert "--debug" in block("Runtime") and "--help" in block("Runtime")
    assert "x>=2" in block("GMC")                     # --grid-res bound, from the library's rule
