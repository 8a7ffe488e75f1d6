"""A lean crowd of Server-Sent-Events viewers for `linli bench live-room`.

Thousands of viewers share the two cores with the server under test, so each is a bare asyncio
Protocol (no HTTP library): it sends one GET, decodes the chunked body, splits it into SSE blocks and
notes, for every block with an `id:`, the `time.perf_counter()` of the read that completed it. The first
`snapshot` event is counted apart from the events. Nothing reconnects: a viewer whose stream ends or
breaks simply stops receiving, and whatever it did not get counts as missed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from linli.bench.harness import percentile

SNAPSHOT = b"snapshot"


@dataclass
class Tally:
    """Counts shared by the whole crowd (cheap to poll while waiting)."""

    snapshots: int = 0
    events: int = 0  # blocks with an id that are not the snapshot, over all viewers


class Viewer(asyncio.Protocol):
    def __init__(self, request: bytes, tally: Tally) -> None:
        self.request = request
        self.tally = tally
        self.transport: asyncio.Transport | None = None
        self.status: int | None = None
        self.head: bytearray | None = bytearray()  # None once the response head is read
        self.chunked = False
        self.ended = False  # the last chunk came: nothing after it is the stream's
        self.raw = bytearray()  # chunked framing not yet decoded
        self.body = bytearray()  # decoded SSE text not yet split into blocks
        self.snapshot_at: float | None = None
        self.arrivals: dict[int, float] = {}  # event id -> perf_counter of its arrival
        self.duplicates = 0
        self.event_bytes = 0  # SSE bytes of the events (not the snapshot): the floor sends the same size
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment] - uvloop's transports are not asyncio.Transport subclasses
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if self.head is not None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.head[:end]).lower()
            self.status = int(head.split(b" ", 2)[1])
            self.chunked = b"transfer-encoding: chunked" in head
            data = bytes(self.head[end + 4 :])
            self.head = None
        if self.ended:
            return
        if self.chunked:
            self.raw += data
            self._dechunk()
        else:
            self.body += data
        self._split(now)

    def _dechunk(self) -> None:
        raw, position = self.raw, 0
        while True:
            line_end = raw.find(b"\r\n", position)
            if line_end < 0:
                break
            size = int(bytes(raw[position:line_end]).split(b";", 1)[0], 16)
            if size == 0:  # the last chunk: the server ended the stream
                self.ended = True
                position = len(raw)
                break
            data_end = line_end + 2 + size
            if len(raw) < data_end + 2:
                break
            self.body += raw[line_end + 2 : data_end]
            position = data_end + 2
        del raw[:position]

    def _split(self, now: float) -> None:
        body = self.body
        start = 0
        while (end := body.find(b"\n\n", start)) >= 0:
            self._block(bytes(body[start:end]), now)
            start = end + 2
        if start:
            del body[:start]

    def _block(self, block: bytes, now: float) -> None:
        event_id: int | None = None
        topic = b""
        for line in block.split(b"\n", 2)[:2]:  # `id:` and `event:` come first; `data:` may be long
            if line.startswith(b"id: "):
                event_id = int(line[4:])
            elif line.startswith(b"event: "):
                topic = line[7:]
        if topic == SNAPSHOT:
            if self.snapshot_at is None:
                self.snapshot_at = now
                self.tally.snapshots += 1
            return
        if event_id is None:
            return  # retry:, heartbeats, session_ended
        if event_id in self.arrivals:
            self.duplicates += 1
            return
        self.arrivals[event_id] = now
        self.event_bytes += len(block) + 2
        self.tally.events += 1

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


@dataclass
class Crowd:
    """Viewers of one SSE endpoint, opened in batches so that the server is not flooded at once."""

    host: str
    port: int
    path: str
    tally: Tally = field(default_factory=Tally)
    viewers: list[Viewer] = field(default_factory=list)
    failed_to_connect: int = 0

    @property
    def connected(self) -> list[Viewer]:
        """Viewers that got their snapshot and whose stream is still open."""
        return [v for v in self.viewers if v.snapshot_at is not None and not v.closed.done()]

    async def grow(self, total: int, *, batch: int, batch_timeout: float, deadline: float) -> None:
        """Opens viewers until there are `total`; each batch waits for its snapshots (or its timeout)."""
        loop = asyncio.get_running_loop()
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAccept: text/event-stream\r\n"
            "Cache-Control: no-cache\r\n\r\n"
        ).encode()
        while len(self.viewers) + self.failed_to_connect < total and time.monotonic() < deadline:
            size = min(batch, total - len(self.viewers) - self.failed_to_connect)
            opened = await asyncio.gather(
                *(loop.create_connection(lambda: Viewer(request, self.tally), self.host, self.port) for _ in range(size)),
                return_exceptions=True,
            )
            fresh = [protocol for item in opened if not isinstance(item, BaseException) for protocol in [item[1]]]
            self.failed_to_connect += size - len(fresh)
            self.viewers += fresh
            until = min(deadline, time.monotonic() + batch_timeout)
            while time.monotonic() < until and any(v.snapshot_at is None and not v.closed.done() for v in fresh):
                await asyncio.sleep(0.02)

    async def wait_for_events(self, expected: int, *, until: float) -> None:
        """Returns once the crowd has received `expected` events in all, or at perf_counter `until`."""
        while self.tally.events < expected and time.perf_counter() < until:
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        for viewer in self.viewers:
            viewer.close()
        if self.viewers:
            await asyncio.wait([v.closed for v in self.viewers], timeout=10)

    def mean_event_bytes(self) -> int:
        sent = sum(v.event_bytes for v in self.viewers)
        received = sum(len(v.arrivals) for v in self.viewers)
        return round(sent / received) if received else 0


@dataclass(frozen=True)
class Deliveries:
    delays_ms: list[float]
    last_viewer_ms: list[float]  # per event that anyone got: the delay of the last viewer to get it
    missed: int
    duplicates: int

    def figures(self, prefix: str = "") -> dict[str, float | int]:
        return {
            f"{prefix}min_ms": round(min(self.delays_ms, default=0.0), 3),  # 3 places: a negative delay must show
            f"{prefix}p50_ms": round(percentile(self.delays_ms, 0.50), 1),
            f"{prefix}p99_ms": round(percentile(self.delays_ms, 0.99), 1),
            f"{prefix}last_viewer_p50_ms": round(percentile(self.last_viewer_ms, 0.50), 1),
            f"{prefix}last_viewer_p99_ms": round(percentile(self.last_viewer_ms, 0.99), 1),
            f"{prefix}last_viewer_max_ms": round(max(self.last_viewer_ms, default=0.0), 1),
            f"{prefix}missed": self.missed,
        }


def deliveries(viewers: list[Viewer], *, sent_at: dict[int, float], expected_viewers: int, cutoff: float) -> Deliveries:
    """Delay of every delivery of the events in `sent_at` (id -> perf_counter of its commit) received by `cutoff`.

    Expected deliveries are `expected_viewers` × events: a viewer that never connected, or whose stream
    broke, misses what it did not receive.
    """
    delays: list[float] = []
    last: dict[int, float] = {}
    for viewer in viewers:
        for event_id, arrived in viewer.arrivals.items():
            sent = sent_at.get(event_id)
            if sent is None or arrived > cutoff:
                continue
            delay = (arrived - sent) * 1000
            delays.append(delay)
            if delay > last.get(event_id, -1.0):
                last[event_id] = delay
    missed = expected_viewers * len(sent_at) - len(delays)
    return Deliveries(
        delays_ms=delays, last_viewer_ms=list(last.values()), missed=missed,
        duplicates=sum(v.duplicates for v in viewers),
    )
