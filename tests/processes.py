"""What Linux's /proc says about processes the tests started: their descendants, whether they
live, the sockets they listen on and the files they hold open."""

from __future__ import annotations

import socket
import sys
from pathlib import Path


def process_stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command's name (state, ppid, pgrp, session, ...);
    None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def descendants(pid: int) -> set[int]:
    """Every living process below `pid` (whatever session or group it moved to)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = process_stat(int(entry.name))
        if fields is not None and fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def start_time(pid: int) -> str | None:
    """When the process started (clock ticks since boot): with its id, it names one process,
    even once the id is reused. None when there is no such process."""
    fields = process_stat(pid)
    return fields[19] if fields is not None else None


def alive(pid: int) -> bool:
    fields = process_stat(pid)
    return fields is not None and fields[0] != "Z"


def socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets the process holds (its fds' `socket:[INODE]` links)."""
    found = set()
    for target in _fd_targets(pid):
        if target.startswith("socket:["):
            found.add(target[len("socket:[") : -1])
    return found


def open_files(pid: int) -> set[Path]:
    """The files (paths) the process holds open."""
    return {Path(target) for target in _fd_targets(pid) if target.startswith("/")}


def _fd_targets(pid: int) -> list[str]:
    targets: list[str] = []
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return targets
    for fd in fds:
        try:
            targets.append(str(fd.readlink()))
        except OSError:
            continue  # closed meanwhile
    return targets


def listening_sockets() -> dict[str, str]:
    """TCP sockets listening in this network namespace: inode -> HOST:PORT ([HOST]:PORT for
    IPv6)."""
    found = {}
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            rows = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A":  # TCP_LISTEN
                found[fields[9]] = kernel_address(fields[1], family)
    return found


def kernel_address(text: str, family: int) -> str:
    """/proc/net/tcp's `0100007F:1F90` as `127.0.0.1:8080`: the address is hex, in 32-bit words
    of the machine's byte order; the port is hex."""
    host, port = text.split(":")
    raw = bytes.fromhex(host)
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = socket.inet_ntop(family, raw)
    if family == socket.AF_INET6:
        address = f"[{address}]"
    return f"{address}:{int(port, 16)}"
