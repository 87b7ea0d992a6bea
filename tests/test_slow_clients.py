"""Slow and many clients: gunicorn's workers stay free for everyone else.

Real gunicorn (as the README starts it, 2 workers), the fake LLM, raw sockets for the clients
that misbehave. Loose bounds only; the tight figures (1,000 slow connections, 500 hung answers,
health p99) are `nox -s bench`'s.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.doubles.fake_llm import FakeLLM, Hang, Stall
from tests.support import BotAPI, Exchange, gunicorn_api

HALF_REQUEST = b"POST /api/v1/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: app"


def host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


@contextmanager
def half_sent_requests(url: str, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections that sent half a request's headers, and then nothing."""
    with ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.create_connection(host_port(url), timeout=10))
            sock.sendall(HALF_REQUEST)
            sockets.append(sock)
        yield sockets


def health_took_s(url: str) -> float:
    started = time.monotonic()
    response = httpx.get(f"{url}/api/v1/health", timeout=10)
    assert response.status_code == 200
    return time.monotonic() - started


def raw_exchange(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the whole answer (the server closes): status, headers, body.

    The request is kept under 8 KiB, what gunicorn reads at once: a server that closes with
    unread bytes resets the connection, and the reset can overtake its answer."""
    with socket.create_connection(host_port(url), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def test_health_answers_while_slow_clients_and_hung_answers_hold_connections(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    hung = 80  # more than the old 2 workers x 32 threads
    fake_llm.script(*[Hang(seconds=60)] * hung)
    database = f"sqlite:///{tmp_path / 'aidd.db'}"
    # The hung answers end (llm_timeout) after 10 s: time enough to probe, and to stop after.
    settings = {"LLM_TIMEOUT_S": "10"}
    with gunicorn_api(database, fake_llm.base_url, tmp_path / "api.log", **settings) as (url, _):
        api = BotAPI(url)
        for telegram_id in range(1, hung + 2):
            assert api.upsert(telegram_id).status_code == 200
        waiting = [
            threading.Thread(target=_send_quietly, args=(url, telegram_id), daemon=True)
            for telegram_id in range(1, hung + 1)
        ]
        for thread in waiting:
            thread.start()
        deadline = time.monotonic() + 30
        while fake_llm.pending and time.monotonic() < deadline:
            time.sleep(0.1)  # each scripted Hang taken: every answer waits on the LLM
        assert not fake_llm.pending, "the hung answers did not all reach the LLM"
        with half_sent_requests(url, 200):
            took = [health_took_s(url) for _ in range(5)]
            # An answer that streams normally still gets through, and whole.
            flowing = api.send(hung + 1, "still there?")
        for thread in waiting:
            thread.join(timeout=30)  # each ends with llm_timeout after LLM_TIMEOUT_S
        api.close()
    assert not any(thread.is_alive() for thread in waiting)
    assert max(took) < 2.0, f"/api/v1/health took {took} s"
    assert flowing.final[0] == "done"
    assert flowing.text == "Echo: still there?"


def _send_quietly(url: str, telegram_id: int) -> None:
    api = BotAPI(url)
    try:
        api.send(telegram_id, "hello?")
    except httpx.HTTPError:
        pass  # the server is stopped under it at the end of the test
    finally:
        api.close()


def test_a_client_that_stops_sending_is_cut(tmp_path: Path, fake_llm: FakeLLM) -> None:
    database = f"sqlite:///{tmp_path / 'aidd.db'}"
    with gunicorn_api(database, fake_llm.base_url, tmp_path / "api.log") as (url, _):
        with half_sent_requests(url, 1) as (sock,):
            started = time.monotonic()
            sock.settimeout(30)
            try:
                left = sock.recv(1024)  # b"" once the server closes the connection
            except ConnectionResetError:
                left = b""
            took = time.monotonic() - started
        assert left == b"", "the server answered half a request"
        assert took < 15, f"a half-sent request held its connection for {took:.1f} s"


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        pytest.param(b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414, "uri_too_long"),
        pytest.param(
            b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\n"
            + b"".join(b"X-Filler-%d: v\r\n" % i for i in range(120))
            + b"\r\n",
            431,
            "headers_too_large",
            id="too-many-headers",
        ),
        pytest.param(b"NOT HTTP AT ALL\r\n\r\n", 400, "bad_request", id="malformed"),
    ],
    ids=["uri-too-long", "too-many-headers", "malformed"],
)
def test_errors_gunicorn_answers_itself_are_json(
    tmp_path: Path, fake_llm: FakeLLM, request_bytes: bytes, status: int, code: str
) -> None:
    database = f"sqlite:///{tmp_path / 'aidd.db'}"
    with gunicorn_api(database, fake_llm.base_url, tmp_path / "api.log") as (url, _):
        got_status, headers, body = raw_exchange(url, request_bytes)
    assert got_status == status
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == code
    assert error["message"]
    assert b"<html" not in body.lower()


def test_a_stopping_server_refuses_new_requests_and_finishes_streams(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    # The answer in flight stalls 3 s mid-stream; the server is told to stop meanwhile.
    fake_llm.script(Stall(after_chunks=2, seconds=3))
    database = f"sqlite:///{tmp_path / 'aidd.db'}"
    with gunicorn_api(database, fake_llm.base_url, tmp_path / "api.log", API_WORKERS="1") as (
        url,
        server,
    ):
        api = BotAPI(url)
        assert api.upsert(7).status_code == 200
        kept_alive = httpx.Client(base_url=url, timeout=10)
        assert kept_alive.get("/api/v1/health").status_code == 200  # its connection stays open
        in_flight: list[Exchange] = []
        streaming = threading.Thread(target=lambda: in_flight.append(api.send(7, "long one")))
        streaming.start()
        time.sleep(1)  # the stream has started and stalls
        server.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the worker has heard it

        started = time.monotonic()
        on_open_connection = kept_alive.get("/api/v1/health")
        refused_after = time.monotonic() - started
        try:
            on_new_connection = httpx.get(f"{url}/api/v1/health", timeout=5)
        except httpx.ConnectError:
            pass  # nothing listens any more: refused too
        else:
            assert on_new_connection.status_code == 503

        streaming.join(timeout=30)
        kept_alive.close()
        api.close()
    assert on_open_connection.status_code == 503
    assert on_open_connection.json()["error"]["code"] == "shutting_down"
    assert on_open_connection.headers["retry-after"] == "1"
    assert refused_after < 2
    assert in_flight, "the answer in flight did not end"
    assert in_flight[0].final[0] == "done"
    assert in_flight[0].text == "Echo: long one"
