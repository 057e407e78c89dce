"""pyproject.toml tells the truth: every library the package imports is declared, and every declared
library is imported (a declared library nobody uses is a download and an attack surface for nothing)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(requirements: list[str]) -> set[str]:
    return {_normalised(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]) for requirement in requirements}


def _imported_distributions(root: Path) -> set[str]:
    by_module = packages_distributions()
    found: set[str] = set()
    for source in root.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.partition(".")[0]
                if top in sys.stdlib_module_names or top in ("reconciler", "tests", "timing"):
                    continue
                found.update(_normalised(d) for d in by_module.get(top, [top]))
    return found


def test_the_package_declares_exactly_what_it_imports() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert _imported_distributions(REPO / "reconciler") == _declared(project["dependencies"])


def test_the_tests_import_nothing_undeclared() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = _declared(project["dependencies"]) | _declared(project["optional-dependencies"]["dev"])
    assert _imported_distributions(REPO / "tests") - declared == set()
