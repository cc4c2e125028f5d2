"""The import rule of docs/architecture.md: layers import only downwards, and nothing imports in a cycle.

Every ``import`` statement of every module is read from the source (function-level imports
included: a lazy import is still a dependency), resolved to a module of the package, and
checked against the layer table below.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# top-level folder or module (without the 'iqa_eval.' prefix) -> layer; a module may import its
# own layer and below. The folders are the layers (docs/architecture.md draws the same tree).
LAYERS = {
    "errors": 0, "options": 0, "_runtime": 0,      # foundation
    "stats": 1,                                    # numerics on arrays
    "data": 2,                                     # the Dataset, reading and joining tables
    "training": 3, "gmc": 3, "subjective": 3,      # losses; GMC; ratings -> MOS
    "studies": 4,                                  # score table, compare, bench, Krasula
    "render": 5,                                   # text, LaTeX, HTML, figures, report
    "cli": 6,                                      # the command line
    "studio": 6,                                   # the web app (iqa-eval serve), beside the command line
}


def _modules():
    """{dotted name: path} of every module of the package (the cli/ folder is iqa_eval.cli)."""
    out = {}
    for path in sorted((REPO / "iqa_eval").rglob("*.py")):
        if "cli" in path.relative_to(REPO / "iqa_eval").parts[:1]:
            continue
        rel = path.relative_to(REPO).with_suffix("")
        out[".".join(rel.parts).removesuffix(".__init__")] = path
    for path in sorted((REPO / "cli").glob("*.py")):
        out["iqa_eval.cli." + path.stem if path.stem != "__init__" else "iqa_eval.cli"] = path
    return out


def _imports(name, path, modules):
    """Modules of the package that ``name`` imports (anywhere in its source)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            targets = [stem] + [f"{stem}.{a.name}" for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("iqa_eval."):
                found.add(target)
    return found


def _layer(module):
    part = module.split(".")[1]
    if part not in LAYERS:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/architecture.md")
    return LAYERS[part]


@pytest.fixture(scope="module")
def graph():
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_every_module_is_in_a_layer(graph):
    for name in graph:
        if name != "iqa_eval":
            _layer(name)


# The one sanctioned upward import: the Python API of issue 10 asks for ``Benchmark.to_latex()``
# and ``.cd_diagram()`` on the result. They import the presentation layer inside the method
# (the result stays data; nothing is rendered unless asked), like pandas' ``DataFrame.plot``.
ALLOWED_UPWARD = {("iqa_eval.studies.bench", "iqa_eval.render.bench_tables")}


def test_no_upward_import(graph):
    upward = [f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)})"
              for a, targets in graph.items() if a != "iqa_eval"
              for b in sorted(targets) if _layer(b) > _layer(a) and (a, b) not in ALLOWED_UPWARD]
    assert not upward, "\n".join(upward)


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle(graph):
    # package __init__ files re-export their submodules (lazily): not edges of the layering
    inner = {a: {b for b in t if b not in ("iqa_eval.gmc", "iqa_eval.cli")} for a, t in graph.items()}
    assert _cycles(inner) == []


def test_the_checks_see_a_cycle_and_an_upward_import():
    # the walker itself: a planted cycle and a planted upward edge are found
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert _layer("iqa_eval.render.plot.x") > _layer("iqa_eval.data.io")


@pytest.mark.parametrize("module", ["iqa_eval", "iqa_eval.gmc", "iqa_eval.stats.metrics", "iqa_eval.stats.metrics",
                                    "iqa_eval.options"])
def test_light_imports_load_no_pandas_or_plotting(module):
    code = (f"import sys, {module}; "
            "print(','.join(m for m in ('pandas', 'matplotlib', 'plotly', 'statsmodels') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.strip() == ""


def test_the_tree_is_the_layer_diagram():
    # only the vocabulary and the errors sit beside the folders; every other module is in one
    flat = sorted(p.name for p in (REPO / "iqa_eval").glob("*.py"))
    assert flat == ["__init__.py", "errors.py", "options.py"]
    folders = sorted(p.name for p in (REPO / "iqa_eval").iterdir()
                     if p.is_dir() and (p / "__init__.py").exists() and p.name != "cli")
    assert folders == sorted(k for k in LAYERS if k not in ("errors", "options", "cli"))


@pytest.mark.slow
@pytest.mark.parametrize("old, new", [("iqa_eval.stats.metrics", "iqa_eval.stats.metrics"),
                                      ("iqa_eval.training.losses", "iqa_eval.training.losses")])
def test_old_import_paths_are_the_same_modules(old, new):
    code = (f"import importlib; a = importlib.import_module({old!r}); b = importlib.import_module({new!r}); "
            f"from {old} import __name__ as n; print(a is b, n)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.split() == ["True", new]
