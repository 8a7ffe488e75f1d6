"""The outbox's commit hook: a stream's listeners hear of its events when, and only when, they commit."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from linli.outbox import commit_hook, signals
from linli.outbox.service import emit
from tests.conftest import POSTGRESQL_ONLY, START


@pytest.fixture
def heard():
    got: list[tuple[str, frozenset[str]]] = []
    unsubscribe = signals.subscribe(lambda stream, topics: got.append((stream, topics)))
    yield got
    unsubscribe()


async def test_listeners_hear_the_streams_a_transaction_committed(db, heard):
    async with db.transaction() as s:
        emit(s, topic="live.stock", payload={}, now=START, stream="live_session:1")
        assert heard == []  # nothing before the commit
        async with s.begin_nested():
            emit(s, topic="live.order_ticker", payload={}, now=START, stream="live_session:1")
        assert heard == []  # a savepoint's release is not the commit
        emit(s, topic="live.comment", payload={}, now=START, stream="live_session:2")
        emit(s, topic="order.placed", payload={}, now=START)  # no stream: nothing to tell
    assert sorted(heard) == [
        ("live_session:1", frozenset({"live.stock", "live.order_ticker"})),
        ("live_session:2", frozenset({"live.comment"})),
    ]


async def test_a_rolled_back_transaction_tells_nobody(db, heard):
    with pytest.raises(RuntimeError):
        async with db.transaction() as s:
            emit(s, topic="live.stock", payload={}, now=START, stream="live_session:1")
            raise RuntimeError("refused")
    async with db.transaction() as s:
        await s.execute(text("SELECT 1"))
    assert heard == []


@POSTGRESQL_ONLY  # NOTIFY is PostgreSQL's
async def test_on_postgresql_the_commit_notifies_other_processes(db):
    """The outbox's trigger: one notification per stream an INSERT wrote, sent at commit, never for a rollback."""
    import asyncio

    import asyncpg

    from linli.outbox.listener import asyncpg_dsn

    received: list[tuple[str, frozenset[str]]] = []
    arrived = asyncio.Event()

    def on_notify(_connection, _pid, _channel, payload: str) -> None:
        received.append(commit_hook.decode_payload(payload))
        arrived.set()

    other = await asyncpg.connect(asyncpg_dsn(db.url))
    try:
        await other.add_listener(commit_hook.CHANNEL, on_notify)
        with pytest.raises(RuntimeError):
            async with db.transaction() as s:
                emit(s, topic="live.comment", payload={}, now=START, stream="live_session:7")
                await s.flush()
                raise RuntimeError("refused")
        async with db.transaction() as s:
            emit(s, topic="live.stock", payload={}, now=START, stream="live_session:8")
            emit(s, topic="live.order_ticker", payload={}, now=START, stream="live_session:8")
            emit(s, topic="order.placed", payload={}, now=START)
            await s.flush()
            emit(s, topic="live.comment", payload={"body": "x"}, now=START, stream="live_session:9")
        async with asyncio.timeout(10):
            while {stream for stream, _ in received} != {"live_session:8", "live_session:9"}:
                arrived.clear()
                await arrived.wait()
    finally:
        await other.close()
    assert sorted(received) == [  # the rolled-back one never went out
        ("live_session:8", frozenset({"live.stock", "live.order_ticker"})),
        ("live_session:9", frozenset({"live.comment"})),
    ]
