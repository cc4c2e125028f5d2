"""Server-side state of the studio: one :class:`Session` per browser tab, and the work pool.

A browser holds nothing but an unguessable session id (``secrets.token_urlsafe``); its files,
data and results live here, keyed by that id, so two browsers never see each other's data and
no path or result travels back in a request. Computations run in a small thread pool (never on
the request thread); a page polls for their state. Results are cached per session under a key
of the data version and every option that changes a number.
"""
from __future__ import annotations

import contextvars
import re
import secrets
import shutil
import tempfile
import threading
import time
import traceback
from collections import OrderedDict
from concurrent.futures import CancelledError, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Job", "Session", "SessionStore", "new_session_id"]

_SID = re.compile(r"^[A-Za-z0-9_-]{22,64}$")


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


class _Cancelled(BaseException):
    """Raised at a cancelled job's next progress report, to stop its computation there. A
    BaseException: the library's ``except Exception`` handlers must not take it for a failure."""


@dataclass
class Job:
    """One computation: its cache key, the future running it, and what became of it."""

    kind: str
    key: tuple
    label: str
    future: object = None
    started: float = field(default_factory=time.monotonic)
    cancelled: bool = False
    result: object = None
    error: str | None = None
    delivered: bool = False
    fraction: float | None = None      # of the running stage, from the library's progress (None: none yet)
    stage: str = ""                    # that stage's label
    ticked: threading.Event = field(default_factory=threading.Event)   # set at the first progress report

    @property
    def done(self) -> bool:
        return self.cancelled or self.future is None or self.future.done()

    def elapsed(self) -> float:
        return time.monotonic() - self.started


@dataclass
class Session:
    """Everything one browser tab has: its upload folder, its data and its results."""

    sid: str
    folder: Path
    data: object = None                 # the loaded, oriented Dataset
    files: list = field(default_factory=list)     # the input files (paths on this machine)
    file_labels: list = field(default_factory=list)  # what the CLI line shows for them
    load_options: dict = field(default_factory=dict)
    source: str | None = None          # the label of the listed table loaded, None for an upload
    data_version: int = 0
    notes: tuple = ()
    jobs: dict = field(default_factory=dict)        # kind -> the latest Job of that kind
    cache: OrderedDict = field(default_factory=OrderedDict)   # key -> result
    versions: dict = field(default_factory=dict)    # kind -> how many results were delivered
    current: dict = field(default_factory=dict)     # kind -> (key, result) shown on the page
    errors: list = field(default_factory=list)      # failures of jobs, in order (the page shows the new ones)
    lock: threading.RLock = field(default_factory=threading.RLock)
    last_used: float = field(default_factory=time.monotonic)

    def cached(self, key):
        with self.lock:
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
        return None


class SessionStore:
    """Sessions by id (at most ``max_sessions``, least recently used evicted with their files)
    and the pool of ``workers`` threads that runs every session's computations."""

    def __init__(self, *, max_sessions: int = 64, workers: int = 2, cache_size: int = 24):
        self.max_sessions, self.cache_size = int(max_sessions), int(cache_size)
        self._sessions: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=int(workers), thread_name_prefix="studio-work")
        self.root = Path(tempfile.mkdtemp(prefix="iqa-eval-studio-"))

    def get(self, sid) -> Session:
        """The session of ``sid``, created on first use. A malformed id is refused (it names a
        folder, so only the characters of :func:`new_session_id` are accepted)."""
        if not isinstance(sid, str) or not _SID.match(sid):
            raise PermissionError("no valid session id; reload the page")
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                folder = self.root / sid
                folder.mkdir(mode=0o700)
                session = self._sessions[sid] = Session(sid, folder)
                while len(self._sessions) > self.max_sessions:
                    _, old = self._sessions.popitem(last=False)
                    self._drop(old)
            self._sessions.move_to_end(sid)
            session.last_used = time.monotonic()
            return session

    def __len__(self):
        return len(self._sessions)

    @staticmethod
    def _drop(session: Session) -> None:
        for job in session.jobs.values():
            job.cancelled = True
            if job.future is not None:
                job.future.cancel()
        shutil.rmtree(session.folder, ignore_errors=True)

    def submit(self, session: Session, kind: str, key: tuple, label: str, func) -> Job:
        """Run ``func()`` for ``session`` off the request thread, unless its result is cached
        (then the job is done at once). A job of the same kind still running is cancelled: only
        the latest request of a kind is wanted."""
        with session.lock:
            old = session.jobs.get(kind)
            if old is not None and old.key == key and not old.done:
                return old                      # the same computation is already running
            if old is not None and not old.done:
                self.cancel(old)
                old.delivered = True            # superseded, not a failure to report
            job = Job(kind, key, label)
            hit = session.cached(key)
            if hit is not None:
                job.result = hit
                session.jobs[kind] = job
                return job
            session.jobs[kind] = job
            job.future = self.pool.submit(self._run, session, job, func)
            return job

    def _run(self, session: Session, job: Job, func):
        from .._runtime.progress import observe_progress

        if job.cancelled:
            return

        def tick(fraction, label):
            # called between kernel calls (never inside a numba parallel region): stopping here
            # leaves no half-written state behind but the job's own arrays
            if job.cancelled:
                raise _Cancelled
            job.fraction, job.stage = fraction, label
            job.ticked.set()

        def observed():
            with observe_progress(tick):
                return func()

        try:
            # a fresh context per job: the pool's threads would otherwise carry one job's
            # progress state into the next
            result = contextvars.Context().run(observed)
        except _Cancelled:
            return
        except Exception as exc:   # one computation's failure is a message, never a dead server
            job.error = _message(exc)
            if not _expected(exc):
                traceback.print_exception(exc)
            return
        with session.lock:
            if job.cancelled:
                return
            job.result = result
            session.cache[job.key] = result
            while len(session.cache) > self.cache_size:
                session.cache.popitem(last=False)

    @staticmethod
    def cancel(job: Job) -> None:
        """Cancel a job: a queued one never starts; a running one stops at its next progress
        report (between kernel calls; the scores report after each model and each pair of
        models) and whatever it returns is thrown away."""
        job.cancelled = True
        if job.future is not None:
            job.future.cancel()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)


def _expected(exc) -> bool:
    from ..errors import IQAEvalError

    return isinstance(exc, (IQAEvalError, CancelledError, MemoryError))


def _message(exc) -> str:
    """The one line shown on the page for a failure: the library's message for bad input (in
    the command line's words), ``internal error (...)`` for anything else."""
    from ..cli._common import cli_words
    from ..errors import IQAEvalError

    if isinstance(exc, IQAEvalError):
        return "error: " + " ".join(cli_words(str(exc)).split())
    if isinstance(exc, MemoryError):
        return "error: out of memory; use a smaller grid, fewer samples or fewer resamples"
    return f"error: internal error ({type(exc).__name__}: {' '.join(str(exc).split())}); please report it"
