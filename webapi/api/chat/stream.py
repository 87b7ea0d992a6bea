"""A console answer's stream: it ends soon after the client leaves or cancels, and the dialog
is free for the next question at once, whatever the answer was still doing.

- Heartbeats (SSE comments) go out while nothing else does, so that a closed connection shows
  within about a second (a write to it fails) rather than at the answer's end; the question is
  then settled as cancelled right away, in this request, while the answer (reading the LLM or
  running a query in its own thread) winds down on its own and stores nothing more.
- An explicit cancel (POST .../cancel, on any worker or replica) settles the question in the
  database; the stream looks for that every CANCEL_POLL_S and ends with `error: cancelled`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from flask import Response, stream_with_context

from webapi.api.coalesce import Heartbeat, coalesced
from webapi.api.sse import SSE_HEADERS, SSE_MEDIA_TYPE, answer_frames
from webapi.domain.conversation import (
    STOPPED_BY_CLIENT,
    Completed,
    ConversationService,
    Event,
    Failed,
    Question,
)
from webapi.domain.outcomes import AnswerErrorCode

HEARTBEAT_S = 0.4
CANCEL_POLL_S = 0.5


def _watched(conversation: ConversationService, question: Question) -> Iterator[Event | Heartbeat]:
    events = coalesced(conversation.answer(question), heartbeat_s=HEARTBEAT_S)
    ended = False
    polled = time.monotonic()
    try:
        for event in events:
            if isinstance(event, Completed | Failed):
                ended = True
                if (
                    isinstance(event, Failed)
                    and event.code == AnswerErrorCode.INTERRUPTED
                    and conversation.cancelled(question)
                ):
                    # Its answer ended after a cancel had settled it: say what happened.
                    event = _cancelled(question)
                yield event
                continue
            if time.monotonic() - polled >= CANCEL_POLL_S:
                polled = time.monotonic()
                if conversation.cancelled(question):
                    ended = True
                    yield _cancelled(question)
                    return
            yield event
    finally:
        if not ended:  # the client went away: free the dialog now
            conversation.stop(question, "The client disconnected.")
        events.close()  # type: ignore[attr-defined]


def _cancelled(question: Question) -> Failed:
    return Failed(
        AnswerErrorCode.CANCELLED, STOPPED_BY_CLIENT, question.dialog_id, question.user_message_id
    )


def console_answer_stream(conversation: ConversationService, question: Question) -> Response:
    frames = stream_with_context(answer_frames(_watched(conversation, question)))
    return Response(frames, mimetype=SSE_MEDIA_TYPE, headers=SSE_HEADERS)
