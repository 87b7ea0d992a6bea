"""`flask --app webapi copy-db --to URL`: a real SQLite file copied into a real PostgreSQL
database, run as an owner runs it (a `flask` process), and the app served on the copy."""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.doubles.fake_llm import FakeLLM
from tests.support import (
    ROOT,
    BotAPI,
    dispose_app,
    flask_cli,
    make_app,
    make_settings,
    scratch_postgres_database,
    serve,
    server_environment,
)
from webapi.domain.accounts import create_account
from webapi.extensions import db
from webapi.models import Message, User
from webapi.stats import rollups
from webapi.stats.demo import seed_demo_command

CONSOLE_NAME, CONSOLE_PASSWORD = "owner", "owner-password-123"
BIG_TELEGRAM_ID = 2**63 - 1  # BIGINT's largest
ANN = 8_123_456_789_012  # a Telegram id beyond 32 bits
GROUP = -1_001_234_567_890  # a supergroup's chat id
# A moment with microseconds, given in a zone with a 45-minute offset; stored as UTC.
ODD_MOMENT = datetime(
    2026, 3, 29, 1, 30, 0, 123456, tzinfo=timezone(timedelta(hours=5, minutes=45))
)
UNICODE = "Привет, мир! 日本語 — emoji 🧪🚀, combining é, RTL שלום\nand a second line\ttab"
STATS = ("overview", "performance", "activity", "top-users", "breakdown", "dialogs")


# --- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture
def target_url(postgres_admin: sa.Engine) -> Iterator[str]:
    """An empty PostgreSQL database, as an owner creates it for the switch."""
    with scratch_postgres_database(postgres_admin) as url:
        yield url


def copy_db(source_url: str, fake_llm: FakeLLM, *args: str) -> subprocess.CompletedProcess[str]:
    """`flask --app webapi copy-db ARGS` in a process of its own, on the source's settings."""
    return flask_cli(server_environment(source_url, fake_llm.base_url), "copy-db", *args)


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused copy ends with."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "something is said on stderr"
    assert lines[-1].startswith("Error: copy-db: "), result.stderr
    return lines[-1]


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every model table, as the app reads it (UTC datetimes, parsed JSON), plus
    the JSON columns' text as stored (SQL NULL and JSON null apart), in primary key order."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            found = {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        sa.select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in db.metadata.sorted_tables
            }
            found["messages.result as stored"] = [
                tuple(row)
                for row in connection.execute(
                    sa.select(Message.id, sa.cast(Message.result, sa.Text)).order_by(Message.id)
                )
            ]
            return found
    finally:
        engine.dispose()


def count_rows(url: str) -> dict[str, int]:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            present = set(sa.inspect(connection).get_table_names())
            return {
                table.name: connection.execute(
                    sa.select(sa.func.count()).select_from(table)
                ).scalar_one()
                for table in db.metadata.sorted_tables
                if table.name in present
            }
    finally:
        engine.dispose()


def fill(app: Flask) -> None:
    """Data of every kind: seed-demo's (all tables, rollups included), a conversation through
    the bot's API, a console sign-in, and rows at the edges of the types."""
    seeded = app.test_cli_runner().invoke(
        seed_demo_command, ["--users", "30", "--messages", "3000", "--days", "10", "--seed", "3"]
    )
    assert seeded.exit_code == 0, seeded.output
    with app.app_context():
        create_account(CONSOLE_NAME, CONSOLE_PASSWORD, is_admin=True)
    client = app.test_client()
    sign_in(client)  # a console session and the sign-in limits' counters
    for url in serve(app):
        api = BotAPI(url)
        try:
            assert api.upsert(ANN, first_name=UNICODE[:50], last_name=None).status_code == 200
            assert api.send(ANN, UNICODE).final[0] == "done"
            assert api.send(ANN, "in the group", chat_id=GROUP).final[0] == "done"
        finally:
            api.close()
    with app.app_context():
        db.session.add(User(telegram_id=BIG_TELEGRAM_ID, first_seen_at=ODD_MOMENT))
        db.session.add(User(telegram_id=-BIG_TELEGRAM_ID - 1, last_seen_at=ODD_MOMENT))
        db.session.commit()
        # The last answer carries an Insights result and an odd moment; one of the others
        # JSON's own null (the Core inserts of the conversation service write that).
        last = db.session.scalars(sa.select(Message).order_by(Message.id.desc())).first()
        assert last is not None
        last.result = {
            "columns": ["ä", "n"],
            "rows": [["日本", None], ["x", 2**53]],
            "truncated": False,
        }
        db.session.execute(
            sa.update(Message).where(Message.id == last.id - 1).values(result=sa.JSON.NULL)
        )
        db.session.commit()


def sign_in(client: FlaskClient) -> None:
    signed = client.post(
        "/api/v1/auth/login",
        json={"username": CONSOLE_NAME, "password": CONSOLE_PASSWORD},
        headers={"Origin": "http://localhost"},
    )
    assert signed.status_code == 200, signed.get_data(as_text=True)


def figures(app: Flask, window: dict[str, str]) -> dict[str, Any]:
    client = app.test_client()
    sign_in(client)
    found = {}
    for endpoint in STATS:
        response = client.get(f"/api/v1/stats/{endpoint}", query_string=window)
        assert response.status_code == 200, (endpoint, response.get_data(as_text=True))
        found[endpoint] = response.get_json()
    return found


def pg_triggers_enabled(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            return set(
                connection.exec_driver_sql(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'O'"
                ).scalars()
            )
    finally:
        engine.dispose()


# --- the copy -----------------------------------------------------------------------------------


def test_every_table_of_the_models_is_every_table_of_the_database(sqlite_app: Flask) -> None:
    """copy-db copies the metadata's tables: the migrations create no table beside them."""
    with sqlite_app.app_context():
        present = set(sa.inspect(db.engine).get_table_names())
    assert present - {"alembic_version"} == set(db.metadata.tables)


def test_a_sqlite_file_is_copied_into_postgresql_exactly(
    sqlite_app: Flask, sqlite_url: str, target_url: str, fake_llm: FakeLLM
) -> None:
    fill(sqlite_app)
    before = dump(sqlite_url)

    copied = copy_db(sqlite_url, fake_llm, "--to", target_url, "--batch-size", "700")

    assert copied.returncode == 0, copied.stderr
    after = dump(target_url)
    assert after.keys() == before.keys()
    for table, rows in before.items():
        assert rows, f"the test data has rows in {table}"
        assert after[table] == rows, f"{table} differs"
    # The edges, spelled out.
    telegram_ids = {row[1] for row in after["users"]}
    assert {BIG_TELEGRAM_ID, -BIG_TELEGRAM_ID - 1, ANN} <= telegram_ids
    assert ODD_MOMENT in {row[7] for row in after["users"]}  # first_seen_at, to the microsecond
    stored = dict(after["messages.result as stored"])
    assert None in stored.values(), "SQL NULL stays SQL NULL"
    assert "null" in stored.values(), "JSON null stays JSON null"
    assert any(row[3] == UNICODE for row in after["messages"])
    # Progress, the counts, and the URL's password masked.
    masked = re.sub(r":[^:@/]+@", ":***@", target_url)
    assert f"into {masked}" in copied.stdout
    assert re.search(r"^\s+messages\s+3,0\d\d$", copied.stdout, re.M), copied.stdout
    password = sa.engine.make_url(target_url).password
    assert password is not None
    assert f":{password}@" not in copied.stdout + copied.stderr
    # The statistics' triggers are on again on the target.
    assert pg_triggers_enabled(target_url) >= {name for _, name in rollups._TRIGGERS}


def test_the_app_works_on_the_copy(
    sqlite_app: Flask, sqlite_url: str, target_url: str, fake_llm: FakeLLM
) -> None:
    fill(sqlite_app)
    assert copy_db(sqlite_url, fake_llm, "--to", target_url).returncode == 0
    now = datetime.now(UTC).replace(microsecond=0)
    window = {"from": (now - timedelta(days=11)).date().isoformat(), "to": now.isoformat()}
    copied = dump(sqlite_url)
    before_ids = {
        table: max(row[0] for row in copied[table]) for table in ("messages", "accounts", "users")
    }

    target = make_app(make_settings(target_url, fake_llm.base_url))
    try:
        # The same figures, from the copied rollups and rows.
        assert figures(target, window) == figures(sqlite_app, window)
        # New rows take new ids (the sequences moved past the copied ones) and count.
        for url in serve(target):
            api = BotAPI(url)
            try:
                answer = api.send(ANN, "after the switch")
                assert answer.final[0] == "done", answer.events
                assert answer.final[1]["user_message_id"] > before_ids["messages"]
                assert api.upsert(4242, first_name="New").status_code == 200
            finally:
                api.close()
        with target.app_context():
            account = create_account("second-owner", CONSOLE_PASSWORD, is_admin=False)
            assert account.id > before_ids["accounts"]
            newest = db.session.scalars(sa.select(User).where(User.telegram_id == 4242)).one()
            assert newest.id > before_ids["users"]
            db.session.rollback()
        later = figures(target, {**window, "to": datetime.now(UTC).isoformat()})
        assert later["overview"]["user_messages"]["value"] == (
            figures(sqlite_app, window)["overview"]["user_messages"]["value"] + 1
        )
    finally:
        dispose_app(target)


# --- refusals -----------------------------------------------------------------------------------


def test_a_target_with_data_is_refused_and_left_as_it_was(
    sqlite_app: Flask, sqlite_url: str, target_url: str, fake_llm: FakeLLM
) -> None:
    fill(sqlite_app)
    assert copy_db(sqlite_url, fake_llm, "--to", target_url).returncode == 0
    with sqlite_app.app_context():
        db.session.add(User(telegram_id=77, first_name="only in the source"))
        db.session.commit()
    before = dump(target_url)

    refused = copy_db(sqlite_url, fake_llm, "--to", target_url)

    line = error_line(refused)
    assert "already holds data" in line
    assert "--replace" in line
    assert dump(target_url) == before

    # --replace: the target's rows go, the source's come, in one transaction.
    replaced = copy_db(sqlite_url, fake_llm, "--to", target_url, "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert dump(target_url) == dump(sqlite_url)


def test_a_failure_mid_copy_leaves_the_target_without_data(
    sqlite_app: Flask, sqlite_url: str, target_url: str, fake_llm: FakeLLM
) -> None:
    fill(sqlite_app)
    # SQLite keeps what PostgreSQL refuses (a model name longer than the column's 255
    # characters), on the last message: the copy fails after thousands of rows went in.
    with sqlite_app.app_context():
        last = db.session.scalars(sa.select(Message).order_by(Message.id.desc())).first()
        assert last is not None
        last.model, last_id = "m" * 300, last.id
        db.session.commit()

    failed = copy_db(sqlite_url, fake_llm, "--to", target_url, "--batch-size", "500")

    line = error_line(failed)
    assert "refused a row of messages" in line, line
    assert "value too long" in line, line
    assert "copying messages" in failed.stdout, "it failed while copying the messages"
    counts = count_rows(target_url)
    assert set(counts) == set(db.metadata.tables), "the target was migrated"
    assert all(count == 0 for count in counts.values()), counts
    assert pg_triggers_enabled(target_url) >= {name for _, name in rollups._TRIGGERS}

    # Put right, the copy goes through into the same target.
    with sqlite_app.app_context():
        db.session.execute(sa.update(Message).where(Message.id == last_id).values(model="m"))
        db.session.commit()
    assert copy_db(sqlite_url, fake_llm, "--to", target_url).returncode == 0
    assert dump(target_url) == dump(sqlite_url)


def test_a_source_behind_the_migrations_is_refused(
    sqlite_app: Flask, sqlite_url: str, target_url: str, fake_llm: FakeLLM
) -> None:
    with sqlite_app.app_context():
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0010'"))
        db.session.commit()

    line = error_line(copy_db(sqlite_url, fake_llm, "--to", target_url))

    assert "is at migration 0010, not at the head" in line
    assert "db upgrade" in line
    assert count_rows(target_url) == {}, "not even migrated"


def test_an_unreachable_target_is_one_line_without_its_password(
    sqlite_url: str, sqlite_app: Flask, target_url: str, fake_llm: FakeLLM
) -> None:
    wrong = sa.engine.make_url(target_url).set(password="not-the-password-shown")
    line = error_line(
        copy_db(sqlite_url, fake_llm, "--to", wrong.render_as_string(hide_password=False))
    )
    assert "cannot reach the target" in line
    assert ":***@" in line
    assert "not-the-password-shown" not in line


def test_the_readme_command_runs_as_written(
    sqlite_app: Flask, sqlite_url: str, target_url: str, fake_llm: FakeLLM
) -> None:
    """The README's switching block: the `copy-db` line as written, the URL aside."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Switching to PostgreSQL with the data kept", 1)[1]
    block = re.findall(r"^```bash\n(.*?)^```$", section, re.M | re.S)[0]
    (line,) = [line for line in block.splitlines() if "copy-db" in line]
    words = shlex.split(line)
    assert words[:7] == ["uv", "run", "flask", "--app", "webapi", "copy-db", "--to"], words
    assert sa.engine.make_url(words[7]).get_backend_name() == "postgresql"
    fill(sqlite_app)

    copied = flask_cli(
        server_environment(sqlite_url, fake_llm.base_url), *words[5:7], target_url, *words[8:]
    )

    assert copied.returncode == 0, copied.stderr
    assert count_rows(target_url) == count_rows(sqlite_url)
