"""A dialog's messages as they are shown (the dashboard's transcripts, the console's chat):
every turn with its outcome and figures, and an Insights answer's SQL and result."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from webapi.models import Message

_SHOWN = (
    Message.id,
    Message.role,
    Message.content,
    Message.created_at,
    Message.status,
    Message.error_code,
    Message.model,
    Message.prompt_tokens,
    Message.completion_tokens,
    Message.ttft_ms,
    Message.latency_ms,
    Message.sql,
    Message.result,
)


def messages_of(session: Session, dialog_id: int) -> list[dict[str, Any]]:
    """Every message of the dialog, oldest first."""
    rows = session.execute(
        sa.select(*_SHOWN)
        .where(Message.dialog_id == dialog_id)
        .order_by(Message.created_at, Message.id)
    ).all()
    return [dict(row._mapping) for row in rows]
