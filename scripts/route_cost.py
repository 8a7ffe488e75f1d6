"""CPU per sold-out refusal of `POST /api/v1/orders` in-process (no socket): linli's FastAPI app against the same
service calls behind a bare Starlette route, three alternating rounds. A diagnostic, not a benchmark figure.

    PYTHONPATH=src python scripts/route_cost.py 700        # members; PostgreSQL (LINLI_BENCH_POSTGRES_URL)
"""
import asyncio, secrets, time, json, uuid, sys
from datetime import timedelta
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from linli import migrate
from linli.accounts import service as accounts
from linli.app import create_app
from linli.bench import flash_sale as fs
from linli.bench.harness import scratch_database
from linli.clock import SystemClock
from linli.config import Settings
from linli.context import AppContext
from linli.errors import DomainError
from linli.orders import service as orders
from linli.orders.schemas import OrderCreate

async def call(app, token, body):
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/v1/orders", "raw_path": b"/api/v1/orders", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"x"), (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                         (b"authorization", f"Bearer {token}".encode()), (b"idempotency-key", uuid.uuid4().hex.encode())],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    sent = False
    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
    status = []
    async def send(m):
        if m["type"] == "http.response.start": status.append(m["status"])
    await app(scope, receive, send)
    return status[0]


def bare(ctx):
    async def place(request):
        token = request.headers["authorization"].partition(" ")[2]
        caller = await accounts.token_caller(db=ctx.db, settings=ctx.settings, token=token, now=ctx.clock.now())
        body = OrderCreate.model_validate_json(await request.body())
        try:
            await orders.place_order_in(db=ctx.db, user_id=caller.user_id, listing_id=body.listing_id, offer_id=body.offer_id,
                quantity=body.quantity, idempotency_key=request.headers["idempotency-key"], pickup_community_id=body.pickup_community_id,
                payment_ttl=timedelta(minutes=10), now=ctx.clock.now())
        except DomainError as e:
            return Response(json.dumps({"error": {"code": e.code, "message": e.message}}, ensure_ascii=False), status_code=e.status_code, media_type="application/json")
        return Response(b"{}", status_code=201)
    return Starlette(routes=[Route("/api/v1/orders", place, methods=["POST"])])

async def main(n):
    async with scratch_database("postgresql") as url:
        await asyncio.to_thread(migrate.upgrade, url)
        secret = secrets.token_urlsafe(32)
        ctx = AppContext.build(Settings(database_url=url, secret_key=secret, inprocess_worker=False, payment_simulator_enabled=True), clock=SystemClock())
        seed = await fs._seed(ctx, members=n, quota=2, all_buy=3)
        body = json.dumps({"offer_id": seed.offers.statements, "quantity": 1}).encode()
        toks = [t for _, t in seed.users]
        fa, st = create_app(ctx), bare(ctx)
        for name, app in (("fastapi", fa), ("starlette", st)) * 3:
            pass
            t0 = time.perf_counter(); c0 = time.process_time()
            codes = [await call(app, t, body) for t in toks]
            el = time.perf_counter() - t0; cpu = time.process_time() - c0
            print(name, "wall ms", round(1000 * el / len(codes), 3), "cpu ms", round(1000 * cpu / len(codes), 3), set(codes))
        await ctx.db.dispose()

asyncio.run(main(int(sys.argv[1])))
