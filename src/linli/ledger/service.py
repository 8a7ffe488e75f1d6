"""Postings and balances: the only code that writes ledger transactions and entries.

- `post` writes one transaction of two or more entries summing to zero, exactly once per idempotency key:
  a replay (same key, same entries) returns the existing transaction and writes nothing; the same key
  with different entries is a 409 `ledger_key_reused`. The unique constraint on the key is the last
  line of defence against a concurrent poster that passed the same check.
- Balances are sums of entries (nothing is cached), so there is nothing to drift.
- Accounts are created on first use; `code` is unique so two creators cannot make two.

For the withdrawal flow (later): lock the leader's available account with `lock_account` (one row, so
concurrent withdrawals of one leader queue), read `balance`, then `post` available → withdrawing with
the withdrawal's key; paying out posts withdrawing → brand payouts clearing, a failure/return posts
withdrawing → available.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.db import insert_missing, insert_unique
from linli.errors import Conflict, InvalidInput
from linli.ledger.models import (
    BRAND_KINDS,
    LEADER_AVAILABLE,
    LEADER_KINDS,
    LEADER_PENDING,
    LEADER_WITHDRAWING,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
)


def round_half_up_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, on integers only (both non-negative, denominator > 0)."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("round_half_up_div takes a non-negative numerator and a positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


# --- accounts -------------------------------------------------------------------------------------


def account_code(*, kind: str, brand_id: int, leader_id: int | None = None) -> str:
    if kind in LEADER_KINDS:
        if leader_id is None:
            raise ValueError(f"{kind} needs a leader")
        return f"{kind}:{brand_id}:{leader_id}"
    if kind not in BRAND_KINDS:
        raise ValueError(f"unknown account kind {kind!r}")
    return f"{kind}:{brand_id}"


async def accounts_by_code(
    *, session: AsyncSession, brand_id: int, specs: Iterable[tuple[str, int | None]], now: datetime
) -> dict[tuple[str, int | None], LedgerAccount]:
    """The accounts (kind, leader id) of one brand, created where missing. One query when they all exist."""
    wanted = {account_code(kind=kind, brand_id=brand_id, leader_id=leader): (kind, leader) for kind, leader in specs}
    found = {
        a.code: a for a in await session.scalars(select(LedgerAccount).where(LedgerAccount.code.in_(list(wanted))))
    }
    missing = [code for code in wanted if code not in found]
    if missing:  # one INSERT for all of them; a concurrent poster's account, made a moment ago, is kept
        await insert_missing(session, LedgerAccount, [
            {"code": code, "brand_id": brand_id, "leader_id": wanted[code][1], "kind": wanted[code][0], "created_at": now}
            for code in missing
        ])
        found.update(
            (a.code, a) for a in await session.scalars(select(LedgerAccount).where(LedgerAccount.code.in_(missing)))
        )
    return {spec: found[code] for code, spec in wanted.items()}


async def brand_account(*, session: AsyncSession, brand_id: int, kind: str, now: datetime) -> LedgerAccount:
    return (await accounts_by_code(session=session, brand_id=brand_id, specs=[(kind, None)], now=now))[(kind, None)]


@dataclass(frozen=True)
class LeaderAccounts:
    pending: LedgerAccount
    available: LedgerAccount
    withdrawing: LedgerAccount


async def leader_accounts(*, session: AsyncSession, brand_id: int, leader_id: int, now: datetime) -> LeaderAccounts:
    """The leader's three accounts, all created together on first use."""
    got = await accounts_by_code(
        session=session, brand_id=brand_id, specs=[(kind, leader_id) for kind in LEADER_KINDS], now=now
    )
    return _leader_accounts(got, leader_id)


async def leader_and_brand_accounts(
    *, session: AsyncSession, brand_id: int, leader_id: int, brand_kind: str, now: datetime
) -> tuple[LeaderAccounts, LedgerAccount]:
    """The leader's three accounts and one of the brand's, read together (an accrual's or a clawback's)."""
    got = await accounts_by_code(
        session=session, brand_id=brand_id, specs=[*((kind, leader_id) for kind in LEADER_KINDS), (brand_kind, None)],
        now=now,
    )
    return _leader_accounts(got, leader_id), got[(brand_kind, None)]


def _leader_accounts(got: dict[tuple[str, int | None], LedgerAccount], leader_id: int) -> LeaderAccounts:
    return LeaderAccounts(
        pending=got[(LEADER_PENDING, leader_id)],
        available=got[(LEADER_AVAILABLE, leader_id)],
        withdrawing=got[(LEADER_WITHDRAWING, leader_id)],
    )


async def find_leader_accounts(*, session: AsyncSession, brand_id: int, leader_id: int) -> dict[str, LedgerAccount]:
    """The leader's existing accounts by kind (read only; a leader who never earned has none)."""
    rows = await session.scalars(
        select(LedgerAccount).where(LedgerAccount.brand_id == brand_id, LedgerAccount.leader_id == leader_id)
    )
    return {a.kind: a for a in rows}


async def lock_account(*, session: AsyncSession, account_id: int) -> LedgerAccount:
    """Row-locks an account (withdrawals of one leader queue here before checking the balance)."""
    account = await session.scalar(
        select(LedgerAccount).where(LedgerAccount.id == account_id).with_for_update().execution_options(
            populate_existing=True
        )
    )
    if account is None:
        raise LookupError(f"ledger account {account_id} does not exist")
    return account


# --- balances -------------------------------------------------------------------------------------


async def balance(*, session: AsyncSession, account_id: int) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(LedgerEntry.account_id == account_id)
    )
    return int(total or 0)


async def balances(*, session: AsyncSession, account_ids: Sequence[int]) -> dict[int, int]:
    if not account_ids:
        return {}
    rows = await session.execute(
        select(LedgerEntry.account_id, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.account_id.in_(list(account_ids)))
        .group_by(LedgerEntry.account_id)
    )
    got = {int(account_id): int(total or 0) for account_id, total in rows.all()}
    return {account_id: got.get(account_id, 0) for account_id in account_ids}


@dataclass(frozen=True)
class LeaderBalances:
    pending_fen: int
    available_fen: int
    withdrawing_fen: int


async def leader_balances(*, session: AsyncSession, brand_id: int, leader_id: int) -> LeaderBalances:
    accounts = await find_leader_accounts(session=session, brand_id=brand_id, leader_id=leader_id)
    sums = await balances(session=session, account_ids=[a.id for a in accounts.values()])

    def of(kind: str) -> int:
        account = accounts.get(kind)
        return sums.get(account.id, 0) if account else 0

    return LeaderBalances(
        pending_fen=of(LEADER_PENDING), available_fen=of(LEADER_AVAILABLE), withdrawing_fen=of(LEADER_WITHDRAWING)
    )


# --- posting --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """What made a transaction: shown on statements ("order 42, rule live_base v3")."""

    leader_id: int | None = None
    order_id: int | None = None
    commission_line_id: int | None = None
    rule_version_id: int | None = None
    refund_id: int | None = None
    memo: str = ""


@dataclass(frozen=True)
class Posted:
    transaction: LedgerTransaction
    created: bool


def _check_entries(entries: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    cleaned = [(int(account_id), int(amount)) for account_id, amount in entries if amount != 0]
    if len(cleaned) < 2:
        raise InvalidInput("记账分录至少需要两条非零分录", code="ledger_entries_invalid")
    if sum(amount for _, amount in cleaned) != 0:
        raise InvalidInput("记账分录借贷不平", code="ledger_unbalanced")
    return cleaned


async def _entries_of(session: AsyncSession, transaction_id: int) -> list[tuple[int, int]]:
    rows = await session.execute(
        select(LedgerEntry.account_id, LedgerEntry.amount_fen).where(LedgerEntry.transaction_id == transaction_id)
    )
    return sorted((int(a), int(m)) for a, m in rows.all())


async def find_transaction(*, session: AsyncSession, key: str) -> LedgerTransaction | None:
    return await session.scalar(select(LedgerTransaction).where(LedgerTransaction.idempotency_key == key))


async def _same(session: AsyncSession, existing: LedgerTransaction, entries: list[tuple[int, int]]) -> Posted:
    if await _entries_of(session, existing.id) != sorted(entries):
        raise Conflict("该记账幂等键已用于另一笔不同的记账", code="ledger_key_reused", details={"key": existing.idempotency_key})
    return Posted(transaction=existing, created=False)


async def post(
    *,
    session: AsyncSession,
    key: str,
    brand_id: int,
    kind: str,
    entries: Sequence[tuple[int, int]],
    now: datetime,
    source: Source = Source(),
) -> Posted:
    """Posts `entries` ((account id, signed fen), summing to zero) once under `key`.

    Zero entries are dropped; fewer than two left is a 422 (post nothing rather than an empty
    transaction: callers skip zero amounts).
    """
    key = key.strip()
    if not 1 <= len(key) <= 128:
        raise InvalidInput("记账幂等键长度须为 1 到 128 个字符", code="ledger_key_invalid")
    cleaned = _check_entries(entries)
    existing = await find_transaction(session=session, key=key)
    if existing is not None:
        return await _same(session, existing, cleaned)
    transaction = LedgerTransaction(
        idempotency_key=key, brand_id=brand_id, kind=kind, leader_id=source.leader_id, order_id=source.order_id,
        commission_line_id=source.commission_line_id, rule_version_id=source.rule_version_id,
        refund_id=source.refund_id, memo=source.memo[:200], posted_at=now,
    )
    if not await insert_unique(session, transaction):
        winner = await find_transaction(session=session, key=key)
        assert winner is not None
        return await _same(session, winner, cleaned)
    session.add_all(
        LedgerEntry(transaction_id=transaction.id, account_id=account_id, amount_fen=amount, posted_at=now)
        for account_id, amount in cleaned
    )
    await session.flush()
    return Posted(transaction=transaction, created=True)


async def transfer(
    *,
    session: AsyncSession,
    key: str,
    brand_id: int,
    kind: str,
    from_account_id: int,
    to_account_id: int,
    amount_fen: int,
    now: datetime,
    source: Source = Source(),
) -> Posted:
    """Moves `amount_fen` (> 0) from one account to another: the two-entry posting most flows need."""
    if amount_fen <= 0:
        raise InvalidInput("金额须大于 0", code="amount_invalid")
    return await post(
        session=session, key=key, brand_id=brand_id, kind=kind,
        entries=[(from_account_id, -amount_fen), (to_account_id, amount_fen)], now=now, source=source,
    )


async def transaction_entries(*, session: AsyncSession, transaction_id: int) -> list[LedgerEntry]:
    return list(
        await session.scalars(
            select(LedgerEntry).where(LedgerEntry.transaction_id == transaction_id).order_by(LedgerEntry.id)
        )
    )
