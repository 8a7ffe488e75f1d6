"""Development mode (every login code over HTTP, the simulators) is off unless asked for, and `linli serve` will
not put it on a network interface without an explicit flag."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from typer.testing import CliRunner

from linli.accounts.sms import InboxSmsSender
from linli.accounts.wechat import SimulatedWeChatClient, UnconfiguredWeChatClient, wechat_client_for
from linli.app import create_app
from linli.cli import app as cli_app
from linli.clock import FixedClock
from linli.config import Settings
from linli.context import AppContext
from linli.preflight import dev_mode_exposure, is_loopback
from tests.conftest import START

ENV = ("LINLI_DEV_MODE", "LINLI_PAYMENT_SIMULATOR", "LINLI_DATABASE_URL", "LINLI_DATA_DIR", "LINLI_WECHAT_APPID")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LINLI_SECRET_KEY", "test-secret")
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_defaults_are_off(clean_env):
    assert Settings().dev_mode is False and Settings().payment_simulator_enabled is False
    settings = Settings.from_env()
    assert settings.dev_mode is False and settings.payment_simulator_enabled is False
    assert isinstance(wechat_client_for(settings), UnconfiguredWeChatClient)


def test_dev_mode_turns_the_simulators_on_and_each_switch_still_decides(clean_env):
    clean_env.setenv("LINLI_DEV_MODE", "1")
    on = Settings.from_env()
    assert on.dev_mode and on.payment_simulator_enabled
    assert isinstance(wechat_client_for(on), SimulatedWeChatClient)
    clean_env.setenv("LINLI_PAYMENT_SIMULATOR", "0")
    assert Settings.from_env().payment_simulator_enabled is False
    clean_env.setenv("LINLI_DEV_MODE", "0")
    clean_env.setenv("LINLI_PAYMENT_SIMULATOR", "1")  # a staging rehearsal: simulated payments, no login codes
    staging = Settings.from_env()
    assert staging.payment_simulator_enabled and not staging.dev_mode


@pytest.fixture
async def default_client(db, tmp_path) -> AsyncIterator[httpx.AsyncClient]:
    """The app with dev mode at its default (the payment simulator on, so that the app can be built)."""
    settings = Settings(database_url=db.url, secret_key="test-secret", data_dir=tmp_path, payment_simulator_enabled=True)
    ctx = AppContext.build(settings, clock=FixedClock(START))
    ctx.sms_sender = InboxSmsSender()
    app = create_app(ctx, dispose_on_shutdown=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


async def test_the_inbox_and_the_simulated_wechat_login_are_closed_by_default(default_client):
    sent = await default_client.post("/api/v1/auth/sms-codes", json={"phone": "13812341234"})
    assert sent.status_code == 202
    inbox = await default_client.get("/api/v1/dev/sms-inbox")
    assert inbox.status_code == 404 and "13812341234" not in inbox.text
    wechat = await default_client.post("/api/v1/auth/wechat-login", json={"code": "081abcDEFghi"})
    assert wechat.status_code == 404 and wechat.json()["error"]["code"] == "wechat_login_not_configured"


def test_loopback_hosts():
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.20", "10.0.0.1", "example.com"):
        assert not is_loopback(host), host
    assert dev_mode_exposure(host="0.0.0.0", dev_mode=True, allowed=False)
    assert dev_mode_exposure(host="127.0.0.1", dev_mode=True, allowed=False) is None
    assert dev_mode_exposure(host="0.0.0.0", dev_mode=False, allowed=False) is None
    assert dev_mode_exposure(host="0.0.0.0", dev_mode=True, allowed=True) is None


@pytest.fixture
def served(clean_env, tmp_path):
    """`linli serve` up to the moment it would listen: uvicorn.run records where instead."""
    import uvicorn

    calls: list[dict] = []
    clean_env.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    clean_env.setenv("LINLI_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/serve.db")
    return calls


def test_serve_refuses_dev_mode_on_every_interface(served, clean_env, tmp_path):
    clean_env.setenv("LINLI_DEV_MODE", "1")
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--port", "8123"])
    assert result.exit_code == 1, result.output
    assert "拒绝启动" in result.output and "--allow-dev-mode-on-network" in result.output
    assert served == [] and not (tmp_path / "serve.db").exists() and not (tmp_path / "var").exists()


def test_serve_starts_on_loopback_or_when_told(served, clean_env):
    clean_env.setenv("LINLI_DEV_MODE", "1")
    assert CliRunner().invoke(cli_app, ["serve", "--host", "127.0.0.1", "--port", "8123"]).exit_code == 0
    told = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--port", "8123", "--allow-dev-mode-on-network"])
    assert told.exit_code == 0, told.output
    assert [c["host"] for c in served] == ["127.0.0.1", "0.0.0.0"]


def test_serve_without_dev_mode_on_a_network_needs_a_payment_provider(served, clean_env):
    refused = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--port", "8123"])
    assert refused.exit_code == 1 and "未配置支付渠道" in refused.output and served == []
    clean_env.setenv("LINLI_PAYMENT_SIMULATOR", "1")
    assert CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--port", "8123"]).exit_code == 0
    assert [c["host"] for c in served] == ["0.0.0.0"]
