"""Deltas that are ready together leave as one event; the text and its order never change."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.doubles.fake_llm import FakeLLM, Reply
from tests.support import BotAPI

TELEGRAM_ID = 4242
ANSWER = "The quick brown fox jumps over the lazy dog. " * 14  # 630 characters, 79 chunks


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_answer_sent_at_once_leaves_in_few_events_and_whole(
    app: Flask, bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    bot_api.upsert(TELEGRAM_ID)
    fake_llm.script(Reply(ANSWER, chunk_size=8))

    exchange = bot_api.send(TELEGRAM_ID, "Go")

    deltas = [data["text"] for name, data in exchange.events if name == "delta"]
    assert exchange.text == ANSWER
    assert exchange.final[0] == "done"
    assert deltas[0] == ANSWER[:8], "the first piece goes out alone, at once"
    assert len(deltas) < 10, f"{len(deltas)} events for 79 pieces that came together"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_paced_answer_is_joined_without_losing_a_character(
    app: Flask, bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    bot_api.upsert(TELEGRAM_ID)
    text = "".join(f"{n:03d}|" for n in range(120))  # order-revealing pieces
    fake_llm.script(Reply(text, chunk_size=4, delay_between_chunks_s=0.005))

    exchange = bot_api.send(TELEGRAM_ID, "Count")

    deltas = [data["text"] for name, data in exchange.events if name == "delta"]
    assert exchange.text == text
    assert all(deltas), "no empty delta"
    # Pieces 5 ms apart, joined for up to 50 ms: about a tenth as many events; half is a loose
    # bound that still fails when each piece leaves on its own.
    assert 1 < len(deltas) <= 60, f"{len(deltas)} events for 120 pieces 5 ms apart"
    names = [name for name, _ in exchange.events]
    assert names[-1] == "done"
    assert names.count("done") == 1
