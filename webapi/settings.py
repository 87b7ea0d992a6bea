"""Settings read from the environment and validated once, at start-up."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import limits
from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

OPENROUTER_URL = "https://openrouter.ai/api/v1"
DEFAULT_MODEL = "openai/gpt-4o-mini"


class AppEnv(StrEnum):
    """Where the process runs; only `development` may go without a SECRET_KEY."""

    PRODUCTION = "production"
    DEVELOPMENT = "development"


class ConfigError(SystemExit):
    """A missing or malformed setting: exits the process with one line that names the variable."""


class Settings(BaseSettings):
    """Every environment variable webapi reads. `.env.example` documents each of them."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore")

    APP_ENV: AppEnv = AppEnv.PRODUCTION
    DATABASE_URL: Annotated[str, Field(min_length=1)] = "sqlite:///data/aidd.db"

    LLM_BASE_URL: AnyHttpUrl = AnyHttpUrl(OPENROUTER_URL)
    LLM_API_KEY: SecretStr = SecretStr("")
    LLM_MODEL: Annotated[str, Field(min_length=1)] = DEFAULT_MODEL
    LLM_TIMEOUT_S: Annotated[float, Field(gt=0, le=600)] = 60.0
    LLM_MAX_ATTEMPTS: Annotated[int, Field(ge=1, le=10)] = 3

    BOT_API_TOKEN: SecretStr = Field(min_length=16)
    SECRET_KEY: SecretStr | None = Field(default=None, min_length=16)
    SESSION_COOKIE_SECURE: bool = False
    LOGIN_RATE_LIMIT: str = "10 per minute"
    RATELIMIT_STORAGE_URI: str = "memory://"
    TRUSTED_PROXY_COUNT: Annotated[int, Field(ge=0, le=5)] = 0

    PROMPTS_DIR: Path = Path("prompts")
    DEFAULT_ROLE: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")] = "consultant"
    MAX_CONTEXT_MESSAGES: Annotated[int, Field(ge=1, le=500)] = 20

    ADMIN_USERNAME: str | None = None
    ADMIN_PASSWORD: SecretStr | None = None

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url_parses(cls, value: str) -> str:
        try:
            make_url(value).get_dialect()
        except (ArgumentError, ImportError, ValueError):
            raise ValueError("is not a usable SQLAlchemy database URL") from None
        return value

    @field_validator("LOGIN_RATE_LIMIT")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            raise ValueError("is not a rate limit such as '10 per minute'") from None
        return value

    @field_validator("PROMPTS_DIR")
    @classmethod
    def _prompts_dir_exists(cls, value: Path) -> Path:
        if not value.is_dir():
            raise ValueError(f"{value} is not a directory")
        return value

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # The database URL may carry a password: never show it.
        for name, value in super().__repr_args__():
            if name == "DATABASE_URL":
                value = make_url(value).render_as_string(hide_password=True)
            yield name, value

    def secret_key(self) -> str:
        """The session signing key; a random one per process in development only."""
        if self.SECRET_KEY is not None:
            return self.SECRET_KEY.get_secret_value()
        return secrets.token_urlsafe(32)

    @property
    def llm_base_url(self) -> str:
        return str(self.LLM_BASE_URL).rstrip("/")


def load_settings(**overrides: object) -> Settings:
    """Read the environment (plus overrides) or raise ConfigError naming the first bad variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        problem = "is required but not set" if error["type"] == "missing" else error["msg"]
        problem = problem.removeprefix("Value error, ")
        raise ConfigError(f"configuration error: {name} {problem}") from None
    if settings.SECRET_KEY is None and settings.APP_ENV is not AppEnv.DEVELOPMENT:
        raise ConfigError(
            "configuration error: SECRET_KEY is required but not set"
            " (only APP_ENV=development may go without)"
        )
    # ADMIN_PASSWORD alone is fine: `flask create-admin NAME` reads it.
    if settings.ADMIN_USERNAME is not None and settings.ADMIN_PASSWORD is None:
        raise ConfigError("configuration error: ADMIN_PASSWORD is required with ADMIN_USERNAME")
    return settings
