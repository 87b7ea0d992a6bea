"""Dashboard statistics for console accounts: one endpoint per dashboard block."""

from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from webapi.api.security import COOKIE_SCHEME
from webapi.errors import ErrorResponse

bp = APIBlueprint(
    "stats",
    __name__,
    url_prefix="/api/v1/stats",
    abp_tags=[Tag(name="stats", description="Dashboard statistics (console sign-in).")],
    abp_responses={401: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse},
    abp_security=[{COOKIE_SCHEME: []}],
)

from webapi.api.stats import routes  # noqa: E402,F401  (routes attach themselves to bp)
