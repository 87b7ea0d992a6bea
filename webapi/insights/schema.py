"""What the model is told it may query: the three tables, every column with its meaning, the
enumerated values, the dashboard's metrics, and how the active dialect writes dates. Never a
row of data. The guard's allow-list (guard.TABLES) is the same set of tables and columns; a
test checks that every column is described and nothing else is.
"""

from __future__ import annotations

from webapi.domain.outcomes import AnswerErrorCode
from webapi.models import Author, Channel, Mode, Status

COLUMNS: dict[str, dict[str, str]] = {
    "users": {
        "id": "primary key",
        "telegram_id": "the user's Telegram id",
        "username": "Telegram @username, may be null",
        "first_name": "may be null",
        "last_name": "may be null",
        "language_code": "the Telegram client's language (e.g. en, ru), may be null",
        "role": "the role (assistant persona) the user chose, null for the default",
        "first_seen_at": "first contact with the bot (any update)",
        "last_seen_at": "latest contact with the bot",
        "first_message_at": "their first question, null if they never asked one",
    },
    "dialogs": {
        "id": "primary key",
        "user_id": "users.id of a Telegram dialog, null for a console (web) dialog",
        "account_id": "the console account of a web dialog (not queryable), else null",
        "chat_id": "the Telegram chat (a user's private chat id is their telegram_id)",
        "channel": "where the dialog happened",
        "mode": "assistant (a conversation) or insights (questions about this data)",
        "role": "the role (assistant persona) the dialog was held in",
        "started_at": "when the dialog started",
        "ended_at": "when /reset or a new role ended it; null while it is open",
        "message_count": "messages in the dialog (questions and answers)",
        "last_message_at": "time of its latest message, null if it has none",
    },
    "messages": {
        "id": "primary key, in the order messages were stored",
        "dialog_id": "dialogs.id",
        "role": "user (a question) or assistant (an answer)",
        "content": "the text",
        "length": "characters of content",
        "created_at": "when it was stored",
        "status": "ok, error or pending (a question being answered)",
        "error_code": "why an answer failed (on the failed question), else null",
        "model": "the LLM that answered (answers only)",
        "prompt_tokens": "tokens sent to the LLM for this answer",
        "completion_tokens": "tokens the LLM answered with",
        "ttft_ms": "time to the first token of the answer, milliseconds",
        "latency_ms": "time from the question to the whole answer, milliseconds",
        "sql": "the SQL an Insights answer ran, else null",
        "idempotency_key": "the client's key for a question (internal), may be null",
    },
}

_VALUES = {
    "dialogs.channel": [channel.value for channel in Channel],
    "dialogs.mode": [mode.value for mode in Mode],
    "messages.role": [author.value for author in Author],
    "messages.status": [status.value for status in Status],
    "messages.error_code": [code.value for code in AnswerErrorCode],
}

_GLOSSARY = """\
Metrics as the dashboard defines them:
- a dialog: a row of dialogs with message_count > 0 (a /reset ends one and starts another);
- user messages: messages with role = 'user'; assistant messages: role = 'assistant' and
  status = 'ok' (answers delivered);
- answers: questions (role = 'user') with status 'ok' or 'error'; error rate: questions with
  status = 'error' and error_code not 'cancelled', over answers; cancelled answers are apart;
- users (active, new, top) are Telegram users: dialogs.user_id is not null. Active: wrote a
  question in the period; new: users.first_message_at in the period;
- tokens: prompt_tokens + completion_tokens of answers;
- latency and time to first token: latency_ms and ttft_ms of delivered answers."""

_DATES = {
    "sqlite": (
        "SQLite. Timestamps are UTC text 'YYYY-MM-DD HH:MM:SS.ffffff': compare them with"
        " datetime('now', '-7 days'), group with date(created_at) or strftime('%Y-%m',"
        " created_at); durations with julianday(). Integer division truncates: multiply by"
        " 1.0 for a ratio."
    ),
    "postgres": (
        "PostgreSQL. Timestamps are timestamptz in UTC: compare them with now() - interval"
        " '7 days', group with date_trunc('day', created_at) or to_char(created_at,"
        " 'YYYY-MM'); durations with EXTRACT(EPOCH FROM a - b). Cast to numeric or float for a"
        " ratio."
    ),
}


def describe(dialect: str) -> str:
    """The tables, columns, values, metrics and date functions, for `dialect` (sqlglot's
    name: sqlite or postgres)."""
    lines = ["Tables (no others exist for you):"]
    for table, columns in COLUMNS.items():
        lines.append(f"{table}(")
        for column, meaning in columns.items():
            values = _VALUES.get(f"{table}.{column}")
            listed = f"; one of {', '.join(values)}" if values else ""
            lines.append(f"  {column}: {meaning}{listed}")
        lines.append(")")
    lines += ["", _GLOSSARY, "", _DATES[dialect]]
    return "\n".join(lines)
