"""Code versions: what a job's result depends on in the package's source (README, "What re-runs").

A job's code version hashes the package modules its script imports, followed transitively inside
the package (imports inside functions included; a registry's lazily imported entries are named
explicitly, e.g. the attack the job runs). Each module counts by its syntax tree with docstrings
removed, so editing a comment, a docstring or the layout re-runs nothing, while editing code
re-runs exactly the jobs that import it. Pure standard library: the Snakefile computes these
while it is parsed.

A module outside the package (your own model, ``advtransfer.own``) counts too when a job names it:
a dotted name found on PYTHONPATH, Python's path or the working directory, or a .py file, followed
through the imports that resolve below the same import root (your other modules there). A module of
an installed distribution (site-packages) counts no more than the libraries the package imports.
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
    return frozenset(m for m in imported_names(path, name) if module_file(m) is not None)


@functools.lru_cache(maxsize=None)
def imported_names(path: Path, name: str | None = None) -> frozenset[str]:
    """Every module name that the source at ``path`` (module ``name``) imports, anywhere in it."""
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
    return frozenset(found)


def own_closure(module: str) -> tuple[dict[str, Path], list[str]]:
    """A module outside the package (``module``: a dotted name or a .py path): its file and those of
    the modules it imports below the same import root, transitively, keyed "own:<name>"; and the
    package modules they import. Nothing for a module of an installed distribution."""
    from advtransfer.own import file_under, installed, locate

    found = locate(module)
    if found is None or installed(found[1]):
        return {}, []
    root = found[2]
    todo, seen, package = [found[:2]], {}, []
    while todo:
        name, path = todo.pop()
        if f"own:{name}" in seen:
            continue
        seen[f"own:{name}"] = path
        for m in [*_parents(name), *imported_names(path, name)]:
            if module_file(m) is not None:
                package.append(m)
            elif (sub := file_under(root, m)) is not None:
                todo.append((m, sub))
    return seen, package


def closure(scripts: tuple[str | Path, ...] = (), modules: tuple[str, ...] = ()) -> dict[str, Path]:
    """Every package module (name → file) that ``scripts`` and ``modules`` import, transitively,
    with the packages around them (importing ``a.b`` runs ``a/__init__.py``). ``modules`` outside
    the package count with their own modules (``own_closure``)."""
    todo = [m for m in modules if module_file(m)]
    for script in scripts:
        todo += imported_modules(Path(script).resolve())
    seen: dict[str, Path] = {}
    for module in modules:
        if module != PACKAGE and not module.startswith(PACKAGE + "."):
            own, package = own_closure(module)
            seen.update(own)
            todo += package
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
    lazily imported attack, your own model's module): 16 hex digits that change exactly when that
    code changes."""
    h = hashlib.sha256()
    for script in scripts:
        h.update(source_digest(Path(script).resolve()).encode())
    for name, path in sorted(closure(tuple(scripts), tuple(modules)).items()):
        h.update(f"{name}:{source_digest(path)}\n".encode())
    return h.hexdigest()[:16]
