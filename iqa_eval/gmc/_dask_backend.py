"""The ``'dask'`` backend of the GMC engine: the numba kernels on blocks of work, on a cluster.

The work is cut into *blocks* that depend on the problem alone (its number of group pairs and
images), never on the cluster:

* totals: a block is a run of consecutive tiles of group pairs (the tiles of
  :func:`._pair_kernels_numba.tile_sums`); a task runs :func:`._pair_kernels_numba.tile_sums_serial` on
  it -- one thread, tiles in order -- and returns its partial sums (points x sums). The client
  adds the partial sums in block order, whatever order the tasks finish in, so the result is
  bitwise the same for any number of workers or threads and any scheduling.
* per-image row sums: a block is a run of consecutive groups; a task returns the rows of its
  images (each row is computed whole inside one task, so nothing depends on scheduling).

The per-image arrays are sent to the workers once (``scatter(broadcast=True)``); the tasks
receive them as one future. A lost worker's tasks are recomputed by the scheduler from the same
inputs, giving the same numbers. dask is imported only when this backend is used.

Where the tasks run: an explicit ``client``; else the client of an open :func:`cluster_session`
(the CLI opens one: on ``--scheduler``/``DASK_SCHEDULER_ADDRESS`` or a ``LocalCluster`` started
at first use); else dask's default client (the last ``Client`` created); else a ``LocalCluster``
started for this one call and closed after it.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import weakref

import numpy as np

from ..errors import InputError

__all__ = ["cluster_session", "default_block_pairs", "pair_sums"]

EXTRA = "pip install 'iqa-eval[dask]'"
#: the default block: about this many blocks, each with at least / at most this many pairs
_BLOCKS_TARGET = 64
_BLOCK_MIN_PAIRS = 2**17
_BLOCK_MAX_PAIRS = 2**24

_SESSIONS: list = []
#: clients whose workers were checked (check_workers), once per client
_CHECKED = weakref.WeakSet()


def _distributed():
    try:
        import distributed
    except ImportError as exc:
        raise InputError(f"backend 'dask' needs dask.distributed, which is not installed ({exc}); "
                         f"install it with: {EXTRA}") from None
    return distributed


def default_block_pairs(n_pairs: int) -> int:
    """Pairs per task: ~64 blocks, clipped to [2**17, 2**24] pairs; from the problem size alone
    (a block size taken from the worker count would change the order of additions)."""
    return int(min(_BLOCK_MAX_PAIRS, max(_BLOCK_MIN_PAIRS, -(-int(n_pairs) // _BLOCKS_TARGET))))


# --- where the tasks run ---------------------------------------------------------------------------


def _connect_timeout() -> float:
    import dask
    from dask.utils import parse_timedelta

    return float(parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), "s"))


#: address schemes a client can use without security settings (a bare HOST:PORT is tcp)
SCHEMES = ("tcp",)


def _check_scheme(address: str) -> None:
    scheme = address.split("://", 1)[0].lower() if "://" in address else "tcp"
    if scheme not in SCHEMES:
        raise InputError(f"dask scheduler address {address!r}: the {scheme}:// scheme is not supported "
                         f"(supported: {', '.join(s + '://HOST:PORT' for s in SCHEMES)}, or HOST:PORT)")


def connect(address: str):
    """A client of the scheduler at ``address``, or InputError naming it and the cause within
    the connect timeout (dask config ``distributed.comm.timeouts.connect``, 30 s unless set).

    The timeout bounds the whole handshake, not only the TCP connection: a server that accepts
    and never speaks (or speaks HTTP) is an error within it, not a hang or a MemoryError from
    reading its bytes as a message length."""
    distributed = _distributed()
    from distributed.comm import connect as comm_connect

    _check_scheme(address)
    timeout = _connect_timeout()
    where = f"the dask scheduler at {address!r}"

    async def probe():   # a bare connection first: a failed Client leaves noise at exit
        # dask's connect retries a refused connection until `timeout` (OSError then) but does
        # not bound the handshake after an accept: the outer bound, a little later, does
        try:
            comm = await asyncio.wait_for(comm_connect(address, timeout=timeout),
                                          timeout + max(1.0, timeout / 2))
        except asyncio.TimeoutError:
            raise _Silent() from None
        try:
            await comm.write({"op": "identity"})
            reply = await asyncio.wait_for(comm.read(), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            raise _Silent() from None
        except Exception as exc:   # bytes that are no dask message (an HTTP reply reads as a huge length)
            raise _NotDask(type(exc).__name__) from None
        finally:
            comm.abort()
        if not (isinstance(reply, dict) and reply.get("type") == "Scheduler"):
            raise _NotDask(f"it answered {str(reply)[:60]!r}")

    try:
        asyncio.run(probe())
    except _Silent:
        if _speaks_http(address, timeout):
            raise InputError(f"{where} is an HTTP server, not a dask scheduler (the dashboard's "
                             f"port?); give the scheduler's tcp:// address") from None
        raise InputError(f"{where} accepted the connection but did not answer within {timeout:g} s "
                         f"(not a dask scheduler, or one that is stuck)") from None
    except _NotDask as exc:
        raise InputError(f"{where} answered, but not as a dask scheduler ({exc}); is it another "
                         f"service, such as an HTTP server or the dashboard port?") from None
    except (OSError, ValueError, TimeoutError) as exc:
        raise InputError(f"cannot reach {where} within {timeout:g} s ({exc or type(exc).__name__})") from None
    try:
        return distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, ValueError, TimeoutError) as exc:
        raise InputError(f"cannot reach {where} within {timeout:g} s ({exc})") from None


def _speaks_http(address: str, timeout: float) -> bool:
    """Whether the server at ``address`` answers a plain HTTP request (an HTTP server waits for
    a request line and stays silent to dask's handshake)."""
    import socket

    host, _, port = address.split("://", 1)[-1].rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock:
            sock.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
            return sock.recv(5) == b"HTTP/"
    except (OSError, ValueError):
        return False


class _Silent(Exception):
    pass


class _NotDask(Exception):
    pass


def check_workers(client, address=None) -> None:
    """InputError unless the cluster has a worker (waiting up to the connect timeout for one to
    join) and its workers can import this package."""
    where = f"the dask scheduler at {address!r}" if address else "the dask cluster"
    timeout = _connect_timeout()
    if not client.scheduler_info().get("workers"):
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (TimeoutError, OSError):
            raise InputError(f"{where} has no workers (none joined within {timeout:g} s); start "
                             f"workers with: dask worker ADDRESS") from None
    # exec, a builtin, reaches the workers by name: the probe itself needs nothing of this package
    found = client.run(exec, f"import {__name__}", on_error="return")
    missing = sorted(w for w, err in found.items() if isinstance(err, BaseException))
    if missing:
        raise InputError(f"{len(missing)} of {len(found)} workers of {where} cannot import iqa_eval "
                         f"(e.g. {missing[0]}): install iqa-eval, the same version, on every worker")


@contextlib.contextmanager
def _sigint_held():
    """SIGINT blocked (held pending by the kernel, not discarded) while the cluster starts.

    Threads and processes started inside inherit the blocked mask: a terminal's Ctrl-C (sent to
    the whole process group) never reaches the worker processes, so this process closes the
    cluster in order. When the block ends the main thread unblocks SIGINT, and a Ctrl-C pressed
    during the start is delivered then (KeyboardInterrupt or the command line's handler)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    # multiprocessing starts its resource tracker at the first spawn, blocking SIGINT around it and
    # then *unblocking* it in the calling thread: inside the block that would be the cluster's loop
    # thread, and every worker spawned after it would start with SIGINT deliverable (a Ctrl-C during
    # its interpreter start-up is a "Fatal Python error" traceback). Started here, before the
    # block, the tracker is already running when the workers spawn.
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def local_cluster():
    """A ``LocalCluster`` sized to this machine (one single-threaded worker process per core)
    and a client of it."""
    distributed = _distributed()
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cluster = client = None
    try:
        with _sigint_held():
            # the scheduler's HTTP server on a free port (no clash with a running cluster's 8787);
            # scheduler logs silenced, CRITICAL ones too (a client closed on Ctrl-C is one):
            # failures reach the caller as exceptions
            cluster = distributed.LocalCluster(n_workers=max(1, n or 1), threads_per_worker=1,
                                               processes=True, dashboard_address=None,
                                               scheduler_kwargs={"dashboard_address": ":0"},
                                               silence_logs=logging.CRITICAL + 1,
                                               preload=["iqa_eval.gmc._dask_worker"])
            client = distributed.Client(cluster, set_as_default=False)
        # a Ctrl-C held during the start is delivered here, inside the try: nothing is left running
        return cluster, client
    except BaseException:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        raise


class _Session:
    """A client made at first use: of ``address``, or of a LocalCluster; closed by close()."""

    def __init__(self, address=None):
        self.address = address or None
        self._cluster = self._client = None

    def client(self):
        if self._client is None:
            if self.address:
                self._client = connect(self.address)
            else:
                self._cluster, self._client = local_cluster()
        return self._client

    def close(self):
        client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        try:
            if client is not None:
                client.close()
        finally:
            if cluster is not None:
                cluster.close()


@contextlib.contextmanager
def cluster_session(address: str | None = None):
    """A context in which ``backend='dask'`` without a ``client`` runs on one cluster.

    Within the block, every GMC call with ``backend='dask'`` and no ``client`` runs on the
    scheduler at ``address``, or on a ``LocalCluster`` sized to the machine, started at first
    use (a block that computes nothing starts nothing). The client and the cluster are closed
    when the block ends, also on KeyboardInterrupt (no worker process is left behind). The
    command line opens one per command run with ``--backend dask``.

    Parameters
    ----------
    address : str, optional
        A running scheduler (``'tcp://host:8786'``); None starts a LocalCluster.

    Returns
    -------
    context manager
        Yields the session; its ``client()`` is the ``distributed.Client`` (made on first call).

    Examples
    --------
    >>> import numpy as np
    >>> from iqa_eval.gmc import cluster_session, gmc_points
    >>> mos = np.linspace(1.0, 5.0, 40)
    >>> with cluster_session():      # doctest: +SKIP
    ...     pts = gmc_points({"a": mos ** 2}, mos, std=np.ones(40), samples=5, backend="dask")
    >>> with cluster_session() as session:   # nothing computed: no cluster started
    ...     pass
    """
    session = _Session(address)
    _SESSIONS.append(session)
    try:
        yield session
    finally:
        _SESSIONS.remove(session)
        session.close()


@contextlib.contextmanager
def _client_for(client):
    if client is not None:
        yield client
    elif _SESSIONS:
        yield _SESSIONS[-1].client()
    else:
        distributed = _distributed()
        try:
            yield distributed.default_client()
            return
        except ValueError:   # no default client: a LocalCluster for this call
            pass
        with cluster_session() as session:
            yield session.client()


# --- the computation ---------------------------------------------------------------------------


def _tile_blocks(inp, block_pairs):
    n_tiles = inp.n_tiles
    per_block = max(1, -(-int(block_pairs) // inp.B))
    return [(t0, min(n_tiles, t0 + per_block)) for t0 in range(0, n_tiles, per_block)]


def _group_blocks(inp, block_pairs):
    """Runs of whole groups with about ``block_pairs / G`` images each (image x group pairs)."""
    gs = inp.gs
    G, N = gs.size - 1, int(gs[-1])
    per_block = max(1, int(block_pairs) // G)
    cuts = np.unique(np.concatenate([[0], np.searchsorted(gs, np.arange(per_block, N, per_block)),
                                     [G]]))
    return [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:])]


def _block_totals(inp, t0, t1, S, K):
    from . import _pair_kernels_numba as nk

    out = np.zeros((S, K))
    nk.tile_sums_serial(t0, t1, *inp.tile_args(), out)
    return out


def _block_rows(inp, g0, g1, S, K, q_chunk, grid=None):
    from . import _pair_kernels_numba as nk

    gs = inp.gs
    rows = np.zeros((K, S, int(gs[g1] - gs[g0])))
    dest = np.arange(int(gs[-1]), dtype=np.int64) - gs[g0]   # sorted image -> column of rows
    if grid is not None:   # the kernel the numba backend picks for these points (same numbers)
        nk.group_row_sums_grid_serial(g0, g1, inp.gs, inp.grp, dest, inp.c, inp.P, inp.R, inp.ls, inp.rls,
                                      inp.lg, inp.Vg, *grid, inp.lay, q_chunk, rows)
    else:
        nk.group_row_sums_serial(g0, g1, *inp.row_args(dest), q_chunk, rows)
    return rows


def pair_sums(prob, inp, q_chunk, *, row_sums, bar, client=None, block_pairs=None, grid=None):
    """Totals ``(S, K)`` and rows ``(K, S, N)`` or None, as the numba backend returns them.

    ``inp``: the engine's ``_NumbaInputs``; ``block_pairs``: pairs per task (group pairs for the
    totals, image x group pairs for the row sums); default :func:`default_block_pairs`;
    ``grid``: the engine's grid arguments when the row sums take the grid kernel.
    """
    distributed = _distributed()
    S, K, N = prob.S, prob.K, prob.N
    G = inp.gs.size - 1
    if block_pairs is None:
        block_pairs = default_block_pairs(G * N if row_sums else inp.rowoff[-1])
    else:
        from ..options import Interval, check_param

        check_param("block_pairs", block_pairs, Interval(1, None, integral=True))
    blocks = _group_blocks(inp, block_pairs) if row_sums else _tile_blocks(inp, block_pairs)
    bar.total = float(len(blocks))
    with _client_for(client) as cl:
        if cl not in _CHECKED:
            check_workers(cl, getattr(cl.scheduler, "address", None))
            _CHECKED.add(cl)
        [data] = cl.scatter([inp], broadcast=True, hash=False)
        if row_sums:
            if grid is not None:   # one copy per worker, not one per task
                [grid] = cl.scatter([grid], broadcast=True, hash=False)
            futures = [cl.submit(_block_rows, data, g0, g1, S, K, q_chunk, grid, pure=False)
                       for g0, g1 in blocks]
        else:
            futures = [cl.submit(_block_totals, data, t0, t1, S, K, pure=False)
                       for t0, t1 in blocks]
        index = {f.key: b for b, f in enumerate(futures)}
        try:
            if row_sums:
                rows = np.empty((K, S, N))
                for fut in distributed.as_completed(futures, loop=cl.loop):
                    g0, g1 = blocks[index[fut.key]]
                    rows[:, :, inp.order[inp.gs[g0]:inp.gs[g1]]] = fut.result()
                    futures[index[fut.key]] = None
                    bar.update(1)
                return rows.sum(axis=2).T / 2.0, rows
            # partial sums added in block order, whatever order the tasks finish in
            tot, done, next_block = np.zeros((S, K)), {}, 0
            for fut in distributed.as_completed(futures, loop=cl.loop):
                b = index[fut.key]
                done[b] = fut.result()
                futures[b] = None
                while next_block in done:
                    tot += done.pop(next_block)
                    next_block += 1
                bar.update(1)
            return tot, None
        finally:
            # interrupted: nothing keeps running on a cluster that outlives this call
            pending = [f for f in futures if f is not None]
            if pending:
                cl.cancel(pending)
            cl.cancel([data])
