"""The Insights guard: a model's SQL runs only as one read-only query over the allow-list.

Fail closed: the query is parsed with sqlglot for the database's dialect, and then every node
of its tree must be of a kind this module knows to be harmless, every table one of the bot's
own (or a CTE or derived table of the query, resolved through sqlglot's scopes as the database
resolves them), every function on the allow-list, every type of a cast a plain one. What runs
is the checked tree printed again by sqlglot, with a LIMIT of at most MAX_ROWS on the outer
query. Should the guard be wrong, the connection still cannot write (see runner.py).
"""

from __future__ import annotations

import logging

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import traverse_scope

from webapi.models import Dialog, Message, User

# sqlglot warns, quoting the query, of every statement it can only read as a bare command;
# the guard refuses those itself and says why.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

MAX_ROWS = 1000
MAX_SQL_CHARS = 8_000
DIALECTS = ("sqlite", "postgres")


def words(text: str) -> frozenset[str]:
    """A set of names written as text, separated by spaces."""
    return frozenset(text.split())


# The tables the model may read, with their columns (schema.py describes the same).
# Accounts, sessions, rate limits and the rollups are not among them, nor Insights' own
# stored results (what console accounts asked of the data is not data about the bot's use).
_HIDDEN_COLUMNS = {"messages": {"result"}}
TABLES: dict[str, frozenset[str]] = {
    model.__tablename__: frozenset(
        column.name
        for column in model.__table__.columns
        if column.name not in _HIDDEN_COLUMNS.get(model.__tablename__, set())
    )
    for model in (User, Dialog, Message)
}
COLUMNS = frozenset().union(*TABLES.values())

# Query structure: clauses, operators, literals, references.
_STRUCTURE: set[type[exp.Expr]] = {
    exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery, exp.With, exp.CTE,
    exp.From, exp.Join, exp.Where, exp.Group, exp.Having, exp.Order, exp.Ordered, exp.Limit,
    exp.Offset, exp.Distinct, exp.Window, exp.WindowSpec, exp.Filter, exp.Table,
    exp.TableAlias, exp.Alias, exp.Column, exp.Identifier, exp.Star, exp.Literal, exp.Null,
    exp.Boolean, exp.Paren, exp.Tuple, exp.Values, exp.Interval, exp.DataType,
    exp.Neg, exp.Not, exp.And, exp.Or, exp.Xor, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT,
    exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ, exp.Is, exp.In, exp.Between, exp.Like,
    exp.ILike, exp.Escape, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod,
    exp.DPipe, exp.BitwiseAnd, exp.BitwiseOr, exp.BitwiseXor, exp.BitwiseNot, exp.Any,
    exp.All, exp.Exists, exp.Case, exp.If, exp.Cast, exp.TryCast, exp.DataTypeParam,
    exp.AtTimeZone, exp.RegexpLike, exp.WithinGroup, exp.Semicolon,
}  # fmt: skip
# Functions sqlglot knows by name: aggregates, windows, conditionals, math, text, dates.
_FUNCTIONS: set[type[exp.Expr]] = {
    exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.GroupConcat, exp.Stddev,
    exp.StddevPop, exp.StddevSamp, exp.Variance, exp.VariancePop, exp.PercentileCont,
    exp.PercentileDisc, exp.Corr, exp.CountIf, exp.LogicalAnd, exp.LogicalOr,
    exp.RowNumber, exp.Rank, exp.DenseRank, exp.PercentRank, exp.CumeDist, exp.Ntile,
    exp.Lag, exp.Lead, exp.FirstValue, exp.LastValue, exp.NthValue,
    exp.Coalesce, exp.Nullif, exp.Greatest, exp.Least,
    exp.Abs, exp.Round, exp.Ceil, exp.Floor, exp.Ln, exp.Log, exp.Exp, exp.Pow, exp.Sqrt,
    exp.Sign,
    exp.Lower, exp.Upper, exp.Length, exp.Trim, exp.Substring, exp.Replace, exp.Concat,
    exp.ConcatWs, exp.Left, exp.Right, exp.StrPosition, exp.Initcap, exp.Reverse,
    exp.Date, exp.TimeToStr, exp.TimestampTrunc, exp.DateTrunc, exp.Extract,
    exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime, exp.TsOrDsToTimestamp,
    exp.TsOrDsToDate, exp.StrToTime, exp.StrToDate, exp.TimeStrToTime, exp.DateAdd,
    exp.DateSub, exp.DateDiff, exp.UnixToTime, exp.TimeToUnix, exp.DateStrToDate, exp.Day,
    exp.Month, exp.Year, exp.DayOfWeek, exp.DayOfMonth, exp.DayOfYear, exp.WeekOfYear,
    exp.Quarter, exp.ToChar,
}  # fmt: skip
# Functions sqlglot leaves by name (Anonymous), per dialect: pure ones on values. Nothing that
# reads files or settings, sleeps, loads code, makes huge values or reaches other databases.
_NAMED_FUNCTIONS = {
    "sqlite": words(
        "datetime julianday strftime date time unixepoch iif ifnull instr total typeof"
        " nullif ltrim rtrim"
    ),
    "postgres": words(
        "date_part age to_timestamp date_bin make_interval justify_interval justify_days"
        " justify_hours split_part char_length btrim ltrim rtrim to_char to_date"
        " timezone"
    ),
}
# Casts to plain types only: a cast to regclass and the like looks into the catalog.
_TYPES = {
    exp.DataType.Type.INT, exp.DataType.Type.BIGINT, exp.DataType.Type.SMALLINT,
    exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE, exp.DataType.Type.DECIMAL,
    exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR,
    exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ,
    exp.DataType.Type.TIME, exp.DataType.Type.INTERVAL, exp.DataType.Type.BOOLEAN,
}  # fmt: skip
# Bare words (date parts, interval units) only where they name a part of a date.
_VAR_PARENTS = (exp.Extract, exp.Interval, exp.TimestampTrunc, exp.DateTrunc, exp.DataType)


class UnsafeQueryError(ValueError):
    """The query may not run; the message says why (it goes back to the model and the user)."""


def guard_sql(sql: str, dialect: str) -> str:
    """The SQL that will run for `sql` in `dialect` (sqlglot's names: sqlite, postgres), its
    LIMIT at most MAX_ROWS; UnsafeQueryError if it is not one read-only query over the
    allow-list."""
    if dialect not in DIALECTS:
        raise UnsafeQueryError(f"unknown dialect {dialect!r}")
    if len(sql) > MAX_SQL_CHARS:
        raise UnsafeQueryError(f"the query is longer than {MAX_SQL_CHARS} characters")
    try:
        return _checked(sql, dialect)
    except UnsafeQueryError:
        raise
    except Exception:  # sqlglot's own failures (deep nesting, odd input): fail closed
        raise UnsafeQueryError("the query could not be checked") from None


def _checked(sql: str, dialect: str) -> str:
    tree = _one_statement(sql, dialect)
    _check(tree, dialect)
    _cap_rows(tree)
    # Without comments: nothing in what runs is left unchecked.
    guarded = tree.sql(dialect=dialect, comments=False)
    # What runs is the printed text: read again, it must pass as well and print the same.
    again = _one_statement(guarded, dialect)
    _check(again, dialect)
    if again.sql(dialect=dialect, comments=False) != guarded:
        raise UnsafeQueryError("the query does not read back as it was checked")
    return guarded


def _check(tree: exp.Expr, dialect: str) -> None:
    if not isinstance(tree, exp.Select | exp.SetOperation):
        raise UnsafeQueryError("only a SELECT query may run")
    for node in tree.walk():
        _check_node(node, dialect)
    _check_tables(tree)
    _check_columns(tree)


def _one_statement(sql: str, dialect: str) -> exp.Expr:
    try:
        statements = sqlglot.parse(sql, read=dialect)
    except SqlglotError as exc:
        raise UnsafeQueryError(f"the query does not parse: {_first_line(exc)}") from None
    # A trailing semicolon, or one followed by a comment, is no second statement.
    real = [s for s in statements if s is not None and not isinstance(s, exp.Semicolon)]
    if len(real) != 1:
        raise UnsafeQueryError("exactly one statement may run")
    return real[0]


def _check_node(node: exp.Expr, dialect: str) -> None:
    kind = type(node)
    if kind is exp.Anonymous:
        name = node.name
        if not _is_plain(name) or name.lower() not in _NAMED_FUNCTIONS[dialect]:
            raise UnsafeQueryError(f"function {name}() is not allowed")
    elif kind is exp.Var:
        if not isinstance(node.parent, _VAR_PARENTS) or not _is_plain(node.name):
            raise UnsafeQueryError(f"{node.name!r} is not allowed here")
    elif kind is exp.DataType:
        if node.this not in _TYPES:
            raise UnsafeQueryError(f"a cast to {node.sql()} is not allowed")
    elif kind is exp.Select and not node.expressions:
        raise UnsafeQueryError("a SELECT must name what it selects")
    elif kind is exp.CTE:
        if isinstance(node.this, exp.DML) or node.find(exp.DML) is not None:
            raise UnsafeQueryError("a CTE may only read")
    elif kind not in _STRUCTURE and kind not in _FUNCTIONS:
        what = node.key.upper() if isinstance(node, exp.Func) else node.key
        raise UnsafeQueryError(f"{what} is not allowed in an Insights query")


def _check_tables(tree: exp.Expr) -> None:
    """Every table read is one of TABLES, or a CTE in scope where it is named."""
    checked: set[int] = set()
    for scope in traverse_scope(tree):
        for table in scope.tables:
            checked.add(id(table))
            if table.args.get("db") or table.args.get("catalog"):
                raise UnsafeQueryError(f"table {table.sql()} is outside the allowed tables")
            if table.name in scope.cte_sources:
                continue
            if not _is_plain(table.name) or table.name.lower() not in TABLES:
                raise UnsafeQueryError(
                    f"table {table.name} is not one of {', '.join(sorted(TABLES))}"
                )
    for table in tree.find_all(exp.Table):
        if id(table) not in checked:
            raise UnsafeQueryError(f"table {table.sql()} is used where it cannot be checked")


def _check_columns(tree: exp.Expr) -> None:
    """Every column is one of the allowed tables' or a name the query itself gives."""
    own = {alias.alias.lower() for alias in tree.find_all(exp.Alias)}
    for table_alias in tree.find_all(exp.TableAlias):
        own.add(table_alias.name.lower())
        own |= {column.name.lower() for column in table_alias.columns}
    for column in tree.find_all(exp.Column):
        name = column.name
        if not isinstance(column.this, exp.Identifier | exp.Star):
            raise UnsafeQueryError(f"column {column.sql()} is not allowed")
        if isinstance(column.this, exp.Star):
            continue
        if not _is_plain(name) or (name.lower() not in COLUMNS and name.lower() not in own):
            raise UnsafeQueryError(f"column {name} is not in the allowed tables")


def _cap_rows(tree: exp.Expr) -> None:
    """The outer query returns at most MAX_ROWS rows: a LIMIT added, lowered, or replaced."""
    limit = tree.args.get("limit")
    count = limit.expression if isinstance(limit, exp.Limit) else None
    if isinstance(count, exp.Literal) and count.is_int and int(count.name) <= MAX_ROWS:
        return
    if limit is not None and not isinstance(limit, exp.Limit):
        raise UnsafeQueryError("only LIMIT may bound the rows")
    tree.set("limit", exp.Limit(expression=exp.Literal.number(MAX_ROWS)))


def _is_plain(name: str) -> bool:
    """ASCII only: look-alike letters from elsewhere in Unicode never match a name here."""
    return name.isascii() and name.isprintable()


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
