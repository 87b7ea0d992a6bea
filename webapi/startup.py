"""What must hold before webapi serves, beyond the settings themselves.

create_app() runs these checks, and gunicorn runs them once in its master before any worker
forks: a bad role file or admin password stops the server with one line, instead of workers
that fail and are restarted forever.
"""

from __future__ import annotations

from limits.errors import ConfigurationError
from limits.storage import storage_from_string

from webapi.domain.accounts import check_credentials
from webapi.domain.roles import RoleCatalog, RoleFileError, UnknownDefaultRoleError
from webapi.settings import ConfigError, Settings


def load_roles(settings: Settings) -> RoleCatalog:
    try:
        return RoleCatalog(settings.PROMPTS_DIR, settings.DEFAULT_ROLE)
    except UnknownDefaultRoleError as exc:
        raise ConfigError("DEFAULT_ROLE", str(exc)) from None
    except RoleFileError as exc:
        raise ConfigError("PROMPTS_DIR", str(exc)) from None


def check_first_admin(settings: Settings) -> None:
    if settings.ADMIN_USERNAME is None or settings.ADMIN_PASSWORD is None:
        return
    try:
        check_credentials(settings.ADMIN_USERNAME, settings.ADMIN_PASSWORD.get_secret_value())
    except ValueError as exc:
        raise ConfigError("ADMIN_USERNAME/ADMIN_PASSWORD", str(exc)) from None


def check_rate_limit_storage(uri: str | None) -> None:
    if uri is None:
        return  # the database
    try:
        storage_from_string(uri)
    except ConfigurationError as exc:
        raise ConfigError("RATELIMIT_STORAGE_URI", f"cannot be used: {exc}") from None


def check_startup(settings: Settings) -> RoleCatalog:
    """Every check create_app() makes before it touches the database; the roles it loaded."""
    roles = load_roles(settings)
    check_first_admin(settings)
    check_rate_limit_storage(settings.RATELIMIT_STORAGE_URI)
    return roles
