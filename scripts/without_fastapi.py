"""The flash-sale rush against linli's own order path with and without FastAPI, back to back on one seed: `linli
serve` (FastAPI), then the same service calls (`accounts.token_caller`, `OrderCreate`, `orders.place_order_in`, the
error envelope) behind a bare Starlette route served the same way (uvicorn, uvloop, httptools, N processes).
A diagnostic for docs/BENCHMARKS.md, not a benchmark: what leaving FastAPI would buy the order route.

    PYTHONPATH=src python scripts/without_fastapi.py 2000 2        # members, server processes (PostgreSQL)
    python scripts/without_fastapi.py --serve PORT PROCESSES      # (the bare server itself, started by the above)
"""
import asyncio, json, os, secrets, sys
from datetime import timedelta


def bare_app():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route
    from linli.accounts import service as accounts
    from linli.config import Settings
    from linli.context import AppContext
    from linli.errors import DomainError
    from linli.orders import service as orders
    from linli.orders.schemas import OrderCreate
    from linli.serving import tune_garbage_collector

    ctx = AppContext.build(Settings.from_env())

    def error(e):
        body = json.dumps({"error": {"code": e.code, "message": e.message}}, ensure_ascii=False)
        return Response(body, status_code=e.status_code, media_type="application/json")

    async def place(request):
        try:
            token = request.headers.get("authorization", "").partition(" ")[2]
            caller = await accounts.token_caller(db=ctx.db, settings=ctx.settings, token=token, now=ctx.clock.now())
            body = OrderCreate.model_validate_json(await request.body())
            placed = await orders.place_order_in(
                db=ctx.db, user_id=caller.user_id, listing_id=body.listing_id, offer_id=body.offer_id,
                quantity=body.quantity, idempotency_key=request.headers["idempotency-key"],
                pickup_community_id=body.pickup_community_id,
                payment_ttl=timedelta(minutes=ctx.settings.order_payment_minutes), now=ctx.clock.now(),
            )
        except DomainError as e:
            return error(e)
        return Response(json.dumps({"id": placed.order.id}), status_code=201, media_type="application/json")

    async def healthz(_request):
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/api/v1/orders", place, methods=["POST"]), Route("/healthz", healthz)])
    tune_garbage_collector()
    return app


async def compare(members, processes):
    from linli import migrate
    from linli.bench import flash_sale as fs
    from linli.bench.harness import free_port, http_process, linli_server, scratch_database
    from linli.bench.phases import figures
    from linli.clock import SystemClock
    from linli.config import Settings
    from linli.context import AppContext

    async with scratch_database("postgresql") as url:
        await asyncio.to_thread(migrate.upgrade, url)
        secret = secrets.token_urlsafe(32)
        ctx = AppContext.build(Settings(database_url=url, secret_key=secret, inprocess_worker=False, payment_simulator_enabled=True), clock=SystemClock())
        seed = await fs._seed(ctx, members=members, quota=100, all_buy=3)
        await ctx.db.dispose()
        env = {**os.environ, "LINLI_DATABASE_URL": url, "LINLI_SECRET_KEY": secret, "LINLI_INPROCESS_WORKER": "0",
               "LINLI_PAYMENT_SIMULATOR": "1"}
        for name, offer_id in (("fastapi", seed.offers.http), ("starlette", seed.offers.floor),
                               ("fastapi", seed.offers.engine_before), ("starlette", seed.offers.engine_after)):
            if name == "fastapi":
                server = linli_server(database_url=url, secret_key=secret, workers=processes,
                                      extra_env={"LINLI_INPROCESS_WORKER": "0"})
            else:
                port = free_port()
                server = http_process(argv=[sys.executable, __file__, "--serve", str(port), str(processes)], env=env, port=port)
            async with server as running:
                attempts, _, elapsed = await fs._rush_over_http(running.base_url, offer_id=offer_id, users=seed.users, concurrency=64)
            run = figures(attempts, elapsed=elapsed)
            print(f"{name:>9}: {run.attempts_per_second:7.1f} attempts/s, purchases {run.purchases_per_second:6.1f}/s, "
                  f"refusals {run.refusals_per_second:7.1f}/s, p99 {run.p99_ms:7.1f} ms, sold {run.sold}, errors {run.errors}",
                  flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--serve":
        import uvicorn
        port, processes = int(sys.argv[2]), int(sys.argv[3])
        options = {"host": "127.0.0.1", "port": port, "access_log": False, "log_level": "warning"}
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        if processes > 1:
            uvicorn.run("without_fastapi:bare_app", factory=True, workers=processes, **options)
        else:
            uvicorn.run(bare_app(), **options)
    else:
        import uvloop
        uvloop.run(compare(int(sys.argv[1]), int(sys.argv[2])))
