"""`linli bench settle`: the T+1 settlement of N paid orders over M leaders, timed against a plain aggregate.

The run creates its own database (the models' schema, `metadata.create_all`, from which the single
migration is generated), then generates, untimed and set-based (INSERT … SELECT over generate_series on PostgreSQL, a recursive CTE on SQLite): one brand with
its default commission rules, a product, a live session and listing, M leaders (each with a community and
a member of their own), 10 members per leader, N paid orders spread over the members, one pending
commission line per order whose after-sales window is over, the leaders' ledger accounts and each order's
accrual transaction with its two entries, so balances are real.

Timed: `settlement.settle_due` (what `linli settle` runs) in a child process, so that its peak RSS is the
settlement's own and not the generator's. The ceiling, in the same run and over the same rows: the plain
aggregate `SELECT leader_id, count(*), sum(commission − clawed back) … WHERE status = 'pending' AND
eligible_at <= as_of GROUP BY leader_id` (a read, no writes). `ratio` = aggregate seconds ÷ settlement
seconds: the share of the settlement's time a bare read of the same rows would take.

Then the run checks what was settled against that aggregate (count and sum per leader, and each leader's
available balance) and the ledger audit's settlement invariants, and reports `verified`.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from linli.bench.harness import scratch_database
from linli.brands import service as brands
from linli.catalog import service as catalog
from linli.db import Database, UTCDateTime
from linli.ledger import rules, settlement
from linli.ledger.audit import SETTLEMENT_CHECKS, run_checks
from linli.live import listings as live_listings
from linli.live import sessions as live_sessions
from linli.models import metadata

MEMBERS_PER_LEADER = 10


@dataclass
class SettleBenchResult:
    db: str
    orders: int
    leaders: int
    batch_size: int
    settlers: int
    settled_lines: int
    transactions: int
    batches: int
    amount_fen: int
    seconds: float
    rows_per_second: float
    peak_memory_mb: float
    aggregate_seconds: float
    ratio: float
    generate_seconds: float
    verified: bool
    failures: list[str]


@dataclass(frozen=True)
class Stage:
    brand_id: int
    rule_version_id: int
    live_rate_bp: int
    product_id: int
    product_name: str
    sku_id: int
    sku_name: str
    session_id: int
    listing_id: int


def _series(dialect: str, n: int) -> str:
    """A FROM clause yielding i = 1..n."""
    if dialect == "postgresql":
        return f"generate_series(1, {int(n)}) AS g(i)"
    return f"(WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {int(n)}) SELECT i FROM g) AS g"


async def _stage(db: Database, *, at: datetime) -> Stage:
    """The few fixed rows, through the services (brand, rules, product, session, listing)."""
    async with db.transaction() as s:
        brand = await brands.create_brand(session=s, name="优邻优选", slug="bench-settle", timezone="Asia/Shanghai", now=at)
        version = await rules.ensure_default_version(session=s, brand_id=brand.id)
        product, skus = await catalog.create_product(
            session=s, brand_id=brand.id,
            product=catalog.ProductInput(
                name="黄金奶油草莓", skus=[catalog.SkuInput(name="500g/盒", list_price_fen=9800, stock_quantity=1000)]
            ),
            now=at,
        )
        live_session = await live_sessions.create_session(
            session=s, brand_id=brand.id, data=live_sessions.SessionInput(title="黄金奶油草莓专场", scheduled_start_at=at), now=at
        )
        listing = await live_listings.add_listing(
            session=s, brand_id=brand.id, session_id=live_session.id, sku_id=skus[0].id, live_price_fen=8800,
            allocation=1000, per_member_limit=None, now=at,
        )
        ruleset = rules.ruleset_of(version)
        rule, rate = rules.base_rate(ruleset, session_id=live_session.id, product_id=product.id)
        assert rule == rules.RULE_LIVE_BASE
        return Stage(
            brand_id=brand.id, rule_version_id=version.id, live_rate_bp=rate, product_id=product.id,
            product_name=product.name, sku_id=skus[0].id, sku_name=skus[0].name, session_id=live_session.id,
            listing_id=listing.listing.id,
        )


async def _first_id(session: AsyncSession, table: str, count: int) -> int:
    """The first id of the `count` rows just inserted into an empty table; later rows are found by offset
    from it, so check that the ids are contiguous."""
    low, high, total = (await session.execute(text(f"SELECT min(id), max(id), count(*) FROM {table}"))).one()
    if total != count or high - low + 1 != count:
        raise RuntimeError(f"{table}: expected {count} rows with contiguous ids in an empty table")
    return int(low)


async def generate(db: Database, *, orders: int, leaders: int, now: datetime) -> Stage:
    """Everything the settlement reads, as it would be after N paid, picked-up orders (untimed)."""
    stage = await _stage(db, at=now - timedelta(days=30))
    members = leaders * MEMBERS_PER_LEADER
    users = leaders + members  # the leaders' own users first, then their members'
    dialect = db.dialect
    stamp = {
        "placed": now - timedelta(days=10), "completed": now - timedelta(days=9), "eligible": now - timedelta(days=1),
        "at": now - timedelta(days=30),
    }
    params = {name: bindparam(name, value, type_=UTCDateTime()) for name, value in stamp.items()}

    def run(sql: str) -> TextClause:
        used = [p for name, p in params.items() if f":{name}" in sql]
        return text(sql).bindparams(*used)

    b = stage.brand_id
    async with db.transaction() as s:
        await s.execute(run(
            f"INSERT INTO users (phone, display_name, created_at) "
            f"SELECT CAST(13900000000 + i AS VARCHAR(20)), '邻居', :at FROM {_series(dialect, users)} ORDER BY i"
        ))
        user0 = await _first_id(s, "users", users)
        await s.execute(run(
            f"INSERT INTO members (brand_id, user_id, joined_at) SELECT {b}, id, :at FROM users ORDER BY id"
        ))
        member0 = await _first_id(s, "members", users)
        await s.execute(run(
            f"INSERT INTO communities (brand_id, name, address, created_at) "
            f"SELECT {b}, '小区 ' || CAST(i AS VARCHAR(12)), '邻里路 ' || CAST(i AS VARCHAR(12)) || ' 号', :at "
            f"FROM {_series(dialect, leaders)} ORDER BY i"
        ))
        community0 = await _first_id(s, "communities", leaders)
        await s.execute(run(
            f"INSERT INTO leaders (brand_id, member_id, community_id, status, real_name, application_note, applied_at, "
            f"activated_at) SELECT {b}, {member0} + i - 1, {community0} + i - 1, 'active', '团长', '', :at, :at "
            f"FROM {_series(dialect, leaders)} ORDER BY i"
        ))
        leader0 = await _first_id(s, "leaders", leaders)
        # Order i is bought by member m = (i − 1) mod members, who belongs to leader m mod leaders.
        await s.execute(run(
            "INSERT INTO orders (brand_id, member_id, user_id, session_id, listing_id, sku_id, product_id, product_name, "
            "sku_name, quantity, unit_price_fen, total_fen, discount_fen, payable_fen, leader_id, community_id, status, "
            "idempotency_key, request_fingerprint, placed_at, expires_at, paid_at) "
            f"SELECT {b}, {member0 + leaders} + m, {user0 + leaders} + m, {stage.session_id}, {stage.listing_id}, "
            f"{stage.sku_id}, {stage.product_id}, :product_name, :sku_name, q, p, p * q, 0, p * q, {leader0} + m % {leaders}, "
            f"{community0} + m % {leaders}, 'paid', 'bench-' || CAST(i AS VARCHAR(12)), 'bench', :placed, :placed, "
            ":placed "
            f"FROM (SELECT i, (i - 1) % {members} AS m, 1 + i % 3 AS q, 990 + (i * 37) % 9000 AS p "
            f"FROM {_series(dialect, orders)}) AS o ORDER BY i"
        ).bindparams(product_name=stage.product_name, sku_name=stage.sku_name))
        # commission = round_half_up(paid × rate / 10000), as rules.commission_for.
        await s.execute(run(
            "INSERT INTO commission_lines (brand_id, leader_id, order_id, member_id, session_id, product_id, "
            "product_name, quantity, paid_fen, rule_version_id, rule, rate_bp, referral_bp, commission_fen, "
            "refunded_fen, clawed_back_fen, settled_fen, status, placed_at, paid_at, completed_at, eligible_at, "
            "created_at) "
            f"SELECT brand_id, leader_id, id, member_id, session_id, product_id, product_name, quantity, payable_fen, "
            f"{stage.rule_version_id}, '{rules.RULE_LIVE_BASE}', {stage.live_rate_bp}, 0, "
            f"(2 * payable_fen * {stage.live_rate_bp} + 10000) / 20000, 0, 0, 0, 'pending', placed_at, paid_at, "
            ":completed, :eligible, :placed FROM orders ORDER BY id"
        ))
        await s.execute(run(
            "INSERT INTO ledger_accounts (code, brand_id, leader_id, kind, created_at) "
            f"SELECT 'brand_commission_expense:{b}', {b}, NULL, 'brand_commission_expense', :at"
        ))
        for kind in ("leader_pending", "leader_available", "leader_withdrawing"):
            await s.execute(run(
                "INSERT INTO ledger_accounts (code, brand_id, leader_id, kind, created_at) "
                f"SELECT '{kind}:{b}:' || CAST(id AS VARCHAR(20)), {b}, id, '{kind}', :at FROM leaders ORDER BY id"
            ))
        await s.execute(run(
            "INSERT INTO ledger_transactions (idempotency_key, brand_id, kind, leader_id, order_id, commission_line_id, "
            "rule_version_id, memo, posted_at) "
            "SELECT 'accrual:order:' || CAST(order_id AS VARCHAR(20)), brand_id, 'accrual', leader_id, order_id, id, "
            "rule_version_id, '订单支付，佣金入账（待结算）', paid_at FROM commission_lines ORDER BY id"
        ))
        for account, sign in (("a.leader_id = l.leader_id AND a.kind = 'leader_pending'", ""),
                              ("a.leader_id IS NULL AND a.kind = 'brand_commission_expense'", "-")):
            await s.execute(run(
                "INSERT INTO ledger_entries (transaction_id, account_id, amount_fen, posted_at) "
                f"SELECT t.id, a.id, {sign}l.commission_fen, t.posted_at FROM ledger_transactions t "
                "JOIN commission_lines l ON l.id = t.commission_line_id "
                f"JOIN ledger_accounts a ON a.brand_id = l.brand_id AND {account} ORDER BY t.id"
            ))
    if dialect == "postgresql":  # what autovacuum does after a bulk load, done now so that every run starts alike
        async with db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
    else:
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    return stage


AGGREGATE_SQL = (
    "SELECT leader_id, count(*), sum(commission_fen - clawed_back_fen) FROM commission_lines "
    "WHERE status = 'pending' AND eligible_at <= :as_of GROUP BY leader_id"
)


async def aggregate(db: Database, *, as_of: datetime) -> tuple[dict[int, tuple[int, int]], float]:
    """The ceiling: what settlement must move, per leader, as one plain read. (per leader (lines, fen), seconds)"""
    query = text(AGGREGATE_SQL).bindparams(bindparam("as_of", as_of, type_=UTCDateTime()))
    async with db.read() as s:
        started = time.perf_counter()
        rows = (await s.execute(query)).all()
        elapsed = time.perf_counter() - started
    return {int(leader): (int(count), int(total)) for leader, count, total in rows}, elapsed


async def verify(
    db: Database, *, expected: dict[int, tuple[int, int]], report: dict, now: datetime
) -> list[str]:
    """What failed (empty: verified). Settled per leader = the aggregate, balances follow, audit checks hold."""
    failures: list[str] = []
    lines = sum(count for count, _ in expected.values())
    amount = sum(total for _, total in expected.values())
    if (report["lines"], report["amount_fen"]) != (lines, amount):
        failures.append(f"settle reported {report['lines']} lines / {report['amount_fen']} fen, aggregate {lines} / {amount}")
    stamp = bindparam("now", now, type_=UTCDateTime())
    async with db.read() as s:
        settled = {
            int(leader): (int(count), int(total))
            for leader, count, total in (
                await s.execute(text(
                    "SELECT leader_id, count(*), sum(settled_fen) FROM commission_lines "
                    "WHERE status = 'settled' AND settled_at = :now GROUP BY leader_id"
                ).bindparams(stamp))
            ).all()
        }
        if settled != expected:
            failures.append(f"settled lines differ from the aggregate for {len(set(settled.items()) ^ set(expected.items()))} leader(s)")
        left = await s.scalar(text("SELECT count(*) FROM commission_lines WHERE status = 'pending'"))
        if left:
            failures.append(f"{left} line(s) still pending")
        available = {
            int(leader): int(total)
            for leader, total in (
                await s.execute(text(
                    "SELECT a.leader_id, sum(e.amount_fen) FROM ledger_entries e "
                    "JOIN ledger_accounts a ON a.id = e.account_id WHERE a.kind = 'leader_available' GROUP BY a.leader_id"
                ))
            ).all()
        }
        if available != {leader: total for leader, (_, total) in expected.items() if total}:
            failures.append("leaders' available balances differ from the aggregate")
        for check in await run_checks(session=s, names=SETTLEMENT_CHECKS):
            if not check.ok:
                failures.append(f"audit {check.name}: {check.breaches} breach(es)")
    return failures


async def _settle_in_child(url: str, *, as_of: datetime, batch_size: int, settlers: int) -> dict:
    """Runs `settle_due` in a fresh process; returns its report, seconds and peak RSS."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "linli.bench.settle", url, as_of.isoformat(), str(batch_size), str(settlers),
        stdout=subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the settlement process failed (exit {process.returncode})")
    return json.loads(out.decode().strip().splitlines()[-1])


async def run_settle_bench(
    *, db: str, orders: int, leaders: int, batch_size: int = settlement.DEFAULT_BATCH, settlers: int = 1
) -> SettleBenchResult:
    now = datetime.now(UTC)
    async with scratch_database(db) as url:
        database = Database(url)
        async with database.engine.begin() as conn:  # the models' schema, which the migration is generated from
            await conn.run_sync(metadata.create_all)
        try:
            started = time.perf_counter()
            await generate(database, orders=orders, leaders=leaders, now=now)
            generated = time.perf_counter() - started
            expected, aggregate_seconds = await aggregate(database, as_of=now)
            child = await _settle_in_child(url, as_of=now, batch_size=batch_size, settlers=settlers)
            failures = await verify(database, expected=expected, report=child["report"], now=now)
        finally:
            await database.dispose()
    seconds = child["seconds"]
    return SettleBenchResult(
        db=db, orders=orders, leaders=leaders, batch_size=batch_size, settlers=settlers,
        settled_lines=child["report"]["lines"], transactions=child["report"]["transactions"],
        batches=child["report"]["batches"],
        amount_fen=child["report"]["amount_fen"], seconds=round(seconds, 2),
        rows_per_second=round(child["report"]["lines"] / seconds, 1) if seconds else 0.0,
        peak_memory_mb=child["peak_memory_mb"], aggregate_seconds=round(aggregate_seconds, 3),
        ratio=round(aggregate_seconds / seconds, 4) if seconds else 0.0, generate_seconds=round(generated, 1),
        verified=not failures, failures=failures,
    )


def as_dict(result: SettleBenchResult) -> dict:
    return asdict(result)


async def _child(url: str, as_of: datetime, batch_size: int, settlers: int) -> dict:
    database = Database(url)
    try:
        started = time.perf_counter()
        report = await settlement.settle_due(db=database, as_of=as_of, now=as_of, batch_size=batch_size, settlers=settlers)
        seconds = time.perf_counter() - started
    finally:
        await database.dispose()
    return {
        "report": asdict(report), "seconds": seconds,
        "peak_memory_mb": _peak_memory_mb(),
    }


def _peak_memory_mb() -> float:
    """This process's own peak resident memory. ru_maxrss survives exec, so a child started by a large parent
    would report the parent's size; the kernel's VmHWM is the exec'd image's own high-water mark."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux and BSD: KiB


if __name__ == "__main__":  # the child process of run_settle_bench
    url_arg, as_of_arg, batch_arg, settlers_arg = sys.argv[1:5]
    print(json.dumps(asyncio.run(_child(url_arg, datetime.fromisoformat(as_of_arg), int(batch_arg), int(settlers_arg)))))
