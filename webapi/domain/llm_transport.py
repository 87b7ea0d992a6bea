"""An HTTP transport whose every socket wait ends at the current answer's deadline.

An HTTP client's read timeout is per read: a stream whose chunks arrive just under it can run
on far past any budget. Here each connect, read and write waits at most until the deadline
set with `deadline_scope()` (a context variable: per thread, and per greenlet under gevent),
so a budget holds to the socket call, with no watchdog thread per stream.
"""

from __future__ import annotations

import select
import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore2
import httpx2
from gevent.monkey import get_original

# The operating system's poll, even under gevent: the pool asks whether each idle connection
# was closed by the server before every request, and gevent's cooperative poll (watchers, a
# trip through its hub) made that check a measurable share of an answer's CPU time.
_os_poll = get_original("select", "poll")

_deadline: ContextVar[float | None] = ContextVar("llm_deadline", default=None)


@contextmanager
def deadline_scope(deadline: float) -> Iterator[None]:
    """Socket waits inside this block end at `deadline` (a time.monotonic() value)."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def _bounded(timeout: float | None, on_expiry: type[Exception]) -> float | None:
    """The smaller of `timeout` and the time left; raise `on_expiry` when none is left."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise on_expiry("the answer's time budget is spent")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, _bounded(timeout, httpcore2.ConnectTimeout)
        )
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return _readable_now(self._inner.get_extra_info("socket"))
        return self._inner.get_extra_info(info)


def _readable_now(sock: Any) -> bool:
    """Whether a read would return at once (data, or the end of a closed connection)."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True  # no socket left: as good as closed
    poller = _os_poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class _DeadlineBackend(httpcore2.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        stream = self._inner.connect_tcp(
            host,
            port,
            _bounded(timeout, httpcore2.ConnectTimeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, _bounded(timeout, httpcore2.ConnectTimeout), socket_options=socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineTransport(httpx2.HTTPTransport):
    """httpx2's own transport, over sockets that honour `deadline_scope()`."""

    def __init__(self, limits: httpx2.Limits) -> None:
        super().__init__(limits=limits)
        # HTTPTransport takes no network backend, so its pool is rebuilt with ours (the same
        # settings HTTPTransport would use without a proxy).
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_DeadlineBackend(),
        )
