"""The brand dashboard's CSV files: one per table (days, top leaders, months, communities), UTF-8 with a BOM and
Chinese headers, the service's figures row for row, money in fen and in yuan, 合计 rows that equal the range's
totals; and the same bytes from the API (`dashboard.csv?table=`) and the console's 「导出 CSV」 links."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date

import pytest

from linli.dashboards import brand, exports
from linli.dashboards.service import Repurchase
from linli.errors import InvalidInput
from linli.leaders.models import Leader
from linli.money import yuan
from linli.web.visitor import SESSION_COOKIE
from tests.dashboards.test_rollups import evening  # noqa: F401 - the fixture
from tests.ledger.helpers import buy
from tests.orders.setup import bound_member

API = "/api/v1/brands/{brand}/dashboard.csv"
PAGE = "/brands/{brand}/console/dashboard/{table}.csv"
MONEY_HEADERS = ["实付(分)", "实付(元)", "退款(分)", "退款(元)", "成交额(分)", "成交额(元)"]


def rows_of(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 (and shows Chinese) only with the BOM
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def money(figures) -> list[str]:  # noqa: ANN001
    return [str(figures.paid_fen), yuan(figures.paid_fen), str(figures.refunded_fen), yuan(figures.refunded_fen),
            str(figures.gmv_fen), yuan(figures.gmv_fen)]


async def figures_of(ctx, brand_id: int, **filters) -> brand.BrandDashboard:  # noqa: ANN001
    asked = {"date_from": None, "date_to": None, "leader_id": None, "community_id": None, **filters}
    async with ctx.db.read() as s:
        return await brand.brand_dashboard(session=s, brand_id=brand_id, now=ctx.clock.now(), **asked)


async def test_each_table_is_the_services_figures_with_chinese_headers(ctx, world, evening):  # noqa: F811
    stage, _ = evening
    async with ctx.db.read() as s:
        other_community = (await s.get(Leader, stage.other_leader.leader_id)).community_id
    await buy(ctx, replace(stage, community_id=other_community), await bound_member(world, stage.other_leader),
              quantity=2, offer=False)
    figures = await figures_of(ctx, stage.brand_id)

    header, *days, total = rows_of(exports.dashboard_csv(figures, table="days"))
    assert header == ["日期", "订单数", *MONEY_HEADERS]
    assert days == [[d.day.isoformat(), str(d.orders), *money(d)] for d in figures.days] and len(days) == 30
    assert total == ["合计", "5", *money(figures.totals)] and figures.totals.gmv_fen == 41000 + 17600
    for column in (1, 2, 4, 6):  # every count and fen column of the days adds up to the 合计 row
        assert sum(int(row[column]) for row in days) == int(total[column]), header[column]

    header, *leaders = rows_of(exports.dashboard_csv(figures, table="leaders"))
    assert header == ["排名", "团长ID", "团长", "订单数", *MONEY_HEADERS]
    assert leaders == [
        ["1", str(stage.leader.leader_id), "小李", "3", *money(figures.leaders[0])],
        ["2", str(stage.other_leader.leader_id), "王姐", "1", "17600", "176.00", "0", "0.00", "17600", "176.00"],
    ]

    header, *months = rows_of(exports.dashboard_csv(figures, table="months"))
    assert header == ["月份", "付款人数", "次月再次购买人数", "复购率", "复购率(基点)"]
    assert months == [["2026-11", "1", "1", "100.00%", "10000"], ["2026-12", "4", "0", "0.00%", "0"]]

    header, *communities, total = rows_of(exports.dashboard_csv(figures, table="communities"))
    assert header == ["小区ID", "小区", "订单数", *MONEY_HEADERS]
    assert communities == [
        [str(stage.community_id), "云顶华府", "4", "44000", "440.00", "3000", "30.00", "41000", "410.00"],
        [str(other_community), "翠湖花园", "1", "17600", "176.00", "0", "0.00", "17600", "176.00"],
    ]
    assert total == ["", "合计", "5", *money(figures.totals)]
    for column in (2, 3, 5, 7):
        assert sum(int(row[column]) for row in communities) == int(total[column]), header[column]


def test_names_cannot_run_as_formulas_and_an_unknown_table_is_refused():
    day = brand.DayFigures(date(2026, 12, 1), 1, 100, 0)
    figures = brand.BrandDashboard(
        first_day=day.day, last_day=day.day, today=day.day, leader_id=None, community_id=None,
        totals=brand.Totals(1, 100, 0), days=[day], leaders=[brand.LeaderFigures(7, "=HYPERLINK(1)", 1, 100, 0)],
        months=[Repurchase(date(2026, 12, 1), 0, 0)],
        communities=[brand.CommunityFigures(None, brand.NO_COMMUNITY, 1, 100, 0)],
    )
    assert rows_of(exports.dashboard_csv(figures, table="leaders"))[1][2] == "'=HYPERLINK(1)"
    assert rows_of(exports.dashboard_csv(figures, table="months"))[1] == ["2026-12", "0", "0", "", ""]  # nobody paid
    assert rows_of(exports.dashboard_csv(figures, table="communities"))[1][:2] == ["", "未记录小区"]
    assert exports.csv_filename(figures, table="days") == "brand-dashboard-2026-12-01-2026-12-01-days.csv"
    with pytest.raises(InvalidInput) as refused:
        exports.dashboard_csv(figures, table="orders")
    assert refused.value.code == "dashboard_table_invalid"
    assert [exports.rate_text(bp) for bp in (8500, 3333, 5, None)] == ["85.00%", "33.33%", "0.05%", ""]


@pytest.mark.parametrize("table", exports.TABLES)
async def test_the_api_and_the_page_give_the_same_bytes(client, ctx, evening, table):  # noqa: F811
    stage, _ = evening
    filters = {"date_from": "2026-11-20", "date_to": "2026-12-15", "leader_id": stage.leader.leader_id}
    figures = await figures_of(ctx, stage.brand_id, **filters)
    expected = exports.dashboard_csv(figures, table=table)
    api = await client.get(API.format(brand=stage.brand_id), headers=stage.owner.headers, params={
        "table": table, "from": "2026-11-20", "to": "2026-12-15", "leader_id": stage.leader.leader_id,
    })
    assert api.status_code == 200, api.text
    assert api.headers["content-type"] == "text/csv; charset=utf-8" and api.content == expected
    filename = f"brand-dashboard-2026-11-20-2026-12-15-{table}.csv"
    assert api.headers["content-disposition"] == f'attachment; filename="{filename}"'
    client.cookies.set(SESSION_COOKIE, stage.owner.token)
    page = await client.get(PAGE.format(brand=stage.brand_id, table=table), params={
        "date_from": "2026-11-20", "date_to": "2026-12-15", "leader_id": str(stage.leader.leader_id),
    })
    assert page.status_code == 200 and page.content == expected
    assert page.headers["content-disposition"] == f'attachment; filename="{filename}"'
    if table == "days":
        assert rows_of(page.content)[-1] == ["合计", "3", "35200", "352.00", "3000", "30.00", "32200", "322.00"]


async def test_refusals_of_the_files(client, world, evening):  # noqa: F811
    stage, _ = evening
    api = API.format(brand=stage.brand_id)
    bad_table = await client.get(api, params={"table": "orders"}, headers=stage.owner.headers)
    assert (bad_table.status_code, bad_table.json()["error"]["code"]) == (422, "dashboard_table_invalid")
    assert "表格只能是" in bad_table.json()["error"]["message"]
    missing = await client.get(api, headers=stage.owner.headers)
    assert (missing.status_code, missing.json()["error"]["code"]) == (422, "invalid_request")
    reversed_ = await client.get(api, params={"table": "days", "from": "2026-12-15", "to": "2026-12-01"},
                                 headers=stage.owner.headers)
    assert (reversed_.status_code, reversed_.json()["error"]["code"]) == (422, "range_invalid")
    refused = await client.get(api, params={"table": "days"}, headers=stage.leader.actor.headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "staff_only")
    assert (await client.get(api, params={"table": "days"})).status_code == 401

    client.cookies.set(SESSION_COOKIE, stage.owner.token)
    page = PAGE.format(brand=stage.brand_id, table="orders")
    unknown = await client.get(page)
    assert unknown.status_code == 422 and unknown.headers["content-type"].startswith("text/html")
    assert "表格只能是" in unknown.text
    bad_date = await client.get(PAGE.format(brand=stage.brand_id, table="days"), params={"date_from": "tomorrow"})
    assert bad_date.status_code == 422 and "日期格式应为 YYYY-MM-DD" in bad_date.text
    bad_leader = await client.get(PAGE.format(brand=stage.brand_id, table="days"), params={"leader_id": "x"})
    assert bad_leader.status_code == 422 and "请从列表中选择团长" in bad_leader.text
