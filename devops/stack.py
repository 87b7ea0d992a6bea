"""The whole stack, up and down: `nox -s stack_up`, `stack_down`, `stack_logs` call this.

Compose (docker-compose.yml) where a Docker engine answers; otherwise the same three services
as local processes (devops/local_stack.py). STACK_MODE=local or STACK_MODE=compose skips the
engine check and uses that mode. Standard library only: nox runs it before any virtualenv
exists.

    python devops/stack.py up [--api-port] [--no-build] [--seed | --no-seed]
    python devops/stack.py down [--volumes]
    python devops/stack.py logs [SERVICE ...]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
API_PORT_FILE = ROOT / "devops" / "compose.api-port.yml"
BASE_IMAGES_SCRIPT = ROOT / "devops" / "base-images" / "build.sh"
# The official images the Dockerfiles default to, and what `nox -s base_images` builds
# instead where none can be pulled (devops/base-images/build.sh).
BASE_IMAGES = {
    "PYTHON_IMAGE": ("python:3.11-slim-bookworm", "systech-aidd-base/python:3.11"),
    "NODE_IMAGE": ("node:20-bookworm-slim", "systech-aidd-base/node:20"),
    "POSTGRES_IMAGE": ("postgres:15-bookworm", "systech-aidd-base/postgres:15"),
}
DEMO_SEED = ["--users", "300", "--messages", "30000", "--days", "30", "--seed", "1"]


def say(message: str) -> None:
    print(f"stack: {message}", flush=True)


def read_env_file(path: Path) -> dict[str, str]:
    """NAME=value lines as bash and Compose read them (comments, blank lines, quotes)."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[name.strip()] = value
    return values


def requested_mode(environ: Mapping[str, str]) -> str | None:
    """STACK_MODE: "local", "compose", or None when unset (the engine decides). ValueError for
    anything else."""
    mode = environ.get("STACK_MODE", "").strip().lower()
    if mode in {"local", "compose"}:
        return mode
    if mode:
        raise ValueError(f"STACK_MODE={mode!r}: use local, compose, or leave it unset")
    return None


def engine_answers() -> bool:
    """A Docker engine and the Compose v2 plugin are both there (STACK_MODE=compose: taken as
    yes, STACK_MODE=local: as no, without asking; the environment's, else the env file's)."""
    env_file = Path(os.environ.get("ENV_FILE", ROOT / ".env"))
    try:
        mode = requested_mode(os.environ) or requested_mode(read_env_file(env_file))
    except ValueError as error:
        raise SystemExit(f"stack: {error}") from None
    if mode is not None:
        return mode == "compose"
    return docker_answers()


def docker_answers() -> bool:
    """`docker info` and `docker compose version` both succeed."""
    if shutil.which("docker") is None:
        return False
    for probe in (["docker", "info"], ["docker", "compose", "version"]):
        try:
            done = subprocess.run(probe, capture_output=True, timeout=20, check=False)
        except subprocess.TimeoutExpired:
            return False
        if done.returncode != 0:
            return False
    return True


def image_present(name: str) -> bool:
    done = subprocess.run(
        ["docker", "image", "inspect", name], capture_output=True, check=False, timeout=30
    )
    return done.returncode == 0


def builder_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """DOCKER_BUILDKIT=0 where the CLI has no buildx (Debian's docker.io): the Dockerfiles are
    written for the classic builder too."""
    if "DOCKER_BUILDKIT" in environ:
        return {}
    done = subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False)
    return {} if done.returncode == 0 else {"DOCKER_BUILDKIT": "0"}


def choose_base_images(environ: Mapping[str, str]) -> dict[str, str]:
    """PYTHON_IMAGE, NODE_IMAGE and POSTGRES_IMAGE for this engine.

    Set ones are kept. Otherwise the official image when it is here or can be pulled; else the
    local base image, built by devops/base-images/build.sh if missing (hosts without registry
    access, see the design).
    """
    chosen: dict[str, str] = {}
    for variable, (official, local) in BASE_IMAGES.items():
        if environ.get(variable):
            chosen[variable] = environ[variable]
        elif image_present(official) or _pulled(official):
            chosen[variable] = official
        else:
            if not image_present(local):
                say(f"{official} cannot be pulled: building local base images")
                subprocess.run(["bash", str(BASE_IMAGES_SCRIPT)], check=True)
            chosen[variable] = local
    return chosen


def build_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """What `docker compose build` and `up --build` need on this engine: the base images and,
    without buildx, the classic builder."""
    return {**choose_base_images(environ), **builder_environment(environ)}


def _pulled(image: str) -> bool:
    try:
        done = subprocess.run(
            ["docker", "pull", "--quiet", image], capture_output=True, timeout=300, check=False
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def ensure_env_file(path: Path) -> None:
    """A first start without .env gets one: .env.example with fresh secrets and an admin."""
    if path.exists():
        return
    template = (ROOT / ".env.example").read_text(encoding="utf-8")
    password = secrets.token_urlsafe(12)
    filled = {
        "BOT_API_TOKEN": secrets.token_hex(32),
        "SECRET_KEY": secrets.token_hex(32),
        "ADMIN_USERNAME": "admin",
        "ADMIN_PASSWORD": password,
    }
    lines = []
    for line in template.splitlines():
        name = line.split("=", 1)[0]
        if name in filled and not line.startswith("#"):
            line = f"{name}={filled[name]}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    say(f"no {path.name} yet: wrote one from .env.example with new secrets")
    say(f"console account: admin / {password} (ADMIN_PASSWORD in {path.name}; change it there)")
    say(f"no LLM key in it: set LLM_API_KEY in {path.name} for real answers")


def profiles(env: Mapping[str, str], settings: Mapping[str, str]) -> list[str]:
    """COMPOSE_PROFILES as given, plus `bot` when a Telegram token is set."""
    given = env.get("COMPOSE_PROFILES") or settings.get("COMPOSE_PROFILES", "")
    chosen = [name for name in given.split(",") if name.strip()]
    has_token = env.get("TELEGRAM_BOT_TOKEN") or settings.get("TELEGRAM_BOT_TOKEN")
    has_token_file = env.get("TELEGRAM_BOT_TOKEN_FILE") or settings.get("TELEGRAM_BOT_TOKEN_FILE")
    if (has_token or has_token_file) and "bot" not in chosen:
        chosen.append("bot")
    return chosen


def compose(*args: str, files: Sequence[Path] = (), env_file: Path | None = None) -> list[str]:
    """`docker compose` on this repository's stack with ARGS. The settings file (`env_file`,
    else ENV_FILE, else .env) is also where Compose reads ${...} values from: run the command
    with ENV_FILE naming the same file."""
    env_file = env_file or Path(os.environ.get("ENV_FILE") or ROOT / ".env")
    if not env_file.exists():
        env_file = ROOT / ".env.example"  # down and logs on a stack never set up
    command = ["docker", "compose", "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE)]
    for extra in files:
        command += ["-f", str(extra)]
    return [*command, "--env-file", str(env_file), *args]


def up(options: argparse.Namespace) -> int:
    if not engine_answers():
        say("no Docker engine answers: starting the services as local processes")
        if __package__:  # imported as devops.stack
            from devops.local_stack import run_local
        else:  # run as a script: devops/ is on sys.path
            from local_stack import run_local  # type: ignore[import-not-found, no-redef]

        return int(run_local(seed=options.seed))
    env_file = Path(os.environ.get("ENV_FILE", ROOT / ".env"))
    ensure_env_file(env_file)
    settings = read_env_file(env_file)
    env = dict(os.environ)
    env["ENV_FILE"] = str(env_file)
    env.update(build_environment(env))
    chosen = profiles(env, settings)
    env["COMPOSE_PROFILES"] = ",".join(chosen)
    files = [API_PORT_FILE] if options.api_port else []
    build = [] if options.no_build else ["--build"]
    say(f"mode: Docker Compose (profiles: {', '.join(chosen) or 'none'})")
    started = time.monotonic()
    done = subprocess.run(
        compose("up", "--detach", "--wait", "--remove-orphans", *build, files=files),
        env=env,
        check=False,
    )
    if done.returncode != 0:
        say("the stack did not come up healthy; `nox -s stack_logs` shows why")
        return done.returncode
    say(f"all services healthy in {time.monotonic() - started:.1f} s")
    admin = settings.get("ADMIN_USERNAME") or "your admin"
    say(f"console: {published(env, 'frontend', 3000, files)}  (sign in as {admin})")
    if options.api_port:
        say(f"api: {published(env, 'api', 8000, files)}  (published for debugging)")
    if "bot" in chosen:
        say("bot: on")
    else:
        say(f"bot: off (no TELEGRAM_BOT_TOKEN in {env_file.name}; set it, run stack_up again)")
    api_python = compose("exec", "-T", "api", "python")
    offer_demo_data(api_python, env, options.seed, typed_as="docker compose exec api flask")
    return 0


def published(env: Mapping[str, str], service: str, port: int, files: Sequence[Path]) -> str:
    """The URL where the engine published a service's port."""
    done = subprocess.run(
        compose("port", service, str(port), files=files),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    address = done.stdout.strip().splitlines()[0] if done.stdout.strip() else f"?:{port}"
    return f"http://{address}"


# Run by webapi's python (in the api container, or the venv): how many messages are stored.
COUNT_MESSAGES = (
    "import sqlalchemy as sa\n"
    "from webapi.settings import load_settings\n"
    "engine = sa.create_engine(load_settings().DATABASE_URL)\n"
    "with engine.connect() as connection:\n"
    "    print(connection.execute(sa.text('SELECT count(*) FROM messages')).scalar())\n"
)


def offer_demo_data(
    python: Sequence[str],
    env: Mapping[str, str],
    seed: bool | None,
    *,
    typed_as: str,
    can_seed: Callable[[], bool] = lambda: True,
) -> None:
    """On a database without messages: load the demo data (`seed`), ask on a terminal, or say
    how. `python` runs webapi's Python (in the api container, or the project's venv), from the
    repository's folder; `typed_as` is how a user runs `flask` there."""
    if seed is False:
        return
    counted = subprocess.run(
        [*python, "-c", COUNT_MESSAGES], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if counted.stdout.strip() != "0":
        return  # messages, or no answer: nothing to offer
    if seed is None and sys.stdin.isatty():
        answer = input("stack: the database has no messages yet; load demo data? [y/N] ")
        seed = answer.strip().lower() in {"y", "yes"}
    if seed and can_seed():
        say(f"loading demo data: {typed_as} --app webapi seed-demo " + " ".join(DEMO_SEED))
        seeding = [*python, "-m", "flask", "--app", "webapi", "seed-demo", *DEMO_SEED]
        subprocess.run(seeding, cwd=ROOT, env=env, check=False)
        return
    say("no data yet; demo data for the dashboard: nox -s stack_up -- --seed, or")
    say(f"  {typed_as} --app webapi seed-demo " + " ".join(DEMO_SEED))


LOCAL_MODE_NOTE = (
    "no Docker engine answers, so the stack runs as local processes (if at all): they stop with"
    " Ctrl+C in the terminal running `nox -s stack_up`, and their output is in that terminal;"
    " nothing to do here"
)


def down(options: argparse.Namespace) -> int:
    if not engine_answers():
        say(LOCAL_MODE_NOTE)
        return 0
    args = ["down", "--remove-orphans"] + (["--volumes"] if options.volumes else [])
    done = subprocess.run(compose(*args), env=every_profile(), check=False)
    if done.returncode == 0:
        say("stopped; data removed" if options.volumes else "stopped; data kept")
    return done.returncode


def logs(options: argparse.Namespace) -> int:
    if not engine_answers():
        say(LOCAL_MODE_NOTE)
        return 0
    follow = ["--follow"] if options.follow else []
    return subprocess.run(
        compose("logs", "--timestamps", *follow, *options.services),
        env=every_profile(),
        check=False,
    ).returncode


def every_profile() -> dict[str, str]:
    """The environment for commands on every service, bot and postgres included, whichever
    were started."""
    return {**os.environ, "COMPOSE_PROFILES": "bot,postgres"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python devops/stack.py")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="build, start and wait until every service is healthy")
    start.add_argument("--api-port", action="store_true", help="publish the api on 127.0.0.1:8000")
    start.add_argument("--no-build", action="store_true", help="use the images already built")
    seeding = start.add_mutually_exclusive_group()
    seeding.add_argument("--seed", dest="seed", action="store_true", default=None)
    seeding.add_argument("--no-seed", dest="seed", action="store_false")
    stop = commands.add_parser("down", help="stop and remove the containers (data kept)")
    stop.add_argument("--volumes", action="store_true", help="remove the data volumes too")
    show = commands.add_parser("logs", help="the services' logs")
    show.add_argument("--follow", "-f", action="store_true")
    show.add_argument("services", nargs="*")
    options = parser.parse_args(argv)
    handlers = {"up": up, "down": down, "logs": logs}
    return handlers[options.command](options)


if __name__ == "__main__":
    sys.exit(main())
