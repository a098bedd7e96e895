"""Code versions: what a job's result depends on in the package's source (README, "What re-runs").

A job's code version hashes the package modules its script imports, followed transitively inside
the package (imports inside functions included; a registry's lazily imported entries are named
explicitly, e.g. the attack the job runs). Each module counts by its syntax tree with docstrings
removed, so editing a comment, a docstring or the layout re-runs nothing, while editing code
re-runs exactly the jobs that import it. Pure standard library: the Snakefile computes these
while it is parsed.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE = "advtransfer"
PACKAGE_DIR = Path(__file__).resolve().parent


def module_file(name: str) -> Path | None:
    """The source file of package module ``name`` (None outside the package or when missing)."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    base = PACKAGE_DIR.joinpath(*name.split(".")[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@functools.lru_cache(maxsize=None)
def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


@functools.lru_cache(maxsize=None)
def imported_modules(path: Path, name: str | None = None) -> frozenset[str]:
    """Package modules that the source at ``path`` (module ``name``) imports, anywhere in it."""
    found: set[str] = set()
    package = (name if path.name == "__init__.py" else name.rpartition(".")[0]) if name else ""
    for node in ast.walk(_parse(path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # submodules imported by name
    return frozenset(m for m in found if module_file(m) is not None)


def closure(scripts: tuple[str | Path, ...] = (), modules: tuple[str, ...] = ()) -> dict[str, Path]:
    """Every package module (name → file) that ``scripts`` and ``modules`` import, transitively,
    with the packages around them (importing ``a.b`` runs ``a/__init__.py``)."""
    todo = [m for m in modules if module_file(m)]
    for script in scripts:
        todo += imported_modules(Path(script).resolve())
    seen: dict[str, Path] = {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = module_file(name)
        seen[name] = path
        todo += [p for p in _parents(name) if p not in seen]
        todo += [m for m in imported_modules(path, name) if m not in seen]
    return seen


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


@functools.lru_cache(maxsize=None)
def source_digest(path: Path) -> str:
    """Hash of a Python file's code: its syntax tree without docstrings (comments never reach it),
    plus the package data files it names (e.g. a CSV table read beside it)."""
    tree = _without_docstrings(ast.parse(path.read_text(), filename=str(path)))  # a fresh tree: this edits it
    h = hashlib.sha256(ast.dump(tree, annotate_fields=False).encode())
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.endswith((".csv", ".yaml")):
            data = path.parent / node.value
            if data.is_file():
                h.update(data.read_bytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def code_version(*scripts: str | Path, modules: tuple[str, ...] = ()) -> str:
    """The code version of a job that runs ``scripts`` and uses ``modules`` (e.g. a registry's
    lazily imported attack): 16 hex digits that change exactly when that code changes."""
    h = hashlib.sha256()
    for script in scripts:
        h.update(source_digest(Path(script).resolve()).encode())
    for name, path in sorted(closure(tuple(scripts), tuple(modules)).items()):
        h.update(f"{name}:{source_digest(path)}\n".encode())
    return h.hexdigest()[:16]
