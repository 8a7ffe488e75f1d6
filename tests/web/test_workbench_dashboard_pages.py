"""数据 (the leader's dashboard page): the figures of each period as the API reads them, and who may open it."""

from __future__ import annotations

import re

import pytest

from linli.web.visitor import SESSION_COOKIE
from tests.dashboards.test_rollups import evening  # noqa: F401 - the fixture
from tests.orders.setup import bound_member


def _as(client, actor) -> None:  # noqa: ANN001
    client.cookies.set(SESSION_COOKIE, actor.token)


def _testid(html: str, name: str) -> str:
    found = re.search(rf'data-testid="{name}">(.*?)</', html, re.S)
    assert found, name
    return found.group(1).strip()


async def test_the_month_shows_what_the_leader_earned_and_sold(client, evening):  # noqa: F811
    stage, _ = evening  # the clock stands on 15 December
    _as(client, stage.leader.actor)
    page = await client.get(f"/brands/{stage.brand_id}/leader/dashboard", params={"period": "month"})
    assert page.status_code == 200
    html = page.text
    assert _testid(html, "period-label") == "2026-12-01 至 2026-12-15"
    assert (_testid(html, "gmv"), _testid(html, "orders"), _testid(html, "paying-members")) == ("¥234.00", "2", "2")
    assert (_testid(html, "refunded"), _testid(html, "rank")) == ("¥30.00", "第 1 名 / 1")
    assert "2026年11月复购率：100.0%（1 位付款邻居中 1 位次月再次购买）" in html
    api = (await client.get(f"/api/v1/brands/{stage.brand_id}/leader/dashboard", params={"period": "month"},
                            headers=stage.leader.actor.headers)).json()
    assert _testid(html, "pending") == f"¥{api['pending_fen'] // 100}.{api['pending_fen'] % 100:02d}"
    assert 'aria-current="page">本月' in html and 'aria-current="page">数据' in html

    november = (await client.get(f"/brands/{stage.brand_id}/leader/dashboard", params={"period": "2026-11"})).text
    assert (_testid(november, "gmv"), _testid(november, "new-members")) == ("¥88.00", "2")
    today = (await client.get(f"/brands/{stage.brand_id}/leader/dashboard")).text
    assert (_testid(today, "gmv"), _testid(today, "rank")) == ("¥0.00", "暂无成交")


@pytest.mark.parametrize(("period", "message"), [("2027-01", "所选月份尚未开始"), ("next", "统计周期须为")])
async def test_a_month_it_cannot_show_is_told_beside_the_field(client, evening, period, message):  # noqa: F811
    stage, _ = evening
    _as(client, stage.leader.actor)
    page = await client.get(f"/brands/{stage.brand_id}/leader/dashboard", params={"period": period})
    assert page.status_code == 422 and message in page.text
    assert f'value="{period}"' in page.text  # what was asked stays in the field
    assert _testid(page.text, "period-label") == "2026-12-15"  # and today is shown meanwhile


async def test_only_this_brands_active_leader_opens_it(client, world, evening):  # noqa: F811
    stage, _ = evening
    path = f"/brands/{stage.brand_id}/leader/dashboard"
    anonymous = await client.get(path)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")
    for actor in (await bound_member(world, stage.leader), stage.owner):
        _as(client, actor)
        refused = await client.get(path)
        assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    _as(client, stage.leader.actor)
    assert (await client.get(f"/brands/{await world.brand(name='别家')}/leader/dashboard")).status_code == 403


async def test_the_live_panel_counts_the_sessions_orders_of_this_leader_only(client, world, evening):  # noqa: F811
    stage, _ = evening  # its session is live: 小李's neighbours ordered three times in it, a walk-in once
    _as(client, stage.leader.actor)
    fragment = await client.get(f"/brands/{stage.brand_id}/leader/dashboard/live")
    assert fragment.status_code == 200
    html = fragment.text
    assert "直播中 · 黄金奶油草莓专场" in html
    assert (_testid(html, "live-orders"), _testid(html, "live-paid"), _testid(html, "live-gmv")) == ("3", "3", "¥322.00")  # 88 + 176 + 88 paid, 30 refunded
    assert _testid(html, "live-quota") == "100"  # 小李's open offer, nothing sold on it
    assert 'data-stream="/api/v1/live-sessions/' in html
    page = (await client.get(f"/brands/{stage.brand_id}/leader/dashboard")).text
    assert _testid(page, "live-orders") == "3"
    _as(client, stage.other_leader.actor)  # 王姐 leads the other community: nothing of 小李's shows
    other = (await client.get(f"/brands/{stage.brand_id}/leader/dashboard/live")).text
    assert (_testid(other, "live-orders"), _testid(other, "live-quota")) == ("0", "未开放")
    _as(client, await bound_member(world, stage.leader))
    assert (await client.get(f"/brands/{stage.brand_id}/leader/dashboard/live")).status_code == 403
