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
