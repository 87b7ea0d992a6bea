"""Project tasks. `nox -s ci` is what CI runs; `nox -s tests -- -k name` passes args to pytest."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["lint", "tests"]

PYTHON = "3.11"
TYPED_PACKAGES = ["bot", "webapi"]


def install(session: nox.Session, *groups: str) -> None:
    """Install the locked dependencies plus the given groups into the session's venv."""
    options = [f"--group={group}" for group in groups]
    session.run_install(
        "uv",
        "sync",
        "--frozen",
        "--no-default-groups",
        *options,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint and format) on everything; mypy --strict on the Python packages."""
    install(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "--strict", *TYPED_PACKAGES)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit and API tests (SQLite and PostgreSQL via TEST_POSTGRES_URL)."""
    install(session, "test")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Print what webapi adds to an answer, its throughput (SQLite, PostgreSQL), and the bot's."""
    install(session, "test")
    session.run("python", "-m", "tests.bench", *session.posargs)


@nox.session(python=PYTHON)
def insights_eval(session: nox.Session) -> None:
    """Insights' execution accuracy on the golden set, asked of a real LLM (needs LLM_API_KEY).

    The endpoint is webapi's: LLM_BASE_URL (OpenRouter by default), LLM_API_KEY, LLM_MODEL.
    Without a key it says so and exits 2; `-- --only KEY` asks one question."""
    install(session, "test")
    session.run("python", "-m", "tests.insights.eval", *session.posargs)


@nox.session(python=PYTHON)
def try_bot(session: nox.Session) -> None:
    """The bot with no Telegram and no LLM: a short conversation with the fakes, printed."""
    install(session, "test")
    session.run("python", "-m", "tests.try_bot", *session.posargs)


@nox.session(python=False)
def ci(session: nox.Session) -> None:
    """Everything CI runs, in order."""
    session.notify("lint")
    session.notify("tests")
