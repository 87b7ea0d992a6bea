"""aiogram, imported with its Telegram types built on first use instead of all at import.

aiogram declares its Telegram types `defer_build` (pydantic builds a model's validator and
serializer the first time it is used), but the end of `aiogram.types` then rebuilds every one
of them, with the namespace that resolves their forward references; the methods, declared
without it, build as they are defined. That is some 1,300 models, each validator with its
nested types inlined: about 110 MB of memory and seconds of start-up, for a bot that uses a few
dozen (aiogram issue #1513).

`import_aiogram()` imports aiogram with that loop's rebuilds turned into "remember the
namespace", and gives every aiogram model that namespace: pydantic's own deferred build
then builds each model the first time it is used (an update, a method the bot calls), resolving
names as aiogram's loop would have. The bot works the same without it, only heavier.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel

_TYPES_PACKAGE = "aiogram.types."
log = logging.getLogger(__name__)


def import_aiogram() -> None:
    """Import aiogram, its models to be built on first use. Call it before anything imports
    aiogram (an aiogram imported already stays as it is: built)."""
    if "aiogram" in sys.modules:
        return
    namespace: dict[str, Any] = {}
    original = BaseModel.__dict__["model_rebuild"]
    rebuild = original.__func__

    def remember_namespace(
        cls: type[BaseModel], *, _types_namespace: dict[str, Any] | None = None, **kwargs: Any
    ) -> bool | None:
        if _types_namespace is not None and cls.__module__.startswith(_TYPES_PACKAGE):
            namespace.update(_types_namespace)
            return None
        result: bool | None = rebuild(cls, _types_namespace=_types_namespace, **kwargs)
        return result

    BaseModel.model_rebuild = classmethod(remember_namespace)  # type: ignore[arg-type, assignment, method-assign]
    try:
        import aiogram  # noqa: F401
    finally:
        BaseModel.model_rebuild = original  # type: ignore[method-assign]
    if not namespace:
        return  # an aiogram without that loop: nothing was deferred
    for model in aiogram_models():
        # Where pydantic looks up names when it builds a model deferred (or whose build failed
        # for want of them), and when it makes a generic one concrete, e.g. Response[Message].
        model.__pydantic_parent_namespace__ = namespace


async def build_soon(models: Iterable[type[BaseModel]]) -> None:
    """Build `models` now, one per turn of the event loop: the ones every answer needs (the
    update, the methods that answer), so that the first answers after a start do not wait
    the few hundred milliseconds their building takes."""
    for model in models:
        try:
            model.model_rebuild()
        except Exception as exc:  # it is tried again, and raises, where it is used
            log.warning("%s not built in advance: %s", model.__name__, exc)
        await asyncio.sleep(0)


def aiogram_models() -> Iterator[type[BaseModel]]:
    """Every pydantic model aiogram defines (the Telegram types, methods, responses)."""
    return (model for model in _subclasses(BaseModel) if model.__module__.startswith("aiogram."))


def _subclasses(cls: type[BaseModel]) -> Iterator[type[BaseModel]]:
    seen: set[type[BaseModel]] = set()
    pending = [cls]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                pending.append(sub)
                yield sub
