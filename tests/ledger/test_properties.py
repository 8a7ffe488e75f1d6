"""Hypothesis drives random sequences of orders, payments, partial and whole refunds, pickups, the clock,
settlements, withdrawals (request, approve, pay, fail, reject, return) and tier bonuses. After every step
`linli audit` holds, every leader's day and month statements reconcile, and their balances match an
independent model of what each order should have earned and each withdrawal should have taken."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linli.errors import DomainError
from linli.ledger import rules, statements, tier_bonus
from linli.ledger.service import round_half_up_div
from linli.models import metadata
from linli.payouts import service as payouts
from linli.payouts import simulator
from linli.worker import run_until_idle
from tests.conftest import START
from tests.ledger.helpers import (
    assert_audit_ok,
    balances,
    buy,
    complete,
    line_of,
    refund,
    refund_whole,
    settle,
)
from tests.orders.setup import bound_member, build_stage

DEC_1 = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
RULES = rules.RuleSet(tier_bonuses=(rules.Tier(threshold_fen=10_000, bonus_fen=500), rules.Tier(threshold_fen=30_000, bonus_fen=1_500)))

buy_step = st.tuples(st.just("buy"), st.integers(0, 3), st.integers(1, 3), st.booleans())
OPS = ["buy", "buy", "refund_part", "refund_part", "refund_whole", "complete", "complete", "wait", "wait", "settle",
       "settle", "withdraw", "withdraw", "approve", "approve", "pay", "fail", "reject", "return", "tier_bonus"]
POLICY = {"min_amount_fen": 100, "fee_bp": 60, "daily_cap_fen": 30_000}  # small, so the cap and the minimum bite
steps = st.lists(
    st.tuples(st.sampled_from(OPS), st.integers(0, 30), st.integers(1, 100), st.booleans()),
    min_size=4,
    max_size=20,
)
# Every example ends by picking everything up, settling two days later, withdrawing, refunding part of a
# settled order (a clawback from available) and computing November's tier bonus, checking after each.
EPILOGUE = [("complete", 0, 0, True), ("wait", 48, 0, False), ("settle", 0, 0, False), ("withdraw", 0, 60, False),
            ("withdraw", 1, 100, False), ("approve", 0, 0, False), ("approve", 0, 0, True), ("pay", 0, 0, False),
            ("refund_part", 0, 50, False), ("december", 0, 0, False), ("tier_bonus", 0, 0, False), ("settle", 0, 0, False)]


@dataclass
class Expected:
    order_id: int
    leader: int  # 0 = 小李, 1 = 王姐
    paid: int
    commission: int
    paid_at: datetime
    refunded_payment: int = 0  # what payments refunded
    refunded: int = 0  # what the commission counts as refunded (≤ paid)
    whole: bool = False
    completed_at: datetime | None = None
    settled: bool = False

    @property
    def clawed(self) -> int:
        return round_half_up_div(self.commission * self.refunded, self.paid)

    @property
    def net(self) -> int:
        return self.commission - self.clawed


@dataclass
class ExpectedWithdrawal:
    id: int
    leader: int
    amount: int
    day: date
    status: str = "requested"


@dataclass
class Model:
    orders: list[Expected] = field(default_factory=list)
    buyers_with_orders: set[int] = field(default_factory=set)
    withdrawals: list[ExpectedWithdrawal] = field(default_factory=list)
    bonus: list[int] = field(default_factory=lambda: [0, 0])

    def available(self, leader: int) -> int:
        earned = sum(o.net for o in self.orders if o.leader == leader and o.settled) + self.bonus[leader]
        taken = sum(w.amount for w in self.withdrawals if w.leader == leader and w.status in ("requested", "approved", "paid"))
        return earned - taken

    def withdrawing(self, leader: int) -> int:
        return sum(w.amount for w in self.withdrawals if w.leader == leader and w.status in ("requested", "approved"))

    def used_on(self, leader: int, day: date) -> int:
        return sum(w.amount for w in self.withdrawals
                   if w.leader == leader and w.day == day and w.status in ("requested", "approved", "paid"))

    def pick(self, status: str, a: int) -> ExpectedWithdrawal | None:
        found = [w for w in self.withdrawals if w.status == status]
        return found[a % len(found)] if found else None


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(script=st.tuples(st.lists(buy_step, min_size=1, max_size=4), steps).map(lambda parts: parts[0] + parts[1]))
async def test_random_lifecycles_keep_the_ledger_true(world, ctx, clock, script):
    # Every example runs in the same database and from START again: start it empty, or the audit would see the
    # previous example's money dated after this example's clock.
    async with ctx.db.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(table.delete())
    ctx.payouts["simulator"].transfers.clear()  # the simulated provider forgets with the database (SQLite reuses ids)
    clock.set(START)
    stage = await build_stage(world, quota=100, per_member_limit=50, price_fen=6800, live_price_fen=8800)
    leader_ids = [stage.leader.leader_id, stage.other_leader.leader_id]
    buyers = [await bound_member(world, stage.leader) for _ in range(3)] + [await bound_member(world, stage.other_leader)]
    async with ctx.db.transaction() as s:  # the default rates, with tiers this small shop can reach
        await rules.update_rules(
            session=s, brand_id=stage.brand_id, rules=RULES, note="小店阶梯", actor_user_id=stage.owner.user_id, now=clock.now()
        )
    async with ctx.db.transaction() as s:
        await payouts.update_policy(session=s, brand_id=stage.brand_id, **POLICY, actor_user_id=stage.owner.user_id, now=clock.now())
    sim = ctx.payouts["simulator"]
    model = Model()

    for op, a, b, flag in script + EPILOGUE:
        target = model.orders[a % len(model.orders)] if model.orders else None
        if op == "buy":
            a, b = a % 4, 1 + b % 3
            offer = flag and a < 3  # 小李's community offer, for his own members, while its window is open
            try:
                order_id = await buy(ctx, stage, buyers[a], quantity=b, offer=offer)
            except DomainError:
                continue
            paid = (6800 if offer else 8800) * b
            repurchase = a in model.buyers_with_orders  # every buyer was brought in new by their leader
            model.buyers_with_orders.add(a)
            commission = rules.commission_for(paid, 1500 + (200 if repurchase else 0))
            model.orders.append(Expected(order_id=order_id, leader=0 if a < 3 else 1, paid=paid, commission=commission, paid_at=clock.now()))
        elif op == "refund_part" and target is not None and not target.whole:
            left = target.paid - target.refunded_payment
            if left <= 0:
                continue
            amount = max(1, left * b // 100)
            await refund(ctx, target.order_id, amount)
            target.refunded_payment += amount
            target.refunded = min(target.paid, target.refunded + amount)
        elif op == "refund_whole" and target is not None and not target.whole:
            left = target.paid - target.refunded_payment
            if flag and left > 0:  # after-sales refunds the rest first, then closes the order
                await refund(ctx, target.order_id, left)
                target.refunded_payment = target.paid
            await refund_whole(ctx, target.order_id)
            target.whole = True
            target.refunded = target.paid
        elif op == "complete" and target is not None:
            for order in (model.orders if flag else [target]):
                if order.whole:
                    continue
                await complete(ctx, order.order_id)
                if order.completed_at is None:
                    order.completed_at = clock.now()
        elif op == "wait":
            clock.advance(timedelta(hours=a))
        elif op == "december":
            clock.set(max(clock.now(), DEC_1))
        elif op == "settle":
            await settle(ctx)
            for order in model.orders:
                due = order.completed_at is not None and rules.eligible_at(
                    order.completed_at, window_days=1, timezone="Asia/Shanghai"
                ) <= clock.now()
                if due and not order.settled and order.refunded < order.paid:
                    order.settled = True
        elif op == "withdraw":
            a %= 2
            available = model.available(a)
            amount = max(1, available * b // 100)
            day = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
            expected = (
                "withdrawal_below_minimum" if amount < POLICY["min_amount_fen"]
                else "withdrawal_exceeds_available" if amount > available
                else "withdrawal_daily_cap_exceeded" if model.used_on(a, day) + amount > POLICY["daily_cap_fen"]
                else None
            )
            try:
                async with ctx.db.transaction() as s:
                    requested = await payouts.request_withdrawal(
                        session=s, brand_id=stage.brand_id, leader_id=leader_ids[a], amount_fen=amount,
                        idempotency_key=uuid.uuid4().hex, now=clock.now(),
                    )
            except DomainError as exc:
                assert exc.code == expected
                continue
            assert expected is None
            assert requested.withdrawal.fee_fen == round_half_up_div(amount * POLICY["fee_bp"], 10_000)
            model.withdrawals.append(ExpectedWithdrawal(requested.withdrawal.id, a, amount, day))
        elif op == "approve" and (w := model.pick("requested", a)) is not None:
            sim.mode = "pending" if flag else "instant"
            async with ctx.db.transaction() as s:
                await payouts.approve(
                    session=s, providers=ctx.payouts, provider_name="simulator", brand_id=stage.brand_id,
                    withdrawal_id=w.id, actor_user_id=stage.owner.user_id, now=clock.now(),
                )
            await run_until_idle(ctx)
            w.status = "approved" if flag else "paid"
        elif op in ("pay", "fail") and (w := model.pick("approved", a)) is not None:
            done = await simulator.complete(ctx=ctx, out_detail_no=payouts.out_numbers(w.id)[1],
                                            outcome="paid" if op == "pay" else "failed", duplicates=b % 2)
            w.status = "paid" if op == "pay" else "failed"
            assert done.outcomes[0] == w.status
        elif op == "reject" and (w := model.pick("requested", a)) is not None:
            async with ctx.db.transaction() as s:
                await payouts.reject(session=s, brand_id=stage.brand_id, withdrawal_id=w.id,
                                     actor_user_id=stage.owner.user_id, reason="信息有误", now=clock.now())
            w.status = "rejected"
        elif op == "return" and (w := model.pick("paid", a)) is not None:
            done = await simulator.complete(ctx=ctx, out_detail_no=payouts.out_numbers(w.id)[1], outcome="returned")
            assert done.outcomes == ["returned"]
            w.status = "returned"
        elif op == "tier_bonus" and clock.now() >= DEC_1:
            async with ctx.db.transaction() as s:
                report = await tier_bonus.compute_month(session=s, brand_id=stage.brand_id, month="2026-11", now=clock.now())
            for row in report.rows:
                model.bonus[leader_ids.index(row.leader_id)] = row.awarded_fen
            for index in (0, 1):  # the tiers on GMV net of refunds of orders paid in November
                gmv = sum(o.paid - o.refunded for o in model.orders if o.leader == index and o.paid_at < DEC_1)
                tier = RULES.tier_for(gmv)
                assert model.bonus[index] == (tier.bonus_fen if tier else 0)

        await assert_audit_ok(ctx)
        async with ctx.db.read() as s:  # each leader's day and month statements reconcile with the ledger
            today = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
            assert await statements.reconcile_leaders(session=s, brand_id=stage.brand_id, on=today) == []
        for order in model.orders:
            line = await line_of(ctx, order.order_id)
            assert (line.commission_fen, line.refunded_fen, line.clawed_back_fen) == (order.commission, order.refunded, order.clawed)
            assert (line.status == "settled") == order.settled
        for index, leader_id in enumerate(leader_ids):
            mine = [o for o in model.orders if o.leader == index]
            got = await balances(ctx, stage, leader_id)
            assert got.pending_fen == sum(o.net for o in mine if not o.settled)
            assert got.available_fen == model.available(index)
            assert got.withdrawing_fen == model.withdrawing(index)
