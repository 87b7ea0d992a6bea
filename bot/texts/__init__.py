"""Every user-visible string, one catalogue per language; the user's Telegram language picks one.

Catalogue strings are Telegram HTML (sent with parse_mode HTML): values put into them are
escaped by the caller (`html.escape`). Answer error texts are keyed by webapi's published
`AnswerErrorCode` values; tests check every published code has a text in every catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.texts.catalogue import CommandTexts, Texts
from bot.texts.en import EN
from bot.texts.ru import RU

__all__ = ["CATALOGUES", "EN", "RU", "CommandTexts", "Texts", "texts_for"]

CATALOGUES: Mapping[str, Texts] = {"en": EN, "ru": RU}


def texts_for(language_code: str | None) -> Texts:
    """The catalogue for a Telegram language code; English when there is none for it."""
    if language_code and language_code.lower().split("-")[0] == "ru":
        return RU
    return EN
