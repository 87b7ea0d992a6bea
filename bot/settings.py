"""The bot's settings, read from the environment and validated once, at start-up.

Like webapi's: a bad value stops the process with one line that names the variable and says
what is wrong with it; the value itself is never echoed (it may be a secret).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

TELEGRAM_API = "https://api.telegram.org"
# webapi's own limit on one message's text (webapi/api/schemas.py: MessageText).
WEBAPI_MAX_MESSAGE_CHARS = 16_000
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_BIND = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})$")
_RATE = re.compile(r"^\s*(?P<count>\d+)\s*(?:/|per)\s*(?P<unit>second|minute|hour)\s*$")
_UNIT_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Variables that carry a secret: each may come from a file instead, Docker-secrets style,
# named by NAME_FILE (see read_secret_files).
SECRET_VARIABLES = ("TELEGRAM_BOT_TOKEN", "BOT_API_TOKEN", "WEBHOOK_SECRET")


class BotMode(StrEnum):
    """How updates arrive: the bot asks for them, or Telegram posts them to WEBHOOK_URL."""

    POLLING = "polling"
    WEBHOOK = "webhook"


class ConfigError(SystemExit):
    """A missing or malformed setting: exits the process (status 1) with one line naming it."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"configuration error: {name} {problem}")
        self.name = name
        self.problem = problem


@dataclass(frozen=True)
class RateLimit:
    """At most `count` messages per user in any `period_s` seconds."""

    count: int
    period_s: float


def parse_rate_limit(value: str) -> RateLimit:
    """'20/minute' (or '20 per minute') as a RateLimit; ValueError if it is not one."""
    match = _RATE.match(value.lower())
    if match is None or int(match["count"]) < 1:
        raise ValueError("is not a rate limit such as '20/minute'")
    return RateLimit(int(match["count"]), _UNIT_SECONDS[match["unit"]])


class BotSettings(BaseSettings):
    """Every environment variable the bot reads. `.env.example` documents each of them."""

    # An empty value means "not set", as in webapi.
    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", env_ignore_empty=True)

    TELEGRAM_BOT_TOKEN: SecretStr
    TELEGRAM_API_BASE: AnyHttpUrl = AnyHttpUrl(TELEGRAM_API)
    BOT_API_TOKEN: Annotated[SecretStr, Field(min_length=16)]
    API_URL: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8000")
    API_RETRY_S: Annotated[float, Field(ge=0, le=3600)] = 30.0
    # webapi's budget for one answer; the bot waits that long, plus the turn's wait, for bytes.
    LLM_TIMEOUT_S: Annotated[float, Field(gt=0, le=600)] = 60.0

    BOT_MODE: BotMode = BotMode.POLLING
    WEBHOOK_URL: AnyHttpUrl | None = None
    WEBHOOK_SECRET: SecretStr | None = None
    WEBHOOK_BIND: str = "127.0.0.1:8081"

    BOT_ALLOWED_USER_IDS: str = ""
    BOT_RATE_LIMIT: str = "20/minute"
    BOT_MAX_INPUT_CHARS: Annotated[int, Field(ge=1, le=WEBAPI_MAX_MESSAGE_CHARS)] = (
        WEBAPI_MAX_MESSAGE_CHARS
    )
    # How long SIGTERM waits for answers in flight before the bot exits anyway.
    BOT_SHUTDOWN_GRACE_S: Annotated[float, Field(ge=0, le=600)] = 30.0
    BOT_LOG_LEVEL: str = "INFO"
    # Touched every few seconds while the bot serves; containers' healthchecks read it.
    BOT_HEARTBEAT_FILE: Path | None = None

    @field_validator("TELEGRAM_BOT_TOKEN")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN.match(value.get_secret_value()):
            raise ValueError("is not a bot token such as 123456:ABC-DEF (ask @BotFather)")
        return value

    @field_validator("WEBHOOK_SECRET")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's own rule for secret_token.
        if value is not None and not _SECRET_TOKEN.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters: letters, digits, '_' and '-'")
        return value

    @field_validator("WEBHOOK_BIND")
    @classmethod
    def _bind_is_an_address(cls, value: str) -> str:
        match = _BIND.match(value)
        if match is None or not 0 < int(match["port"]) < 65536:
            raise ValueError("must be HOST:PORT (e.g. 127.0.0.1:8081)")
        return value

    @field_validator("BOT_ALLOWED_USER_IDS")
    @classmethod
    def _ids_parse(cls, value: str) -> str:
        items = [item.strip() for item in value.split(",") if item.strip()]
        if not all(item.isdigit() and int(item) > 0 for item in items):
            raise ValueError("must be a comma-separated list of Telegram user ids")
        return value

    @field_validator("BOT_RATE_LIMIT")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        parse_rate_limit(value)
        return value

    @field_validator("BOT_LOG_LEVEL")
    @classmethod
    def _level_known(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return value.upper()

    @property
    def allowed_user_ids(self) -> frozenset[int]:
        """The allow-list; empty: everyone may talk to the bot."""
        return frozenset(int(item) for item in self.BOT_ALLOWED_USER_IDS.split(",") if item.strip())

    @property
    def rate_limit(self) -> RateLimit:
        return parse_rate_limit(self.BOT_RATE_LIMIT)

    @property
    def api_url(self) -> str:
        return str(self.API_URL).rstrip("/")

    @property
    def telegram_api_base(self) -> str:
        return str(self.TELEGRAM_API_BASE).rstrip("/")

    @property
    def webhook_host_port(self) -> tuple[str, int]:
        host, _, port = self.WEBHOOK_BIND.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def api_read_timeout_s(self) -> float:
        """Longest silence on an answer stream: a turn's wait (LLM_TIMEOUT_S + 10 s) and more."""
        return self.LLM_TIMEOUT_S + 15.0


_SENTENCES = {
    "missing": "is required but not set",
    "string_too_short": "must have at least {min_length} characters",
    "too_short": "must have at least {min_length} characters",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "enum": "must be one of {expected}",
    "url_parsing": "must be an http(s) URL",
    "url_scheme": "must be an http(s) URL",
}


def _sentence(error: Mapping[str, Any]) -> str:
    """What is wrong, as the end of a sentence that starts with the variable's name."""
    if error["type"] == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    context = {
        key: int(value) if isinstance(value, float) and value.is_integer() else value
        for key, value in error.get("ctx", {}).items()
    }
    try:
        return _SENTENCES.get(error["type"], "is not valid").format(**context)
    except (KeyError, IndexError):
        return "is not valid"


def read_secret_files(
    names: tuple[str, ...], environ: Mapping[str, str], given: Mapping[str, object]
) -> dict[str, str]:
    """The values of the NAME_FILE variables set in `environ`: each file's text without its
    trailing newline. Names in `given` (explicit overrides) are left alone. Raises ConfigError
    when NAME and NAME_FILE are both set, or the file cannot be read; never shows a value.
    (webapi/settings.py has the same rule: the bot imports nothing of webapi.)"""
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


def load_settings(**overrides: object) -> BotSettings:
    """Read the environment (plus overrides) or raise ConfigError naming the first bad variable.

    Each secret (SECRET_VARIABLES) may instead be read from the file NAME_FILE names."""
    from_files = read_secret_files(SECRET_VARIABLES, os.environ, overrides)
    try:
        settings = BotSettings(**{**from_files, **overrides})  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        if name in from_files:
            name = f"{name} (read from {name}_FILE)"
        raise ConfigError(name, _sentence(error)) from None
    if settings.BOT_MODE is BotMode.WEBHOOK:
        if settings.WEBHOOK_URL is None:
            raise ConfigError("WEBHOOK_URL", "is required when BOT_MODE=webhook")
        if settings.WEBHOOK_SECRET is None:
            raise ConfigError("WEBHOOK_SECRET", "is required when BOT_MODE=webhook")
    return settings
