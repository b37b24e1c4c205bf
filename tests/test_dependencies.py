"""The distribution declares what its code imports, and nothing it does not use.

Reads every import of the shipped packages (``ast``, no execution), maps each third-party module
to the distribution that provides it (``importlib.metadata``), and compares with the package's
own metadata: a module importing an undeclared package would install fine from a checkout with
the test extra and fail for every user of the wheel (as ``jsonschema`` once did).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHIPPED = ("tradesys", "hall", "contracts", "archive")

#: Declared dependencies that no module names in an import statement, with what loads them.
LOADED_INDIRECTLY = {
    "asyncpg": "SQLAlchemy's postgresql+asyncpg dialect, chosen by the database URL",
    "aiosqlite": "SQLAlchemy's sqlite+aiosqlite dialect, the embedded default",
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_modules() -> dict[str, set[Path]]:
    """Top-level module name → the files that import it (absolute imports only)."""
    found: dict[str, set[Path]] = {}
    for package in SHIPPED:
        for path in (REPO / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(path.relative_to(REPO))
    return found


def declared() -> set[str]:
    requirements = importlib.metadata.requires("tradesys") or []
    return {canonical(re.split(r"[\s\[<>=!~;]", line, maxsplit=1)[0])
            for line in requirements if "extra ==" not in line}


def third_party(modules: dict[str, set[Path]]) -> dict[str, set[Path]]:
    own = set(SHIPPED) | {"tests", "bench"}
    return {name: files for name, files in modules.items()
            if name not in sys.stdlib_module_names and name not in own and name != "__future__"}


def test_every_imported_package_is_a_declared_dependency() -> None:
    providers = importlib.metadata.packages_distributions()
    dependencies = declared()
    undeclared = {}
    for module, files in third_party(imported_modules()).items():
        distributions = {canonical(name) for name in providers.get(module, [module])}
        if not distributions & dependencies:
            undeclared[module] = sorted(str(path) for path in files)
    assert undeclared == {}, f"imported but not in [project.dependencies]: {undeclared}"


def test_every_declared_dependency_is_used() -> None:
    providers = importlib.metadata.packages_distributions()
    used = {canonical(name) for module in third_party(imported_modules())
            for name in providers.get(module, [module])}
    unused = declared() - used - set(LOADED_INDIRECTLY)
    assert unused == set(), f"declared but imported by no shipped module: {sorted(unused)}"


def test_the_indirectly_loaded_dependencies_are_still_declared() -> None:
    assert set(LOADED_INDIRECTLY) <= declared()
