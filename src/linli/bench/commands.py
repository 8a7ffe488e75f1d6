"""`linli bench …`: the benchmarks' commands (each creates and drops its own database)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

bench_app = typer.Typer(help="Benchmarks: each creates and drops its own database and reports its own ceiling.")


@bench_app.command("flash-sale")
def bench_flash_sale(
    db: Annotated[str, typer.Option("--db", help="sqlite or postgresql (LINLI_BENCH_POSTGRES_URL)")] = "sqlite",
    members: Annotated[int, typer.Option(min=3, help="distinct members rushing the offer")] = 2000,
    concurrency: Annotated[int, typer.Option(min=1, help="requests in flight at once")] = 64,
    quota: Annotated[int, typer.Option(min=1, help="units in the community offer")] = 100,
    server_workers: Annotated[
        int | None,
        typer.Option(min=1, help="`linli serve --workers` for the server under test (and the HTTP floor); default as `linli serve`'s"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """A flash sale over HTTP against `linli serve`, beside the engine's own ceiling: oversold and lost paid orders must be 0."""
    import json

    import uvloop

    from linli.bench.flash_sale import as_dict, as_table, run_flash_sale

    outcome = uvloop.run(run_flash_sale(db=db, members=members, concurrency=concurrency, quota=quota, server_workers=server_workers))
    result = as_dict(outcome)
    typer.echo(json.dumps(result) if as_json else as_table(outcome))
    if result["oversold"] or result["lost_paid_orders"] or result["engine_oversold"]:
        raise typer.Exit(code=1)


@bench_app.command("live-room")
def bench_live_room(
    db: Annotated[str, typer.Option("--db", help="sqlite or postgresql (LINLI_BENCH_POSTGRES_URL)")] = "postgresql",
    viewers: Annotated[int, typer.Option(min=1, help="SSE viewers in the room (and on the bare floor)")] = 5000,
    events: Annotated[int, typer.Option(min=1, help="room events fired (offers, stock, ticker, phases)")] = 60,
    interval_ms: Annotated[float, typer.Option("--interval-ms", min=1, help="between two fired transactions")] = 150,
    idle_seconds: Annotated[float, typer.Option("--idle-seconds", min=0.1, help="each idle window (PostgreSQL)")] = 10,
    stats_catch_up_seconds: Annotated[
        float, typer.Option("--stats-catch-up-seconds", min=0, hidden=True, help="wait for PostgreSQL's statistics")
    ] = 11,
    ramp_timeout: Annotated[
        float, typer.Option("--ramp-timeout", min=1, help="seconds to open the viewers; those still missing count as missed")
    ] = 900,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """N viewers on one room of `linli serve`: delay from commit to each viewer, beside a bare Starlette floor."""
    import json

    import uvloop

    from linli.bench.live_room import as_dict, run_live_room

    result = as_dict(
        uvloop.run(
            run_live_room(
                db=db, viewers=viewers, events=events, interval_seconds=interval_ms / 1000, idle_window=idle_seconds,
                catch_up=stats_catch_up_seconds, ramp_deadline=ramp_timeout,
            )
        )
    )
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            typer.echo(f"{key:>38}: {value}")


@bench_app.command("settle")
def bench_settle(
    db: Annotated[str, typer.Option("--db", help="sqlite or postgresql (LINLI_BENCH_POSTGRES_URL)")] = "sqlite",
    orders: Annotated[int, typer.Option(min=1, help="paid orders, one pending commission line each")] = 1_000_000,
    leaders: Annotated[int, typer.Option(min=1, help="leaders the orders are spread over")] = 3000,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=100_000, help="lines per transaction")] = 1000,
    settlers: Annotated[int, typer.Option("--settlers", min=1, max=16, help="batches settled at once")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """T+1 settlement of N orders (`linli settle`), timed against a plain SQL aggregate; exits 1 unless verified."""
    import json

    from linli.bench.settle import as_dict, run_settle_bench

    result = as_dict(
        asyncio.run(run_settle_bench(db=db, orders=orders, leaders=leaders, batch_size=batch_size, settlers=settlers))
    )
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            typer.echo(f"{key:>18}: {value}")
    if not result["verified"]:
        raise typer.Exit(code=1)


@bench_app.command("dashboard")
def bench_dashboard(
    db: Annotated[str, typer.Option("--db", help="sqlite or postgresql (LINLI_BENCH_POSTGRES_URL's server)")] = "postgresql",
    scale: Annotated[float, typer.Option(min=0.00001, max=10, help="1.0: 10M orders, 50k leaders, 2M members over 12 months")] = 1.0,
    regenerate: Annotated[bool, typer.Option("--regenerate", help="rebuild the stored data set even if its scale matches")] = False,
    database: Annotated[
        str | None, typer.Option("--database", help="where the data set is kept: a PostgreSQL database name or an SQLite file")
    ] = None,
    requests: Annotated[int, typer.Option(min=1, help="timed requests per dashboard")] = 400,
    leaders: Annotated[int, typer.Option(min=1, help="random leaders whose dashboards are asked for")] = 200,
    concurrency: Annotated[int, typer.Option(min=1, help="requests in flight at once")] = 1,
    rush: Annotated[int, typer.Option(min=1, help="orders paid during the freshness rush, each of another leader")] = 200,
    rush_concurrency: Annotated[int, typer.Option("--rush-concurrency", min=1, help="orders being paid at once, at most")] = 8,
    rush_rate: Annotated[float, typer.Option("--rush-rate", min=0.1, help="buyers starting to order and pay per second")] = 20,
    poll_ms: Annotated[
        int, typer.Option("--poll-ms", min=10, help="how often each waiting leader's dashboard is read during the rush")
    ] = 250,
    server_workers: Annotated[
        int | None, typer.Option(min=1, help="`linli serve --workers` for the server under test; default as `linli serve`'s")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """The leader's and the brand's dashboards over HTTP on a national-scale data set (kept between runs),
    beside the raw-table query of the same figures, and their freshness while orders are being paid."""
    import json

    import uvloop

    from linli.bench.dashboard import as_dict, run_dashboard_bench

    result = as_dict(uvloop.run(run_dashboard_bench(
        db=db, scale=scale, regenerate=regenerate, database=database, requests=requests, leaders=leaders,
        concurrency=concurrency, rush=rush, rush_concurrency=rush_concurrency, rush_rate=rush_rate,
        poll_ms=poll_ms, server_workers=server_workers,
    )))
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            typer.echo(f"{key:>22}: {value}")
    if result["errors"] or not result["raw_matches_rollups"]:
        raise typer.Exit(code=1)
