"""Deltas that are ready together leave as one: fewer, larger socket writes per answer.

An LLM sends a piece of text per chunk, often faster than a client can use them one by one
(Telegram edits a message about once a second, a browser paints 60 times). Writing each as its
own event costs the server a socket write and the client a parse per piece. So the answer is
read in a thread of its own (a greenlet under gevent) while its events are written, and the
writer joins the pieces that came meanwhile:
- the first piece goes out at once (the time to first token is never held back);
- after that, a piece waits at most FLUSH_INTERVAL_S for others to join it;
- the end of the answer (`done` or `error`) goes out at once, with what is pending before it.
The text is unchanged: the deltas, joined, are the answer; the database stores it once, whole.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

from flask import current_app

from webapi.domain.conversation import Event
from webapi.domain.llm import Delta

FLUSH_INTERVAL_S = 0.05


class Heartbeat:
    """Nothing new for a while: a stream that asked for heartbeats writes one (an SSE comment),
    so that a client who left is noticed within about that while, not at the answer's end."""


class _End:
    """The answer's events are all read (or reading them failed: `error`)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def coalesced(
    events: Iterator[Event], heartbeat_s: float | None = None
) -> Iterator[Event | Heartbeat]:
    """`events`, with consecutive deltas joined as described above, and a Heartbeat after
    each `heartbeat_s` without one. Closing this generator (the client went away) closes
    `events` too, in the thread that reads them."""
    ready: queue.Queue[Event | _End] = queue.Queue()
    stop = threading.Event()
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def read() -> None:
        error: BaseException | None = None
        try:
            with app.app_context():  # the answer's final write needs the app's database
                try:
                    for event in events:
                        ready.put(event)
                        if stop.is_set():
                            break
                finally:
                    # Stopped early, a generator's close() lets the answer record that it was
                    # cancelled (and release its LLM connection) in this thread.
                    close = getattr(events, "close", None)
                    if close is not None:
                        close()
        except BaseException as exc:  # handed to the writer, which raises it there
            error = exc
        ready.put(_End(error))

    reader = threading.Thread(target=read, name="answer-reader", daemon=True)
    reader.start()
    try:
        yield from _joined(ready, heartbeat_s)
    finally:
        stop.set()


def _joined(
    ready: queue.Queue[Event | _End], heartbeat_s: float | None
) -> Iterator[Event | Heartbeat]:
    last_flush: float | None = None
    carried: Event | _End | None = None  # read while joining, not a delta: next in line
    while True:
        try:
            item = carried if carried is not None else ready.get(timeout=heartbeat_s)
        except queue.Empty:
            yield Heartbeat()
            continue
        carried = None
        if isinstance(item, Delta):
            pieces = [item.text]
            while last_flush is not None:  # not the first piece: join what comes meanwhile
                left = last_flush + FLUSH_INTERVAL_S - time.monotonic()
                try:
                    following = ready.get(timeout=left) if left > 0 else ready.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(following, Delta):
                    carried = following
                    break
                pieces.append(following.text)
            yield Delta("".join(pieces))
            last_flush = time.monotonic()
        elif isinstance(item, _End):
            if item.error is not None:
                raise item.error
            return
        else:
            yield item
