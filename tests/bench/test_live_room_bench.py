"""`linli bench live-room`: a small room on a real server, every delivery counted, the bare floor beside it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from linli.bench import live_room
from linli.bench.sse_viewers import Tally, Viewer
from linli.cli import app
from tests.bench.test_settle_bench import _bench_postgres

FIGURES = {
    "viewers", "p50_ms", "p99_ms", "last_viewer_p99_ms", "missed", "memory_per_viewer_kb", "idle_db_xacts_per_second",
    "idle_db_xacts_per_second_10_viewers", "bare_p50_ms", "bare_p99_ms", "bare_last_viewer_p99_ms", "bare_missed",
    "ratio", "db", "events",
}


def test_a_small_room_gets_every_event_and_the_floor_runs_beside_it(backend, monkeypatch):
    _bench_postgres(monkeypatch)
    result = CliRunner().invoke(
        app,
        [
            "bench", "live-room", "--db", backend, "--viewers", "20", "--events", "5", "--idle-seconds", "1",
            "--stats-catch-up-seconds", "0", "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])  # stdout: `output` mixes in stderr
    assert FIGURES <= set(data)
    assert (data["db"], data["viewers"], data["events"]) == (backend, 20, 5)
    assert (data["viewers_connected"], data["missed"], data["duplicates"]) == (20, 0, 0)
    assert data["min_ms"] >= 0 and data["min_ms"] <= data["p50_ms"] <= data["p99_ms"] <= data["last_viewer_max_ms"]
    assert (data["bare_viewers_connected"], data["bare_missed"]) == (20, 0)
    assert 0 <= data["bare_min_ms"] <= data["bare_p50_ms"] <= data["bare_p99_ms"]
    assert data["ratio"] is not None and data["ratio"] > 0
    assert data["event_bytes"] > 0
    if backend == "postgresql":
        assert data["idle_db_xacts_per_second"] is not None and data["idle_db_xacts_per_second_10_viewers"] is not None
    else:
        assert data["idle_db_xacts_per_second"] is None and data["notes"]


@pytest.mark.parametrize("events", [1, 2, 5, 10, 11, 60, 200])
def test_the_evening_writes_exactly_the_events_asked_for(events):
    actions = live_room.plan_evening(events, phases=9)
    assert sum(live_room.EVENTS_PER_ACTION.get(a, 1) for a in actions) == events
    assert actions.count("phase") <= 9
    opened = False
    for action in actions:  # an offer is open before it is ordered from, announced or closed
        if action in ("order_offer", "announce", "close"):
            assert opened, actions
        opened = {"open": True, "close": False}.get(action, opened)
    if events >= 10:
        assert {"open", "close", "announce", "order_offer", "order_listing", "phase"} <= set(actions)


class _Transport:
    def write(self, data: bytes) -> None:
        self.sent = data

    def close(self) -> None:
        pass


async def test_a_viewer_reads_a_chunked_stream_however_it_is_cut():
    events = [
        b"retry: 3000\n\n",
        b'id: 7\nevent: snapshot\ndata: {"offers":[]}\n\n',
        b'id: 8\nevent: live.stock\ndata: {"left":9}\n\n',
        b": heartbeat\n\n",
        b'id: 9\nevent: live.order_ticker\ndata: {"name":"\xe5\xb0\x8f\xe6\x9d\x8e"}\n\n',
        b'id: 8\nevent: live.stock\ndata: {"left":9}\n\n',
    ]
    wire = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    wire += b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
    for step in (1, 7, len(wire)):
        viewer = Viewer(b"GET / HTTP/1.1\r\n\r\n", Tally())
        viewer.connection_made(_Transport())
        for start in range(0, len(wire), step):
            viewer.data_received(wire[start : start + step])
        assert viewer.status == 200
        assert viewer.snapshot_at is not None and viewer.tally.snapshots == 1
        assert sorted(viewer.arrivals) == [8, 9] and viewer.tally.events == 2
        assert viewer.duplicates == 1
