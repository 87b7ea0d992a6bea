"""What the README says about Insights, read from it so that tests check it as written: the
statements that create PostgreSQL's read-only role, and the worked example."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Insights: ask the data in plain language"


def _section() -> str:
    text = README.read_text()
    assert SECTION in text, f"the README has no section {SECTION!r}"
    return text.split(SECTION, 1)[1].split("\n## ", 1)[0]


def _sql_blocks() -> list[str]:
    return re.findall(r"^```sql\n(.*?)^```$", _section(), re.MULTILINE | re.DOTALL)


def role_statements() -> list[str]:
    """The read-only role's statements, in order, comments dropped."""
    block = next(block for block in _sql_blocks() if "CREATE ROLE" in block)
    lines = [line for line in block.splitlines() if not line.startswith("--")]
    return [statement.strip() for statement in "\n".join(lines).split(";") if statement.strip()]


def example_sql() -> str:
    return next(block for block in _sql_blocks() if block.startswith("SELECT"))


def example_rows() -> list[list[str]]:
    """The worked example's table of rows, as the text of each cell."""
    table = re.search(r"^\| username \| tokens \|\n\|[-|]+\|\n((?:\|.*\|\n)+)", _section(), re.M)
    assert table is not None, "the worked example has no table of rows"
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in table.group(1).splitlines()
    ]


def example_demo_arguments() -> str:
    found = re.search(r"`seed-demo (--users[^`]*)`", " ".join(_section().split()))
    assert found is not None, "the worked example does not say which demo data it uses"
    return found.group(1)
