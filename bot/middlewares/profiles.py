"""The user's profile is sent to webapi when it is new or has changed, not on every message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from bot.api import ApiError, Profile, WebAPI

# The cache forgets everything past this many users (they are upserted again once).
MAX_CACHED = 100_000


def profile_of(user: User) -> Profile:
    """What webapi keeps of a Telegram user."""
    return Profile(
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
        language_code=user.language_code,
    )


class Profiles:
    """The last profile sent for each user, so an unchanged one is not sent again."""

    def __init__(self, api: WebAPI) -> None:
        self.api = api
        self._sent: dict[int, Profile] = {}

    async def ensure(self, user: User) -> None:
        """Upsert the user's profile unless webapi already has this very one."""
        profile = profile_of(user)
        if self._sent.get(user.id) == profile:
            return
        await self.api.upsert_user(user.id, profile)
        if len(self._sent) >= MAX_CACHED:
            self._sent.clear()
        self._sent[user.id] = profile

    def drop(self, user_id: int) -> None:
        """Forget what was sent: the next `ensure` upserts."""
        self._sent.pop(user_id, None)


class ProfileMiddleware(BaseMiddleware):
    """Inner middleware: the profile is in webapi before the handler runs.

    If webapi has lost the user anyway (404 user_not_found, e.g. a new database), the profile
    is sent again and the handler runs once more: its first call to webapi was refused, so it
    had not done anything yet.
    """

    def __init__(self, profiles: Profiles) -> None:
        self.profiles = profiles

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return await handler(event, data)
        await self.profiles.ensure(user)
        try:
            return await handler(event, data)
        except ApiError as exc:
            if exc.code != "user_not_found":
                raise
        self.profiles.drop(user.id)
        await self.profiles.ensure(user)
        return await handler(event, data)
