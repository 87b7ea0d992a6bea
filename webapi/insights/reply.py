"""The model's answer to an Insights question, in the one shape it is asked for: a JSON object
with either the SQL to run and a chart suggestion, or why the data cannot answer the question.

Models wrap JSON in prose or code fences now and then: the first JSON object in the reply is
taken, and anything that is not the shape is a clear failure, never a guess.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SHAPE = """\
Answer with one JSON object and nothing else, in one of two forms:
{"sql": "<one SELECT query>", "chart": {"kind": "line" | "bar" | "none", "x": "<column>",
 "y": ["<column>", ...]}}
{"unanswerable": "<why this data cannot answer the question>"}
The chart names columns of your query's result: x the category or time, y the numbers. Use
"line" for a series over time, "bar" to compare categories, "none" when a chart would not help.
If the tables cannot answer the question, say so with "unanswerable": never invent data or
query something else instead."""


class Chart(BaseModel):
    """A declarative chart suggestion over the result's columns: data, never code."""

    model_config = ConfigDict(extra="ignore")

    kind: Literal["line", "bar", "none"] = "none"
    x: str | None = Field(default=None, max_length=128)
    y: list[str] = Field(default_factory=list, max_length=8)

    def fitted(self, columns: list[str]) -> Chart:
        """This chart if its columns are the result's, else none."""
        if self.kind == "none" or self.x not in columns or not self.y:
            return NO_CHART
        if any(name not in columns or name == self.x for name in self.y):
            return NO_CHART
        return self


NO_CHART = Chart()


class Plan(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sql: str | None = Field(default=None, max_length=20_000)
    chart: Chart = NO_CHART
    unanswerable: str | None = Field(default=None, max_length=2_000)


class ReplyShapeError(ValueError):
    """The model did not answer in the shape asked for."""


def parse_plan(text: str) -> Plan:
    """The plan in the model's reply; ReplyShapeError if there is none."""
    found = _first_object(text)
    if found is None:
        raise ReplyShapeError("the model's reply holds no JSON object")
    try:
        plan = Plan.model_validate(found)
    except ValidationError as exc:
        raise ReplyShapeError(f"the model's reply is not the shape asked for: {exc}") from None
    if bool(plan.sql and plan.sql.strip()) == bool(plan.unanswerable):
        raise ReplyShapeError("the model's reply must hold either sql or unanswerable")
    return plan


def _first_object(text: str) -> dict[str, object] | None:
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            pass
        else:
            if isinstance(value, dict):
                return value
        start = text.find("{", start + 1)
    return None
