"""Leaders' statements: opening + lines = closing = the ledger, every line naming its order and rule."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from linli.attribution import service as attribution
from linli.brands.models import Brand
from linli.errors import InvalidInput
from linli.ledger import rules, statements, tier_bonus
from linli.ledger import service as ledger
from linli.ledger.service import LeaderBalances
from linli.pagination import PageParams
from tests.ledger.helpers import assert_audit_ok, balances, buy, complete, refund, settle, withdraw_like
from tests.orders.setup import bound_member, build_stage

NOV_20 = date(2026, 11, 20)
NOV_21_MIDNIGHT = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # 00:00 on 21 Nov in Shanghai
NOV_21_NOON = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)
NOV_22_MIDNIGHT = datetime(2026, 11, 21, 16, 0, tzinfo=UTC)
NOV_22_MORNING = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
DEC_1_MORNING = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def bal(pending: int, available: int, withdrawing: int = 0) -> LeaderBalances:
    return LeaderBalances(pending_fen=pending, available_fen=available, withdrawing_fen=withdrawing)


@pytest.fixture
async def stage(world):
    return await build_stage(world, quota=100, per_member_limit=20, price_fen=6800, live_price_fen=8800)


async def statement(ctx, stage, period: str, on: date, **kw) -> statements.Statement:  # noqa: ANN001, ANN003
    async with ctx.db.read() as s:
        return await statements.leader_statement(
            session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id, period=period, on=on, **kw
        )


async def assert_reconciled(ctx) -> None:  # noqa: ANN001
    """After every step: the audit holds and every leader's day and month statement reconciles."""
    await assert_audit_ok(ctx)
    today = ctx.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    async with ctx.db.read() as s:
        for brand_id in set(await s.scalars(select(Brand.id))):
            for day in {today, NOV_20, date(2026, 11, 21), date(2026, 11, 22)}:
                problems = await statements.reconcile_leaders(session=s, brand_id=brand_id, on=day)
                assert problems == [], problems


def moved(line: statements.StatementLine) -> tuple[int, int, int]:
    return (line.moved.pending_fen, line.moved.available_fen, line.moved.withdrawing_fen)


async def test_a_statement_walks_accrual_clawback_completion_and_settlement(ctx, world, clock, stage):
    owner = stage.owner
    async with ctx.db.transaction() as s:  # a low tier so that November earns a bonus, posted in December
        await rules.update_rules(
            session=s, brand_id=stage.brand_id, rules=rules.RuleSet(tier_bonuses=(rules.Tier(threshold_fen=10_000, bonus_fen=500),)),
            note="测试阶梯", actor_user_id=owner.user_id, now=clock.now(),
        )
    buyer = await world.user(phone="13812345678", name="张小红")
    async with ctx.db.transaction() as s:
        await attribution.enter_with_code(session=s, user_id=buyer.user_id, raw_code=stage.leader.code, now=clock.now())

    # 20 Nov: two orders (the second a repurchase of a member the leader brought in: +2%), half of the second refunded.
    first = await buy(ctx, stage, buyer, quantity=2)  # 13,600 × 15% = 2,040
    await assert_reconciled(ctx)
    second = await buy(ctx, stage, buyer, quantity=1)  # 6,800 × 17% = 1,156
    await assert_reconciled(ctx)
    await refund(ctx, second, 3_400)  # claws back round(1,156 × 3,400 / 6,800) = 578 from pending
    await assert_reconciled(ctx)
    await complete(ctx, first)  # available from 00:00 on 21 Nov
    await assert_reconciled(ctx)

    # 21 Nov: the first settles; then half of it is refunded, clawed back from available.
    clock.set(NOV_21_MIDNIGHT)
    await settle(ctx)
    await assert_reconciled(ctx)
    clock.set(NOV_21_NOON)
    await refund(ctx, first, 6_800)  # 2,040 × 6,800 / 13,600 = 1,020 from available
    await assert_reconciled(ctx)
    await complete(ctx, second)
    await assert_reconciled(ctx)

    # 22 Nov: the second settles (1,156 − 578); the leader withdraws 1,000 (a real withdrawal, paid at once).
    clock.set(NOV_22_MIDNIGHT)
    await settle(ctx)
    await assert_reconciled(ctx)
    clock.set(NOV_22_MORNING)
    await withdraw_like(ctx, stage, 1_000, key="withdrawal:1")
    await assert_reconciled(ctx)

    # 1 Dec: November's tier bonus (GMV 13,600 − 6,800 + 6,800 − 3,400 = 10,200 ≥ 10,000).
    clock.set(DEC_1_MORNING)
    async with ctx.db.transaction() as s:
        await tier_bonus.compute_month(session=s, brand_id=stage.brand_id, month="2026-11", now=clock.now())
    await assert_reconciled(ctx)

    day1 = await statement(ctx, stage, "day", NOV_20)
    assert (day1.label, day1.opening, day1.closing, day1.line_count) == ("2026-11-20", bal(0, 0), bal(2_040 + 1_156 - 578, 0), 3)
    assert [(line.kind, line.order_id, moved(line)) for line in day1.lines] == [
        ("accrual", first, (2_040, 0, 0)), ("accrual", second, (1_156, 0, 0)), ("clawback", second, (-578, 0, 0)),
    ]
    accrual_line = day1.lines[0]
    assert accrual_line.kind_text == "佣金入账（待结算）"
    o = accrual_line.order
    assert (o.member_name, o.member_phone, o.product_name, o.quantity, o.paid_fen) == ("张**", "138****5678", "黄金奶油草莓", 2, 13_600)
    assert (o.rule, o.rule_text, o.rule_version, o.rate_bp, o.referral_bp) == ("live_base", "直播间订单基础佣金率", 2, 1500, 0)
    assert (o.status, o.status_text, o.available_from_date) == ("settled", "可提现", date(2026, 11, 21))  # as it is now
    repurchase = day1.lines[1].order
    assert (repurchase.rate_bp, repurchase.referral_bp, repurchase.available_from_date) == (1500, 200, date(2026, 11, 22))
    assert day1.lines[2].kind_text == "退款扣回佣金" and day1.lines[2].refund_id is not None
    assert [line.balance_after for line in day1.lines] == [bal(2_040, 0), bal(3_196, 0), bal(2_618, 0)]

    day2 = await statement(ctx, stage, "day", date(2026, 11, 21))
    assert (day2.opening, day2.closing) == (bal(2_618, 0), bal(578, 1_020))
    assert [(line.kind, line.order_id, moved(line)) for line in day2.lines] == [
        ("settlement", None, (-2_040, 2_040, 0)), ("clawback", first, (0, -1_020, 0)),  # after settlement: available
    ]
    # A settlement is one posting per leader and batch; the line lists the orders it moved and how much of each.
    settled = day2.lines[0]
    assert settled.order is None
    assert [(p.detail.order_id, p.detail.rule_text, p.settled_fen) for p in settled.settled_orders] == [
        (first, "直播间订单基础佣金率", 2_040)
    ]

    day3 = await statement(ctx, stage, "day", date(2026, 11, 22))
    assert [(line.kind, line.order_id, line.kind_text, moved(line)) for line in day3.lines] == [
        ("settlement", None, "结算：待结算转可提现", (-578, 578, 0)),
        ("withdrawal_requested", None, "申请提现", (0, -1_000, 1_000)),
        ("withdrawal_paid", None, "提现到账", (0, 0, -1_000)),
    ]
    assert [(p.detail.order_id, p.settled_fen) for p in day3.lines[0].settled_orders] == [(second, 578)]
    assert day3.lines[1].order is None and day3.lines[1].settled_orders == [] and day3.closing == bal(0, 598)

    month = await statement(ctx, stage, "month", NOV_20)
    assert (month.label, month.opening, month.closing, month.line_count) == ("2026-11", bal(0, 0), bal(0, 598), 8)
    assert [line.transaction_id for line in month.lines] == [
        line.transaction_id for line in day1.lines + day2.lines + day3.lines
    ]
    assert month.moved == bal(0, 598)
    assert month.starts_at == datetime(2026, 10, 31, 16, 0, tzinfo=UTC) and month.ends_at == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)

    december = await statement(ctx, stage, "month", date(2026, 12, 31))
    assert (december.opening, december.closing) == (bal(0, 598), bal(0, 1_098))
    [bonus] = december.lines
    assert (bonus.kind, bonus.kind_text, bonus.order, moved(bonus)) == ("tier_bonus", "阶梯奖励", None, (0, 500, 0))
    assert december.closing == await balances(ctx, stage)

    october = await statement(ctx, stage, "month", date(2026, 10, 1))
    assert (october.opening, october.closing, october.lines) == (bal(0, 0), bal(0, 0), [])

    # A page of the month keeps absolute running balances.
    page = await statement(ctx, stage, "month", NOV_20, page=PageParams(page=2, page_size=3))
    assert [line.transaction_id for line in page.lines] == [line.transaction_id for line in month.lines[3:6]]
    assert [line.balance_after for line in page.lines] == [line.balance_after for line in month.lines[3:6]]

    # The other leader has no accounts: an empty statement that still reconciles.
    async with ctx.db.read() as s:
        empty = await statements.leader_statement(
            session=s, brand_id=stage.brand_id, leader_id=stage.other_leader.leader_id, period="month", on=NOV_20
        )
        assert (empty.opening, empty.closing, empty.line_count, empty.lines) == (bal(0, 0), bal(0, 0), 0, [])
        assert await statements.reconcile_statement(
            session=s, brand_id=stage.brand_id, leader_id=stage.other_leader.leader_id, period="month", on=NOV_20
        ) == []

    # The CSV, parsed back, in several batches: the same lines and the same sums.
    async with ctx.db.read() as s:
        opened = await statements.open_statement(
            session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id, period="month", on=NOV_20
        )
        raw = b"".join([chunk async for chunk in statements.statement_csv(session=s, statement=opened, batch_size=3)])
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, opening_row, *all_lines, totals_row, closing_row = rows
    assert header == statements.STATEMENT_CSV_HEADERS and header[:3] == ["记账时间", "类型", "订单号"]
    col = {name: i for i, name in enumerate(header)}
    assert (opening_row[col["类型"]], closing_row[col["类型"]], totals_row[col["类型"]]) == ("期初余额", "期末余额", "本期合计")
    assert opening_row[col["记账时间"]] == "2026-11-01 00:00:00" and closing_row[col["记账时间"]] == "2026-12-01 00:00:00"
    # Under each settlement, one breakdown row per order it moved (the amount in the note, the movement
    # columns empty so they still sum to the total).
    breakdown = [r for r in all_lines if r[col["类型"]] == "其中：订单结算"]
    assert [(r[col["订单号"]], r[col["说明"]], r[col["可提现变动(分)"]]) for r in breakdown] == [
        (str(first), "本单结算 20.40 元", ""), (str(second), "本单结算 5.78 元", ""),
    ]
    lines = [r for r in all_lines if r not in breakdown]
    assert all_lines[all_lines.index(breakdown[0]) - 1][col["类型"]] == "结算：待结算转可提现"
    assert len(lines) == 8 and [int(r[col["记账编号"]]) for r in lines] == [line.transaction_id for line in month.lines]
    first_row = lines[0]
    assert first_row[col["记账时间"]] == "2026-11-20 10:00:00"
    assert (first_row[col["订单号"]], first_row[col["邻居"]], first_row[col["手机号"]]) == (str(first), "张**", "138****5678")
    assert (first_row[col["实付(分)"]], first_row[col["实付(元)"]], first_row[col["规则"]], first_row[col["佣金率"]]) == (
        "13600", "136.00", "直播间订单基础佣金率", "15%"
    )
    assert (first_row[col["当前状态"]], first_row[col["可提现日期"]]) == ("可提现", "2026-11-21")
    assert (first_row[col["待结算变动(分)"]], first_row[col["待结算变动(元)"]]) == ("2040", "20.40")
    assert lines[1][col["拉新加成"]] == "2%"
    clawback_row = lines[4]
    assert (clawback_row[col["可提现变动(分)"]], clawback_row[col["可提现变动(元)"]]) == ("-1020", "-10.20")
    for kind in ("待结算", "可提现", "提现中"):
        fen = [int(r[col[f"{kind}变动(分)"]]) for r in lines]
        opening_fen = int(opening_row[col[f"{kind}余额(分)"]])
        closing_fen = int(closing_row[col[f"{kind}余额(分)"]])
        assert sum(fen) == int(totals_row[col[f"{kind}变动(分)"]])
        assert opening_fen + sum(fen) == closing_fen
        assert int(lines[-1][col[f"{kind}余额(分)"]]) == closing_fen
    assert closing_row[col["可提现余额(元)"]] == "5.98"


async def test_a_clawback_after_a_withdrawal_takes_available_below_zero(ctx, world, clock, stage):
    buyer = await bound_member(world, stage.leader)
    order = await buy(ctx, stage, buyer, quantity=1)  # 6,800 × 15% = 1,020
    await complete(ctx, order)
    clock.set(NOV_21_MIDNIGHT)
    await settle(ctx)
    clock.set(NOV_21_NOON)
    await withdraw_like(ctx, stage, 1_020, key="withdrawal:all")
    await refund(ctx, order, 6_800)
    await assert_reconciled(ctx)
    day = await statement(ctx, stage, "day", date(2026, 11, 21))
    assert [(line.kind, moved(line)) for line in day.lines] == [
        ("settlement", (-1_020, 1_020, 0)),
        ("withdrawal_requested", (0, -1_020, 1_020)),
        ("withdrawal_paid", (0, 0, -1_020)),
        ("clawback", (0, -1_020, 0)),
    ]
    clawback = day.lines[-1]
    assert clawback.order.order_id == order and clawback.order.status == "settled"
    assert clawback.balance_after == bal(0, -1_020) == day.closing


async def test_a_statement_line_finds_its_order_without_a_commission_line_id(ctx, world, stage):
    """A transaction that names only the order (as another context may post) still shows that order;
    one naming another leader's order shows nothing of it."""
    mine = await buy(ctx, stage, await bound_member(world, stage.leader))
    theirs = await buy(ctx, stage, await bound_member(world, stage.other_leader), offer=False)
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        accounts = await ledger.leader_accounts(session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id, now=now)
        for key, order_id in (("adjust:mine", mine), ("adjust:theirs", theirs)):
            await ledger.transfer(
                session=s, key=key, brand_id=stage.brand_id, kind="manual_adjustment", from_account_id=accounts.pending.id,
                to_account_id=accounts.available.id, amount_fen=10, now=now,
                source=ledger.Source(leader_id=stage.leader.leader_id, order_id=order_id, memo="人工调整"),
            )
    day = await statement(ctx, stage, "day", NOV_20)
    by_key = {line.order_id: line for line in day.lines if line.kind == "manual_adjustment"}
    assert by_key[mine].order is not None and by_key[mine].order.order_id == mine and by_key[mine].kind_text == "人工调整"
    assert by_key[theirs].order is None
    async with ctx.db.read() as s:
        assert await statements.reconcile_leaders(session=s, brand_id=stage.brand_id, on=NOV_20) == []


async def test_reconcile_reports_a_statement_that_does_not_add_up(ctx, world, stage, monkeypatch):
    """The check can fail: a statement that drops a line no longer reconciles."""
    await buy(ctx, stage, await bound_member(world, stage.leader))
    await buy(ctx, stage, await bound_member(world, stage.leader))
    original = statements._fetch_lines

    async def drop_first(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        return (await original(*args, **kwargs))[1:]

    monkeypatch.setattr(statements, "_fetch_lines", drop_first)
    async with ctx.db.read() as s:
        problems = await statements.reconcile_statement(
            session=s, brand_id=stage.brand_id, leader_id=stage.leader.leader_id, period="day", on=NOV_20
        )
    assert any("opening + lines" in p for p in problems) and any("1 lines listed, header says 2" in p for p in problems)


def test_periods_and_dates():
    assert statements.period_bounds(period="day", on=NOV_20, timezone="Asia/Shanghai") == (
        datetime(2026, 11, 19, 16, 0, tzinfo=UTC), datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    )
    start, end = statements.period_bounds(period="month", on=date(2026, 12, 31), timezone="Asia/Shanghai")
    assert (start, end) == (datetime(2026, 11, 30, 16, 0, tzinfo=UTC), datetime(2026, 12, 31, 16, 0, tzinfo=UTC))
    assert statements.parse_date(" 2026-02-28 ", code="x") == date(2026, 2, 28)
    for bad in ("2026-02-30", "20261120", "2026-1-5", "abc", "", "1999-12-31", "2101-01-01"):
        with pytest.raises(InvalidInput) as raised:
            statements.parse_date(bad, code="statement_date_invalid")
        assert raised.value.code == "statement_date_invalid", bad
    with pytest.raises(InvalidInput) as raised:
        statements.check_period("week")
    assert raised.value.code == "statement_period_invalid"
    assert [statements.yuan(f) for f in (0, 5, -5, 100, 102_000, -123_456)] == ["0.00", "0.05", "-0.05", "1.00", "1020.00", "-1234.56"]
    assert [statements.percent(bp) for bp in (1500, 1250, 1205, 0, 200)] == ["15%", "12.5%", "12.05%", "0%", "2%"]
    assert statements.text_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and statements.text_cell("张**") == "张**"
