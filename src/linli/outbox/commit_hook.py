"""Telling whoever tails a stream that its events committed: in this process and, on PostgreSQL, in others.

`outbox.emit(..., stream=…)` marks the stream and topic on the session (`mark`). When the outermost
transaction commits, each marked stream gets
- on PostgreSQL, `pg_notify('linli_room', '<stream> <topic,topic…>')` in that same transaction, so the
  notification is delivered exactly when the events are visible, to every process LISTENing
  (`linli.outbox.listener` relays it to that process's `linli.outbox.signals`);
- after the commit, `signals.publish(stream, topics)` in this process.
A rollback of the whole transaction clears the marks. A rolled-back savepoint keeps its marks: the
hint then says "look" when there is nothing new, which only costs the listener one read.

The SQLAlchemy events are installed once, on the ORM `Session` class every `AsyncSession` runs on, when
this module is imported (the outbox service imports it).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session, SessionTransaction

from linli.outbox import signals

log = logging.getLogger(__name__)

CHANNEL = "linli_room"
# PostgreSQL refuses payloads of 8000 bytes or more; a stream with many topics sends its name alone
# (no topics = "anything may have changed").
MAX_PAYLOAD_BYTES = 1000
_MARKS = "linli.outbox.streams"  # session.info key: {stream: {topic, …}} committed with this transaction
_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', payload) FROM unnest(CAST(:payloads AS text[])) AS payload")


def mark(session: Any, *, stream: str, topic: str) -> None:
    """Remembers that this transaction wrote `topic` on `stream` (an AsyncSession or a Session)."""
    session.info.setdefault(_MARKS, {}).setdefault(stream, set()).add(topic)


def encode_payload(stream: str, topics: frozenset[str] | set[str]) -> str | None:
    """`stream topic,topic…`, or the stream alone when the topics would make it long; None if even that is."""
    payload = f"{stream} {','.join(sorted(topics))}".rstrip()
    if len(payload.encode()) <= MAX_PAYLOAD_BYTES:
        return payload
    return stream if len(stream.encode()) <= MAX_PAYLOAD_BYTES and " " not in stream else None


def decode_payload(payload: str) -> tuple[str, frozenset[str]]:
    stream, _, topics = payload.partition(" ")
    return stream, frozenset(t for t in topics.split(",") if t)


def publish_committed(marks: dict[str, set[str]]) -> None:
    """The in-process half: every listener of this process hears of the streams just committed."""
    for stream, topics in marks.items():
        signals.publish(stream, frozenset(topics))


def _outermost(session: Session) -> bool:
    return not session.in_nested_transaction()


def _before_commit(session: Session) -> None:
    marks = session.info.get(_MARKS)
    if not marks or not _outermost(session):
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    payloads = [p for p in (encode_payload(stream, topics) for stream, topics in marks.items()) if p is not None]
    if payloads:
        connection.execute(_NOTIFY, {"payloads": payloads})


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
        ("before_commit", _before_commit),
        ("after_commit", _after_commit),
        ("after_rollback", _after_rollback),
        ("after_soft_rollback", _after_soft_rollback),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


install()
