"""The Bot API methods of the fake Telegram: parameters, validation like Telegram's, results.

Each method is a plain function ``(world, params) -> result`` run under ``world.lock``; it
raises ``ApiError`` for what Telegram would refuse. getUpdates waits, so the server runs it;
its parameters are read here (``poll_request``).
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

from tests.doubles.fake_telegram.records import Draft
from tests.doubles.fake_telegram.world import BotMessage, World
from tests.doubles.telegram_html import (
    MAX_MESSAGE_UTF16,
    Entity,
    EntityParseError,
    parse_html,
    utf16_len,
)

# How form fields (always strings) are read: Telegram knows each parameter's type.
_INT_PARAMS: Final = frozenset(
    {
        "chat_id",
        "message_id",
        "draft_id",
        "offset",
        "limit",
        "timeout",
        "message_thread_id",
        "reply_to_message_id",
        "user_id",
        "cache_time",
        "max_connections",
        "from_chat_id",
    }
)
_BOOL_PARAMS: Final = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "can_stop",
        "keep_on_stop",
        "allow_paid_broadcast",
    }
)
_JSON_PARAMS: Final = frozenset(
    {
        "reply_markup",
        "entities",
        "allowed_updates",
        "commands",
        "scope",
        "reply_parameters",
        "link_preview_options",
    }
)
_INTEGER: Final = re.compile(r"-?\d+")

CHAT_ACTIONS: Final = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SCOPE_TYPES: Final = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_BUTTON_ACTIONS: Final = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_COMMAND_NAME: Final = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")
_NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": status, "description": ...}``."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        """The JSON body Telegram answers with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    """A 400 with Telegram's "Bad Request: ..." description."""
    return ApiError(HTTPStatus.BAD_REQUEST, f"Bad Request: {reason}")


def decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters typed as Telegram reads them (form fields are strings, JSON values nested).

    A value that does not decode is kept as it came; the method then says what is wrong.
    """
    decoded: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, str):
            if name in _INT_PARAMS and _INTEGER.fullmatch(value.strip()):
                value = int(value)
            elif name in _BOOL_PARAMS and value.lower() in ("true", "false", "1", "0"):
                value = value.lower() in ("true", "1")
            elif name in _JSON_PARAMS:
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
        decoded[name] = value
    return decoded


class Params:
    """Typed access to a call's decoded parameters; unknown ones are simply never read."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    def _present(self, name: str) -> Any:
        value = self.values.get(name)
        return None if value == "" else value  # Telegram reads an empty value as absent

    def string(self, name: str, *, missing: str | None = None) -> str | None:
        """A string parameter; ``missing`` given: the description when it is absent."""
        value = self._present(name)
        if value is None:
            if missing is not None:
                raise bad_request(missing)
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, *, missing: str | None = None) -> int | None:
        """An integer parameter; ``missing`` given: the description when it is absent."""
        value = self._present(name)
        if value is None:
            if missing is not None:
                raise bad_request(missing)
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request(f"invalid {name} specified")
        return value

    def boolean(self, name: str) -> bool:
        """A boolean parameter (absent: False)."""
        return self._present(name) is True

    def json_value(self, name: str) -> Any:
        """A JSON-serialized parameter, decoded (None when absent)."""
        value = self._present(name)
        if isinstance(value, str):
            raise bad_request(f"can't parse {name} JSON object")
        return value

    def chat_id(self, world: World) -> int:
        """The ``chat_id`` of a chat the fake knows."""
        if self._present("chat_id") is None:
            raise bad_request("chat_id is empty")
        value = self.values["chat_id"]
        if isinstance(value, bool) or not isinstance(value, int) or world.chat(value) is None:
            raise bad_request("chat not found")
        return value


# --------------------------------------------------------------------------- shared checks


@dataclass(frozen=True)
class _Text:
    text: str  # visible
    html: str  # as sent
    parse_mode: str | None
    entities: list[dict[str, Any]]


def _entity_dict(entity: Entity) -> dict[str, Any]:
    found = {"type": entity.type, "offset": entity.offset, "length": entity.length}
    for extra in ("url", "language", "custom_emoji_id"):
        value = getattr(entity, extra, None)
        if value is not None:
            found[extra] = value
    return found


def _formatted_text(params: Params, *, allow_empty: bool = False) -> _Text:
    """The message text after entity parsing, checked as Telegram checks it."""
    raw = params.string("text") or ""
    if not raw and not allow_empty:
        raise bad_request("message text is empty")
    parse_mode = params.string("parse_mode")
    entities: list[dict[str, Any]]
    if parse_mode is None:
        text = raw
        given = params.json_value("entities")
        if given is not None and not isinstance(given, list):
            raise bad_request("can't parse entities JSON object")
        entities = given or []
    elif parse_mode.lower() == "html":
        try:
            text, parsed = parse_html(raw)
        except EntityParseError as exc:
            raise bad_request(str(exc)) from exc
        entities = [_entity_dict(entity) for entity in parsed]
    elif parse_mode.lower() in ("markdown", "markdownv2"):
        # Said loudly rather than accepted unchecked: this fake validates HTML only.
        raise bad_request(f"the fake Telegram does not implement parse_mode {parse_mode}")
    else:
        raise bad_request(f"unsupported parse_mode {parse_mode}")
    if not text.strip() and not allow_empty:
        raise bad_request("message text is empty")
    if utf16_len(text) > MAX_MESSAGE_UTF16:
        raise bad_request("message is too long")
    return _Text(text, raw, parse_mode, entities)


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    if not _BUTTON_ACTIONS & button.keys():
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if data is not None and (not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64):
        raise bad_request("BUTTON_DATA_INVALID")


def _reply_markup(params: Params) -> dict[str, Any] | None:
    markup = params.json_value("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('can\'t parse inline keyboard markup: field "inline_keyboard"')
        for row in rows:
            for button in row:
                _check_button(button)
    return markup


def _inline_only(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """An edit keeps inline keyboards only (a message has no other kind)."""
    return markup if markup is not None and "inline_keyboard" in markup else None


def _replied_message(world: World, params: Params, chat_id: int) -> dict[str, Any] | None:
    reply = params.json_value("reply_parameters")
    if reply is None:
        reply_id = params.integer("reply_to_message_id")
        reply = None if reply_id is None else {"message_id": reply_id}
        reply_allowed = params.boolean("allow_sending_without_reply")
    else:
        if not isinstance(reply, dict) or not isinstance(reply.get("message_id"), int):
            raise bad_request("can't parse reply parameters JSON object")
        reply_allowed = reply.get("allow_sending_without_reply") is True
    if reply is None:
        return None
    target_chat = reply.get("chat_id", chat_id)
    replied = world.message(target_chat, reply["message_id"]) if target_chat == chat_id else None
    if replied is None and not reply_allowed:
        raise bad_request("message to be replied not found")
    return replied


def _message_to_edit(world: World, params: Params) -> BotMessage:
    if params.string("inline_message_id") is not None:
        raise bad_request("MESSAGE_ID_INVALID")  # the fake keeps no inline messages
    chat_id = params.chat_id(world)
    message_id = params.integer("message_id", missing="message identifier is not specified")
    assert message_id is not None
    if world.message(chat_id, message_id) is None:
        raise bad_request("message to edit not found")
    sent = world.bot_message(chat_id, message_id)
    if sent is None:
        raise bad_request("message can't be edited")
    return sent


def _scope(params: Params) -> dict[str, Any] | None:
    scope = params.json_value("scope")
    if scope is None:
        return None
    if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES:
        raise bad_request("unsupported bot command scope type")
    return scope


# --------------------------------------------------------------------------- the methods


def get_me(world: World, params: Params) -> Any:
    """getMe: the bot's own User."""
    return world.bot_user


def send_message(world: World, params: Params) -> Any:
    """sendMessage: store the message, answer the full Message object."""
    chat_id = params.chat_id(world)
    text = _formatted_text(params)
    markup = _reply_markup(params)
    replied = _replied_message(world, params, chat_id)
    return world.add_bot_message(
        chat_id, text.text, text.html, text.parse_mode, text.entities, markup, replied
    )


def edit_message_text(world: World, params: Params) -> Any:
    """editMessageText: change a bot message's text (and its inline keyboard)."""
    sent = _message_to_edit(world, params)
    text = _formatted_text(params)
    markup = _reply_markup(params)
    inline = _inline_only(markup)
    current = _inline_only(sent.reply_markup)
    if (text.text, text.entities, inline) == (sent.text, sent.entities, current):
        raise bad_request(_NOT_MODIFIED)
    return world.edit_bot_message(
        sent,
        text=text.text,
        html=text.html,
        parse_mode=text.parse_mode,
        entities=text.entities,
        reply_markup=inline,
    )


def edit_message_reply_markup(world: World, params: Params) -> Any:
    """editMessageReplyMarkup: change (or remove) a bot message's inline keyboard."""
    sent = _message_to_edit(world, params)
    inline = _inline_only(_reply_markup(params))
    if inline == _inline_only(sent.reply_markup):
        raise bad_request(_NOT_MODIFIED)
    return world.edit_bot_message(
        sent,
        text=sent.text,
        html=sent.html,
        parse_mode=sent.parse_mode,
        entities=sent.entities,
        reply_markup=inline,
    )


def delete_message(world: World, params: Params) -> Any:
    """deleteMessage: True, or 400 when there is no such message."""
    chat_id = params.chat_id(world)
    message_id = params.integer("message_id", missing="message identifier is not specified")
    assert message_id is not None
    if not world.delete_message(chat_id, message_id):
        raise bad_request("message to delete not found")
    return True


def send_message_draft(world: World, params: Params) -> Any:
    """sendMessageDraft: record a streamed preview (private chats only)."""
    chat_id = params.chat_id(world)
    chat = world.chat(chat_id)
    if chat is None or chat.get("type") != "private":
        raise bad_request("draft messages can be sent only to private chats")
    draft_id = params.integer("draft_id", missing="invalid draft_id specified")
    if not draft_id:
        raise bad_request("invalid draft_id specified")
    text = _formatted_text(params, allow_empty=True)
    world.add_draft(
        Draft(chat_id, draft_id, text.text, text.html, text.parse_mode, text.entities, time.time())
    )
    return True


def send_chat_action(world: World, params: Params) -> Any:
    """sendChatAction: True for a known chat and a valid action."""
    params.chat_id(world)
    action = params.string("action", missing="action is empty")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True


def answer_callback_query(world: World, params: Params) -> Any:
    """answerCallbackQuery: record the answer to a query the fake sent."""
    query_id = params.string("callback_query_id", missing="query_id is empty")
    assert query_id is not None
    answer = {
        key: params.values[key] for key in ("text", "show_alert", "url") if key in params.values
    }
    if not world.answer_callback(query_id, answer):
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    return True


def set_my_commands(world: World, params: Params) -> Any:
    """setMyCommands: store the list per scope and language_code."""
    commands = params.json_value("commands")
    if commands is None:
        raise bad_request("commands is empty")  # aiogram sends "[]" for an empty list
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        if not isinstance(command, dict):
            raise bad_request("can't parse BotCommand")
        name, description = command.get("command"), command.get("description")
        if not isinstance(name, str) or not _COMMAND_NAME.fullmatch(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    kept = [{"command": c["command"], "description": c["description"]} for c in commands]
    world.set_commands(_scope(params), params.string("language_code") or "", kept)
    return True


def get_my_commands(world: World, params: Params) -> Any:
    """getMyCommands: the list stored for exactly this scope and language_code."""
    return world.get_commands(_scope(params), params.string("language_code") or "")


def delete_my_commands(world: World, params: Params) -> Any:
    """deleteMyCommands: forget the list of this scope and language_code."""
    world.set_commands(_scope(params), params.string("language_code") or "", [])
    return True


def set_webhook(world: World, params: Params) -> Any:
    """setWebhook: record url, secret_token, allowed_updates (empty url: delete the webhook)."""
    url = params.string("url")
    if params.boolean("drop_pending_updates"):
        world.drop_pending_updates()
    if url is None:
        world.set_webhook(None)
        return True
    # Telegram wants HTTPS on 443/80/88/8443; the fake also takes http:// so that tests can
    # point it at a bot on 127.0.0.1.
    if not url.startswith(("https://", "http://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.string("secret_token")
    if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
        raise bad_request("bad webhook: secret token contains unallowed characters")
    allowed = params.json_value("allowed_updates")
    world.set_webhook(
        {
            "url": url,
            "secret_token": secret,
            "allowed_updates": allowed,
            "max_connections": params.integer("max_connections") or 40,
        }
    )
    return True


def delete_webhook(world: World, params: Params) -> Any:
    """deleteWebhook: forget the webhook (and the pending updates if asked)."""
    if params.boolean("drop_pending_updates"):
        world.drop_pending_updates()
    world.set_webhook(None)
    return True


def get_webhook_info(world: World, params: Params) -> Any:
    """getWebhookInfo: the WebhookInfo object (url "" when none is set)."""
    webhook = world.webhook
    info: dict[str, Any] = {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": world.pending_update_count(),
    }
    if webhook is not None:
        info["url"] = webhook["url"]
        info["max_connections"] = webhook["max_connections"]
        info["ip_address"] = "127.0.0.1"
        if webhook["allowed_updates"] is not None:
            info["allowed_updates"] = webhook["allowed_updates"]
    return info


@dataclass(frozen=True)
class PollRequest:
    """The parameters of one getUpdates call."""

    offset: int | None
    limit: int
    timeout: float
    allowed_updates: list[str] | None


def poll_request(world: World, params: Params) -> PollRequest:
    """Read and check getUpdates' parameters (409 while a webhook is set, like Telegram)."""
    if world.webhook is not None:
        raise ApiError(
            HTTPStatus.CONFLICT,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    limit = params.integer("limit")
    timeout = params.integer("timeout") or 0
    allowed = params.json_value("allowed_updates")
    if allowed is not None and (
        not isinstance(allowed, list) or not all(isinstance(kind, str) for kind in allowed)
    ):
        raise bad_request("can't parse allowed_updates JSON object")
    return PollRequest(
        offset=params.integer("offset"),
        limit=min(max(limit or 100, 1), 100),
        timeout=max(timeout, 0),
        allowed_updates=allowed,
    )


GET_UPDATES: Final = "getUpdates"

Method = Callable[[World, Params], Any]

# Canonical names; Telegram matches method names case-insensitively.
METHODS: Final[dict[str, Method]] = {
    "getMe": get_me,
    "sendMessage": send_message,
    "editMessageText": edit_message_text,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "sendMessageDraft": send_message_draft,
    "sendChatAction": send_chat_action,
    "answerCallbackQuery": answer_callback_query,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
}
_CANONICAL: Final = {name.lower(): name for name in [*METHODS, GET_UPDATES]}


def canonical_name(method: str) -> str | None:
    """The canonical spelling of a Bot API method the fake implements (None: unknown)."""
    return _CANONICAL.get(method.lower())
