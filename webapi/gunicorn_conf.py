"""gunicorn settings: gevent workers, so open streams and slow clients never block others.

Use: gunicorn -c python:webapi.gunicorn_conf "webapi:create_app()"

Every setting is validated here, in gunicorn's master, before any worker forks: a bad value
stops the server with one line (and exit status 1), instead of workers that fail to boot and
are restarted forever. The master then builds the app, and each worker forks from it sharing
its memory (preload_app and the hooks at the end).
"""

# ruff: noqa: E402 (the imports follow gevent's patches, on purpose)

from __future__ import annotations

# gevent's patches go in before anything imports socket or ssl (the settings' imports do):
# patched later, modules that already hold the originals would block the worker's loop.
from gevent import monkey

monkey.patch_all()

import gc
import logging
import math
import os
import platform
import secrets
import sys
from typing import Any

from webapi.database import dispose_read_engines
from webapi.domain import interruptions
from webapi.extensions import db
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

# The app is built once, here in the master, and every worker forks from it: the code and the
# objects they share stay one copy in memory (copy on write) instead of one per worker. What a
# worker must own is made in it: database connections, the sweeper of interrupted answers.
preload_app = True
interruptions.start_in_each_worker()

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


def pre_fork(server: Any, worker: Any) -> None:
    """In the master, before each worker forks."""
    if server.cfg.preload_app:
        # The connections building the app opened (the first admin's creation) are not to be
        # shared by several processes: the master lets them go, and each worker opens its own.
        _close_connections(server.app.wsgi())
    # The collector never visits what the master holds: a worker's collections would write to
    # every object they visit, and so copy every page the worker shares with the master.
    gc.collect()
    gc.freeze()


def post_worker_init(worker: Any) -> None:
    """In a worker, once it has forked and before it serves."""
    interruptions.start_sweeper(worker.wsgi, _settings.LLM_TIMEOUT_S)


def _close_connections(app: Any) -> None:
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()
    dispose_read_engines(app)
