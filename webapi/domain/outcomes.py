"""How an answer can end badly: one enumeration, published in the OpenAPI document.

The bot and the console branch on these codes; never add one without documenting it in the
README, and never rename one.
"""

from __future__ import annotations

from enum import StrEnum


class AnswerErrorCode(StrEnum):
    """Why an answer did not arrive (OpenAPI: `AnswerErrorCode`)."""

    LLM_TIMEOUT = "llm_timeout"
    LLM_RATE_LIMITED = "llm_rate_limited"
    LLM_UNAVAILABLE = "llm_unavailable"
    LLM_UNREACHABLE = "llm_unreachable"
    LLM_BAD_RESPONSE = "llm_bad_response"
    LLM_REJECTED = "llm_rejected"
    INTERNAL_ERROR = "internal_error"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    ANSWER_IN_PROGRESS = "answer_in_progress"
    # Insights (the console's questions about the data)
    INSIGHTS_UNSAFE_QUERY = "insights_unsafe_query"
    INSIGHTS_QUERY_FAILED = "insights_query_failed"
    INSIGHTS_QUERY_TIMEOUT = "insights_query_timeout"
    INSIGHTS_UNANSWERABLE = "insights_unanswerable"
