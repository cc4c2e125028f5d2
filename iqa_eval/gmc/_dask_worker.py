"""Preloaded into every worker process of the LocalCluster that :mod:`._dask_backend` starts.

A terminal's Ctrl-C goes to the whole process group, workers included; the client process
closes the cluster in order (and prints the one ``interrupted`` line), so a worker ignores
SIGINT instead of printing its own KeyboardInterrupt traceback.
"""
from __future__ import annotations

import signal


def dask_setup(worker) -> None:
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:   # not the worker process's main thread: leave the default
        pass
