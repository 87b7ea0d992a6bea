"""The layout shows the architecture: routes are thin HTTP, domain modules own the database."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import ROOT
from webapi import models
from webapi.extensions import db

WEBAPI = ROOT / "webapi"
HTTP_MODULES = [*sorted((WEBAPI / "api").rglob("*.py")), WEBAPI / "cli.py"]
# What it takes to hold a database session or build a query (the models' enums are plain values).
TABLES = {
    f"webapi.models.{name}"
    for name, value in vars(models).items()
    if isinstance(value, type) and issubclass(value, db.Model) and value is not db.Model
}
DATABASE_ACCESS = {"sqlalchemy", "webapi.extensions", *TABLES}
SESSION_HELPERS = {"read_session", "write_session"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize("path", HTTP_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_routes_and_commands_do_not_touch_the_database(path: Path) -> None:
    imports = imported_modules(path)
    reaching = {
        name
        for name in imports
        for forbidden in DATABASE_ACCESS
        if name == forbidden or name.startswith(forbidden + ".")
    }
    helpers = {name for name in imports if name.rsplit(".", 1)[-1] in SESSION_HELPERS}
    assert not reaching, f"{path.name} reaches the database directly: {sorted(reaching)}"
    assert not helpers, f"{path.name} opens transactions itself: {sorted(helpers)}"
    assert "db.session" not in path.read_text(encoding="utf-8")


def test_the_rule_knows_the_tables() -> None:
    assert {"webapi.models.User", "webapi.models.Message"} <= TABLES


def test_each_domain_has_its_module() -> None:
    domain = {path.stem for path in (WEBAPI / "domain").glob("*.py")}
    assert {"conversation", "users", "accounts", "roles", "llm"} <= domain
