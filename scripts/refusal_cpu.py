"""Server and PostgreSQL CPU time (`ps`) while `linli serve` answers 2,000 refusals of a sold-out offer over HTTP,
64 keep-alive connections. A diagnostic, not a benchmark figure (`ps` counts whole seconds).

    PYTHONPATH=src python scripts/refusal_cpu.py 2300 2     # members, server processes
"""
import asyncio, os, secrets, sys, time, subprocess
from linli import migrate
from linli.bench import flash_sale as fs
from linli.bench.harness import scratch_database, linli_server
from linli.clock import SystemClock
from linli.config import Settings
from linli.context import AppContext

def cpu(pid):
    out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid=,times="], capture_output=True, text=True).stdout.split()
    own = subprocess.run(["ps", "-p", str(pid), "-o", "times="], capture_output=True, text=True).stdout.split()
    return sum(int(x) for x in out[1::2]) + sum(int(x) for x in own)

def pg_cpu():
    out = subprocess.run(["ps", "-C", "postgres", "-o", "times="], capture_output=True, text=True).stdout.split()
    return sum(int(x) for x in out)

async def main(members, workers):
    async with scratch_database("postgresql") as url:
        await asyncio.to_thread(migrate.upgrade, url)
        secret = secrets.token_urlsafe(32)
        ctx = AppContext.build(Settings(database_url=url, secret_key=secret, inprocess_worker=False, payment_simulator_enabled=True), clock=SystemClock())
        seed = await fs._seed(ctx, members=members, quota=100, all_buy=3)
        await ctx.db.dispose()
        async with linli_server(database_url=url, secret_key=secret, workers=workers, extra_env={"LINLI_INPROCESS_WORKER": "0"}) as server:
            await fs._rush_over_http(server.base_url, offer_id=seed.offers.http, users=seed.users[:300], concurrency=64)
            c0, p0, t0 = cpu(server.pid), pg_cpu(), time.process_time()
            a, w, e = await fs._rush_over_http(server.base_url, offer_id=seed.offers.http, users=seed.users[300:], concurrency=64)
            c1, p1, t1 = cpu(server.pid), pg_cpu(), time.process_time()
            print(f"workers={workers} refusals {len(a)} in {e:.2f}s = {len(a)/e:.0f}/s; server cpu {c1-c0}s pg cpu {p1-p0}s client cpu {t1-t0:.1f}s")

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
