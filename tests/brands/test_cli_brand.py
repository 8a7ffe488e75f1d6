"""`linli brand create`: a brand and its first owner from the command line, on both databases."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from linli.accounts import service as accounts
from linli.accounts.models import User
from linli.brands.models import Brand, StaffMember
from linli.cli import app
from linli.config import Settings
from linli.db import Database
from linli.models import metadata
from tests.conftest import START


async def _empty_schema(url: str) -> None:
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            if db.dialect == "sqlite":
                await conn.run_sync(metadata.create_all)
            else:
                for table in reversed(metadata.sorted_tables):
                    await conn.execute(table.delete())
    finally:
        await db.dispose()


async def _rows(url: str) -> tuple[list[tuple], list[tuple]]:
    db = Database(url)
    try:
        async with db.read() as s:
            brands = (await s.execute(select(Brand.id, Brand.name, Brand.slug, Brand.timezone).order_by(Brand.id))).all()
            staff = (
                await s.execute(
                    select(StaffMember.brand_id, StaffMember.role, User.login_name, User.display_name)
                    .join(User, User.id == StaffMember.user_id).order_by(StaffMember.id)
                )
            ).all()
        return [tuple(r) for r in brands], [tuple(r) for r in staff]
    finally:
        await db.dispose()


async def _can_log_in(url: str, login_name: str, password: str) -> bool:
    db = Database(url)
    settings = Settings(database_url=url, secret_key="test-secret")
    try:
        async with db.transaction() as s:
            outcome = await accounts.login_with_password(
                session=s, settings=settings, login_name=login_name, password=password, now=START
            )
        return outcome.issued is not None
    finally:
        await db.dispose()


async def _users(url: str) -> int:
    db = Database(url)
    try:
        async with db.read() as s:
            return int(await s.scalar(select(func.count()).select_from(User)) or 0)
    finally:
        await db.dispose()


@pytest.fixture
def cli(database_url, tmp_path, monkeypatch):
    asyncio.run(_empty_schema(database_url))
    monkeypatch.setenv("LINLI_DATABASE_URL", database_url)
    monkeypatch.setenv("LINLI_SECRET_KEY", "test-secret")
    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LINLI_PAYMENT_SIMULATOR", "1")
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(app, ["brand", "create", *args], input=input)  # noqa: A002


def test_create_a_brand_and_its_owner_with_options(cli, database_url):
    result = cli("--name", "鲜果邦", "--slug", "xianguo", "--timezone", "Asia/Urumqi", "--owner-login", "boss",
                 "--owner-password", "strawberry-2026", "--owner-name", "张店长")
    assert result.exit_code == 0, result.output
    brands, staff = asyncio.run(_rows(database_url))
    assert [(b[1], b[2], b[3]) for b in brands] == [("鲜果邦", "xianguo", "Asia/Urumqi")]
    brand_id = brands[0][0]
    assert f"品牌 id {brand_id}" in result.output
    assert staff == [(brand_id, "owner", "boss", "张店长")]
    assert asyncio.run(_can_log_in(database_url, "boss", "strawberry-2026"))


def test_everything_missing_is_prompted_and_the_password_is_hidden_and_confirmed(cli, database_url):
    answers = "优邻优选\nyoulin\nboss\nstrawberry-2026\nstrawberry-2027\nstrawberry-2026\nstrawberry-2026\n"
    result = cli(input=answers)
    assert result.exit_code == 0, result.output
    assert "strawberry-2026" not in result.output  # hidden input is never echoed
    assert result.output.count("负责人密码") >= 2  # asked again after the two entries differed
    brands, staff = asyncio.run(_rows(database_url))
    assert [(b[1], b[2], b[3]) for b in brands] == [("优邻优选", "youlin", "Asia/Shanghai")]
    assert [(s[1], s[2]) for s in staff] == [("owner", "boss")]
    assert asyncio.run(_can_log_in(database_url, "boss", "strawberry-2026"))


def _create(cli, slug: str = "youlin", login: str = "boss", password: str = "strawberry-2026", *extra: str):  # noqa: ANN001, ANN202
    return cli("--name", "优邻优选", "--slug", slug, "--owner-login", login, "--owner-password", password, *extra)


def test_a_taken_slug_is_refused_and_creates_no_second_owner(cli, database_url):
    assert _create(cli).exit_code == 0
    again = _create(cli, "youlin", "boss2")
    assert again.exit_code == 1 and "品牌标识已存在" in again.output and "Traceback" not in again.output
    brands, staff = asyncio.run(_rows(database_url))
    assert len(brands) == 1 and [s[2] for s in staff] == ["boss"]
    assert asyncio.run(_users(database_url)) == 1


@pytest.mark.parametrize("password", ["", "short1", "12345678901", "aaaaaaaaaa", "password", "bossboss"])
def test_a_weak_or_empty_password_is_refused_and_creates_nothing(cli, database_url, password):
    result = _create(cli, "youlin", "bossboss", password)
    assert result.exit_code == 1, result.output
    assert "密码" in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert asyncio.run(_rows(database_url)) == ([], []) and asyncio.run(_users(database_url)) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--timezone", "Mars/Olympus"), "时区无效"),
        (("--timezone", "../../etc/passwd"), "时区无效"),
        (("--name", "   "), "品牌名称"),
        (("--name", "鲜" * 65), "品牌名称"),
    ],
)
def test_bad_brand_fields_are_one_line_and_create_nothing(cli, database_url, extra, message):
    result = _create(cli, "youlin", "boss", "strawberry-2026", *extra)
    assert result.exit_code == 1 and message in result.output, result.output
    assert asyncio.run(_rows(database_url)) == ([], [])


def test_a_bad_slug_and_a_taken_login_are_refused(cli, database_url):
    assert "品牌标识只能包含" in _create(cli, "Bad Slug").output
    assert _create(cli).exit_code == 0
    taken = _create(cli, "other-brand", "boss")
    assert taken.exit_code == 1 and "登录名已被使用" in taken.output
    assert len(asyncio.run(_rows(database_url))[0]) == 1
