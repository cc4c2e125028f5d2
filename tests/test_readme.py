"""The README's two commands are the ones CI runs and the example they use exists."""
from __future__ import annotations

import re

from conftest import REPO


def _commands():
    text = (REPO / "README.md").read_text()
    return re.findall(r"```bash\n(.+?)\n```", text)


def test_readme_starts_with_the_two_commands():
    install_and_run, install_and_test = _commands()[:2]
    assert "iqa-eval score examples/" in install_and_run
    assert "pytest" in install_and_test
    example = install_and_run.split("iqa-eval score ")[1].split()[0]
    assert (REPO / example).is_file()


def test_ci_runs_exactly_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert _commands()[1] in ci
