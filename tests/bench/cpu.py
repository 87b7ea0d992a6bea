"""CPU time of the benchmark's processes, read from /proc."""

from __future__ import annotations

import os
from pathlib import Path


def process_tree_cpu_s(pid: int) -> float:
    """CPU time (user + system) of a process and all its descendants alive now, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue  # it ended meanwhile
    return total
