"""`linli audit`: every invariant of the commission ledger, checked with SQL aggregates.

Each check is one query that returns the breaching rows (counted, with up to SAMPLE_LIMIT examples),
so the audit streams over any number of rows; the one check that needs the rule logic in Python (the
snapshotted rate is the one its rule version gives) walks the lines in keyset batches.

An order paid (or refunded) whose event is still waiting in the outbox is not a breach: the worker
is behind, not wrong. Run the audit after the worker is idle to see everything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Select, String, and_, case, cast, exists, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands.models import Brand
from linli.leaders.models import Leader
from linli.ledger import rules
from linli.ledger.models import (
    BRAND_BONUS_EXPENSE,
    BRAND_COMMISSION_EXPENSE,
    LEADER_AVAILABLE,
    LEADER_PENDING,
    LINE_EXCLUDED,
    LINE_PENDING,
    LINE_REVERSED,
    LINE_SETTLED,
    TX_ACCRUAL,
    TX_CLAWBACK,
    TX_SETTLEMENT,
    TX_TIER_BONUS,
    CommissionLine,
    CommissionRefund,
    CommissionRuleVersion,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    TierBonus,
)
from linli.orders.models import Order
from linli.outbox.models import OutboxEvent
from linli.payments.models import Refund

SAMPLE_LIMIT = 10
STREAM_BATCH = 5000


@dataclass
class Check:
    name: str
    description: str
    breaches: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.breaches == 0


@dataclass
class AuditReport:
    checks: list[Check]
    counts: dict[str, int]
    ran_at: datetime

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "ran_at": self.ran_at.isoformat(),
            "counts": self.counts,
            "checks": [
                {
                    "name": c.name, "description": c.description, "ok": c.ok, "breaches": c.breaches,
                    "samples": [{k: _plain(v) for k, v in s.items()} for s in c.samples],
                }
                for c in self.checks
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def to_text(self) -> str:
        lines = [
            "ledger audit: " + ("OK" if self.ok else f"{len(self.failed)} check(s) FAILED"),
            "  " + ", ".join(f"{k}={v}" for k, v in self.counts.items()),
        ]
        for c in self.checks:
            lines.append(f"  [{'ok' if c.ok else 'FAIL'}] {c.name}: {c.description}" + ("" if c.ok else f" — {c.breaches} breach(es)"))
            for sample in c.samples:
                lines.append("         " + ", ".join(f"{k}={_plain(v)}" for k, v in sample.items()))
        return "\n".join(lines)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


async def _query_check(session: AsyncSession, name: str, description: str, query: Select) -> Check:
    count = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    check = Check(name=name, description=description, breaches=int(count or 0))
    if check.breaches:
        rows = await session.execute(query.limit(SAMPLE_LIMIT))
        check.samples = [dict(row._mapping) for row in rows.all()]
    return check


def _big(column: Any) -> Any:
    return cast(column, BigInteger)


def _waiting_event(topics: tuple[str, ...]) -> Any:
    """An unprocessed outbox event about the order (the worker has not caught up yet)."""
    return exists().where(
        OutboxEvent.processed_at.is_(None),
        OutboxEvent.topic.in_(topics),
        OutboxEvent.payload["order_id"].as_integer() == Order.id,
    )


# --- the checks -----------------------------------------------------------------------------------


def _transactions_balance() -> Select:
    entry_count = func.count(LedgerEntry.id)
    entry_sum = func.coalesce(func.sum(LedgerEntry.amount_fen), 0)
    return (
        select(LedgerTransaction.id.label("transaction_id"), LedgerTransaction.idempotency_key.label("key"),
               entry_count.label("entries"), entry_sum.label("sum_fen"))
        .outerjoin(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .group_by(LedgerTransaction.id, LedgerTransaction.idempotency_key)
        .having(or_(entry_count < 2, entry_sum != 0))
        .order_by(LedgerTransaction.id)
    )


def _entries_consistent() -> Select:
    return (
        select(LedgerEntry.id.label("entry_id"), LedgerEntry.transaction_id, LedgerEntry.account_id,
               LedgerEntry.amount_fen)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(
            or_(
                LedgerEntry.amount_fen == 0,
                LedgerAccount.brand_id != LedgerTransaction.brand_id,
                and_(
                    LedgerAccount.leader_id.is_not(None),
                    or_(LedgerTransaction.leader_id.is_(None), LedgerAccount.leader_id != LedgerTransaction.leader_id),
                ),
            )
        )
        .order_by(LedgerEntry.id)
    )


def _one_transaction_per_key() -> Select:
    return (
        select(LedgerTransaction.idempotency_key.label("key"), func.count().label("transactions"))
        .group_by(LedgerTransaction.idempotency_key)
        .having(func.count() > 1)
    )


def _nothing_posted_twice() -> Select:
    return (
        select(LedgerTransaction.kind, LedgerTransaction.order_id, func.count().label("transactions"))
        .where(LedgerTransaction.kind == TX_ACCRUAL, LedgerTransaction.order_id.is_not(None))
        .group_by(LedgerTransaction.kind, LedgerTransaction.order_id)
        .having(func.count() > 1)
    )


def _paid_orders_have_lines() -> Select:
    return (
        select(Order.id.label("order_id"), Order.leader_id, Order.status, Order.paid_at)
        .where(
            Order.leader_id.is_not(None),
            Order.paid_at.is_not(None),
            ~exists().where(CommissionLine.order_id == Order.id),
            ~_waiting_event(LEDGER_TOPICS),
        )
        .order_by(Order.id)
    )


def _lines_match_orders() -> Select:
    return (
        select(CommissionLine.id.label("line_id"), CommissionLine.order_id, CommissionLine.paid_fen,
               Order.payable_fen, CommissionLine.leader_id, Order.leader_id.label("order_leader_id"))
        .join(Order, Order.id == CommissionLine.order_id)
        .where(
            or_(
                CommissionLine.paid_fen != Order.payable_fen,
                Order.leader_id.is_(None),
                CommissionLine.leader_id != Order.leader_id,
                CommissionLine.brand_id != Order.brand_id,
                CommissionLine.member_id != Order.member_id,
                Order.paid_at.is_(None),
            )
        )
        .order_by(CommissionLine.id)
    )


def _commission_arithmetic() -> Select:
    total_bp = CommissionLine.rate_bp + CommissionLine.referral_bp
    expected = (2 * _big(CommissionLine.paid_fen) * total_bp + rules.BP_DENOMINATOR) // (2 * rules.BP_DENOMINATOR)
    return (
        select(CommissionLine.id.label("line_id"), CommissionLine.order_id, CommissionLine.paid_fen,
               CommissionLine.rate_bp, CommissionLine.referral_bp, CommissionLine.commission_fen,
               CommissionLine.status)
        .where(
            or_(
                CommissionLine.commission_fen != expected,
                and_(CommissionLine.status == LINE_EXCLUDED, CommissionLine.commission_fen != 0),
                and_(CommissionLine.status != LINE_EXCLUDED, CommissionLine.commission_fen == 0),
                CommissionLine.status.not_in((LINE_PENDING, LINE_SETTLED, LINE_REVERSED, LINE_EXCLUDED)),
            )
        )
        .order_by(CommissionLine.id)
    )


def _line_ledger_sums() -> Any:
    amount = LedgerEntry.amount_fen

    def when(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, amount), else_=0)), 0)

    is_leader = LedgerAccount.leader_id.is_not(None)
    return (
        select(
            LedgerTransaction.commission_line_id.label("line_id"),
            when(and_(LedgerTransaction.kind == TX_ACCRUAL, is_leader)).label("accrued"),
            when(and_(LedgerTransaction.kind == TX_CLAWBACK, is_leader)).label("clawed"),
            when(LedgerAccount.kind == LEADER_PENDING).label("pending_net"),
            when(LedgerAccount.kind == LEADER_AVAILABLE).label("available_net"),
            when(LedgerAccount.kind == BRAND_COMMISSION_EXPENSE).label("expense_net"),
            when(and_(is_leader, LedgerAccount.kind.not_in((LEADER_PENDING, LEADER_AVAILABLE)))).label("elsewhere"),
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerTransaction.commission_line_id.is_not(None))
        .group_by(LedgerTransaction.commission_line_id)
        .subquery()
    )


def _lines_match_ledger() -> Select:
    """Per line: its accrual and clawbacks (transactions that name the line) plus what its settlement moved
    (`settled_fen`, checked against the settlement transactions in settlements_match_lines)."""
    sums = _line_ledger_sums()
    net = CommissionLine.commission_fen - CommissionLine.clawed_back_fen

    def of(column: Any) -> Any:
        return func.coalesce(column, 0)

    expected_pending = case((CommissionLine.status == LINE_PENDING, net), else_=0)
    expected_available = case((CommissionLine.status == LINE_SETTLED, net), else_=0)
    pending = of(sums.c.pending_net) - CommissionLine.settled_fen
    available = of(sums.c.available_net) + CommissionLine.settled_fen
    return (
        select(
            CommissionLine.id.label("line_id"), CommissionLine.order_id, CommissionLine.status,
            CommissionLine.commission_fen, of(sums.c.accrued).label("ledger_accrued"),
            CommissionLine.clawed_back_fen, (-of(sums.c.clawed)).label("ledger_clawed"),
            CommissionLine.settled_fen, pending.label("ledger_pending"), available.label("ledger_available"),
        )
        .outerjoin(sums, sums.c.line_id == CommissionLine.id)
        .where(
            or_(
                of(sums.c.accrued) != CommissionLine.commission_fen,
                -of(sums.c.clawed) != CommissionLine.clawed_back_fen,
                pending != expected_pending,
                available != expected_available,
                of(sums.c.expense_net) != -net,
                of(sums.c.elsewhere) != 0,
            )
        )
        .order_by(CommissionLine.id)
    )


def _settlements_match_lines() -> Select:
    """Each settlement transaction moved exactly what its lines say they settled, for its own leader."""
    lines = (
        select(
            CommissionLine.settlement_transaction_id.label("transaction_id"),
            func.count().label("lines"),
            func.sum(CommissionLine.settled_fen).label("settled"),
            func.max(CommissionLine.leader_id).label("max_leader"),
            func.min(CommissionLine.leader_id).label("min_leader"),
        )
        .where(CommissionLine.settlement_transaction_id.is_not(None))
        .group_by(CommissionLine.settlement_transaction_id)
        .subquery()
    )
    amount = LedgerEntry.amount_fen
    entries = (
        select(
            LedgerEntry.transaction_id,
            func.sum(case((LedgerAccount.kind == LEADER_AVAILABLE, amount), else_=0)).label("available"),
            func.sum(case((LedgerAccount.kind == LEADER_PENDING, amount), else_=0)).label("pending"),
        )
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .group_by(LedgerEntry.transaction_id)
        .subquery()
    )
    settled = func.coalesce(lines.c.settled, 0)
    return (
        select(
            LedgerTransaction.id.label("transaction_id"), LedgerTransaction.leader_id,
            func.coalesce(lines.c.lines, 0).label("lines"), settled.label("lines_settled_fen"),
            entries.c.available.label("available_fen"), entries.c.pending.label("pending_fen"),
        )
        .outerjoin(lines, lines.c.transaction_id == LedgerTransaction.id)
        .outerjoin(entries, entries.c.transaction_id == LedgerTransaction.id)
        .where(
            LedgerTransaction.kind == TX_SETTLEMENT,
            or_(
                lines.c.lines.is_(None),
                func.coalesce(entries.c.available, 0) != settled,
                func.coalesce(entries.c.pending, 0) != -settled,
                lines.c.min_leader != LedgerTransaction.leader_id,
                lines.c.max_leader != LedgerTransaction.leader_id,
            ),
        )
        .order_by(LedgerTransaction.id)
    )


def _settled_lines_name_their_settlement() -> Select:
    """A line with money settled names a settlement transaction; no other line names one."""
    return (
        select(CommissionLine.id.label("line_id"), CommissionLine.order_id, CommissionLine.status,
               CommissionLine.settled_fen, CommissionLine.settlement_transaction_id,
               LedgerTransaction.kind.label("transaction_kind"))
        .outerjoin(LedgerTransaction, LedgerTransaction.id == CommissionLine.settlement_transaction_id)
        .where(
            or_(
                and_(CommissionLine.settled_fen > 0, CommissionLine.settlement_transaction_id.is_(None)),
                and_(CommissionLine.settled_fen == 0, CommissionLine.settlement_transaction_id.is_not(None)),
                and_(
                    CommissionLine.settlement_transaction_id.is_not(None),
                    or_(LedgerTransaction.id.is_(None), LedgerTransaction.kind != TX_SETTLEMENT),
                ),
            )
        )
        .order_by(CommissionLine.id)
    )


def _references_exist() -> Select:
    """What foreign keys would enforce: ledger rows carry no foreign keys (see models), so the audit checks
    that every entry's transaction and account, and every transaction's sources, exist."""
    refs = [
        (LedgerEntry.transaction_id, LedgerTransaction.__table__.c.id, "entry.transaction_id"),
        (LedgerEntry.account_id, LedgerAccount.__table__.c.id, "entry.account_id"),
    ]
    queries = [
        select(LedgerEntry.id.label("row_id"), literal(label).label("reference"), column.label("missing_id"))
        .where(~exists().where(target == column))
        for column, target, label in refs
    ]
    for column, target, label in (
        (LedgerTransaction.brand_id, Brand.id, "transaction.brand_id"),
        (LedgerTransaction.leader_id, Leader.id, "transaction.leader_id"),
        (LedgerTransaction.order_id, Order.id, "transaction.order_id"),
        (LedgerTransaction.commission_line_id, CommissionLine.id, "transaction.commission_line_id"),
        (LedgerTransaction.rule_version_id, CommissionRuleVersion.id, "transaction.rule_version_id"),
        (LedgerTransaction.refund_id, Refund.id, "transaction.refund_id"),
    ):
        queries.append(
            select(LedgerTransaction.id.label("row_id"), literal(label).label("reference"), column.label("missing_id"))
            .where(column.is_not(None), ~exists().where(target == column))
        )
    return union_all(*queries).subquery().select()


def _clawbacks_match_refunds() -> Select:
    refunds = (
        select(
            CommissionRefund.line_id,
            func.sum(CommissionRefund.applied_fen).label("applied"),
            func.sum(CommissionRefund.clawback_fen).label("clawed"),
        )
        .group_by(CommissionRefund.line_id)
        .subquery()
    )
    paid = _big(CommissionLine.paid_fen)
    expected = case(
        (CommissionLine.paid_fen == 0, 0),
        else_=(2 * _big(CommissionLine.commission_fen) * CommissionLine.refunded_fen + paid) // (2 * paid),
    )
    return (
        select(
            CommissionLine.id.label("line_id"), CommissionLine.order_id, CommissionLine.paid_fen,
            CommissionLine.refunded_fen, CommissionLine.commission_fen, CommissionLine.clawed_back_fen,
            expected.label("expected_clawback"), Order.status.label("order_status"),
        )
        .join(Order, Order.id == CommissionLine.order_id)
        .outerjoin(refunds, refunds.c.line_id == CommissionLine.id)
        .where(
            or_(
                CommissionLine.clawed_back_fen != expected,
                func.coalesce(refunds.c.applied, 0) != CommissionLine.refunded_fen,
                func.coalesce(refunds.c.clawed, 0) != CommissionLine.clawed_back_fen,
                CommissionLine.refunded_fen > CommissionLine.paid_fen,
                and_(
                    Order.status == "refunded",
                    CommissionLine.refunded_fen != CommissionLine.paid_fen,
                    ~_waiting_event(("order.refunded",)),
                ),
            )
        )
        .order_by(CommissionLine.id)
    )


def _refund_sources() -> Select:
    return (
        select(CommissionRefund.id.label("commission_refund_id"), CommissionRefund.refund_id,
               CommissionRefund.requested_fen, Refund.amount_fen.label("refund_fen"),
               CommissionLine.order_id, Refund.order_id.label("refund_order_id"),
               CommissionRefund.clawback_fen, CommissionRefund.transaction_id)
        .join(CommissionLine, CommissionLine.id == CommissionRefund.line_id)
        .outerjoin(Refund, Refund.id == CommissionRefund.refund_id)
        .outerjoin(LedgerTransaction, LedgerTransaction.id == CommissionRefund.transaction_id)
        .where(
            or_(
                and_(
                    CommissionRefund.refund_id.is_not(None),
                    or_(Refund.order_id != CommissionLine.order_id, Refund.amount_fen != CommissionRefund.requested_fen),
                ),
                CommissionRefund.applied_fen > CommissionRefund.requested_fen,
                and_(CommissionRefund.clawback_fen > 0, CommissionRefund.transaction_id.is_(None)),
                and_(CommissionRefund.clawback_fen == 0, CommissionRefund.transaction_id.is_not(None)),
                and_(
                    CommissionRefund.transaction_id.is_not(None),
                    or_(LedgerTransaction.idempotency_key != CommissionRefund.idempotency_key,
                        LedgerTransaction.kind != TX_CLAWBACK),
                ),
            )
        )
        .order_by(CommissionRefund.id)
    )


def _settled_only_after_eligible() -> Select:
    return (
        select(CommissionLine.id.label("line_id"), CommissionLine.order_id, CommissionLine.status,
               CommissionLine.eligible_at, CommissionLine.settled_at, CommissionLine.settled_fen)
        .where(
            or_(
                and_(
                    CommissionLine.status == LINE_SETTLED,
                    or_(CommissionLine.eligible_at.is_(None), CommissionLine.settled_at.is_(None),
                        CommissionLine.settled_at < CommissionLine.eligible_at),
                ),
                and_(CommissionLine.status != LINE_SETTLED,
                     or_(CommissionLine.settled_fen != 0, CommissionLine.settled_at.is_not(None))),
                and_(CommissionLine.status == LINE_REVERSED, CommissionLine.refunded_fen != CommissionLine.paid_fen),
                and_(CommissionLine.eligible_at.is_not(None), CommissionLine.completed_at.is_(None)),
            )
        )
        .order_by(CommissionLine.id)
    )


def _account_balances(kind: str, expected: Any, group: Any) -> Select:
    """Accounts of `kind` whose balance differs from what the lines say (`expected` summed by `group`)."""
    balances = (
        select(LedgerEntry.account_id, func.sum(LedgerEntry.amount_fen).label("balance"))
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    lines = select(group.label("owner"), func.sum(expected).label("expected")).group_by(group).subquery()
    owner = LedgerAccount.leader_id if kind in (LEADER_PENDING,) else LedgerAccount.brand_id
    balance = func.coalesce(balances.c.balance, 0)
    wanted = func.coalesce(lines.c.expected, 0)
    return (
        select(LedgerAccount.id.label("account_id"), LedgerAccount.code, balance.label("balance_fen"),
               wanted.label("expected_fen"))
        .outerjoin(balances, balances.c.account_id == LedgerAccount.id)
        .outerjoin(lines, lines.c.owner == owner)
        .where(LedgerAccount.kind == kind, balance != wanted)
        .order_by(LedgerAccount.id)
    )


def _pending_balances() -> Select:
    net = case(
        (CommissionLine.status == LINE_PENDING, CommissionLine.commission_fen - CommissionLine.clawed_back_fen),
        else_=0,
    )
    return _account_balances(LEADER_PENDING, net, CommissionLine.leader_id)


def _expense_balances() -> Select:
    return _account_balances(
        BRAND_COMMISSION_EXPENSE, CommissionLine.clawed_back_fen - CommissionLine.commission_fen, CommissionLine.brand_id
    )


def _tier_bonuses_match_ledger() -> Select:
    prefix = literal("tier-bonus:") + cast(TierBonus.leader_id, String) + literal(":") + TierBonus.month + literal(":%")
    posted = (
        select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(
            LedgerTransaction.kind == TX_TIER_BONUS,
            LedgerTransaction.leader_id == TierBonus.leader_id,
            LedgerTransaction.idempotency_key.like(prefix),
            LedgerAccount.kind == LEADER_AVAILABLE,
        )
        .scalar_subquery()
    )
    return (
        select(TierBonus.id.label("tier_bonus_id"), TierBonus.leader_id, TierBonus.month, TierBonus.awarded_fen,
               posted.label("ledger_fen"))
        .where(or_(posted != TierBonus.awarded_fen, TierBonus.awarded_fen < 0))
        .order_by(TierBonus.id)
    )


def _bonus_expense_balances() -> Select:
    return _account_balances(BRAND_BONUS_EXPENSE, -TierBonus.awarded_fen, TierBonus.brand_id)


async def _rules_check(session: AsyncSession) -> Check:
    """The snapshotted rule and rate are what the line's rule version gives for its order (streamed)."""
    check = Check(name="line_rule_matches_version", description="每条佣金的规则与费率等于其规则版本对该订单给出的规则与费率")
    versions: dict[int, rules.RuleSet] = {}
    after = 0
    while True:
        rows = (
            await session.execute(
                select(
                    CommissionLine.id, CommissionLine.order_id, CommissionLine.rule_version_id, CommissionLine.session_id,
                    CommissionLine.product_id, CommissionLine.member_id, Leader.member_id.label("leader_member_id"),
                    CommissionLine.rule, CommissionLine.rate_bp, CommissionLine.referral_bp,
                )
                .join(Leader, Leader.id == CommissionLine.leader_id)
                .where(CommissionLine.id > after)
                .order_by(CommissionLine.id)
                .limit(STREAM_BATCH)
            )
        ).all()
        if not rows:
            return check
        missing = {r.rule_version_id for r in rows} - set(versions)
        if missing:
            for row in await session.scalars(select(CommissionRuleVersion).where(CommissionRuleVersion.id.in_(missing))):
                versions[row.id] = rules.ruleset_of(row)
        for r in rows:
            ruleset = versions[r.rule_version_id]
            self_purchase = r.member_id == r.leader_member_id
            if self_purchase and not ruleset.self_purchase_counts:
                good = (r.rule, r.rate_bp, r.referral_bp) == (rules.RULE_SELF_PURCHASE_EXCLUDED, 0, 0)
            else:
                expected = rules.base_rate(ruleset, session_id=r.session_id, product_id=r.product_id)
                good = (r.rule, r.rate_bp) == expected and r.referral_bp in (0, ruleset.referral_rate_bp)
            if not good:
                check.breaches += 1
                if len(check.samples) < SAMPLE_LIMIT:
                    check.samples.append(
                        {"line_id": r.id, "order_id": r.order_id, "rule_version_id": r.rule_version_id, "rule": r.rule,
                         "rate_bp": r.rate_bp, "referral_bp": r.referral_bp}
                    )
        after = rows[-1].id


async def _tier_rule_check(session: AsyncSession) -> Check:
    check = Check(name="tier_bonus_matches_rule", description="阶梯奖励等于规则版本对该月销售额给出的档位")
    versions: dict[int, rules.RuleSet] = {}
    after = 0
    while True:
        rows = list(
            await session.scalars(select(TierBonus).where(TierBonus.id > after).order_by(TierBonus.id).limit(STREAM_BATCH))
        )
        if not rows:
            return check
        for row in rows:
            if row.rule_version_id not in versions:
                versions[row.rule_version_id] = rules.ruleset_of(await session.get(CommissionRuleVersion, row.rule_version_id))
            tier = versions[row.rule_version_id].tier_for(row.gmv_fen)
            if row.awarded_fen != (tier.bonus_fen if tier else 0):
                check.breaches += 1
                if len(check.samples) < SAMPLE_LIMIT:
                    check.samples.append({"tier_bonus_id": row.id, "leader_id": row.leader_id, "month": row.month,
                                          "gmv_fen": row.gmv_fen, "awarded_fen": row.awarded_fen})
        after = rows[-1].id


LEDGER_TOPICS = ("order.paid", "order.refunded", "order.completed")
STUCK_AFTER_ATTEMPTS = 3


def _events_not_stuck() -> Select:
    """Events the ledger consumes that keep failing: the worker is not merely behind, something is wrong."""
    return (
        select(OutboxEvent.id.label("event_id"), OutboxEvent.topic, OutboxEvent.attempts, OutboxEvent.last_error)
        .where(
            OutboxEvent.processed_at.is_(None),
            OutboxEvent.topic.in_(LEDGER_TOPICS),
            OutboxEvent.attempts >= STUCK_AFTER_ATTEMPTS,
        )
        .order_by(OutboxEvent.id)
    )


QUERY_CHECKS = (
    ("transactions_balance", "每笔记账至少两条分录且借贷相加为零", _transactions_balance),
    ("entries_consistent", "分录金额非零，账户与记账属于同一品牌、同一团长", _entries_consistent),
    ("one_transaction_per_key", "每个幂等键只有一笔记账", _one_transaction_per_key),
    ("nothing_posted_twice", "每个订单最多入账一次", _nothing_posted_twice),
    ("ledger_events_not_stuck", f"佣金相关事件没有反复处理失败（{STUCK_AFTER_ATTEMPTS} 次以上）", _events_not_stuck),
    ("paid_orders_have_lines", "每个有团长的已支付订单都有佣金明细", _paid_orders_have_lines),
    ("lines_match_orders", "佣金明细的快照与订单一致（团长、用户、实付金额）", _lines_match_orders),
    ("commission_arithmetic", "佣金 = 实付 × 费率 ÷ 10000 四舍五入；不计佣的明细为 0", _commission_arithmetic),
    ("lines_match_ledger", "每条佣金明细的入账、扣回、结算、待结算与可提现金额等于账本分录", _lines_match_ledger),
    ("clawbacks_match_refunds", "扣回金额 = 佣金 × 累计退款 ÷ 实付 四舍五入；整单退款全额扣回", _clawbacks_match_refunds),
    ("refund_sources", "每笔扣回对应本订单的退款且金额一致，有扣回才有记账", _refund_sources),
    ("settlements_match_lines", "每笔结算记账转出的金额等于指向它的明细结算金额之和，且属于同一团长", _settlements_match_lines),
    ("settled_lines_name_their_settlement", "结算了金额的明细都指向一笔结算记账；其他明细不指向任何记账", _settled_lines_name_their_settlement),
    ("references_exist", "分录的记账和账户、记账的品牌、团长、订单、明细、规则版本与退款都存在", _references_exist),
    ("settled_only_after_eligible", "只在可结算时间之后结算；未结算的没有结算金额", _settled_only_after_eligible),
    ("pending_balances", "团长待结算余额等于其待结算明细之和", _pending_balances),
    ("commission_expense_balances", "品牌佣金支出等于全部明细的净佣金", _expense_balances),
    ("tier_bonuses_match_ledger", "阶梯奖励发放金额等于账本分录", _tier_bonuses_match_ledger),
    ("bonus_expense_balances", "品牌奖励支出等于全部阶梯奖励", _bonus_expense_balances),
)


# The checks a settlement run can break (cheap enough to run after settling a million lines).
SETTLEMENT_CHECKS = (
    "transactions_balance", "entries_consistent", "one_transaction_per_key", "nothing_posted_twice",
    "lines_match_ledger", "settlements_match_lines", "settled_lines_name_their_settlement", "references_exist",
    "settled_only_after_eligible", "pending_balances",
)


async def run_checks(*, session: AsyncSession, names: tuple[str, ...]) -> list[Check]:
    """The named query checks only (e.g. SETTLEMENT_CHECKS)."""
    unknown = set(names) - {name for name, _, _ in QUERY_CHECKS}
    if unknown:
        raise ValueError(f"unknown audit checks: {sorted(unknown)}")
    return [await _query_check(session, name, description, build()) for name, description, build in QUERY_CHECKS
            if name in names]


async def run_audit(*, session: AsyncSession, now: datetime) -> AuditReport:
    """Every check; `now` is when the audit runs (money dated after it was moved under a future --as-of)."""
    checks = [await _query_check(session, name, description, build()) for name, description, build in QUERY_CHECKS]
    checks.append(await _rules_check(session))
    checks.append(await _tier_rule_check(session))
    # Lazy: both modules import this one.
    from linli.ledger.audit_future import future_dated_check
    from linli.payouts.audit import withdrawal_checks  # wire-up: withdrawals (issue 4)

    checks.extend(await withdrawal_checks(session))
    checks.append(await future_dated_check(session=session, now=now))
    counts = {
        "transactions": int(await session.scalar(select(func.count()).select_from(LedgerTransaction)) or 0),
        "entries": int(await session.scalar(select(func.count()).select_from(LedgerEntry)) or 0),
        "commission_lines": int(await session.scalar(select(func.count()).select_from(CommissionLine)) or 0),
    }
    return AuditReport(checks=checks, counts=counts, ran_at=now)
