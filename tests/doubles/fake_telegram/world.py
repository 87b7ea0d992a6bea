"""The state behind the fake Telegram: chats, users, messages, updates, drafts, commands, webhook.

One re-entrant lock guards it all: the Bot API methods run whole under ``world.lock`` on the
server's thread, while tests feed updates and read snapshots from theirs.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from tests.doubles.fake_telegram.records import Draft, FedUpdate, SentMessage
from tests.doubles.telegram_html import utf16_len

_Json = TypeVar("_Json")

# What getUpdates sends when allowed_updates is empty or was never given (Telegram's default).
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Updates that carry a Message the fake should remember (chats, users, message ids).
_MESSAGE_UPDATES = ("message", "edited_message", "channel_post", "edited_channel_post")

_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION = re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{5,32}")
_URL = re.compile(r"\bhttps?://[^\s<>\"]+")


def update_type(update: dict[str, Any]) -> str:
    """The kind of an update: its one key besides ``update_id`` (``message``, ...)."""
    return next((key for key in update if key != "update_id"), "")


def text_entities(text: str) -> list[dict[str, Any]]:
    """The entities Telegram marks in a user's plain text: commands, mentions, URLs."""
    found: list[tuple[int, int, str]] = []
    for kind, pattern in (("bot_command", _COMMAND), ("mention", _MENTION), ("url", _URL)):
        found.extend((match.start(), match.end(), kind) for match in pattern.finditer(text))
    found.sort()
    return [
        {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}
        for start, end, kind in found
    ]


@dataclass
class BotMessage:
    """The mutable state of one message the bot sent (snapshot: ``SentMessage``)."""

    message_id: int
    chat_id: int
    text: str
    html: str
    parse_mode: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    date: int
    reply_to_message_id: int | None = None
    edits: int = 0
    edit_date: int | None = None
    history: list[str] = field(default_factory=list)
    deleted: bool = False

    def snapshot(self) -> SentMessage:
        return SentMessage(
            message_id=self.message_id,
            chat_id=self.chat_id,
            text=self.text,
            html=self.html,
            parse_mode=self.parse_mode,
            entities=[dict(entity) for entity in self.entities],
            reply_markup=_copy(self.reply_markup),
            edits=self.edits,
            history=list(self.history),
            date=self.date,
            reply_to_message_id=self.reply_to_message_id,
            deleted=self.deleted,
        )


@dataclass
class _Fed:
    update: dict[str, Any]
    fed_at: float
    delivered_at: float | None = None


def _copy(value: _Json) -> _Json:
    """A deep copy of a JSON value (what leaves the lock never aliases the state)."""
    return cast(_Json, json.loads(json.dumps(value)))


def make_user(
    user_id: int,
    first_name: str,
    last_name: str | None,
    username: str | None,
    language_code: str | None,
) -> dict[str, Any]:
    """A Telegram User object of a person (fields left out when None, like Telegram)."""
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    optional = {"last_name": last_name, "username": username, "language_code": language_code}
    user.update({key: value for key, value in optional.items() if value is not None})
    return user


def _scope_key(scope: dict[str, Any] | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


class World:
    """Everything the fake Telegram remembers (see the module docstring)."""

    def __init__(self, bot_user: dict[str, Any]) -> None:
        self.lock = threading.RLock()
        self.bot_user = bot_user
        # Update ids only grow, across reset() too: a bot polling with an offset keeps working.
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self.poll_generation = 0  # which getUpdates call is the current one (kept by reset)
        # Called (outside the lock) after an update is queued: wakes long-polling getUpdates.
        self.on_update: Callable[[], None] | None = None
        self.reset()

    def reset(self) -> None:
        """Forget chats, messages, updates, drafts, commands, webhook and callback queries."""
        with self.lock:
            self._chats: dict[int, dict[str, Any]] = {}
            self._users: dict[int, dict[str, Any]] = {}
            self._last_message_id: dict[int, int] = {}
            self._messages: dict[tuple[int, int], dict[str, Any]] = {}
            self._bot_messages: dict[tuple[int, int], BotMessage] = {}
            self._bot_messages_by_chat: dict[int, list[BotMessage]] = {}  # by message id
            self._queue: list[_Fed] = []  # not confirmed yet, by update_id
            self._fed: list[_Fed] = []
            self._drafts: list[Draft] = []
            self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
            self._webhook: dict[str, Any] | None = None
            self._allowed_updates: list[str] = []
            self._callback_queries: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ feeding updates

    def _remember_message(self, message: dict[str, Any]) -> None:
        chat = message.get("chat")
        if not isinstance(chat, dict) or not isinstance(chat.get("id"), int):
            return
        chat_id: int = chat["id"]
        self._chats[chat_id] = dict(chat)
        sender = message.get("from")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            self._users[sender["id"]] = dict(sender)
        message_id = message.get("message_id")
        if isinstance(message_id, int):
            self._last_message_id[chat_id] = max(self._last_message_id.get(chat_id, 0), message_id)
            self._messages[(chat_id, message_id)] = message

    def _queue_update(self, update: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            update = {"update_id": next(self._update_ids)} | {
                key: value for key, value in _copy(update).items() if key != "update_id"
            }
            for kind in _MESSAGE_UPDATES:
                if isinstance(update.get(kind), dict):
                    self._remember_message(update[kind])
            fed = _Fed(update, time.time())
            self._queue.append(fed)
            self._fed.append(fed)
            result = _copy(update)
        if self.on_update is not None:
            self.on_update()
        return result

    def feed_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue any raw update; its ``update_id`` is always assigned anew. Returns it."""
        if not isinstance(update, dict) or not update_type(update):
            raise ValueError(f"an update must be an object with one update field, got {update!r}")
        return self._queue_update(update)

    def feed_text(
        self,
        user: dict[str, Any],
        chat: dict[str, Any],
        text: str,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """Queue a text message from ``user`` in ``chat`` with the next message id of the chat."""
        with self.lock:
            chat_id: int = chat["id"]
            message: dict[str, Any] = {
                "message_id": self._last_message_id.get(chat_id, 0) + 1,
                "from": user,
                "chat": chat,
                "date": int(time.time()),
                "text": text,
            }
            entities = text_entities(text)
            if entities:
                message["entities"] = entities
            if reply_to_message_id is not None:
                replied = self._messages.get((chat_id, reply_to_message_id))
                if replied is None:
                    raise ValueError(f"no message {reply_to_message_id} in chat {chat_id}")
                message["reply_to_message"] = {
                    key: value for key, value in replied.items() if key != "reply_to_message"
                }
            return self._queue_update({"message": message})

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Ann",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        reply_to_message_id: int | None = None,
        chat_title: str | None = None,
    ) -> dict[str, Any]:
        """Queue a text message from a user (a private chat's id is the user's id)."""
        user = make_user(user_id, first_name, last_name, username, language_code)
        if chat_type == "private":
            if chat_id not in (None, user_id):
                raise ValueError("a private chat's id is its user's id")
            chat = {
                k: v for k, v in user.items() if k in ("id", "first_name", "last_name", "username")
            }
            chat["type"] = "private"
        elif chat_type in ("group", "supergroup"):
            if chat_id is None:
                raise ValueError(f"a {chat_type} message needs a chat_id")
            chat = {"id": chat_id, "type": chat_type, "title": chat_title or f"Group {chat_id}"}
        else:
            raise ValueError(f"chat_type must be private, group or supergroup, got {chat_type!r}")
        return self.feed_text(user, chat, text, reply_to_message_id)

    def press_button(
        self,
        user_id: int,
        message_id: int,
        data: str,
        *,
        chat_id: int | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """Queue a press on the inline button with callback ``data`` of a bot message."""
        with self.lock:
            known = self._users.get(user_id) or make_user(user_id, "Ann", None, None, None)
            user = make_user(
                user_id,
                known["first_name"],
                known.get("last_name"),
                known.get("username"),
                language_code,
            )
            return self.feed_callback(
                user, user_id if chat_id is None else chat_id, message_id, data
            )

    def feed_callback(
        self, user: dict[str, Any], chat_id: int, message_id: int, data: str
    ) -> dict[str, Any]:
        """Queue a press on an inline button with callback ``data`` of a bot message."""
        with self.lock:
            message = self._messages.get((chat_id, message_id))
            sent = self._bot_messages.get((chat_id, message_id))
            if message is None or sent is None or sent.deleted:
                raise ValueError(f"the bot has no message {message_id} in chat {chat_id}")
            rows = (sent.reply_markup or {}).get("inline_keyboard", [])
            buttons = [button for row in rows for button in row]
            if not any(button.get("callback_data") == data for button in buttons):
                raise ValueError(f"message {message_id} has no button with callback_data {data!r}")
            query_id = str(next(self._callback_ids))
            self._callback_queries[query_id] = {"answers": []}
            query = {
                "id": query_id,
                "from": user,
                "message": message,
                "chat_instance": str(chat_id),
                "data": data,
            }
            return self._queue_update({"callback_query": query})

    # ------------------------------------------------------------------ getUpdates

    def take_updates(self, offset: int | None, limit: int, allowed: list[str] | None) -> list[Any]:
        """Confirm updates before ``offset``, then the next ones the bot may see (not removed)."""
        with self.lock:
            if allowed is not None:  # Telegram remembers the last list given
                self._allowed_updates = list(allowed)
            if offset is not None and offset > 0:
                self._queue = [fed for fed in self._queue if fed.update["update_id"] >= offset]
            elif offset is not None and offset < 0:
                self._queue = self._queue[offset:]
            # Updates of a kind the bot did not ask for are never sent: drop them.
            self._queue = [fed for fed in self._queue if self._allowed(fed.update)]
            batch = self._queue[:limit]
            now = time.time()
            for fed in batch:
                if fed.delivered_at is None:
                    fed.delivered_at = now
            return [_copy(fed.update) for fed in batch]

    def _allowed(self, update: dict[str, Any]) -> bool:
        kind = update_type(update)
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in DEFAULT_EXCLUDED_UPDATES

    def drop_pending_updates(self) -> None:
        """Forget every update not confirmed yet (``drop_pending_updates``)."""
        with self.lock:
            self._queue.clear()

    def pending_update_count(self) -> int:
        """How many updates wait for the bot."""
        with self.lock:
            return len(self._queue)

    def new_poll(self) -> int:
        """Register a getUpdates call; an earlier one still waiting is now superseded."""
        with self.lock:
            self.poll_generation += 1
            return self.poll_generation

    # ------------------------------------------------------------------ chats and messages

    def chat(self, chat_id: int) -> dict[str, Any] | None:
        """The chat object of a chat the fake knows (from fed updates)."""
        with self.lock:
            return self._chats.get(chat_id)

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A Message object (anyone's) not deleted, or None."""
        with self.lock:
            sent = self._bot_messages.get((chat_id, message_id))
            if sent is not None and sent.deleted:
                return None
            return self._messages.get((chat_id, message_id))

    def bot_message(self, chat_id: int, message_id: int) -> BotMessage | None:
        """The bot's own message (mutable, use under the lock), or None."""
        with self.lock:
            return self._bot_messages.get((chat_id, message_id))

    def add_bot_message(
        self,
        chat_id: int,
        text: str,
        html: str,
        parse_mode: str | None,
        entities: list[dict[str, Any]],
        reply_markup: dict[str, Any] | None,
        reply_to: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Store a message the bot sends and return it as a Telegram Message object."""
        with self.lock:
            message_id = self._last_message_id.get(chat_id, 0) + 1
            self._last_message_id[chat_id] = message_id
            sent = BotMessage(
                message_id=message_id,
                chat_id=chat_id,
                text=text,
                html=html,
                parse_mode=parse_mode,
                entities=entities,
                reply_markup=reply_markup,
                date=int(time.time()),
                reply_to_message_id=None if reply_to is None else reply_to["message_id"],
            )
            self._bot_messages[(chat_id, message_id)] = sent
            self._bot_messages_by_chat.setdefault(chat_id, []).append(sent)
            message = self._message_object(sent)
            if reply_to is not None:
                message["reply_to_message"] = {
                    key: value for key, value in reply_to.items() if key != "reply_to_message"
                }
            self._messages[(chat_id, message_id)] = message
            return _copy(message)

    def edit_bot_message(
        self,
        sent: BotMessage,
        *,
        text: str,
        html: str,
        parse_mode: str | None,
        entities: list[dict[str, Any]],
        reply_markup: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Apply an edit to a bot message; returns the edited Message object."""
        with self.lock:
            if text != sent.text:
                sent.history.append(sent.text)
            sent.text, sent.html, sent.parse_mode = text, html, parse_mode
            sent.entities, sent.reply_markup = entities, reply_markup
            sent.edits += 1
            sent.edit_date = int(time.time())
            message = self._message_object(sent)
            old = self._messages.get((sent.chat_id, sent.message_id), {})
            if "reply_to_message" in old:
                message["reply_to_message"] = old["reply_to_message"]
            self._messages[(sent.chat_id, sent.message_id)] = message
            return _copy(message)

    def delete_message(self, chat_id: int, message_id: int) -> bool:
        """Delete a message; False if there is no such message."""
        with self.lock:
            if self.message(chat_id, message_id) is None:
                return False
            sent = self._bot_messages.get((chat_id, message_id))
            if sent is not None:
                sent.deleted = True
            else:
                del self._messages[(chat_id, message_id)]
            return True

    def _message_object(self, sent: BotMessage) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "from": self.bot_user,
            "chat": self._chats[sent.chat_id],
            "date": sent.date,
            "text": sent.text,
        }
        if sent.edit_date is not None:
            message["edit_date"] = sent.edit_date
        if sent.entities:
            message["entities"] = sent.entities
        # Only inline keyboards belong to a message; reply keyboards are the client's.
        if sent.reply_markup is not None and "inline_keyboard" in sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        return _copy(message)

    # ------------------------------------------------------------------ drafts, callbacks

    def add_draft(self, draft: Draft) -> None:
        """Record an accepted draft."""
        with self.lock:
            self._drafts.append(draft)

    def answer_callback(self, query_id: str, answer: dict[str, Any]) -> bool:
        """Record an answer to a callback query; False if the query is unknown."""
        with self.lock:
            query = self._callback_queries.get(query_id)
            if query is None:
                return False
            query["answers"].append(answer)
            return True

    # ------------------------------------------------------------------ commands, webhook

    def set_commands(
        self, scope: dict[str, Any] | None, language_code: str, commands: list[dict[str, Any]]
    ) -> None:
        """Store the command list for a scope and language ("" = all languages)."""
        with self.lock:
            key = (_scope_key(scope), language_code)
            if commands:
                self._commands[key] = _copy(commands)
            else:
                self._commands.pop(key, None)

    def get_commands(self, scope: dict[str, Any] | None, language_code: str) -> list[Any]:
        """The command list stored for exactly this scope and language."""
        with self.lock:
            return _copy(self._commands.get((_scope_key(scope), language_code), []))

    def set_webhook(self, webhook: dict[str, Any] | None) -> None:
        """Set (a dict with ``url``...) or delete (None) the webhook."""
        with self.lock:
            self._webhook = _copy(webhook)

    @property
    def webhook(self) -> dict[str, Any] | None:
        """The webhook as set (url, secret_token, allowed_updates, ...), or None."""
        with self.lock:
            return _copy(self._webhook)

    # ------------------------------------------------------------------ snapshots for tests

    def sent_messages(self, chat_id: int, include_deleted: bool = False) -> list[SentMessage]:
        """The bot's messages in a chat, by message id."""
        with self.lock:
            return [
                sent.snapshot()
                for sent in self._bot_messages_by_chat.get(chat_id, [])
                if include_deleted or not sent.deleted
            ]

    def drafts(self, chat_id: int | None = None) -> list[Draft]:
        """Accepted drafts (of one chat, or all), in the order they came."""
        with self.lock:
            return [d for d in self._drafts if chat_id is None or d.chat_id == chat_id]

    def fed_updates(self) -> list[FedUpdate]:
        """Every update fed since the last reset, oldest first."""
        with self.lock:
            return [FedUpdate(_copy(f.update), f.fed_at, f.delivered_at) for f in self._fed]

    def all_commands(self) -> list[dict[str, Any]]:
        """Every stored command list: ``[{"scope", "language_code", "commands"}]``."""
        with self.lock:
            return [
                {"scope": json.loads(scope), "language_code": language, "commands": _copy(cmds)}
                for (scope, language), cmds in self._commands.items()
            ]

    def callback_answers(self) -> dict[str, list[dict[str, Any]]]:
        """The answers given to each callback query id."""
        with self.lock:
            return {qid: _copy(q["answers"]) for qid, q in self._callback_queries.items()}
