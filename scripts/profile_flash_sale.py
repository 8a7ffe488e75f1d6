"""py-spy on `linli serve` during (a) refusals only (an offer already sold out) and (b) purchases only (an offer
with a unit for every member), the flash-sale bench's seed and HTTP rush. A diagnostic, not a benchmark figure.

    PYTHONPATH=src python scripts/profile_flash_sale.py 3000 after [postgresql]
    python scripts/pyspy_layers.py /tmp/order-profile/after-refusals.raw /tmp/order-profile/after-purchases.raw

PYSPY (default /tmp/pyspy/bin/py-spy) samples at 100/s with --idle, so samples are wall time of each thread.
"""
import asyncio, os, secrets, signal, subprocess, sys, time
from linli import migrate
from linli.bench import flash_sale as fs
from linli.bench.harness import scratch_database, linli_server
from linli.clock import SystemClock
from linli.config import Settings
from linli.context import AppContext

PYSPY = os.environ.get("PYSPY", "/tmp/pyspy/bin/py-spy")
OUT = "/tmp/order-profile"

def spy(pid, out):
    return subprocess.Popen([PYSPY, "record", "-p", str(pid), "-r", "100", "-d", "600", "-f", "raw", "--idle", "-o", out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def stop(p):
    p.send_signal(signal.SIGINT); p.wait(timeout=60)

async def main(members, tag, db):
    os.makedirs(OUT, exist_ok=True)
    async with scratch_database(db) as url:
        await asyncio.to_thread(migrate.upgrade, url)
        secret = secrets.token_urlsafe(32)
        ctx = AppContext.build(Settings(database_url=url, secret_key=secret, inprocess_worker=False, payment_simulator_enabled=True), clock=SystemClock())
        t = time.time(); seed = await fs._seed(ctx, members=members, quota=100, all_buy=members); print("seed", time.time() - t, flush=True)
        await ctx.db.dispose()
        async with linli_server(database_url=url, secret_key=secret) as server:
            await fs._rush_over_http(server.base_url, offer_id=seed.offers.http, users=seed.users[:300], concurrency=64)  # sells out + warms
            p = spy(server.pid, f"{OUT}/{tag}-refusals.raw"); await asyncio.sleep(1.5)
            a, w, e = await fs._rush_over_http(server.base_url, offer_id=seed.offers.http, users=seed.users[300:], concurrency=64)
            stop(p); print("refusals", len(a), "in", round(e, 2), "s =", round(len(a) / e, 1), "/s, bought", len(w), flush=True)
            p = spy(server.pid, f"{OUT}/{tag}-purchases.raw"); await asyncio.sleep(1.5)
            a, w, e = await fs._rush_over_http(server.base_url, offer_id=seed.offers.all_buy_http, users=seed.users, concurrency=64)
            stop(p); print("purchases", len(a), "in", round(e, 2), "s =", round(len(w) / e, 1), "/s, bought", len(w), flush=True)

asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "postgresql"))
