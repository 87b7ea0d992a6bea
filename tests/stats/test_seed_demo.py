"""seed-demo, on both databases: exactly the messages asked for, shaped as the conversation
service stores them, within the period, the same for the same arguments, refused on a database
that holds dialogs, and an app that goes on working afterwards."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask

from tests.doubles.fake_llm import FakeLLM, Reply
from tests.support import (
    BotAPI,
    dispose_app,
    flask_cli,
    make_app,
    make_settings,
    scratch_postgres_database,
    server_environment,
)
from webapi.extensions import db
from webapi.models import Account, Dialog, Message, User, utcnow
from webapi.stats.demo import SEEDED_TABLES, TELEGRAM_ID_BASE, seed_demo_command

SMALL = ["--users", "40", "--messages", "2000", "--days", "14"]
LAST_DAY = (utcnow() - timedelta(days=3)).date().isoformat()  # a past day: no now-cut
SEEDED = re.compile(r"^seeded 2,000 messages in [\d,]+ dialogs for 40 users in \d+\.\d s$")


def seed(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(seed_demo_command, list(args))


def rows(app: Flask, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(query)]


def snapshot(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every seeded row, in id order; all but the accounts' (random) password hashes."""
    accounts = [column for column in Account.__table__.c if column.name != "password_hash"]
    return {
        "users": rows(app, sa.select(User.__table__).order_by(User.id)),
        "accounts": rows(app, sa.select(*accounts).order_by(Account.id)),
        "dialogs": rows(app, sa.select(Dialog.__table__).order_by(Dialog.id)),
        "messages": rows(app, sa.select(Message.__table__).order_by(Message.id)),
    }


@contextmanager
def empty_database(kind: str, folder: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'aidd.db'}"
        return
    with scratch_postgres_database(request.getfixturevalue("postgres_admin")) as url:
        yield url


@contextmanager
def migrated_app(database_url: str, llm_url: str) -> Iterator[Flask]:
    app = make_app(make_settings(database_url, llm_url))
    try:
        yield app
    finally:
        dispose_app(app)


@pytest.fixture
def fresh_app(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest, fake_llm: FakeLLM
) -> Iterator[Flask]:
    """Another migrated app on another empty database of the same kind."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    folder = tmp_path / "fresh"
    folder.mkdir()
    with empty_database(kind, folder, request) as url, migrated_app(url, fake_llm.base_url) as app:
        yield app


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake_llm_server: FakeLLM,
) -> Iterator[tuple[Flask, datetime]]:
    """A database of each kind seeded up to now (the default --until), for the tests that do
    not write: its app, and when the seeding ended."""
    folder = tmp_path_factory.mktemp("seeded")
    with (
        empty_database(request.param, folder, request) as url,
        migrated_app(url, fake_llm_server.base_url) as app,
    ):
        result = seed(app, *SMALL, "--seed", "3")
        assert result.exit_code == 0, result.output
        assert SEEDED.match(result.output.strip()), result.output
        yield app, utcnow()


def test_exactly_the_messages_asked_for_across_channels_roles_and_outcomes(
    seeded: tuple[Flask, datetime],
) -> None:
    app = seeded[0]
    channels_modes = rows(app, sa.select(Dialog.channel, Dialog.mode).distinct())
    roles = rows(app, sa.select(Dialog.role).distinct())
    outcomes = rows(
        app,
        sa.select(Message.status, Message.error_code).where(Message.role == "user").distinct(),
    )
    owners = rows(app, sa.select(Account.username).order_by(Account.username))

    assert rows(app, sa.select(sa.func.count(Message.id))) == [(2000,)]
    assert rows(app, sa.select(sa.func.count(User.id))) == [(40,)]
    assert set(channels_modes) == {
        ("telegram", "assistant"),
        ("web", "assistant"),
        ("web", "insights"),
    }
    assert len(roles) >= 3
    codes = {code for status, code in outcomes if status == "error"}
    assert ("ok", None) in outcomes
    assert {"cancelled", "interrupted"} <= codes
    assert codes - {"cancelled", "interrupted"}, "some answers failed"
    assert owners == [("demo-analyst",), ("demo-owner",)]
    # The statistics were rebuilt from the rows.
    assert rows(app, sa.select(sa.func.sum(Dialog.message_count))) == [(2000,)]


def test_every_question_is_settled_as_the_conversation_service_would(
    seeded: tuple[Flask, datetime],
) -> None:
    app = seeded[0]
    messages = rows(
        app,
        sa.select(
            Message.dialog_id,
            Message.role,
            Message.status,
            Message.error_code,
            Message.content,
            Message.length,
            Message.created_at,
            Message.model,
            Message.prompt_tokens,
            Message.completion_tokens,
            Message.ttft_ms,
            Message.latency_ms,
        ).order_by(Message.dialog_id, Message.id),
    )
    by_time = rows(app, sa.select(Message.created_at).order_by(Message.id))
    assert by_time == sorted(by_time), "ids follow time"
    assert all(length == len(content) for _, _, _, _, content, length, *_ in messages)

    questions = 0
    for index, (dialog, role, status, code, _, _, asked_at, *_) in enumerate(messages):
        if role == "assistant":
            assert messages[index - 1][:2] == (dialog, "user"), "an answer follows its question"
            continue
        questions += 1
        following = messages[index + 1] if index + 1 < len(messages) else None
        answered = following is not None and following[:2] == (dialog, "assistant")
        if code == "interrupted":
            assert status == "error"
            assert not answered
            continue
        assert answered, "every question but an interrupted one has its answer row"
        assert following is not None
        (_, _, a_status, a_code, a_content, _, a_at, model, prompt, completion, ttft, latency) = (
            following
        )
        assert (a_status, a_code) == (status, code)
        assert model
        assert latency is not None
        assert a_at - asked_at == timedelta(milliseconds=latency)
        if status == "ok":
            assert a_content
            assert prompt
            assert completion
            assert ttft is not None
            assert 0 < ttft <= latency
        else:
            assert a_content == ""
            assert (prompt, completion, ttft) == (None, None, None)
    assert questions > 900


def test_one_open_dialog_per_chat_and_mode_and_resets_in_between(
    seeded: tuple[Flask, datetime],
) -> None:
    app = seeded[0]
    dialogs = rows(
        app,
        sa.select(
            Dialog.user_id,
            Dialog.account_id,
            Dialog.chat_id,
            Dialog.channel,
            Dialog.mode,
            Dialog.started_at,
            Dialog.ended_at,
            Dialog.last_message_at,
        ).order_by(Dialog.started_at, Dialog.id),
    )
    chains: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for dialog in dialogs:
        chains.setdefault(dialog[:5], []).append(dialog)

    assert any(chat is not None and chat < 0 for _, _, chat, *_ in dialogs), "group chats"
    for chain in chains.values():
        assert [ended is None for *_, ended, _ in chain] == [False] * (len(chain) - 1) + [True]
        for earlier, later in pairwise(chain):
            # A /reset ends one dialog and starts the next, after the last message.
            assert earlier[6] == later[5]
            assert earlier[7] < earlier[6]


def test_no_message_before_the_first_day_or_after_now(
    seeded: tuple[Flask, datetime],
) -> None:
    app, ended = seeded
    first_day = datetime.combine(ended.date() - timedelta(days=13), datetime.min.time(), UTC)
    [(earliest, latest)] = rows(
        app, sa.select(sa.func.min(Message.created_at), sa.func.max(Message.created_at))
    )
    latest_of_all = [
        rows(app, sa.select(sa.func.max(column)))[0][0]
        for column in (Dialog.started_at, Dialog.ended_at, User.last_seen_at, Account.last_login_at)
    ]
    assert first_day <= earliest
    assert max(latest, *latest_of_all) <= ended


def schema(app: Flask) -> dict[str, Any]:
    """Each table's indexes (their conditions as text) and foreign keys."""
    with app.app_context():
        inspector = sa.inspect(db.engine)
        return {
            table: (
                sorted(
                    (
                        index["name"],
                        index["column_names"],
                        index["unique"],
                        {key: str(value) for key, value in index["dialect_options"].items()},
                    )
                    for index in inspector.get_indexes(table)
                ),
                inspector.get_foreign_keys(table),
            )
            for table in ("users", "accounts", "dialogs", "messages")
        }


def test_the_indexes_and_foreign_keys_set_aside_for_the_load_come_back(
    app: Flask, fresh_app: Flask
) -> None:
    assert seed(app, *SMALL).exit_code == 0

    assert schema(app) == schema(fresh_app)


# SQLite keeps no visibility map, and plans without statistics here.
@pytest.mark.parametrize("seeded", ["postgresql"], indirect=True)
def test_on_postgresql_what_was_loaded_is_vacuumed_and_analyzed(
    seeded: tuple[Flask, datetime],
) -> None:
    app, _ = seeded
    with app.app_context():
        found = db.session.execute(
            sa.text(
                "SELECT relname, last_vacuum IS NOT NULL, last_analyze IS NOT NULL"
                " FROM pg_stat_user_tables WHERE relname IN :tables"
            ).bindparams(sa.bindparam("tables", expanding=True)),
            {"tables": list(SEEDED_TABLES)},
        ).all()

    assert sorted(found) == sorted((table, True, True) for table in SEEDED_TABLES)


def test_the_same_arguments_give_the_same_rows_and_another_seed_others(
    app: Flask, fresh_app: Flask, tmp_path: Path, fake_llm: FakeLLM
) -> None:
    arguments = [*SMALL, "--seed", "5", "--until", LAST_DAY]
    assert seed(app, *arguments).exit_code == 0
    assert seed(fresh_app, *arguments).exit_code == 0
    assert snapshot(app) == snapshot(fresh_app)

    other = make_app(make_settings(f"sqlite:///{tmp_path / 'other.db'}", fake_llm.base_url))
    try:
        assert seed(other, *SMALL, "--seed", "6", "--until", LAST_DAY).exit_code == 0
        assert snapshot(other)["messages"] != snapshot(app)["messages"]
    finally:
        dispose_app(other)


def test_a_database_with_dialogs_is_refused_and_left_untouched(
    seeded: tuple[Flask, datetime],
) -> None:
    app = seeded[0]
    before = snapshot(app)
    [(dialogs,)] = rows(app, sa.select(sa.func.count(Dialog.id)))

    refused = seed(app, "--users", "3", "--messages", "10", "--days", "2")

    assert refused.exit_code == 1
    assert (
        f"seed-demo fills an empty database; this one holds {dialogs:,} dialogs" in refused.output
    )
    assert snapshot(app) == before


def test_the_app_answers_as_usual_after_seeding(
    app: Flask, bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    assert seed(app, *SMALL).exit_code == 0
    [(last_message,)] = rows(app, sa.select(sa.func.max(Message.id)))
    [(last_dialog,)] = rows(app, sa.select(sa.func.max(Dialog.id)))
    fake_llm.script(Reply("Welcome!"), Reply("Welcome back!"))

    assert bot_api.upsert(77, username="newcomer").status_code == 200
    newcomer = bot_api.send(77, "Hello")
    regular = bot_api.send(TELEGRAM_ID_BASE, "Hello again")

    assert newcomer.final[0] == regular.final[0] == "done"
    assert newcomer.final[1]["dialog_id"] > last_dialog
    assert regular.final[1]["dialog_id"] <= last_dialog, "the user's open dialog goes on"
    assert newcomer.final[1]["user_message_id"] > last_message
    assert regular.final[1]["assistant_message_id"] > newcomer.final[1]["assistant_message_id"]


def test_the_flask_command_seeds_a_migrated_database(
    app: Flask, database_url: str, fake_llm: FakeLLM
) -> None:
    env = server_environment(database_url, fake_llm.base_url)

    done = flask_cli(env, "seed-demo", *SMALL, "--until", LAST_DAY)

    assert done.returncode == 0, done.stderr
    assert SEEDED.match(done.stdout.strip()), done.stdout
    assert rows(app, sa.select(sa.func.count(Message.id))) == [(2000,)]
