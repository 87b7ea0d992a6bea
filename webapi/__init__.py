"""webapi: the one owner of the database and of the conversation logic.

`create_app` builds the Flask app (webapi/app.py). This module imports nothing heavy on purpose:
Python imports it before gunicorn's config (webapi/gunicorn_conf.py), which must apply gevent's
patches before anything imports socket or ssl.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask_openapi3.openapi import OpenAPI

    from webapi.settings import Settings

__all__ = ["MIGRATIONS_DIR", "create_app"]

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")


def create_app(config: dict[str, Any] | None = None, settings: Settings | None = None) -> OpenAPI:
    """Build the Flask app from validated settings; `config` overrides Flask config keys."""
    from webapi.app import build_app

    return build_app(config, settings)
