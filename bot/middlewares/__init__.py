"""Dispatcher middlewares: what every update goes through before (and around) its handler."""

from bot.middlewares.access import AccessMiddleware
from bot.middlewares.in_flight import InFlight, InFlightMiddleware
from bot.middlewares.language import LanguageMiddleware
from bot.middlewares.profiles import ProfileMiddleware, Profiles
from bot.middlewares.rate_limit import RateLimiter, RateLimitMiddleware
from bot.middlewares.serial import SerialMiddleware
from bot.middlewares.update_log import UpdateLog, UpdateLogMiddleware

__all__ = [
    "AccessMiddleware",
    "InFlight",
    "InFlightMiddleware",
    "LanguageMiddleware",
    "ProfileMiddleware",
    "Profiles",
    "RateLimitMiddleware",
    "RateLimiter",
    "SerialMiddleware",
    "UpdateLog",
    "UpdateLogMiddleware",
]
