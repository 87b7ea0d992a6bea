"""The console's chat: a signed-in account's own dialogs, in Assistant and Insights modes."""

from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from webapi.api.security import COOKIE_SCHEME
from webapi.errors import ErrorResponse

bp = APIBlueprint(
    "chat",
    __name__,
    url_prefix="/api/v1/chat",
    abp_tags=[Tag(name="chat", description="The console's chat (console sign-in).")],
    abp_responses={401: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse},
    abp_security=[{COOKIE_SCHEME: []}],
)

from webapi.api.chat import routes  # noqa: E402,F401  (routes attach themselves to bp)
