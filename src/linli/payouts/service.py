"""Withdrawals: a leader asks, staff approve or reject, a payout provider transfers, the ledger follows.

Rules (docs/withdrawals.md):
- A request carries the leader's idempotency key: the same key with the same amount returns the same
  withdrawal; the same key with another amount is a 409 `withdrawal_key_reused`.
- The amount is at least the brand's minimum, at most the leader's available balance at request time,
  and the leader's requests of the business day (brand time zone; requested, approved or paid ones)
  stay within the daily cap. fee = round_half_up(amount × fee_bp / 10000), net = amount − fee.
- Requests of one leader queue on a row lock of the leader's available ledger account, taken before the
  balance and the day's total are read, so concurrent requests can never together exceed either.
- Approval emits `withdrawal.approved`; the worker asks the provider under the withdrawal's stable
  out_batch_no / out_detail_no (so a retry is deduplicated by the provider) and records the answer with
  `apply_result`, which locks the withdrawal and only moves it forward: a paid withdrawal is paid once.
- Every step posts to the ledger under a key derived from the withdrawal id (see payouts.models).

Lock order: the leader's available account, then the withdrawal row (request); the withdrawal row alone
for approval, rejection and provider answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.brands import service as brands
from linli.db import Database, insert_unique
from linli.errors import Conflict, InvalidInput, NotFound
from linli.leaders import service as leaders
from linli.ledger import service as ledger
from linli.ledger.models import (
    BRAND_PAYOUT_FEE_INCOME,
    BRAND_PAYOUTS_CLEARING,
    TX_WITHDRAWAL_PAID,
    TX_WITHDRAWAL_RELEASED,
    TX_WITHDRAWAL_REQUESTED,
    TX_WITHDRAWAL_RETURNED,
)
from linli.members import service as members
from linli.money import yuan
from linli.outbox.service import emit
from linli.pagination import PageParams, fetch_page
from linli.payouts import providers as payout_providers
from linli.payouts.models import (
    APPROVED,
    COUNTED_STATUSES,
    DEFAULT_DAILY_CAP_FEN,
    DEFAULT_FEE_BP,
    DEFAULT_MIN_AMOUNT_FEN,
    FAILED,
    PAID,
    REJECTED,
    REQUESTED,
    RETURNED,
    STATUSES,
    PayoutCallback,
    PayoutPolicy,
    Withdrawal,
)
from linli.payouts.providers import Payee, PayoutProvider, TransferRequest, TransferResult

WITHDRAWAL_APPROVED = "withdrawal.approved"
MIN_AMOUNT_RANGE = (100, 1_000_000)  # 1 元 … 10,000 元
MAX_FEE_BP = 2_000  # 20%
MAX_DAILY_CAP_FEN = 100_000_000  # 1,000,000 元
TRANSFER_REMARK = "团长佣金提现"


# --- policy ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    brand_id: int
    min_amount_fen: int
    fee_bp: int
    daily_cap_fen: int
    is_default: bool
    updated_at: datetime | None
    updated_by_user_id: int | None

    def split(self, amount_fen: int) -> tuple[int, int]:
        return split_fee(amount_fen, self.fee_bp)


def split_fee(amount_fen: int, fee_bp: int) -> tuple[int, int]:
    """(fee, net): fee = round_half_up(amount × fee_bp / 10000), net = amount − fee; they sum back to amount."""
    fee = ledger.round_half_up_div(amount_fen * fee_bp, 10_000)
    return fee, amount_fen - fee


async def get_policy(*, session: AsyncSession, brand_id: int) -> Policy:
    await brands.get_brand(session=session, brand_id=brand_id)
    row = await session.get(PayoutPolicy, brand_id)
    if row is None:
        return Policy(brand_id, DEFAULT_MIN_AMOUNT_FEN, DEFAULT_FEE_BP, DEFAULT_DAILY_CAP_FEN, True, None, None)
    return Policy(brand_id, row.min_amount_fen, row.fee_bp, row.daily_cap_fen, False, row.updated_at, row.updated_by_user_id)


async def update_policy(
    *,
    session: AsyncSession,
    brand_id: int,
    min_amount_fen: int,
    fee_bp: int,
    daily_cap_fen: int,
    actor_user_id: int,
    now: datetime,
) -> Policy:
    """Sets the brand's policy; it applies to requests from now on (a request keeps the fee it was made with)."""
    if not MIN_AMOUNT_RANGE[0] <= min_amount_fen <= MIN_AMOUNT_RANGE[1]:
        raise InvalidInput("最低提现金额须在 1 元到 10,000 元之间", code="payout_min_invalid")
    if not 0 <= fee_bp <= MAX_FEE_BP:
        raise InvalidInput("提现手续费率须在 0 到 2000 基点（20%）之间", code="payout_fee_invalid")
    if not min_amount_fen <= daily_cap_fen <= MAX_DAILY_CAP_FEN:
        raise InvalidInput("每日提现上限须不低于最低提现金额，且不超过 100 万元", code="payout_daily_cap_invalid")
    await brands.get_brand(session=session, brand_id=brand_id)
    row = await session.get(PayoutPolicy, brand_id, with_for_update=True)
    if row is None:
        row = PayoutPolicy(brand_id=brand_id, min_amount_fen=min_amount_fen, fee_bp=fee_bp, daily_cap_fen=daily_cap_fen,
                           updated_at=now, updated_by_user_id=actor_user_id)
        if not await insert_unique(session, row):  # a concurrent first change won: update that row
            row = await session.get(PayoutPolicy, brand_id, with_for_update=True, populate_existing=True)
            assert row is not None
    row.min_amount_fen, row.fee_bp, row.daily_cap_fen = min_amount_fen, fee_bp, daily_cap_fen
    row.updated_at, row.updated_by_user_id = now, actor_user_id
    await session.flush()
    return await get_policy(session=session, brand_id=brand_id)


# --- the business day ---------------------------------------------------------------------------


async def business_date(*, session: AsyncSession, brand_id: int, at: datetime) -> date:
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    return at.astimezone(ZoneInfo(brand.timezone)).date()


async def requested_on(*, session: AsyncSession, leader_id: int, day: date) -> int:
    """What the leader asked for on `day` and was not given back (failed, rejected and returned do not count)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Withdrawal.amount_fen), 0)).where(
            Withdrawal.leader_id == leader_id, Withdrawal.business_date == day, Withdrawal.status.in_(COUNTED_STATUSES)
        )
    )
    return int(total or 0)


async def paid_out_fen(*, session: AsyncSession, leader_id: int) -> int:
    """What the leader has been paid (withdrawals that reached them and were not returned): 已提现."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Withdrawal.amount_fen), 0)).where(
            Withdrawal.leader_id == leader_id, Withdrawal.status == PAID
        )
    )
    return int(total or 0)


@dataclass(frozen=True)
class LeaderFigures:
    policy: Policy
    available_fen: int
    withdrawing_fen: int
    today_requested_fen: int

    @property
    def today_remaining_fen(self) -> int:
        return max(0, self.policy.daily_cap_fen - self.today_requested_fen)

    @property
    def withdrawable_now_fen(self) -> int:
        """The most one request may ask for right now (0 when below the minimum)."""
        most = min(self.available_fen, self.today_remaining_fen)
        return most if most >= self.policy.min_amount_fen else 0


async def leader_figures(*, session: AsyncSession, brand_id: int, leader_id: int, now: datetime) -> LeaderFigures:
    policy = await get_policy(session=session, brand_id=brand_id)
    balances = await ledger.leader_balances(session=session, brand_id=brand_id, leader_id=leader_id)
    day = await business_date(session=session, brand_id=brand_id, at=now)
    return LeaderFigures(
        policy=policy, available_fen=balances.available_fen, withdrawing_fen=balances.withdrawing_fen,
        today_requested_fen=await requested_on(session=session, leader_id=leader_id, day=day),
    )


# --- requesting -----------------------------------------------------------------------------------


def request_key(withdrawal_id: int) -> str:
    return f"withdrawal:{withdrawal_id}:request"


def paid_key(withdrawal_id: int) -> str:
    return f"withdrawal:{withdrawal_id}:paid"


def release_key(withdrawal_id: int) -> str:
    return f"withdrawal:{withdrawal_id}:release"


def return_key(withdrawal_id: int) -> str:
    return f"withdrawal:{withdrawal_id}:return"


def out_numbers(withdrawal_id: int) -> tuple[str, str]:
    """The provider's batch and detail numbers: letters and digits, derived from the id, so always the same."""
    return f"LLWB{withdrawal_id:010d}", f"LLWD{withdrawal_id:010d}"


@dataclass(frozen=True)
class Requested:
    withdrawal: Withdrawal
    created: bool


def _same_request(existing: Withdrawal, amount_fen: int) -> Requested:
    if existing.amount_fen != amount_fen:
        raise Conflict("该幂等键已用于另一笔提现申请", code="withdrawal_key_reused",
                       details={"withdrawal_id": existing.id, "amount_fen": existing.amount_fen})
    return Requested(withdrawal=existing, created=False)


async def request_withdrawal(
    *, session: AsyncSession, brand_id: int, leader_id: int, amount_fen: int, idempotency_key: str, now: datetime
) -> Requested:
    """Asks to withdraw `amount_fen` of the leader's available balance, once per idempotency key."""
    key = idempotency_key.strip()
    if not 8 <= len(key) <= 64:
        raise InvalidInput("幂等键长度须为 8 到 64 个字符", code="idempotency_key_invalid")
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise InvalidInput("提现金额须为大于 0 的整数（分）", code="withdrawal_amount_invalid")
    await leaders.get_leader(session=session, brand_id=brand_id, leader_id=leader_id)
    accounts_ = await ledger.leader_accounts(session=session, brand_id=brand_id, leader_id=leader_id, now=now)
    # The leader's requests queue here: the balance and the day's total below are read after the lock.
    await ledger.lock_account(session=session, account_id=accounts_.available.id)
    existing = await session.scalar(
        select(Withdrawal).where(Withdrawal.leader_id == leader_id, Withdrawal.idempotency_key == key)
    )
    if existing is not None:
        return _same_request(existing, amount_fen)
    policy = await get_policy(session=session, brand_id=brand_id)
    if amount_fen < policy.min_amount_fen:
        raise InvalidInput(f"单笔提现不能低于 {yuan(policy.min_amount_fen)} 元", code="withdrawal_below_minimum",
                           details={"min_amount_fen": policy.min_amount_fen})
    available = await ledger.balance(session=session, account_id=accounts_.available.id)
    if amount_fen > available:
        raise Conflict("提现金额超过可提现余额", code="withdrawal_exceeds_available",
                       details={"available_fen": available, "requested_fen": amount_fen})
    day = await business_date(session=session, brand_id=brand_id, at=now)
    used = await requested_on(session=session, leader_id=leader_id, day=day)
    if used + amount_fen > policy.daily_cap_fen:
        raise Conflict(f"超过每日提现上限 {yuan(policy.daily_cap_fen)} 元", code="withdrawal_daily_cap_exceeded",
                       details={"daily_cap_fen": policy.daily_cap_fen, "today_requested_fen": used,
                                "today_remaining_fen": max(0, policy.daily_cap_fen - used)})
    fee, net = policy.split(amount_fen)
    withdrawal = Withdrawal(
        brand_id=brand_id, leader_id=leader_id, idempotency_key=key, amount_fen=amount_fen, fee_bp=policy.fee_bp,
        fee_fen=fee, net_fen=net, status=REQUESTED, business_date=day, requested_at=now,
    )
    if not await insert_unique(session, withdrawal):  # unreachable under the lock; the constraint still decides
        winner = await session.scalar(
            select(Withdrawal).where(Withdrawal.leader_id == leader_id, Withdrawal.idempotency_key == key)
        )
        assert winner is not None
        return _same_request(winner, amount_fen)
    posted = await ledger.transfer(
        session=session, key=request_key(withdrawal.id), brand_id=brand_id, kind=TX_WITHDRAWAL_REQUESTED,
        from_account_id=accounts_.available.id, to_account_id=accounts_.withdrawing.id, amount_fen=amount_fen, now=now,
        source=ledger.Source(leader_id=leader_id, memo=f"申请提现 {yuan(amount_fen)} 元（提现单 {withdrawal.id}）"),
    )
    withdrawal.request_transaction_id = posted.transaction.id
    await session.flush()
    return Requested(withdrawal=withdrawal, created=True)


# --- reading --------------------------------------------------------------------------------------


async def get_withdrawal(
    *, session: AsyncSession, brand_id: int, withdrawal_id: int, leader_id: int | None = None, for_update: bool = False
) -> Withdrawal:
    """The brand's withdrawal (and the leader's, when given); anything else is a 404."""
    row = await session.get(Withdrawal, withdrawal_id, with_for_update=for_update, populate_existing=for_update)
    if row is None or row.brand_id != brand_id or (leader_id is not None and row.leader_id != leader_id):
        raise NotFound("提现单不存在", code="withdrawal_not_found")
    return row


async def find_by_out_numbers(
    *, session: AsyncSession, out_batch_no: str | None = None, out_detail_no: str | None = None
) -> Withdrawal | None:
    """The withdrawal a provider names by its batch or its detail number."""
    if out_batch_no is not None:
        return await session.scalar(select(Withdrawal).where(Withdrawal.out_batch_no == out_batch_no))
    return await session.scalar(select(Withdrawal).where(Withdrawal.out_detail_no == out_detail_no))


def _status_filter(status: str | None) -> str | None:
    if status is not None and status not in STATUSES:
        raise InvalidInput("提现状态无效", code="withdrawal_status_filter_invalid")
    return status


async def list_withdrawals(
    *, session: AsyncSession, brand_id: int, leader_id: int | None, status: str | None, params: PageParams
) -> tuple[list[Withdrawal], int]:
    """Newest first; a leader's own (leader_id given) or the whole brand's."""
    query = select(Withdrawal).where(Withdrawal.brand_id == brand_id).order_by(Withdrawal.id.desc())
    if leader_id is not None:
        query = query.where(Withdrawal.leader_id == leader_id)
    if _status_filter(status) is not None:
        query = query.where(Withdrawal.status == status)
    return await fetch_page(session, query, params)


# --- staff decisions ------------------------------------------------------------------------------


def _event(session: AsyncSession, topic: str, withdrawal: Withdrawal, now: datetime) -> None:
    emit(
        session, topic=topic, now=now,
        payload={"withdrawal_id": withdrawal.id, "brand_id": withdrawal.brand_id, "leader_id": withdrawal.leader_id,
                 "amount_fen": withdrawal.amount_fen, "net_fen": withdrawal.net_fen, "status": withdrawal.status},
    )


async def approve(
    *,
    session: AsyncSession,
    providers: Mapping[str, PayoutProvider],
    provider_name: str,
    brand_id: int,
    withdrawal_id: int,
    actor_user_id: int,
    now: datetime,
) -> Withdrawal:
    """Approves a requested withdrawal and hands it to the worker. Approving it again changes nothing."""
    payout_providers.provider_for(providers, provider_name)
    withdrawal = await get_withdrawal(session=session, brand_id=brand_id, withdrawal_id=withdrawal_id, for_update=True)
    if withdrawal.status == REJECTED:
        raise Conflict("该提现已被驳回，不能再批准", code="withdrawal_not_pending", details={"status": withdrawal.status})
    if withdrawal.status != REQUESTED:
        return withdrawal  # already approved (and perhaps finished): one approval, one payout
    withdrawal.status = APPROVED
    withdrawal.approved_at = now
    withdrawal.approved_by_user_id = actor_user_id
    withdrawal.provider = provider_name
    withdrawal.out_batch_no, withdrawal.out_detail_no = out_numbers(withdrawal.id)
    await session.flush()
    _event(session, WITHDRAWAL_APPROVED, withdrawal, now)
    return withdrawal


async def reject(
    *, session: AsyncSession, brand_id: int, withdrawal_id: int, actor_user_id: int, reason: str, now: datetime
) -> Withdrawal:
    """Refuses a requested withdrawal with a reason; the amount goes back to available."""
    reason = reason.strip()
    if not 1 <= len(reason) <= 200:
        raise InvalidInput("请填写驳回原因（不超过 200 字）", code="reject_reason_required")
    withdrawal = await get_withdrawal(session=session, brand_id=brand_id, withdrawal_id=withdrawal_id, for_update=True)
    if withdrawal.status == REJECTED and withdrawal.reject_reason == reason:
        return withdrawal
    if withdrawal.status != REQUESTED:
        raise Conflict("只有待审核的提现可以驳回", code="withdrawal_not_pending", details={"status": withdrawal.status})
    await _release(session, withdrawal, now=now, memo=f"提现被驳回：{reason}")
    withdrawal.status = REJECTED
    withdrawal.reject_reason = reason
    withdrawal.rejected_by_user_id = actor_user_id
    withdrawal.finished_at = now
    await session.flush()
    _event(session, "withdrawal.rejected", withdrawal, now)
    return withdrawal


# --- the provider's answers -----------------------------------------------------------------------


async def payee_for(*, session: AsyncSession, withdrawal: Withdrawal) -> Payee:
    leader = await leaders.get_leader(session=session, brand_id=withdrawal.brand_id, leader_id=withdrawal.leader_id)
    member = await members.get_member(session=session, brand_id=withdrawal.brand_id, member_id=leader.member_id)
    user = await accounts.get_user(session=session, user_id=member.user_id)
    return Payee(leader_id=leader.id, real_name=leader.real_name, openid=user.wechat_openid)


def transfer_request(withdrawal: Withdrawal, payee: Payee) -> TransferRequest:
    assert withdrawal.out_batch_no and withdrawal.out_detail_no, "only an approved withdrawal is transferred"
    return TransferRequest(
        out_batch_no=withdrawal.out_batch_no, out_detail_no=withdrawal.out_detail_no, amount_fen=withdrawal.net_fen,
        remark=TRANSFER_REMARK, payee=payee,
    )


async def _release(session: AsyncSession, withdrawal: Withdrawal, *, now: datetime, memo: str) -> None:
    accounts_ = await ledger.leader_accounts(
        session=session, brand_id=withdrawal.brand_id, leader_id=withdrawal.leader_id, now=now
    )
    posted = await ledger.transfer(
        session=session, key=release_key(withdrawal.id), brand_id=withdrawal.brand_id, kind=TX_WITHDRAWAL_RELEASED,
        from_account_id=accounts_.withdrawing.id, to_account_id=accounts_.available.id, amount_fen=withdrawal.amount_fen,
        now=now, source=ledger.Source(leader_id=withdrawal.leader_id, memo=memo),
    )
    withdrawal.release_transaction_id = posted.transaction.id


async def _brand_accounts(session: AsyncSession, brand_id: int, now: datetime) -> tuple[int, int]:
    got = await ledger.accounts_by_code(
        session=session, brand_id=brand_id, specs=[(BRAND_PAYOUTS_CLEARING, None), (BRAND_PAYOUT_FEE_INCOME, None)],
        now=now,
    )
    return got[(BRAND_PAYOUTS_CLEARING, None)].id, got[(BRAND_PAYOUT_FEE_INCOME, None)].id


async def _post_paid(session: AsyncSession, withdrawal: Withdrawal, now: datetime) -> None:
    accounts_ = await ledger.leader_accounts(
        session=session, brand_id=withdrawal.brand_id, leader_id=withdrawal.leader_id, now=now
    )
    clearing, fees = await _brand_accounts(session, withdrawal.brand_id, now)
    posted = await ledger.post(
        session=session, key=paid_key(withdrawal.id), brand_id=withdrawal.brand_id, kind=TX_WITHDRAWAL_PAID,
        entries=[(accounts_.withdrawing.id, -withdrawal.amount_fen), (clearing, withdrawal.net_fen),
                 (fees, withdrawal.fee_fen)],
        now=now,
        source=ledger.Source(leader_id=withdrawal.leader_id, memo=(
            f"提现到账 {yuan(withdrawal.net_fen)} 元" + (f"，手续费 {yuan(withdrawal.fee_fen)} 元" if withdrawal.fee_fen else "")
        )),
    )
    withdrawal.paid_transaction_id = posted.transaction.id


async def _post_returned(session: AsyncSession, withdrawal: Withdrawal, now: datetime, reason: str) -> None:
    accounts_ = await ledger.leader_accounts(
        session=session, brand_id=withdrawal.brand_id, leader_id=withdrawal.leader_id, now=now
    )
    clearing, fees = await _brand_accounts(session, withdrawal.brand_id, now)
    posted = await ledger.post(
        session=session, key=return_key(withdrawal.id), brand_id=withdrawal.brand_id, kind=TX_WITHDRAWAL_RETURNED,
        entries=[(clearing, -withdrawal.net_fen), (fees, -withdrawal.fee_fen),
                 (accounts_.available.id, withdrawal.amount_fen)],
        now=now, source=ledger.Source(leader_id=withdrawal.leader_id, memo=f"提现被退回（含手续费）：{reason}"[:200]),
    )
    withdrawal.return_transaction_id = posted.transaction.id


async def apply_result(*, session: AsyncSession, withdrawal_id: int, result: TransferResult, now: datetime) -> str:
    """Records a provider's answer about a withdrawal; returns what it did.

    Only forward moves happen (approved → paid / failed, paid → returned); anything else is reported and
    changes nothing, so duplicate or late answers never pay, release or return twice.
    Outcomes: paid, failed, returned, pending, already_paid, already_failed, already_returned, ignored.
    """
    withdrawal = await session.get(Withdrawal, withdrawal_id, with_for_update=True, populate_existing=True)
    if withdrawal is None:
        raise NotFound("提现单不存在", code="withdrawal_not_found")
    if result.reference and withdrawal.status in (APPROVED, PAID):
        withdrawal.provider_reference = result.reference[:64]
    if result.provider_state and withdrawal.status == APPROVED:
        withdrawal.provider_state = result.provider_state[:32]
    status = result.status
    if status == PAID and withdrawal.status == APPROVED:
        await _post_paid(session, withdrawal, now)
        withdrawal.status, withdrawal.finished_at = PAID, now
        outcome = "paid"
    elif status == FAILED and withdrawal.status == APPROVED:
        reason = (result.reason or "打款失败")[:200]
        await _release(session, withdrawal, now=now, memo=f"提现打款失败：{reason}"[:200])
        withdrawal.status, withdrawal.failure_reason, withdrawal.finished_at = FAILED, reason, now
        outcome = "failed"
    elif status == RETURNED and withdrawal.status == PAID:
        reason = (result.reason or "到账后被退回")[:200]
        await _post_returned(session, withdrawal, now, reason)
        withdrawal.status, withdrawal.failure_reason, withdrawal.returned_at = RETURNED, reason, now
        outcome = "returned"
    elif status == PAID and withdrawal.status in (PAID, RETURNED):
        return "already_paid"
    elif status == FAILED and withdrawal.status == FAILED:
        return "already_failed"
    elif status == RETURNED and withdrawal.status == RETURNED:
        return "already_returned"
    elif status == payout_providers.PENDING and withdrawal.status == APPROVED:
        await session.flush()
        return "pending"
    else:
        return "ignored"
    await session.flush()
    _event(session, f"withdrawal.{outcome}", withdrawal, now)
    return outcome


async def handle_notification(
    *, session: AsyncSession, provider: PayoutProvider, headers: Mapping[str, str], body: bytes, now: datetime
) -> str:
    """Verifies, records and applies one provider notification; a repeat of one notification is "duplicate".

    Raises (and writes nothing) when the signature is invalid (401) or the withdrawal is unknown (404).
    """
    note = provider.parse_notification(headers=headers, body=body, now=now)
    found = await find_by_out_numbers(session=session, out_batch_no=note.out_batch_no)
    if found is None or found.provider != provider.name:
        raise NotFound("提现单不存在", code="withdrawal_not_found")
    # Lock the withdrawal before recording the callback: the callback's foreign key takes a share lock on
    # the row, and two deliveries each holding one while waiting to lock it would deadlock.
    withdrawal = await get_withdrawal(session=session, brand_id=found.brand_id, withdrawal_id=found.id, for_update=True)
    callback = PayoutCallback(
        provider=provider.name, notification_id=note.notification_id, withdrawal_id=withdrawal.id,
        event=note.result.status, payload=note.payload, outcome="received", received_at=now,
    )
    if not await insert_unique(session, callback):
        return "duplicate"
    callback.outcome = await apply_result(session=session, withdrawal_id=withdrawal.id, result=note.result, now=now)
    return callback.outcome


# --- asking the provider (the worker and `linli payouts-sync`) -----------------------------------


async def pay_out(*, session: AsyncSession, providers: Mapping[str, PayoutProvider], withdrawal_id: int, now: datetime) -> str:
    """Asks the provider to transfer an approved withdrawal and records its answer.

    The withdrawal is read without a lock while the provider is called (the provider dedupes by the stable
    out numbers, so a concurrent or repeated call is harmless); `apply_result` then locks it to record.
    Raises on a transient provider failure so that the caller retries.
    """
    withdrawal = await session.get(Withdrawal, withdrawal_id)
    if withdrawal is None or withdrawal.status != APPROVED:
        return "ignored"
    assert withdrawal.provider is not None
    provider = providers.get(withdrawal.provider)
    if provider is None:
        raise RuntimeError(f"payout provider {withdrawal.provider!r} is not configured; withdrawal {withdrawal.id} waits")
    payee = await payee_for(session=session, withdrawal=withdrawal)
    result = await provider.transfer(transfer_request(withdrawal, payee))
    return await apply_result(session=session, withdrawal_id=withdrawal.id, result=result, now=now)


@dataclass
class SyncReport:
    checked: int = 0
    outcomes: dict[str, int] | None = None

    def count(self, outcome: str) -> None:
        self.outcomes = self.outcomes or {}
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


async def sync_approved(
    *, db: Database, providers: Mapping[str, PayoutProvider], as_of: datetime, now: datetime, limit: int = 1000
) -> SyncReport:
    """Asks the provider about every withdrawal approved by `as_of` and still unfinished (a lost notification,
    a transfer the provider never received); each one in its own transaction. Running it twice is harmless."""
    report = SyncReport()
    async with db.read() as session:
        ids = list(await session.scalars(
            select(Withdrawal.id).where(Withdrawal.status == APPROVED, Withdrawal.approved_at <= as_of)
            .order_by(Withdrawal.id).limit(limit)
        ))
    for withdrawal_id in ids:
        try:
            async with db.transaction() as session:
                outcome = await _sync_one(session=session, providers=providers, withdrawal_id=withdrawal_id, now=now)
        except payout_providers.PayoutProviderUnavailable:
            outcome = "provider_unavailable"  # this one waits for the next run; the others go on
        if outcome != "provider_missing":
            report.checked += 1
        report.count(outcome)
    return report


async def _sync_one(
    *, session: AsyncSession, providers: Mapping[str, PayoutProvider], withdrawal_id: int, now: datetime
) -> str:
    withdrawal = await session.get(Withdrawal, withdrawal_id)
    assert withdrawal is not None and withdrawal.provider and withdrawal.out_batch_no and withdrawal.out_detail_no
    provider = providers.get(withdrawal.provider)
    if provider is None:
        return "provider_missing"
    result = await provider.query(out_batch_no=withdrawal.out_batch_no, out_detail_no=withdrawal.out_detail_no)
    if result.status == payout_providers.NOT_FOUND:
        return await pay_out(session=session, providers=providers, withdrawal_id=withdrawal_id, now=now)
    return await apply_result(session=session, withdrawal_id=withdrawal_id, result=result, now=now)
