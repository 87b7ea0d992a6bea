"""Which stack the stack tests run on: Docker Compose where an engine answers, else the same
services as local processes, and the words that say so.

STACK_MODE, the variable `nox -s stack_up` reads (devops/stack.py), chooses without asking the
engine: `local` (e.g. to run the local mode on a machine that has an engine) or `compose` (an
engine is required; without one the tests fail saying so). Standard library and devops/ only:
the unit tests import it without the stack tests' dependencies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from devops.stack import requested_mode


@dataclass(frozen=True)
class StackMode:
    local: bool
    reason: str

    @property
    def name(self) -> str:
        return "local processes" if self.local else "Docker Compose"

    @property
    def header(self) -> str:
        return f"stack tests: {self.name} ({self.reason})"

    @property
    def warning(self) -> str:
        """What the session says, at its start and in its summary, when it is not Compose."""
        return (
            f"THE STACK TESTS RUN ON LOCAL PROCESSES, NOT DOCKER COMPOSE ({self.reason}): "
            "no image, container, Compose file or healthcheck of the stack was tested; "
            "CI runs them on Compose"
        )


def choose_mode(environ: Mapping[str, str], engine_answers: Callable[[], bool]) -> StackMode:
    """STACK_MODE when set, else Compose when `engine_answers()`. ValueError for a STACK_MODE
    that is neither local nor compose."""
    requested = requested_mode(environ)
    if requested is not None:
        return StackMode(local=requested == "local", reason=f"STACK_MODE={requested}")
    if engine_answers():
        return StackMode(local=False, reason="a Docker engine answers")
    return StackMode(local=True, reason="no Docker engine answers")
