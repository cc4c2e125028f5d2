"""The studio's server-side sessions and work pool (iqa_eval.studio.sessions), with real threads:
a cached result is not recomputed, a cancelled job's result is thrown away, a queued one never
starts, a failure is one error line and the pool keeps working, sessions are separate folders."""
from __future__ import annotations

import threading

import pytest

from iqa_eval.errors import InputError
from iqa_eval.studio.sessions import SessionStore, new_session_id


@pytest.fixture
def store():
    s = SessionStore(workers=1, max_sessions=3)
    yield s
    s.close()


def test_results_are_cached_per_key(store):
    session = store.get(new_session_id())
    calls = []
    job = store.submit(session, "score", ("score", 1, "a"), "scores", lambda: calls.append(1) or "result")
    job.future.result(timeout=60)
    assert job.result == "result" and calls == [1]
    again = store.submit(session, "score", ("score", 1, "a"), "scores", lambda: calls.append(2) or "other")
    assert again.done and again.future is None and again.result == "result" and calls == [1]
    other = store.submit(session, "score", ("score", 1, "b"), "scores", lambda: calls.append(3) or "b")
    other.future.result(timeout=60)
    assert other.result == "b" and calls == [1, 3]


def test_cancel_discards_a_running_job_and_a_queued_one_never_starts(store):
    session = store.get(new_session_id())
    started, release, ran = threading.Event(), threading.Event(), []

    def slow():
        started.set()
        release.wait(60)
        return "late"

    running = store.submit(session, "surface", ("surface", 1), "GMC surfaces", slow)
    assert started.wait(60)
    queued = store.submit(session, "compare", ("compare", 1), "comparison", lambda: ran.append(1) or "x")
    store.cancel(queued)
    store.cancel(running)
    release.set()
    running.future.result(timeout=60)
    assert running.cancelled and running.result is None and ("surface", 1) not in session.cache
    assert queued.future.cancelled() and ran == []
    # the pool still works
    after = store.submit(session, "score", ("score", 2), "scores", lambda: 42)
    assert after.future.result(timeout=60) is None and after.result == 42


def test_a_failure_is_one_error_line_and_the_pool_keeps_working(store):
    session = store.get(new_session_id())

    def bad_input():
        raise InputError("no MOS column", file="x.csv")

    def bug():
        raise ZeroDivisionError("division by zero")

    one = store.submit(session, "score", ("score", 1), "scores", bad_input)
    one.future.result(timeout=60)
    assert one.error == "error: x.csv: no MOS column"
    two = store.submit(session, "surface", ("surface", 1), "GMC surfaces", bug)
    two.future.result(timeout=60)
    assert two.error.startswith("error: internal error (ZeroDivisionError: division by zero)")
    three = store.submit(session, "score", ("score", 2), "scores", lambda: "fine")
    three.future.result(timeout=60)
    assert three.result == "fine" and three.error is None


def test_sessions_are_separate_and_the_oldest_is_dropped(store):
    ids = [new_session_id() for _ in range(4)]
    sessions = [store.get(i) for i in ids]
    assert len({s.folder for s in sessions}) == 4
    assert all(s.folder.parent == store.root for s in sessions)
    assert len(store) == 3 and not sessions[0].folder.exists() and sessions[3].folder.is_dir()
    assert store.get(ids[3]) is sessions[3]
    for bad in ("../etc", "short", "", None, "a" * 22 + "/x"):
        with pytest.raises(PermissionError):
            store.get(bad)


@pytest.mark.parametrize("host, quiet", [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True),
                                         ("localhost", True), ("0.0.0.0", False), ("::", False),
                                         ("192.168.1.4", False), ("example.org", False)])
def test_serve_warns_unless_the_address_is_loopback(host, quiet):
    from iqa_eval.cli.serve import _loopback

    assert _loopback(host) is quiet


# -- the project file --------------------------------------------------------------------
EXAMPLE = __import__("pathlib").Path(__file__).resolve().parents[1] / "examples" / "simulated_study.csv"
PAGE = {"mapping": "linear", "ci": "analytic", "n-resamples": 200, "alpha": 0.1, "seed": 3, "score-format": "latex",
        "preset": None, "std-source": "beta", "regulator": "gaussian", "std-scale": 1.5, "sampling": "samples",
        "grid": "7x9", "samples": 40, "view-method": "plcc", "view-models": ["B"], "surface-format": "svg",
        "model-a": "B", "model-b": "A", "compare-method": "krcc", "compare-grid": "6x6", "adjust": "fdr"}


def _score_opts(page):
    return {"mapping": page["mapping"], "ci": page["ci"], "n_resamples": page["n-resamples"],
            "alpha": page["alpha"], "seed": page["seed"]}


def test_a_project_restores_the_tables_options_and_scores_in_a_fresh_session(store):
    import pandas as pd

    from iqa_eval.studio import app, project, work

    one = store.get(new_session_id())
    files, labels = app._write_upload(one, [("my study.csv", EXAMPLE.read_bytes())])
    app._load_session(store, one, files, labels, "order")
    body = project.save_project(one, {**PAGE, "not-an-option": 1})
    # a fresh session, through the same steps as the page's "Load project"
    two = store.get(new_session_id())
    got = project.read_project(body, max_upload=10 ** 6)
    assert got["source"] is None and got["join"] == "order" and got["options"] == PAGE
    files2, labels2 = app._write_upload(two, got["tables"])
    app._load_session(store, two, files2, labels2, got["join"], None)
    assert labels2 == labels == ["my_study.csv"] and files2[0].parent == two.folder != one.folder
    assert files2[0].read_bytes() == EXAMPLE.read_bytes()
    assert two.load_options == one.load_options == {"join": "order"} and two.source is None
    assert two.data.models == one.data.models
    first = work.score(one.data, _score_opts(PAGE)).table
    again = work.score(two.data, _score_opts(got["options"])).table
    pd.testing.assert_frame_equal(first, again)
    assert work.score_export(work.score(two.data, _score_opts(got["options"])), "csv") == \
        work.score_export(work.score(one.data, _score_opts(PAGE)), "csv")


def test_a_project_names_a_listed_table_by_its_label_never_its_path(store):
    from iqa_eval.studio import app, project

    one = store.get(new_session_id())
    app._load_session(store, one, [EXAMPLE], [str(EXAMPLE)], "auto", source="examples/simulated_study.csv")
    body = project.save_project(one, {"seed": 1})
    assert str(EXAMPLE.parent) not in body.decode() and b"base64" not in body
    got = project.read_project(body, max_upload=10, sources=["x/other.csv", "examples/simulated_study.csv"])
    assert got["source"] == 1 and got["tables"] is None and got["options"] == {"seed": 1}
    with pytest.raises(InputError, match="does not list"):
        project.read_project(body, max_upload=10, sources=["x/other.csv"])


@pytest.mark.parametrize("body, match", [
    (b"\xff\xfe not json", "not JSON"),
    (b"[1, 2]", "format is not"),
    (b'{"format": "iqa-eval studio project", "version": 2, "tables": []}', "version 2"),
    (b'{"format": "iqa-eval studio project", "version": 1, "tables": []}', "lists no tables"),
    (b'{"format": "iqa-eval studio project", "version": 1, "join": "zip", "tables": [{"source": "a"}]}', "join"),
    (b'{"format": "iqa-eval studio project", "version": 1, "tables": [{"name": "a.csv", "base64": "@@"}]}',
     "not base64"),
    (b'{"format": "iqa-eval studio project", "version": 1, "tables": [{"name": "a.csv", "base64": "QUJD"}],'
     b' "options": {"mapping": "cubic"}}', "'mapping' has the value 'cubic'"),
    (b'{"format": "iqa-eval studio project", "version": 1, "tables": [{"name": "a.csv", "base64": "QUJD"}],'
     b' "options": {"seed": NaN}}', "'seed'"),
    (b'{"format": "iqa-eval studio project", "version": 1, "tables": [{"name": "a.csv", "base64": "QUJD"}],'
     b' "options": {"rm -rf": 1}}', "unknown option"),
    (b'{"format": "iqa-eval studio project", "version": 1, "tables": [{"name": "a.csv", "base64": "QUJDRA=="}]}',
     "4 bytes; the limit is 3"),
])
def test_a_bad_project_file_is_one_error_line(body, match):
    from iqa_eval.studio import project
    from iqa_eval.studio.sessions import _message

    with pytest.raises(InputError, match=match) as info:
        project.read_project(body, max_upload=3)
    line = _message(info.value)
    assert line.startswith("error: project: ") and "\n" not in line


# -- progress and cancel -----------------------------------------------------------------
SURFACE = {"preset": "", "std_source": "column", "regulator": "auto", "std_scale": 1.0, "sampling": "grid",
           "grid": "4x4", "samples": 100, "seed": 0}


def test_a_job_reports_its_progress_and_a_cancelled_one_stops_at_its_next_report(store):
    from iqa_eval._runtime.progress import observe_progress
    from iqa_eval.studio import work

    data = work.load([EXAMPLE])
    session = store.get(new_session_id())
    # uncancelled: the job's fraction and stage come from the library's own bar
    done = store.submit(session, "surface", ("surface", 1), "GMC surfaces", lambda: work.surfaces(data, SURFACE))
    done.future.result(timeout=300)
    assert done.ticked.is_set() and done.fraction == 1.0 and done.stage == "GMC pairs" and done.result is not None

    first, cancelled, ticks = threading.Event(), threading.Event(), []

    def watched():
        def watch(fraction, label):      # called before the job's own callback (innermost first)
            ticks.append(fraction)
            if not first.is_set():
                first.set()
                assert cancelled.wait(120)
        with observe_progress(watch):
            return work.surfaces(data, {**SURFACE, "seed": 1})

    job = store.submit(session, "surface", ("surface", 2), "GMC surfaces", watched)
    assert first.wait(300)               # the computation's first progress report has arrived
    store.cancel(job)
    cancelled.set()
    assert job.future.result(timeout=300) is None
    # it stopped at that report: no kernel call after it, no result, nothing cached, no error
    assert ticks == [0.0] and job.fraction is None and job.result is None and job.error is None
    assert ("surface", 2) not in session.cache
    after = store.submit(session, "score", ("score", 3), "scores", lambda: 42)
    after.future.result(timeout=60)
    assert after.result == 42


def test_the_scores_report_per_model_and_pair_and_a_cancel_stops_them(store):
    """The score table (no kernel of its own) reports after each model and each pair of models,
    so a cancel stops it there; observing changes no number."""
    from iqa_eval._runtime.progress import observe_progress
    from iqa_eval.studies.evaluation import evaluate
    from iqa_eval.studio import work

    data = work.load([EXAMPLE])
    opts = {"mapping": "logistic4", "ci": "analytic", "n_resamples": 1000, "alpha": 0.05, "seed": 0}
    seen = []
    with observe_progress(lambda fraction, label: seen.append((fraction, label))):
        observed = work.score(data, opts)
    k = len(data.models)
    assert [f for f, _ in seen] == [j / (k + k * (k - 1) // 2) for j in range(k + k * (k - 1) // 2 + 1)]
    assert {label for _, label in seen} == {"scores"}
    plain = evaluate(data, nan_policy="omit", pairwise=True)
    assert observed.table.equals(plain.table) and observed.pairwise.equals(plain.pairwise)

    session = store.get(new_session_id())
    first, cancelled, ticks = threading.Event(), threading.Event(), []

    def watched():
        def watch(fraction, label):
            ticks.append(fraction)
            if len(ticks) == 2:          # after the first model: hold until cancelled
                first.set()
                assert cancelled.wait(120)
        with observe_progress(watch):
            return work.score(data, opts)

    job = store.submit(session, "score", ("score", 1), "scores", watched)
    assert first.wait(300)
    store.cancel(job)
    cancelled.set()
    assert job.future.result(timeout=300) is None
    assert ticks == [0.0, ticks[1]] and job.result is None and job.error is None and ("score", 1) not in session.cache
