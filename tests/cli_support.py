"""What the command-line tests share: a context on an emptied database, and `linli …` invoked against it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from linli.accounts.sms import InboxSmsSender
from linli.accounts.wechat import SimulatedWeChatClient
from linli.cli import app
from linli.clock import FixedClock
from linli.config import Settings
from linli.context import AppContext
from linli.db import Database
from linli.models import metadata
from linli.payments.providers import build_providers
from linli.payouts.providers import build_payout_providers
from tests.conftest import START


@asynccontextmanager
async def fresh_context(url: str, tmp_path: Path) -> AsyncIterator[AppContext]:
    """The schema on SQLite, every row deleted on PostgreSQL; the clock at START, the simulators on."""
    db = Database(url)
    async with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            await conn.run_sync(metadata.create_all)
        else:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
    settings = Settings(database_url=url, secret_key="test-secret", data_dir=tmp_path, payment_simulator_enabled=True)
    try:
        yield AppContext(settings=settings, db=db, clock=FixedClock(START), sms_sender=InboxSmsSender(),
                         wechat=SimulatedWeChatClient(), payments=build_providers(settings),
                         payouts=build_payout_providers(settings))
    finally:
        await db.dispose()


def cli_invoker(monkeypatch: pytest.MonkeyPatch, url: str, tmp_path: Path) -> Callable[..., Result]:
    """`linli <args>` against the test database, as an operator's shell would run it."""
    monkeypatch.setenv("LINLI_DATABASE_URL", url)
    monkeypatch.setenv("LINLI_SECRET_KEY", "test-secret")
    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LINLI_PAYMENT_SIMULATOR", "1")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))
