"""What every `linli` command shares: the --as-of options, the one-line failure, the settings after the database
check (linli.preflight) and the context a job runs in (its clock `--as-of` or the system's)."""

from __future__ import annotations

import os
from typing import Annotated, NoReturn

import typer

from linli import preflight
from linli.clock import AsOfRefused, FixedClock, SystemClock, replay_moment
from linli.config import DEFAULT_DATABASE_URL, MissingSecret, Settings, SettingsError
from linli.context import AppContext

AsOf = Annotated[
    str | None, typer.Option("--as-of", help="ISO timestamp to run as (default: now; not later than now); naive = UTC")
]
AllowFuture = Annotated[
    bool, typer.Option("--allow-future", help="accept an --as-of later than now: rehearsals on a copy of the data only")
]


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code=code)


def command_settings(*, prepare: bool = False) -> Settings:
    """The settings of a command, after checking its database (see linli.preflight).

    Only commands that prepare a database (migrate, demo, serve) may create the embedded SQLite file and its
    generated secret; every other command needs them to exist already and says so in one line otherwise.
    """
    url = os.environ.get("LINLI_DATABASE_URL", DEFAULT_DATABASE_URL)
    problem = preflight.database_problem(url, require_schema=not prepare)
    if problem:
        fail(problem)
    try:
        return Settings.from_env(create_secret=prepare)
    except MissingSecret as exc:
        fail(
            f"密钥文件 {exc.path} 不存在：请设置 LINLI_SECRET_KEY（每个进程相同），"
            "或让 LINLI_DATA_DIR 指向 linli migrate 生成它的目录"
        )
    except SettingsError as exc:  # a configuration that cannot work: say which variables, in one line
        fail(f"配置错误：{exc}", code=2)


def job_context(settings: Settings, *, clock: FixedClock | None = None, payments: bool = True) -> AppContext:
    """The application context; payments=False for a command that never pays nor pays out."""
    if not payments:
        return AppContext.build(settings, clock=clock, providers=False)
    if not settings.payment_simulator_enabled and not settings.wechatpay_mchid:
        fail(
            "未配置支付渠道：生产请配置微信支付（LINLI_WECHATPAY_MCHID 等，见 docs/payments.md）；"
            "开发与演示请设置 LINLI_DEV_MODE=1（或 LINLI_PAYMENT_SIMULATOR=1）"
        )
    try:
        return AppContext.build(settings, clock=clock)
    except ValueError as exc:  # a provider named as default but not configured (linli.payments.providers, …)
        fail(f"配置有误：{exc}（见 docs/operations.md）")


async def with_ctx(  # noqa: ANN202
    settings: Settings, as_of: str | None, job, *, allow_future: bool = False, payments: bool = True  # noqa: ANN001
):
    """Runs `job` with a context whose clock is `--as-of` (see linli.clock.replay_moment: never a future moment
    unless allow_future) or the system clock; payments=False when the job never pays nor pays out."""
    clock = None
    if as_of:
        try:
            clock = FixedClock(replay_moment(as_of, now=SystemClock().now(), allow_future=allow_future))
        except AsOfRefused as exc:
            fail(str(exc), code=2)
    ctx = job_context(settings, clock=clock, payments=payments)
    try:
        return await job(ctx)
    finally:
        await ctx.db.dispose()
