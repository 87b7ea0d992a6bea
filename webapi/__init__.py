"""webapi: the one owner of the database and of the conversation logic."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_openapi3.models.info import Info
from flask_openapi3.openapi import OpenAPI
from limits.errors import ConfigurationError
from werkzeug.middleware.proxy_fix import ProxyFix

from webapi import cli, security
from webapi.conversation import ConversationService
from webapi.database import configure_engine, sqlite_path
from webapi.errors import ErrorResponse, register_error_handlers, validation_error_response
from webapi.extensions import db, limiter, migrate
from webapi.health import migration_head
from webapi.llm import LLMClient
from webapi.openapi_document import register_document_route
from webapi.roles import RoleCatalog, RoleFileError, UnknownDefaultRoleError
from webapi.services import EXTENSION_KEY, Services
from webapi.settings import ConfigError, Settings, load_settings

__all__ = ["create_app"]

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")
API_VERSION = "1.0.0"
log = logging.getLogger(__name__)


def create_app(config: dict[str, Any] | None = None, settings: Settings | None = None) -> OpenAPI:
    """Build the Flask app from validated settings; `config` overrides Flask config keys."""
    settings = settings or load_settings()
    app = OpenAPI(
        __name__,
        info=Info(title="systech-aidd API", version=API_VERSION),
        security_schemes=security.SECURITY_SCHEMES,  # type: ignore[arg-type]
        validation_error_status=422,
        validation_error_model=ErrorResponse,
        validation_error_callback=validation_error_response,
        doc_ui=False,
        static_folder=None,
    )
    database_url = settings.DATABASE_URL
    if (path := sqlite_path(database_url)) is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    app.config.update(
        SECRET_KEY=settings.secret_key(),
        BOT_API_TOKEN=settings.BOT_API_TOKEN.get_secret_value(),
        SQLALCHEMY_DATABASE_URI=database_url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        SESSION_COOKIE_NAME=security.SESSION_COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.SESSION_COOKIE_SECURE,
        PERMANENT_SESSION_LIFETIME=7 * 24 * 3600,
        LOGIN_RATE_LIMIT=settings.LOGIN_RATE_LIMIT,
        RATELIMIT_STORAGE_URI=settings.RATELIMIT_STORAGE_URI,
        RATELIMIT_HEADERS_ENABLED=True,
        MIGRATION_HEAD=migration_head(MIGRATIONS_DIR),
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    if config:
        app.config.update(config)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    try:
        limiter.init_app(app)
    except ConfigurationError as exc:
        raise ConfigError(f"configuration error: RATELIMIT_STORAGE_URI {exc}") from None
    with app.app_context():
        configure_engine(db.engine)

    try:
        roles = RoleCatalog(settings.PROMPTS_DIR, settings.DEFAULT_ROLE)
    except UnknownDefaultRoleError as exc:
        raise ConfigError(f"configuration error: DEFAULT_ROLE {exc}") from None
    except RoleFileError as exc:
        raise ConfigError(f"configuration error: PROMPTS_DIR {exc}") from None
    llm = LLMClient(
        base_url=settings.llm_base_url,
        api_key=settings.LLM_API_KEY.get_secret_value(),
        model=settings.LLM_MODEL,
        timeout_s=settings.LLM_TIMEOUT_S,
        max_attempts=settings.LLM_MAX_ATTEMPTS,
    )
    conversation = ConversationService(llm, roles, settings.MAX_CONTEXT_MESSAGES)
    app.extensions[EXTENSION_KEY] = Services(settings, roles, llm, conversation)

    register_error_handlers(app)
    security.init_app(app)
    cli.init_app(app)
    _register_routes(app)

    if settings.TRUSTED_PROXY_COUNT:
        count = settings.TRUSTED_PROXY_COUNT
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]

    _create_first_admin(app, settings)
    return app


def _create_first_admin(app: OpenAPI, settings: Settings) -> None:
    admin_password = settings.ADMIN_PASSWORD
    with app.app_context():
        try:
            created = cli.ensure_first_admin(
                settings.ADMIN_USERNAME,
                admin_password.get_secret_value() if admin_password else None,
            )
        except ValueError as exc:
            raise ConfigError(f"configuration error: ADMIN_USERNAME/ADMIN_PASSWORD {exc}") from None
        except sa.exc.SQLAlchemyError:
            # Serve anyway: readiness reports the database, and the next start tries again.
            log.warning("database unreachable: the first admin was not checked for")
            return
    if created:
        log.info("created the first admin account from ADMIN_USERNAME")


def _register_routes(app: OpenAPI) -> None:
    from webapi.auth import bp as auth_bp
    from webapi.botapi import bp as bot_bp
    from webapi.health import bp as health_bp

    app.register_api(health_bp)
    app.register_api(auth_bp)
    app.register_api(bot_bp)

    register_document_route(app)
