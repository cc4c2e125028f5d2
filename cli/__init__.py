"""The ``iqa-eval`` command line, installed as :mod:`iqa_eval.cli` (the ``cli/`` folder of the
source tree is mapped to that name by ``package-dir`` in pyproject.toml; in a source checkout the
``iqa_eval/cli`` symlink does the same).

Imported under the old top-level name ``cli`` (an environment set up before the move, with the
checkout on ``sys.path``), this package hands over to :mod:`iqa_eval.cli`, so ``from cli.main
import main`` keeps working without a second copy of any module.
"""
if __name__ == "cli":
    import importlib as _importlib
    import sys as _sys

    _sys.modules["cli.main"] = _importlib.import_module("iqa_eval.cli.main")
    __path__ = []  # nothing else is importable as cli.<name>: one copy of each module
