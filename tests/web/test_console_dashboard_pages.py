"""数据看板 in the console over HTTP, on the evening of the roll-up tests (the clock on 15 December, Shanghai):
the page shows the service's figures (totals, every day, top leaders, months, communities) as tables and as the
charts' JSON, its filters narrow them as the API's do, a bad value is refused beside its field (422), and only
the brand's staff (any role) open it."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from linli.dashboards import brand, claims, growth, leader_kpis, sessions
from linli.dashboards.exports import rate_text
from linli.leaders.models import Leader
from linli.web.dashboard_kpi_charts import BAND_TEXT
from linli.web.templating import money_filter
from linli.web.visitor import SESSION_COOKIE
from tests.dashboards.test_claims_dashboard import claimed  # noqa: F401 - the fixture
from tests.dashboards.test_growth import growing  # noqa: F401 - the fixture
from tests.dashboards.test_leader_kpis import half_year  # noqa: F401 - the fixture
from tests.dashboards.test_rollups import evening  # noqa: F401 - the fixture
from tests.dashboards.test_sessions_dashboard import session_evening
from tests.factories import make_live_session
from tests.ledger.helpers import buy
from tests.orders.setup import bound_member
from tests.web.test_workbench_pages import text_of

PAGE = "/brands/{brand}/console/dashboard"


def _as(client, actor) -> None:  # noqa: ANN001
    client.cookies.set(SESSION_COOKIE, actor.token)


async def figures_of(ctx, brand_id: int, **filters) -> brand.BrandDashboard:  # noqa: ANN001
    """What the service answers (the API's figures) for the same filters."""
    asked = {"date_from": None, "date_to": None, "leader_id": None, "community_id": None, **filters}
    async with ctx.db.read() as s:
        return await brand.brand_dashboard(session=s, brand_id=brand_id, now=ctx.clock.now(), **asked)


def table_rows(html: str, testid: str) -> list[list[str]]:
    table = re.search(rf'<table class="grid" data-testid="{testid}">(.*?)</table>', html, re.S)
    assert table is not None, testid
    return [
        [text_of(cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        for row in re.findall(r'<tr data-testid="(?:row|total)">(.*?)</tr>', table.group(1), re.S)
    ]


def chart_data(html: str, key: str) -> dict:
    found = re.search(rf'<script type="application/json" id="chart-data-{key}">(.*?)</script>', html, re.S)
    assert found is not None, key
    return json.loads(found.group(1))


def money(*rows) -> list[list[str]]:  # noqa: ANN002
    return [[money_filter(r.paid_fen), money_filter(r.refunded_fen), money_filter(r.gmv_fen)] for r in rows]


async def test_the_page_shows_the_services_figures_as_tables_and_charts(client, ctx, evening):  # noqa: F811
    stage, _ = evening
    _as(client, stage.owner)
    page = await client.get(PAGE.format(brand=stage.brand_id))
    assert page.status_code == 200, page.text
    html = page.text
    figures = await figures_of(ctx, stage.brand_id)
    assert (figures.first_day.isoformat(), figures.last_day.isoformat()) == ("2026-11-16", "2026-12-15")
    assert 'value="2026-11-16"' in html and 'value="2026-12-15"' in html  # the default range, in the fields
    assert 'aria-current="page">数据看板' in html
    # Totals: 4 orders, 440.00 paid, 30.00 refunded; GMV = paid − refunded.
    for testid, shown in (("total-gmv", "¥410.00"), ("total-orders", "4"), ("total-paid", "¥440.00"),
                          ("total-refunded", "¥30.00")):
        assert f'data-testid="{testid}">{shown}<' in html, testid

    days = table_rows(html, "table-days")
    assert days[:-1] == [[d.day.isoformat(), str(d.orders), *m] for d, m in zip(figures.days, money(*figures.days),
                                                                                 strict=True)]
    assert days[-1] == ["合计", "4", "¥440.00", "¥30.00", "¥410.00"]
    assert len(days) == 31 and ["2026-12-01", "2", "¥264.00", "¥30.00", "¥234.00"] in days
    assert table_rows(html, "table-leaders") == [["1", "小李", "3", "¥352.00", "¥30.00", "¥322.00"]]
    assert table_rows(html, "table-months") == [["2026-11", "1", "1", "100.00%"], ["2026-12", "3", "0", "0.00%"]]
    assert table_rows(html, "table-communities") == [
        ["云顶华府", "4", "¥440.00", "¥30.00", "¥410.00"], ["全部小区合计", "4", "¥440.00", "¥30.00", "¥410.00"]
    ]

    # Each chart's JSON carries what its table shows, money in fen and rates in basis points.
    assert chart_data(html, "days") == {
        "kind": "line", "horizontal": False, "labels": [d.day.isoformat() for d in figures.days],
        "series": [{"name": "成交额", "unit": "fen", "values": [d.gmv_fen for d in figures.days]}],
    }
    assert chart_data(html, "leaders") == {
        "kind": "bar", "horizontal": True, "labels": ["小李"],
        "series": [{"name": "成交额", "unit": "fen", "values": [32200]}],
    }
    assert chart_data(html, "months")["series"] == [{"name": "复购率", "unit": "bp", "values": [10_000, 0]}]
    assert chart_data(html, "communities")["labels"] == ["云顶华府"]
    assert '<script src="/static/vendor/echarts/echarts.min.js" defer></script>' in html
    assert '<script src="/static/web/brand_dashboard.js" defer></script>' in html
    for key in ("days", "leaders", "months", "communities"):  # a CSV beside every table, for the range shown
        link = f"/brands/{stage.brand_id}/console/dashboard/{key}.csv?date_from=2026-11-16&amp;date_to=2026-12-15"
        assert f'href="{link}"' in html
    assert len(re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", html)) == 0  # no inline script (CSP)


async def test_the_filters_narrow_the_figures_as_the_api_does(client, ctx, world, evening):  # noqa: F811
    stage, _ = evening
    async with ctx.db.read() as s:
        other_community = (await s.get(Leader, stage.other_leader.leader_id)).community_id
    # One of 王姐's neighbours buys 2 × 88.00 on the 15th, picked up at 翠湖花园.
    await buy(ctx, replace(stage, community_id=other_community), await bound_member(world, stage.other_leader),
              quantity=2, offer=False)
    _as(client, stage.owner)
    path = PAGE.format(brand=stage.brand_id)
    everything = (await client.get(path)).text
    assert table_rows(everything, "table-communities") == [
        ["云顶华府", "4", "¥440.00", "¥30.00", "¥410.00"], ["翠湖花园", "1", "¥176.00", "¥0.00", "¥176.00"],
        ["全部小区合计", "5", "¥616.00", "¥30.00", "¥586.00"],
    ]
    assert f'<option value="{stage.leader.leader_id}">小李（云顶华府）</option>' in everything
    assert f'<option value="{other_community}">翠湖花园</option>' in everything

    there = await client.get(path, params={"community_id": str(other_community), "date_from": "2026-12-01"})
    assert there.status_code == 200
    assert f'<option value="{other_community}" selected>翠湖花园</option>' in there.text
    assert 'data-testid="total-gmv">¥176.00<' in there.text
    assert table_rows(there.text, "table-communities") == [
        ["翠湖花园", "1", "¥176.00", "¥0.00", "¥176.00"], ["全部小区合计", "1", "¥176.00", "¥0.00", "¥176.00"]
    ]
    assert table_rows(there.text, "table-months") == [["2026-12", "1", "0", "0.00%"]]
    # The ranking stays the brand's whatever the filters.
    assert [row[1] for row in table_rows(there.text, "table-leaders")] == ["小李", "王姐"]
    assert f"community_id={other_community}" in there.text  # the CSV links carry the filters

    mine = (await client.get(path, params={"leader_id": str(stage.leader.leader_id)})).text
    figures = await figures_of(ctx, stage.brand_id, leader_id=stage.leader.leader_id)
    assert figures.totals.gmv_fen == 32200
    assert f'data-testid="total-gmv">{money_filter(figures.totals.gmv_fen)}<' in mine
    assert table_rows(mine, "table-months") == [["2026-11", "1", "1", "100.00%"], ["2026-12", "2", "0", "0.00%"]]

    quiet = (await client.get(path, params={"date_from": "2026-10-01", "date_to": "2026-10-31"})).text
    assert 'data-testid="empty-leaders"' in quiet and 'data-testid="empty-communities"' in quiet
    assert 'data-testid="chart-days"' in quiet  # every day is there, at zero
    assert table_rows(quiet, "table-months") == [["2026-10", "0", "0", "—"]]
    assert chart_data(quiet, "months")["series"][0]["values"] == [None]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"date_from": "2026-13-01"}, "date_from", "日期格式应为 YYYY-MM-DD"),
        ({"date_to": "yesterday"}, "date_to", "日期格式应为 YYYY-MM-DD"),
        ({"date_from": "2026-12-15", "date_to": "2026-12-01"}, "date_to", "开始日期不能晚于结束日期"),
        ({"date_from": "2025-01-01", "date_to": "2026-12-01"}, "date_to", "一次最多查询 400 天"),
        ({"leader_id": "abc"}, "leader_id", "请从列表中选择团长"),
        ({"leader_id": "999999"}, "leader_id", "请从列表中选择团长"),
        ({"leader_id": "²"}, "leader_id", "请从列表中选择团长"),  # a digit to str.isdigit, not to int()
        ({"community_id": "-3"}, "community_id", "请从列表中选择小区"),
    ],
)
async def test_a_bad_value_is_told_beside_its_field(client, evening, params, field, message):  # noqa: F811
    stage, _ = evening
    _as(client, stage.owner)
    page = await client.get(PAGE.format(brand=stage.brand_id), params=params)
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    error = re.search(rf'<p class="field-error" id="f-{field}-error"[^>]*>(.*?)</p>', page.text, re.S)
    assert error is not None and message in error.group(1)
    for name, value in params.items():  # what was asked stays in its field (a select keeps no unknown option)
        if name.startswith("date"):
            assert f'value="{value}"' in page.text
    assert 'data-testid="totals"' not in page.text and "echarts.min.js" not in page.text


async def test_another_brands_leader_or_community_is_refused(client, world, evening):  # noqa: F811
    stage, _ = evening
    elsewhere = await world.brand(name="别家")
    owner = await world.staff(elsewhere)
    foreign_community = await world.community(elsewhere, "别家小区")
    stranger = await world.leader(elsewhere, foreign_community, approver=owner, name="老周")
    _as(client, stage.owner)
    path = PAGE.format(brand=stage.brand_id)
    for params, field in (({"leader_id": str(stranger.leader_id)}, "leader_id"),
                          ({"community_id": str(foreign_community)}, "community_id")):
        page = await client.get(path, params=params)
        assert page.status_code == 422 and f'id="f-{field}-error"' in page.text
        assert "老周" not in page.text and "别家小区" not in page.text


@pytest.mark.parametrize("who", ["owner", "operator"])
async def test_the_brands_staff_of_either_role_open_it(client, world, evening, who):  # noqa: F811
    stage, _ = evening
    actor = stage.owner if who == "owner" else await world.staff(stage.brand_id, role="operator")
    _as(client, actor)
    page = await client.get(PAGE.format(brand=stage.brand_id))
    assert page.status_code == 200 and 'data-testid="chart-days"' in page.text
    download = await client.get(PAGE.format(brand=stage.brand_id) + "/days.csv")
    assert download.status_code == 200 and download.content.startswith(b"\xef\xbb\xbf")


async def test_nobody_else_opens_it(client, world, evening):  # noqa: F811
    stage, _ = evening
    path = PAGE.format(brand=stage.brand_id)
    for url in (path, path + "/days.csv"):
        client.cookies.clear()
        anonymous = await client.get(url)
        assert anonymous.status_code == 303 and anonymous.headers["location"] == f"/signin?next={url}"
        elsewhere = await world.brand(name=f"别家{len(url)}")
        for actor in (stage.leader.actor, await bound_member(world, stage.leader), await world.staff(elsewhere)):
            _as(client, actor)
            refused = await client.get(url)
            assert refused.status_code == 403 and "text/html" in refused.headers["content-type"], url
            assert "仅限本品牌员工操作" in text_of(refused.text) and "¥410.00" not in refused.text
    _as(client, stage.owner)
    assert (await client.get(PAGE.format(brand=999_999))).status_code == 404


async def test_the_range_follows_the_brands_day(client, ctx, clock, evening):  # noqa: F811
    stage, _ = evening
    clock.set(datetime(2026, 12, 15, 16, 30, tzinfo=UTC))  # 00:30 on 16 December in Shanghai
    _as(client, stage.owner)
    page = (await client.get(PAGE.format(brand=stage.brand_id))).text
    assert 'data-testid="range">2026-11-17 至 2026-12-16' in page


def _rate(bp: int | None) -> str:
    return rate_text(bp) or "—"


def _fen(fen: int | None) -> str:
    return "—" if fen is None else money_filter(fen)


def _funnel(f: sessions.Funnel) -> list[str]:
    return [str(f.views), str(f.entries), str(f.orders), str(f.paid_orders)]


def _claims(c: claims.ClaimFigures) -> list[str]:
    return [str(c.paid_lines), str(c.claimed_lines), str(c.claims), _rate(c.rate_bp)]


async def test_the_leader_income_and_churn_sections_show_the_services_months(client, ctx, world, half_year):  # noqa: F811
    stage = half_year  # the clock on 2 May 2027; the range ending in April shows April and the six months before
    _as(client, await world.staff(stage.brand_id))  # the evening's owner token is older than 30 days by May
    page = await client.get(PAGE.format(brand=stage.brand_id), params={"date_from": "2027-04-01", "date_to": "2027-04-30"})
    assert page.status_code == 200, page.text
    async with ctx.db.read() as s:
        kpis = await leader_kpis.leader_kpis(session=s, brand_id=stage.brand_id, month="2027-04", now=ctx.clock.now())
    assert [m.month.isoformat() for m in kpis.months] == [f"{m}-01" for m in (
        "2026-10", "2026-11", "2026-12", "2027-01", "2027-02", "2027-03", "2027-04")]
    html = page.text
    income = table_rows(html, "table-income")
    assert income == [[m.month.strftime("%Y-%m"), str(m.income.leaders), money_filter(m.income.total_fen),
                       _fen(m.income.mean_fen), _fen(m.income.median_fen)] for m in kpis.months]
    # December: 小李 26.40, 王姐 13.20 → total 39.60, mean and median 19.80.
    assert income[2] == ["2026-12", "2", "¥39.60", "¥19.80", "¥19.80"]
    april = kpis.months[-1].income
    assert table_rows(html, "table-income-bands") == [[BAND_TEXT[b.key], str(b.leaders)] for b in april.buckets]
    assert chart_data(html, "income")["series"] == [
        {"name": "团长数", "unit": "count", "values": [b.leaders for b in april.buckets]}
    ]
    assert april.leaders == sum(b.leaders for b in april.buckets) > 0
    churn = table_rows(html, "table-churn")
    assert churn == [[m.month.strftime("%Y-%m"), str(m.churn.core_leaders), str(m.churn.churned), _rate(m.churn.rate_bp),
                      "已定" if m.churn.final else "截至今日"] for m in kpis.months]
    assert any(m.churn.core_leaders for m in kpis.months)  # the story has a core leader
    assert chart_data(html, "churn")["series"][0]["values"] == [m.churn.rate_bp for m in kpis.months]


async def test_the_session_sections_show_the_services_sessions_and_funnels(client, ctx, world, clock):
    stage, _ = await session_evening(ctx, world, clock)
    _as(client, stage.owner)
    path = PAGE.format(brand=stage.brand_id)
    html = (await client.get(path)).text
    async with ctx.db.read() as s:
        figures = await sessions.sessions_dashboard(session=s, brand_id=stage.brand_id, date_from=None, date_to=None,
                                                    session_id=None, now=ctx.clock.now())
    assert len(figures.sessions) == 1
    one = figures.sessions[0]
    shown = table_rows(html, "table-sessions")
    assert shown == [[one.title, one.start_day.isoformat(), str(one.orders), money_filter(one.gmv_fen),
                      money_filter(one.baseline_fen), money_filter(one.baseline_day_fen),
                      f"{one.multiple_bp // 10000}.{one.multiple_bp % 10000 // 100:02d} 倍"]]
    # Paid 88 + 176 + 88 + 88 (late), 30.00 refunded: 410.00; baseline 176 − 10 (A) + 88 (B) = 254.00 over 28 days.
    assert shown[0][3:6] == ["¥410.00", "¥254.00", "¥9.07"]
    assert chart_data(html, "sessions")["series"] == [
        {"name": "场次成交额", "unit": "fen", "values": [41000]},
        {"name": "基线日均成交额", "unit": "fen", "values": [one.baseline_day_fen]},
    ]
    assert table_rows(html, "table-funnel") == [
        [f"{one.title}（{one.start_day.isoformat()}）", *_funnel(one.funnel)], ["合计", *_funnel(figures.funnel)]
    ]
    assert table_rows(html, "table-funnel_leaders") == [
        *[[str(n), f.name, *_funnel(f.funnel)] for n, f in enumerate(figures.leaders, 1)],
        ["", "未归属", *_funnel(figures.unattributed)],
    ]
    assert [row[1] for row in table_rows(html, "table-funnel_leaders")][:2] == ["小李", "王姐"]
    assert chart_data(html, "funnel_leaders")["horizontal"] is True

    # The session select: the brand's sessions that went live; one chosen narrows the sessions to it.
    option = f'<option value="{stage.session_id}">{one.title}（2026-11-28）</option>'
    assert option in html
    quiet = await client.get(path, params={"date_from": "2026-10-01", "date_to": "2026-10-31"})
    assert table_rows(quiet.text, "table-sessions") == [] and 'data-testid="empty-sessions"' in quiet.text
    chosen = await client.get(path, params={"date_from": "2026-10-01", "date_to": "2026-10-31",
                                            "session_id": str(stage.session_id)})
    assert chosen.status_code == 200
    assert f'<option value="{stage.session_id}" selected>' in chosen.text
    assert table_rows(chosen.text, "table-sessions") == shown


@pytest.mark.parametrize("value", ["abc", "999999", "elsewhere", "scheduled"])
async def test_a_session_not_among_the_choices_is_told_beside_its_field(client, world, evening, value):  # noqa: F811
    stage, _ = evening
    if value == "elsewhere":
        value = str(await make_live_session(world, await world.brand(name="别家"), title="别家专场", start=True))
    elif value == "scheduled":  # the brand's own, but never live: no figures to narrow to
        value = str(await make_live_session(world, stage.brand_id, title="下周专场"))
    _as(client, stage.owner)
    page = await client.get(PAGE.format(brand=stage.brand_id), params={"session_id": value})
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    error = re.search(r'<p class="field-error" id="f-session_id-error"[^>]*>(.*?)</p>', page.text, re.S)
    assert error is not None and "请从列表中选择场次" in error.group(1)
    assert "别家专场" not in page.text and "下周专场" not in page.text
    assert 'data-testid="totals"' not in page.text and 'data-testid="section-sessions"' not in page.text


async def test_the_claim_sections_show_the_services_rates(client, ctx, claimed):  # noqa: F811
    stage = claimed  # the clock at 00:30 on 1 December; the default range holds 30 November and 1 December
    _as(client, stage.owner)
    html = (await client.get(PAGE.format(brand=stage.brand_id))).text
    async with ctx.db.read() as s:
        figures = await claims.claims_dashboard(session=s, brand_id=stage.brand_id, date_from=None, date_to=None,
                                                now=ctx.clock.now())
    products = table_rows(html, "table-claim_products")
    assert products == [*[[p.name, *_claims(p)] for p in figures.products], ["合计", *_claims(figures.totals)]]
    assert products[-1] == ["合计", "6", "4", "5", "66.66%"]  # o0 o1 o3 o4 claimed of six; o1 twice
    assert table_rows(html, "table-claim_leaders") == [[p.name, *_claims(p)] for p in figures.leaders]
    assert [p.name for p in figures.leaders] == ["小李", "王姐"]
    assert chart_data(html, "claim_products")["series"][0] == {
        "name": "售后率", "unit": "bp", "values": [p.rate_bp for p in figures.products]
    }
    assert chart_data(html, "claim_leaders")["labels"] == ["小李", "王姐"]


async def test_the_growth_section_shows_the_services_days(client, ctx, growing):  # noqa: F811
    stage = growing  # the clock at 00:30 on 21 November
    _as(client, stage.owner)
    html = (await client.get(PAGE.format(brand=stage.brand_id), params={"date_from": "2026-11-19"})).text
    async with ctx.db.read() as s:
        figures = await growth.brand_growth(session=s, brand_id=stage.brand_id, date_from="2026-11-19", date_to=None,
                                            now=ctx.clock.now())
    rows = table_rows(html, "table-growth")
    assert rows == [*[[d.day.isoformat(), str(d.leaders_approved), str(d.members_bound)] for d in figures.days],
                    ["合计", str(figures.leaders_approved), str(figures.members_bound)]]
    # 20 Nov: 小李 and 王姐 approved, two neighbours bound; 21 Nov: 老陈 approved, one more (the moved one is not new).
    assert rows == [["2026-11-19", "0", "0"], ["2026-11-20", "2", "2"], ["2026-11-21", "1", "1"], ["合计", "3", "3"]]
    assert chart_data(html, "growth") == {
        "kind": "line", "horizontal": False, "labels": ["2026-11-19", "2026-11-20", "2026-11-21"],
        "series": [{"name": "新团长", "unit": "count", "values": [0, 2, 1]},
                   {"name": "新成员", "unit": "count", "values": [0, 2, 1]}],
    }
