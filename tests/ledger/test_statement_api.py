"""Statement and report routes: what they answer, in JSON and CSV, and who may call them."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from linli.attribution import service as attribution
from linli.ledger.models import LedgerEntry, LedgerTransaction
from tests.factories import make_listing, make_live_session
from tests.ledger.helpers import assert_audit_ok, buy, complete, refund, settle
from tests.orders.setup import bound_member, build_stage

NOV_21_MIDNIGHT = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
NOV_21_NOON = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)


@pytest.fixture
async def scene(ctx, world, clock):
    stage = await build_stage(world, quota=100, per_member_limit=20)
    second_session = await make_live_session(world, stage.brand_id, title="车厘子专场", start=True)
    second_listing = await make_listing(world, stage.brand_id, second_session, stage.sku_id, live_price_fen=8800)
    buyer = await world.user(phone="13812345678", name="张小红")
    async with ctx.db.transaction() as s:
        await attribution.enter_with_code(session=s, user_id=buyer.user_id, raw_code=stage.leader.code, now=clock.now())
    # 20 Nov. 小李: 2 boxes at the community price in session 1 (13,600 → 2,040), a quarter refunded (−510),
    # picked up; one box in session 2 at the live price (8,800 → 1,320). 王姐: one box in session 1 (8,800 → 1,320).
    first = await buy(ctx, stage, buyer, quantity=2)
    await refund(ctx, first, 3_400)
    await complete(ctx, first)
    await buy(ctx, dataclasses.replace(stage, listing_id=second_listing), await bound_member(world, stage.leader), offer=False)
    await buy(ctx, stage, await bound_member(world, stage.other_leader), offer=False)
    # 21 Nov: the first settles (2,040 − 510); 王姐 sells another box in session 1.
    clock.set(NOV_21_MIDNIGHT)
    await settle(ctx)
    clock.set(NOV_21_NOON)
    await buy(ctx, stage, await bound_member(world, stage.other_leader), offer=False)
    await assert_audit_ok(ctx)
    other_brand = await world.brand("鲜果铺")
    other_staff = await world.staff(other_brand)
    operator = await world.staff(stage.brand_id, role="operator")
    return dict(stage=stage, first=first, buyer=buyer, other_staff=other_staff, operator=operator,
                second_session=second_session)


def _actors(scene) -> dict:  # noqa: ANN001
    stage = scene["stage"]
    return {"anonymous": None, "member": scene["buyer"], "owner": stage.owner, "other_staff": scene["other_staff"],
            "operator": scene["operator"], "leader": stage.leader.actor, "other_leader": stage.other_leader.actor}


def _headers(actor) -> dict:  # noqa: ANN001
    return actor.headers if actor else {}


def _rows(response) -> list[list[str]]:  # noqa: ANN001
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


async def _ledger_size(ctx) -> tuple[int, int]:  # noqa: ANN001
    async with ctx.db.read() as s:
        return (
            int(await s.scalar(select(func.count()).select_from(LedgerTransaction))),
            int(await s.scalar(select(func.count()).select_from(LedgerEntry))),
        )


async def test_a_leader_reads_their_month_in_json_and_csv(client, scene):
    stage, first = scene["stage"], scene["first"]
    base = f"/api/v1/brands/{stage.brand_id}/leader/statement"
    response = await client.get(base + "?period=month&on=2026-11-05", headers=stage.leader.actor.headers)
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["leader_id"], data["label"], data["timezone"], data["total"]) == (
        stage.leader.leader_id, "2026-11", "Asia/Shanghai", 4
    )
    assert (data["starts_at"], data["ends_at"]) == ("2026-10-31T16:00:00Z", "2026-11-30T16:00:00Z")
    assert data["opening"] == {"pending_fen": 0, "available_fen": 0, "withdrawing_fen": 0}
    assert data["closing"] == {"pending_fen": 1_320, "available_fen": 1_530, "withdrawing_fen": 0}
    assert [(i["kind"], i["order_id"]) for i in data["items"]][:3] == [("accrual", first), ("clawback", first), ("accrual", first + 1)]
    accrual = data["items"][0]
    assert accrual["order"]["member_phone"] == "138****5678" and accrual["order"]["member_name"] == "张**"
    assert (accrual["order"]["rule_text"], accrual["order"]["rate_bp"], accrual["order"]["available_from_date"]) == (
        "直播间订单基础佣金率", 1500, "2026-11-21"
    )
    assert accrual["moved"] == {"pending_fen": 2_040, "available_fen": 0, "withdrawing_fen": 0}
    assert data["items"][-1]["kind"] == "settlement" and data["items"][-1]["balance_after"] == data["closing"]

    paged = await client.get(base + "?period=month&on=2026-11-30&page=2&page_size=2", headers=stage.leader.actor.headers)
    assert [i["transaction_id"] for i in paged.json()["items"]] == [i["transaction_id"] for i in data["items"][2:4]]
    assert paged.json()["items"][0]["balance_after"] == data["items"][2]["balance_after"]

    default = await client.get(base, headers=stage.leader.actor.headers)  # this month, today in the brand's zone
    assert (default.json()["period"], default.json()["on"], default.json()["closing"]) == ("month", "2026-11-21", data["closing"])
    day = await client.get(base + "?period=day&on=2026-11-21", headers=stage.leader.actor.headers)
    assert [i["kind"] for i in day.json()["items"]] == ["settlement"]
    assert day.json()["opening"] == {"pending_fen": 2_040 - 510 + 1_320, "available_fen": 0, "withdrawing_fen": 0}

    exported = await client.get(base + ".csv?period=month&on=2026-11-05", headers=stage.leader.actor.headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"] == f'attachment; filename="statement-{stage.leader.leader_id}-2026-11.csv"'
    header, opening, *rows, totals, closing = _rows(exported)
    col = {name: i for i, name in enumerate(header)}
    lines = [r for r in rows if r[col["类型"]] != "其中：订单结算"]  # a settlement's per-order breakdown rows
    assert [int(r[col["记账编号"]]) for r in lines] == [i["transaction_id"] for i in data["items"]]
    settled = [i for i in data["items"] if i["kind"] == "settlement"]
    assert [len(i["settled_orders"]) for i in settled] == [1]
    assert settled[0]["settled_orders"][0]["settled_fen"] == settled[0]["moved"]["available_fen"]
    assert (closing[col["可提现余额(分)"]], closing[col["可提现余额(元)"]], closing[col["待结算余额(元)"]]) == ("1530", "15.30", "13.20")
    assert lines[1][col["待结算变动(元)"]] == "-5.10" and lines[1][col["类型"]] == "退款扣回佣金"
    assert totals[col["待结算变动(分)"]] == "1320" and opening[col["待结算余额(分)"]] == "0"

    # Staff read the same statement, byte for byte.
    staff_csv = await client.get(
        f"/api/v1/brands/{stage.brand_id}/leaders/{stage.leader.leader_id}/statement.csv?period=month&on=2026-11-05",
        headers=stage.owner.headers,
    )
    assert staff_csv.content == exported.content
    staff_json = await client.get(
        f"/api/v1/brands/{stage.brand_id}/leaders/{stage.leader.leader_id}/statement?period=month&on=2026-11-05",
        headers=stage.owner.headers,
    )
    assert staff_json.json() == data


STATEMENT_ACCESS = [
    # (caller, route, status, error code)
    ("anonymous", "own", 401, "unauthorized"),
    ("member", "own", 403, "leader_only"),
    ("owner", "own", 403, "leader_only"),  # staff are not leaders: they use the staff route
    ("other_staff", "own", 403, "leader_only"),
    ("anonymous", "staff", 401, "unauthorized"),
    ("member", "staff", 403, "staff_only"),
    ("leader", "staff", 403, "staff_only"),  # not even for their own statement
    ("other_leader", "staff", 403, "staff_only"),  # a leader reading another leader's statement
    ("other_staff", "staff", 403, "staff_only"),
    ("owner", "staff", 200, None),
    ("operator", "staff", 200, None),
    ("leader", "own", 200, None),
]


async def test_who_may_read_a_statement(ctx, client, scene):
    stage = scene["stage"]
    actors = _actors(scene)
    before = await _ledger_size(ctx)
    for suffix in ("", ".csv"):
        for who, route, status, code in STATEMENT_ACCESS:
            path = (
                f"/api/v1/brands/{stage.brand_id}/leader/statement{suffix}" if route == "own"
                else f"/api/v1/brands/{stage.brand_id}/leaders/{stage.leader.leader_id}/statement{suffix}"
            )
            response = await client.get(path + "?period=month&on=2026-11-21", headers=_headers(actors[who]))
            assert response.status_code == status, (who, route, suffix, response.text)
            if code:
                assert response.json()["error"]["code"] == code, (who, route, suffix)
            elif suffix == "":
                assert response.json()["leader_id"] == stage.leader.leader_id
                assert response.json()["closing"]["available_fen"] == 1_530
            else:
                assert _rows(response)[-1][1] == "期末余额"
    # The other leader reads only their own: 王姐's statement, not 小李's.
    own = await client.get(f"/api/v1/brands/{stage.brand_id}/leader/statement?on=2026-11-21", headers=stage.other_leader.actor.headers)
    assert own.json()["leader_id"] == stage.other_leader.leader_id
    assert own.json()["closing"] == {"pending_fen": 2_640, "available_fen": 0, "withdrawing_fen": 0}
    assert scene["first"] not in [i["order_id"] for i in own.json()["items"]]
    assert await _ledger_size(ctx) == before


async def test_staff_cannot_reach_another_brands_leader_or_brand(client, world, scene):
    stage = scene["stage"]
    other_brand = await world.brand("果然鲜")
    staff = await world.staff(other_brand)
    community = await world.community(other_brand, "枫林苑")
    outsider = await world.leader(other_brand, community, approver=staff, name="老陈")
    for suffix in ("", ".csv"):
        response = await client.get(
            f"/api/v1/brands/{stage.brand_id}/leaders/{outsider.leader_id}/statement{suffix}", headers=stage.owner.headers
        )
        assert (response.status_code, response.json()["error"]["code"]) == (404, "leader_not_found")
        response = await client.get(f"/api/v1/brands/999999/leader/statement{suffix}", headers=stage.leader.actor.headers)
        assert response.status_code == 404
        # The outsider's own staff cannot read this brand's leader through their brand either.
        response = await client.get(
            f"/api/v1/brands/{other_brand}/leaders/{stage.leader.leader_id}/statement{suffix}", headers=staff.headers
        )
        assert (response.status_code, response.json()["error"]["code"]) == (404, "leader_not_found")


BAD_STATEMENT_INPUT = [
    ("period=week", "statement_period_invalid"),
    ("period=", "statement_period_invalid"),
    ("on=2026-13-01", "statement_date_invalid"),
    ("on=2026-02-30", "statement_date_invalid"),
    ("on=20261120", "statement_date_invalid"),
    ("on=abc", "statement_date_invalid"),
    ("on=1900-01-01", "statement_date_invalid"),
    ("on=2026-11-20T00:00", "invalid_request"),  # longer than a date
    ("page=0", "invalid_request"),
]


async def test_bad_statement_input_is_a_422_with_a_stable_code(ctx, client, scene):
    stage = scene["stage"]
    before = await _ledger_size(ctx)
    for suffix in ("", ".csv"):
        for path in (
            f"/api/v1/brands/{stage.brand_id}/leader/statement{suffix}",
            f"/api/v1/brands/{stage.brand_id}/leaders/{stage.leader.leader_id}/statement{suffix}",
        ):
            headers = stage.leader.actor.headers if "/leader/" in path else stage.owner.headers
            for query, code in BAD_STATEMENT_INPUT:
                if suffix and query.startswith("page"):
                    continue  # the CSV is never paged
                response = await client.get(f"{path}?{query}", headers=headers)
                assert (response.status_code, response.json()["error"]["code"]) == (422, code), (path, query)
    assert await _ledger_size(ctx) == before


def _amounts(row: dict) -> tuple:
    return tuple(row[k] for k in ("orders", "paid_fen", "refunded_fen", "accrued_fen", "clawed_back_fen", "net_fen",
                                  "settled_fen", "pending_fen"))


async def test_the_brand_report_by_community_and_session_sums_back(client, scene):
    stage = scene["stage"]
    base = f"/api/v1/brands/{stage.brand_id}/commission-report"
    response = await client.get(base + "?from=2026-11-20&to=2026-11-20", headers=stage.owner.headers)
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["date_from"], data["date_to"], data["starts_at"], data["ends_at"]) == (
        "2026-11-20", "2026-11-20", "2026-11-19T16:00:00Z", "2026-11-20T16:00:00Z"
    )
    assert [(r["name"], _amounts(r)) for r in data["by_community"]] == [
        ("云顶华府", (2, 22_400, 3_400, 3_360, 510, 2_850, 1_530, 1_320)),
        ("翠湖花园", (1, 8_800, 0, 1_320, 0, 1_320, 0, 1_320)),
    ]
    assert [(r["key"], r["name"], _amounts(r)) for r in data["by_session"]] == [
        (stage.session_id, "黄金奶油草莓专场", (2, 22_400, 3_400, 3_360, 510, 2_850, 1_530, 1_320)),
        (scene["second_session"], "车厘子专场", (1, 8_800, 0, 1_320, 0, 1_320, 0, 1_320)),
    ]
    assert _amounts(data["total"]) == (3, 31_200, 3_400, 4_680, 510, 4_170, 1_530, 2_640)
    for grouping in ("by_community", "by_session"):
        sums = tuple(sum(column) for column in zip(*(_amounts(r) for r in data[grouping]), strict=True))
        assert sums == _amounts(data["total"]), grouping

    two_days = (await client.get(base + "?from=2026-11-20&to=2026-11-21", headers=stage.owner.headers)).json()
    assert [r["orders"] for r in two_days["by_community"]] == [2, 2]
    assert [r["orders"] for r in two_days["by_session"]] == [3, 1]
    assert _amounts(two_days["total"])[:2] == (4, 40_000)
    empty = (await client.get(base + "?from=2026-10-01&to=2026-10-31", headers=stage.owner.headers)).json()
    assert (empty["by_community"], empty["by_session"], _amounts(empty["total"])) == ([], [], (0,) * 8)

    for group_by, first_header in (("community", "社区"), ("session", "直播场次")):
        exported = await client.get(
            base + f".csv?from=2026-11-20&to=2026-11-21&group_by={group_by}", headers=scene["operator"].headers
        )
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        header, *rows, total = _rows(exported)
        assert header[1] == first_header and header[2] == "订单数" and total[1] == "合计"
        col = {name: i for i, name in enumerate(header)}
        for name in ("订单数", "实付(分)", "退款(分)", "佣金(分)", "扣回(分)", "净佣金(分)", "已结算(分)", "待结算(分)"):
            assert sum(int(r[col[name]]) for r in rows) == int(total[col[name]]), (group_by, name)
        assert (total[col["实付(分)"]], total[col["实付(元)"]], total[col["净佣金(元)"]]) == ("40000", "400.00", "54.90")
    by_session = _rows(await client.get(base + ".csv?from=2026-11-20&to=2026-11-21&group_by=session", headers=stage.owner.headers))
    assert [r[1] for r in by_session[1:]] == ["黄金奶油草莓专场", "车厘子专场", "合计"]


REPORT_ACCESS = [
    ("anonymous", 401, "unauthorized"),
    ("member", 403, "staff_only"),
    ("leader", 403, "staff_only"),
    ("other_staff", 403, "staff_only"),
    ("owner", 200, None),
    ("operator", 200, None),
]


async def test_only_the_brands_staff_read_the_report(client, scene):
    stage = scene["stage"]
    actors = _actors(scene)
    for suffix in ("", ".csv"):
        for who, status, code in REPORT_ACCESS:
            response = await client.get(
                f"/api/v1/brands/{stage.brand_id}/commission-report{suffix}?from=2026-11-01&to=2026-11-30",
                headers=_headers(actors[who]),
            )
            assert response.status_code == status, (who, suffix, response.text)
            if code:
                assert response.json()["error"]["code"] == code
    missing = await client.get("/api/v1/brands/999999/commission-report?from=2026-11-01&to=2026-11-30", headers=stage.owner.headers)
    assert missing.status_code == 404


BAD_REPORT_INPUT = [
    ("from=2026-11-21&to=2026-11-20", "report_range_reversed"),
    ("from=2025-11-19&to=2026-11-20", "report_range_too_long"),  # 367 days: 366 is the most
    ("from=2026-11-31&to=2026-12-01", "report_date_invalid"),
    ("from=2026-11-01&to=soon", "report_date_invalid"),
    ("to=2026-11-20", "invalid_request"),
    ("from=2026-11-20", "invalid_request"),
]


async def test_bad_report_input_is_a_422_with_a_stable_code(ctx, client, scene):
    stage = scene["stage"]
    before = await _ledger_size(ctx)
    base = f"/api/v1/brands/{stage.brand_id}/commission-report"
    for suffix in ("", ".csv"):
        for query, code in BAD_REPORT_INPUT:
            response = await client.get(f"{base}{suffix}?{query}", headers=stage.owner.headers)
            assert (response.status_code, response.json()["error"]["code"]) == (422, code), (suffix, query)
    response = await client.get(base + ".csv?from=2026-11-01&to=2026-11-30&group_by=leader", headers=stage.owner.headers)
    assert (response.status_code, response.json()["error"]["code"]) == (422, "report_group_invalid")
    longest = await client.get(base + "?from=2025-11-21&to=2026-11-21", headers=stage.owner.headers)
    assert longest.status_code == 200  # exactly 366 days
    assert await _ledger_size(ctx) == before


async def test_a_statement_read_while_the_ledger_moves_still_adds_up(ctx, world, scene):
    """The routes read a statement in one snapshot: a posting landing between its queries is not half in it."""
    from linli.ledger import statements
    from linli.ledger.api import _snapshot

    stage = scene["stage"]
    async with _snapshot(ctx) as s:
        header = await statements.open_statement(
            session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id, period="day", on=NOV_21_NOON.date()
        )
        await buy(ctx, stage, await bound_member(world, stage.leader), offer=False)  # commits a new accrual meanwhile
        lines = [line async for batch in statements.statement_batches(session=s, statement=header) for line in batch]
        assert len(lines) == header.line_count == 1
        assert await statements.reconcile_statement(
            session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id, period="day", on=NOV_21_NOON.date()
        ) == []
    async with ctx.db.read() as s:
        after = await statements.open_statement(
            session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id, period="day", on=NOV_21_NOON.date()
        )
    assert after.line_count == 2 and after.closing.pending_fen == header.closing.pending_fen + 1_320
