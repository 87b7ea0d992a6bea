"""Liveness and readiness: open to anyone, so orchestrators can probe them."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel, Field

from webapi.database import DatabaseUnreachableError, schema_revision

bp = APIBlueprint(
    "health",
    __name__,
    url_prefix="/api/v1/health",
    abp_tags=[Tag(name="health", description="Liveness and readiness probes.")],
)


class Live(BaseModel):
    status: str = Field(description="Always `ok` while the process serves requests.")


class Ready(BaseModel):
    status: str = Field(description="`ready` or `not_ready`.")
    database: str = Field(description="`ok` or `unreachable`.")
    migrations: str = Field(description="`at_head`, `behind` or `unknown`.")
    revision: str | None = Field(description="The database's migration revision.")
    head: str = Field(description="The newest migration this code knows.")


@bp.get("", responses={200: Live})
def live() -> dict[str, Any]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@bp.get("/ready", responses={200: Ready, 503: Ready})
def ready() -> tuple[dict[str, Any], int]:
    """Readiness: the database answers and its schema is at the newest migration."""
    head: str = current_app.config["MIGRATION_HEAD"]
    revision: str | None = None
    database, migrations = "ok", "unknown"
    try:
        revision = schema_revision()
        migrations = "at_head" if revision == head else "behind"
    except DatabaseUnreachableError:
        database = "unreachable"
    is_ready = database == "ok" and migrations == "at_head"
    body = Ready(
        status="ready" if is_ready else "not_ready",
        database=database,
        migrations=migrations,
        revision=revision,
        head=head,
    )
    return body.model_dump(), 200 if is_ready else 503
