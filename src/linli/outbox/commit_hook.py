"""Telling whoever tails a stream that its events committed: in this process and, on PostgreSQL, in others.

- In this process: `outbox.emit(..., stream=…)` marks the stream and topic on the session (`mark`); after
  the outermost transaction commits, `signals.publish(stream, topics)` for each marked stream. A rollback
  of the whole transaction clears the marks; a rolled-back savepoint keeps its marks (the hint then says
  "look" when there is nothing new, which only costs the listener one read).
- Other processes (PostgreSQL): a statement-level trigger on `outbox_events` (`linli.outbox.models`,
  migration 0005) runs `pg_notify('linli_room', '<stream> <topic,topic…>')` for the
  streams an INSERT wrote. NOTIFY is transactional, so it is delivered exactly when the events are
  visible, never for a rolled-back one, and it costs the writing transaction no round trip (a
  `SELECT pg_notify(…)` before the commit would add a statement to every order). Every LISTENing process
  (`linli.outbox.listener`) relays it to its own `linli.outbox.signals`.

The SQLAlchemy events are installed once, on the ORM `Session` class every `AsyncSession` runs on, when
this module is imported (the outbox service imports it).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from linli.outbox import signals
from linli.outbox.models import NOTIFY_CHANNEL

log = logging.getLogger(__name__)

CHANNEL = NOTIFY_CHANNEL
_MARKS = "linli.outbox.streams"  # session.info key: {stream: {topic, …}} committed with this transaction

def mark(session: Any, *, stream: str, topic: str) -> None:
    """Remembers that this transaction wrote `topic` on `stream` (an AsyncSession or a Session)."""
    session.info.setdefault(_MARKS, {}).setdefault(stream, set()).add(topic)


def decode_payload(payload: str) -> tuple[str, frozenset[str]]:
    stream, _, topics = payload.partition(" ")
    return stream, frozenset(t for t in topics.split(",") if t)


def publish_committed(marks: dict[str, set[str]]) -> None:
    """The in-process half: every listener of this process hears of the streams just committed."""
    for stream, topics in marks.items():
        signals.publish(stream, frozenset(topics))


def _outermost(session: Session) -> bool:
    return not session.in_nested_transaction()


def _after_commit(session: Session) -> None:
    if not _outermost(session):
        return
    marks = session.info.pop(_MARKS, None)
    if marks:
        publish_committed(marks)


def _after_rollback(session: Session) -> None:
    if _outermost(session):
        session.info.pop(_MARKS, None)


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(_MARKS, None)


def install() -> None:
    """Idempotent: the events are registered on the Session class once per process."""
    for name, listener in (
        ("after_commit", _after_commit),
        ("after_rollback", _after_rollback),
        ("after_soft_rollback", _after_soft_rollback),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


install()
