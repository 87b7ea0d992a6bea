"""The Insights guard on its own: what it lets through, what it refuses and why, the LIMIT it
enforces, and that no text makes it fail open."""

from __future__ import annotations

import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.insights.corpus import ADVERSARIAL, BENIGN, BOUNDED_BY_REWRITE, SLOW_BUT_GUARDED, Query
from webapi.insights.guard import MAX_ROWS, MAX_SQL_CHARS, UnsafeQueryError, guard_sql

DIALECTS = ("sqlite", "postgres")
LET_THROUGH = SLOW_BUT_GUARDED | BOUNDED_BY_REWRITE


def text_for(query: Query, dialect: str) -> str:
    return query if isinstance(query, str) else query[DIALECTS.index(dialect)]


def outer_limit(sql: str, dialect: str) -> int | None:
    limit = sqlglot.parse_one(sql, read=dialect).args.get("limit")
    return None if limit is None else int(limit.expression.name)


def test_the_corpora_are_as_large_as_promised() -> None:
    assert len(BENIGN) >= 40
    assert len(ADVERSARIAL) >= 80


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", sorted(BENIGN))
def test_real_analytics_pass_with_a_bounded_limit(name: str, dialect: str) -> None:
    guarded = guard_sql(text_for(BENIGN[name], dialect), dialect)
    limit = outer_limit(guarded, dialect)
    assert limit is not None, guarded
    assert 0 < limit <= MAX_ROWS, guarded
    # What the guard returns passes it again unchanged: it is the query that runs, without
    # the comments it was written with.
    assert guard_sql(guarded, dialect) == guarded
    assert "--" not in guarded
    assert "/*" not in guarded


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", sorted(set(ADVERSARIAL) - LET_THROUGH))
def test_attacks_are_refused_with_a_reason(name: str, dialect: str) -> None:
    with pytest.raises(UnsafeQueryError) as refused:
        guard_sql(text_for(ADVERSARIAL[name], dialect), dialect)
    assert str(refused.value).strip(), name


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", sorted(LET_THROUGH))
def test_attacks_let_through_are_bounded(name: str, dialect: str) -> None:
    """Slow reads of allowed tables pass (the time limit stops them, test_runner.py); a
    missing, negative or computed LIMIT becomes MAX_ROWS."""
    guarded = guard_sql(text_for(ADVERSARIAL[name], dialect), dialect)
    assert outer_limit(guarded, dialect) == MAX_ROWS, guarded


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT id FROM users", MAX_ROWS),
        ("SELECT id FROM users LIMIT 7", 7),
        ("SELECT id FROM users LIMIT 7 OFFSET 3", 7),
        (f"SELECT id FROM users LIMIT {MAX_ROWS + 1}", MAX_ROWS),
        ("SELECT id FROM users UNION SELECT id FROM dialogs", MAX_ROWS),
        ("SELECT id FROM users UNION SELECT id FROM dialogs LIMIT 3", 3),
        ("WITH a AS (SELECT id FROM users LIMIT 5000) SELECT id FROM a", MAX_ROWS),
    ],
)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_limit_is_added_lowered_or_kept(sql: str, expected: int, dialect: str) -> None:
    assert outer_limit(guard_sql(sql, dialect), dialect) == expected


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT password_hash FROM accounts", "table accounts is not one of"),
        ("SELECT 1; SELECT 2", "exactly one statement"),
        ("DELETE FROM messages", "only a SELECT"),
        ("SELECT pg_sleep(5)", "function pg_sleep() is not allowed"),
        ("SELECT load_extension('x.so')", "function load_extension() is not allowed"),
        ("SELECT * FROM main.users", "outside the allowed tables"),
        ("SELECT secret FROM users", "column secret is not in the allowed tables"),
        ("WITH x AS (DELETE FROM users RETURNING id) SELECT * FROM x", "a CTE may only read"),
        ("SELECT FROM WHERE", "does not parse"),
    ],
)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_refusal_says_why(sql: str, reason: str, dialect: str) -> None:
    with pytest.raises(UnsafeQueryError, match=None) as refused:
        guard_sql(sql, dialect)
    assert reason.lower() in str(refused.value).lower(), str(refused.value)


def test_the_length_and_the_dialect_are_bounded() -> None:
    with pytest.raises(UnsafeQueryError, match="longer than"):
        guard_sql("SELECT 1" + " " * MAX_SQL_CHARS, "sqlite")
    with pytest.raises(UnsafeQueryError, match="unknown dialect"):
        guard_sql("SELECT 1", "mysql")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_deep_nesting_is_refused_not_a_crash(dialect: str) -> None:
    depth = MAX_SQL_CHARS // 2 - 10
    with pytest.raises(UnsafeQueryError):
        guard_sql("SELECT " + "(" * depth + "1" + ")" * depth, dialect)


SQL_WORDS = st.sampled_from(
    [
        "SELECT", "FROM", "WHERE", "users", "accounts", "messages", "dialogs", "id", "*", ",",
        "(", ")", ";", "--", "/*", "*/", "'", '"', "UNION", "WITH", "AS", "x", "1", "LIMIT",
        "DELETE", "pg_sleep(1)", "sqlite_master", "ATTACH", "PRAGMA", "JOIN", "ON", "=", "\n",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(SQL_WORDS, max_size=25) | st.lists(st.text(max_size=12), max_size=6),
    dialect=st.sampled_from(DIALECTS),
)
def test_no_text_makes_the_guard_fail_open(words: list[str], dialect: str) -> None:
    """Any text either comes back as a query the guard accepts again unchanged, with a bounded
    LIMIT, or is refused with UnsafeQueryError; nothing else escapes."""
    try:
        guarded = guard_sql(" ".join(words), dialect)
    except UnsafeQueryError:
        return
    assert guard_sql(guarded, dialect) == guarded
    limit = outer_limit(guarded, dialect)
    assert limit is not None
    assert limit <= MAX_ROWS
