"""The api container's healthcheck: `python -S -m webapi.healthcheck` exits 0 when webapi on
this host answers its readiness (GET /api/v1/health/ready: the database answers, migrations at
head) with 200, and 1 otherwise.

Docker runs it every second for as long as the container lives, so it is the standard
library's socket alone, without site packages: urllib.request's imports cost more CPU than this
whole check.
"""

from __future__ import annotations

import os
import socket
import sys

READY_PATH = "/api/v1/health/ready"
TIMEOUT_S = 2.0


def ready(port: int, timeout_s: float = TIMEOUT_S) -> bool:
    request = f"GET {READY_PATH} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as connection:
            connection.sendall(request)
            status_line = connection.makefile("rb").readline(256)
    except OSError:
        return False
    # "HTTP/1.1 200 OK"
    parts = status_line.split()
    return len(parts) >= 2 and parts[1] == b"200"


def main() -> int:
    # API_BIND is where gunicorn listens (host:port); its port, on loopback, is the check's.
    port = int(os.environ.get("API_BIND", "127.0.0.1:8000").rpartition(":")[2])
    return 0 if ready(port) else 1


if __name__ == "__main__":
    sys.exit(main())
