"""Which stack the stack tests run on (tests/integration/mode.py): STACK_MODE decides without
asking the engine; unset, the engine's answer does, and local processes are never chosen
quietly."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devops import stack
from tests.integration.mode import choose_mode
from tests.processes import kernel_address


def never_asked() -> bool:
    raise AssertionError("the Docker engine was asked although STACK_MODE decides")


@pytest.mark.parametrize(
    ("value", "local"), [("local", True), ("compose", False), (" Local ", True), ("COMPOSE", False)]
)
def test_stack_mode_decides_without_asking_the_engine(value: str, local: bool) -> None:
    mode = choose_mode({"STACK_MODE": value}, never_asked)
    assert mode.local is local
    assert mode.reason == f"STACK_MODE={value.strip().lower()}"


@pytest.mark.parametrize("environ", [{}, {"STACK_MODE": ""}, {"STACK_MODE": "  "}])
def test_unset_the_engine_decides(environ: dict[str, str]) -> None:
    with_engine = choose_mode(environ, lambda: True)
    assert not with_engine.local
    assert with_engine.name == "Docker Compose"
    assert with_engine.header == "stack tests: Docker Compose (a Docker engine answers)"

    without = choose_mode(environ, lambda: False)
    assert without.local
    assert without.header == "stack tests: local processes (no Docker engine answers)"
    assert without.warning.startswith(
        "THE STACK TESTS RUN ON LOCAL PROCESSES, NOT DOCKER COMPOSE (no Docker engine answers)"
    )


def test_any_other_stack_mode_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="STACK_MODE='docker': use local, compose"):
        choose_mode({"STACK_MODE": "docker"}, never_asked)


@pytest.mark.parametrize(
    ("text", "family", "address"),
    [
        ("0100007F:1F90", socket.AF_INET, "127.0.0.1:8080"),
        ("00000000:0BB8", socket.AF_INET, "0.0.0.0:3000"),
        ("00000000000000000000000001000000:1F90", socket.AF_INET6, "[::1]:8080"),
        ("00000000000000000000000000000000:0050", socket.AF_INET6, "[::]:80"),
    ],
)
def test_proc_net_tcp_addresses_read_as_host_and_port(text: str, family: int, address: str) -> None:
    """How the local stack tests see where a process listens (tests/processes.py)."""
    assert kernel_address(text, family) == address


@pytest.mark.parametrize(("value", "answers"), [("local", False), ("compose", True)])
def test_stack_up_reads_stack_mode_from_the_env_file_too(
    value: str, answers: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # .env.example documents STACK_MODE as a setting of .env: stack_up must honour it there.
    env_file = tmp_path / ".env"
    env_file.write_text(f"# the mode\nSTACK_MODE={value}\n", encoding="utf-8")
    monkeypatch.setenv("ENV_FILE", str(env_file))
    monkeypatch.delenv("STACK_MODE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker to ask: the file alone decides
    assert stack.engine_answers() is answers


def test_the_environment_overrides_the_env_files_stack_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("STACK_MODE=compose\n", encoding="utf-8")
    monkeypatch.setenv("ENV_FILE", str(env_file))
    monkeypatch.setenv("STACK_MODE", "local")
    assert stack.engine_answers() is False
