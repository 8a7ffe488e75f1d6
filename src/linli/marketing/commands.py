"""The marketing and community jobs as `linli` commands, each also run by the worker on its schedule and each with
--as-of for replays: campaign kits (`refresh-kits`, `remind-kits`), push delivery (`deliver-pushes`), interest
groups (`interest-groups`) and automated care (`care`)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from linli.cli_support import AllowFuture, AsOf
from linli.cli_support import command_settings as _settings
from linli.cli_support import with_ctx as _with_ctx
from linli.context import AppContext

marketing_commands = typer.Typer()


@marketing_commands.command("refresh-kits")
def refresh_kits(as_of: AsOf = None, allow_future: AllowFuture = False) -> None:
    """Make or remake every leader's campaign kit of every scheduled or live session (idempotent: a kit whose
    content is unchanged is left as it is). The worker does this on every change; this catches up at once."""
    from linli.marketing import kits

    async def run(ctx: AppContext) -> tuple[int, int]:
        async with ctx.db.read() as session:
            targets = await kits.upcoming_sessions(session=session, brand_id=None)
        changed = withdrawn = 0
        for brand_id, session_id in targets:
            after: int | None = 0
            while after is not None:
                async with ctx.db.transaction() as session:
                    result = await kits.refresh_kits(
                        session=session, brand_id=brand_id, session_id=session_id,
                        base_url=ctx.settings.public_base_url, now=ctx.clock.now(), after_leader_id=after,
                    )
                changed, withdrawn, after = changed + len(result.changed), withdrawn + result.withdrawn, result.last_leader_id
        return changed, withdrawn

    changed, withdrawn = asyncio.run(_with_ctx(_settings(), as_of, run, allow_future=allow_future, payments=False))
    typer.echo(f"made or remade {changed} kit(s), withdrew {withdrawn}")


@marketing_commands.command("remind-kits")
def remind_kits(as_of: AsOf = None, allow_future: AllowFuture = False) -> None:
    """Push the reminders due at that moment: each leader a day and an hour before their session, each community
    group its leader's preview an hour before (idempotent; the worker runs it every 10 minutes)."""
    from linli.marketing import announcements

    async def run(ctx: AppContext) -> int:
        async with ctx.db.transaction() as session:
            return await announcements.remind(session=session, base_url=ctx.settings.public_base_url, now=ctx.clock.now())

    queued = asyncio.run(_with_ctx(_settings(), as_of, run, allow_future=allow_future, payments=False))
    typer.echo(f"queued {queued} reminder push(es)")


@marketing_commands.command("interest-groups")
def interest_groups(
    brand: Annotated[int | None, typer.Option("--brand", help="one brand (default: every brand)")] = None,
    as_of: AsOf = None, allow_future: AllowFuture = False,
) -> None:
    """Recompute every active interest group's members as of a moment (the window ends there); idempotent. The
    worker does it daily at 03:30 in each brand's time zone."""
    from sqlalchemy import select

    from linli.brands.models import Brand
    from linli.marketing import interests

    async def run(ctx: AppContext) -> list[interests.Recomputed]:
        async with ctx.db.read() as session:
            brand_ids = [brand] if brand is not None else list(await session.scalars(select(Brand.id).order_by(Brand.id)))
        done: list[interests.Recomputed] = []
        for brand_id in brand_ids:
            async with ctx.db.transaction() as session:
                done += await interests.recompute_brand(session=session, brand_id=brand_id, as_of=ctx.clock.now())
        return done

    done = asyncio.run(_with_ctx(_settings(), as_of, run, allow_future=allow_future, payments=False))
    typer.echo(
        f"recomputed {len(done)} group(s): {sum(d.joined for d in done)} joined, {sum(d.left for d in done)} left, "
        f"{sum(d.members for d in done)} member(s) in all"
    )


@marketing_commands.command("care")
def care_greetings(
    brand: Annotated[int | None, typer.Option("--brand", help="one brand (default: every brand)")] = None,
    as_of: AsOf = None, allow_future: AllowFuture = False,
) -> None:
    """Send the birthday and holiday greetings (and coupons) of each brand's local day of a moment; once per member
    per occasion per year, so running it again sends nothing. The worker does it daily at 09:00 local."""
    from sqlalchemy import select

    from linli.brands.models import Brand
    from linli.marketing import care

    async def run(ctx: AppContext) -> list[care.CareReport]:
        async with ctx.db.read() as session:
            brand_ids = [brand] if brand is not None else list(await session.scalars(select(Brand.id).order_by(Brand.id)))
        return [await care.run_brand(db=ctx.db, brand_id=brand_id, as_of=ctx.clock.now(), now=ctx.clock.now(),
                                     base_url=ctx.settings.public_base_url) for brand_id in brand_ids]

    done = asyncio.run(_with_ctx(_settings(), as_of, run, allow_future=allow_future, payments=False))
    typer.echo(f"greeted {sum(r.greeted for r in done)} member(s), issued {sum(r.coupons for r in done)} coupon(s)")


@marketing_commands.command("deliver-pushes")
def deliver_pushes(as_of: AsOf = None, allow_future: AllowFuture = False) -> None:
    """Deliver the pushes due at that moment (the worker does it on every pass): 站内信, 短信, WeCom robots."""
    from linli.notifications.delivery import DeliveryReport, Dispatcher

    async def run(ctx: AppContext) -> DeliveryReport:
        dispatcher, total = Dispatcher.for_context(ctx), DeliveryReport()
        while True:
            report = await dispatcher.deliver_due(now=ctx.clock.now())
            total.add(report)
            if report.done == 0:
                return total

    total = asyncio.run(_with_ctx(_settings(), as_of, run, allow_future=allow_future, payments=False))
    typer.echo(
        f"sent {total.sent}, retrying {total.retrying}, failed {total.failed}, skipped {total.skipped} (muted), "
        f"postponed {total.postponed} (robot rate limit)"
    )
    if total.failed:
        raise typer.Exit(code=1)
