"""The floor of `linli bench live-room`: the least a Python server does to fan one event out to N viewers.

A bare Starlette app served by uvicorn (one process, uvloop, httptools): each viewer of `GET /events`
gets a snapshot, then whatever lands in its own `asyncio.Queue`; `POST /fire` puts the same bytes (an
SSE event with `id:`, padded to the size of the room's events) into every queue and answers. No database,
no serialisation per viewer: whatever the room takes beyond this is the room's own cost.

Run as `python -m linli.bench.bare_sse --port N` (the bench starts and stops it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from linli.serving import tune_garbage_collector

SNAPSHOT = b'id: 0\nevent: snapshot\ndata: {"viewers":"bare"}\n\n'


def event_bytes(event_id: int, size: int) -> bytes:
    """`id: n` / `event: live.stock` / `data: {"pad": "…"}`, padded so the whole event is about `size` bytes."""
    head = f"id: {event_id}\nevent: live.stock\ndata: "
    shell = '{"pad":""}' + "\n\n"
    pad = max(0, size - len(head) - len(shell))
    return (head + json.dumps({"pad": "x" * pad}, separators=(",", ":")) + "\n\n").encode()


def create_app() -> Starlette:
    queues: set[asyncio.Queue[bytes]] = set()

    async def events(_request: Request) -> Response:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        queues.add(queue)

        async def body() -> AsyncIterator[bytes]:
            try:
                yield b"retry: 3000\n\n"
                yield SNAPSHOT
                while True:
                    yield await queue.get()
            finally:
                queues.discard(queue)

        return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    async def fire(request: Request) -> Response:
        spec = await request.json()
        for event_id in spec["ids"]:
            chunk = event_bytes(int(event_id), int(spec["size"]))
            for queue in queues:
                queue.put_nowait(chunk)
        return JSONResponse({"viewers": len(queues)})

    async def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[Route("/events", events), Route("/fire", fire, methods=["POST"]), Route("/healthz", healthz)]
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = create_app()
    tune_garbage_collector()  # as `linli serve` does: the floor gets every advantage the room has
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
