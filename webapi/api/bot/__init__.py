"""Endpoints the Telegram bot calls, authenticated with the bot token."""

from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from webapi.api.security import BEARER_SCHEME, BOT_BLUEPRINT
from webapi.errors import ErrorResponse

bp = APIBlueprint(
    BOT_BLUEPRINT,
    __name__,
    url_prefix="/api/v1/bot",
    abp_tags=[Tag(name="bot", description="Used by the Telegram bot (bearer BOT_API_TOKEN).")],
    abp_security=[{BEARER_SCHEME: []}],
    abp_responses={401: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse},
)

from webapi.api.bot import routes  # noqa: E402,F401  (routes attach themselves to bp)
