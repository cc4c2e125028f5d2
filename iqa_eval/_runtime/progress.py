"""A small progress bar on stderr for runs that take longer than a second, and a way for a
caller (the studio) to observe the same progress: :func:`observe_progress`."""
from __future__ import annotations

import contextvars
import sys
import time
from contextlib import contextmanager

#: Off for a whole command with ``--no-progress`` (set by the command line).
ENABLED = True

# The ETA is shown once this much of the work is done and this many seconds have passed:
# earlier estimates are dominated by compilation and warm-up and mislead.
_ETA_MIN_FRACTION = 0.05
_ETA_MIN_SECONDS = 3.0


# The observers of this context (thread), innermost last, and the bar that reports to them: a
# context variable, so two threads (two studio jobs) never see each other's progress.
_OBSERVERS = contextvars.ContextVar("iqa_eval_progress_observers", default=())
_REPORTING = contextvars.ContextVar("iqa_eval_progress_reporting", default=None)


@contextmanager
def observe_progress(callback):
    """Within the block, in this thread only, call ``callback(fraction, label)`` as the work goes on.

    The outermost :class:`Progress` entered in the block reports: once when it starts (its
    fraction done, 0.0) and at each :meth:`Progress.update`, with the fraction of its total done
    (non-decreasing, at most 1.0) and its label; bars nested in it (a bootstrap's inner GMC
    sums) do not, so one bar's fractions never jump back. Several bars one after another (a
    surface's pair sums, then its support) each report from 0.0. Blocks nest: every observer
    is called, innermost first. Updates come between kernel calls, never inside a compiled
    kernel, so a callback may raise to stop the work (the studio's cancel does). Observing
    changes no number.
    """
    token = _OBSERVERS.set(_OBSERVERS.get() + (callback,))
    try:
        yield
    finally:
        _OBSERVERS.reset(token)


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """Progress bar drawn on stderr only once a run has taken ``delay`` seconds.

    Use as a context manager and call :meth:`update` with the amount of work done.
    Disabled (``enabled=False``, ``--no-progress``, or a stream that is not a terminal:
    no ``\\r`` bars in log files) it costs one comparison per update. The ETA is shown
    only once it means something (5% done and 3 s elapsed).
    """

    def __init__(self, total: float, label: str = "", *, enabled: bool = True,
                 delay: float = 1.0, stream=None):
        self.total = max(float(total), 1e-300)
        self.label = label
        self.delay = delay
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(enabled) and ENABLED and (stream is not None or _is_terminal(self.stream))
        self.done = 0.0
        self._start = time.perf_counter()
        self._last = 0.0
        self._drawn = False
        self._observers, self._token = (), None

    def __enter__(self):
        observers = _OBSERVERS.get()
        if observers and _REPORTING.get() is None:
            self._observers, self._token = observers, _REPORTING.set(self)
            try:
                self._report()
            except BaseException:       # an observer stopped the work at its start: __exit__ will not run
                _REPORTING.reset(self._token)
                self._observers, self._token = (), None
                raise
        return self

    def _report(self) -> None:
        fraction = min(self.done / self.total, 1.0)
        for callback in reversed(self._observers):
            callback(fraction, self.label)

    def update(self, amount: float = 1.0) -> None:
        self.done += amount
        if self._observers:
            self._report()
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._start < self.delay or now - self._last < 0.1:
            return
        self._last = now
        self._draw(now)

    def _draw(self, now: float) -> None:
        frac = min(self.done / self.total, 1.0)
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        elapsed = now - self._start
        if frac >= 1.0:
            tail = "      done"
        elif frac >= _ETA_MIN_FRACTION and elapsed >= _ETA_MIN_SECONDS:
            tail = f" eta {elapsed * (1 - frac) / frac:5.0f}s"
        else:
            tail = " eta    ..."
        self.stream.write(f"\r{self.label} [{bar}] {100 * frac:5.1f}% {elapsed:6.1f}s{tail}")
        self.stream.flush()
        self._drawn = True

    def __exit__(self, *exc):
        if self._token is not None:
            _REPORTING.reset(self._token)
            self._observers, self._token = (), None
        if self.enabled and self._drawn:
            self._draw(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()
        return False
