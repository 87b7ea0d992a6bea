"""Settings read from the environment and validated once, at start-up.

A bad value stops the process with one line that names the variable and says, as a sentence,
what is wrong with it; the value itself is never echoed (it may be a secret).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import limits
from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

OPENROUTER_URL = "https://openrouter.ai/api/v1"
DEFAULT_MODEL = "openai/gpt-4o-mini"
ROLE_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
_ORIGIN_HOST = re.compile(r"^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
DATABASE_URLS = ("DATABASE_URL", "DATABASE_READ_URL", "INSIGHTS_DATABASE_URL")
# Variables that may carry a secret: each may come from a file instead, Docker-secrets style,
# named by NAME_FILE (see read_secret_files).
SECRET_VARIABLES = (
    "BOT_API_TOKEN",
    "SECRET_KEY",
    "LLM_API_KEY",
    "ADMIN_PASSWORD",
    *DATABASE_URLS,
    "RATELIMIT_STORAGE_URI",
)
_BIND = re.compile(r"^(?:unix:.+|(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):(?P<port>\d{1,5}))$")


class AppEnv(StrEnum):
    """Where the process runs; only `development` may go without a SECRET_KEY."""

    PRODUCTION = "production"
    DEVELOPMENT = "development"


class ConfigError(SystemExit):
    """A missing or malformed setting: exits the process (status 1) with one line naming it."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"configuration error: {name} {problem}")
        self.name = name
        self.problem = problem

    @property
    def line(self) -> str:
        return str(self.code)


class Settings(BaseSettings):
    """Every environment variable webapi reads. `.env.example` documents each of them."""

    # An empty value (`SECRET_KEY=` in .env or Compose) means "not set", as a newcomer expects.
    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", env_ignore_empty=True)

    APP_ENV: AppEnv = AppEnv.PRODUCTION
    DATABASE_URL: Annotated[str, Field(min_length=1)] = "sqlite:///data/aidd.db"
    DATABASE_READ_URL: str | None = None
    DATABASE_READ_TIMEOUT_S: Annotated[float, Field(gt=0, le=600)] = 10.0
    # Where Insights queries run (a read-only role, README); default: the read engine's URL.
    INSIGHTS_DATABASE_URL: str | None = None
    INSIGHTS_TIMEOUT_S: Annotated[float, Field(gt=0, le=600)] = 5.0

    LLM_BASE_URL: AnyHttpUrl = AnyHttpUrl(OPENROUTER_URL)
    LLM_API_KEY: SecretStr = SecretStr("")
    LLM_MODEL: Annotated[str, Field(min_length=1)] = DEFAULT_MODEL
    LLM_TIMEOUT_S: Annotated[float, Field(gt=0, le=600)] = 60.0
    LLM_MAX_ATTEMPTS: Annotated[int, Field(ge=1, le=10)] = 3

    BOT_API_TOKEN: Annotated[SecretStr, Field(min_length=16)]
    SECRET_KEY: Annotated[SecretStr | None, Field(min_length=16)] = None
    SESSION_COOKIE_SECURE: bool = False
    LOGIN_RATE_LIMIT: str = "10 per minute"
    LOGIN_CLIENT_RATE_LIMIT: str = "60 per minute"
    # Console chat messages per account, both modes together.
    CHAT_RATE_LIMIT: str = "20 per minute"
    RATELIMIT_STORAGE_URI: str | None = None
    TRUSTED_PROXY_COUNT: Annotated[int, Field(ge=0, le=5)] = 0
    # Comma-separated origins; empty: only the request's own host (see console_origins).
    CONSOLE_ORIGINS: str = ""

    PROMPTS_DIR: Path = Path("prompts")
    DEFAULT_ROLE: Annotated[str, Field(pattern=ROLE_NAME_PATTERN)] = "consultant"
    MAX_CONTEXT_MESSAGES: Annotated[int, Field(ge=1, le=500)] = 20

    ADMIN_USERNAME: str | None = None
    ADMIN_PASSWORD: SecretStr | None = None

    API_BIND: str = "127.0.0.1:8000"
    API_WORKERS: Annotated[int, Field(ge=1, le=64)] = 2
    # Open connections per worker: streams, idle keep-alives and slow clients alike.
    API_CONNECTIONS: Annotated[int, Field(ge=1, le=100_000)] = 1000

    @field_validator("DATABASE_URL", "DATABASE_READ_URL", "INSIGHTS_DATABASE_URL")
    @classmethod
    def _database_url_parses(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            dialect = make_url(value).get_dialect()
        except (ArgumentError, ImportError, ValueError):
            raise ValueError("is not a usable SQLAlchemy database URL") from None
        try:
            dialect.import_dbapi()
        except ImportError:
            raise ValueError("names a database driver that is not installed") from None
        return value

    @field_validator("LOGIN_RATE_LIMIT", "LOGIN_CLIENT_RATE_LIMIT", "CHAT_RATE_LIMIT")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            raise ValueError("is not a rate limit such as '10 per minute'") from None
        return value

    @field_validator("CONSOLE_ORIGINS")
    @classmethod
    def _origins_parse(cls, value: str) -> str:
        if value.strip() and any(normalized_origin(item) is None for item in value.split(",")):
            raise ValueError(
                "must be a comma-separated list of origins such as https://console.example.com"
            )
        return value

    @field_validator("PROMPTS_DIR")
    @classmethod
    def _prompts_dir_exists(cls, value: Path) -> Path:
        if not value.is_dir():
            raise ValueError(f"{value} is not a directory")
        return value

    @field_validator("API_BIND")
    @classmethod
    def _bind_is_an_address(cls, value: str) -> str:
        match = _BIND.match(value)
        if match is None or (match["port"] is not None and not 0 < int(match["port"]) < 65536):
            raise ValueError("must be HOST:PORT (e.g. 127.0.0.1:8000) or unix:PATH")
        return value

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Database URLs may carry a password: never show it.
        for name, value in super().__repr_args__():
            if name in DATABASE_URLS and value is not None:
                value = make_url(value).render_as_string(hide_password=True)
            yield name, value

    @property
    def console_origins(self) -> frozenset[str]:
        """The origins allowed to change state on console routes; empty: the request's host."""
        origins = (normalized_origin(item) for item in self.CONSOLE_ORIGINS.split(","))
        return frozenset(origin for origin in origins if origin is not None)

    @property
    def llm_base_url(self) -> str:
        return str(self.LLM_BASE_URL).rstrip("/")


def normalized_origin(value: str) -> str | None:
    """`scheme://host[:port]`, lowercase and without its default port; None if not an origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port  # a port out of range raises
    except ValueError:
        return None
    host = (parts.netloc.rpartition(":")[0] if port is not None else parts.netloc).lower()
    if (
        parts.scheme not in _DEFAULT_PORTS
        or not _ORIGIN_HOST.match(host)  # no user@, nothing but a name or an address
        or port == 0
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        return None
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def _sentence(error: Mapping[str, Any]) -> str:
    """What is wrong, as the end of a sentence that starts with the variable's name."""
    kind, context = error["type"], error.get("ctx", {})
    sentences = {
        "missing": "is required but not set",
        "string_too_short": "must have at least {min_length} characters",
        "string_too_long": "must have at most {max_length} characters",
        "too_short": "must have at least {min_length} characters",
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_parsing": "must be a number",
        "bool_parsing": "must be true or false",
        "greater_than": "must be greater than {gt}",
        "greater_than_equal": "must be at least {ge}",
        "less_than": "must be less than {lt}",
        "less_than_equal": "must be at most {le}",
        "enum": "must be one of {expected}",
        "url_parsing": "must be an http(s) URL",
        "url_scheme": "must be an http(s) URL",
        "string_pattern_mismatch": "is not in the expected format",
    }
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    template = sentences.get(kind, "is not valid")
    plain = {
        key: int(value) if isinstance(value, float) and value.is_integer() else value
        for key, value in context.items()
    }
    try:
        return template.format(**plain)
    except (KeyError, IndexError):
        return "is not valid"


_PATTERN_SENTENCES = {
    "DEFAULT_ROLE": "must be a role name: lowercase letters, digits and hyphens",
}


def read_secret_files(
    names: tuple[str, ...], environ: Mapping[str, str], given: Mapping[str, object]
) -> dict[str, str]:
    """The values of the NAME_FILE variables set in `environ`: each file's text without its
    trailing newline. Names in `given` (explicit overrides) are left alone. Raises ConfigError
    when NAME and NAME_FILE are both set, or the file cannot be read; never shows a value."""
    values: dict[str, str] = {}
    for name in names:
        path = environ.get(f"{name}_FILE", "")
        if not path or name in given:  # empty means "not set", as everywhere
            continue
        if environ.get(name, ""):
            raise ConfigError(f"{name} and {name}_FILE", "are both set; set only one of them")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{name}_FILE", f"names {path}, which is not UTF-8 text") from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConfigError(
                f"{name}_FILE", f"names {path}, which cannot be read ({reason})"
            ) from None
        value = text.rstrip("\r\n")
        if not value:
            raise ConfigError(f"{name}_FILE", f"names {path}, which is empty")
        values[name] = value
    return values


def load_settings(**overrides: object) -> Settings:
    """Read the environment (plus overrides) or raise ConfigError naming the first bad variable.

    Each secret (SECRET_VARIABLES) may instead be read from the file NAME_FILE names."""
    from_files = read_secret_files(SECRET_VARIABLES, os.environ, overrides)
    try:
        settings = Settings(**{**from_files, **overrides})  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        problem = _sentence(error)
        if error["type"] == "string_pattern_mismatch":
            problem = _PATTERN_SENTENCES.get(name, problem)
        if name in from_files:
            name = f"{name} (read from {name}_FILE)"
        raise ConfigError(name, problem) from None
    if settings.SECRET_KEY is None and settings.APP_ENV is not AppEnv.DEVELOPMENT:
        raise ConfigError(
            "SECRET_KEY", "is required but not set (only APP_ENV=development may go without)"
        )
    # ADMIN_PASSWORD alone is fine: `flask create-admin NAME` reads it.
    if settings.ADMIN_USERNAME is not None and settings.ADMIN_PASSWORD is None:
        raise ConfigError("ADMIN_PASSWORD", "is required when ADMIN_USERNAME is set")
    return settings
