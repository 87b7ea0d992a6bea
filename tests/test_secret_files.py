"""Secrets from files, Docker-secrets style: NAME_FILE names a file whose text is NAME's value.

The same rule holds for webapi (webapi/settings.py) and the bot (bot/settings.py): the file's
text without its trailing newline; NAME and NAME_FILE both set is an error naming both; a file
that cannot be read is one line naming NAME_FILE, never the secret.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import BotSettings
from bot.settings import ConfigError as BotConfigError
from bot.settings import load_settings as load_bot_settings
from tests.support import ROOT, flask_cli, server_environment
from webapi.settings import DATABASE_URLS, SECRET_VARIABLES, ConfigError, Settings, load_settings

BOT_API_TOKEN = "file-bot-api-token-0123456789"
SECRET_KEY = "file-secret-key-0123456789"
LLM_KEY = "sk-file-llm-key-0123456789"
ADMIN_PASSWORD = "file-admin-password"
TELEGRAM_TOKEN = "123456:ABC-file_token"
WEBHOOK_SECRET = "file-webhook-secret"
DB_PASSWORD = "file-db-password"
ALL_SECRETS = (BOT_API_TOKEN, SECRET_KEY, LLM_KEY, ADMIN_PASSWORD, TELEGRAM_TOKEN, DB_PASSWORD)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing leaks in from the machine: neither the variables nor their _FILE variants."""
    for name in {*Settings.model_fields, *BotSettings.model_fields}:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    monkeypatch.chdir(ROOT)  # PROMPTS_DIR defaults to the relative `prompts`


def secret_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "secrets" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def one_line(error: SystemExit) -> str:
    assert isinstance(error.code, str)
    message = error.code
    assert "\n" not in message.strip(), f"one line, got {message!r}"
    for secret in ALL_SECRETS:
        assert secret not in message, "a secret value reached the error message"
    return message


# --- webapi -----------------------------------------------------------------------------------


def test_webapi_reads_every_secret_from_its_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    database = f"postgresql+psycopg://aidd:{DB_PASSWORD}@db.example:5432/aidd"
    values = {
        "BOT_API_TOKEN": BOT_API_TOKEN,
        "SECRET_KEY": SECRET_KEY,
        "LLM_API_KEY": LLM_KEY,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "DATABASE_URL": database,
        "DATABASE_READ_URL": database.replace("db.example", "replica.example"),
        "INSIGHTS_DATABASE_URL": database.replace("aidd:", "insights:"),
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    assert set(values) == set(SECRET_VARIABLES)
    for name, value in values.items():
        # Docker secrets and `echo secret > file` end with a newline; it is not part of it.
        path = secret_file(tmp_path, name.lower(), value + "\n")
        monkeypatch.setenv(f"{name}_FILE", str(path))

    settings = load_settings()

    assert settings.BOT_API_TOKEN.get_secret_value() == BOT_API_TOKEN
    assert settings.SECRET_KEY is not None
    assert settings.SECRET_KEY.get_secret_value() == SECRET_KEY
    assert settings.LLM_API_KEY.get_secret_value() == LLM_KEY
    assert settings.ADMIN_PASSWORD is not None
    assert settings.ADMIN_PASSWORD.get_secret_value() == ADMIN_PASSWORD
    for name in DATABASE_URLS:
        assert getattr(settings, name) == values[name], name
    assert settings.RATELIMIT_STORAGE_URI == "memory://"
    assert DB_PASSWORD not in repr(settings)


def test_a_file_without_a_trailing_newline_reads_the_same(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BOT_API_TOKEN_FILE", str(secret_file(tmp_path, "t", BOT_API_TOKEN)))
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret_file(tmp_path, "k", SECRET_KEY + "\r\n")))
    settings = load_settings()
    assert settings.BOT_API_TOKEN.get_secret_value() == BOT_API_TOKEN
    assert settings.SECRET_KEY is not None
    assert settings.SECRET_KEY.get_secret_value() == SECRET_KEY


def test_a_variable_and_its_file_together_are_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BOT_API_TOKEN", BOT_API_TOKEN)
    monkeypatch.setenv("SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret_file(tmp_path, "k", SECRET_KEY)))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert one_line(caught.value) == (
        "configuration error: SECRET_KEY and SECRET_KEY_FILE are both set; set only one of them"
    )


def test_an_empty_variable_beside_its_file_is_not_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `SECRET_KEY=` as .env.example ships it, with the secret in a file.
    monkeypatch.setenv("BOT_API_TOKEN", BOT_API_TOKEN)
    monkeypatch.setenv("SECRET_KEY", "")
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret_file(tmp_path, "k", SECRET_KEY)))
    monkeypatch.setenv("LLM_API_KEY_FILE", "")  # empty: not set
    settings = load_settings()
    assert settings.SECRET_KEY is not None
    assert settings.SECRET_KEY.get_secret_value() == SECRET_KEY
    assert settings.LLM_API_KEY.get_secret_value() == ""


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda folder: folder / "missing", "cannot be read (No such file or directory)"),
        (lambda folder: folder, "cannot be read (Is a directory)"),
        (lambda folder: secret_file(folder, "empty", "\n"), "which is empty"),
    ],
    ids=["missing", "directory", "empty"],
)
def test_a_file_that_cannot_be_read_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, make: object, problem: str
) -> None:
    assert callable(make)
    path = make(tmp_path)
    monkeypatch.setenv("SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("BOT_API_TOKEN_FILE", str(path))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    line = one_line(caught.value)
    assert line.startswith(f"configuration error: BOT_API_TOKEN_FILE names {path}, which "), line
    assert problem in line


def test_a_file_that_is_not_text_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "binary"
    path.write_bytes(b"\xff\xfe\x00secret")
    monkeypatch.setenv("SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("BOT_API_TOKEN_FILE", str(path))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert one_line(caught.value).endswith("which is not UTF-8 text")


def test_a_bad_value_in_a_file_names_the_file_not_the_value(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("BOT_API_TOKEN_FILE", str(secret_file(tmp_path, "t", "short-token\n")))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    line = one_line(caught.value)
    assert line == (
        "configuration error: BOT_API_TOKEN (read from BOT_API_TOKEN_FILE)"
        " must have at least 16 characters"
    )
    assert "short-token" not in line


def test_the_flask_cli_takes_secrets_from_files(tmp_path: Path) -> None:
    """A whole process, as a container with Docker secrets runs it: `flask db upgrade`, then
    `create-admin`, whose password comes from ADMIN_PASSWORD_FILE."""
    database = tmp_path / "aidd.db"
    env = server_environment(f"sqlite:///{database}", "http://127.0.0.1:9/v1")
    for name, value in (
        ("BOT_API_TOKEN", BOT_API_TOKEN),
        ("SECRET_KEY", SECRET_KEY),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("DATABASE_URL", f"sqlite:///{database}"),
    ):
        env.pop(name, None)
        env[f"{name}_FILE"] = str(secret_file(tmp_path, name.lower(), value + "\n"))

    assert flask_cli(env, "db", "upgrade").returncode == 0
    created = flask_cli(env, "create-admin", "boss")

    assert created.returncode == 0, created.stderr
    assert "created admin account 'boss'" in created.stdout
    assert database.is_file(), "DATABASE_URL came from its file"
    for secret in ALL_SECRETS:
        assert secret not in created.stdout + created.stderr

    both = flask_cli({**env, "SECRET_KEY": SECRET_KEY}, "db", "upgrade")
    assert both.returncode != 0
    assert both.stderr.strip().splitlines()[-1] == (
        "configuration error: SECRET_KEY and SECRET_KEY_FILE are both set; set only one of them"
    )


# --- the bot ----------------------------------------------------------------------------------


def test_the_bot_reads_every_secret_from_its_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in (
        ("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN),
        ("BOT_API_TOKEN", BOT_API_TOKEN),
        ("WEBHOOK_SECRET", WEBHOOK_SECRET),
    ):
        monkeypatch.setenv(f"{name}_FILE", str(secret_file(tmp_path, name.lower(), value + "\n")))
    monkeypatch.setenv("BOT_MODE", "webhook")
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example/hook")

    settings = load_bot_settings()

    assert settings.TELEGRAM_BOT_TOKEN.get_secret_value() == TELEGRAM_TOKEN
    assert settings.BOT_API_TOKEN.get_secret_value() == BOT_API_TOKEN
    assert settings.WEBHOOK_SECRET is not None
    assert settings.WEBHOOK_SECRET.get_secret_value() == WEBHOOK_SECRET


def test_the_bot_refuses_a_variable_and_its_file_together(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN_FILE", str(secret_file(tmp_path, "t", TELEGRAM_TOKEN)))
    monkeypatch.setenv("BOT_API_TOKEN", BOT_API_TOKEN)
    with pytest.raises(BotConfigError) as caught:
        load_bot_settings()
    assert one_line(caught.value) == (
        "configuration error: TELEGRAM_BOT_TOKEN and TELEGRAM_BOT_TOKEN_FILE are both set;"
        " set only one of them"
    )


def test_the_bot_names_a_file_it_cannot_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("BOT_API_TOKEN_FILE", str(tmp_path / "nowhere"))
    with pytest.raises(BotConfigError) as caught:
        load_bot_settings()
    assert one_line(caught.value) == (
        f"configuration error: BOT_API_TOKEN_FILE names {tmp_path / 'nowhere'}, which cannot"
        " be read (No such file or directory)"
    )


def test_the_bot_names_a_bad_token_from_a_file_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN_FILE", str(secret_file(tmp_path, "t", "not a token")))
    monkeypatch.setenv("BOT_API_TOKEN", BOT_API_TOKEN)
    with pytest.raises(BotConfigError) as caught:
        load_bot_settings()
    line = one_line(caught.value)
    assert line.startswith(
        "configuration error: TELEGRAM_BOT_TOKEN (read from TELEGRAM_BOT_TOKEN_FILE) "
    )
    assert "not a token" not in line
