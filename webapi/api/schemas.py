"""Field types shared by request models."""

from __future__ import annotations

import copy
import functools
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field


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


class QueryModel(BaseModel):
    """A query string's model. flask-openapi3 asks for its JSON schema on every request (to
    tell lists from single values), and pydantic builds it anew each time (a millisecond and
    more); a class's schema never changes, so it is built once per set of arguments."""

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        # A copy: callers may change what they get.
        return copy.deepcopy(_json_schema(cls, args, tuple(sorted(kwargs.items()))))


@functools.cache
def _json_schema(
    model: type[QueryModel], args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]
) -> dict[str, Any]:
    return super(QueryModel, model).model_json_schema(*args, **dict(kwargs))
