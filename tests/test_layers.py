"""The package's layers, drawn from its own imports (every import statement, those inside functions too):
no module imports one of a higher layer, no two modules import each other (directly or round a
circle), every workflow job lives in ``advtransfer.jobs``, and only the jobs read and write the
workflow's files (``io``, ``model_io``). docs/extending.md describes the layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from workflow_helpers import ROOT

PACKAGE = ROOT / "src" / "advtransfer"

# Low to high; a module may import modules of its own layer and of the layers below. The first
# match of a module's name (or its package's) decides.
LAYERS = {
    "core": ["advtransfer", "advtransfer.constants", "advtransfer.files", "advtransfer.catalog",
             "advtransfer.registry", "advtransfer.own", "advtransfer.gpus", "advtransfer.inference",
             "advtransfer.recipe", "advtransfer.schema", "advtransfer.code", "advtransfer.presets"],
    "science": ["advtransfer.data", "advtransfer.models", "advtransfer.softlabels", "advtransfer.metrics",
                "advtransfer.statistics", "advtransfer.pass_score", "advtransfer.lots", "advtransfer.attacks",
                "advtransfer.defences", "advtransfer.finetuning", "advtransfer.training", "advtransfer.tables",
                "advtransfer.paper", "advtransfer.figures", "advtransfer.report"],
    "study": ["advtransfer.study", "advtransfer.config"],
    "job files": ["advtransfer.io", "advtransfer.model_io"],
    "jobs": ["advtransfer.jobs"],
}
ORDER = list(LAYERS)
SCIENCE_MAY_NOT_IMPORT = ("advtransfer.io", "advtransfer.model_io", "advtransfer.study", "advtransfer.config",
                          "advtransfer.jobs")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The package module ``name`` names (a module, or the package of a name inside it)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(module: str) -> set[str]:
    """The package modules ``module`` imports, anywhere in it (``from a import b`` counts ``a.b`` when b
    is a module, else ``a``)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module
                     for alias in node.names]
        else:
            continue
        found.update(r for r in map(resolve, names) if r and r != module)
    return found


GRAPH = {module: imports(module) for module in MODULES}


def layer(module: str) -> str:
    best = None
    for name, prefixes in LAYERS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[1])):
                best = (name, prefix)
    assert best, f"{module} belongs to no layer: add it to LAYERS in tests/test_layers.py"
    return best[0]


def test_every_module_has_a_layer():
    for module in MODULES:
        layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_up_a_layer(module):
    up = {m for m in GRAPH[module] if ORDER.index(layer(m)) > ORDER.index(layer(module))}
    assert not up, f"{module} ({layer(module)}) imports the higher {sorted(up)}"


def test_the_science_imports_no_job_study_or_workflow_files():
    for module in (m for m in MODULES if layer(m) == "science"):
        bad = {m for m in GRAPH[module] if m.startswith(SCIENCE_MAY_NOT_IMPORT)}
        assert not bad, f"{module} imports {sorted(bad)}"


def test_only_the_jobs_import_the_workflow_files():
    for module, imported in GRAPH.items():
        if layer(module) != "jobs":
            assert not imported & {"advtransfer.io", "advtransfer.model_io"} - {module}, module


def test_no_circle_of_imports():
    """Tarjan's strongly connected components: every one a single module."""
    index, low, stack, on_stack, circles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert not circles, f"modules that import each other: {circles}"


def test_every_job_lives_in_the_jobs_package():
    for module, path in MODULES.items():
        jobs = [n.name for n in ast.walk(ast.parse(path.read_text()))
                if isinstance(n, ast.FunctionDef) and n.name.endswith("_job")]
        if not module.startswith("advtransfer.jobs"):
            assert not jobs, f"{module} defines the jobs {jobs}: they belong in advtransfer.jobs"


def test_every_script_runs_a_job_of_the_jobs_package():
    for script in sorted((ROOT / "workflow" / "scripts").glob("*.py")):
        tree = ast.parse(script.read_text())
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert "advtransfer.jobs" in modules, script.name  # the job() context
        assert any(m.startswith("advtransfer.jobs.") for m in modules), script.name
        assert all(m == "advtransfer.jobs" or m.startswith("advtransfer.jobs.") for m in modules), script.name
