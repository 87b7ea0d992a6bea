"""Project tasks. `nox -s ci` is what CI runs; `nox -s tests -- -k name` passes args to pytest."""

from __future__ import annotations

from pathlib import Path

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
    # The console's browser tests need its build (`nox -s web`); the stack tests need the
    # stack (`nox -s integration`).
    session.run("pytest", "--ignore=tests/e2e", "--ignore=tests/integration", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Print what webapi adds to an answer, its throughput (SQLite, PostgreSQL), and the bot's;
    the statistics' costs; the console's Lighthouse scores and first-load JavaScript, for which
    the console is built first (npm ci, the production build) unless `-- --no-console` or
    `-- --stats-only` leaves it out."""
    install(session, "integration")  # the stack's section starts it as the stack tests do
    if not {"--no-console", "--stats-only"} & set(session.posargs):
        session.env["NEXT_TELEMETRY_DISABLED"] = "1"
        with session.chdir("frontend"):
            session.run("npm", "ci", "--no-audit", "--no-fund", external=True)
            session.run("npm", "run", "build", external=True)
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


@nox.session(python=PYTHON)
def web(session: nox.Session) -> None:
    """The console (frontend/, Node 20.19+ and npm): npm ci, ESLint, tsc, Vitest, the OpenAPI
    types against webapi's document (read from the app, no server), the production build, then
    the browser tests (tests/e2e: Debian's chromium driven by Playwright) against it."""
    install(session, "web")
    document = str(Path(session.create_tmp()).resolve() / "openapi.json")
    session.run("python", "frontend/scripts/openapi_document.py", "--output", document)
    session.env["NEXT_TELEMETRY_DISABLED"] = "1"
    with session.chdir("frontend"):
        session.run("npm", "ci", "--no-audit", "--no-fund", external=True)
        session.run("npm", "run", "lint", external=True)
        session.run("npx", "tsc", "--noEmit", external=True)
        session.run("npm", "test", external=True)
        session.run("npm", "run", "types:check", "--", document, external=True)
        session.run("npm", "run", "build", external=True)
    session.run("pytest", "tests/e2e", *session.posargs)


@nox.session(python=False)
def stack_up(session: nox.Session) -> None:
    """The whole stack: Compose (build, up, wait until healthy) where a Docker engine answers,
    else the three services as local processes; prints the URLs and the mode. Options after
    `--`: --api-port (publish the api on 127.0.0.1:8000), --no-build, --seed / --no-seed."""
    session.run("python3", "devops/stack.py", "up", *session.posargs, external=True)


@nox.session(python=False)
def stack_down(session: nox.Session) -> None:
    """Stop the stack, data kept; `-- --volumes` removes the data too."""
    session.run("python3", "devops/stack.py", "down", *session.posargs, external=True)


@nox.session(python=False)
def stack_logs(session: nox.Session) -> None:
    """The stack's logs; `-- -f api` follows one service."""
    session.run("python3", "devops/stack.py", "logs", *session.posargs, external=True)


@nox.session(python=False)
def base_images(session: nox.Session) -> None:
    """Local base images (Python, Node.js, PostgreSQL) from Debian's packages, for Docker hosts
    that cannot pull (needs root and debootstrap); kept where they exist, `-- --force` rebuilds."""
    session.run("bash", "devops/base-images/build.sh", *session.posargs, external=True)


@nox.session(python=PYTHON)
def integration(session: nox.Session) -> None:
    """Stack tests (tests/integration): Compose with the test doubles as services where a Docker
    engine answers, else (or with STACK_MODE=local) the same tests on local processes, which
    says so loudly; STACK_MODE=compose insists on Compose."""
    install(session, "integration", "stack")  # stack: honcho, for the local processes
    session.env["NEXT_TELEMETRY_DISABLED"] = "1"
    session.env.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    session.run("pytest", "tests/integration", "-m", "integration", *session.posargs)


@nox.session(python=False)
def ci(session: nox.Session) -> None:
    """Everything CI runs, in order."""
    session.notify("lint")
    session.notify("tests")
    session.notify("web")
    session.notify("integration")
