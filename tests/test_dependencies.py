"""Every third-party module the code imports is a declared dependency (not a transitive one)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from tests.support import ROOT

FIRST_PARTY = {"webapi", "bot", "tests", "devops", "noxfile"}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match[0]).lower()


def declared(*groups: str) -> set[str]:
    """The project's dependencies and the groups' (following `include-group` entries)."""
    names = {_name(item) for item in PYPROJECT["project"]["dependencies"]}
    for group in groups:
        for item in PYPROJECT["dependency-groups"][group]:
            if isinstance(item, str):
                names.add(_name(item))
            else:
                names |= declared(item["include-group"])
    return names


def third_party_imports(paths: list[Path]) -> dict[str, Path]:
    """Top-level third-party module -> one file that imports it (for the message)."""
    found: dict[str, Path] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                    found.setdefault(top, path)
    return found


# Folders whose code runs in another session, with its own group (the browser tests: web).
APART = (ROOT / "tests" / "e2e", ROOT / "tests" / "integration")


def python_files(*folders: str) -> list[Path]:
    files = []
    for folder in folders:
        top = ROOT / folder
        files += [
            path
            for path in top.rglob("*.py")
            if "migrations" not in path.parts
            and not any(path.is_relative_to(apart) and apart != top for apart in APART)
        ]
    return files


@pytest.mark.parametrize(
    ("folders", "groups"),
    [
        pytest.param(("webapi",), (), id="webapi"),
        pytest.param(("bot",), ("bot",), id="bot"),
        pytest.param(("tests",), ("test",), id="tests"),
        pytest.param(("tests/e2e",), ("web",), id="browser tests"),
        pytest.param(("tests/integration",), ("integration",), id="stack tests"),
    ],
)
def test_every_import_is_declared(folders: tuple[str, ...], groups: tuple[str, ...]) -> None:
    distributions = packages_distributions()
    allowed = declared(*groups)
    missing = {}
    for module, path in third_party_imports(python_files(*folders)).items():
        owners = {_name(owner) for owner in distributions.get(module, [module])}
        if not owners & allowed:
            missing[module] = f"{path.relative_to(ROOT)} (from {sorted(owners)})"
    assert not missing, f"imported but not declared: {missing}"
