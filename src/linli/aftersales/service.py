"""After-sales rules: filing a claim, the instant-refund rule, the brand's queue, refunds exactly once.

- A claim is filed on a paid order by its member, or by the leader of the order's pickup point on the
  member's behalf, within the brand's window (`window_hours`, default 48 h) after pickup. A `missing`
  claim may also be filed once the parcel has arrived at the point (the box is not there to pick up);
  its window then counts from the arrival. One open claim per order; an idempotency key per filer.
- The amount asked is > 0 and at most what the member paid minus what is already refunded or being
  refunded; the quantity is at most the quantity ordered.
- Instant refund: a claim up to `instant_max_fen` from a member who, over `instant_lookback_days`,
  filed fewer than `instant_max_recent_claims` claims and at most `instant_max_claim_rate_bp` claims
  per delivered order, is approved at once. Everything else waits for the brand's staff, who approve,
  partly approve (an amount up to the one asked, with a reason) or reject (with a reason), once.
- Approval asks payments for the refund under the key `claim:{id}` and claws the commission share back
  (`ledger.accrual.clawback_for_refund`) in the same transaction. The provider's answer arrives as
  `payment.refunded` / `payment.refund_failed` and moves the claim to refunded / refund_failed; staff
  retry a failed refund (`claim:{id}:attempt:{n}`), which claws nothing back again.
- The order keeps its status `paid` even when everything is refunded: the goods were collected, so
  `orders.mark_refunded` (which puts the units back on sale) is not used; the commission is clawed back
  in full by the claim's own refund, and a later `order.refunded` would claw back only what is left.

Lock order: filing locks the order row, then the member row; deciding locks the claim row, then
(in payments) the payment row, then (in the ledger) the commission line.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.aftersales import photos as photo_rules
from linli.aftersales.models import (
    CLAIM_REFUND_FAILED,
    CLAIM_REFUNDED,
    CLAIM_REFUNDING,
    CLAIM_REJECTED,
    CLAIM_REVIEWING,
    CLAIM_STATUSES,
    DECISION_APPROVED,
    DECISION_INSTANT,
    DECISION_PARTIAL,
    DECISION_REJECTED,
    OPEN_STATUSES,
    REASONS,
    AfterSalesPolicy,
    Claim,
    ClaimPhoto,
    ClaimStatusChange,
    DeliveredOrder,
)
from linli.aftersales.photos import Photo
from linli.brands import service as brands
from linli.db import insert_unique
from linli.errors import Conflict, Forbidden, InvalidInput, NotFound
from linli.fulfillment import service as fulfillment
from linli.fulfillment.models import PARCEL_ARRIVED
from linli.leaders import service as leaders
from linli.ledger import accrual
from linli.members import service as members
from linli.orders import service as orders
from linli.orders.models import Order
from linli.outbox.service import emit
from linli.pagination import PageParams, fetch_page
from linli.payments import service as payments
from linli.storage import FileStorage
from linli.timefmt import format_local

REASON_TEXT = {"bad": "坏果/破损", "missing": "少件/漏发", "wrong": "发错货", "other": "其他"}
STATUS_TEXT = {
    CLAIM_REVIEWING: "待审核", CLAIM_REFUNDING: "退款中", CLAIM_REFUNDED: "已退款", CLAIM_REFUND_FAILED: "退款失败",
    CLAIM_REJECTED: "已驳回",
}
REASONS_NEEDING_PHOTOS = ("bad", "wrong")
MAX_DESCRIPTION_CHARS = 500
MAX_DECISION_REASON_CHARS = 200


# --- the brand's policy ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    window_hours: int = 48
    instant_enabled: bool = True
    instant_max_fen: int = 3000
    instant_lookback_days: int = 90
    instant_max_recent_claims: int = 3
    instant_max_claim_rate_bp: int = 2000


DEFAULT_POLICY = Policy()
POLICY_LIMITS = {
    "window_hours": (1, 24 * 30),
    "instant_max_fen": (0, 1_000_000),
    "instant_lookback_days": (1, 365),
    "instant_max_recent_claims": (1, 1000),
    "instant_max_claim_rate_bp": (0, 10_000),
}


def validate_policy(policy: Policy) -> None:
    for name, (low, high) in POLICY_LIMITS.items():
        value = getattr(policy, name)
        if not low <= value <= high:
            raise InvalidInput(f"{name} 须在 {low} 到 {high} 之间", code="aftersales_policy_invalid", details={"field": name})


def policy_of(row: AfterSalesPolicy | None) -> Policy:
    if row is None:
        return DEFAULT_POLICY
    return Policy(**{name: getattr(row, name) for name in Policy.__dataclass_fields__})


async def current_policy_row(*, session: AsyncSession, brand_id: int) -> AfterSalesPolicy | None:
    return await session.scalar(
        select(AfterSalesPolicy)
        .where(AfterSalesPolicy.brand_id == brand_id)
        .order_by(AfterSalesPolicy.version.desc())
        .limit(1)
    )


async def current_policy(*, session: AsyncSession, brand_id: int) -> Policy:
    return policy_of(await current_policy_row(session=session, brand_id=brand_id))


async def update_policy(
    *, session: AsyncSession, brand_id: int, policy: Policy, note: str, actor_user_id: int, now: datetime
) -> AfterSalesPolicy:
    """A new version (who and when are recorded); it applies to claims filed from now on."""
    validate_policy(policy)
    current = await current_policy_row(session=session, brand_id=brand_id)
    row = AfterSalesPolicy(
        brand_id=brand_id, version=(current.version if current else 0) + 1, note=note.strip()[:200], created_at=now,
        created_by_user_id=actor_user_id, **asdict(policy),
    )
    if not await insert_unique(session, row):  # another change took this version number a moment ago
        raise Conflict("售后规则刚被他人修改，请刷新后重试", code="aftersales_policy_changed")
    return row


async def policy_versions(*, session: AsyncSession, brand_id: int) -> list[AfterSalesPolicy]:
    rows = await session.scalars(
        select(AfterSalesPolicy).where(AfterSalesPolicy.brand_id == brand_id).order_by(AfterSalesPolicy.version.desc())
    )
    return list(rows)


# --- who may see and act --------------------------------------------------------------------------


async def _role(session: AsyncSession, *, brand_id: int, community_id: int | None, member_user_id: int, user_id: int) -> str | None:
    """member (the order is theirs), leader (active leader of the order's pickup point), staff, or None."""
    if user_id == member_user_id:
        return "member"
    if await brands.staff_role(session=session, brand_id=brand_id, user_id=user_id) is not None:
        return "staff"
    leader = await leaders.find_open_leader_for_user(session=session, brand_id=brand_id, user_id=user_id)
    if leader is not None and leader.status == "active" and community_id is not None and leader.community_id == community_id:
        return "leader"
    return None


async def get_visible_claim(*, session: AsyncSession, claim_id: int, user_id: int) -> tuple[Claim, str]:
    """The claim and the caller's role towards it; 404 for anyone who may not see it."""
    claim = await session.get(Claim, claim_id)
    role = None
    if claim is not None:
        role = await _role(
            session, brand_id=claim.brand_id, community_id=claim.community_id, member_user_id=claim.user_id, user_id=user_id
        )
    if claim is None or role is None:
        raise NotFound("售后单不存在", code="claim_not_found")
    return claim, role


async def visible_order(*, session: AsyncSession, order_id: int, user_id: int) -> tuple[Order, str]:
    order = (await orders.orders_by_ids(session=session, order_ids={order_id})).get(order_id)
    role = None
    if order is not None:
        role = await _role(
            session, brand_id=order.brand_id, community_id=order.community_id, member_user_id=order.user_id, user_id=user_id
        )
    if order is None or role is None:
        raise NotFound("订单不存在", code="order_not_found")
    return order, role


# --- filing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FiledClaim:
    claim: Claim
    created: bool
    stored_keys: list[str]  # photos put into the storage by this call (to remove if the transaction fails)


def _fingerprint(*, order_id: int, reason: str, quantity: int, amount_fen: int, description: str, photos: list[Photo]) -> str:
    raw = f"{order_id}|{reason}|{quantity}|{amount_fen}|{description}|" + ",".join(sorted(p.sha256 for p in photos))
    return hashlib.sha256(raw.encode()).hexdigest()


async def _replay(session: AsyncSession, *, user_id: int, key: str, fingerprint: str) -> Claim | None:
    existing = await session.scalar(select(Claim).where(Claim.filed_by_user_id == user_id, Claim.idempotency_key == key))
    if existing is not None and existing.request_fingerprint != fingerprint:
        raise Conflict("该幂等键已用于另一笔不同的售后申请", code="idempotency_key_reused")
    return existing


def _check_input(*, reason: str, quantity: int, amount_fen: int, description: str, key: str, photos: list[Photo]) -> None:
    if reason not in REASONS:
        raise InvalidInput("售后原因无效", code="claim_reason_invalid", details={"allowed": list(REASONS)})
    if quantity < 1:
        raise InvalidInput("售后数量须大于 0", code="claim_quantity_invalid")
    if amount_fen < 1:
        raise InvalidInput("申请金额须大于 0", code="claim_amount_invalid")
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise InvalidInput(f"问题描述不能超过 {MAX_DESCRIPTION_CHARS} 字", code="claim_description_too_long")
    if not 8 <= len(key) <= 64:
        raise InvalidInput("幂等键长度须为 8 到 64 个字符", code="idempotency_key_invalid")
    if reason in REASONS_NEEDING_PHOTOS and not photos:
        raise InvalidInput("坏果、破损或发错货请至少上传一张照片", code="claim_photo_required")


async def _received_at(session: AsyncSession, *, order_id: int, reason: str) -> datetime:
    """When the after-sales window starts: the pickup, or for `missing` the arrival at the pickup point."""
    picked_up = await fulfillment.picked_up_at(session=session, order_id=order_id)
    if picked_up is not None:
        return picked_up
    if reason == "missing":
        parcel = await fulfillment.find_parcel(session=session, order_id=order_id)
        if parcel is not None and parcel.status == PARCEL_ARRIVED and parcel.arrived_at is not None:
            return parcel.arrived_at
    raise Conflict("订单提货后才能申请售后", code="claim_before_pickup")


async def claimable_fen(*, session: AsyncSession, order: Order) -> int:
    """What a new claim on the order may ask for: paid minus refunded or being refunded."""
    payment = await payments.order_payment(session=session, order_id=order.id)
    if payment is None:
        return 0
    refunded = await payments.refunded_fen(session=session, payment_id=payment.id)
    return max(0, min(order.payable_fen, payment.amount_fen) - refunded)


async def qualifies_for_instant(*, session: AsyncSession, policy: Policy, member_id: int, amount_fen: int, now: datetime) -> bool:
    """The instant-refund rule, over the member's claims and pickups before this claim."""
    if not policy.instant_enabled or amount_fen > policy.instant_max_fen:
        return False
    since = now - timedelta(days=policy.instant_lookback_days)
    claims = int(
        await session.scalar(select(func.count()).where(Claim.member_id == member_id, Claim.filed_at >= since)) or 0
    )
    delivered = int(
        await session.scalar(
            select(func.count()).where(DeliveredOrder.member_id == member_id, DeliveredOrder.delivered_at >= since)
        )
        or 0
    )
    if claims >= policy.instant_max_recent_claims:
        return False
    return claims * 10_000 <= policy.instant_max_claim_rate_bp * delivered


async def file_claim(
    *,
    session: AsyncSession,
    storage: FileStorage,
    user_id: int,
    order_id: int,
    reason: str,
    quantity: int,
    amount_fen: int,
    description: str,
    photos: list[Photo],
    idempotency_key: str,
    now: datetime,
) -> FiledClaim:
    """Files a claim (the member, or the pickup point's leader on the member's behalf); replays return it.

    Every refusal raises before anything is written or stored. A claim that qualifies for the instant
    refund is approved and its refund requested in the same transaction.
    """
    key = idempotency_key.strip()
    description = description.strip()
    _check_input(reason=reason, quantity=quantity, amount_fen=amount_fen, description=description, key=key, photos=photos)
    order, role = await visible_order(session=session, order_id=order_id, user_id=user_id)
    if role == "staff":
        raise Forbidden("售后申请由用户本人或其自提点团长提交", code="claim_filer_invalid")
    fingerprint = _fingerprint(
        order_id=order.id, reason=reason, quantity=quantity, amount_fen=amount_fen, description=description, photos=photos
    )
    replay = await _replay(session, user_id=user_id, key=key, fingerprint=fingerprint)
    if replay is not None:
        return FiledClaim(claim=replay, created=False, stored_keys=[])

    # One order's claims are decided one at a time; one member's too (the instant rule counts them).
    order = await orders.get_order(session=session, order_id=order_id, for_update=True)
    await members.lock_member(session=session, member_id=order.member_id)
    replay = await _replay(session, user_id=user_id, key=key, fingerprint=fingerprint)
    if replay is not None:
        return FiledClaim(claim=replay, created=False, stored_keys=[])
    if order.status != "paid" or order.paid_at is None:
        raise Conflict("该订单不能申请售后", code="order_not_claimable")
    if quantity > order.quantity:
        raise InvalidInput("售后数量不能超过购买数量", code="claim_quantity_exceeds_order", details={"ordered": order.quantity})
    received_at = await _received_at(session, order_id=order.id, reason=reason)
    policy = await current_policy(session=session, brand_id=order.brand_id)
    deadline = received_at + timedelta(hours=policy.window_hours)
    if now > deadline:
        timezone = (await brands.get_brand(session=session, brand_id=order.brand_id)).timezone
        raise Conflict(
            f"已超过售后期限（提货后 {policy.window_hours} 小时内，截至 {format_local(deadline, timezone)}）",
            code="claim_window_closed",
            details={"deadline": deadline.isoformat(), "window_hours": policy.window_hours},
        )
    open_claim = await session.scalar(
        select(Claim.id).where(Claim.order_id == order.id, Claim.status.in_(OPEN_STATUSES)).limit(1)
    )
    if open_claim is not None:
        raise Conflict("该订单已有处理中的售后申请", code="claim_already_open", details={"claim_id": open_claim})
    claimable = await claimable_fen(session=session, order=order)
    if amount_fen > claimable:
        raise InvalidInput(
            "申请金额超过可退金额", code="claim_amount_exceeds_paid",
            details={"paid_fen": order.payable_fen, "claimable_fen": claimable, "requested_fen": amount_fen},
        )
    parcel = await fulfillment.find_parcel(session=session, order_id=order.id)
    claim = Claim(
        brand_id=order.brand_id, order_id=order.id, member_id=order.member_id, user_id=order.user_id,
        leader_id=order.leader_id, community_id=order.community_id, pickup_point_id=order.pickup_point_id,
        product_id=order.product_id, product_name=order.product_name, sku_name=order.sku_name,
        wave_id=parcel.wave_id if parcel else None, ordered_quantity=order.quantity, paid_fen=order.payable_fen,
        received_at=received_at, reason=reason, quantity=quantity, amount_asked_fen=amount_fen, description=description,
        filed_by_user_id=user_id, filed_by_role=role, idempotency_key=key, request_fingerprint=fingerprint, filed_at=now,
        status=CLAIM_REVIEWING, decision=None, decision_reason=None, decided_at=None, decided_by_user_id=None,
        approved_fen=0, refund_id=None, refund_attempts=0, refunded_fen=0, refunded_at=None,
    )
    instant = await qualifies_for_instant(
        session=session, policy=policy, member_id=order.member_id, amount_fen=amount_fen, now=now
    )
    if not await insert_unique(session, claim):  # a concurrent request slipped past the checks above
        replay = await _replay(session, user_id=user_id, key=key, fingerprint=fingerprint)
        if replay is not None:
            return FiledClaim(claim=replay, created=False, stored_keys=[])
        raise Conflict("该订单已有处理中的售后申请", code="claim_already_open")
    items = [(photo_rules.storage_key(claim_id=claim.id, photo=p), p) for p in photos]
    session.add_all(
        ClaimPhoto(claim_id=claim.id, storage_key=k, content_type=p.content_type, size_bytes=p.size_bytes,
                   sha256=p.sha256, created_at=now)
        for k, p in items
    )
    _record(session, claim, None, CLAIM_REVIEWING, note="代用户提交" if role == "leader" else None, actor=user_id, now=now)
    emit(session, topic="claim.filed", payload=_payload(claim), now=now)
    if instant:
        await _approve(session, claim, amount_fen=amount_fen, decision=DECISION_INSTANT, reason="小额极速退款", actor=None, now=now)
    await session.flush()
    await photo_rules.store(storage, items)  # last: every rule has passed
    return FiledClaim(claim=claim, created=True, stored_keys=[k for k, _ in items])


# --- deciding and refunding -----------------------------------------------------------------------


def _payload(claim: Claim) -> dict:
    return {
        "claim_id": claim.id, "order_id": claim.order_id, "brand_id": claim.brand_id, "member_id": claim.member_id,
        "leader_id": claim.leader_id, "community_id": claim.community_id, "reason": claim.reason,
        "status": claim.status, "decision": claim.decision, "amount_asked_fen": claim.amount_asked_fen,
        "approved_fen": claim.approved_fen, "refunded_fen": claim.refunded_fen,
    }


def _record(session: AsyncSession, claim: Claim, from_status: str | None, to_status: str, *, note: str | None,
            actor: int | None, now: datetime) -> None:
    claim.status = to_status
    session.add(ClaimStatusChange(
        claim_id=claim.id, from_status=from_status, to_status=to_status, note=note, actor_user_id=actor, changed_at=now,
    ))


async def _request_refund(session: AsyncSession, claim: Claim, *, now: datetime) -> None:
    """Asks payments for the claim's approved amount under this attempt's key; the first attempt claws back."""
    payment = await payments.order_payment(session=session, order_id=claim.order_id)
    if payment is None:
        raise Conflict("订单没有可退款的支付", code="claim_payment_missing")
    claim.refund_attempts += 1
    key = f"claim:{claim.id}" if claim.refund_attempts == 1 else f"claim:{claim.id}:attempt:{claim.refund_attempts}"
    refund = await payments.request_refund(
        session=session, payment=payment, amount_fen=claim.approved_fen, reason=f"售后退款（售后单 {claim.id}）",
        idempotency_key=key, now=now,
    )
    claim.refund_id = refund.id
    if claim.refund_attempts == 1:
        # The commission share of this claim, once: a retry after a failed refund is the same money.
        await accrual.clawback_for_refund(
            session=session, order_id=claim.order_id, refund_id=refund.id, refunded_fen=claim.approved_fen, now=now
        )


async def _approve(
    session: AsyncSession, claim: Claim, *, amount_fen: int, decision: str, reason: str | None, actor: int | None,
    now: datetime,
) -> None:
    claim.decision = decision
    claim.decision_reason = reason
    claim.approved_fen = amount_fen
    claim.decided_at = now
    claim.decided_by_user_id = actor
    _record(session, claim, CLAIM_REVIEWING, CLAIM_REFUNDING, note=reason, actor=actor, now=now)
    await session.flush()
    await _request_refund(session, claim, now=now)
    emit(session, topic="claim.approved", payload=_payload(claim), now=now)


async def _lock_claim(session: AsyncSession, *, brand_id: int, claim_id: int) -> Claim:
    claim = await session.scalar(
        select(Claim).where(Claim.id == claim_id).with_for_update().execution_options(populate_existing=True)
    )
    if claim is None or claim.brand_id != brand_id:
        raise NotFound("售后单不存在", code="claim_not_found")
    return claim


def _decision_reason(reason: str | None, *, required: bool) -> str | None:
    text = (reason or "").strip()
    if len(text) > MAX_DECISION_REASON_CHARS:
        raise InvalidInput(f"处理说明不能超过 {MAX_DECISION_REASON_CHARS} 字", code="claim_decision_reason_too_long")
    if required and not text:
        raise InvalidInput("部分同意或驳回须填写原因", code="claim_decision_reason_required")
    return text or None


async def decide_claim(
    *,
    session: AsyncSession,
    brand_id: int,
    claim_id: int,
    actor_user_id: int,
    decision: str,
    amount_fen: int | None,
    reason: str | None,
    now: datetime,
) -> Claim:
    """Staff decide a claim in the queue once: approve (the amount asked), partial (a smaller amount) or reject.

    Deciding a claim that is no longer waiting (decided by someone else, or instantly) is a 409.
    """
    if decision not in ("approve", "partial", "reject"):
        raise InvalidInput("处理结果须为 approve、partial 或 reject", code="claim_decision_invalid")
    claim = await _lock_claim(session, brand_id=brand_id, claim_id=claim_id)
    if claim.status != CLAIM_REVIEWING:
        raise Conflict("该售后申请已处理", code="claim_already_decided", details={"status": claim.status})
    if decision == "reject":
        claim.decision = DECISION_REJECTED
        claim.decision_reason = _decision_reason(reason, required=True)
        claim.decided_at = now
        claim.decided_by_user_id = actor_user_id
        _record(session, claim, CLAIM_REVIEWING, CLAIM_REJECTED, note=claim.decision_reason, actor=actor_user_id, now=now)
        emit(session, topic="claim.rejected", payload=_payload(claim), now=now)
        return claim
    if decision == "approve":
        await _approve(
            session, claim, amount_fen=claim.amount_asked_fen, decision=DECISION_APPROVED,
            reason=_decision_reason(reason, required=False), actor=actor_user_id, now=now,
        )
        return claim
    if amount_fen is None or amount_fen < 1:
        raise InvalidInput("部分同意须填写大于 0 的金额", code="claim_amount_invalid")
    if amount_fen > claim.amount_asked_fen:
        raise InvalidInput(
            "同意金额不能超过申请金额", code="claim_amount_exceeds_asked", details={"asked_fen": claim.amount_asked_fen}
        )
    await _approve(
        session, claim, amount_fen=amount_fen,
        decision=DECISION_PARTIAL if amount_fen < claim.amount_asked_fen else DECISION_APPROVED,
        reason=_decision_reason(reason, required=amount_fen < claim.amount_asked_fen), actor=actor_user_id, now=now,
    )
    return claim


async def retry_refund(*, session: AsyncSession, brand_id: int, claim_id: int, actor_user_id: int, now: datetime) -> Claim:
    """Asks the provider again (a new refund for the same approved amount) after it refused the last one."""
    claim = await _lock_claim(session, brand_id=brand_id, claim_id=claim_id)
    if claim.status != CLAIM_REFUND_FAILED:
        raise Conflict("只有退款失败的售后单可以重试退款", code="claim_not_refund_failed", details={"status": claim.status})
    _record(session, claim, CLAIM_REFUND_FAILED, CLAIM_REFUNDING, note="重试退款", actor=actor_user_id, now=now)
    await _request_refund(session, claim, now=now)
    return claim


async def apply_refund_result(
    *, session: AsyncSession, refund_id: int, succeeded: bool, now: datetime
) -> Claim | None:
    """The provider's final answer for a claim's refund (`payment.refunded` / `payment.refund_failed`).

    None when the refund is not a claim's current attempt or the claim already moved on (a replay).
    """
    claim = await session.scalar(
        select(Claim).where(Claim.refund_id == refund_id).with_for_update().execution_options(populate_existing=True)
    )
    if claim is None or claim.status != CLAIM_REFUNDING:
        return None
    if succeeded:
        claim.refunded_fen = claim.approved_fen
        claim.refunded_at = now
        _record(session, claim, CLAIM_REFUNDING, CLAIM_REFUNDED, note=None, actor=None, now=now)
        emit(session, topic="claim.refunded", payload=_payload(claim), now=now)
    else:
        _record(session, claim, CLAIM_REFUNDING, CLAIM_REFUND_FAILED, note="支付渠道退款失败", actor=None, now=now)
        emit(session, topic="claim.refund_failed", payload=_payload(claim), now=now)
    return claim


async def record_delivery(*, session: AsyncSession, order_id: int) -> DeliveredOrder | None:
    """Counts a picked-up order for claim rates (on `order.completed`); idempotent, None if not picked up."""
    delivered_at = await fulfillment.picked_up_at(session=session, order_id=order_id)
    if delivered_at is None:
        return None
    existing = await session.scalar(select(DeliveredOrder).where(DeliveredOrder.order_id == order_id))
    if existing is not None:
        return existing
    order = await orders.get_order(session=session, order_id=order_id)
    parcel = await fulfillment.find_parcel(session=session, order_id=order_id)
    row = DeliveredOrder(
        order_id=order.id, brand_id=order.brand_id, member_id=order.member_id, leader_id=order.leader_id,
        product_id=order.product_id, wave_id=parcel.wave_id if parcel else None, paid_fen=order.payable_fen,
        delivered_at=delivered_at,
    )
    if not await insert_unique(session, row):
        return await session.scalar(select(DeliveredOrder).where(DeliveredOrder.order_id == order_id))
    return row


# --- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimSummary:
    """What an order's timeline shows of a claim."""

    claim_id: int
    filed_at: datetime
    reason: str
    reason_text: str
    status: str
    status_text: str
    amount_asked_fen: int
    approved_fen: int
    refunded_fen: int
    decided_at: datetime | None
    refunded_at: datetime | None
    decision: str | None = None
    decision_reason: str | None = None


async def claims_for_order(*, session: AsyncSession, order_id: int) -> list[ClaimSummary]:
    """The order's claims, oldest first (no access check: the caller has already shown the order)."""
    rows = await session.scalars(select(Claim).where(Claim.order_id == order_id).order_by(Claim.id))
    return [
        ClaimSummary(
            claim_id=c.id, filed_at=c.filed_at, reason=c.reason, reason_text=REASON_TEXT[c.reason], status=c.status,
            status_text=STATUS_TEXT[c.status], amount_asked_fen=c.amount_asked_fen, approved_fen=c.approved_fen,
            refunded_fen=c.refunded_fen, decided_at=c.decided_at, refunded_at=c.refunded_at,
            decision=c.decision, decision_reason=c.decision_reason,
        )
        for c in rows
    ]


def _status_filter(status: str | None) -> str | None:
    if status is not None and status not in CLAIM_STATUSES:
        raise InvalidInput("售后状态无效", code="claim_status_filter_invalid", details={"allowed": list(CLAIM_STATUSES)})
    return status


async def list_member_claims(
    *, session: AsyncSession, brand_id: int, user_id: int, params: PageParams
) -> tuple[list[Claim], int]:
    query = select(Claim).where(Claim.brand_id == brand_id, Claim.user_id == user_id).order_by(Claim.id.desc())
    return await fetch_page(session, query, params)


async def list_point_claims(
    *, session: AsyncSession, community_id: int, status: str | None, params: PageParams
) -> tuple[list[Claim], int]:
    query = select(Claim).where(Claim.community_id == community_id).order_by(Claim.id.desc())
    if _status_filter(status) is not None:
        query = query.where(Claim.status == status)
    return await fetch_page(session, query, params)


async def list_brand_claims(
    *, session: AsyncSession, brand_id: int, status: str | None, params: PageParams
) -> tuple[list[Claim], int]:
    """The brand's claims; the queue is status=reviewing, oldest first so that nobody waits longest."""
    query = select(Claim).where(Claim.brand_id == brand_id)
    if _status_filter(status) is not None:
        query = query.where(Claim.status == status)
    query = query.order_by(Claim.id if status == CLAIM_REVIEWING else Claim.id.desc())
    return await fetch_page(session, query, params)


async def photos_of(*, session: AsyncSession, claim_ids: set[int]) -> dict[int, list[ClaimPhoto]]:
    if not claim_ids:
        return {}
    rows = await session.scalars(select(ClaimPhoto).where(ClaimPhoto.claim_id.in_(claim_ids)).order_by(ClaimPhoto.id))
    found: dict[int, list[ClaimPhoto]] = {}
    for row in rows:
        found.setdefault(row.claim_id, []).append(row)
    return found


async def history(*, session: AsyncSession, claim_id: int) -> list[ClaimStatusChange]:
    rows = await session.scalars(
        select(ClaimStatusChange).where(ClaimStatusChange.claim_id == claim_id).order_by(ClaimStatusChange.id)
    )
    return list(rows)


async def read_photo(
    *, session: AsyncSession, storage: FileStorage, claim_id: int, photo_id: int, user_id: int
) -> tuple[ClaimPhoto, bytes]:
    """A photo of a claim the caller may see (404 otherwise)."""
    await get_visible_claim(session=session, claim_id=claim_id, user_id=user_id)
    photo = await session.get(ClaimPhoto, photo_id)
    if photo is None or photo.claim_id != claim_id:
        raise NotFound("图片不存在", code="photo_not_found")
    return photo, await storage.open(photo.storage_key)


# --- claim rates ----------------------------------------------------------------------------------

RATE_DIMENSIONS = {"product": "product_id", "wave": "wave_id", "leader": "leader_id"}
MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class ClaimRate:
    key: int | None  # the product, wave or leader id (None: orders without a wave or without a leader)
    delivered_orders: int
    paid_fen: int
    claims: int
    refunded_claims: int
    refunded_fen: int

    @property
    def claim_rate_bp(self) -> int | None:
        return _ratio_bp(self.claims, self.delivered_orders)

    @property
    def refund_rate_bp(self) -> int | None:
        return _ratio_bp(self.refunded_fen, self.paid_fen)


def _ratio_bp(part: int, whole: int) -> int | None:
    """part ÷ whole in basis points, rounded half up; None when there is nothing to divide by."""
    if whole <= 0:
        return None
    return (2 * part * 10_000 + whole) // (2 * whole)


def day_range(*, start: date, end: date, timezone: str) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in the brand's time zone, as instants."""
    if end < start:
        raise InvalidInput("结束日期不能早于开始日期", code="date_range_invalid")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(f"日期范围不能超过 {MAX_RANGE_DAYS} 天", code="date_range_too_long")
    zone = ZoneInfo(timezone)
    return datetime.combine(start, time(), zone), datetime.combine(end + timedelta(days=1), time(), zone)


async def claim_rates(
    *, session: AsyncSession, brand_id: int, by: str, start: date, end: date, leader_id: int | None = None
) -> list[ClaimRate]:
    """Claim rates per product, wave or leader over the brand's business days start..end (inclusive).

    Claims filed in the period ÷ orders picked up in the period; refunded amount of those claims ÷
    paid amount of those orders. `leader_id` narrows everything to one leader's orders.
    """
    column = RATE_DIMENSIONS.get(by)
    if column is None:
        raise InvalidInput("分组须为 product、wave 或 leader", code="claim_rate_dimension_invalid")
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    since, until = day_range(start=start, end=end, timezone=brand.timezone)
    delivered_key = getattr(DeliveredOrder, column)
    delivered_query = (
        select(delivered_key, func.count(), func.coalesce(func.sum(DeliveredOrder.paid_fen), 0))
        .where(DeliveredOrder.brand_id == brand_id, DeliveredOrder.delivered_at >= since, DeliveredOrder.delivered_at < until)
        .group_by(delivered_key)
    )
    claim_key = getattr(Claim, column)
    refunded = Claim.status == CLAIM_REFUNDED
    claims_query = (
        select(
            claim_key, func.count(), func.coalesce(func.sum(case((refunded, 1), else_=0)), 0),
            func.coalesce(func.sum(Claim.refunded_fen), 0),
        )
        .where(Claim.brand_id == brand_id, Claim.filed_at >= since, Claim.filed_at < until)
        .group_by(claim_key)
    )
    if leader_id is not None:
        delivered_query = delivered_query.where(DeliveredOrder.leader_id == leader_id)
        claims_query = claims_query.where(Claim.leader_id == leader_id)
    figures: dict[int | None, list[int]] = {}
    for key, count, paid in (await session.execute(delivered_query)).all():
        figures.setdefault(key, [0, 0, 0, 0, 0])[0:2] = [int(count), int(paid)]
    for key, count, refunded_count, refunded_fen in (await session.execute(claims_query)).all():
        figures.setdefault(key, [0, 0, 0, 0, 0])[2:5] = [int(count), int(refunded_count), int(refunded_fen)]
    return [
        ClaimRate(key=key, delivered_orders=v[0], paid_fen=v[1], claims=v[2], refunded_claims=v[3], refunded_fen=v[4])
        for key, v in sorted(figures.items(), key=lambda item: (item[0] is None, item[0] or 0))
    ]
