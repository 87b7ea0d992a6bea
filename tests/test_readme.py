"""The README stands on its own in a clone, lists every error code, and its quick start works.

The quick start is run as a newcomer runs it: in a copy of the repository, each `bash` block of
the README's quick start in a terminal of its own (a clean environment: PATH and HOME only), its
commands in order. The test changes only the lines of .env that the README says to set.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from webapi.domain.outcomes import AnswerErrorCode
from webapi.errors import ErrorCode

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
LEADING_ASSIGNMENTS = re.compile(r"^((?:[A-Za-z_]\w*=\S*\s+)*)(.*)$", re.DOTALL)
QUICK_START = "## Quick start"
# Commands that serve until stopped: started in the background, stopped at the end.
STATISTICS = "## Dashboard statistics"
CHAT = "## Console chat and Insights"
CONSOLE = "## Console"
CONSOLE_PORT = 3000
BUILD_TIMEOUT_S = 900  # `npm ci` and `next build` on 2 busy cores
SERVERS = ("gunicorn", "tests.doubles.fake_llm")
SYNC_TIMEOUT_S = 600  # `uv sync` may download what the machine's uv cache lacks
COMMAND_TIMEOUT_S = 120
LISTEN_TIMEOUT_S = 120


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", DOCS, ids=relative)
def test_refers_to_nothing_outside_the_repository(path: Path) -> None:
    text = path.read_text()
    assert "../" not in text, f"{relative(path)} points outside its folder"
    assert "DESIGN.md" not in text, f"{relative(path)} points at the workspace's design"
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        linked = (path.parent / target.split("#")[0]).resolve()
        assert linked.is_relative_to(ROOT), f"{relative(path)} links outside: {target}"
        assert linked.exists(), f"{relative(path)} links to a missing file: {target}"


def test_readme_leads_to_the_docs() -> None:
    assert "](docs/architecture.md)" in README.read_text()


@pytest.mark.parametrize(
    "code", [*ErrorCode, *AnswerErrorCode], ids=lambda code: f"{type(code).__name__}.{code}"
)
def test_readme_explains_every_error_code(code: ErrorCode | AnswerErrorCode) -> None:
    # A table row of its own: the code, then what it means and when it happens.
    row = re.compile(rf"^\| `{re.escape(code.value)}` \|.*\w.*\|$", re.MULTILINE)
    assert row.search(README.read_text()), f"the README does not explain `{code.value}`"


# --- the quick start, run as written ----------------------------------------------------------


def section_of(readme: str, heading: str) -> str:
    assert heading in readme, f"the README has no section {heading!r}"
    return readme.split(heading, 1)[1].split("\n## ", 1)[0]


def quick_start_section(readme: str) -> str:
    return section_of(readme, QUICK_START)


def quick_start_terminals(section: str) -> list[list[str]]:
    """The commands of each bash block, one list per terminal; continued lines joined."""
    terminals = []
    for block in re.findall(r"^```bash\n(.*?)^```$", section, re.MULTILINE | re.DOTALL):
        commands, continued = [], ""
        for line in block.splitlines():
            if line.endswith("\\"):
                continued += line[:-1]
                continue
            command, continued = (continued + line).strip(), ""
            if command and not command.startswith("#"):
                commands.append(command)
        terminals.append(commands)
    return terminals


def copy_repository(target: Path) -> None:
    """The repository's files as they are in the working tree, uncommitted changes included.

    New files not yet added to git count too (the ignored ones, such as .venv and .env, don't).
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file may be deleted in the working tree
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def newcomer_path() -> str:
    """The PATH of a shell outside any virtualenv (pytest may run inside one, e.g. nox's)."""
    own_bin = str(Path(sys.prefix) / "bin")
    inside_venv = sys.prefix != sys.base_prefix
    folders = os.environ["PATH"].split(os.pathsep)
    return os.pathsep.join(f for f in folders if not (inside_venv and f == own_bin))


def port_taken(port: int) -> bool:
    """Whether something listens on the port (as servers do, ignoring closed connections')."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def set_in_env_file(path: Path, values: dict[str, str]) -> None:
    """Change the given NAME=value lines, and nothing else."""
    lines = path.read_text().splitlines()
    for name, value in values.items():
        found = [i for i, line in enumerate(lines) if line.startswith(f"{name}=")]
        assert len(found) == 1, f".env should assign {name} once, not {len(found)} times"
        lines[found[0]] = f"{name}={value}"
    path.write_text("\n".join(lines) + "\n")


def streamed_text(sse: str) -> str:
    """The text of an answer stream's `delta` events, joined."""
    texts = []
    for event in sse.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in event.splitlines() if ": " in line)
        if fields.get("event") == "delta":
            texts.append(json.loads(fields["data"])["text"])
    return "".join(texts)


@dataclass
class Server:
    command: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Newcomer:
    """Terminals in one folder; each keeps what its commands exported, and the folder it
    changed to, as a shell does."""

    folder: Path
    scratch: Path
    transcript: list[str] = field(default_factory=list)
    servers: list[Server] = field(default_factory=list)

    def environment(self) -> dict[str, str]:
        return {"PATH": newcomer_path(), "HOME": os.environ.get("HOME", str(Path.home()))}

    def script(self, terminal: int, command: str, *, serve: bool = False) -> str:
        """bash that resumes the terminal's exports and folder, runs the command, and keeps the
        new exports and folder."""
        state = self.scratch / f"terminal-{terminal}.exports"
        folder = self.scratch / f"terminal-{terminal}.folder"
        lines = ["set -e -o pipefail"]
        if state.exists():
            lines.append(f". {shlex.quote(str(state))}")
        if folder.exists():
            lines.append(f"cd {shlex.quote(folder.read_text())}")
        if serve:
            # The server is the process started here; `NAME=value exec server` passes a
            # command's own assignments on (`exec NAME=value server` would not run).
            split = LEADING_ASSIGNMENTS.fullmatch(command)
            assert split is not None  # the pattern matches any command
            lines.append(f"{split[1]}exec {split[2]}")
        else:
            lines += [
                command,
                f"export -p > {shlex.quote(str(state))}",
                f'printf %s "$PWD" > {shlex.quote(str(folder))}',
            ]
        return "\n".join(lines) + "\n"

    def run(self, terminal: int, command: str, timeout: float) -> str:
        """Run one command to its end; it must exit 0. Its standard output."""
        process = subprocess.Popen(  # noqa: S603 (the README's own commands)
            ["bash", "-c", self.script(terminal, command)],  # noqa: S607
            cwd=self.folder,
            env=self.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            self.record(terminal, command, f"killed after {timeout} s", stdout, stderr)
            raise AssertionError(f"`{command}` did not end within {timeout} s") from None
        self.record(terminal, command, f"exit {process.returncode}", stdout, stderr)
        assert process.returncode == 0, f"`{command}` exited {process.returncode}: {stderr}"
        return stdout

    def serve(self, terminal: int, command: str, port: int) -> Server:
        """Start a command that serves until stopped, and wait until it listens on `port`."""
        log = self.scratch / f"server-{len(self.servers) + 1}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 (the README's own commands)
                ["bash", "-c", self.script(terminal, command, serve=True)],  # noqa: S607
                cwd=self.folder,
                env=self.environment(),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(command, process, log)
        self.servers.append(server)
        self.record(terminal, command, f"started in the background, pid {process.pid}", "", "")
        deadline = time.monotonic() + LISTEN_TIMEOUT_S
        while time.monotonic() < deadline:
            assert process.poll() is None, f"`{command}` exited {process.returncode} at start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                time.sleep(0.2)
            else:
                return server
        raise AssertionError(f"`{command}` did not listen on port {port} in {LISTEN_TIMEOUT_S} s")

    def stop(self) -> None:
        """Stop the servers, newest first; what they started goes with them."""
        for server in reversed(self.servers):
            process = server.process
            if process.poll() is None:
                process.terminate()  # `uv run` passes the signal on to the server
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=30)
            # Its own session (start_new_session): whatever is left of it, and nothing else.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

    def record(self, terminal: int, command: str, outcome: str, stdout: str, stderr: str) -> None:
        entry = f"[terminal {terminal}] $ {command}\n({outcome})"
        for name, text in (("stdout", stdout), ("stderr", stderr)):
            if text.strip():
                entry += f"\n--- {name}:\n{text.rstrip()[-4000:]}"
        self.transcript.append(entry)

    def report(self) -> str:
        parts = ["=== the quick start, as run ===", *self.transcript]
        for server in self.servers:
            output = server.log.read_text(errors="replace").rstrip()[-8000:]
            parts.append(f"=== output of `{server.command}` ===\n{output}")
        return "\n\n".join(parts)


def only(commands: list[str], *words: str) -> str:
    found = [command for command in commands if all(word in command for word in words)]
    assert len(found) == 1, f"the quick start should have one command with {words}: {found}"
    return found[0]


def test_quick_start_runs_as_written(tmp_path: Path) -> None:
    section = quick_start_section(README.read_text())
    terminals = quick_start_terminals(section)
    commands = [command for terminal in terminals for command in terminal]
    fake_llm = only(commands, "tests.doubles.fake_llm")
    fake_port = int(re.findall(r"--port (\d+)", fake_llm)[0])
    shipped_bind = re.findall(r"^API_BIND=(.*)$", (ROOT / ".env.example").read_text(), re.M)
    assert shipped_bind == ["127.0.0.1:8000"], "the quick start expects API_BIND as shipped"
    api_port = 8000
    for port in (api_port, fake_port):
        if port_taken(port):
            pytest.fail(
                f"port {port} on 127.0.0.1 is taken, and the quick start serves on it: "
                "stop whatever listens there, then run this test again",
                pytrace=False,
            )
    # What the README tells a newcomer to set in .env, and nothing else.
    changes = {
        "BOT_API_TOKEN": secrets.token_hex(16),
        "SECRET_KEY": secrets.token_hex(16),
        "ADMIN_USERNAME": "admin",
        "ADMIN_PASSWORD": secrets.token_hex(8),
        "LLM_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
    }
    for name in changes:
        assert f"`{name}" in section, f"the quick start does not say to set {name}"
    assert f"`LLM_BASE_URL={changes['LLM_BASE_URL']}`" in section

    folder = tmp_path / "repository"
    copy_repository(folder)
    newcomer = Newcomer(folder, tmp_path)
    outputs: dict[str, str] = {}
    failure = None
    try:
        for terminal, lines in enumerate(terminals, start=1):
            for command in lines:
                if any(word in command for word in SERVERS):
                    port = fake_port if "fake_llm" in command else api_port
                    newcomer.serve(terminal, command, port)
                    continue
                timeout = SYNC_TIMEOUT_S if command.startswith("uv sync") else COMMAND_TIMEOUT_S
                outputs[command] = newcomer.run(terminal, command, timeout)
                if command.startswith("cp .env.example .env"):
                    set_in_env_file(folder / ".env", changes)
        check_outcome(folder, commands, outputs, newcomer)
        try_the_statistics(newcomer, first_terminal=len(terminals) + 1)
        try_the_chat(newcomer, first_terminal=len(terminals) + 10)
        try_the_console(newcomer, changes, first_terminal=len(terminals) + 20)
    except AssertionError as exc:
        failure = str(exc)
    finally:
        newcomer.stop()
        shutil.rmtree(folder / ".venv", ignore_errors=True)  # hundreds of MB, kept by pytest
    if failure is not None:
        pytest.fail(f"{failure}\n\n{newcomer.report()}", pytrace=False)


def check_outcome(
    folder: Path, commands: list[str], outputs: dict[str, str], newcomer: Newcomer
) -> None:
    assert (folder / "data" / "aidd.db").is_file(), "data/aidd.db was not created in the folder"

    ready = json.loads(outputs[only(commands, "curl", "/api/v1/health/ready")])
    assert ready["status"] == "ready", f"webapi is not ready: {ready}"

    upsert = only(commands, "curl", "-X PUT", "/api/v1/bot/users/42")
    gunicorn_log = next(s for s in newcomer.servers if "gunicorn" in s.command).log.read_text()
    assert '"PUT /api/v1/bot/users/42 HTTP/1.1" 200 ' in gunicorn_log, "the upsert was not a 200"
    assert json.loads(outputs[upsert])["telegram_id"] == 42

    message = only(commands, "curl", "-X POST", "/api/v1/bot/users/42/messages")
    stream = outputs[message]
    assert "event: delta" in stream, "the answer streamed no delta"
    assert "event: done" in stream, "the answer did not end with done"
    sent = json.loads(re.findall(r"-d '(\{.*\})'", message)[0])["text"]
    assert streamed_text(stream) == f"Echo: {sent}", "the answer is not the fake LLM's echo"


def try_the_statistics(newcomer: Newcomer, first_terminal: int) -> None:
    """The statistics section's blocks, each in a new terminal, while the quick start's server
    (with its one conversation) still serves."""
    terminals = quick_start_terminals(section_of(README.read_text(), STATISTICS))
    outputs: dict[str, str] = {}
    for terminal, lines in enumerate(terminals, start=first_terminal):
        for command in lines:
            outputs[command] = newcomer.run(terminal, command, COMMAND_TIMEOUT_S)
    commands = [command for terminal in terminals for command in terminal]
    seeded = outputs[only(commands, "seed-demo")]
    assert seeded.startswith("seeded 100,000 messages"), seeded
    assert (newcomer.folder / "data" / "demo.db").is_file(), "the demo data went elsewhere"
    assert outputs[only(commands, "purge")].startswith("purged "), "the purge said nothing"
    overview = json.loads(outputs[only(commands, "curl", "/stats/overview")])
    # The quick start's one question and its answer, in the server's database.
    assert overview["dialogs"]["value"] == 1, overview
    assert overview["user_messages"]["value"] == 1, overview
    assert overview["dialogs"]["change_pct"] is None, "no previous week: no change"
    csv_rows = outputs[only(commands, "curl", "/stats/activity")].strip().splitlines()
    assert csv_rows[0] == "start,user_messages,assistant_messages,active_users", csv_rows[0]
    assert len(csv_rows) - 1 in (24, 25), "an hour a row, over the last 24 hours"
    assert sum(int(row.split(",")[1]) for row in csv_rows[1:]) == 1


def try_the_chat(newcomer: Newcomer, first_terminal: int) -> None:
    """The chat section's block in a new terminal, against the quick start's server."""
    terminals = quick_start_terminals(section_of(README.read_text(), CHAT))
    assert len(terminals) == 1, "the chat section has one block to try"
    outputs = {
        command: newcomer.run(first_terminal, command, COMMAND_TIMEOUT_S)
        for command in terminals[0]
    }
    commands = terminals[0]
    message = only(commands, "curl", "/messages")
    stream = outputs[message]
    assert "event: done" in stream, "the console's answer did not end with done"
    sent = json.loads(re.findall(r"-d '(\{.*\})'", message)[0])["text"]
    assert streamed_text(stream) == f"Echo: {sent}", "the answer is not the fake LLM's echo"
    listed = json.loads(outputs[commands[-1]])
    assert listed["total"] == 1, listed
    assert listed["dialogs"][0]["title"] == sent, listed
    assert listed["dialogs"][0]["message_count"] == 2, listed


def try_the_console(newcomer: Newcomer, env: dict[str, str], first_terminal: int) -> None:
    """The console section's block in a new terminal: built, started, and signed in to with
    the quick start's admin, through the console's own proxy to the quick start's webapi."""
    if port_taken(CONSOLE_PORT):
        raise AssertionError(f"port {CONSOLE_PORT} on 127.0.0.1 is taken: stop what listens there")
    section = section_of(README.read_text(), CONSOLE + "\n")
    terminals = quick_start_terminals(section)
    assert len(terminals) == 1, "the console section has one block to try"
    for command in terminals[0]:
        if "server.js" in command:
            newcomer.serve(first_terminal, command, CONSOLE_PORT)
        else:
            newcomer.run(first_terminal, command, BUILD_TIMEOUT_S)
    console = f"http://127.0.0.1:{CONSOLE_PORT}"
    with httpx.Client(base_url=console, timeout=30) as browser:
        assert "Sign in" in browser.get("/login").text
        assert browser.get("/").status_code == 307, "a signed-out visit goes to sign-in"
        signed_in = browser.post(
            "/api/v1/auth/login",
            json={"username": env["ADMIN_USERNAME"], "password": env["ADMIN_PASSWORD"]},
            headers={"Origin": console},
        )
        assert signed_in.status_code == 200, signed_in.text
        dashboard = browser.get("/")
        assert dashboard.status_code == 200, dashboard.text[:2000]
        assert "Dashboard" in dashboard.text


def test_trying_the_bot_shows_the_readmes_conversation() -> None:
    """`nox -s try_bot` (python -m tests.try_bot) plays the exchanges the README shows."""
    text = README.read_text()
    match = re.search(r"\*\*No Telegram at hand\?\*\*.*?```text\n(.*?)```", text, re.S)
    assert match is not None, "the README shows no conversation of the bot"
    assert 'session.run("python", "-m", "tests.try_bot"' in (ROOT / "noxfile.py").read_text()
    tried = subprocess.run(
        [sys.executable, "-m", "tests.try_bot"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    assert tried.returncode == 0, tried.stderr[-2000:]
    for exchange in match[1].strip().split("\n\n"):
        assert exchange in tried.stdout, f"not what the bot says:\n{exchange}\n---\n{tried.stdout}"
