"""gunicorn settings: threaded workers, so streamed answers never block other requests.

Use: gunicorn -c python:webapi.gunicorn_conf "webapi:create_app()"
"""

from __future__ import annotations

import os
import sys
from typing import Any

from webapi.settings import ConfigError, load_settings

bind = os.environ.get("API_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("API_WORKERS", "2"))
# Each streaming answer holds a thread for its whole length.
threads = int(os.environ.get("API_THREADS", "32"))
# A worker busy streaming still heartbeats; this only catches a wedged worker.
timeout = 120
graceful_timeout = 30
accesslog = "-"
errorlog = "-"


def on_starting(server: Any) -> None:
    """Refuse to start on bad settings with one clear line, before any worker forks."""
    try:
        load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
