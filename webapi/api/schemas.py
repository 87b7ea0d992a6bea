"""Field types shared by request models."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field


def _storable(value: str) -> str:
    # PostgreSQL refuses NUL in text and no database stores lone surrogates: say so up front.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


# Documented in the schema too, so clients (and schemathesis) know NUL is refused.
NO_NUL = r"^[^\x00]*$"

Name = Annotated[str, Field(max_length=255, pattern=NO_NUL), AfterValidator(_storable)]
ShortName = Annotated[str, Field(max_length=64, pattern=NO_NUL), AfterValidator(_storable)]
MessageText = Annotated[
    str,
    Field(min_length=1, max_length=16_000, pattern=r"^[^\x00]*[^\s\x00][^\x00]*$"),
    AfterValidator(_storable),
]
TelegramId = Annotated[int, Field(ge=1, le=2**63 - 1, description="Telegram user id")]
# Group and channel ids are negative; Telegram's ids fit in 52 bits.
TelegramChatId = Annotated[int, Field(ge=-(2**52), le=2**52, description="Telegram chat id")]
# Printable ASCII, no spaces: keys are identifiers, compared byte for byte.
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
LanguageCode = Annotated[str, Field(max_length=35, pattern=r"^[A-Za-z0-9-]*$")]
