"""Every failure is the right sentence (issue 14, item 4): user input that used to give an
internal error, a misleading message, a traceback or a number for an undefined value gives one
``error:`` line naming the cause (exit 2), or NaN with a ``note:``."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from helpers import run_cli, write_simulated_study

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _popen(*args, pre=()):
    return subprocess.Popen([sys.executable, *pre, "-c", "from iqa_eval.cli.main import main; main()",
                             *map(str, args)], env={**os.environ, "PYTHONPATH": REPO}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _one_error(code, err):
    lines = [ln for ln in err.splitlines() if not ln.startswith(("note:", "warning:"))]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (code, err)
    return lines[0]


# --- Ctrl-C in the first milliseconds ---------------------------------------------------------------

def test_ctrl_c_while_click_is_imported_is_one_line(tmp_path):
    """A real SIGINT while click is being imported (the first ~60 ms of a run): the handler is
    installed before that import. Synchronised on -X importtime's line for a click module."""
    study = write_simulated_study(tmp_path, 30, seed=0)
    proc = _popen("score", study, pre=("-X", "importtime"))
    try:
        for line in proc.stderr:          # the event: a click module finished importing
            if line.rstrip().split("|")[-1].strip().startswith("click"):
                os.kill(proc.pid, signal.SIGSTOP)   # hold it there while the signal is sent
                os.kill(proc.pid, signal.SIGINT)
                os.kill(proc.pid, signal.SIGCONT)
                break
        else:
            pytest.fail("click was never imported")
        rest = proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = "\n".join(ln for ln in rest.splitlines() if not ln.startswith("import time:"))
    assert proc.returncode == 130, text
    assert text.strip() == "interrupted", text
