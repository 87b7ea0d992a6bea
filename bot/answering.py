"""One question in, Telegram messages out: ask webapi, stream a preview, send the final parts.

Private chats preview the answer with sendMessageDraft (an ephemeral draft, replaced by the
final messages); groups with a message that is edited as the text grows and becomes the
answer's first part. Previews are throttled and best effort: if one fails, streaming stops and
the final text still goes out.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from contextlib import aclosing
from dataclasses import dataclass

from bot.api import ApiError, ApiUnavailableError, Delta, Done, Failed, WebAPI
from bot.delivery import Delivery, Preview, part_of
from bot.render import Part, render
from bot.texts import Texts

log = logging.getLogger(__name__)

DRAFT_INTERVAL_S = 0.3
EDIT_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class Question:
    """A message to answer, and where the answer goes."""

    user_id: int
    chat_id: int
    message_id: int
    text: str
    private: bool
    thread_id: int | None = None  # the forum topic it was asked in

    @property
    def idempotency_key(self) -> str:
        # Telegram's redeliveries carry the same chat and message id: webapi stores it once.
        return f"tg:{self.chat_id}:{self.message_id}"

    @property
    def reply_to(self) -> int | None:
        """In a group the answer replies to the question; in a private chat it need not."""
        return None if self.private else self.message_id


class _Preview(ABC):
    """Shows the answer so far; `message_id` is set when the preview is a real message."""

    interval_s: float
    message_id: int | None = None
    shown_html: str | None = None

    @abstractmethod
    async def show(self, markdown: str) -> Preview: ...


class _DraftPreview(_Preview):
    interval_s = DRAFT_INTERVAL_S

    def __init__(self, delivery: Delivery, question: Question) -> None:
        self.delivery = delivery
        self.chat_id = question.chat_id
        self.draft_id = question.message_id  # one draft per answer, animated as it grows

    async def show(self, markdown: str) -> Preview:
        parts = render(markdown)
        if not parts:
            return Preview.SKIPPED
        # The part being written now: earlier ones are complete and arrive with the final.
        return await self.delivery.try_draft(self.chat_id, self.draft_id, parts[-1].html)


class _EditPreview(_Preview):
    interval_s = EDIT_INTERVAL_S

    def __init__(self, delivery: Delivery, question: Question) -> None:
        self.delivery = delivery
        self.question = question

    async def show(self, markdown: str) -> Preview:
        parts = render(markdown)
        if not parts:
            return Preview.SKIPPED
        if len(parts) > 1 and self.message_id is not None:
            return Preview.FAILED  # the first part is full: the rest arrives with the final
        first = parts[0]
        if self.message_id is None:
            sent = await self.delivery.send(
                self.question.chat_id,
                first,
                reply_to=self.question.reply_to,
                thread_id=self.question.thread_id,
            )
            self.message_id, self.shown_html = sent.message_id, first.html
            return Preview.SENT
        if first.html == self.shown_html:
            return Preview.SKIPPED
        result = await self.delivery.try_edit(self.question.chat_id, self.message_id, first.html)
        if result is Preview.SENT:
            self.shown_html = first.html
        return result


class _Streamer:
    """Runs a preview in the background: the first at once, then at most one per interval."""

    def __init__(self, preview: _Preview) -> None:
        self.preview = preview
        self.chunks: list[str] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._in_call = False

    def add(self, text: str) -> None:
        self.chunks.append(text)
        self._wake.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            started = loop.time()
            self._in_call = True
            try:
                result = await self.preview.show("".join(self.chunks))
            except Exception as exc:  # a preview never costs the answer
                log.warning("answer preview failed: %s", type(exc).__name__)
                return
            finally:
                self._in_call = False
            if result is Preview.FAILED or self._closing:
                return
            await asyncio.sleep(self.preview.interval_s - (loop.time() - started))

    async def close(self) -> None:
        """Stop previewing; a preview call under way is let finish (its message id counts)."""
        self._closing = True
        task = self._task
        if task is None:
            return
        if not self._in_call:
            task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise  # it is this coroutine that is being cancelled


class Answerer:
    """Answers questions through webapi, streaming the answer into the chat."""

    def __init__(self, api: WebAPI, delivery: Delivery) -> None:
        self.api = api
        self.delivery = delivery

    async def answer(self, question: Question, texts: Texts) -> str:
        """Answer one question; returns the outcome for the log (`answered`, `error:CODE`, ...)."""
        preview: _Preview = (
            _DraftPreview(self.delivery, question)
            if question.private
            else _EditPreview(self.delivery, question)
        )
        streamer = _Streamer(preview)
        end: Done | Failed | None = None
        try:
            async with self.delivery.typing(question.chat_id, question.thread_id):
                try:
                    end = await self._stream(question, streamer)
                finally:
                    await streamer.close()
        except ApiUnavailableError as exc:
            log.warning("no answer from webapi: %s", exc)
            await self._say(question, preview, texts.api_unavailable)
            return "api_unavailable"
        except ApiError as exc:
            if exc.code != "answer_in_progress":
                raise
            await self._say(question, preview, texts.answer_error(exc.code))
            return f"error:{exc.code}"
        if isinstance(end, Failed):
            await self._say(question, preview, texts.answer_error(end.code))
            return f"error:{end.code}"
        parts = render("".join(streamer.chunks))
        if not parts:
            await self._say(question, preview, texts.empty_answer)
            return "empty"
        await self._deliver(question, preview, parts)
        return "answered"

    async def _stream(self, question: Question, streamer: _Streamer) -> Done | Failed:
        events = self.api.ask(
            question.user_id,
            question.text,
            chat_id=question.chat_id,
            idempotency_key=question.idempotency_key,
        )
        async with aclosing(events):
            async for event in events:
                if isinstance(event, Delta):
                    streamer.add(event.text)
                else:
                    return event
        raise ApiUnavailableError("the answer stream ended without its final event")

    async def _deliver(self, question: Question, preview: _Preview, parts: list[Part]) -> None:
        rest = parts
        if preview.message_id is not None:
            first = parts[0]
            done = first.html == preview.shown_html or await self.delivery.edit(
                question.chat_id, preview.message_id, first
            )
            if done:
                rest = parts[1:]
        for index, part in enumerate(rest):
            reply_to = question.reply_to if index == 0 and rest is parts else None
            await self.delivery.send(
                question.chat_id, part, reply_to=reply_to, thread_id=question.thread_id
            )

    async def _say(self, question: Question, preview: _Preview, markup: str) -> None:
        """A short text instead of the answer (in the preview message, if there is one)."""
        part = part_of(markup)
        if preview.message_id is not None and await self.delivery.edit(
            question.chat_id, preview.message_id, part
        ):
            return
        await self.delivery.send(
            question.chat_id, part, reply_to=question.reply_to, thread_id=question.thread_id
        )
