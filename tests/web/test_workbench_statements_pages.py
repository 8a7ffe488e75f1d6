"""The workbench's statements over HTTP: the day's and the month's figures as `statements.leader_statement` has
them, a date or month chosen in the brand's time zone, bad input beside the field, and the CSV download (UTF-8
with BOM, Chinese headers, yuan with two decimals) equal to the statement and byte for byte to the API's."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from linli.ledger import statements
from linli.money import yuan
from linli.web.visitor import SESSION_COOKIE
from tests.web.test_workbench_pages import text_of
from tests.web.workbench_scene import XIAOLI_PHONE, load, sign_in_as


def today(ctx) -> date:
    return ctx.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()


def money(fen: int) -> str:
    text = yuan(fen)
    return f"-¥{text[1:]}" if text.startswith("-") else f"¥{text}"


async def statement_of(ctx, demo, period: str, on: date) -> statements.Statement:
    async with ctx.db.read() as s:
        return await statements.leader_statement(
            session=s, brand_id=demo.brand_id, leader_id=demo.xiaoli_leader_id, period=period, on=on
        )


def totals_row(html: str, testid: str) -> list[str]:
    row = re.search(rf'<tr data-testid="{testid}">(.*?)</tr>', html, re.S).group(1)
    return re.findall(r"<td>([^<]*)</td>", row)


@pytest.mark.parametrize("period", ["day", "month"])
async def test_the_statement_shows_the_ledgers_figures(client, ctx, period):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    on = today(ctx)
    expected = await statement_of(ctx, demo, period, on)
    assert expected.line_count > 0  # the demo's oranges were paid tonight
    query = f"?period={period}&on=" + (on.isoformat() if period == "day" else f"{on.year:04d}-{on.month:02d}")
    page = await client.get(f"/brands/{demo.brand_id}/leader/statements{query}")
    assert page.status_code == 200
    assert f"{'日' if period == 'day' else '月'}对账单 {expected.label}" in text_of(page.text)
    for testid, b in (("opening", expected.opening), ("moved", expected.moved), ("closing", expected.closing)):
        assert totals_row(page.text, testid) == [money(b.pending_fen), money(b.available_fen), money(b.withdrawing_fen)]
    shown = re.findall(r'data-testid="line-(\d+)"', page.text)
    assert shown == [str(line.transaction_id) for line in expected.lines]
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", page.text)  # members masked in the lines
    linked = on if period == "day" else on.replace(day=1)  # a month input chose the month: its first day
    assert f'href="/brands/{demo.brand_id}/leader/statements.csv?period={period}&on={linked.isoformat()}"' in page.text


async def test_without_a_date_the_statement_is_todays_in_the_brands_time_zone(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/statements")
    assert page.status_code == 200 and f"日对账单 {today(ctx).isoformat()}" in text_of(page.text)
    assert f'value="{today(ctx).isoformat()}"' in page.text


@pytest.mark.parametrize(("query", "message"), [
    ("period=day&on=2026-13-01", "日期格式应为 YYYY-MM-DD"),
    ("period=month&on=1999-01", "日期须在 2000 年到 2100 年之间"),
    ("period=week", "对账周期只能是 day（日）或 month（月）"),
])
async def test_bad_input_is_told_beside_the_field(client, ctx, query, message):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/statements?{query}")
    assert page.status_code == 422
    assert message in re.search(r'data-error-for="on">([^<]*)<', page.text).group(1)
    assert 'data-testid="statement"' not in page.text
    csv_refused = await client.get(f"/brands/{demo.brand_id}/leader/statements.csv?{query}")
    assert csv_refused.status_code == 422 and csv_refused.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("period", ["day", "month"])
async def test_the_csv_is_the_statement_and_the_apis_csv(client, ctx, period):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    on = today(ctx)
    expected = await statement_of(ctx, demo, period, on)
    download = await client.get(f"/brands/{demo.brand_id}/leader/statements.csv?period={period}&on={on.isoformat()}")
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    label = statements.period_label(period, on)
    assert download.headers["content-disposition"] == f'attachment; filename="statement-{demo.xiaoli_leader_id}-{label}.csv"'
    assert download.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0] == statements.STATEMENT_CSV_HEADERS and "待结算变动(元)" in rows[0]
    head = rows[0]
    by_title = {row[1]: row for row in rows[1:] if row[1] in ("期初余额", "本期合计", "期末余额")}
    for title, column, b in (("本期合计", "变动", expected.moved), ("期末余额", "余额", expected.closing)):
        cells = by_title[title]
        assert [cells[head.index(f"{kind}{column}(元)")] for kind in ("待结算", "可提现", "提现中")] == [
            yuan(b.pending_fen), yuan(b.available_fen), yuan(b.withdrawing_fen)]
        assert all(re.fullmatch(r"-?\d+\.\d{2}", cells[head.index(f"{kind}{column}(元)")]) for kind in ("待结算", "可提现", "提现中"))
    line_ids = [row[-1] for row in rows[1:] if row[-1]]
    assert line_ids == [str(line.transaction_id) for line in expected.lines]
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", download.text)

    token = client.cookies.get(SESSION_COOKIE)
    api = await client.get(f"/api/v1/brands/{demo.brand_id}/leader/statement.csv?period={period}&on={on.isoformat()}",
                           headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.content == download.content
