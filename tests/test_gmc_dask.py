"""The engine's 'dask' backend on real clusters: a LocalCluster of 2 worker processes (shared by
this module), plus in-process clusters of 1 and 4 workers for the worker-count checks."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.cluster
distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

from conftest import wait_until  # noqa: E402
from helpers import write_simulated_study  # noqa: E402
from test_gmc_engine import naive_sums, random_case  # noqa: E402

from iqa_eval.errors import InputError  # noqa: E402
from iqa_eval import summarize_comparison  # noqa: E402
from iqa_eval.gmc import correlation_surfaces  # noqa: E402
from iqa_eval.gmc import cluster_session  # noqa: E402
from iqa_eval.gmc.engine import pair_sums  # noqa: E402
from iqa_eval.gmc.sampling import regular_grid  # noqa: E402

#: every test here starts or uses a Dask cluster (deselect with -m "not cluster")
pytestmark = pytest.mark.cluster

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: the scheduler's HTTP server on a free port (8787 may be taken by another cluster)
QUIET = dict(dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"})


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  **QUIET) as cluster, \
            distributed.Client(cluster, set_as_default=False) as cl:
        yield cl


def _fields(ps):
    """Every sum of a PairSums as {name: array}."""
    out = {"sw": ps.sw}
    if ps.ssign is not None:
        out["ssign"] = ps.ssign
    for key in ("sxy", "sxx", "syy"):
        out.update({f"{key}:{m}": v for m, v in getattr(ps, key).items()})
    for key, v in (ps.rows or {}).items():
        out[f"rows {key}"] = v
    return out


def assert_close(got, want, rtol=1e-12):
    """Same keys; every entry within rtol of its own size (1e-3 of the largest for tiny ones)."""
    got, want = _fields(got), _fields(want)
    assert got.keys() == want.keys()
    for key in want:
        g, w = got[key], want[key]
        assert g.shape == w.shape, key
        scale = np.maximum(np.abs(w), np.abs(w).max(initial=0) * 1e-3)
        assert np.all(np.abs(g - w) <= rtol * scale + 1e-300), (key, np.abs(g - w).max())


def assert_identical(got, want):
    got, want = _fields(got), _fields(want)
    assert got.keys() == want.keys()
    for key in want:
        assert np.array_equal(got[key], want[key]), key


def lhs_case(n, *, rounded, s=30, seed=3):
    return random_case(np.random.default_rng(seed), n, m=3, s=s, rounded=rounded, zero_std=2)


def grid_case(n, seed=4):
    pred, mos, sstd, c, _, _ = lhs_case(n, rounded=True, seed=seed)
    nodes = regular_grid(mos, shape=(6, 5))
    return pred, mos, sstd, c, nodes["Q"].to_numpy(), nodes["Qd"].to_numpy()


# --- the numbers -----------------------------------------------------------------------------------

def test_small_set_matches_the_naive_sums(client):
    pred, mos, sstd, c, Q, Qd = lhs_case(40, rounded=True, s=6)
    ref = naive_sums(pred, mos, sstd, c, Q, Qd)
    ps = pair_sums(pred, mos, sstd, c, Q, Qd, backend="dask", client=client, row_sums=True,
                   block_pairs=50)
    for key, rows in ref.items():
        np.testing.assert_allclose(ps.rows[key], rows, rtol=1e-10, atol=1e-13 * abs(rows).max())
    np.testing.assert_allclose(ps.sw, ref["sw"].sum(-1) / 2, rtol=1e-10)


@pytest.mark.parametrize("case", ["lhs rounded", "lhs distinct", "grid"])
@pytest.mark.parametrize("row_sums", [False, True])
def test_equals_numba(client, case, row_sums):
    args = grid_case(900) if case == "grid" else lhs_case(900, rounded=case == "lhs rounded")
    want = pair_sums(*args, backend="numba", row_sums=row_sums)
    # small blocks: many tasks, every block boundary kind (inside a group row, across rows)
    got = pair_sums(*args, backend="dask", client=client, row_sums=row_sums,
                    block_pairs=20_000 if row_sums else 8000)
    assert_close(got, want)
    if row_sums:  # each image's row is computed whole in one task: the numba numbers exactly
        for key in want.rows:
            assert np.array_equal(got.rows[key], want.rows[key]), key


def test_block_size_changes_only_the_order_of_additions(client):
    args = lhs_case(1500, rounded=False)
    default = pair_sums(*args, backend="dask", client=client)
    small = pair_sums(*args, backend="dask", client=client, block_pairs=20_000)
    assert_close(small, default)
    with pytest.raises(InputError, match="block_pairs"):
        pair_sums(*args, backend="dask", client=client, block_pairs=0)


def test_bitwise_identical_for_1_2_and_4_workers(client):
    args = lhs_case(1000, rounded=False)
    runs = [pair_sums(*args, backend="dask", client=client, block_pairs=8000) for _ in range(2)]
    for n in (1, 4):
        with distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=False,
                                      **QUIET) as cluster, \
                distributed.Client(cluster, set_as_default=False) as cl:
            runs.append(pair_sums(*args, backend="dask", client=cl, block_pairs=8000))
    for other in runs[1:]:
        assert_identical(other, runs[0])


def test_surfaces_with_a_client_equal_numba(client):
    rng = np.random.default_rng(0)
    mos = rng.uniform(1, 5, 400)
    preds = {"a": mos + rng.normal(0, 0.4, 400), "b": mos + rng.normal(0, 0.8, 400)}
    kw = dict(std=np.full(400, 0.6), grid=(5, 5), methods=["srocc", "krcc"])
    want = correlation_surfaces(preds, mos, backend="numba", **kw)
    got = correlation_surfaces(preds, mos, backend="dask", client=client, **kw)
    np.testing.assert_allclose(got.points["value"], want.points["value"], rtol=1e-12)


def test_compare_row_sums_equal_numba(client):
    from iqa_eval.studies.compare import compare_models
    from iqa_eval.data.dataset import Dataset
    from iqa_eval.data.simulation import simulate_study

    df = simulate_study(600, seed=1)
    data = Dataset(mos=df["mos"].to_numpy(), std=df["std"].to_numpy(),
                   predictions={m: df[m].to_numpy() for m in ("high_end", "fine_grain")})
    want = compare_models(data, "high_end", "fine_grain", grid=(6, 6), backend="numba")
    got = compare_models(data, "high_end", "fine_grain", grid=(6, 6), backend="dask",
                         client=client)
    assert summarize_comparison(got) == summarize_comparison(want)


# --- faults and setup ------------------------------------------------------------------------------

def _pending_blocks(dask_scheduler):
    """Tasks of the run not yet finished (finished ones are released as they are read)."""
    return sum(ts.state not in ("memory", "released", "forgotten")
               for ts in dask_scheduler.tasks.values() if "_block_totals" in str(ts.key))


def test_killed_worker_tasks_are_recomputed(client):  # the last test on the shared cluster
    args = lhs_case(5000, rounded=False, s=60)
    kw = dict(backend="dask", client=client, block_pairs=2**16)   # ~190 tasks
    want = pair_sums(*args, **kw)
    pids = client.run(os.getpid)
    out = {}
    run = threading.Thread(target=lambda: out.update(got=pair_sums(*args, **kw)))
    run.start()
    most = [0]

    def ten_blocks_done():   # the scheduler's task table is the state to wait for
        pending = client.run_on_scheduler(_pending_blocks)
        most[0] = max(most[0], pending)
        return not run.is_alive() or (most[0] > 100 and pending <= most[0] - 10)

    wait_until(ten_blocks_done, 60, "10 of the ~190 blocks to finish")
    busy = {w: k for w, k in client.processing().items() if k}
    assert busy and run.is_alive(), "the run ended before a worker could be killed"
    victim = pids[max(busy, key=lambda w: len(busy[w]))]
    os.kill(victim, signal.SIGKILL)
    run.join(120)
    assert not run.is_alive()
    assert_identical(out["got"], want)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_is_one_input_error(monkeypatch):
    import dask

    address = f"tcp://127.0.0.1:{_free_port()}"
    raised = []

    def run():
        with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
            try:
                with cluster_session(address):
                    pair_sums(*lhs_case(50, rounded=True), backend="dask")
            except BaseException as exc:   # handed to the test thread
                raised.append(exc)

    # a hang bound (the call must end), not a speed limit: the message names the 2 s timeout
    caller = threading.Thread(target=run, daemon=True)
    caller.start()
    caller.join(120)
    assert not caller.is_alive(), "the call did not end: no timeout applied"
    assert len(raised) == 1 and isinstance(raised[0], InputError), raised
    assert re.search("cannot reach the dask scheduler at .* within 2 s", str(raised[0])), raised


def _cli(*args, env=None, **popen):
    return subprocess.Popen([sys.executable, "-c", "from iqa_eval.cli.main import main; main()", *map(str, args)],
                            env={**os.environ, "PYTHONPATH": REPO, **(env or {})}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def test_cli_unreachable_scheduler_exits_2_with_one_error_line(tmp_path):
    study = write_simulated_study(tmp_path, 60, seed=0)
    env = {"DASK_SCHEDULER_ADDRESS": f"tcp://127.0.0.1:{_free_port()}",
           "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    proc = _cli("surface", study, "--std-col", "std", "--grid", "4x4", "--backend", "dask", env=env)
    out, err = proc.communicate(timeout=60)   # bounded: a hang fails the test
    assert proc.returncode == 2, err
    lines = [ln for ln in err.splitlines() if not ln.startswith("note:")]
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the dask scheduler at"), err


def _cli_error(study, address, timeout="2s"):
    """Run ``surface --backend dask --scheduler ADDRESS`` -> the stderr lines (not notes)."""
    env = {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": timeout}
    proc = _cli("surface", study, "--std-col", "std", "--grid", "4x4", "--backend", "dask",
                "--scheduler", address, env=env)
    out, err = proc.communicate(timeout=90)   # bounded: a hang fails the test
    lines = [ln for ln in err.splitlines() if not ln.startswith(("note:", "warning:"))]
    assert proc.returncode == 2 and len(lines) == 1 and out == "", err
    return lines[0]


def test_silent_listener_is_an_error_within_the_timeout(tmp_path):
    """A real TCP listener on 127.0.0.1 that accepts and never speaks (the connect timeout
    alone did not cover the handshake: the run hung for ever)."""
    study = write_simulated_study(tmp_path, 60, seed=0)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        line = _cli_error(study, address)
    assert line == (f"error: the dask scheduler at {address!r} accepted the connection but did not "
                    "answer within 2 s (not a dask scheduler, or one that is stuck)")


@pytest.mark.parametrize("scheme", ["ucx", "tls", "ws"])
def test_unsupported_scheme_is_one_error_listing_the_supported(tmp_path, scheme):
    study = write_simulated_study(tmp_path, 60, seed=0)
    address = f"{scheme}://127.0.0.1:{_free_port()}"
    assert _cli_error(study, address) == (
        f"error: dask scheduler address {address!r}: the {scheme}:// scheme is not supported "
        "(supported: tcp://HOST:PORT, or HOST:PORT)")


def test_http_service_is_not_out_of_memory(tmp_path):
    """A real HTTP server given as the scheduler (its reply read as a dask frame length was a
    MemoryError, reported as "out of memory")."""
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    study = write_simulated_study(tmp_path, 60, seed=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        address = f"tcp://127.0.0.1:{server.server_address[1]}"
        line = _cli_error(study, address)
    finally:
        server.shutdown()
        server.server_close()
    assert line == (f"error: the dask scheduler at {address!r} is an HTTP server, not a dask "
                    "scheduler (the dashboard's port?); give the scheduler's tcp:// address")


#: a scheduler (and optionally one in-process worker) in a child process; prints its address
_SCHEDULER = """
import sys, time
if sys.argv[2] == "without iqa_eval":
    sys.modules["iqa_eval"] = None     # this process cannot import the package
import distributed
cluster = distributed.LocalCluster(n_workers=int(sys.argv[1]), processes=False, threads_per_worker=1,
                                   protocol="tcp", host="127.0.0.1",
                                   dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"})
print(cluster.scheduler_address, flush=True)
sys.stdin.read()                       # until the test closes stdin
cluster.close()
"""


@contextlib.contextmanager
def _scheduler(n_workers, packages="with iqa_eval"):
    proc = subprocess.Popen([sys.executable, "-c", _SCHEDULER, str(n_workers), packages],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env={**os.environ, "PYTHONPATH": ""}, cwd="/")
    try:
        address = proc.stdout.readline().strip()   # the event: the scheduler listens
        assert address.startswith("tcp://"), address
        yield address
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def test_scheduler_without_workers_is_named(tmp_path):
    """(was: "standard output: cannot write", from a TimeoutError taken for an OSError)"""
    study = write_simulated_study(tmp_path, 60, seed=0)
    with _scheduler(0) as address:
        line = _cli_error(study, address)
    assert line == (f"error: the dask scheduler at {address!r} has no workers (none joined within 2 s); "
                    "start workers with: dask worker ADDRESS")


def test_workers_without_the_package_are_named(tmp_path):
    study = write_simulated_study(tmp_path, 60, seed=0)
    with _scheduler(1, "without iqa_eval") as address:
        line = _cli_error(study, address)
        with cluster_session(address):   # the library: the same InputError
            with pytest.raises(InputError, match="1 of 1 workers of the dask scheduler at .* cannot "
                                                 "import iqa_eval"):
                pair_sums(*lhs_case(50, rounded=True), backend="dask")
    assert line.startswith(f"error: 1 of 1 workers of the dask scheduler at {address!r} cannot import "
                           "iqa_eval (e.g. tcp://"), line
    assert line.endswith("install iqa-eval, the same version, on every worker"), line


def test_missing_extra_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)   # `import distributed` fails
    with pytest.raises(InputError, match=r"iqa-eval\[dask\]"):
        pair_sums(*lhs_case(20, rounded=True), backend="dask")


def _maps(pid):
    try:
        return Path(f"/proc/{pid}/maps").read_text()
    except OSError:         # the process has ended
        return ""


_SIGNAL_MASKS = """
import os, psutil
from iqa_eval.gmc._dask_backend import local_cluster

def masks(pid):
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    return int(fields["SigBlk"], 16), int(fields["SigIgn"], 16)

if __name__ == "__main__":
    cluster, client = local_cluster()
    try:
        for c in psutil.Process().children(recursive=True):
            if "--multiprocessing-fork" in c.cmdline():
                print("worker", *masks(c.pid))
        print("self", *masks(os.getpid()))
    finally:
        client.close()
        cluster.close()
"""


def test_workers_are_born_with_sigint_blocked(tmp_path):
    """The mechanism behind the Ctrl-C test, deterministically: a worker process must hold SIGINT
    blocked from its first instruction (its interpreter start-up cannot be interrupted), and the
    parent's main thread gets SIGINT back. multiprocessing's resource tracker, started at the first
    spawn, unblocks SIGINT in the spawning thread; on CI that let a Ctrl-C during a worker's
    start-up print 'Fatal Python error: init_import_site'. A fresh interpreter, so no tracker runs."""
    script = tmp_path / "masks.py"
    script.write_text(_SIGNAL_MASKS)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": REPO})
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()]
    workers = [(int(b), int(i)) for kind, b, i in rows if kind == "worker"]
    sigint = 1 << (signal.SIGINT - 1)
    assert workers, out.stdout
    for blocked, ignored in workers:
        assert blocked & sigint, f"a worker can receive SIGINT: {out.stdout}"
        assert ignored & sigint, f"the preload did not ignore SIGINT: {out.stdout}"
    (blocked, _), = [(int(b), int(i)) for kind, b, i in rows if kind == "self"]
    assert not blocked & sigint, "the main thread kept SIGINT blocked"


@pytest.mark.parametrize("when", ["cluster starting", "tasks running"])
def test_ctrl_c_leaves_no_worker_process(tmp_path, when):
    """A real SIGINT to the process group (what a terminal's Ctrl-C does): as soon as the first
    worker process exists (the LocalCluster is still starting: SIGINT is held, then delivered),
    or once a worker runs a task. Either way: exit 130, no worker left."""
    study = write_simulated_study(tmp_path, 10_000, seed=0)
    proc = _cli("surface", study, "--std-col", "std", "--backend", "dask", "--samples", "100",
                start_new_session=True)
    err = []
    reader = threading.Thread(target=lambda: err.extend(iter(proc.stderr.readline, "")))
    reader.start()
    want = 1   # worker processes that must show the event
    seen = set()
    try:
        # stderr is not a terminal, so no progress bar tells when tasks run. A worker imports
        # numba (llvmlite) only when it unpacks the run's first task: that mapping is the event.
        def event():
            workers = _workers(proc.pid)
            if when == "tasks running":
                seen.update(pid for pid in workers if "llvmlite" in _maps(pid))
            else:
                seen.update(workers)
            return len(seen) >= want

        wait_until(lambda: proc.poll() is not None or event(), 300, f"the event ({when})")
        assert proc.poll() is None, "".join(err)
        assert len(seen) >= want, "the event did not come within the deadline"
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    reader.join(10)
    text = "".join(err)
    assert proc.returncode == 130, text
    assert text.strip().splitlines()[-1] == "interrupted", text
    assert "Traceback" not in text, text
    # every process of the run's session, also workers started after the signal, ends
    def session_ended():
        return not [p.pid for p in psutil.process_iter(["pid"]) if _pgid(p.pid) == proc.pid]

    wait_until(session_ended, 60, "every process of the run's session to end")


def _workers(pid):
    """The worker processes under ``pid`` and the user CPU time of each (vanishing ones skipped)."""
    out = {}
    for c in psutil.Process(pid).children(recursive=True):
        try:
            if any(w in " ".join(c.cmdline()) for w in ("multiprocessing", "spawn")):
                out[c.pid] = c.cpu_times().user
        except psutil.Error:
            pass
    return out


def _pgid(pid):
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def test_cli_scheduler_needs_the_dask_backend(tmp_path):
    from helpers import run_cli

    study = write_simulated_study(tmp_path, 60, seed=0)
    code, out, err = run_cli("surface", study, "--std-col", "std", "--grid", "4x4",
                             "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2 and err.strip().splitlines()[-1] == \
        "error: --scheduler is used only with --backend dask"
