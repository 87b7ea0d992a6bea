"""What the Telegram bot needs beyond one private chat: dialogs per chat, questions stored once
per idempotency key whatever is redelivered, and forgetting a user's conversations."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa
from flask import Flask

from tests.doubles.fake_llm import FakeLLM, Reply, Status
from tests.support import BotAPI
from webapi.extensions import db
from webapi.models import Author, Dialog, Message, User

ANN, BOB = 501, 502
GROUP = -1001234567890


def context(request: dict[str, Any]) -> list[str]:
    """The contents an LLM request carried between its system prompt and its question."""
    return [message["content"] for message in request["messages"][1:-1]]


def count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        found: int = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
        return found


def test_a_group_keeps_its_own_context_apart_from_the_private_chat(
    bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    bot_api.upsert(ANN)
    private = bot_api.send(ANN, "private one")
    in_group = bot_api.send(ANN, "group one", chat_id=GROUP)
    bot_api.send(ANN, "private two")
    bot_api.send(ANN, "group two", chat_id=GROUP)

    assert private.final[1]["dialog_id"] != in_group.final[1]["dialog_id"]
    assert [context(request) for request in fake_llm.requests] == [
        [],
        [],
        ["private one", "Echo: private one"],
        ["group one", "Echo: group one"],
    ]


def test_reset_role_and_status_act_on_the_chat_named(bot_api: BotAPI, fake_llm: FakeLLM) -> None:
    bot_api.upsert(ANN)
    bot_api.send(ANN, "private")
    bot_api.send(ANN, "group", chat_id=GROUP)

    reset = bot_api.http.post(f"/users/{ANN}/reset", json={"chat_id": GROUP})
    assert reset.status_code == 200
    in_group = bot_api.http.get(f"/users/{ANN}/status", params={"chat_id": GROUP}).json()
    in_private = bot_api.http.get(f"/users/{ANN}/status").json()
    assert in_group["context"]["messages_used"] == 0
    assert in_private["context"]["messages_used"] == 2
    assert in_group["today"]["messages"] == in_private["today"]["messages"] == 2, "user-wide"

    chosen = bot_api.http.put(f"/users/{ANN}/role", json={"role": "editor", "chat_id": GROUP})
    assert chosen.status_code == 200
    shown = bot_api.http.get(f"/users/{ANN}/role", params={"chat_id": GROUP}).json()
    assert shown == chosen.json()
    # Only the group's dialog restarted; the private one keeps its role until it ends, and
    # the next one takes the user's new choice.
    assert bot_api.http.get(f"/users/{ANN}/role").json()["role"]["name"] == "consultant"
    assert bot_api.http.get(f"/users/{ANN}/status").json()["context"]["messages_used"] == 2
    bot_api.reset(ANN)
    assert bot_api.http.get(f"/users/{ANN}/role").json()["role"]["name"] == "editor"


def test_a_repeated_key_stores_one_question_and_replays_its_answer(
    app: Flask, bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    bot_api.upsert(ANN)
    fake_llm.script(Reply("The first and only answer."))
    first = bot_api.send(ANN, "hello", idempotency_key="tg:501:7")
    again = bot_api.send(ANN, "hello", idempotency_key="tg:501:7")

    assert first.final[0] == again.final[0] == "done"
    assert again.text == first.text == "The first and only answer."
    for field in ("dialog_id", "user_message_id", "assistant_message_id", "usage"):
        assert again.final[1][field] == first.final[1][field]
    assert len(fake_llm.requests) == 1
    assert count(app, Message, Message.role == Author.USER) == 1
    assert count(app, Message, Message.role == Author.ASSISTANT) == 1

    other = bot_api.send(ANN, "hello", idempotency_key="tg:501:8")
    assert other.final[0] == "done"
    assert count(app, Message, Message.role == Author.USER) == 2


def test_a_repeated_key_replays_a_failed_outcome(
    app: Flask, bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    bot_api.upsert(ANN)
    fake_llm.script(Status(400))
    first = bot_api.send(ANN, "hello", idempotency_key="tg:501:9")
    again = bot_api.send(ANN, "hello", idempotency_key="tg:501:9")

    assert first.final[0] == again.final[0] == "error"
    assert again.final[1]["code"] == first.final[1]["code"] == "llm_rejected"
    assert again.final[1]["user_message_id"] == first.final[1]["user_message_id"]
    assert again.text == ""
    assert len(fake_llm.requests) == 1
    assert count(app, Message, Message.role == Author.USER) == 1


def test_concurrent_redeliveries_store_one_question(
    app: Flask, live_url: str, fake_llm: FakeLLM
) -> None:
    """Telegram redelivers while the first delivery is still being answered: every copy gets
    the one answer, once it is there."""
    fake_llm.script(Reply("Slowly, once.", chunk_size=2, delay_between_chunks_s=0.02))
    BotAPI(live_url).upsert(ANN)

    def send(_: int) -> tuple[str, str, int]:
        client = BotAPI(live_url)
        try:
            exchange = client.send(ANN, "hello", idempotency_key="tg:501:10")
            return exchange.final[0], exchange.text, exchange.final[1]["user_message_id"]
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(send, range(6)))

    assert len(set(results)) == 1
    assert results[0][:2] == ("done", "Slowly, once.")
    assert len(fake_llm.requests) == 1
    assert count(app, Message, Message.role == Author.USER) == 1


def test_a_key_is_its_owners_alone(app: Flask, bot_api: BotAPI) -> None:
    bot_api.upsert(ANN)
    bot_api.upsert(BOB)
    assert bot_api.send(ANN, "mine", idempotency_key="tg:1:1").final[0] == "done"

    taken = bot_api.send(BOB, "mine too", idempotency_key="tg:1:1")
    in_group = bot_api.send(ANN, "mine", idempotency_key="tg:1:1", chat_id=GROUP)

    assert taken.status_code == in_group.status_code == 409
    assert taken.final[1]["error"]["code"] == "conflict"
    assert count(app, Message, Message.role == Author.USER) == 1


def test_bad_keys_and_chats_are_refused(app: Flask, bot_api: BotAPI) -> None:
    bot_api.upsert(ANN)
    for fields in (
        {"idempotency_key": ""},
        {"idempotency_key": "with space"},
        {"idempotency_key": "k" * 129},
        {"chat_id": 2**53},
        {"chat_id": "group"},
    ):
        refused = bot_api.send(ANN, "hello", **fields)
        assert refused.status_code == 422, fields
        assert refused.final[1]["error"]["code"] == "validation_error"
    assert count(app, Message) == 0


def test_forgetting_deletes_one_users_dialogs_and_messages(
    app: Flask, bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    for user in (ANN, BOB):
        bot_api.upsert(user)
        bot_api.send(user, "one")
        bot_api.reset(user)
        bot_api.send(user, "two", chat_id=GROUP)
    bot_api.http.put(f"/users/{ANN}/role", json={"role": "editor"})

    forgotten = bot_api.http.delete(f"/users/{ANN}/dialogs")

    assert forgotten.status_code == 200
    assert forgotten.json() == {"dialogs_deleted": 4, "messages_deleted": 4}
    with app.app_context():
        ann = db.session.scalar(sa.select(User).where(User.telegram_id == ANN))
        bob = db.session.scalar(sa.select(User).where(User.telegram_id == BOB))
        assert ann is not None
        assert bob is not None
        assert ann.role == "editor", "the profile and the role stay"
    assert count(app, Dialog, Dialog.user_id == ann.id) == 0
    assert count(app, Dialog, Dialog.user_id == bob.id) == 3
    assert count(app, Message) == 4

    again = bot_api.send(ANN, "afresh")
    assert again.final[0] == "done"
    assert context(fake_llm.requests[-1]) == []
    assert bot_api.http.delete("/users/999/dialogs").status_code == 404


def test_the_document_describes_chats_keys_and_forgetting(bot_api: BotAPI) -> None:
    document = bot_api.http.get("/../openapi.json").json()
    bot = "/api/v1/bot/users/{telegram_id}"
    reset_body = document["paths"][f"{bot}/reset"]["post"]["requestBody"]
    assert reset_body["required"] is False, "a reset without a body is the private chat's"
    message = document["components"]["schemas"]["MessageIn"]["properties"]
    assert {"chat_id", "idempotency_key"} <= message.keys()
    assert "ForgetOut" in str(document["paths"][f"{bot}/dialogs"]["delete"]["responses"]["200"])
