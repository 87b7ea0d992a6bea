"""The golden set holds on both databases: each reference query, guarded and run, returns what
plain Python computes from the rows, and each question answered end to end (the fake LLM
replaying the reference reply) comes back with that result and its chart. Execution accuracy
compares values, not names or spelling; the eval scores what it is given, right or wrong, and
says what it needs when it cannot run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests.doubles.fake_llm import FakeLLM, Reply
from tests.insights import eval as insights_eval
from tests.insights.golden import GOLDEN, Demo, GoldenItem, Rows, load_demo, matches, mismatch
from tests.insights.support import Seeded
from tests.support import ROOT
from webapi.domain.llm import LLMClient
from webapi.insights.answer import Answered, InsightsAnswerer
from webapi.insights.guard import guard_sql
from webapi.insights.runner import QueryResult, run_query

ITEMS = {item.key: item for item in GOLDEN}
API_KEY = "sk-golden-test-key-0123456789"


@pytest.fixture(scope="module")
def demo(seeded: Seeded) -> Demo:
    return load_demo(seeded.engine)


@pytest.fixture
def answerer(seeded: Seeded, fake_llm: FakeLLM) -> Iterator[InsightsAnswerer]:
    llm = LLMClient(fake_llm.base_url, "test-key", "test-model", timeout_s=5.0, max_attempts=1)
    yield InsightsAnswerer(llm, seeded.engine)
    llm.close()


def test_the_golden_set_is_thirty_distinct_questions() -> None:
    assert len(GOLDEN) == 30
    assert len(ITEMS) == 30
    assert len({item.question for item in GOLDEN}) == 30


@pytest.mark.parametrize("item", GOLDEN, ids=lambda item: item.key)
def test_the_reference_sql_returns_what_python_computes(
    item: GoldenItem, seeded: Seeded, demo: Demo
) -> None:
    expected = item.expected(demo)
    result = run_query(seeded.engine, guard_sql(item.sql_for(seeded.dialect), seeded.dialect))
    assert expected, item.question  # no question is answered by nothing
    assert mismatch(expected, result, item) is None, item.question
    assert item.chart.fitted(result.columns) == item.chart, item.question


@pytest.mark.parametrize("item", GOLDEN, ids=lambda item: item.key)
def test_a_golden_question_is_answered_end_to_end(
    item: GoldenItem,
    seeded: Seeded,
    demo: Demo,
    answerer: InsightsAnswerer,
    fake_llm: FakeLLM,
) -> None:
    fake_llm.script(Reply(item.plan(seeded.dialect)), Reply("The figures are in the table."))
    done = list(answerer.answer(item.question, []))[-1]
    assert isinstance(done, Answered)
    assert mismatch(item.expected(demo), done.result, item) is None, item.question
    assert done.sql == guard_sql(item.sql_for(seeded.dialect), seeded.dialect)
    assert done.chart == item.chart
    assert done.summary == "The figures are in the table."
    assert fake_llm.requests[0]["messages"][-1] == {"role": "user", "content": item.question}


# --- execution accuracy ----------------------------------------------------------------------


def judged(item: GoldenItem, expected: Rows, rows: Rows, truncated: bool = False) -> str | None:
    columns = [f"c{index}" for index in range(len(rows[0]) if rows else 0)]
    return mismatch(expected, QueryResult(columns, rows, truncated), item)


UNORDERED = GoldenItem("t", "?", "SELECT 1", expected=lambda demo: [])
ORDERED = replace(UNORDERED, ordered=True)
TOLERANT = replace(UNORDERED, tolerance=0.005)


@pytest.mark.parametrize(
    ("item", "expected", "rows"),
    [
        pytest.param(UNORDERED, [["a", 1], ["b", 2]], [["b", 2], ["a", 1]], id="any order"),
        pytest.param(UNORDERED, [["a", 1]], [[1, "a"]], id="columns in another order"),
        pytest.param(UNORDERED, [[None, 3]], [[None, 3]], id="null equals null"),
        pytest.param(UNORDERED, [[15, 40]], [["15", 40]], id="a number written as text"),
        pytest.param(UNORDERED, [[True]], [[1]], id="a boolean as 0 or 1"),
        pytest.param(
            UNORDERED,
            [["2026-11-11", 13]],
            [["2026-11-11T00:00:00+00:00", 13]],
            id="a day and its midnight",
        ),
        pytest.param(
            UNORDERED,
            [["2026-11-11 11:28:37.756000"]],
            [["2026-11-11T11:28:37.756000+00:00"]],
            id="one instant as either database writes it",
        ),
        pytest.param(TOLERANT, [[2.3333333]], [[2.33]], id="within the tolerance"),
        pytest.param(ORDERED, [["a", 2], ["b", 1]], [["a", 2], ["b", 1]], id="in order"),
        pytest.param(UNORDERED, [["a"], ["a"], ["b"]], [["a"], ["b"], ["a"]], id="multisets"),
    ],
)
def test_results_with_the_same_values_match(item: GoldenItem, expected: Rows, rows: Rows) -> None:
    assert judged(item, expected, rows) is None
    assert matches(expected, QueryResult(["x"] * len(rows[0]), rows, False), item)


@pytest.mark.parametrize(
    ("item", "expected", "rows", "why"),
    [
        pytest.param(UNORDERED, [[25]], [[90]], "the values differ", id="another value"),
        pytest.param(UNORDERED, [[25]], [[25], [1]], "1 row expected, 2 returned", id="rows"),
        pytest.param(UNORDERED, [[25]], [[25, 1]], "1 column expected, 2 returned", id="columns"),
        pytest.param(UNORDERED, [[None]], [[0]], "the values differ", id="null is not zero"),
        pytest.param(TOLERANT, [[2.3333333]], [[2.3]], "the values differ", id="rounded too far"),
        pytest.param(UNORDERED, [[2.5]], [[2.5000001]], "the values differ", id="no tolerance"),
        pytest.param(
            ORDERED,
            [["a", 2], ["b", 1]],
            [["b", 1], ["a", 2]],
            "the right rows in the wrong order",
            id="out of order",
        ),
        pytest.param(
            UNORDERED,
            [["a"], ["a"], ["b"]],
            [["a"], ["b"], ["b"]],
            "the values differ",
            id="counts",
        ),
        pytest.param(
            UNORDERED,
            [["2026-11-11", 13]],
            [["2026-11-11T00:00:00+03:00", 13]],
            "the values differ",
            id="another zone's midnight",
        ),
    ],
)
def test_results_with_other_values_do_not(
    item: GoldenItem, expected: Rows, rows: Rows, why: str
) -> None:
    found = judged(item, expected, rows)
    assert found is not None
    assert why in found


def test_a_cut_result_never_matches() -> None:
    assert judged(UNORDERED, [[1]], [[1]], truncated=True) == "the result was cut at 1 row"


# --- the eval --------------------------------------------------------------------------------

AMBIGUOUS = "SELECT id FROM users u JOIN dialogs d ON d.user_id = u.id"  # the database refuses
ENDLESS = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT COUNT(*) FROM r"


def plan(sql: str) -> Reply:
    return Reply(json.dumps({"sql": sql}))


def reference(item: GoldenItem) -> Reply:
    return Reply(item.plan("sqlite"))  # the eval seeds SQLite unless told otherwise


@pytest.fixture
def endpoint(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> FakeLLM:
    """The eval's "real" endpoint is the fake LLM, reached as webapi would reach it."""
    monkeypatch.setenv("LLM_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("LLM_API_KEY", API_KEY)
    monkeypatch.setenv("LLM_MODEL", "test-model")
    monkeypatch.setenv("LLM_TIMEOUT_S", "10")
    return fake_llm


def run_eval(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert insights_eval.main(list(args)) == 0
    captured = capsys.readouterr()
    assert API_KEY not in captured.out + captured.err
    return captured.out


def outcome_line(out: str, key: str) -> str:
    return next(
        line for line in out.splitlines() if line.endswith(f"  {key}") or f"  {key}:" in line
    )


def test_the_eval_scores_the_reference_answers_thirty_of_thirty(
    endpoint: FakeLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint.script(*(reference(item) for item in GOLDEN))
    out = run_eval(capsys)
    assert out.splitlines()[-1] == "execution accuracy: 30/30 (100.0%)"
    assert all("pass" in outcome_line(out, item.key) for item in GOLDEN)
    # One call per question: the summary is not scored, so it is not asked for.
    assert len(endpoint.requests) == 30
    assert [request["messages"][-1]["content"] for request in endpoint.requests] == [
        item.question for item in GOLDEN
    ]


def test_the_eval_counts_each_wrong_answer_with_its_reason(
    endpoint: FakeLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    per_day = ITEMS["questions-per-day"].sql_for("sqlite")
    replies: dict[str, list[Reply]] = {
        "users": [plan("SELECT COUNT(*) AS users FROM dialogs")],
        "messages": [Reply(json.dumps({"unanswerable": "no messages table"}))],
        "dialogs-by-channel-and-mode": [plan("DELETE FROM dialogs")],
        "answers-per-model": [plan(AMBIGUOUS), plan(AMBIGUOUS)],  # and its one retry
        "average-latency-per-model": [plan(ENDLESS)],
        "questions-per-day": [plan(per_day.replace("ORDER BY day", "ORDER BY day DESC"))],
        # Right, in other words: other names, columns swapped, no rounding.
        "tokens-per-model": [
            plan(
                "SELECT SUM(completion_tokens + prompt_tokens) AS total, model AS llm"
                " FROM messages WHERE status = 'ok' AND role = 'assistant' GROUP BY 2"
            )
        ],
        "error-rate": [
            plan(
                "SELECT 100.0 * COUNT(CASE WHEN status = 'error' AND error_code != 'cancelled'"
                " THEN 1 END) / COUNT(*) FROM messages WHERE role = 'user'"
            )
        ],
    }
    endpoint.script(*(r for item in GOLDEN for r in replies.get(item.key, [reference(item)])))
    out = run_eval(capsys, "--query-timeout", "0.5")
    assert out.splitlines()[-1] == "execution accuracy: 24/30 (80.0%)"
    reasons = {
        "users": "wrong result: the values differ",
        "messages": "unanswerable: I can't answer that from this data",
        "dialogs-by-channel-and-mode": "unsafe: The query was refused",
        "answers-per-model": "query error: The query failed twice",
        "average-latency-per-model": "timeout: The query took too long",
        "questions-per-day": "wrong result: the right rows in the wrong order",
    }
    for key, reason in reasons.items():
        assert f"FAIL  {key}: {reason}" in outcome_line(out, key)
    assert "sql: DELETE FROM dialogs" in out
    for key in ("tokens-per-model", "error-rate"):
        assert "pass" in outcome_line(out, key)


def test_the_eval_asks_only_the_questions_named(
    endpoint: FakeLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint.script(reference(ITEMS["users"]), reference(ITEMS["busiest-hour"]))
    out = run_eval(capsys, "--only", "busiest-hour", "--only", "users")
    assert out.splitlines()[-1] == "execution accuracy: 2/2 (100.0%)"
    assert [request["messages"][-1]["content"] for request in endpoint.requests] == [
        ITEMS["users"].question,
        ITEMS["busiest-hour"].question,
    ]


def test_without_an_api_key_the_eval_says_so_and_exits_2() -> None:
    environment = {k: v for k, v in os.environ.items() if k != "LLM_API_KEY"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.insights.eval"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("insights_eval: LLM_API_KEY is not set")
