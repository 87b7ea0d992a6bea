"""Streamed chat completions from any OpenAI-compatible endpoint, inside one hard time budget.

The `openai` client builds and sends the request (auth, headers, status errors); the stream it
returns is read raw and parsed here, a JSON decode per event instead of a model object per
chunk. Every failure becomes an LLMError with a stable code. Retries (429, 5xx, refused
connections) happen only before the first token, and the whole answer, retries included,
ends by its deadline: every socket wait is bounded by it (see llm_transport).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2
import openai
from openai.types.chat import ChatCompletionMessageParam

from webapi.domain.llm_transport import DeadlineTransport, deadline_scope
from webapi.domain.outcomes import AnswerErrorCode

log = logging.getLogger(__name__)

# After `[DONE]`, how long the end of the body may take before the connection is dropped.
DRAIN_S = 1.0

_RETRYABLE = {
    AnswerErrorCode.LLM_RATE_LIMITED,
    AnswerErrorCode.LLM_UNAVAILABLE,
    AnswerErrorCode.LLM_UNREACHABLE,
}


class LLMError(Exception):
    def __init__(
        self, code: AnswerErrorCode, message: str, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s


def _too_slow() -> LLMError:
    return LLMError(AnswerErrorCode.LLM_TIMEOUT, "The language model took too long.")


def _broken(what: str = "The language model's stream broke off.") -> LLMError:
    return LLMError(AnswerErrorCode.LLM_BAD_RESPONSE, what)


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass(frozen=True)
class Finished:
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    ttft_ms: int | None
    latency_ms: int


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Retry-After (seconds or HTTP date) or retry-after-ms, as seconds; None when absent."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def _status_error(exc: openai.APIStatusError) -> LLMError:
    status = exc.status_code
    if status == 429:
        return LLMError(
            AnswerErrorCode.LLM_RATE_LIMITED,
            "The language model is rate-limiting requests.",
            retry_after_seconds(exc.response.headers),
        )
    if status >= 500:
        return LLMError(
            AnswerErrorCode.LLM_UNAVAILABLE,
            f"The language model answered with HTTP {status}.",
            retry_after_seconds(exc.response.headers),
        )
    return LLMError(
        AnswerErrorCode.LLM_REJECTED, f"The language model refused the request (HTTP {status})."
    )


def sse_data(chunks: Iterator[bytes]) -> Iterator[list[bytes]]:
    """The `data` of the Server-Sent Events in a byte stream, a list per network read.

    Events that arrive together come out together, so that the caller can pass them on in
    one piece. Comments (`: keep-alive`) and other fields are skipped; CRLF is accepted.
    """
    pending = b""
    for chunk in chunks:
        pending += chunk
        if b"\r" in pending:
            pending = pending.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *complete, pending = pending.split(b"\n\n")
        found = []
        for event in complete:
            lines = event.split(b"\n")
            data = [line[5:].removeprefix(b" ") for line in lines if line[:5] == b"data:"]
            if data:
                found.append(b"\n".join(data))
        if found:
            yield found


class _Answer:
    """What the stream said so far, as it is read."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.usage: dict[str, Any] | None = None
        self.finished = False
        self.done = False

    def read(self, data: bytes) -> str:
        """Take one event's data; return its text (empty when it carries none)."""
        if data == b"[DONE]":
            self.done = True
            return ""
        try:
            chunk = json.loads(data)
        except ValueError:
            raise _broken("The language model sent an event that is not JSON.") from None
        if not isinstance(chunk, dict):
            raise _broken("The language model sent an event of the wrong shape.")
        if "error" in chunk:
            raise _broken("The language model reported an error mid-answer.")
        if isinstance(model := chunk.get("model"), str) and model:
            self.model = model
        if isinstance(usage := chunk.get("usage"), dict):
            self.usage = usage
        choices = chunk.get("choices") or []
        if not isinstance(choices, list):
            raise _broken("The language model sent an event of the wrong shape.")
        texts = []
        for choice in choices:
            if not isinstance(choice, dict):
                raise _broken("The language model sent an event of the wrong shape.")
            delta = choice.get("delta") or {}
            content = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(content, str):
                texts.append(content)
            elif content is not None:
                raise _broken("The language model sent an event of the wrong shape.")
            if choice.get("finish_reason") is not None:
                self.finished = True
        return "".join(texts)

    def tokens(self, name: str) -> int | None:
        value = (self.usage or {}).get(name)
        return value if isinstance(value, int) else None


class LLMClient:
    """A thin, thread-safe wrapper over `openai.OpenAI` for streamed chat completions."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        timeout_s: float,
        max_attempts: int = 3,
        backoff_s: float = 0.5,
    ) -> None:
        http_client = httpx2.Client(
            transport=DeadlineTransport(openai.DEFAULT_CONNECTION_LIMITS),
            timeout=httpx2.Timeout(timeout_s),
            follow_redirects=True,
        )
        # The client's own retries are off: they would not respect our overall budget.
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "unset",
            max_retries=0,
            timeout=timeout_s,
            http_client=http_client,
        )
        self.model = model
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s

    def close(self) -> None:
        self._client.close()

    def is_reachable(self, timeout_s: float = 3.0) -> bool:
        """Whether the endpoint answers its model list at all."""
        try:
            with deadline_scope(time.monotonic() + timeout_s):
                self._client.with_options(timeout=timeout_s).models.list()
        except openai.APIError:
            return False
        return True

    def stream_chat(
        self, messages: list[ChatCompletionMessageParam]
    ) -> Generator[Delta | Finished, None, None]:
        """Yield the reply's text deltas, then one Finished; raise LLMError on any failure.

        It ends within LLM_TIMEOUT_S of its start, whatever the endpoint does.
        """
        started = time.monotonic()
        deadline = started + self.timeout_s
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._open(messages, deadline)
                break
            except LLMError as error:
                wait = error.retry_after_s
                if wait is None:
                    wait = self.backoff_s * 2 ** (attempt - 1)
                out_of_budget = time.monotonic() + wait >= deadline
                if error.code not in _RETRYABLE or attempt >= self.max_attempts or out_of_budget:
                    raise
                time.sleep(wait)
        try:
            yield from self._consume(response, started, deadline)
        finally:
            response.close()

    def _open(self, messages: list[ChatCompletionMessageParam], deadline: float) -> httpx2.Response:
        """Send the request; answer the streaming response once its headers are in."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise _too_slow()
        try:
            with deadline_scope(deadline):
                # The client's own request path (auth, headers, timeout, status errors) with
                # the body as built: the typed `create()` would walk every message against
                # its TypedDicts first (a tenth of the server's CPU per answer, measured).
                # `cast_to=httpx2.Response` with `stream=True` hands back the unread response.
                return self._client.post(
                    "/chat/completions",
                    cast_to=httpx2.Response,
                    body={
                        "model": self.model,
                        "messages": messages,
                        "stream": True,
                        "stream_options": {"include_usage": True},
                    },
                    options={"timeout": left},  # per request: with_options() copies the client
                    stream=True,
                    stream_cls=None,
                )
        except openai.APITimeoutError:
            raise _too_slow() from None
        except openai.APIConnectionError:
            raise LLMError(
                AnswerErrorCode.LLM_UNREACHABLE, "The language model cannot be reached."
            ) from None
        except openai.APIStatusError as exc:
            raise _status_error(exc) from None

    def _consume(
        self, response: httpx2.Response, started: float, deadline: float
    ) -> Generator[Delta | Finished, None, None]:
        answer = _Answer(self.model)
        ttft_ms: int | None = None
        reads = sse_data(response.iter_bytes())
        while not answer.done:
            try:
                with deadline_scope(deadline):
                    events = next(reads, None)
            except httpx2.TimeoutException:
                raise _too_slow() from None
            except httpx2.HTTPError as exc:
                log.warning("LLM stream broke off: %s", type(exc).__name__)
                raise _broken() from None
            if events is None:
                break
            text = "".join(answer.read(data) for data in events)
            if text:
                if ttft_ms is None:
                    ttft_ms = _ms_since(started)
                yield Delta(text)
        if answer.done:
            _drain(reads, min(deadline, time.monotonic() + DRAIN_S))
        if not answer.finished:
            raise _broken("The language model's stream ended early.")
        yield Finished(
            model=answer.model,
            prompt_tokens=answer.tokens("prompt_tokens"),
            completion_tokens=answer.tokens("completion_tokens"),
            ttft_ms=ttft_ms,
            latency_ms=_ms_since(started),
        )


def _drain(reads: Iterator[list[bytes]], deadline: float) -> None:
    """Read the end of the body after `[DONE]`, so that the connection can be reused."""
    try:
        with deadline_scope(deadline):
            for _ in reads:
                pass
    except httpx2.HTTPError:
        pass  # the answer is whole; only the connection is lost


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
