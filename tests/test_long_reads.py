"""Long reads (the statistics) do not stall a gevent worker's other requests on SQLite."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from flask import Flask

from tests.support import ROOT
from webapi.database import long_read

# A gevent worker in miniature: one greenlet ticks every millisecond while another reads.
PROBE = """
from gevent import monkey
monkey.patch_all()
import json, sys
import gevent
import sqlalchemy as sa
from tests.support import dispose_app, make_app, make_settings
from webapi.database import QueryTimeoutError, long_read, read_session

native_ident = monkey.get_original("threading", "get_ident")
COUNT = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)"
         " SELECT max(i) FROM n")
ENDLESS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"

def read(sql):
    with read_session() as session:
        return native_ident(), session.execute(sa.text(sql)).scalar_one()

ticks = 0
def tick():
    global ticks
    while True:
        ticks += 1
        gevent.sleep(0.001)

app = make_app(make_settings(sys.argv[1], "http://127.0.0.1:9/v1", DATABASE_READ_TIMEOUT_S=1.0))
with app.app_context():
    gevent.spawn(tick)
    gevent.sleep(0.01)
    before = ticks
    reader, value = long_read(read, COUNT)
    found = {"value": value, "ticks": ticks - before, "thread": reader != native_ident()}
    try:
        long_read(read, ENDLESS)
        found["cut"] = False
    except QueryTimeoutError:
        found["cut"] = True
dispose_app(app)
print(json.dumps(found))
"""


def test_under_gevent_a_sqlite_read_leaves_the_other_greenlets_running(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'aidd.db'}"
    result = subprocess.run(  # noqa: S603 (a fixed command line)
        [sys.executable, "-c", PROBE, url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.splitlines()[-1])

    assert found["value"] == 300_000, "the read's result comes back"
    assert found["thread"], "the read ran in a thread of its own"
    assert found["ticks"] > 0, "the other greenlet ran while the read did"
    assert found["cut"], "the time limit still cuts a read there, and its error comes back"


def test_without_gevent_a_read_runs_in_the_calling_thread(sqlite_app: Flask) -> None:
    with sqlite_app.app_context():
        assert long_read(threading.get_ident) == threading.get_ident()
