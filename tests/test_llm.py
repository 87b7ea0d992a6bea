"""The LLM client against the fake server: error codes, retries and the overall time budget."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.doubles.fake_llm import Behaviour, FakeLLM, Hang, Reply, Stall, Status
from webapi.domain.llm import (
    Delta,
    Finished,
    LLMClient,
    LLMError,
    retry_after_seconds,
    sse_data,
)
from webapi.domain.outcomes import AnswerErrorCode

MESSAGES = [{"role": "user", "content": "hello"}]


def client(fake: FakeLLM, timeout_s: float = 3.0, attempts: int = 3) -> LLMClient:
    return LLMClient(
        base_url=fake.base_url,
        api_key="k",
        model="test-model",
        timeout_s=timeout_s,
        max_attempts=attempts,
        backoff_s=0.05,
    )


def run(llm: LLMClient) -> list[Delta | Finished]:
    try:
        return list(llm.stream_chat(MESSAGES))  # type: ignore[arg-type]
    finally:
        llm.close()


def test_a_stream_yields_deltas_then_one_finished(fake_llm: FakeLLM) -> None:
    fake_llm.script(Reply("one two three", chunk_size=4))
    events = run(client(fake_llm))
    *deltas, finished = events
    assert "".join(d.text for d in deltas if isinstance(d, Delta)) == "one two three"
    assert isinstance(finished, Finished)
    assert (finished.model, finished.completion_tokens) == ("test-model", 3)
    assert finished.prompt_tokens == 1


def test_server_errors_are_retried_then_succeed(fake_llm: FakeLLM) -> None:
    fake_llm.script(Status(503), Status(502), Reply("ok"))
    events = run(client(fake_llm))
    assert isinstance(events[-1], Finished)
    assert len(fake_llm.requests) == 3


def test_attempts_are_bounded(fake_llm: FakeLLM) -> None:
    fake_llm.script(*[Status(500)] * 5)
    with pytest.raises(LLMError) as caught:
        run(client(fake_llm, attempts=2))
    assert caught.value.code == AnswerErrorCode.LLM_UNAVAILABLE
    assert len(fake_llm.requests) == 2


def test_a_retry_after_beyond_the_budget_fails_at_once(fake_llm: FakeLLM) -> None:
    fake_llm.script(Status(429, retry_after=120), Reply("too late"))
    with pytest.raises(LLMError) as caught:
        run(client(fake_llm, timeout_s=2.0))
    assert caught.value.code == AnswerErrorCode.LLM_RATE_LIMITED
    assert caught.value.retry_after_s == 120
    assert len(fake_llm.requests) == 1, "no second attempt that could only end past the budget"


def test_a_stalled_stream_ends_inside_the_budget(fake_llm: FakeLLM) -> None:
    fake_llm.script(Stall(after_chunks=2, seconds=20))
    started = time.monotonic()
    with pytest.raises(LLMError) as caught:
        run(client(fake_llm, timeout_s=1.0))
    assert caught.value.code == AnswerErrorCode.LLM_TIMEOUT
    # The watchdog cuts the stream at the budget, not after the stall's 20 s.
    assert time.monotonic() - started < 10


def test_client_errors_are_not_retried(fake_llm: FakeLLM) -> None:
    fake_llm.script(Status(400), Reply("never"))
    with pytest.raises(LLMError) as caught:
        run(client(fake_llm))
    assert caught.value.code == AnswerErrorCode.LLM_REJECTED
    assert len(fake_llm.requests) == 1


def test_reachability(fake_llm: FakeLLM) -> None:
    llm = client(fake_llm)
    assert llm.is_reachable() is True
    llm.close()
    fake_llm_gone = LLMClient("http://127.0.0.1:9/v1", "k", "m", timeout_s=1.0)
    assert fake_llm_gone.is_reachable(timeout_s=1.0) is False
    fake_llm_gone.close()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({}, None),
        ({"retry-after": "-3"}, 0.0),
    ],
)
def test_retry_after_parsing(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers) == expected


def test_retry_after_as_an_http_date() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    seconds = retry_after_seconds({"retry-after": when})
    assert seconds is not None
    assert 25 < seconds <= 30


# --- the budget is hard: LLM_TIMEOUT_S bounds the whole answer, retries included --------------

# Loose enough for a noisy machine; the benchmark prints the exact overrun.
SLACK_S = 0.8  # still well under the doubled budget it guards against

BUDGET_BREAKERS = [
    pytest.param(
        [Reply("word " * 40, chunk_size=5, delay_between_chunks_s=0.95)], id="slow-chunks"
    ),
    pytest.param([Stall(after_chunks=2, seconds=30)], id="stalled-stream"),
    pytest.param([Hang(30)], id="no-headers"),
    pytest.param(
        [Status(503), Status(503), Reply("a b c " * 20, chunk_size=2, delay_between_chunks_s=0.3)],
        id="retries-then-slow-chunks",
    ),
    pytest.param([Status(429, retry_after=0.6), Hang(30)], id="rate-limited-then-hang"),
]


@pytest.mark.parametrize("script", BUDGET_BREAKERS)
def test_an_answer_ends_within_its_budget_whatever_the_endpoint_does(
    fake_llm: FakeLLM, script: list[Behaviour]
) -> None:
    """Chunks that each arrive just under the budget used to stretch an answer to twice it."""
    fake_llm.script(*script)
    budget = 1.0
    started = time.monotonic()

    with pytest.raises(LLMError) as caught:
        run(client(fake_llm, timeout_s=budget))

    elapsed = time.monotonic() - started
    assert caught.value.code == AnswerErrorCode.LLM_TIMEOUT
    assert elapsed < budget + SLACK_S, f"took {elapsed:.2f} s for a {budget} s budget"


def test_no_thread_is_started_per_stream(fake_llm: FakeLLM) -> None:
    """The budget is kept by the sockets themselves, not by a watchdog thread per answer."""
    fake_llm.script(Reply("one two three four five six", chunk_size=3, delay_between_chunks_s=0.05))
    before = set(threading.enumerate())
    llm = client(fake_llm)
    started_meanwhile: set[threading.Thread] = set()
    try:
        for _event in llm.stream_chat(MESSAGES):  # type: ignore[arg-type]
            started_meanwhile |= set(threading.enumerate()) - before
    finally:
        llm.close()

    ours = [t for t in started_meanwhile if "process_request_thread" not in t.name]
    assert ours == [], "only the fake LLM's own request threads may come and go"


def test_comments_crlf_and_multi_line_data_are_understood() -> None:
    raw = [
        b": OPENROUTER PROCESSING\r\n\r\n",
        b'data: {"choices": [{"delta": {"content": "Hel"}}]}\r\n\r\ndata: {"choi',
        b'ces": [{"delta": {"content": "lo"}, "finish_reason": "stop"}]}\n\n',
        b"event: ping\ndata: one\ndata: two\n\ndata: three\n\ndata: {} in the next read",
    ]

    batches = list(sse_data(iter(raw)))

    # One list per piece read: what arrives together is passed on together.
    assert batches == [
        [b'{"choices": [{"delta": {"content": "Hel"}}]}'],
        [b'{"choices": [{"delta": {"content": "lo"}, "finish_reason": "stop"}]}'],
        [b"one\ntwo", b"three"],
    ]
