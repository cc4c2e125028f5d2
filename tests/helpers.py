"""Helpers shared by the test modules (importable: pytest puts tests/ on sys.path)."""
from __future__ import annotations


def run_cli(*args):
    """Run ``iqa-eval ARGS...`` in-process -> (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from iqa_eval.cli.main import cli

    result = CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write_simulated_study(directory, n_images: int, seed: int):
    """Write ``simulate_study(n_images, seed)`` to ``directory/study.csv`` and return the path."""
    from iqa_eval.data.simulation import simulate_study

    path = directory / "study.csv"
    simulate_study(n_images, seed=seed).to_csv(path, index=False)
    return path
