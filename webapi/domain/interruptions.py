"""Questions whose answer can no longer arrive are marked `interrupted`, never left pending.

An answer is two write transactions: the question is stored `pending`, then the answer (or the
failure) settles it. If the process answering dies in between (kill -9, a crash, a restart),
nothing settles it. The LLM call ends within LLM_TIMEOUT_S whatever the endpoint does, so a
question still pending MARGIN_S after that is dead: every serving process sweeps such questions
on start and every few seconds after, one short UPDATE that any worker of any replica may run.

The answer's own final transaction settles only a question that is still pending, so an answer
that comes later than the sweep is not stored (its stream ends with `interrupted`): a row is
never half-written, whichever of the two gets there first.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask

from webapi.database import read_session, write_session
from webapi.domain.outcomes import AnswerErrorCode
from webapi.extensions import db
from webapi.models import Message, Status, pending_question, utcnow

log = logging.getLogger(__name__)

# Beyond LLM_TIMEOUT_S: the step from the question's commit to the LLM call, the final write's
# wait for the database, and the clocks of several replicas.
MARGIN_S = 5.0
# How often a serving process sweeps (at most): a dead question is marked within
# LLM_TIMEOUT_S + MARGIN_S + this.
MAX_PERIOD_S = 5.0


def horizon_s(llm_timeout_s: float) -> float:
    """How long a question may be pending while its answer can still arrive."""
    return llm_timeout_s + MARGIN_S


def period_s(llm_timeout_s: float) -> float:
    return min(MAX_PERIOD_S, llm_timeout_s / 2)


def longest_pending_s(llm_timeout_s: float) -> float:
    """By then a question has been answered, has failed or has been marked interrupted."""
    return horizon_s(llm_timeout_s) + period_s(llm_timeout_s)


def sweep(llm_timeout_s: float, now: datetime | None = None) -> int:
    """Mark every question pending for longer than the horizon as interrupted; how many."""
    cutoff = (now or utcnow()) - timedelta(seconds=horizon_s(llm_timeout_s))
    # Look first, in a read-only transaction: most sweeps find nothing and take no write lock.
    # Every pending question, from the small partial index (one per dialog being answered); the
    # age is checked here, as a condition on created_at could lead a planner to scan by time.
    with read_session(fresh=True) as session:
        pending = session.execute(
            sa.select(Message.id, Message.created_at).where(pending_question())
        )
        dead = [question for question, created_at in pending if created_at < cutoff]
    if not dead:
        return 0
    with write_session() as session:
        marked = session.scalars(
            sa.update(Message)
            .where(Message.id.in_(dead), Message.status == Status.PENDING)  # answered meanwhile?
            .values(status=Status.ERROR, error_code=AnswerErrorCode.INTERRUPTED)
            .returning(Message.id)
            .execution_options(synchronize_session=False)
        ).all()
    if marked:
        log.warning(
            "%d question(s) pending for over %.0f s marked interrupted (ids %s)",
            len(marked),
            horizon_s(llm_timeout_s),
            ", ".join(map(str, marked[:20])),
        )
    return len(marked)


# Set by webapi/gunicorn_conf.py: gunicorn builds the app once, in its master, and every worker
# forks from it; a sweeper started there would run in the master alone, so each worker starts
# its own once it has forked.
_started_by_each_worker = False


def start_in_each_worker() -> None:
    """From now on the app's builder leaves the sweeper to the server's worker processes."""
    global _started_by_each_worker
    _started_by_each_worker = True


def started_by_each_worker() -> bool:
    return _started_by_each_worker


def start_sweeper(app: Flask, llm_timeout_s: float) -> threading.Event:
    """Sweep now and every period_s, in a daemon thread of this process (a greenlet under
    gevent's patches), until the app's database engine is disposed; the event stops it too."""
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                with app.app_context():
                    sweep(llm_timeout_s)
            except Exception as exc:  # the database may be down or not migrated yet: next time
                log.warning("interrupted questions not swept now (%s)", type(exc).__name__)
            stop.wait(period_s(llm_timeout_s))

    thread = threading.Thread(target=run, name="aidd-interruptions", daemon=True)

    def on_dispose(_engine: sa.Engine) -> None:
        # Let a sweep under way end first: a connection it took after the engines were
        # disposed would be left open.
        stop.set()
        if thread is not threading.current_thread():
            thread.join(timeout=10)

    with app.app_context():
        sa.event.listen(db.engine, "engine_disposed", on_dispose)
    thread.start()
    return stop
