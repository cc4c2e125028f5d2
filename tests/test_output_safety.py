"""Outputs that respect what is there (issue 14, item 2).

Real special files only: device nodes made with ``mknod`` inside the test's temp dir (never
the machine's /dev), FIFOs read by a real reader thread, symlinks, a real 64 KiB tmpfs and
real SIGTERM/SIGINT sent to a real process. Waits are on events (a thread finishing, a file
appearing, a line on stderr), each bounded by a timeout.
"""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import mounted_tmpfs
from helpers import run_cli

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "examples" / "simulated_study.csv"
TIMEOUT = 180


def _env():
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("IQA_EVAL_DEBUG", None)
    return env


def _temp_files(*folders):
    """Files our writers leave behind if they fail: every dot-file (temporaries, backups)."""
    return sorted(p.name for f in folders for p in Path(f).iterdir() if p.name.startswith("."))


def _device(folder: Path, name: str, minor: int) -> Path:
    """A character device node inside ``folder``: minor 3 is null, 7 is full (major 1)."""
    path = folder / name
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except PermissionError:
        pytest.skip("mknod needs root")
    return path


def _is_device(path: Path, minor: int) -> bool:
    st = os.lstat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, minor)


# -- case 1: devices, FIFOs and stdout are written through -------------------------------
def test_null_device_is_written_through_never_replaced(tmp_path):
    null = _device(tmp_path, "null", 3)
    code, out, err = run_cli("score", STUDY, "--no-pairwise", "-o", null)
    assert code == 0, err
    assert _is_device(null, 3), "the device node was replaced"
    code, _, err = run_cli("surface", STUDY, "--grid", "4x4", "--method", "srocc", "--scores-out", null,
                           "--points-out", tmp_path / "p.csv", "--no-progress")
    assert code == 0, err
    assert _is_device(null, 3) and len(pd.read_csv(tmp_path / "p.csv")) > 0
    assert _temp_files(tmp_path) == []


def test_full_device_is_an_error_line_and_nothing_else_is_replaced(tmp_path):
    full = _device(tmp_path, "full", 7)
    code, _, err = run_cli("score", STUDY, "--no-pairwise", "-o", full)
    assert code == 2, err
    assert err.splitlines()[-1] == f"error: {full}: cannot write (No space left on device)"
    assert sum(line.startswith("error:") for line in err.splitlines()) == 1
    assert _is_device(full, 7)
    # with another output in the same set: the regular file keeps its old content
    points = tmp_path / "points.csv"
    points.write_text("old\n")
    code, _, err = run_cli("surface", STUDY, "--grid", "4x4", "--method", "srocc", "--scores-out", full,
                           "--points-out", points, "--no-progress")
    assert code == 2 and "No space left on device" in err, err
    assert points.read_text() == "old\n" and _is_device(full, 7)
    assert _temp_files(tmp_path) == []


@pytest.mark.slow
def test_stdout_on_a_full_device_is_an_error_line(tmp_path):
    full = _device(tmp_path, "full", 7)
    for target in ("-",):      # without -o: tests/test_safety.py::test_cli_errors_are_one_line_exit_2
        with open(full, "w") as fh:
            r = subprocess.run([sys.executable, "-m", "iqa_eval.cli", "score", str(STUDY), "--no-pairwise",
                                "-o", target], stdout=fh, stderr=subprocess.PIPE,
                               text=True, cwd=REPO, env=_env(), timeout=TIMEOUT)
        assert r.returncode == 2, r.stderr
        assert r.stderr.splitlines()[-1] == "error: standard output: cannot write (No space left on device)"
        assert sum(line.startswith("error:") for line in r.stderr.splitlines()) == 1


def test_dash_is_standard_output_in_an_output_set(tmp_path):
    """``--scores-out -`` writes to stdout (it once created a file named ``-``)."""
    code, out, err = run_cli("surface", STUDY, "--grid", "4x4", "--method", "srocc", "--scores-out", "-",
                             "--points-out", tmp_path / "p.csv", "--no-progress")
    assert code == 0, err
    assert out.startswith("model,method,gmc\n") and not (REPO / "-").exists() and not Path("-").exists()
    assert (tmp_path / "p.csv").exists() and "wrote -" not in err


def _release(fifo: Path, thread) -> None:
    """If the writer never came, open the FIFO once for writing so the reader thread ends."""
    if thread.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(TIMEOUT)


def _reader(fifo: Path):
    """Read a FIFO to its end in a thread; returns (thread, chunks)."""
    chunks = []

    def read():
        with open(fifo, "rb") as fh:
            chunks.append(fh.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, chunks


@pytest.mark.slow
def test_fifo_is_streamed_never_replaced(tmp_path):
    fifo = tmp_path / "scores.fifo"
    os.mkfifo(fifo)
    thread, chunks = _reader(fifo)
    try:
        code, _, err = run_cli("score", STUDY, "--no-pairwise", "--format", "csv", "-o", fifo)
        thread.join(TIMEOUT)
        assert not thread.is_alive() and code == 0, err
    finally:
        _release(fifo, thread)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced by a regular file"
    table = pd.read_csv(pd.io.common.BytesIO(chunks[0]))
    expected = run_cli("score", STUDY, "--no-pairwise", "--format", "csv")[1]
    assert chunks[0].decode() == expected
    assert len(table) == 6
    # a figure too (a staged output streamed at commit)
    thread, chunks = _reader(fifo)
    try:
        code, _, err = run_cli("surface", STUDY, "--grid", "4x4", "--method", "srocc", "-o",
                               tmp_path / "s.svg", "--scores-out", fifo, "--no-progress")
        thread.join(TIMEOUT)
        assert code == 0 and not thread.is_alive(), err
    finally:
        _release(fifo, thread)
    assert chunks[0].startswith(b"model,method,gmc") and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert (tmp_path / "s.svg").read_bytes().lstrip().startswith(b"<?xml")
    assert _temp_files(tmp_path) == []


def test_a_fifo_nobody_reads_is_an_error_within_a_bounded_time(tmp_path, monkeypatch):
    # opening a FIFO for writing blocks until a reader comes: the wait is bounded, then one error
    from iqa_eval._runtime import atomic

    fifo = tmp_path / "nobody.fifo"
    os.mkfifo(fifo)
    monkeypatch.setattr(atomic, "FIFO_READER_TIMEOUT", 0.3)
    with pytest.raises(atomic.OutputError, match="no process reads this FIFO"):
        atomic.atomic_write(fifo, "a,b\n")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and _temp_files(tmp_path) == []


# -- case 2: a symlink is followed, its target replaced atomically ----------------------------
def test_symlink_output_replaces_its_target_and_stays_a_link(tmp_path):
    real_dir = tmp_path / "results"
    real_dir.mkdir()
    target = real_dir / "scores.csv"
    target.write_text("old\n")
    link = tmp_path / "latest.csv"
    link.symlink_to(Path("results") / "scores.csv")      # relative, as users make them
    chain = tmp_path / "chain.csv"
    chain.symlink_to(link)
    code, out, err = run_cli("score", STUDY, "--no-pairwise", "--format", "csv", "-o", chain)
    assert code == 0, err
    assert link.is_symlink() and chain.is_symlink() and os.readlink(link) == str(Path("results") / "scores.csv")
    assert target.read_text() == run_cli("score", STUDY, "--no-pairwise", "--format", "csv")[1]
    assert _temp_files(tmp_path, real_dir) == []
    # a dangling link: its target is created
    target.unlink()
    code, _, err = run_cli("score", STUDY, "--no-pairwise", "--format", "csv", "-o", link)
    assert code == 0 and link.is_symlink() and target.read_text().startswith("model,"), err


# -- case 3: a full file system -----------------------------------------------------------------
@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A real 64 KiB tmpfs inside the temp dir (root only), unmounted afterwards."""
    with mounted_tmpfs(tmp_path / "disk", "64k") as mnt:
        yield mnt


def _fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system of ``folder`` up to ``leave`` free bytes with one file."""
    filler = folder / "filler"
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    with open(filler, "wb") as fh:
        try:
            fh.write(b"0" * max(free - leave, 0))
            fh.flush()
        except OSError:
            pass
    return filler


def test_full_tmpfs_is_an_error_and_keeps_the_old_file(tiny_tmpfs):
    out = tiny_tmpfs / "scores.csv"
    out.write_text("previous\n")
    _fill(tiny_tmpfs)
    code, _, err = run_cli("score", STUDY, "--format", "csv", "-o", out)
    assert code == 2, err
    assert err.splitlines()[-1] == f"error: {out}: cannot write (No space left on device)"
    assert out.read_text() == "previous\n"
    assert _temp_files(tiny_tmpfs) == []


# -- case 4: every output of a command commits as one set --------------------------------------
def _bench_dirs(root: Path):
    from iqa_eval.data.simulation import simulate_study

    dirs = []
    for k, n in enumerate((120, 150)):
        d = root / f"set{k}"
        d.mkdir()
        simulate_study(n, seed=k).to_csv(d / "study.csv", index=False)
        dirs.append(d)
    return dirs


def test_bench_table_and_diagram_commit_together(tmp_path, tiny_tmpfs):
    dirs = _bench_dirs(tmp_path)
    table, cd = tiny_tmpfs / "table.tex", tiny_tmpfs / "cd.svg"
    code, _, err = run_cli("bench", *dirs, "--format", "latex", "-o", table, "--cd-diagram", cd)
    assert code == 0, err
    assert table.read_text().count(r"\toprule") == 1 and b"<svg" in cd.read_bytes()
    table.write_text("old table\n")
    cd.write_text("old diagram\n")
    # room for the table, not for the diagram (and the backups): neither is replaced
    _fill(tiny_tmpfs, leave=6 * 1024)
    code, _, err = run_cli("bench", *dirs, "--format", "latex", "-o", table, "--cd-diagram", cd)
    assert code == 2, err
    assert err.splitlines()[-1].startswith("error: ") and "No space left on device" in err
    assert table.read_text() == "old table\n" and cd.read_text() == "old diagram\n"
    assert _temp_files(tiny_tmpfs) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_renames_is_delivered_after_all_of_them(tmp_path, monkeypatch, sig):
    """A real signal sent to this process between the two renames of a set (Ctrl-C once left a
    new table next to an old diagram): it is held back and delivered when both are in place."""
    import iqa_eval._runtime.atomic as atomic

    table, cd = tmp_path / "table.tex", tmp_path / "cd.svg"
    table.write_text("old table\n")
    cd.write_text("old diagram\n")
    events, real_replace = [], os.replace

    def replace_then_signal(src, dst):
        real_replace(src, dst)
        events.append(Path(dst).name)
        if len(events) == 1:
            os.kill(os.getpid(), sig)

    def handler(signum, frame):
        events.append(("signal", table.read_text(), cd.read_text()))

    # a thread that does not block signals, as numba's workers: the kernel may hand it the signal
    done = threading.Event()
    worker = threading.Thread(target=done.wait, args=(TIMEOUT,), daemon=True)
    worker.start()
    old = signal.signal(sig, handler)
    monkeypatch.setattr(atomic.os, "replace", replace_then_signal)
    try:
        with atomic.OutputSet() as outputs:
            outputs.stage(table).write_text("new table\n")
            outputs.stage(cd).write_text("new diagram\n")
    finally:
        signal.signal(sig, old)
        done.set()
        worker.join(TIMEOUT)
    assert events == ["table.tex", "cd.svg", ("signal", "new table\n", "new diagram\n")]


# -- case 5: SIGTERM removes temp files as SIGINT does --------------------------------------------
_SLOW_WRITER = ("import sys, time, click\n"
                "from iqa_eval.cli._common import command\n"
                "from iqa_eval._runtime.atomic import OutputSet\n"
                "@click.command()\n@command\ndef slow():\n"
                "    with OutputSet() as o:\n"
                "        with open(o.stage(OUT), 'w') as fh:\n"
                "            for i in range(100000):\n"
                "                fh.write('x' * 1000 + '\\n'); fh.flush(); time.sleep(0.001)\n"
                "slow()\n")


@pytest.mark.parametrize("sig, status, line", [(signal.SIGTERM, 143, "terminated"),
                                               (signal.SIGINT, 130, "interrupted")])
def test_signal_while_writing_removes_the_temp_file(tmp_path, sig, status, line):
    out = tmp_path / "big.csv"
    out.write_text("previous\n")
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER.replace("OUT", repr(str(out)))],
                            cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT   # a bound, not a synchronisation
        while not any(p.stat().st_size > 20_000 for p in tmp_path.iterdir() if p.name.startswith(".")):
            assert proc.poll() is None and time.monotonic() < deadline, "the write never started"
            time.sleep(0.01)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (proc.returncode, err) == (status, line + "\n")
    assert out.read_text() == "previous\n" and _temp_files(tmp_path) == []


def test_sigterm_during_surface(tmp_path):
    """A real ``surface`` run terminated once it computes (numba's LLVM loaded): exit 143, one
    line, no output and no temp file."""
    out = tmp_path / "g.csv"
    proc = subprocess.Popen([sys.executable, "-m", "iqa_eval.cli", "surface", str(STUDY), "--grid", "60x60",
                             "--scores-out", str(out), "--points-out", str(tmp_path / "p.csv")],
                            cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        while "llvmlite" not in Path(f"/proc/{proc.pid}/maps").read_text():
            assert proc.poll() is None and time.monotonic() < deadline, "surface never started computing"
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert err.splitlines()[-1] == "terminated" and "Traceback" not in err
    assert not out.exists() and _temp_files(tmp_path) == []


# -- case 6: temp files are short dot-files, never read as inputs -----------------------------------
def test_temp_names_are_short_dot_files(tmp_path):
    from iqa_eval._runtime.atomic import OutputSet

    with OutputSet() as outputs:
        tmp = outputs.stage(tmp_path / ("x" * 200 + ".csv"))
        assert tmp.name.startswith(".iqa-") and len(tmp.name) <= 32 and tmp.suffix == ".csv"
        tmp.write_text("a\n")
    assert (tmp_path / ("x" * 200 + ".csv")).read_text() == "a\n"


def test_bench_skips_dot_files_with_a_note(tmp_path):
    from iqa_eval.data.simulation import simulate_study

    dirs = _bench_dirs(tmp_path)
    # what an interrupted writer of another tool (or an editor) leaves behind
    simulate_study(120, seed=9)[["image", "precise"]].rename(columns={"precise": "ghost"}).to_csv(
        dirs[0] / ".iqa-abcd1234.tmp.csv", index=False)
    code, out, err = run_cli("bench", *dirs, "--format", "csv")
    assert code == 0, err
    assert "ghost" not in out
    assert f"note: {dirs[0].name}: skipped 1 hidden file (.iqa-abcd1234.tmp.csv)" in err.splitlines()
    assert "hidden" not in err.replace(f"note: {dirs[0].name}: skipped 1 hidden", "")


# -- case 7: long names -------------------------------------------------------------------------
def test_longest_names_work_and_too_long_names_are_refused_before_computing(tmp_path):
    name_max = os.pathconf(tmp_path, "PC_NAME_MAX")
    longest = tmp_path / ("s" * (name_max - 4) + ".csv")
    code, _, err = run_cli("score", STUDY, "--no-pairwise", "--format", "csv", "-o", longest)
    assert code == 0, err
    assert longest.read_text().startswith("model,") and _temp_files(tmp_path) == []
    too_long = tmp_path / ("s" * (name_max - 3) + ".csv")
    # the input does not exist: an output error first shows it is checked before anything is read
    code, _, err = run_cli("score", tmp_path / "nothing.csv", "-o", too_long)
    assert code == 2
    assert err == (f"error: {too_long}: the file name is {name_max + 1} bytes, longer than the "
                   f"{name_max} this file system allows\n")
    # surface's per-form figure names (x_srocc.png) are checked too
    stem = "f" * (name_max - 8)            # x.png fits, x_srocc.png is 2 bytes too long
    code, _, err = run_cli("surface", tmp_path / "nothing.csv", "-o", tmp_path / f"{stem}.png")
    assert code == 2 and "the file name is" in err and "_srocc.png" in err
