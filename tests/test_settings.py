"""Start-up configuration: a bad setting stops the process with one line that names it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.doubles.fake_llm import FakeLLM
from tests.support import BOT_TOKEN, ROOT, flask_cli, make_settings
from webapi import create_app
from webapi.settings import AppEnv, ConfigError, Settings, load_settings

LLM_KEY = "sk-test-llm-key-do-not-print-0123"
SECRET_KEY = "test-secret-key-do-not-print-0123"
ADMIN_PASSWORD = "admin-pw-do-not-print"
DB_PASSWORD = "db-pw-do-not-print"
SECRETS = (LLM_KEY, SECRET_KEY, ADMIN_PASSWORD, DB_PASSWORD, BOT_TOKEN)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid environment of our own: nothing leaks in from the machine running the tests."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(ROOT)  # PROMPTS_DIR defaults to the relative `prompts`
    monkeypatch.setenv("BOT_API_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("LLM_API_KEY", LLM_KEY)


def one_line(error: ConfigError) -> str:
    """The message the interpreter prints when ConfigError ends the process (exit status 1)."""
    assert isinstance(error.code, str), "SystemExit(str) prints the text and exits with 1"
    message = error.code
    assert message.strip(), "the message is not empty"
    assert "\n" not in message.strip(), f"one line, got {message!r}"
    for secret in SECRETS:
        assert secret not in message, "a secret value reached the error message"
    return message


def config_error(**overrides: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(**overrides)
    return one_line(caught.value)


def test_a_valid_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_TIMEOUT_S", "12.5")
    monkeypatch.setenv("MAX_CONTEXT_MESSAGES", "7")

    settings = load_settings()

    assert settings.BOT_API_TOKEN.get_secret_value() == BOT_TOKEN
    assert settings.LLM_API_KEY.get_secret_value() == LLM_KEY
    assert settings.SECRET_KEY is not None
    assert settings.SECRET_KEY.get_secret_value() == SECRET_KEY
    assert settings.LLM_TIMEOUT_S == 12.5
    assert settings.MAX_CONTEXT_MESSAGES == 7
    assert settings.APP_ENV is AppEnv.PRODUCTION
    assert settings.DATABASE_URL == "sqlite:///data/aidd.db"
    assert settings.DEFAULT_ROLE == "consultant"
    # Overrides win over the environment.
    assert load_settings(MAX_CONTEXT_MESSAGES=9).MAX_CONTEXT_MESSAGES == 9


def test_missing_bot_api_token_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_API_TOKEN")

    message = config_error()

    assert message.startswith("configuration error: BOT_API_TOKEN ")
    assert "required" in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LLM_TIMEOUT_S", "abc"),
        ("LLM_TIMEOUT_S", "-1"),
        ("LLM_TIMEOUT_S", "0"),
        ("MAX_CONTEXT_MESSAGES", "many"),
        ("MAX_CONTEXT_MESSAGES", "0"),
        ("MAX_CONTEXT_MESSAGES", "2.5"),
        ("MAX_CONTEXT_MESSAGES", "-3"),
        ("LLM_BASE_URL", "not a url"),
        ("APP_ENV", "staging"),
        ("DEFAULT_ROLE", "Not A Role"),
        ("BOT_API_TOKEN", "short-token"),
        ("SECRET_KEY", "short-key"),
        ("LOGIN_RATE_LIMIT", "lots"),
    ],
)
def test_malformed_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    message = config_error()

    assert message.startswith(f"configuration error: {name} ")
    if len(value) > 3:
        assert value not in message, "the (possibly secret) value is not echoed"


def test_prompts_dir_must_be_a_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    a_file = tmp_path / "consultant.md"
    a_file.write_text("not a directory", encoding="utf-8")
    for value in (a_file, tmp_path / "missing"):
        monkeypatch.setenv("PROMPTS_DIR", str(value))

        message = config_error()

        assert message.startswith("configuration error: PROMPTS_DIR ")
        assert "not a directory" in message


@pytest.mark.parametrize("app_env", [None, "production"])
def test_secret_key_is_required_outside_development(
    monkeypatch: pytest.MonkeyPatch, app_env: str | None
) -> None:
    monkeypatch.delenv("SECRET_KEY")
    if app_env is not None:
        monkeypatch.setenv("APP_ENV", app_env)

    message = config_error()

    assert message.startswith("configuration error: SECRET_KEY ")


def test_development_goes_without_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY")
    monkeypatch.setenv("APP_ENV", "development")

    settings = load_settings()

    assert settings.APP_ENV is AppEnv.DEVELOPMENT
    assert settings.SECRET_KEY is None


def test_admin_username_needs_admin_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_USERNAME", "root")

    message = config_error()

    assert message.startswith("configuration error: ")
    assert "ADMIN_PASSWORD" in message

    monkeypatch.setenv("ADMIN_PASSWORD", ADMIN_PASSWORD)
    settings = load_settings()
    assert settings.ADMIN_USERNAME == "root"
    assert settings.ADMIN_PASSWORD is not None
    assert settings.ADMIN_PASSWORD.get_secret_value() == ADMIN_PASSWORD


def test_secrets_never_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_USERNAME", "root")
    monkeypatch.setenv("ADMIN_PASSWORD", ADMIN_PASSWORD)

    settings = load_settings()

    for text in (repr(settings), str(settings)):
        for secret in (LLM_KEY, SECRET_KEY, ADMIN_PASSWORD, BOT_TOKEN):
            assert secret not in text


def test_database_password_never_shows_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://aidd:{DB_PASSWORD}@db:5432/aidd")

    settings = load_settings()

    assert DB_PASSWORD in settings.DATABASE_URL, "the URL itself is kept whole"
    for text in (repr(settings), str(settings)):
        assert DB_PASSWORD not in text, "the database password is printed with the settings"


def test_unparsable_database_url_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, fake_llm: FakeLLM
) -> None:
    monkeypatch.setenv("DATABASE_URL", "no-such-database-url")

    # Reported by load_settings or, at the latest, by create_app: never a traceback.
    with pytest.raises(ConfigError) as caught:
        create_app(settings=load_settings(LLM_BASE_URL=fake_llm.base_url))

    assert one_line(caught.value).startswith("configuration error: DATABASE_URL ")


def test_default_role_without_a_prompt_file(sqlite_url: str, fake_llm: FakeLLM) -> None:
    settings = make_settings(sqlite_url, fake_llm.base_url, DEFAULT_ROLE="no-such-role")

    with pytest.raises(ConfigError) as caught:
        create_app(settings=settings)

    message = one_line(caught.value)
    assert message.startswith("configuration error: ")
    assert "no-such-role" in message
    assert "DEFAULT_ROLE" in message, "the message names the variable to fix"


def test_unknown_rate_limit_storage(sqlite_url: str, fake_llm: FakeLLM) -> None:
    settings = make_settings(sqlite_url, fake_llm.base_url, RATELIMIT_STORAGE_URI="bogus://x")

    with pytest.raises(ConfigError) as caught:
        create_app(settings=settings)

    assert one_line(caught.value).startswith("configuration error: RATELIMIT_STORAGE_URI ")


def test_broken_role_file_is_one_line_naming_the_file(
    tmp_path: Path, sqlite_url: str, fake_llm: FakeLLM
) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "consultant.md").write_text(
        "---\ntitle: Consultant\ndescription: Helps.\n---\nYou help.\n", encoding="utf-8"
    )
    broken = prompts / "broken.md"
    broken.write_text(
        "---\ntitle: [unclosed\ndescription: Broken.\n---\nPrompt.\n", encoding="utf-8"
    )
    settings = make_settings(sqlite_url, fake_llm.base_url, PROMPTS_DIR=prompts)

    with pytest.raises(ConfigError) as caught:
        create_app(settings=settings)

    message = one_line(caught.value)
    assert message.startswith("configuration error: PROMPTS_DIR ")
    assert str(broken) in message


def clean_subprocess_environment(**values: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in Settings.model_fields and not key.startswith("FLASK_")
    }
    env.update(FLASK_SKIP_DOTENV="1", **values)  # a developer's .env must not interfere
    return env


def test_flask_cli_without_bot_api_token_prints_one_clear_line(tmp_path: Path) -> None:
    database = tmp_path / "data" / "aidd.db"
    env = clean_subprocess_environment(
        DATABASE_URL=f"sqlite:///{database}",
        APP_ENV="development",
        LLM_API_KEY=LLM_KEY,
        SECRET_KEY=SECRET_KEY,
    )

    result = flask_cli(env, "db", "upgrade")

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "something is said on stderr"
    assert lines[-1].startswith("configuration error: BOT_API_TOKEN "), result.stderr
    for secret in (LLM_KEY, SECRET_KEY):
        assert secret not in result.stderr + result.stdout
    assert not database.exists(), "nothing is written before the settings are valid"


@pytest.mark.parametrize("name", ["SECRET_KEY", "LLM_API_KEY", "DATABASE_URL", "PROMPTS_DIR"])
def test_an_empty_value_means_not_set(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Compose and .env files leave empty values: they take the default, as if unset."""
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv(name, "")

    settings = load_settings()

    assert getattr(settings, name) == Settings.model_fields[name].default


def test_an_empty_required_value_is_reported_as_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_API_TOKEN", "")

    assert config_error() == "configuration error: BOT_API_TOKEN is required but not set"


def test_an_admin_name_with_an_empty_password_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_USERNAME", "admin")
    monkeypatch.setenv("ADMIN_PASSWORD", "")

    message = config_error()

    assert message.startswith("configuration error: ADMIN_PASSWORD ")


@pytest.mark.parametrize(
    ("name", "value", "sentence"),
    [
        ("BOT_API_TOKEN", "short-token", "must have at least 16 characters"),
        ("SECRET_KEY", "short-key", "must have at least 16 characters"),
        ("API_WORKERS", "two", "must be a whole number"),
        ("API_WORKERS", "0", "must be at least 1"),
        ("API_CONNECTIONS", "1.5", "must be a whole number"),
        ("API_BIND", "localhost", "must be HOST:PORT (e.g. 127.0.0.1:8000) or unix:PATH"),
        ("API_BIND", "127.0.0.1:99999", "must be HOST:PORT (e.g. 127.0.0.1:8000) or unix:PATH"),
        ("LLM_TIMEOUT_S", "abc", "must be a number"),
        ("LLM_TIMEOUT_S", "0", "must be greater than 0"),
        ("LLM_MAX_ATTEMPTS", "11", "must be at most 10"),
        ("MAX_CONTEXT_MESSAGES", "0", "must be at least 1"),
        ("APP_ENV", "staging", "must be one of 'production' or 'development'"),
        ("SESSION_COOKIE_SECURE", "maybe", "must be true or false"),
        ("LLM_BASE_URL", "not a url", "must be an http(s) URL"),
        (
            "DEFAULT_ROLE",
            "Not A Role",
            "must be a role name: lowercase letters, digits and hyphens",
        ),
        ("DATABASE_URL", "mysql://db/aidd", "names a database driver that is not installed"),
    ],
)
def test_problems_are_told_in_sentences(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, sentence: str
) -> None:
    monkeypatch.setenv(name, value)

    assert config_error() == f"configuration error: {name} {sentence}"
