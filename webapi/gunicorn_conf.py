"""gunicorn settings: gevent workers, so open streams and slow clients never block others.

Use: gunicorn -c python:webapi.gunicorn_conf "webapi:create_app()"

Every setting is validated here, in gunicorn's master, before any worker forks: a bad value
stops the server with one line (and exit status 1), instead of workers that fail to boot and
are restarted forever.
"""

# ruff: noqa: E402 (the imports follow gevent's patches, on purpose)

from __future__ import annotations

# gevent's patches go in before anything imports socket or ssl (the settings' imports do):
# patched later, modules that already hold the originals would block the worker's loop.
from gevent import monkey

monkey.patch_all()

import logging
import math
import os
import platform
import secrets
import sys

from webapi.settings import AppEnv, load_settings
from webapi.startup import check_startup

_settings = load_settings()
check_startup(_settings)

# The openai client describes the platform in its request headers, which runs `uname -p` in a
# child process the first time; asked here, the answer is cached before the workers fork.
platform.platform()

if _settings.SECRET_KEY is None and _settings.APP_ENV is AppEnv.DEVELOPMENT:
    # One signing key for the whole server: workers fork from here and read it, so a session
    # started on one worker holds on the others (until the server stops).
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(32)

bind = _settings.API_BIND
worker_class = "webapi.gunicorn_worker.Worker"
workers = _settings.API_WORKERS
worker_connections = _settings.API_CONNECTIONS
# Also the bound on reading a request's line and headers: a client that trickles them is cut.
keepalive = 5
# A worker busy streaming still heartbeats; this only catches a wedged worker.
timeout = 120
# On stop, answers in flight get their whole budget to finish.
graceful_timeout = math.ceil(_settings.LLM_TIMEOUT_S) + 5
# gunicorn's control socket (gunicornc) is not used; several servers would share its path.
control_socket_disable = True
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
