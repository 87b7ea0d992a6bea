"""Console accounts, for admins: list, create, disable or enable, reset a password."""

from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from webapi.api.security import COOKIE_SCHEME
from webapi.errors import ErrorResponse

bp = APIBlueprint(
    "accounts",
    __name__,
    url_prefix="/api/v1/accounts",
    abp_tags=[Tag(name="accounts", description="Console accounts (admins only).")],
    abp_responses={401: ErrorResponse, 403: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse},
    abp_security=[{COOKIE_SCHEME: []}],
)

from webapi.api.accounts import routes  # noqa: E402,F401  (routes attach themselves to bp)
