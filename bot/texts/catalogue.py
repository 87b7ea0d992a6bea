"""The shape of a catalogue: what every language must say."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class CommandTexts:
    """Descriptions shown in Telegram's command menu (setMyCommands)."""

    start: str
    help: str
    role: str
    reset: str
    status: str
    forget: str


@dataclass(frozen=True)
class Texts:
    """One language's catalogue."""

    language: str
    commands: CommandTexts
    start: str  # {name}, {role_title}, {role_description}
    help: str
    role_current: str  # {title}, {description}
    role_switched: str  # {title}, {description}
    role_unknown: str
    role_mark: str  # put before the current role's button
    reset_done: str
    status: str  # {model}, {llm}, {role}, {used}, {max}, {messages}, {prompt}, {completion}
    llm_reachable: str
    llm_unreachable: str
    forget_confirm: str
    forget_yes: str
    forget_no: str
    forget_done: str  # {dialogs}, {messages}
    forget_cancelled: str
    forget_not_yours: str
    non_text: str
    empty_question: str
    too_long: str  # {length}, {limit}
    rate_limited: str  # {count}, {period}, {wait}
    periods: Mapping[float, str]  # seconds → "minute", for rate_limited
    not_allowed: str
    api_unavailable: str
    empty_answer: str
    failed: str  # anything unexpected
    answer_errors: Mapping[str, str]  # AnswerErrorCode value → text

    def answer_error(self, code: str) -> str:
        """The friendly text for an answer error code (a generic one for an unknown code)."""
        return self.answer_errors.get(code, self.failed)
