"""The `linli` command line: serve, migrate, demo and the scheduled jobs (each with --as-of)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import typer

from linli import preflight
from linli.bench.commands import bench_app
from linli.cli_support import AllowFuture, AsOf
from linli.cli_support import command_settings as _settings
from linli.cli_support import fail as _fail
from linli.cli_support import job_context as _context
from linli.cli_support import with_ctx as _with_ctx
from linli.config import Settings, dev_mode_from_env
from linli.context import AppContext
from linli.logs import configure_logging
from linli.marketing.commands import marketing_commands

app = typer.Typer(help="linli 邻里: private-domain live commerce with community group-buying.", no_args_is_help=True)



def _upgrade(url: str) -> None:
    from sqlalchemy.exc import DBAPIError

    from linli import migrate as migrations

    try:
        migrations.upgrade(url)
    except (OSError, DBAPIError) as exc:
        _fail(f"无法升级数据库（{preflight.describe(url)}）：{str(exc).strip().splitlines()[0]}")


@app.command()
def migrate() -> None:
    """Upgrade the configured database to the latest schema (and create the embedded SQLite file)."""
    settings = _settings(prepare=True)
    _upgrade(settings.database_url)
    typer.echo(f"migrated {preflight.describe(settings.database_url)}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int | None, typer.Option(min=1, help=preflight.SERVE_WORKERS_HELP)] = None,
    migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate", help="migrate before serving")] = True,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="log every request")] = True,
    allow_dev_mode_on_network: Annotated[
        bool, typer.Option("--allow-dev-mode-on-network", help="serve development mode on a non-loopback --host")
    ] = False,
) -> None:
    """Serve the HTTP API (and, on the embedded default, migrate first)."""
    import uvicorn

    exposure = preflight.dev_mode_exposure(host=host, dev_mode=dev_mode_from_env(), allowed=allow_dev_mode_on_network)
    if exposure:
        _fail(exposure)
    settings = _settings(prepare=migrate_first)
    _configure_logging(settings)
    ctx = _context(settings)  # a configuration error is one line here, not a traceback in every worker
    if migrate_first:
        _upgrade(settings.database_url)
    workers = preflight.api_processes(url=settings.database_url, requested=workers)
    if note := preflight.sqlite_processes_note(url=settings.database_url, processes=workers):
        typer.echo(note, err=True)
    # log_config=None: uvicorn's records go through linli's handler (linli.logs), in the same format.
    if workers > 1:
        asyncio.run(ctx.db.dispose())
        uvicorn.run("linli.asgi:app", host=host, port=port, workers=workers, log_level="info", access_log=access_log,
                    log_config=None)
    else:
        from linli.app import create_app
        from linli.serving import tune_garbage_collector

        app_instance = create_app(ctx)
        tune_garbage_collector()
        uvicorn.run(app_instance, host=host, port=port, log_level="info", access_log=access_log, log_config=None)


@app.command()
def demo(reset: Annotated[bool, typer.Option("--reset", help="drop every table first")] = False) -> None:
    """Load the demo data (优邻优选, 云顶华府, 小李 …); running it twice changes nothing."""
    from linli import migrate as migrations
    from linli.demo import load_demo

    settings = _settings(prepare=True)
    if reset:
        migrations.downgrade(settings.database_url)
    _upgrade(settings.database_url)
    summary = asyncio.run(_with_ctx(settings, None, load_demo))
    typer.echo(summary)


@app.command("sms-inbox")
def sms_inbox(
    phone: Annotated[str | None, typer.Option(help="only this phone")] = None,
    limit: Annotated[int, typer.Option(help="how many messages")] = 10,
) -> None:
    """Show the local SMS inbox (the default sender's one-time login codes)."""
    from linli.accounts import service as accounts

    async def run(ctx: AppContext) -> list[str]:
        async with ctx.db.read() as session:
            messages = await accounts.dev_inbox(session=session, phone=phone, limit=limit)
        return [f"{m.created_at:%Y-%m-%d %H:%M:%S}Z  {m.phone}  {m.body}" for m in messages]

    lines = asyncio.run(_with_ctx(_settings(), None, run, payments=False))
    typer.echo("\n".join(lines) if lines else "(inbox is empty)")


@app.command("expire-bindings")
def expire_bindings(as_of: AsOf = None, allow_future: AllowFuture = False) -> None:
    """Expire validity-mode bindings whose time is up (idempotent; replay a day with --as-of)."""
    from linli.attribution import service as attribution

    async def run(ctx: AppContext) -> int:
        async with ctx.db.transaction() as session:
            return await attribution.expire_bindings(session=session, now=ctx.clock.now())

    count = asyncio.run(_with_ctx(_settings(), as_of, run, allow_future=allow_future, payments=False))
    typer.echo(f"expired {count} binding(s)")


@app.command("expire-orders")
def expire_orders(as_of: AsOf = None, allow_future: AllowFuture = False) -> None:
    """Expire unpaid orders past their payment time and give their reservations back (idempotent)."""
    from linli.orders import service as orders

    async def run(ctx: AppContext) -> int:
        async with ctx.db.transaction() as session:
            return await orders.expire_due_orders(session=session, now=ctx.clock.now(), limit=100_000)

    count = asyncio.run(_with_ctx(_settings(), as_of, run, allow_future=allow_future, payments=False))
    typer.echo(f"expired {count} order(s)")


@app.command("prune-outbox")
def prune_outbox(
    days: Annotated[int, typer.Option(min=1, help="keep processed events this many days")] = 7,
    as_of: AsOf = None,
    allow_future: AllowFuture = False,
) -> None:
    """Delete outbox events processed more than --days ago (the live rooms only replay recent ones)."""
    from datetime import timedelta

    from linli.outbox import service as outbox

    async def run(ctx: AppContext) -> int:
        async with ctx.db.transaction() as session:
            return await outbox.prune_processed(session=session, older_than=ctx.clock.now() - timedelta(days=days))

    count = asyncio.run(_with_ctx(_settings(), as_of, run, allow_future=allow_future, payments=False))
    typer.echo(f"pruned {count} event(s)")


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="work until idle, then exit")] = False,
    as_of: AsOf = None,
    allow_future: AllowFuture = False,
) -> None:
    """Deliver outbox events and run the scheduled jobs (any number of workers on PostgreSQL); logs one line per
    batch and per job run (LINLI_LOG_FORMAT=json for JSON lines)."""
    import signal

    from linli import worker as worker_module
    from linli.scheduler.runner import Scheduler

    async def run(ctx: AppContext) -> int:
        if once:
            return await worker_module.run_until_idle(ctx, scheduler=Scheduler.for_context(ctx))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await worker_module.run_forever(ctx, stop)
        return 0

    settings = _settings()
    _configure_logging(settings)
    done = asyncio.run(_with_ctx(settings, as_of, run, allow_future=allow_future))
    if once:
        typer.echo(f"processed {done} item(s)")


# --- commission ledger (wire-up: issue 4) -------------------------------------------------------


@app.command()
def settle(
    as_of: AsOf = None,
    allow_future: AllowFuture = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=100_000, help="lines per transaction")] = 1000,
    settlers: Annotated[int, typer.Option("--settlers", min=1, max=16, help="batches settled at once (PostgreSQL)")] = 1,
) -> None:
    """Settle commission whose after-sales window has passed (pending → available); idempotent, safe to run twice."""
    from linli.ledger import settlement

    async def run(ctx: AppContext) -> settlement.SettleReport:
        now = ctx.clock.now()
        return await settlement.settle_due(db=ctx.db, as_of=now, now=now, batch_size=batch_size, settlers=settlers)

    report = asyncio.run(_with_ctx(_settings(), as_of, run, allow_future=allow_future, payments=False))
    typer.echo(f"settled {report.lines} line(s), {report.transactions} transaction(s), {report.amount_fen} fen")


@app.command()
def audit(as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False) -> None:
    """Check every ledger invariant and the dashboards' roll-ups; exits 1 with a report on any breach."""
    from linli.dashboards.audit import rollup_check
    from linli.ledger.audit import run_audit

    async def run(ctx: AppContext):  # noqa: ANN202
        async with ctx.db.read() as session:
            report = await run_audit(session=session, now=ctx.clock.now())
            report.checks.append(await rollup_check(session))  # and the dashboards' roll-ups (docs/kpis.md)
            return report

    report = asyncio.run(_with_ctx(_settings(), None, run, payments=False))
    typer.echo(report.to_json() if as_json else report.to_text())
    if not report.ok:
        raise typer.Exit(code=1)


@app.command("rollup")
def rollup(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="recompute the dashboards' roll-ups from the raw tables")] = False,
    brand: Annotated[int | None, typer.Option("--brand", help="only this brand id")] = None,
    first_day: Annotated[str | None, typer.Option(
        "--from", help="with --rebuild: only from this local day (YYYY-MM-DD) on, month rows from its month on")] = None,
) -> None:
    """The dashboards' roll-ups: with --rebuild, replace them by a recomputation from orders, refunds, the ledger,
    leaders and bindings; without, report whether they agree with it (exits 1 when they do not)."""
    from linli.dashboards.audit import rollup_check
    from linli.dashboards.rebuild import rebuild_rollups
    from linli.errors import DomainError
    from linli.ledger.audit import Check
    from linli.ledger.statements import parse_date

    if first_day is not None and not rebuild:
        typer.echo("--from 只能与 --rebuild 一起使用", err=True)
        raise typer.Exit(code=2)
    try:
        since = parse_date(first_day, code="date_invalid") if first_day is not None else None
    except DomainError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(code=2) from exc

    async def run(ctx: AppContext) -> dict[str, int] | Check:
        if rebuild:
            async with ctx.db.transaction() as session:
                return await rebuild_rollups(session=session, brand_id=brand, first_day=since)
        async with ctx.db.read() as session:
            return await rollup_check(session, brand_id=brand)

    outcome = asyncio.run(_with_ctx(_settings(), None, run, payments=False))
    if isinstance(outcome, dict):
        scope = f"（自 {since.isoformat()} 起）" if since is not None else ""
        typer.echo(f"重建完成{scope}：" + "，".join(f"{name} {count}" for name, count in outcome.items()))
        return
    differing = "，".join(f"{s['table']} {s['differing_rows']} 行" for s in outcome.samples if "table" in s)
    if not outcome.ok:
        typer.echo("看板汇总与重算不一致：" + differing)
        raise typer.Exit(code=1)
    lag = next((s["pending_events"] for s in outcome.samples if "pending_events" in s), None)
    if lag is not None:
        typer.echo(f"看板汇总暂落后于重算（{lag} 条看板事件待处理，处理完后再核对）：{differing}")
    else:
        typer.echo("看板汇总与重算一致")


@app.command("tier-bonus")
def tier_bonus(
    month: Annotated[str, typer.Option("--month", help="YYYY-MM, a month that is over in the brand's time zone")],
    brand: Annotated[int | None, typer.Option("--brand", help="only this brand id")] = None,
    as_of: AsOf = None,
    allow_future: AllowFuture = False,
) -> None:
    """Compute (or re-compute and adjust) the monthly tier bonuses; running it again posts only changes."""
    from linli.errors import DomainError
    from linli.ledger import tier_bonus as bonuses

    async def run(ctx: AppContext) -> list:
        return await bonuses.compute_all(db=ctx.db, month=month, now=ctx.clock.now(), brand_id=brand)

    try:
        reports = asyncio.run(_with_ctx(_settings(), as_of, run, allow_future=allow_future, payments=False))
    except DomainError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(code=2) from exc
    for r in reports:
        typer.echo(
            f"brand {r.brand_id} {r.month}: {r.leaders} leader(s), {r.changed} changed, "
            f"awarded {r.awarded_fen} fen (this run {r.posted_fen:+d} fen)"
        )


# --- withdrawals (wire-up: issue 4) ---------------------------------------------------------------


@app.command("payouts-sync")
def payouts_sync(
    as_of: AsOf = None,
    allow_future: AllowFuture = False,
    older_than_minutes: Annotated[int, typer.Option("--older-than-minutes", min=0, help="only approved at least this long ago")] = 10,
) -> None:
    """Ask the payout provider about approved withdrawals still in transfer (lost notifications); idempotent."""
    from datetime import timedelta

    from linli.payouts import service as payouts

    async def run(ctx: AppContext) -> payouts.SyncReport:
        now = ctx.clock.now()
        return await payouts.sync_approved(
            db=ctx.db, providers=ctx.payouts, as_of=now - timedelta(minutes=older_than_minutes), now=now
        )

    report = asyncio.run(_with_ctx(_settings(), as_of, run, allow_future=allow_future))
    outcomes = ", ".join(f"{k}={v}" for k, v in sorted((report.outcomes or {}).items())) or "nothing to do"
    typer.echo(f"checked {report.checked} withdrawal(s): {outcomes}")


# --- fulfillment (wire-up: issue 5) -----------------------------------------------------------------


@app.command("remind-unclaimed")
def remind_unclaimed(as_of: AsOf = None, allow_future: AllowFuture = False) -> None:
    """Remind members of parcels waiting at the pickup point; apply the brand's policy to overdue ones (idempotent)."""
    from linli.fulfillment import unclaimed

    async def run(ctx: AppContext) -> unclaimed.UnclaimedReport:
        total = unclaimed.UnclaimedReport()
        while True:
            async with ctx.db.transaction() as session:
                report = await unclaimed.handle_unclaimed(session=session, now=ctx.clock.now())
            total.reminded, total.returned = total.reminded + report.reminded, total.returned + report.returned
            total.failed += report.failed
            if report.reminded + report.returned + report.failed == 0:
                return total

    total = asyncio.run(_with_ctx(_settings(), as_of, run, allow_future=allow_future))
    typer.echo(f"reminded {total.reminded} parcel(s), returned {total.returned} parcel(s), failed {total.failed}")
    if total.failed:
        raise typer.Exit(code=1)

outbox_app = typer.Typer(help="The outbox of domain events and the worker that delivers them.")
app.add_typer(outbox_app, name="outbox")


@outbox_app.command("status")
def outbox_status(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    limit: Annotated[int, typer.Option(min=1, max=100, help="failing events to show")] = 10,
) -> None:
    """Pending events, the oldest one's age, events that keep failing (attempts, last error), workers, job runs."""
    from linli import health

    settings = _settings()

    async def run(ctx: AppContext) -> tuple[health.Snapshot, datetime]:
        now = ctx.clock.now()
        async with ctx.db.read() as session:
            return await health.snapshot(session=session, now=now, failing_limit=limit), now

    snap, now = asyncio.run(_with_ctx(settings, None, run, payments=False))
    if as_json:
        import json

        from fastapi.encoders import jsonable_encoder

        view = health.operator_view(snap, now=now, check_seconds=settings.scheduler_check_seconds)
        typer.echo(json.dumps(jsonable_encoder(view), ensure_ascii=False))
    else:
        typer.echo("\n".join(health.status_lines(snap, now=now, check_seconds=settings.scheduler_check_seconds)))

# --- brands: the first step of a new deployment (docs/operations.md, "From zero to a first live session") ------

brand_app = typer.Typer(help="Brands: create one with its first owner.", no_args_is_help=True)
app.add_typer(brand_app, name="brand")


@brand_app.command("create")
def brand_create(
    name: Annotated[str, typer.Option("--name", prompt="品牌名称", help="the brand's name, shown to everyone")],
    slug: Annotated[str, typer.Option("--slug", prompt="品牌标识（小写字母、数字、连字符）", help="unique, e.g. youlin")],
    owner_login: Annotated[str, typer.Option("--owner-login", prompt="负责人登录名", help="the first owner's login")],
    owner_password: Annotated[
        str,
        typer.Option(
            "--owner-password", prompt="负责人密码", hide_input=True, confirmation_prompt=True,
            envvar="LINLI_OWNER_PASSWORD", help="prompted (hidden, twice) when absent; or LINLI_OWNER_PASSWORD",
        ),
    ],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone of the brand's texts")] = "Asia/Shanghai",
    owner_name: Annotated[str, typer.Option("--owner-name", help="the owner's display name")] = "",
) -> None:
    """Create a brand and its first owner (a staff login with a password); prints the brand id."""
    from linli.brands import service as brands
    from linli.errors import DomainError

    async def run(ctx: AppContext) -> tuple[int, str]:
        async with ctx.db.transaction() as session:
            brand, owner = await brands.create_brand_with_owner(
                session=session, name=name, slug=slug.strip(), timezone=timezone.strip(), owner_login=owner_login,
                owner_password=owner_password, owner_display_name=owner_name or f"{name.strip()}·负责人",
                now=ctx.clock.now(),
            )
            return brand.id, owner.login_name or ""

    try:
        brand_id, login = asyncio.run(_with_ctx(_settings(), None, run, payments=False))
    except DomainError as exc:
        _fail(exc.message)
    typer.echo(
        f"品牌已创建：{name.strip()}（品牌 id {brand_id}，标识 {slug.strip()}，时区 {timezone.strip()}）；"
        f"负责人 {login} 用 POST /api/v1/auth/password-login 登录"
    )


app.add_typer(bench_app, name="bench")
# Marketing's jobs are top-level commands (`linli refresh-kits`, …), written beside the context they run.
app.registered_commands.extend(marketing_commands.registered_commands)


def _configure_logging(settings: Settings) -> None:
    try:
        configure_logging(settings.log_format)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from exc


if __name__ == "__main__":
    app()
