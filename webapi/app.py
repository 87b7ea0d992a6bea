"""The Flask app: settings, then engines, then services, then routes."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask_openapi3.models.info import Info
from flask_openapi3.openapi import OpenAPI
from werkzeug.middleware.proxy_fix import ProxyFix

from webapi import MIGRATIONS_DIR, cli
from webapi.api import register_api
from webapi.api.security import SECURITY_SCHEMES, SESSION_COOKIE_NAME
from webapi.database import (
    INSIGHTS_ENGINE_KEY,
    init_database,
    migration_head,
    resolve_sqlite_url,
    write_engine_options,
)
from webapi.domain import interruptions
from webapi.domain.accounts import ensure_first_admin
from webapi.domain.conversation import ConversationService
from webapi.domain.llm import LLMClient
from webapi.domain.rate_limits import ChatLimit, LoginLimits
from webapi.errors import ErrorResponse, register_error_handlers, validation_error_response
from webapi.insights.answer import InsightsAnswerer
from webapi.insights.runner import create_insights_engine
from webapi.services import EXTENSION_KEY, Services
from webapi.settings import ConfigError, Settings, load_settings
from webapi.startup import check_startup

API_VERSION = "1.0.0"
log = logging.getLogger(__name__)


def build_app(config: dict[str, Any] | None = None, settings: Settings | None = None) -> OpenAPI:
    """Build the Flask app from validated settings; `config` overrides Flask config keys."""
    settings = settings or load_settings()
    roles = check_startup(settings)
    app = OpenAPI(
        __name__,
        info=Info(title="systech-aidd API", version=API_VERSION),
        security_schemes=SECURITY_SCHEMES,  # type: ignore[arg-type]
        validation_error_status=422,
        validation_error_model=ErrorResponse,
        validation_error_callback=validation_error_response,
        doc_ui=False,
        static_folder=None,
    )
    write_url = resolve_sqlite_url(settings.DATABASE_URL, Path.cwd())
    read_url = settings.DATABASE_READ_URL
    if read_url is not None:
        read_url = resolve_sqlite_url(read_url, Path.cwd())
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        BOT_API_TOKEN=settings.BOT_API_TOKEN.get_secret_value(),
        SQLALCHEMY_DATABASE_URI=write_url,
        SQLALCHEMY_ENGINE_OPTIONS=write_engine_options(write_url),
        SESSION_COOKIE_NAME=SESSION_COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.SESSION_COOKIE_SECURE,
        PERMANENT_SESSION_LIFETIME=7 * 24 * 3600,
        MIGRATION_HEAD=migration_head(MIGRATIONS_DIR),
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    if config:
        app.config.update(config)

    init_database(app, write_url, read_url, settings.DATABASE_READ_TIMEOUT_S)

    llm = LLMClient(
        base_url=settings.llm_base_url,
        api_key=settings.LLM_API_KEY.get_secret_value(),
        model=settings.LLM_MODEL,
        timeout_s=settings.LLM_TIMEOUT_S,
        max_attempts=settings.LLM_MAX_ATTEMPTS,
    )
    insights_url = settings.INSIGHTS_DATABASE_URL or read_url or write_url
    try:
        insights_engine = create_insights_engine(
            resolve_sqlite_url(insights_url, Path.cwd()), settings.INSIGHTS_TIMEOUT_S
        )
    except ValueError as exc:
        raise ConfigError("INSIGHTS_DATABASE_URL", f"cannot be used: {exc}") from None
    app.extensions[INSIGHTS_ENGINE_KEY] = insights_engine
    conversation = ConversationService(
        llm, roles, settings.MAX_CONTEXT_MESSAGES, InsightsAnswerer(llm, insights_engine)
    )
    chat_limit = ChatLimit(settings.CHAT_RATE_LIMIT, settings.RATELIMIT_STORAGE_URI)
    login_limits = LoginLimits(
        settings.LOGIN_RATE_LIMIT, settings.LOGIN_CLIENT_RATE_LIMIT, settings.RATELIMIT_STORAGE_URI
    )
    app.extensions[EXTENSION_KEY] = Services(
        settings, roles, llm, conversation, login_limits, chat_limit
    )

    register_error_handlers(app)
    cli.init_app(app)
    register_api(app)

    if settings.TRUSTED_PROXY_COUNT:
        count = settings.TRUSTED_PROXY_COUNT
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]

    _create_first_admin(app, settings)
    # A serving process marks the questions a dead process left pending; a `flask` command
    # (db upgrade, create-admin) is no serving process, and under gunicorn each worker starts
    # its own (webapi/gunicorn_conf.py).
    serving = click.get_current_context(silent=True) is None
    if serving and not interruptions.started_by_each_worker():
        interruptions.start_sweeper(app, settings.LLM_TIMEOUT_S)
    return app


def _secret_key(settings: Settings) -> str:
    if settings.SECRET_KEY is not None:
        return settings.SECRET_KEY.get_secret_value()
    # Development only (load_settings refuses this elsewhere). gunicorn sets one key for all
    # of its workers before they fork, so this per-process key serves `flask` commands alone.
    log.warning("no SECRET_KEY: sessions are signed with a random key until this process ends")
    return secrets.token_urlsafe(32)


def _create_first_admin(app: OpenAPI, settings: Settings) -> None:
    if settings.ADMIN_USERNAME is None or settings.ADMIN_PASSWORD is None:
        return
    with app.app_context():
        try:
            ensure_first_admin(settings.ADMIN_USERNAME, settings.ADMIN_PASSWORD.get_secret_value())
        except sa.exc.SQLAlchemyError as exc:
            # Serve anyway: readiness reports the database, and the next start tries again.
            log.warning(
                "the first admin could not be created now (%s); the next start tries again",
                type(exc).__name__,
            )
