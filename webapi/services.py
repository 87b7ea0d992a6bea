"""The per-app objects views need, kept in app.extensions rather than in globals."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from flask import current_app

from webapi.domain.conversation import ConversationService
from webapi.domain.llm import LLMClient
from webapi.domain.rate_limits import ChatLimit, LoginLimits
from webapi.domain.roles import RoleCatalog
from webapi.settings import Settings

EXTENSION_KEY = "aidd"
REACHABILITY_TTL_S = 30.0


@dataclass
class Services:
    settings: Settings
    roles: RoleCatalog
    llm: LLMClient
    conversation: ConversationService
    login_limits: LoginLimits
    chat_limit: ChatLimit
    _reachable: tuple[float, bool] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def llm_reachable(self) -> bool:
        """Whether the LLM answered lately; asked at most every REACHABILITY_TTL_S seconds."""
        now = time.monotonic()
        with self._lock:
            cached = self._reachable
        if cached is not None and now - cached[0] < REACHABILITY_TTL_S:
            return cached[1]
        reachable = self.llm.is_reachable()
        with self._lock:
            self._reachable = (time.monotonic(), reachable)
        return reachable


def services() -> Services:
    found: Services = current_app.extensions[EXTENSION_KEY]
    return found
