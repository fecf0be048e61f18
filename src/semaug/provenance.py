"""Which library code a job runs, as a hash: rules carry it as a `params` entry, so Snakemake
reruns exactly the jobs whose code changed (its default `params` rerun trigger), and nothing
else (editing ``semaug/aggregate.py`` redraws tables, it does not retrain).

The code of a module is its own source plus that of every ``semaug`` module it imports,
followed statically (``import``/``from`` statements, at any depth, including the packages'
``__init__`` files that Python runs on the way). Modules loaded by name at run time (a
generator picked from the catalog) are not followed: name them too.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path

PACKAGE = "semaug"
_ROOT = Path(__file__).resolve().parent


def _file_of(module: str) -> Path | None:
    """The source file of a ``semaug`` module (a package: its ``__init__.py``), or None."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = _ROOT.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


@lru_cache(maxsize=None)
def _imports(module: str) -> frozenset[str]:
    """The ``semaug`` modules that ``module``'s source imports (and the packages above them)."""
    path = _file_of(module)
    if path is None:
        return frozenset()
    package = _package_of(module, path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = importlib.util.resolve_name("." * node.level + base, package)
            names = [base] + [f"{base}.{a.name}" for a in node.names]  # `from pkg import mod`
        for name in names:
            parts = name.split(".")
            found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return frozenset(m for m in found if m.startswith(PACKAGE) and _file_of(m) is not None)


def closure(*modules: str) -> list[str]:
    """``modules`` and every ``semaug`` module they import, transitively, sorted."""
    seen: set[str] = set()
    todo = [m for m in modules if m]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        if _file_of(module) is None:
            raise ValueError(f"{module!r} is not a module of the {PACKAGE} package")
        seen.add(module)
        parts = module.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # packages run too
        todo.extend(_imports(module))
    return sorted(seen)


@lru_cache(maxsize=None)  # asked once per job at DAG time: read each source once a run
def code_version(*modules: str) -> str:
    """A short hash of the source of ``modules`` and all they import (see :func:`closure`)."""
    digest = hashlib.sha256()
    for module in closure(*modules):
        digest.update(module.encode() + b"\0")
        digest.update(_file_of(module).read_bytes() + b"\0")  # type: ignore[union-attr]
    return digest.hexdigest()[:16]
