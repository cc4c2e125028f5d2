"""Atomic outputs: a file appears complete or not at all, and the one it replaces survives.

Every output is written to a temporary file in the target's own directory (same file
system, so the final ``os.replace`` is atomic), flushed and fsynced, then renamed into
place. Several outputs of one command are staged together in an :class:`OutputSet` and
renamed one after the other with SIGINT held back, so Ctrl-C or a full disk leaves either
all of them or none (and never a truncated file). POSIX has no rename of several files at
once: each file being replaced keeps a second name (a hard link) until every rename is done,
and a rename that fails undoes the ones before it (the replaced files come back, new ones
are removed). Output paths are checked before any
computation (:func:`check_output_paths`).
"""
from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from pathlib import Path

from ..errors import InputError, OutputError

__all__ = ["OutputSet", "atomic_write", "check_output_paths", "OutputError", "exit_on_sigint"]


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_output_paths(outputs, inputs=()) -> list:
    """Check every output before computing: its directory exists and is writable, it is
    not a directory, not one of the inputs, and no two outputs are the same file.

    ``None`` and ``'-'`` (stdout) are skipped. Returns the outputs as Paths.
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
        target = path.resolve()
        parent = target.parent
        if path.is_dir():
            raise OutputError("is a directory, not a file", file=str(path))
        if not parent.is_dir():
            raise OutputError(f"cannot write: directory {str(path.parent)!r} does not exist", file=str(path))
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write: directory {str(path.parent)!r} is not writable", file=str(path))
        if path.exists() and not os.access(path, os.W_OK):
            raise OutputError("cannot write: the file is read-only", file=str(path))
        if target in resolved_inputs:
            raise OutputError("is one of the input files; choose another output name", file=str(path))
        if target in seen:
            raise OutputError(f"given twice as an output ({seen[target]} and {o})", file=str(path))
        seen[target] = o
        out.append(path)
    return out


@contextlib.contextmanager
def _sigint_held():
    """Hold SIGINT back (delivered on exit) so a group of renames is not cut in half."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class OutputSet:
    """Outputs written together: stage each, then all are renamed into place on success.

    >>> with OutputSet() as outputs:                      # doctest: +SKIP
    ...     df.to_csv(outputs.stage("scores.csv"))
    ...     fig.savefig(outputs.stage("surface.png"))

    :meth:`stage` returns a temporary path next to the target (same suffix, so writers
    that pick a format by extension still work). On an exception, including
    KeyboardInterrupt, every temporary file is removed and no target is touched.
    """

    def __init__(self):
        self._staged = []  # (temp path, target path)

    def __enter__(self):
        return self

    def stage(self, target) -> Path:
        target = Path(target)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{target.suffix}",
                                       dir=target.parent if str(target.parent) else ".")
        except OSError as exc:
            raise OutputError(f"cannot write ({_reason(exc)})", file=str(target)) from None
        os.close(fd)
        self._staged.append((Path(tmp), target))
        _register(self)
        return Path(tmp)

    def discard(self) -> None:
        for tmp, _ in self._staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        self._staged = []
        with contextlib.suppress(ValueError):
            _LIVE_SETS.remove(self)

    def commit(self) -> list:
        """fsync every staged file, then rename all of them into place."""
        try:
            for tmp, target in self._staged:
                if not tmp.exists():
                    raise OutputError("was not written", file=str(target))
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
        except OSError as exc:
            self.discard()
            raise OutputError(f"cannot write ({_reason(exc)})", file=str(self._staged[0][1])) from None
        except BaseException:
            self.discard()
            raise
        done = []
        with _sigint_held():
            backups = self._back_up()
            try:
                for tmp, target in self._staged:
                    try:
                        mode = target.stat().st_mode & 0o777 if target.exists() else None
                        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
                        os.replace(tmp, target)
                    except OSError as exc:
                        self._roll_back(done, backups)
                        self.discard()
                        raise OutputError(f"cannot write ({_reason(exc)})", file=str(target)) from None
                    done.append(target)
            finally:
                for backup in backups.values():
                    with contextlib.suppress(OSError):
                        backup.unlink()
            self._staged = []
            with contextlib.suppress(ValueError):
                _LIVE_SETS.remove(self)
            dirs = {t.parent for t in done}
        for d in dirs:  # make the renames durable (best effort: not every file system allows it)
            with contextlib.suppress(OSError):
                fd = os.open(d, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        return done

    def _back_up(self) -> dict:
        """A second name (a hard link; a copy where links are not allowed) for every target
        that exists, so that the renames can be undone if a later one fails. Nothing is
        renamed if a backup cannot be made."""
        import shutil

        backups = {}
        try:
            for _, target in self._staged:
                if not target.exists():
                    continue
                fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".backup", dir=target.parent)
                os.close(fd)
                backup = Path(name)
                backups[target] = backup
                os.unlink(backup)
                try:
                    os.link(target, backup)
                except OSError:
                    shutil.copy2(target, backup)
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
        for target in reversed(done):
            with contextlib.suppress(OSError):
                if target in backups:
                    os.replace(backups.pop(target), target)
                else:
                    target.unlink()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            target = self._staged[0][1] if self._staged else None
            self.discard()
            if isinstance(exc, OSError):
                raise OutputError(f"cannot write ({_reason(exc)})", file=str(target) if target else None) from None
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, data) -> Path:
    """Write ``data`` (str as UTF-8, or bytes) to ``path`` atomically; returns the path.

    A full disk or an interrupt leaves the previous file, if any, untouched.
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


# -- Ctrl-C in the command line ------------------------------------------------------
_LIVE_SETS: list = []  # OutputSets with staged files, removed by the SIGINT handler


def _register(outputs: "OutputSet") -> None:
    if outputs not in _LIVE_SETS:
        _LIVE_SETS.append(outputs)


def exit_on_sigint(message: str = "interrupted", status: int = 130):
    """Install a SIGINT handler that removes staged outputs, prints one line and exits.

    Used by the command line only. The handler runs between Python bytecodes of the main
    thread, never inside a numba kernel (a jitted call finishes its chunk first), and it
    leaves with ``os._exit`` so no interpreter teardown runs while numba worker threads or
    LLVM are mid-way: no traceback, no segfault. Renames in :meth:`OutputSet.commit` hold
    SIGINT back, so a group of outputs is never half renamed. Returns the previous handler.
    """
    import sys

    def handler(signum, frame):
        for outputs in list(_LIVE_SETS):
            outputs.discard()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        with contextlib.suppress(OSError):
            os.write(2, (message + "\n").encode())
        os._exit(status)

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, handler)
