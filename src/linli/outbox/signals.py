"""In-process signal: "these streams got events that are now committed".

Whoever keeps something per process that a stream's events change (the room hub, the order path's
cache of what a live session sells) subscribes here. Publishers are the commit hook of this process's
transactions and the PostgreSQL listener, which relays other processes' commits (LISTEN/NOTIFY). A
signal is a hint to look at the database sooner, never the data itself: a missed one only costs the
listener its next poll or expiry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

# listener(stream, topics): `topics` are the topics committed on that stream (empty when unknown,
# e.g. a notification whose payload was cut short): treat empty as "anything may have changed".
# Listeners run inside the commit hook, on the event loop's thread: quick, no I/O (set an event, drop
# a cache entry).
StreamListener = Callable[[str, frozenset[str]], None]

_listeners: list[StreamListener] = []


def subscribe(listener: StreamListener) -> Callable[[], None]:
    """Registers `listener`; returns the function that removes it again."""
    _listeners.append(listener)

    def unsubscribe() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return unsubscribe


def publish(stream: str, topics: frozenset[str]) -> None:
    """Tells every listener; a listener that raises is logged and never stops the others (nor the commit)."""
    for listener in list(_listeners):
        try:
            listener(stream, topics)
        except Exception:  # noqa: BLE001 - a hint must not break the transaction that sent it
            log.exception("stream listener failed for %s", stream)
