"""Fake Telegram Bot API: a real HTTP test double (aiohttp, on its own thread and event loop).

It listens on 127.0.0.1 (port 0 = any free port) and speaks the Bot API as aiogram calls it,
so the bot under test uses an unmodified ``aiogram.Bot`` over real sockets.

Python use::

    with FakeTelegram() as fake:                 # or fake = FakeTelegram().start(); fake.stop()
        session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
        bot = Bot(fake.token, session=session)
        fake.send_text(42, "/start", language_code="ru")     # queued for getUpdates
        fake.fail("sendMessage", status=429, retry_after=2)  # the next sendMessage gets a 429
        ...
        fake.wait_for(lambda f: len(f.chat_messages(42)) == 1)
        assert fake.chat_messages(42)[0].text.startswith("Привет")

Stand-alone (e.g. as a container for stack tests; stops on SIGTERM/SIGINT)::

    python -m tests.doubles.fake_telegram --host 127.0.0.1 --port 8081 [--token T]

and ``FakeTelegramControl("http://127.0.0.1:8081")`` drives it with the same methods.

The Bot API
-----------
``GET|POST /bot<token>/<method>``; parameters in the query string and/or a form-urlencoded,
multipart or JSON body (form values are typed as Telegram types them: integers, booleans,
JSON-serialized objects such as ``reply_markup``). Answers ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": "...", "parameters": {"retry_after": S}}``.
Method names are case-insensitive; unknown parameters are ignored. A wrong token gets 401
"Unauthorized", an unknown method 404 "Not Found" (as does any other path).

``getMe``
    The bot: ``id`` (the token's number), ``is_bot``, ``first_name``, ``username``.
``getUpdates`` (offset, limit, timeout, allowed_updates)
    Long-polls up to ``timeout`` s for updates. Updates before ``offset`` are confirmed and
    forgotten; a negative offset keeps the last ``-offset``; returned updates stay until
    confirmed. ``allowed_updates`` is remembered like Telegram's; updates of other kinds are
    dropped (loosely: Telegram would not have created them). A newer getUpdates makes one
    still waiting answer 409 "Conflict: terminated by other getUpdates request..."; while a
    webhook is set getUpdates answers 409 too. A client that hangs up ends its wait.
``sendMessage`` (chat_id, text, parse_mode, entities, reply_markup, reply_parameters, ...)
    The chat must be known (it sent an update), else 400 "chat not found". Answers the full
    Message: next message id of the chat, ``date``, ``chat``, ``from`` = the bot, the visible
    ``text`` and its ``entities``, an inline ``reply_markup``, ``reply_to_message``.
``editMessageText`` / ``editMessageReplyMarkup`` (chat_id, message_id, ...)
    Change a message of the bot (counted in ``SentMessage.edits``; old texts in ``history``).
    400 "message to edit not found", "message can't be edited" (not the bot's), "message is
    not modified: ..." (same text, entities and inline keyboard). An edit without
    ``reply_markup`` removes the inline keyboard, as on Telegram.
``sendMessageDraft`` (chat_id, draft_id != 0, text may be empty, parse_mode)
    Private chats only (400 otherwise); recorded as a ``Draft``; answers True.
``deleteMessage``, ``sendChatAction`` (a valid action), ``answerCallbackQuery`` (an id the
fake sent), ``setMyCommands`` / ``getMyCommands`` / ``deleteMyCommands`` (per scope and
language_code, exactly as given), ``setWebhook`` / ``deleteWebhook`` / ``getWebhookInfo``
(url, secret_token, allowed_updates; ``drop_pending_updates`` honoured).
    Answer like Telegram; their effects are readable on ``FakeTelegram``.

Validation like Telegram's, for sendMessage, editMessageText and sendMessageDraft: with
``parse_mode=HTML`` the text is parsed by ``tests.doubles.telegram_html.parse_html`` (400 "Bad
Request: can't parse entities: ..."); more than 4096 UTF-16 code units of visible text gets
400 "Bad Request: message is too long"; an empty (or all-blank) text gets 400 "Bad Request:
message text is empty" (drafts may be empty). Inline buttons need an action and at most 64
bytes of callback_data (400 "BUTTON_DATA_INVALID"). Markdown parse modes get a 400 saying the
fake does not implement them. Deliberate leniencies: setWebhook takes ``http://`` URLs and any
port; inline-mode methods, files, media and every method not listed above are 404.

Faults
------
``fail(method, status=429, retry_after=None, description=None, times=1, delay_s=0)`` and
``slow(method, delay_s, times=1)`` queue faults; a call takes the oldest one matching its
method (``None`` matches any), so faults are FIFO per method. A failing fault answers after
``delay_s`` with ``status`` and Telegram's body: 429 carries ``parameters.retry_after``
(default 1) and "Too Many Requests: retry after N"; the call has no effect. A slow fault
delays a call that then runs normally. aiogram raises TelegramRetryAfter (429),
TelegramBadRequest (400), TelegramServerError (5xx) for them.

Recording
---------
Every call to ``/bot...`` is recorded as a ``Call(method, params, at, response, status,
done_at)`` - failed, faulted and unauthorized ones too (status 499 when the client hung up
first) - in the order the answers were ready. ``calls``, ``calls_to(method)``,
``chat_messages(chat_id)`` (``SentMessage``: id, visible text, html as sent, parse_mode,
entities, reply_markup, edits, history; deleted ones with ``include_deleted=True``),
``drafts(chat_id)``, ``updates`` (fed, with fed_at/delivered_at), ``my_commands(language,
scope)``, ``webhook``, ``callback_answers``, ``pending_faults``. ``wait_for(predicate,
timeout)`` polls and fails with ``dump()`` (the last calls and the update queue). ``reset()``
forgets all of it; update ids keep growing and a waiting getUpdates stays current, so a bot
that polls across a reset keeps working. All of it is thread-safe. Cost: about 0.5 ms of CPU
per call carrying 1 KB of HTML, most of it in the HTML validator.

Feeding updates
---------------
``send_text(user_id, text, *, chat_id=None, chat_type="private", first_name="Ann",
last_name=None, username=None, language_code="en", reply_to_message_id=None,
chat_title=None)`` - a message with the next message id of the chat and the entities
Telegram marks (bot_command, mention, url); a private chat's id is the user's id, groups need
a ``chat_id``. Every group message is delivered (the bot picks what is addressed to it).
``press_button(user_id, message_id, data, *, chat_id=None, language_code="en")`` - a
``callback_query`` for an existing inline button of a bot message (ValueError otherwise).
``send_update(update)`` - any raw update (a redelivered message, a photo...); its update_id
is always assigned anew, its chat and message become known.

Control API (JSON)
------------------
``GET /_control/health`` ``{"status": "ok", "calls", "pending_updates", "faults"}`` ·
``POST /_control/updates`` (a raw update) · ``POST /_control/updates/text`` (send_text's
keywords with ``user_id``, ``text``) · ``POST /_control/updates/button`` (press_button's) ·
``GET /_control/updates`` · ``GET /_control/calls[?method=]`` ·
``GET /_control/messages?chat_id=N[&include_deleted=true]`` · ``GET /_control/drafts[?chat_id=]``
· ``GET /_control/commands`` · ``GET /_control/webhook`` · ``GET /_control/callback_answers`` ·
``GET|POST /_control/faults`` (a fault object ``{"method", "status", "retry_after",
"description", "times", "delay_s"}`` or a list; ``status: null`` = slow) ·
``POST /_control/reset``. A wrong control request gets 400 ``{"error": "..."}``.
"""

from tests.doubles.fake_telegram.control import FakeTelegramControl
from tests.doubles.fake_telegram.fake import DEFAULT_TOKEN, FakeTelegram
from tests.doubles.fake_telegram.faults import Fault
from tests.doubles.fake_telegram.records import Call, Draft, FedUpdate, SentMessage

__all__ = [
    "DEFAULT_TOKEN",
    "Call",
    "Draft",
    "FakeTelegram",
    "FakeTelegramControl",
    "Fault",
    "FedUpdate",
    "SentMessage",
]
