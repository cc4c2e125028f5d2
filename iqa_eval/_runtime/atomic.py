"""Atomic outputs: a file appears complete or not at all, and the one it replaces survives.

Every output is written to a temporary file in the target's own directory (same file
system, so the final ``os.replace`` is atomic), flushed and fsynced, then renamed into
place. The temporary file is a dot-file with a short name (``.iqa-XXXXXXXX.tmp.csv``): it
fits any file system that holds the target's name, and no directory listing of this
package reads it as an input. What is already there is respected:

- a symlink is followed and its target replaced (the link stays a link);
- a device, FIFO or socket is written through (opened for writing, never created,
  truncated or renamed over): ``-o /dev/null`` leaves /dev/null a device; an error such
  as ENOSPC from ``/dev/full`` is an :class:`OutputError`.

Several outputs of one command are staged together in an :class:`OutputSet` and committed
together: special files are written first (they cannot be undone, and a failure there leaves
every regular file untouched), then the regular files are renamed one after the other with
SIGINT and SIGTERM held back (delivered after the last rename), so Ctrl-C, a kill or a full
disk leaves either all of them or none (and never a truncated file). POSIX has no rename of several files at once: each file
being replaced keeps a second name (a hard link) until every rename is done, and a rename
that fails undoes the ones before it (the replaced files come back, new ones are removed).
Output paths are checked before any computation (:func:`check_output_paths`).
"""
from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
import threading
from pathlib import Path

from ..errors import InputError, OutputError

__all__ = ["OutputSet", "atomic_write", "check_output_paths", "OutputError", "exit_on_signals",
           "is_special_file", "TEMP_PREFIX"]

#: Every temporary or backup file this package writes starts with this (a dot-file).
TEMP_PREFIX = ".iqa-"
_HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def is_special_file(path) -> bool:
    """True for a device, FIFO or socket (a symlink is followed): written through, never replaced."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _temp_file(directory, suffix: str = "", kind: str = "tmp") -> Path:
    """A new empty dot-file ``.iqa-XXXXXXXX.<kind><suffix>`` in ``directory``: short whatever
    the target's name; the target's suffix kept (when short) for writers that pick a format
    by it."""
    suffix = suffix if 1 < len(suffix) <= 8 and suffix[1:].isalnum() else ""
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=f".{kind}{suffix}", dir=directory)
    os.close(fd)
    return Path(name)


def _name_limit(directory) -> int:
    try:
        return int(os.pathconf(directory, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):   # no pathconf (Windows): the common limit
        return 255


def check_output_paths(outputs, inputs=()) -> list:
    """Check every output before computing: its name fits its file system, its directory
    exists and is writable, it is not a directory, not one of the inputs, and no two
    outputs are the same file.

    ``None`` and ``'-'`` (stdout) are skipped. A device or FIFO (``/dev/null``) needs only
    to be writable itself: it is written through, and may be named twice. Returns the
    outputs as Paths.
    """
    seen = {}
    resolved_inputs = set()
    for p in inputs or ():
        with contextlib.suppress(OSError):
            resolved_inputs.add(Path(p).resolve())
    out = []
    for o in outputs:
        if o is None or str(o) == "-":
            continue
        path = Path(o)
        _check_name_length(path, path)
        if is_special_file(path):
            if not os.access(path, os.W_OK):
                raise OutputError("cannot write: no permission to write to it", file=str(path))
            out.append(path)
            continue
        target = path.resolve()
        parent = target.parent
        if target != path.absolute():       # a symlink: its target is the file replaced
            _check_name_length(target, path)
        if path.is_dir():
            raise OutputError("is a directory, not a file", file=str(path))
        if not parent.is_dir():
            raise OutputError(f"cannot write: directory {str(path.parent)!r} does not exist", file=str(path))
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write: directory {str(parent)!r} is not writable", file=str(path))
        if path.exists() and not os.access(path, os.W_OK):
            raise OutputError("cannot write: the file is read-only", file=str(path))
        if target in resolved_inputs:
            raise OutputError("is one of the input files; choose another output name", file=str(path))
        if target in seen:
            raise OutputError(f"given twice as an output ({seen[target]} and {o})", file=str(path))
        seen[target] = o
        out.append(path)
    return out


def _check_name_length(path: Path, given: Path) -> None:
    """A name longer than the file system allows is refused now, not after the computation."""
    size = len(os.fsencode(path.name))
    if size <= 14:                         # every file system holds it (POSIX: 14 at least)
        return
    directory = path.parent if str(path.parent) else Path(".")
    limit = _name_limit(directory) if os.path.isdir(directory) else 255
    if size > limit:
        raise OutputError(f"the file name is {size} bytes, longer than the {limit} this file system allows",
                          file=str(given))


@contextlib.contextmanager
def _signals_held():
    """Hold SIGINT and SIGTERM back (delivered on exit) so a group of renames is not cut in half.

    A signal mask is not enough: the kernel hands a process-wide signal to any thread that
    does not block it (numba's workers), and Python then runs the handler in the main thread
    between two renames. So the handlers themselves are swapped for a recorder, and what it
    recorded is raised again once the renames are done (the real handlers then run: remove
    nothing left, print one line, exit 130 or 143)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending, old = [], {}
    for sig in _HELD_SIGNALS:
        handler = signal.getsignal(sig)
        if handler is None:            # installed outside Python: cannot be put back, leave it
            continue
        old[sig] = handler
        signal.signal(sig, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)


class OutputSet:
    """Outputs written together: stage each, then all are committed on success.

    >>> with OutputSet() as outputs:                      # doctest: +SKIP
    ...     df.to_csv(outputs.stage("scores.csv"))
    ...     fig.savefig(outputs.stage("surface.png"))

    :meth:`stage` returns a temporary path (a short dot-file, same suffix, so writers that
    pick a format by extension still work) next to the file to replace: the target itself,
    or a symlink's target. For a device or FIFO it is in the system's temporary directory
    and its content is written through into the device at commit. On an exception,
    including KeyboardInterrupt, every temporary file is removed and no target is touched.
    """

    def __init__(self):
        self._staged = []  # (temp path, target as given, file to write, written through?)

    def __enter__(self):
        return self

    def stage(self, target) -> Path:
        if str(target) == "-":                          # standard output: written through at commit
            target, special, real = _STDOUT, True, _STDOUT
        else:
            target = Path(target)
            special = is_special_file(target)
            real = Path(os.path.realpath(target))       # a symlink's target (links of links too)
        directory = tempfile.gettempdir() if special else real.parent
        try:
            tmp = _temp_file(directory, target.suffix)
        except OSError as exc:
            raise OutputError(f"cannot write ({_reason(exc)})", file=str(target)) from None
        self._staged.append((tmp, target, real, special))
        _register(self)
        return tmp

    def discard(self) -> None:
        for tmp, *_ in self._staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        self._staged = []
        with contextlib.suppress(ValueError):
            _LIVE_SETS.remove(self)

    def _target_of(self, filename):
        """The target whose temporary file is ``filename`` (for an error message)."""
        for tmp, target, *_ in self._staged:
            if filename is not None and str(tmp) == str(filename):
                return target
        return self._staged[0][1] if self._staged else None

    def commit(self) -> list:
        """Write special files through, fsync the others, then rename all of them into place."""
        current = None
        try:
            for tmp, target, _, special in self._staged:
                current = target
                if not tmp.exists():
                    raise OutputError("was not written", file=str(target))
                if not special:
                    with open(tmp, "rb+") as fh:
                        os.fsync(fh.fileno())
            # devices and FIFOs first: they cannot be undone, and if one fails no file is replaced
            for tmp, target, real, special in self._staged:
                if special:
                    current = target
                    _write_through(tmp, real)
        except OSError as exc:
            self.discard()
            raise OutputError(f"cannot write ({_reason(exc)})", file=str(current)) from None
        except BaseException:
            self.discard()
            raise
        regular = [(tmp, target, real) for tmp, target, real, special in self._staged if not special]
        done = []
        with _signals_held():
            backups = self._back_up(regular)
            try:
                for tmp, target, real in regular:
                    try:
                        mode = real.stat().st_mode & 0o777 if real.exists() else None
                        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
                        os.replace(tmp, real)
                    except OSError as exc:
                        self._roll_back(done, backups)
                        self.discard()
                        raise OutputError(f"cannot write ({_reason(exc)})", file=str(target)) from None
                    done.append(real)
            finally:
                for backup in backups.values():
                    with contextlib.suppress(OSError):
                        backup.unlink()
            written = [target for _, target, *_ in self._staged]
            self.discard()
            dirs = {t.parent for t in done}
        for d in dirs:  # make the renames durable (best effort: not every file system allows it)
            with contextlib.suppress(OSError):
                fd = os.open(d, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        return written

    def _back_up(self, regular) -> dict:
        """A second name (a hard link; a copy where links are not allowed) for every file to be
        replaced, so that the renames can be undone if a later one fails. Nothing is renamed
        if a backup cannot be made."""
        import shutil

        backups = {}
        target = None
        try:
            for _, target, real in regular:
                if not real.exists():
                    continue
                backup = _temp_file(real.parent, kind="bak")
                backups[real] = backup
                os.unlink(backup)
                try:
                    os.link(real, backup)
                except OSError:
                    shutil.copy2(real, backup)
        except OSError as exc:
            for backup in backups.values():
                with contextlib.suppress(OSError):
                    backup.unlink()
            self.discard()
            raise OutputError(f"cannot write ({_reason(exc)}: no room to keep the replaced file until "
                              "every output is in place)", file=str(target)) from None
        return backups

    @staticmethod
    def _roll_back(done, backups) -> None:
        """Undo the renames already made: the replaced files come back, new ones go."""
        for real in reversed(done):
            with contextlib.suppress(OSError):
                if real in backups:
                    os.replace(backups.pop(real), real)
                else:
                    real.unlink()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            target = self._target_of(getattr(exc, "filename", None))
            renamed = None
            if isinstance(exc, OutputError) and exc.file is not None:   # a writer that is atomic itself
                renamed = next((t for tmp, t, *_ in self._staged if str(tmp) == str(exc.file)), None)
            self.discard()
            if renamed is not None:
                raise OutputError(exc.reason, file=str(renamed)) from None
            if isinstance(exc, OSError):
                raise OutputError(f"cannot write ({_reason(exc)})", file=str(target) if target else None) from None
        return False


class _StdoutPath(type(Path())):
    """``-`` as a staged output: named "standard output" in messages."""

    def __str__(self):
        return "standard output"


_STDOUT = _StdoutPath("-")


def _write_through(tmp: Path, real: Path) -> None:
    """Copy a staged file into a device or FIFO: opened for writing only (never created,
    truncated or renamed over), every byte written or an OSError (ENOSPC from /dev/full)."""
    if real is _STDOUT:
        import sys

        sys.stdout.flush()
        out = getattr(sys.stdout, "buffer", None)
        with open(tmp, "rb") as src:
            data = src.read()
        if out is None:
            sys.stdout.write(data.decode("utf-8"))
        else:
            out.write(data)
        sys.stdout.flush()
        return
    fd = _open_for_writing(real)
    try:
        with open(tmp, "rb") as src:
            while True:
                chunk = src.read(1 << 16)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
    finally:
        os.close(fd)


#: How long an output FIFO may wait for a reader before the command gives up (seconds): opening a
#: FIFO for writing blocks until some process opens it for reading, which may never happen.
FIFO_READER_TIMEOUT = 60.0


def _open_for_writing(real: Path) -> int:
    """A descriptor of a device or FIFO open for writing; a FIFO waits (bounded) for a reader."""
    import errno
    import time

    flags = os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    if not stat.S_ISFIFO(os.stat(real).st_mode):
        return os.open(real, flags)
    deadline = time.monotonic() + FIFO_READER_TIMEOUT
    while True:
        try:   # non-blocking: ENXIO while no process has the FIFO open for reading
            fd = os.open(real, flags | os.O_NONBLOCK)
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO or time.monotonic() > deadline:
                if exc.errno == errno.ENXIO:
                    raise OSError(errno.ENXIO, f"no process reads this FIFO (waited {FIFO_READER_TIMEOUT:g} s)",
                                  str(real)) from None
                raise
            time.sleep(0.05)   # a reader may yet open it: poll, bounded by the deadline
    os.set_blocking(fd, True)   # then write as a plain pipe writer: the reader sets the pace
    return fd


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, data) -> Path:
    """Write ``data`` (str as UTF-8, or bytes) to ``path`` atomically; returns the path.

    A full disk or an interrupt leaves the previous file, if any, untouched; a symlink's
    target is replaced; a device or FIFO is written through (see :class:`OutputSet`).
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    with OutputSet() as outputs:
        tmp = outputs.stage(path)
        try:
            with open(tmp, "wb") as fh:
                fh.write(payload)
                fh.flush()
        except OSError as exc:
            raise OutputError(f"cannot write ({_reason(exc)})", file=str(path)) from None
    return path


# -- Ctrl-C and kill in the command line ------------------------------------------------------
_LIVE_SETS: list = []  # OutputSets with staged files, removed by the SIGINT handler


def _register(outputs: "OutputSet") -> None:
    if outputs not in _LIVE_SETS:
        _LIVE_SETS.append(outputs)


def exit_on_signals() -> dict:
    """Install SIGINT and SIGTERM handlers that remove staged outputs, print one line
    (``interrupted``, ``terminated``) and exit 130 or 143 (128 + the signal's number).

    Used by the command line only. The handler runs between Python bytecodes of the main
    thread, never inside a numba kernel (a jitted call finishes its chunk first), and it
    leaves with ``os._exit`` so no interpreter teardown runs while numba worker threads or
    LLVM are mid-way: no traceback, no segfault. Renames in :meth:`OutputSet.commit` hold
    both signals back, so a group of outputs is never half renamed. Returns the previous
    handlers, ``{signal: handler}`` (empty outside the main thread).
    """
    import sys

    def handler(signum, frame):
        for outputs in list(_LIVE_SETS):
            outputs.discard()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        message = "interrupted" if signum == signal.SIGINT else "terminated"
        with contextlib.suppress(OSError):
            os.write(2, (message + "\n").encode())
        os._exit(128 + signum)

    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
