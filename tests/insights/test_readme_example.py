"""The README's worked example is what Insights gives on its data, on both databases."""

from __future__ import annotations

from tests.insights.readme import example_demo_arguments, example_rows, example_sql
from tests.insights.support import DEMO, Seeded
from webapi.insights.guard import guard_sql
from webapi.insights.runner import run_query


def test_the_worked_example_is_what_its_query_returns(seeded: Seeded) -> None:
    assert example_demo_arguments() == " ".join(DEMO)
    sql = guard_sql(example_sql(), seeded.dialect)
    assert sql.endswith("LIMIT 3"), "the example's own LIMIT stands"

    result = run_query(seeded.engine, sql)

    assert result.columns == ["username", "tokens"]
    assert not result.truncated
    assert [[str(cell) for cell in row] for row in result.rows] == example_rows()
