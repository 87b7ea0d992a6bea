"""Tests of the fake OpenAI-compatible LLM server, driven by the real openai client and httpx."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

from tests.doubles.fake_llm import (
    Behaviour,
    Disconnect,
    FakeLLM,
    FakeLLMControl,
    Hang,
    Malformed,
    Reply,
    Stall,
    Status,
    behaviour_from_dict,
    reply,
    status,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
USER_ONLY: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture
def client(fake: FakeLLM) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake.base_url, api_key="test", max_retries=0, timeout=5) as c:
        yield c


def collect(client: openai.OpenAI, text: str = "hello there") -> list[ChatCompletionChunk]:
    stream = client.chat.completions.create(
        model="test-model",
        messages=[{"role": "user", "content": text}],
        stream=True,
        stream_options={"include_usage": True},
    )
    with stream:
        return list(stream)


def content_of(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


# --------------------------------------------------------------------------- normal answers


def test_plain_completion_echoes_last_user_message_with_usage(
    fake: FakeLLM, client: openai.OpenAI
) -> None:
    completion = client.chat.completions.create(
        model="my-model",
        messages=[
            {"role": "system", "content": "You are a helpful bot."},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": "hello there"},
        ],
    )
    assert completion.object == "chat.completion"
    assert completion.model == "my-model"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "Echo: hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 5 + 2 + 2 + 2
    assert completion.usage.completion_tokens == 3
    assert completion.usage.total_tokens == 14


def test_stream_has_role_then_content_chunks_then_stop_then_usage(client: openai.OpenAI) -> None:
    chunks = collect(client, "tell me something long enough")
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert {c.model for c in chunks} == {"test-model"}
    assert len({c.id for c in chunks}) == 1
    first, *middle, last_choice, usage_chunk = chunks
    assert first.choices[0].delta.role == "assistant"
    assert len(middle) > 1, "content should arrive in several deltas"
    assert all(c.choices[0].finish_reason is None for c in middle)
    assert content_of(chunks) == "Echo: tell me something long enough"
    assert last_choice.choices[0].finish_reason == "stop"
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert usage_chunk.usage.prompt_tokens == 5
    assert usage_chunk.usage.completion_tokens == 6
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_without_include_usage_sends_no_usage_chunk(client: openai.OpenAI) -> None:
    with client.chat.completions.create(model="m", messages=USER_ONLY, stream=True) as stream:
        chunks = list(stream)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.choices and c.usage is None for c in chunks)


def test_stream_wire_format_is_server_sent_events(fake: FakeLLM) -> None:
    body = {"model": "m", "messages": USER_ONLY, "stream": True}
    with httpx.stream("POST", fake.base_url + "/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["transfer-encoding"] == "chunked"
        raw = response.read().decode()
    events = raw.split("\n\n")
    assert events[-1] == ""
    assert events[-2] == "data: [DONE]"
    for event in events[:-2]:
        assert event.startswith("data: ")
        assert json.loads(event.removeprefix("data: "))["object"] == "chat.completion.chunk"


def test_models_endpoint_lists_one_model(client: openai.OpenAI) -> None:
    models = list(client.models.list())
    assert [m.id for m in models] == ["fake-model"]


def test_scripted_behaviours_are_consumed_in_order_then_default(
    fake: FakeLLM, client: openai.OpenAI
) -> None:
    fake.script(Reply("first"), reply("second, in one-char chunks", chunk_size=1))
    one = client.chat.completions.create(model="m", messages=USER_ONLY)
    assert one.choices[0].message.content == "first"
    chunks = collect(client)
    assert content_of(chunks) == "second, in one-char chunks"
    assert len(chunks) == 1 + len("second, in one-char chunks") + 2
    three = client.chat.completions.create(model="m", messages=USER_ONLY)
    assert three.choices[0].message.content == "Echo: hello there"
    assert fake.pending == []


def test_finish_reason_can_be_scripted(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.script(Reply("truncated", finish_reason="length"))
    completion = client.chat.completions.create(model="m", messages=USER_ONLY)
    assert completion.choices[0].finish_reason == "length"


def test_delay_between_chunks_paces_the_stream(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.script(Reply("abcdefgh", chunk_size=2, delay_between_chunks_s=0.05))
    started = time.monotonic()
    chunks = collect(client)
    # role + 4 content + finish + usage = 7 events, 6 gaps.
    assert time.monotonic() - started >= 0.3
    assert content_of(chunks) == "abcdefgh"


# --------------------------------------------------------------------------- HTTP errors


def test_rate_limit_carries_retry_after_and_openai_error_body(
    fake: FakeLLM, client: openai.OpenAI
) -> None:
    fake.script(Status(429, retry_after=2))
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="m", messages=USER_ONLY)
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.type == "requests"


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (500, openai.InternalServerError),
        (502, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
def test_status_codes_map_to_openai_errors(
    fake: FakeLLM, client: openai.OpenAI, code: int, error: type[openai.APIStatusError]
) -> None:
    fake.script(status(code))
    with pytest.raises(error) as caught:
        client.chat.completions.create(model="m", messages=USER_ONLY)
    assert caught.value.status_code == code
    assert isinstance(caught.value.body, dict)
    assert set(caught.value.body) >= {"message", "type", "code"}


def test_status_on_a_streaming_request_fails_before_the_stream(
    fake: FakeLLM, client: openai.OpenAI
) -> None:
    fake.script(Status(503, body={"error": {"message": "overloaded", "type": "x", "code": "y"}}))
    with pytest.raises(openai.InternalServerError) as caught:
        collect(client)
    assert caught.value.message.endswith("overloaded")
    assert caught.value.code == "y"


def test_status_with_a_plain_text_body(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.script(Status(502, body="<html>Bad Gateway</html>"))
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="m", messages=USER_ONLY)
    assert caught.value.response.headers["content-type"].startswith("text/plain")
    assert caught.value.response.text == "<html>Bad Gateway</html>"


# --------------------------------------------------------------------------- network faults


def test_hang_makes_the_client_time_out(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.script(Hang(10))
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.3).chat.completions.create(model="m", messages=USER_ONLY)
    assert time.monotonic() - started < 3


def test_short_hang_then_close_is_a_connection_error(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.script(Hang(0.1))
    with pytest.raises(openai.APIConnectionError) as caught:
        client.chat.completions.create(model="m", messages=USER_ONLY)
    assert not isinstance(caught.value, openai.APITimeoutError)


def test_stall_longer_than_the_read_timeout_times_out_mid_stream(
    fake: FakeLLM, client: openai.OpenAI
) -> None:
    fake.script(Stall(after_chunks=2, seconds=10))
    received: list[ChatCompletionChunk] = []
    with pytest.raises(openai.APITimeoutError):  # noqa: PT012 (the error comes while iterating)
        stream = client.with_options(timeout=0.3).chat.completions.create(
            model="m", messages=USER_ONLY, stream=True
        )
        with stream:
            received.extend(stream)
    assert len(received) == 2
    assert received[0].choices[0].delta.role == "assistant"


def test_short_stall_then_the_stream_finishes(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.script(Stall(after_chunks=2, seconds=0.2, text="slow but complete"))
    started = time.monotonic()
    chunks = collect(client)
    assert time.monotonic() - started >= 0.2
    assert content_of(chunks) == "slow but complete"
    assert chunks[-1].usage is not None


def test_stall_on_a_plain_request_times_out(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.script(Stall(after_chunks=0, seconds=10))
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.3).chat.completions.create(model="m", messages=USER_ONLY)


def test_malformed_stream_fails_while_iterating(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.script(Malformed(after_chunks=2))
    received: list[ChatCompletionChunk] = []
    stream = client.chat.completions.create(model="m", messages=USER_ONLY, stream=True)
    with stream, pytest.raises(json.JSONDecodeError):
        received.extend(stream)
    assert len(received) == 2


def test_malformed_plain_response_fails_to_parse(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.script(Malformed())
    with pytest.raises(json.JSONDecodeError):
        client.chat.completions.create(model="m", messages=USER_ONLY)


def test_disconnect_mid_stream_is_a_connection_error(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.script(Disconnect(after_chunks=3))
    received: list[ChatCompletionChunk] = []
    stream = client.chat.completions.create(model="m", messages=USER_ONLY, stream=True)
    with stream, pytest.raises(openai.APIConnectionError):
        received.extend(stream)
    assert len(received) == 3


def test_disconnect_mid_body_is_a_connection_error(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.script(Disconnect())
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=USER_ONLY)


def test_the_server_keeps_serving_after_faults(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.script(Disconnect(1), Malformed(1), Hang(0), Status(500))
    for _ in range(4):
        with pytest.raises((openai.APIError, json.JSONDecodeError)):
            collect(client)
    assert content_of(collect(client)) == "Echo: hello there"


# --------------------------------------------------------------------------- recording


def test_requests_are_recorded_with_their_messages(fake: FakeLLM, client: openai.OpenAI) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "hi"},
    ]
    client.chat.completions.create(model="m", messages=messages, temperature=0.5)
    collect(client, "again")
    recorded = fake.requests
    assert len(recorded) == 2
    assert recorded[0]["messages"] == messages
    assert recorded[0]["model"] == "m"
    assert recorded[0]["temperature"] == 0.5
    assert recorded[1]["stream"] is True
    assert recorded[1]["messages"][-1] == {"role": "user", "content": "again"}

    recorded[0]["messages"].clear()  # a copy: the record is not changed
    assert fake.requests[0]["messages"] == messages

    fake.script(Reply("queued"))
    fake.reset()
    assert fake.requests == []
    assert fake.pending == []


def test_failed_requests_are_recorded_too(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.script(Status(500))
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=USER_ONLY)
    assert len(fake.requests) == 1


def test_invalid_chat_body_is_a_400_and_consumes_nothing(fake: FakeLLM) -> None:
    fake.script(Reply("kept"))
    url = fake.base_url + "/chat/completions"
    not_json = httpx.post(url, content=b"{oops", headers={"Content-Type": "application/json"})
    no_messages = httpx.post(url, json={"model": "m"})
    for response in (not_json, no_messages):
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_request_error"
    assert fake.requests == []
    assert fake.pending == [Reply("kept")]


# --------------------------------------------------------------------------- control API


def test_control_api_over_http(fake: FakeLLM) -> None:
    with httpx.Client(base_url=fake.url) as http:
        assert http.get("/_control/health").json() == {"status": "ok", "queued": 0, "requests": 0}

        script = [
            {"kind": "reply", "text": "from the control API"},
            {"kind": "status", "code": 429, "retry_after": 1},
        ]
        assert http.post("/_control/script", json=script).json() == {"queued": 2}
        pending = http.get("/_control/script").json()
        assert [b["kind"] for b in pending] == ["reply", "status"]
        assert pending[1]["retry_after"] == 1

        chat = {"model": "m", "messages": USER_ONLY}
        answer = http.post("/v1/chat/completions", json=chat).json()
        assert answer["choices"][0]["message"]["content"] == "from the control API"
        limited = http.post("/v1/chat/completions", json=chat)
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1"

        assert http.get("/_control/requests").json() == [chat, chat]
        assert http.get("/_control/health").json() == {"status": "ok", "queued": 0, "requests": 2}

        http.post("/_control/script", json=[{"kind": "hang", "seconds": 1}])
        assert http.post("/_control/reset").json() == {"ok": True}
        assert http.get("/_control/requests").json() == []
        assert http.get("/_control/script").json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "reply"},  # not a list
        [1],
        [{"kind": "explode"}],
        [{"kind": "hang"}],  # missing field
        [{"kind": "hang", "seconds": -1}],
        [{"kind": "reply", "colour": "red"}],
        [{"kind": "status", "code": 200}],
        [{"kind": "reply", "text": "ok"}, {"kind": "stall", "after_chunks": "2", "seconds": 1}],
    ],
)
def test_control_api_rejects_bad_scripts_whole(fake: FakeLLM, body: object) -> None:
    response = httpx.post(fake.url + "/_control/script", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"]
    assert fake.pending == []


def test_unknown_paths_are_404(fake: FakeLLM) -> None:
    assert httpx.get(fake.url + "/nope").status_code == 404
    assert httpx.post(fake.url + "/v1/embeddings", json={}).json()["error"]["type"]


def test_remote_control_client(fake: FakeLLM, client: openai.OpenAI) -> None:
    control = FakeLLMControl(fake.base_url)
    assert control.base_url == fake.base_url
    assert control.health()["status"] == "ok"
    assert control.script(Reply("remote"), {"kind": "status", "code": 503}) == 2
    assert control.pending == [Reply("remote"), Status(503)]
    assert client.chat.completions.create(model="m", messages=USER_ONLY).choices[0].message.content
    assert control.requests == [{"model": "m", "messages": USER_ONLY}]
    control.reset()
    assert control.pending == []
    assert control.requests == []


# --------------------------------------------------------------------------- behaviour values

ALL_BEHAVIOURS: list[Behaviour] = [
    Reply(),
    Reply("x", chunk_size=3, delay_between_chunks_s=0.5, finish_reason="length"),
    Status(429, retry_after=1.5, body={"error": {"message": "m"}}),
    Status(502, retry_after="Wed, 21 Oct 2015 07:28:00 GMT", body="text"),
    Hang(2.5),
    Stall(after_chunks=1, seconds=3, text="t", chunk_size=2),
    Malformed(),
    Disconnect(after_chunks=0),
]


@pytest.mark.parametrize("behaviour", ALL_BEHAVIOURS)
def test_behaviours_round_trip_through_json(behaviour: Behaviour) -> None:
    data = json.loads(json.dumps(behaviour.to_dict()))
    assert data["kind"] == behaviour.kind
    assert behaviour_from_dict(data) == behaviour


def test_script_accepts_dicts_and_validates(fake: FakeLLM) -> None:
    fake.script({"kind": "hang", "seconds": 1})
    assert fake.pending == [Hang(1)]
    with pytest.raises(ValueError, match="chunk_size"):
        Reply(chunk_size=0)
    with pytest.raises(ValueError, match="unknown behaviour kind"):
        fake.script({"kind": "nope"})


# --------------------------------------------------------------------------- load and lifecycle


def test_fifty_concurrent_streams_all_complete(fake: FakeLLM, client: openai.OpenAI) -> None:
    count = 50
    # Each stream has >= 3 gaps of 0.2 s between its 4-5 events: 50 in sequence take >= 30 s.
    fake.script(*[Reply(f"answer {i}", delay_between_chunks_s=0.2) for i in range(count)])

    def one(i: int) -> tuple[str, int]:
        chunks = collect(client, f"question {i}")
        usage = chunks[-1].usage
        assert usage is not None
        return content_of(chunks), usage.completion_tokens

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(one, range(count)))
    elapsed = time.monotonic() - started

    assert sorted(text for text, _ in results) == sorted(f"answer {i}" for i in range(count))
    assert {tokens for _, tokens in results} == {2}
    assert len(fake.requests) == count
    assert elapsed < 10, f"streams did not run concurrently ({elapsed:.1f} s)"


def test_stop_returns_promptly_with_hung_and_stalled_handlers() -> None:
    fake = FakeLLM().start()
    fake.script(Hang(60), Stall(after_chunks=1, seconds=60))
    outcomes: queue.Queue[str] = queue.Queue()

    def call(body: dict[str, Any]) -> None:
        try:
            with httpx.stream("POST", fake.base_url + "/chat/completions", json=body) as r:
                r.read()
            outcomes.put("completed")
        except httpx.HTTPError as exc:
            outcomes.put(type(exc).__name__)

    threads = [
        threading.Thread(target=call, args=({"messages": USER_ONLY},)),
        threading.Thread(target=call, args=({"messages": USER_ONLY, "stream": True},)),
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while len(fake.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(fake.requests) == 2

    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 2
    for thread in threads:
        thread.join(5)
        assert not thread.is_alive()
    # Both clients see the connection end early (RemoteProtocolError, or a read error).
    results = [outcomes.get_nowait() for _ in threads]
    assert "completed" not in results
    fake.stop()  # idempotent


def test_lifecycle() -> None:
    fake = FakeLLM()
    assert not fake.running
    with pytest.raises(RuntimeError):
        _ = fake.port
    with fake:
        assert fake.running
        assert fake.base_url == f"http://127.0.0.1:{fake.port}/v1"
        with pytest.raises(RuntimeError, match="already running"):
            fake.start()
        assert httpx.get(fake.url + "/_control/health").status_code == 200
    assert not fake.running
    with fake:  # can start again (on a new port, when port=0)
        assert httpx.get(fake.url + "/_control/health").status_code == 200


def test_runs_as_a_module_and_stops_on_sigterm() -> None:
    command = [sys.executable, "-m", "tests.doubles.fake_llm", "--port", "0"]
    with subprocess.Popen(  # noqa: S603 (our own module, run by the current interpreter)
        command, cwd=PROJECT_ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    ) as proc:
        stderr = proc.stderr
        assert stderr is not None
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=lambda: lines.put(stderr.readline()), daemon=True)
        reader.start()
        try:
            first_line = lines.get(timeout=10)
            assert "listening on http://127.0.0.1:" in first_line
            base_url = first_line.split("listening on ")[1].split()[0]
            control = FakeLLMControl(base_url)
            assert control.health()["status"] == "ok"
            with openai.OpenAI(base_url=base_url, api_key="test", max_retries=0) as remote:
                answer = remote.chat.completions.create(model="m", messages=USER_ONLY)
            assert answer.choices[0].message.content == "Echo: hello there"
            proc.terminate()
            assert proc.wait(timeout=5) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
