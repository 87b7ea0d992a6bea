"""/api/v1/chat/...: the signed-in account's dialogs (list, start, open), its messages (streamed
answers in either mode), stopping an answer, and the roles an assistant dialog may take."""

from __future__ import annotations

from typing import Any

from flask import Response

from webapi.api.chat import bp
from webapi.api.chat.schemas import (
    CancelOut,
    ChatDialogDetailOut,
    ChatDialogOut,
    ChatDialogPath,
    ChatDialogsOut,
    ChatDialogsQuery,
    ChatMessageIn,
    ChatMessageOut,
    ChatRoleOut,
    ChatRolesOut,
    NewChatDialogIn,
)
from webapi.api.chat.stream import console_answer_stream
from webapi.api.console_guard import CONSOLE_WRITE, EMPTY_JSON_BODY
from webapi.api.security import require_account
from webapi.api.sse import sse_response_doc
from webapi.domain import console_dialogs
from webapi.errors import ApiError, ErrorCode, ErrorResponse
from webapi.services import services

NOT_FOUND: dict[str | int, Any] = {404: ErrorResponse}
SSE_DOC = sse_response_doc(
    "Server-Sent Events. Assistant: `delta` events while the answer streams. Insights: `sql` "
    "(the query that runs), `rows`, `chart`, then the summary as `delta` events. Either way "
    "exactly one `done` or `error` event ends the stream; comment lines (`: ...`) keep it "
    "alive and carry nothing.",
    stream="ConsoleStreamEvent",
)


@bp.get("/roles", responses={200: ChatRolesOut})
def list_roles() -> dict[str, Any]:
    """The roles an assistant dialog may take."""
    roles = services().roles
    listed = [ChatRoleOut.of(role, roles.default) for role in roles]
    return ChatRolesOut(roles=listed).model_dump(mode="json")


@bp.get("/dialogs", responses={200: ChatDialogsOut})
def list_dialogs(query: ChatDialogsQuery) -> dict[str, Any]:
    """The account's dialogs, newest first, a page at a time."""
    total, dialogs = console_dialogs.page(require_account().id, query.page, query.per_page)
    return ChatDialogsOut(
        total=total,
        page=query.page,
        per_page=query.per_page,
        dialogs=[ChatDialogOut.of(dialog) for dialog in dialogs],
    ).model_dump(mode="json")


@bp.post("/dialogs", responses={201: ChatDialogOut, **CONSOLE_WRITE, **NOT_FOUND})
def start_dialog(body: NewChatDialogIn) -> tuple[dict[str, Any], int]:
    """Start an empty dialog in a mode (and, for the assistant, a role): 404 `role_not_found`
    for a role that does not exist."""
    dialog = console_dialogs.start(require_account().id, body.mode, body.role, services().roles)
    return ChatDialogOut.of(dialog).model_dump(mode="json"), 201


@bp.get("/dialogs/<int:dialog_id>", responses={200: ChatDialogDetailOut, **NOT_FOUND})
def open_dialog(path: ChatDialogPath) -> dict[str, Any]:
    """One of the account's dialogs with all its messages (Insights answers with their SQL,
    rows and chart); another account's dialog is 404."""
    dialog, messages = console_dialogs.open_dialog(require_account().id, path.dialog_id)
    return ChatDialogDetailOut(
        dialog=ChatDialogOut.of(dialog),
        messages=[ChatMessageOut.of(message) for message in messages],
    ).model_dump(mode="json")


@bp.post(
    "/dialogs/<int:dialog_id>/messages",
    responses={
        200: SSE_DOC,
        **CONSOLE_WRITE,
        **NOT_FOUND,
        409: ErrorResponse,
        429: ErrorResponse,
    },
)
def send_message(path: ChatDialogPath, body: ChatMessageIn) -> Response:
    """Ask in one of the account's dialogs; the answer streams back as Server-Sent Events.

    Messages are limited per account (CHAT_RATE_LIMIT, both modes together): 429
    `too_many_requests` with Retry-After. A dialog's questions are answered one at a time: one
    sent while another answer of the dialog is in progress waits its turn, then 409
    `answer_in_progress`. Closing the stream stops the answer within about a second, as
    POST .../cancel does; either way the dialog takes the next question at once.
    """
    account = require_account()
    app_services = services()
    refused = app_services.chat_limit.attempt(account.id)
    if refused is not None:
        raise ApiError(
            429,
            ErrorCode.TOO_MANY_REQUESTS,
            f"Too many messages; try again in {refused.retry_after_s} s.",
            headers={"Retry-After": str(refused.retry_after_s)},
        )
    conversation = app_services.conversation
    question = conversation.ask_in_dialog(account.id, path.dialog_id, body.text)
    return console_answer_stream(conversation, question)


@bp.post(
    "/dialogs/<int:dialog_id>/cancel",
    responses={200: CancelOut, **CONSOLE_WRITE, **NOT_FOUND},
    openapi_extensions=EMPTY_JSON_BODY,
)
def cancel_answer(path: ChatDialogPath) -> dict[str, Any]:
    """Stop the answer in progress in the dialog: its stream ends with `error: cancelled`,
    nothing of the answer is stored, and the dialog takes the next question at once."""
    cancelled = services().conversation.cancel(require_account().id, path.dialog_id)
    return CancelOut(cancelled=cancelled).model_dump(mode="json")
