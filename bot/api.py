"""The bot's client for webapi's bot endpoints: one aiohttp session for the process.

Calls are retried with exponential back-off while webapi is unreachable (connection refused or
reset before an answer started, 502/503/504) for at most API_RETRY_S; then ApiUnavailableError.
The answer to a message is read as Server-Sent Events: Delta..., then one Done or Failed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, ConfigDict

log = logging.getLogger(__name__)

PREFIX = "/api/v1/bot"
RETRYABLE_STATUSES = frozenset({502, 503, 504})
FIRST_BACKOFF_S = 0.1
MAX_BACKOFF_S = 5.0
CONNECT_TIMEOUT_S = 5.0
# A frame bigger than this is not one webapi would send.
MAX_FRAME_BYTES = 8 * 1024 * 1024


class ApiUnavailableError(Exception):
    """webapi could not be reached (or its stream broke) within API_RETRY_S."""


class ApiError(Exception):
    """webapi answered with an HTTP error: its status, error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Role(_Model):
    name: str
    title: str
    description: str
    is_default: bool


class Profile(_Model):
    """What webapi keeps of a Telegram user (and what the bot upserts)."""

    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    language_code: str | None = None


class UserRole(_Model):
    role: Role
    dialog_id: int | None


class ResetResult(_Model):
    dialog_id: int
    ended_dialog_id: int | None


class Context(_Model):
    dialog_id: int | None
    messages_used: int
    max_messages: int


class Today(_Model):
    messages: int
    prompt_tokens: int
    completion_tokens: int


class Status(_Model):
    model: str
    llm_reachable: bool
    role: Role
    context: Context
    today: Today


class Forgotten(_Model):
    dialogs_deleted: int
    messages_deleted: int


class _Roles(_Model):
    roles: list[Role]


@dataclass(frozen=True, slots=True)
class Delta:
    """The next piece of the answer's text."""

    text: str


@dataclass(frozen=True, slots=True)
class Done:
    """The answer is complete and stored."""

    dialog_id: int
    model: str
    ttft_ms: int | None
    latency_ms: int


@dataclass(frozen=True, slots=True)
class Failed:
    """The answer did not arrive; `code` is one of webapi's AnswerErrorCode values."""

    code: str
    message: str


AnswerEvent = Delta | Done | Failed
ModelT = TypeVar("ModelT", bound=_Model)


def _parse_frame(frame: bytes) -> AnswerEvent | None:
    """One SSE frame (`event: NAME` / `data: JSON` lines) as an event; None for others."""
    name = ""
    data: list[bytes] = []
    for line in frame.split(b"\n"):
        line = line.rstrip(b"\r")
        if line.startswith(b"event:"):
            name = line[6:].strip().decode()
        elif line.startswith(b"data:"):
            data.append(line[5:].removeprefix(b" "))
    if not data:
        return None
    payload = json.loads(b"\n".join(data))
    if name == "delta":
        return Delta(payload["text"])
    if name == "done":
        timings = payload.get("timings") or {}
        return Done(
            dialog_id=payload["dialog_id"],
            model=payload.get("model", ""),
            ttft_ms=timings.get("ttft_ms"),
            latency_ms=timings.get("latency_ms", 0),
        )
    if name == "error":
        return Failed(payload["code"], payload.get("message", ""))
    return None


async def _error_of(response: aiohttp.ClientResponse) -> ApiError:
    try:
        body = await response.json(content_type=None)
        error = body["error"]
        return ApiError(response.status, str(error["code"]), str(error.get("message", "")))
    except (ValueError, KeyError, TypeError, aiohttp.ClientError):
        return ApiError(response.status, "unknown", response.reason or "")


class WebAPI:
    """webapi's bot endpoints, typed; create it inside the running event loop."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        retry_s: float,
        read_timeout_s: float,
        connections: int = 1000,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry_s = retry_s
        self._session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {token}"},
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=CONNECT_TIMEOUT_S, sock_read=read_timeout_s
            ),
            connector=aiohttp.TCPConnector(limit=connections, limit_per_host=0),
            raise_for_status=False,
        )

    async def close(self) -> None:
        """Close the session and its connections."""
        await self._session.close()

    def _url(self, path: str) -> str:
        return f"{self.base_url}{PREFIX}{path}"

    async def _open(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> aiohttp.ClientResponse:
        """A response with a status below 400, retried while webapi is unreachable."""
        deadline = time.monotonic() + self.retry_s
        backoff = FIRST_BACKOFF_S
        url = self._url(path)
        while True:
            retry_after: float | None = None
            try:
                response = await self._session.request(method, url, json=body, params=params)
            except (aiohttp.ClientConnectionError, TimeoutError) as exc:
                # Refused, reset, or closed before the answer's headers: nothing was answered.
                reason = type(exc).__name__
            else:
                if response.status < 400:
                    return response
                if response.status not in RETRYABLE_STATUSES:
                    error = await _error_of(response)
                    response.release()
                    raise error
                reason = f"HTTP {response.status}"
                retry_after = _retry_after(response)
                response.release()
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("webapi unreachable (%s) for %.1f s: giving up", reason, self.retry_s)
                raise ApiUnavailableError(reason)
            wait = min(max(backoff, retry_after or 0.0), left, MAX_BACKOFF_S)
            log.info("webapi unreachable (%s): retrying in %.2f s", reason, wait)
            await asyncio.sleep(wait)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _json(
        self,
        method: str,
        path: str,
        model: type[ModelT],
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> ModelT:
        response = await self._open(method, path, body=body, params=params)
        try:
            return model.model_validate(await response.json())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ApiUnavailableError(type(exc).__name__) from None
        finally:
            response.release()

    async def upsert_user(self, telegram_id: int, profile: Profile) -> None:
        """Create or update the user's profile."""
        response = await self._open("PUT", f"/users/{telegram_id}", body=profile.model_dump())
        response.release()

    async def ask(
        self, telegram_id: int, text: str, *, chat_id: int, idempotency_key: str
    ) -> AsyncGenerator[AnswerEvent, None]:
        """Send a message; yields the answer's events (Delta..., then Done or Failed).

        Use it with contextlib.aclosing so the stream is closed if the caller stops early.
        """
        body = {"text": text, "chat_id": chat_id, "idempotency_key": idempotency_key}
        response = await self._open("POST", f"/users/{telegram_id}/messages", body=body)
        buffer = b""
        try:
            async for chunk in response.content.iter_any():
                buffer += chunk
                if len(buffer) > MAX_FRAME_BYTES:
                    raise ValueError("an answer stream frame is too large")
                while (end := buffer.find(b"\n\n")) >= 0:
                    frame, buffer = buffer[:end], buffer[end + 2 :]
                    event = _parse_frame(frame)
                    if event is None:
                        continue
                    yield event
                    if not isinstance(event, Delta):
                        return
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
            # Cut or garbled after the answer started: no retry here, the user is asked to resend.
            raise ApiUnavailableError(f"the answer stream broke: {type(exc).__name__}") from None
        finally:
            response.release()
        raise ApiUnavailableError("the answer stream ended without its final event")

    async def reset(self, telegram_id: int, *, chat_id: int) -> ResetResult:
        """End the dialog in this chat (history kept) and start an empty one."""
        return await self._json(
            "POST", f"/users/{telegram_id}/reset", ResetResult, body={"chat_id": chat_id}
        )

    async def roles(self) -> list[Role]:
        """Every role a user can pick."""
        return (await self._json("GET", "/roles", _Roles)).roles

    async def role(self, telegram_id: int, *, chat_id: int) -> UserRole:
        """The user's current role in this chat."""
        params = {"chat_id": str(chat_id)}
        return await self._json("GET", f"/users/{telegram_id}/role", UserRole, params=params)

    async def choose_role(self, telegram_id: int, role: str, *, chat_id: int) -> UserRole:
        """Pick a role; a new dialog starts in this chat."""
        body = {"role": role, "chat_id": chat_id}
        return await self._json("PUT", f"/users/{telegram_id}/role", UserRole, body=body)

    async def status(self, telegram_id: int, *, chat_id: int) -> Status:
        """Model, LLM reachability, context in use and today's usage."""
        params = {"chat_id": str(chat_id)}
        return await self._json("GET", f"/users/{telegram_id}/status", Status, params=params)

    async def forget(self, telegram_id: int) -> Forgotten:
        """Delete every dialog and message of the user (the profile stays)."""
        return await self._json("DELETE", f"/users/{telegram_id}/dialogs", Forgotten)

    async def answer_error_codes(self) -> list[str]:
        """The AnswerErrorCode values webapi publishes in its OpenAPI document."""
        url = f"{self.base_url}/api/v1/openapi.json"
        async with self._session.get(url) as response:
            document = await response.json()
        return list(document["components"]["schemas"]["AnswerErrorCode"]["enum"])


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None
