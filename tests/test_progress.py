"""Observing the library's progress (iqa_eval._runtime.progress.observe_progress): what a
caller sees of a real GMC surface computation, and that threads see only their own work."""
from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest

from iqa_eval._runtime.progress import Progress, observe_progress

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "simulated_study.csv"
SURFACE = {"preset": "", "std_source": "column", "regulator": "auto", "std_scale": 1.0, "sampling": "grid",
           "grid": "4x4", "samples": 100, "seed": 0}


def _stages(reports):
    """The reports split at each bar's start (its first report, 0.0)."""
    stages = []
    for fraction, label in reports:
        if fraction == 0.0:
            stages.append([])
        stages[-1].append((fraction, label))
    return stages


def test_a_surface_reports_each_stage_monotone_to_one_and_no_number_changes():
    from iqa_eval.studio import work

    data = work.load([EXAMPLE])
    reports = []
    with observe_progress(lambda fraction, label: reports.append((fraction, label))):
        seen = work.surfaces(data, SURFACE)
    plain = work.surfaces(data, SURFACE)
    pd.testing.assert_frame_equal(seen.surface, plain.surface)
    stages = _stages(reports)
    assert stages and reports[0] == (0.0, "GMC pairs")
    for stage in stages:
        fractions = [f for f, _ in stage]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 2
        assert {label for _, label in stage} == {"GMC pairs"}
    assert max(len(s) for s in stages) > 3          # the bar moves within a stage, not only at its end
    # outside the block nothing is reported
    n = len(reports)
    with Progress(3, "after") as bar:
        bar.update(3)
    assert len(reports) == n


def test_only_the_outermost_bar_reports_and_nested_observers_all_see_it():
    outer, inner = [], []
    with observe_progress(lambda f, label: outer.append((f, label))):
        with observe_progress(lambda f, label: inner.append((f, label)) or outer.append("inner first")):
            with Progress(2, "bootstrap") as bar:
                for _ in range(2):
                    with Progress(5, "GMC pairs") as nested:
                        nested.update(5)
                    bar.update(1)
    assert inner == [(0.0, "bootstrap"), (0.5, "bootstrap"), (1.0, "bootstrap")]
    assert outer == ["inner first", (0.0, "bootstrap"), "inner first", (0.5, "bootstrap"),
                     "inner first", (1.0, "bootstrap")]


def test_two_threads_see_only_their_own_progress():
    barrier = threading.Barrier(2, timeout=60)
    seen = {"a": [], "b": []}

    def run(name, total):
        with observe_progress(lambda f, label: seen[name].append((f, label))):
            with Progress(total, name) as bar:
                for _ in range(total):
                    barrier.wait()          # the two bars move in lockstep
                    bar.update(1)
                    barrier.wait()

    threads = [threading.Thread(target=run, args=(name, 4)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    for name in ("a", "b"):
        assert seen[name] == [(k / 4, name) for k in range(5)]


def test_an_observer_that_stops_the_work_at_its_start_leaves_no_bar_behind():
    """A callback raising at a bar's first report (a job cancelled before it started) must not
    leave that bar as this thread's reporter: the next bar reports again."""
    from iqa_eval._runtime.progress import Progress, observe_progress

    class Stop(BaseException):
        pass

    def stop(fraction, label):
        raise Stop

    with observe_progress(stop):
        with pytest.raises(Stop):
            with Progress(3, "first", enabled=False):
                pass
    seen = []
    with observe_progress(lambda fraction, label: seen.append((fraction, label))):
        with Progress(2, "second", enabled=False) as bar:
            bar.update()
    assert seen == [(0.0, "second"), (0.5, "second")]
