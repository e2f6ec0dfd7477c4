"""The public API surface: every public module declares it and documents all of it.

House rule 6: each public module (no ``_`` in its dotted path) of ``tokenfed`` and
``tokenfed_conformance`` has ``__all__``; every name in it resolves, has a docstring (for
constants and aliases: an attribute docstring right after the assignment, as the API reference
shows it), and is not ``_private``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

PACKAGES = ("tokenfed", "tokenfed_conformance")


def public_modules() -> list[str]:
    """Dotted names of the public modules of the packages (private ones and their children
    excluded)."""
    names: list[str] = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        names.append(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=package_name + "."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.append(info.name)
    return sorted(names)


MODULES = public_modules()


@cache
def module_ast(module_name: str) -> ast.Module | None:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    source = getattr(module, "__file__", None)
    if not source or not source.endswith(".py"):
        return None
    return ast.parse(Path(source).read_text(encoding="utf-8"))


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Module-level statements, looking into ``if``/``try`` blocks."""
    found: list[ast.stmt] = []
    for node in body:
        found.append(node)
        if isinstance(node, ast.If):
            found += _top_level(node.body) + _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            found += _top_level(node.body)
    return found


def _assigned(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def _resolve_from(module_name: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module_name if module_ast_is_package(module_name) else module_name.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def module_ast_is_package(module_name: str) -> bool:
    module = importlib.import_module(module_name)
    return hasattr(module, "__path__")


def static_docstring(module_name: str, name: str, depth: int = 0) -> str | None:
    """The docstring of ``name`` as written where it is defined, following ``from`` imports:
    a def/class docstring, or the string literal right after an assignment. ``None`` if the
    definition is not found in source."""
    tree = module_ast(module_name)
    if tree is None or depth > 10:
        return None
    statements = _top_level(tree.body)
    for index, node in enumerate(statements):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == name:
                return ast.get_docstring(node) or ""
        elif name in _assigned(node):
            following = statements[index + 1] if index + 1 < len(statements) else None
            if (
                isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                return inspect.cleandoc(following.value.value)
            return ""
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    source = _resolve_from(module_name, node)
                    if source.split(".")[0] not in PACKAGES:
                        return None
                    return static_docstring(source, alias.name, depth + 1)
    return None


def docstring_of(module: ModuleType, name: str) -> str:
    """The documentation a reader of the API reference gets for ``module.name``."""
    written = static_docstring(module.__name__, name)
    if written is not None:
        return written
    obj = getattr(module, name)
    if inspect.ismodule(obj) or inspect.isclass(obj) or callable(obj):
        return inspect.getdoc(obj) or ""
    return ""


@pytest.mark.parametrize("module_name", MODULES)
def test_module_declares_all(module_name: str) -> None:
    """Each public module has a docstring and an ``__all__`` of unique strings."""
    module = importlib.import_module(module_name)
    assert (module.__doc__ or "").strip(), f"{module_name} has no module docstring"
    exported = getattr(module, "__all__", None)
    assert isinstance(exported, list | tuple), f"{module_name} has no __all__"
    assert all(isinstance(name, str) for name in exported)
    assert len(exported) == len(set(exported)), f"{module_name}.__all__ has duplicates"


@pytest.mark.parametrize("module_name", MODULES)
def test_exported_names_resolve_and_are_public(module_name: str) -> None:
    """Every name in ``__all__`` exists (``from module import *`` works) and none is
    ``_private`` (dunders such as ``__version__`` are fine)."""
    module = importlib.import_module(module_name)
    exported = list(getattr(module, "__all__", ()))
    missing = [name for name in exported if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ names missing attributes: {missing}"
    private = [
        name
        for name in exported
        if name.startswith("_") and not (name.startswith("__") and name.endswith("__"))
    ]
    assert not private, f"{module_name} exports private names: {private}"
    namespace: dict[str, object] = {}
    exec(f"from {module_name} import *", namespace)
    assert set(exported) <= set(namespace)


@pytest.mark.parametrize("module_name", MODULES)
def test_exported_names_are_documented(module_name: str) -> None:
    """Every exported name has a docstring: classes and functions their own, constants and
    type aliases an attribute docstring after the assignment (``__version__`` aside)."""
    module = importlib.import_module(module_name)
    undocumented = [
        name
        for name in getattr(module, "__all__", ())
        if not name.startswith("__") and hasattr(module, name)
        if not docstring_of(module, name).strip()
    ]
    assert not undocumented, f"{module_name}: no docstring for {undocumented}"


@pytest.mark.parametrize("module_name", MODULES)
def test_public_methods_are_documented(module_name: str) -> None:
    """Public methods and properties of exported classes defined in tokenfed have docstrings
    (dunder methods and inherited members aside)."""
    module = importlib.import_module(module_name)
    undocumented: list[str] = []
    for name in getattr(module, "__all__", ()):
        cls = getattr(module, name, None)
        if not inspect.isclass(cls) or cls.__module__.split(".")[0] not in PACKAGES:
            continue
        for member_name, member in vars(cls).items():
            if member_name.startswith("_"):
                continue
            target = member.fget if isinstance(member, property) else member
            if isinstance(target, classmethod | staticmethod):
                target = target.__func__
            if inspect.isfunction(target) and not (target.__doc__ or "").strip():
                undocumented.append(f"{name}.{member_name}")
    assert not undocumented, f"{module_name}: methods without docstring: {undocumented}"


def test_private_modules_are_not_listed_as_public() -> None:
    """The walk finds the private machinery (``_json``, ``_model`` ...) and leaves it out, and
    finds the public modules the docs describe."""
    assert "tokenfed._json" not in MODULES
    assert {"tokenfed", "tokenfed.errors", "tokenfed.keys", "tokenfed.jws"} <= set(MODULES)
    assert "tokenfed_conformance.vectors" in MODULES
