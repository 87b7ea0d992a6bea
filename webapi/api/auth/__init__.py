"""Console sign-in: a session cookie for accounts with a password."""

from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from webapi.errors import ErrorResponse

bp = APIBlueprint(
    "auth",
    __name__,
    url_prefix="/api/v1/auth",
    abp_tags=[Tag(name="auth", description="Console sign-in and session.")],
    abp_responses={422: ErrorResponse, 500: ErrorResponse},
)

from webapi.api.auth import routes  # noqa: E402,F401  (routes attach themselves to bp)
