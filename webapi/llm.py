"""Streaming chat completions from any OpenAI-compatible endpoint, inside one time budget.

Every failure becomes an LLMError with a stable code. Retries (429, 5xx, refused connections)
happen only before the first token and never outlast LLM_TIMEOUT_S taken altogether.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import openai
from openai.types.chat import ChatCompletionMessageParam

log = logging.getLogger(__name__)


class ErrorCode:
    """Stable error codes, part of the API: the bot and the console branch on them."""

    TIMEOUT = "llm_timeout"
    RATE_LIMITED = "llm_rate_limited"
    UNAVAILABLE = "llm_unavailable"
    UNREACHABLE = "llm_unreachable"
    BAD_RESPONSE = "llm_bad_response"
    REJECTED = "llm_rejected"


class LLMError(Exception):
    def __init__(self, code: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s


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
            ErrorCode.RATE_LIMITED,
            "The language model is rate-limiting requests.",
            retry_after_seconds(exc.response.headers),
        )
    if status >= 500:
        return LLMError(
            ErrorCode.UNAVAILABLE,
            f"The language model answered with HTTP {status}.",
            retry_after_seconds(exc.response.headers),
        )
    return LLMError(ErrorCode.REJECTED, f"The language model refused the request (HTTP {status}).")


_RETRYABLE = {ErrorCode.RATE_LIMITED, ErrorCode.UNAVAILABLE, ErrorCode.UNREACHABLE}


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
        # The client's own retries are off: they would not respect our overall budget.
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "unset", max_retries=0, timeout=timeout_s
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
            self._client.with_options(timeout=timeout_s).models.list()
        except openai.APIError:
            return False
        return True

    def stream_chat(
        self, messages: list[ChatCompletionMessageParam]
    ) -> Generator[Delta | Finished, None, None]:
        """Yield the reply's text deltas, then one Finished; raise LLMError on any failure."""
        started = time.monotonic()
        deadline = started + self.timeout_s
        attempt = 0
        while True:
            attempt += 1
            try:
                stream = self._open(messages, deadline)
                break
            except LLMError as error:
                wait = error.retry_after_s
                if wait is None:
                    wait = self.backoff_s * 2 ** (attempt - 1)
                out_of_budget = time.monotonic() + wait >= deadline
                if error.code not in _RETRYABLE or attempt >= self.max_attempts or out_of_budget:
                    raise
                time.sleep(wait)
        yield from self._consume(stream, started, deadline)

    def _open(
        self, messages: list[ChatCompletionMessageParam], deadline: float
    ) -> openai.Stream[Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LLMError(ErrorCode.TIMEOUT, "The language model did not answer in time.")
        try:
            return self._client.with_options(timeout=remaining).chat.completions.create(
                model=self.model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )
        except openai.APITimeoutError:
            raise LLMError(
                ErrorCode.TIMEOUT, "The language model did not answer in time."
            ) from None
        except openai.APIConnectionError:
            raise LLMError(ErrorCode.UNREACHABLE, "The language model cannot be reached.") from None
        except openai.APIStatusError as exc:
            raise _status_error(exc) from None

    def _consume(
        self, stream: openai.Stream[Any], started: float, deadline: float
    ) -> Generator[Delta | Finished, None, None]:
        # A watchdog closes the connection at the deadline, so a stalled stream cannot
        # hold a worker past the budget (the HTTP read timeout is per read, not per call).
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            stream.response.close()

        watchdog = threading.Timer(max(deadline - time.monotonic(), 0.0), expire)
        watchdog.daemon = True
        watchdog.start()
        model = self.model
        usage: Any = None
        ttft_ms: int | None = None
        finished = False
        try:
            for chunk in stream:
                if expired.is_set():
                    break
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices:
                    text = choice.delta.content if choice.delta else None
                    if text:
                        if ttft_ms is None:
                            ttft_ms = _ms_since(started)
                        yield Delta(text)
                    if choice.finish_reason is not None:
                        finished = True
        except Exception as exc:
            # Whatever broke the stream (a cut connection, a chunk that is not JSON, a chunk of
            # the wrong shape, the watchdog's close), the caller sees one of two codes.
            if expired.is_set() or isinstance(exc, openai.APITimeoutError):
                raise LLMError(ErrorCode.TIMEOUT, "The language model took too long.") from None
            log.warning("LLM stream broke off: %s", type(exc).__name__)
            raise LLMError(
                ErrorCode.BAD_RESPONSE, "The language model's stream broke off."
            ) from None
        finally:
            watchdog.cancel()
            stream.close()
        if expired.is_set():
            raise LLMError(ErrorCode.TIMEOUT, "The language model took too long.")
        if not finished:
            raise LLMError(ErrorCode.BAD_RESPONSE, "The language model's stream ended early.")
        yield Finished(
            model=model,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            ttft_ms=ttft_ms,
            latency_ms=_ms_since(started),
        )


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
