"""What the project declares is what it imports: pyproject.toml's runtime dependencies are exactly the
distributions the package and the workflow's scripts import (and the few they need without importing
them); the test extra covers what the tests and benchmarks import besides."""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from workflow_helpers import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Needed without an import statement: the reason is the entry.
RUNTIME_UNIMPORTED = {
    "snakemake": "the workflow engine that runs the study (the jobs are its scripts)",
    "snakemake-executor-plugin-slurm": "Snakemake loads it for `--executor slurm` (workflow/profiles/slurm)",
    "tabulate": "pandas' DataFrame.to_markdown needs it (io.write_table)",
}
TEST_UNIMPORTED = {"ruff": "run as a command (tests/test_lint.py)", "snakefmt": "run as a command"}
BENCHMARK_OPTIONAL = {"torchattacks"}  # compared with when installed (benchmarks/attacks.py)


def name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0).lower().replace("_", "-")


def imported_distributions(*folders: str) -> set[str]:
    """The distributions that the ``.py`` files below ``folders`` import (any import, at any depth)."""
    modules = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    local = {"advtransfer", "__future__", "own_model", "own_data", "workflow_helpers", "slurm_cluster", "conftest"}
    local |= {p.stem for p in (ROOT / "tests").glob("*.py")} | {p.stem for p in (ROOT / "benchmarks").glob("*.py")}
    third_party = modules - set(sys.stdlib_module_names) - local
    dists = packages_distributions()
    unknown = {m for m in third_party if m not in dists}
    assert not unknown - BENCHMARK_OPTIONAL, f"imported but not installed: {sorted(unknown)}"
    return {name(d) for m in third_party - unknown for d in dists[m]}


def test_runtime_dependencies_are_what_the_package_and_its_scripts_import():
    declared = {name(r) for r in PYPROJECT["project"]["dependencies"]}
    imported = imported_distributions("src", "workflow/scripts")
    assert imported - declared == set(), "imported but not declared in pyproject.toml"
    assert declared - imported - set(RUNTIME_UNIMPORTED) == set(), "declared but never imported"


def test_the_test_extra_covers_what_tests_and_benchmarks_import_besides():
    runtime = {name(r) for r in PYPROJECT["project"]["dependencies"]}
    test = {name(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]}
    imported = imported_distributions("tests", "benchmarks")
    assert imported - runtime - test == set(), "the tests import these but the test extra lacks them"
    assert test - imported - set(TEST_UNIMPORTED) == set(), "the test extra declares these but nothing imports them"


def test_runtime_dependencies_are_ranges_and_the_tested_set_is_pinned():
    """Ranges let the package live beside others; envs/constraints.txt pins the set the tests ran with."""
    for requirement in PYPROJECT["project"]["dependencies"]:
        assert "==" not in requirement, requirement
    pins = dict(line.split("==") for line in (ROOT / "envs" / "constraints.txt").read_text().splitlines()
                if line and not line.startswith("#"))
    for requirement in PYPROJECT["project"]["dependencies"]:
        assert name(requirement) in {name(p) for p in pins}, f"{requirement} has no pin in envs/constraints.txt"


def test_the_conda_environment_pins_the_runtime_dependencies_as_tested():
    import yaml

    env = yaml.safe_load((ROOT / "envs" / "environment.yaml").read_text())
    listed = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pins = {name(p.split("==")[0]): p.split("==")[1] for p in
            (ROOT / "envs" / "constraints.txt").read_text().splitlines() if "==" in p and not p.startswith("#")}
    assert {name(r) for r in PYPROJECT["project"]["dependencies"]} == {name(p.split("==")[0]) for p in listed}
    for pinned in listed:
        package, version = pinned.split("==")
        assert pins[name(package)] == version, pinned
