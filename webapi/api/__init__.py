"""The HTTP API: thin routes that parse, call a domain module and shape the answer.

Each blueprint keeps its request and response models beside its routes; `security` decides
who may call what; `console_guard` refuses cross-site console writes; `json_guard` bounds JSON
bodies; `sse` frames streamed answers; `openapi_document` serves the contract.
"""

from __future__ import annotations

from flask_openapi3.openapi import OpenAPI

from webapi.api import console_guard, json_guard, security
from webapi.api.openapi_document import register_document_route


def register_api(app: OpenAPI) -> None:
    from webapi.api.accounts import bp as accounts_bp
    from webapi.api.auth import bp as auth_bp
    from webapi.api.bot import bp as bot_bp
    from webapi.api.chat import bp as chat_bp
    from webapi.api.health import bp as health_bp
    from webapi.api.stats import bp as stats_bp

    # In this order: header checks that need no database, credentials, then the body.
    console_guard.init_app(app)
    security.init_app(app)
    json_guard.init_app(app)
    app.register_api(health_bp)
    app.register_api(auth_bp)
    app.register_api(bot_bp)
    app.register_api(stats_bp)
    app.register_api(chat_bp)
    app.register_api(accounts_bp)
    register_document_route(app)
