"""Memory estimated before large allocations, against what the machine has available.

A request that cannot fit (``--grid 1000x1000``, a huge ``--samples`` or ``--n-boot``)
becomes one :class:`ResourceError` naming the estimate, the limit and the option that
raises it, before anything is allocated — instead of a MemoryError or the OOM killer
minutes later. The limit is the available memory (``MemAvailable``) unless raised or
lowered with ``--max-memory`` / :func:`set_limit`.
"""
from __future__ import annotations

import contextlib
import os
import re

from ..errors import InputError, ResourceError

__all__ = ["ResourceError", "check_memory", "set_limit", "set_config", "get_config", "config_context", "parse_size", "available_memory", "format_size"]

_LIMIT: int | None = None  # bytes; None: the available memory


_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20,
          "g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40, "tib": 2**40}


def parse_size(text) -> int:
    """``'8G'``, ``'500 MB'``, ``'1.5GiB'``, ``'1000000'`` -> bytes."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS or float(m.group(1)) <= 0:
        raise InputError(f"max_memory must be a size such as 8G or 500M; got {text!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def format_size(n: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def available_memory() -> int:
    """Bytes the system can give without swapping (Linux ``MemAvailable``), else total RAM."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2**62  # unknown: do not refuse


def set_limit(size) -> None:
    """Set the memory limit (bytes, or text such as ``'8G'``); None restores the default."""
    global _LIMIT
    _LIMIT = None if size is None else (parse_size(size) if isinstance(size, str) else int(size))


def get_config() -> dict:
    """The package's settings.

    Parameters
    ----------
    None

    Returns
    -------
    dict
        ``{'max_memory': bytes or None}`` (None: the memory the machine has available).

    Examples
    --------
    >>> get_config()["max_memory"] is None
    True
    """
    return {"max_memory": _LIMIT}


def set_config(*, max_memory=None) -> None:
    """Set the package's settings, as scikit-learn's ``set_config`` does.

    Parameters
    ----------
    max_memory : int or str or None
        The most memory one computation may plan to use (bytes, or text such as ``'8G'``);
        larger requests raise :class:`~iqa_eval.errors.ResourceError` before allocating. None:
        the memory the machine has available (``MemAvailable``). The CLI's ``--max-memory``.

    Returns
    -------
    None

    Examples
    --------
    >>> set_config(max_memory="8G"); get_config()["max_memory"] == 8 * 2**30
    True
    >>> set_config(max_memory=None)
    """
    set_limit(max_memory)


@contextlib.contextmanager
def config_context(*, max_memory=None):
    """Settings for a ``with`` block, restored after it.

    Parameters
    ----------
    max_memory : int or str or None
        As in :func:`set_config`.

    Returns
    -------
    context manager

    Examples
    --------
    >>> with config_context(max_memory="1G"):
    ...     get_config()["max_memory"] == 2**30
    True
    """
    old = get_config()
    set_config(max_memory=max_memory)
    try:
        yield
    finally:
        set_config(**old)


def limit() -> int:
    return _LIMIT if _LIMIT is not None else available_memory()


def check_memory(nbytes: float, what: str, *, hint: str = "") -> None:
    """Raise :class:`ResourceError` when ``nbytes`` (an estimate) exceeds the limit."""
    cap = limit()
    if nbytes > cap:
        source = "max_memory" if _LIMIT is not None else "available memory"
        raise ResourceError(f"{what} needs about {format_size(nbytes)} of memory, more than the "
                            f"{format_size(cap)} allowed ({source}); "
                            + (f"{hint}, or " if hint else "") + "raise the limit with max_memory (iqa_eval.set_config)")
