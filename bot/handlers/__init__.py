"""Handlers, one Router per module; `routers()` lists them in the order they are tried."""

from aiogram import Router

from bot.handlers import commands, errors, forget, messages, other, roles


def routers() -> list[Router]:
    """Commands and buttons first, then questions, then everything else; errors beside them."""
    return [
        commands.router(),
        roles.router(),
        forget.router(),
        messages.router(),
        other.router(),
        errors.router(),
    ]
