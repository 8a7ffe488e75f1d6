"""The console's commission report over HTTP, on the demo: the figures are the report service's, by live session
and by community, the totals sum, the CSV is the service's file (UTF-8 with BOM, Chinese headers, yuan as text)
with the page's rows, and a bad date is refused beside its field, keeping what was typed. (Who may open it:
test_console_money_pages.py.)"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from linli.ledger import statements
from linli.money import yuan
from tests.web.test_workbench_pages import text_of
from tests.web.workbench_scene import load, sign_in_as

AMOUNTS = ("paid_fen", "refunded_fen", "accrued_fen", "clawed_back_fen", "net_fen", "settled_fen", "pending_fen")


async def the_report(ctx, brand_id: int, days: int = 30) -> statements.CommissionReport:
    today = ctx.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    async with ctx.db.read() as s:
        return await statements.commission_report(
            session=s, brand_id=brand_id, date_from=today - timedelta(days=days - 1), date_to=today
        )


def table_rows(html: str, testid: str) -> list[list[str]]:
    table = re.search(rf'<table class="grid" data-testid="{testid}">(.*?)</table>', html, re.S)
    assert table is not None, testid
    return [
        [text_of(cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        for row in re.findall(r'<tr data-testid="(?:row|total)">(.*?)</tr>', table.group(1), re.S)
    ]


def expected(rows: list[statements.ReportRow]) -> list[list[str]]:
    return [[r.name, str(r.orders), *["¥" + yuan(getattr(r, a)) for a in AMOUNTS]] for r in rows]


async def test_the_page_shows_the_services_figures_and_the_totals_sum(client, ctx):
    demo = await load(ctx)
    report = await the_report(ctx, demo.brand_id)
    assert report.by_session and report.by_community and report.total.orders > 0  # the demo sold something
    await sign_in_as(client, ctx, login="youlin-owner")
    page = await client.get(f"/brands/{demo.brand_id}/console/reports/commission")
    assert page.status_code == 200
    total = [*expected([report.total])[0]]
    total[0] = "合计"
    assert table_rows(page.text, "session-table") == [*expected(report.by_session), total]
    assert table_rows(page.text, "community-table") == [*expected(report.by_community), total]
    for rows in (report.by_session, report.by_community):  # each grouping adds up to the total
        for amount in ("orders", *AMOUNTS):
            assert sum(getattr(r, amount) for r in rows) == getattr(report.total, amount), amount
    assert f'value="{report.date_from.isoformat()}"' in page.text and f'value="{report.date_to.isoformat()}"' in page.text
    assert "云顶华府" in text_of(page.text)


async def test_the_csv_is_the_services_file_with_the_pages_rows(client, ctx):
    demo = await load(ctx)
    report = await the_report(ctx, demo.brand_id)
    await sign_in_as(client, ctx, login="youlin-owner")
    page = await client.get(f"/brands/{demo.brand_id}/console/reports/commission")
    for group_by, rows, testid in (("session", report.by_session, "session-table"),
                                   ("community", report.by_community, "community-table")):
        link = (f"/brands/{demo.brand_id}/console/reports/commission.csv"
                f"?date_from={report.date_from}&amp;date_to={report.date_to}&amp;group_by={group_by}")
        assert f'href="{link}" download' in page.text
        got = await client.get(link.replace("&amp;", "&"))
        assert got.status_code == 200 and got.headers["content-type"] == "text/csv; charset=utf-8"
        assert got.headers["content-disposition"] == (
            f'attachment; filename="commission-report-{report.date_from}-{report.date_to}-{group_by}.csv"'
        )
        assert got.content.startswith(b"\xef\xbb\xbf") and got.content == statements.report_csv(report, group_by=group_by)
        header, *lines = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
        assert header[:3] == (["直播场次ID", "直播场次", "订单数"] if group_by == "session" else ["社区ID", "社区", "订单数"])
        assert "实付(元)" in header and "净佣金(元)" in header
        shown = table_rows(page.text, testid)
        assert [line[1] for line in lines] == [r[0] for r in shown[:-1]] + ["合计"]  # the page's rows, then the total
        for line, row in zip(lines, [*rows, report.total], strict=True):
            assert line[header.index("实付(元)")] == yuan(row.paid_fen)  # yuan as text, two decimals
            assert line[header.index("净佣金(元)")] == yuan(row.net_fen)
            assert re.fullmatch(r"-?\d+\.\d\d", line[header.index("佣金(元)")])


async def test_bad_dates_are_refused_beside_their_field_keeping_what_was_typed(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, login="youlin-owner")
    path = f"/brands/{demo.brand_id}/console/reports/commission"
    bad = await client.get(path, params={"date_from": "2026-13-01", "date_to": "2026-12-01"})
    assert bad.status_code == 422 and 'id="f-date_from-error"' in bad.text and "日期格式应为 YYYY-MM-DD" in text_of(bad.text)
    assert 'value="2026-13-01"' in bad.text and 'data-testid="session-table"' not in bad.text
    reversed_ = await client.get(path, params={"date_from": "2026-12-01", "date_to": "2026-11-01"})
    assert reversed_.status_code == 422 and 'id="f-date_to-error"' in reversed_.text
    assert "结束日期不能早于开始日期" in text_of(reversed_.text)
    too_long = await client.get(path, params={"date_from": "2024-01-01", "date_to": "2026-12-01"})
    assert too_long.status_code == 422 and "一次最多查询 366 天" in text_of(too_long.text)
    csv_bad = await client.get(f"{path}.csv", params={"date_from": "yesterday", "date_to": "2026-12-01"})
    assert csv_bad.status_code == 422 and csv_bad.headers["content-type"].startswith("text/html")
    group_bad = await client.get(f"{path}.csv", params={"group_by": "leader"})
    assert group_bad.status_code == 422 and "分组只能是" in text_of(group_bad.text)


async def test_a_range_without_orders_shows_zero_totals(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, login="youlin-owner")
    empty = await client.get(f"/brands/{demo.brand_id}/console/reports/commission",
                             params={"date_from": "2025-01-01", "date_to": "2025-01-31"})
    assert empty.status_code == 200
    assert table_rows(empty.text, "community-table") == [["合计", "0", *["¥0.00"] * 7]]
