"""gunicorn settings: threaded workers, so streamed answers never block other requests.

Use: gunicorn -c python:webapi.gunicorn_conf "webapi:create_app()"

Every setting is validated here, in gunicorn's master, before any worker forks: a bad value
stops the server with one line (and exit status 1), instead of workers that fail to boot and
are restarted forever.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys

from webapi.settings import AppEnv, load_settings
from webapi.startup import check_startup

_settings = load_settings()
check_startup(_settings)

if _settings.SECRET_KEY is None and _settings.APP_ENV is AppEnv.DEVELOPMENT:
    # One signing key for the whole server: workers fork from here and read it, so a session
    # started on one worker holds on the others (until the server stops).
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(32)

bind = _settings.API_BIND
worker_class = "gthread"
workers = _settings.API_WORKERS
# Each streaming answer holds a thread for its whole length.
threads = _settings.API_THREADS
# A worker busy streaming still heartbeats; this only catches a wedged worker.
timeout = 120
graceful_timeout = 30
accesslog = "-"
errorlog = "-"
# webapi's own log lines (the first admin's creation, warnings) go where gunicorn's go; the
# workers fork from here and keep this handler.
_app_log = logging.getLogger("webapi")
if not _app_log.handlers:
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(
        logging.Formatter(
            "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
            "%Y-%m-%d %H:%M:%S %z",
        )
    )
    _app_log.addHandler(_handler)
    _app_log.setLevel(logging.INFO)
    _app_log.propagate = False
