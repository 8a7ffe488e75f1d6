"""The HTTP floor of `linli bench flash-sale`: the engine's work per attempt behind the least a Python server does.

A bare Starlette app served by uvicorn (uvloop, httptools), the same number of processes as the `linli serve`
under test: `POST /api/v1/orders` reads the bearer token and `{"offer_id"}`, runs exactly the engine's
statements (linli.bench.engine_ceiling: one token read, then one transaction with the guarded update and,
when it took a unit, the order and its outbox row) on raw connections, and answers 201 `{"id"}`, 409 or 401.
No framework dependencies, no validation beyond that, no ORM: whatever linli takes beyond this floor is its
own stack's cost, and what this floor takes beyond the engine is the cost of HTTP in Python on this machine.

Run as `python -m linli.bench.bare_order --port N --processes P` with LINLI_DATABASE_URL, LINLI_SECRET_KEY and
LINLI_BENCH_FLOOR_CONNECTIONS (per process) in the environment (the bench starts and stops it).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from linli.bench.engine_ceiling import OrderEngine, open_engine
from linli.clock import SystemClock
from linli.serving import tune_garbage_collector

REFUSED = b'{"code":"offer_sold_out"}'
UNAUTHORIZED = b'{"code":"unauthorized"}'


def create_app() -> Starlette:
    tune_garbage_collector()  # as `linli serve` does (in each process): the floor gets every advantage linli has
    engine: OrderEngine | None = None

    @asynccontextmanager
    async def lifespan(_app: Starlette):
        nonlocal engine
        engine = await open_engine(
            database_url=os.environ["LINLI_DATABASE_URL"], secret_key=os.environ["LINLI_SECRET_KEY"],
            clock=SystemClock(), payment_ttl=timedelta(minutes=10),
            connections=int(os.environ.get("LINLI_BENCH_FLOOR_CONNECTIONS", "20")),
        )
        try:
            yield
        finally:
            await engine.close()

    async def place(request: Request) -> Response:
        assert engine is not None
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            offer_id = int(json.loads(await request.body())["offer_id"])
        except (ValueError, KeyError, TypeError):
            return Response(b'{"code":"invalid"}', status_code=422, media_type="application/json")
        if scheme.lower() != "bearer" or not token:
            return Response(UNAUTHORIZED, status_code=401, media_type="application/json")
        try:
            outcome = await engine.attempt(token, offer_id)
        except (asyncpg.PostgresError, sqlite3.Error):
            return Response(b'{"code":"error"}', status_code=503, media_type="application/json")
        if outcome is None:
            return Response(UNAUTHORIZED, status_code=401, media_type="application/json")
        if outcome == 0:
            return Response(REFUSED, status_code=409, media_type="application/json")
        return Response(b'{"id":%d}' % outcome, status_code=201, media_type="application/json")

    async def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[Route("/api/v1/orders", place, methods=["POST"]), Route("/healthz", healthz)], lifespan=lifespan
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    options = {"host": "127.0.0.1", "port": args.port, "loop": "uvloop", "http": "httptools", "access_log": False,
               "log_level": "warning"}
    if args.processes > 1:
        uvicorn.run("linli.bench.bare_order:create_app", factory=True, workers=args.processes, **options)
    else:
        uvicorn.run(create_app(), **options)


if __name__ == "__main__":
    main()
