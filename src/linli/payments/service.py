"""Payments: starting one for an order, applying verified provider notifications, refunding exactly once.

Rules:
- A payment is started only for the caller's own order while it can still be paid; an unfinished
  payment of the same provider is reused, so tapping "pay" twice never creates two charges.
- A notification is verified by its provider before anything is written (a forgery raises and
  changes nothing), then recorded under the provider's notification id: a repeat of the same
  notification is a no-op.
- A successful payment is applied to its order through `orders.apply_payment`, which never
  oversells: a payment that arrives after the order expired is re-reserved if the units are still
  free and otherwise must be refunded. Whenever money cannot be kept (late and sold out, a second
  payment for an already paid order, an amount that does not match) it is refunded automatically.
- A refund exists once per idempotency key (its out_refund_no is derived from the key and unique)
  and never exceeds what was paid minus what is already refunded. The provider is asked by the
  worker (`refund.requested` in the outbox), never inside the request that decided the refund.

Lock order: payment row, then order row (apply_payment). Starting a payment locks only the order.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.db import insert_unique
from linli.errors import Conflict, InvalidInput, NotFound
from linli.orders import service as orders
from linli.orders.models import Order
from linli.outbox.service import emit
from linli.payments.models import Payment, PaymentCallback, Refund
from linli.payments.providers import (
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
    REFUND_FAILED,
    REFUND_FAILED_STATUS,
    REFUND_PENDING_STATUS,
    REFUND_SUCCEEDED,
    REFUND_SUCCEEDED_STATUS,
    UNSUPPORTED,
    Notification,
    PaymentProvider,
    PaymentProviderUnknown,
)

MAX_DESCRIPTION_CHARS = 40  # WeChat Pay allows 127 bytes; 40 CJK characters fit
# Outcomes of a success notification whose money the order cannot keep: it is refunded in full, automatically.
UNAPPLIED_OUTCOMES = ("refunding_late_payment", "refunding_double_payment", "amount_mismatch")


# --- starting a payment -------------------------------------------------------------------------


def new_out_trade_no() -> str:
    """32 characters from [0-9a-f] with a prefix: unguessable (it is the simulator pay page's capability)."""
    return "LL" + secrets.token_hex(15)


def provider_for(providers: Mapping[str, PaymentProvider], name: str) -> PaymentProvider:
    provider = providers.get(name)
    if provider is None:
        raise PaymentProviderUnknown(details={"provider": name, "available": sorted(providers)})
    return provider


def describe(order: Order) -> str:
    text = order.product_name if not order.sku_name else f"{order.product_name} {order.sku_name}"
    return (text if order.quantity == 1 else f"{text} ×{order.quantity}")[:MAX_DESCRIPTION_CHARS]


@dataclass(frozen=True)
class OpenedPayment:
    payment: Payment
    order: Order
    created: bool


async def open_payment(
    *,
    session: AsyncSession,
    providers: Mapping[str, PaymentProvider],
    provider_name: str,
    user_id: int,
    order_id: int,
    now: datetime,
) -> OpenedPayment:
    """The order's unfinished payment with this provider, or a new pending one (no provider call yet)."""
    provider_for(providers, provider_name)
    # Lock the order first so that two taps on "pay" cannot both create a payment.
    await orders.get_own_order(session=session, user_id=user_id, order_id=order_id, for_update=True)
    order = await orders.require_payable(session=session, user_id=user_id, order_id=order_id, now=now)
    existing = await session.scalar(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.provider == provider_name, Payment.status == "pending")
        .order_by(Payment.id.desc())
        .limit(1)
    )
    if existing is not None and existing.amount_fen == order.payable_fen:
        return OpenedPayment(payment=existing, order=order, created=False)
    payment = Payment(
        order_id=order.id, brand_id=order.brand_id, provider=provider_name, out_trade_no=new_out_trade_no(),
        amount_fen=order.payable_fen, status="pending", provider_transaction_id=None, prepay={}, created_at=now,
        succeeded_at=None,
    )
    session.add(payment)
    await session.flush()
    return OpenedPayment(payment=payment, order=order, created=True)


async def payer_openid(*, session: AsyncSession, provider_name: str, user_id: int) -> str | None:
    """WeChat Pay JSAPI needs the payer's openid; the member must have logged in with WeChat."""
    if provider_name != "wechatpay":
        return None
    user = await accounts.get_user(session=session, user_id=user_id)
    if not user.wechat_openid:
        raise Conflict("请先使用微信登录后再用微信支付", code="wechat_login_required")
    return user.wechat_openid


async def fetch_prepay(
    *, provider: PaymentProvider, payment: Payment, order: Order, payer_openid: str | None
) -> dict[str, Any]:
    """Asks the provider for the client's pay parameters (may call the provider: keep it outside a transaction)."""
    return await provider.prepay(
        payment=payment, description=describe(order), payer_openid=payer_openid, expires_at=order.expires_at
    )


async def save_prepay(*, session: AsyncSession, payment_id: int, prepay: dict[str, Any]) -> Payment:
    payment = await get_payment(session=session, payment_id=payment_id, for_update=True)
    if payment.status == "pending":
        payment.prepay = dict(prepay)
    return payment


# --- reading ------------------------------------------------------------------------------------


async def get_payment(*, session: AsyncSession, payment_id: int, for_update: bool = False) -> Payment:
    payment = await session.get(Payment, payment_id, with_for_update=for_update)
    if payment is None:
        raise NotFound("支付单不存在", code="payment_not_found")
    return payment


async def find_payment(*, session: AsyncSession, out_trade_no: str, for_update: bool = False) -> Payment | None:
    query = select(Payment).where(Payment.out_trade_no == out_trade_no)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def get_payment_by_trade_no(*, session: AsyncSession, out_trade_no: str, for_update: bool = False) -> Payment:
    payment = await find_payment(session=session, out_trade_no=out_trade_no, for_update=for_update)
    if payment is None:
        raise NotFound("支付单不存在", code="payment_not_found")
    return payment


async def order_payment(*, session: AsyncSession, order_id: int) -> Payment | None:
    """The payment that paid the order (after-sales refunds go back through it), or None if unpaid.

    A second payment for the same order, or one for the wrong amount, was not applied and is
    refunded automatically (`unapplied_refund_key`): it is never the one.
    """
    candidates = await session.scalars(
        select(Payment)
        .where(Payment.order_id == order_id, Payment.status == "succeeded")
        .order_by(Payment.succeeded_at, Payment.id)
    )
    for payment in candidates:
        unapplied = out_refund_no_for(unapplied_refund_key(payment.id))
        if await session.scalar(select(Refund.id).where(Refund.out_refund_no == unapplied)) is None:
            return payment
    return None


@dataclass(frozen=True)
class UnappliedPayment:
    """A succeeded payment its order could not keep, the automatic refund of all of it, and why."""

    payment: Payment
    refund: Refund
    cause: str  # one of UNAPPLIED_OUTCOMES: the outcome recorded with the payment's notification


async def unapplied_payments(*, session: AsyncSession, order_id: int) -> list[UnappliedPayment]:
    """The order's payments that were refunded instead of applied (late and sold out, twice paid, wrong amount).

    One query for an order without any (the usual case); the member's timeline and inbox are built from it.
    """
    found = (
        await session.execute(
            select(Payment, PaymentCallback.outcome)
            .join(PaymentCallback, PaymentCallback.out_trade_no == Payment.out_trade_no)
            .where(Payment.order_id == order_id, PaymentCallback.outcome.in_(UNAPPLIED_OUTCOMES))
            .order_by(Payment.id)
        )
    ).all()
    if not found:
        return []
    refunds = {
        r.out_refund_no: r for r in await session.scalars(select(Refund).where(Refund.order_id == order_id))
    }
    unapplied = []
    for payment, cause in found:
        refund = refunds.get(out_refund_no_for(unapplied_refund_key(payment.id)))
        if refund is not None:
            unapplied.append(UnappliedPayment(payment=payment, refund=refund, cause=cause))
    return unapplied


async def get_refund(*, session: AsyncSession, refund_id: int) -> Refund:
    refund = await session.get(Refund, refund_id)
    if refund is None:
        raise NotFound("退款单不存在", code="refund_not_found")
    return refund


async def list_order_payments(
    *, session: AsyncSession, user_id: int, order_id: int
) -> list[tuple[Payment, list[Refund]]]:
    """The caller's order's payments (newest first), each with its refunds; someone else's order is a 404."""
    order = await orders.get_own_order(session=session, user_id=user_id, order_id=order_id)
    payments = list(
        await session.scalars(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id.desc()))
    )
    refunds = list(await session.scalars(select(Refund).where(Refund.order_id == order.id).order_by(Refund.id)))
    by_payment: dict[int, list[Refund]] = {}
    for refund in refunds:
        by_payment.setdefault(refund.payment_id, []).append(refund)
    return [(p, by_payment.get(p.id, [])) for p in payments]


# --- notifications ------------------------------------------------------------------------------


async def handle_notification(
    *,
    session: AsyncSession,
    provider: PaymentProvider,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> str:
    """Verifies, records and applies one provider notification; returns what it did.

    Outcomes: duplicate, paid, paid_late, already_succeeded, refunding_late_payment,
    refunding_double_payment, amount_mismatch, failed, ignored, refund_succeeded, refund_failed.
    Raises (and writes nothing) when the signature is invalid (401), a field has the wrong shape (422) or the
    payment or refund is unknown (404).
    """
    note = provider.parse_notification(headers=headers, body=body, now=now)
    if note.event_type == UNSUPPORTED:
        return "ignored"  # genuine, but nothing linli acts on (acknowledged so the provider stops retrying)
    if note.event_type in (REFUND_SUCCEEDED, REFUND_FAILED):
        return await _handle_refund_notification(session=session, provider=provider, note=note, now=now)

    payment = await find_payment(session=session, out_trade_no=note.out_trade_no, for_update=True)
    if payment is None or payment.provider != provider.name:
        raise NotFound("支付单不存在", code="payment_not_found")
    callback = await _record(session, provider=provider, note=note, now=now)
    if callback is None:
        return "duplicate"

    if note.event_type == PAYMENT_SUCCEEDED:
        outcome = await _apply_success(session, payment=payment, note=note, now=now)
    elif note.event_type == PAYMENT_FAILED:
        outcome = "ignored"
        if payment.status == "pending":
            payment.status = "failed"
            outcome = "failed"
    else:
        outcome = "ignored"
    callback.outcome = outcome
    return outcome


async def _record(
    session: AsyncSession, *, provider: PaymentProvider, note: Notification, now: datetime
) -> PaymentCallback | None:
    """The callback row, or None when this notification id was already recorded (a duplicate)."""
    callback = PaymentCallback(
        provider=provider.name, notification_id=note.notification_id, out_trade_no=note.out_trade_no,
        event_type=note.event_type, payload=note.payload, outcome="received", received_at=now,
    )
    if not await insert_unique(session, callback):
        return None
    return callback


async def _apply_success(session: AsyncSession, *, payment: Payment, note: Notification, now: datetime) -> str:
    if payment.status == "succeeded":
        return "already_succeeded"  # the same money reported again under another notification id
    paid = note.amount_fen
    if paid is None or paid <= 0:
        raise InvalidInput("支付通知缺少金额", code="callback_malformed")
    payment.status = "succeeded"
    payment.succeeded_at = now
    if note.transaction_id:
        payment.provider_transaction_id = note.transaction_id[:64]
    if paid != payment.amount_fen:
        # The provider holds `paid`, not what was asked: keep the order untouched and give it all back.
        payment.prepay = {**payment.prepay, "expected_amount_fen": payment.amount_fen}
        payment.amount_fen = paid
        await session.flush()
        await request_refund(
            session=session, payment=payment, amount_fen=paid, reason="支付金额与订单不符，自动退款",
            idempotency_key=unapplied_refund_key(payment.id), now=now,
        )
        return "amount_mismatch"
    await session.flush()
    applied = await orders.apply_payment(session=session, order_id=payment.order_id, amount_fen=paid, now=now)
    if applied.outcome in ("paid", "paid_late"):
        return applied.outcome
    if applied.outcome == "already_paid":
        reason, outcome = "订单已由另一笔支付完成，重复支付自动退款", "refunding_double_payment"
    else:  # refund_required: late and sold out (or the order is closed for good)
        reason, outcome = "订单已超时且名额已售罄，自动退款", "refunding_late_payment"
    await request_refund(
        session=session, payment=payment, amount_fen=paid, reason=reason,
        idempotency_key=unapplied_refund_key(payment.id), now=now,
    )
    return outcome


async def _handle_refund_notification(
    *, session: AsyncSession, provider: PaymentProvider, note: Notification, now: datetime
) -> str:
    refund = None
    if note.out_refund_no:
        refund = await session.scalar(
            select(Refund).where(Refund.out_refund_no == note.out_refund_no).with_for_update()
        )
    if refund is None:
        raise NotFound("退款单不存在", code="refund_not_found")
    payment = await get_payment(session=session, payment_id=refund.payment_id)
    if payment.provider != provider.name or payment.out_trade_no != note.out_trade_no:
        raise NotFound("退款单不存在", code="refund_not_found")
    callback = await _record(session, provider=provider, note=note, now=now)
    if callback is None:
        return "duplicate"
    status = REFUND_SUCCEEDED_STATUS if note.event_type == REFUND_SUCCEEDED else REFUND_FAILED_STATUS
    changed = await settle_refund(session=session, refund=refund, status=status, now=now)
    outcome = ("refund_succeeded" if status == REFUND_SUCCEEDED_STATUS else "refund_failed") if changed else "ignored"
    callback.outcome = outcome
    return outcome


# --- refunds ------------------------------------------------------------------------------------


def unapplied_refund_key(payment_id: int) -> str:
    """The idempotency key of the automatic refund of a payment that was not applied to its order."""
    return f"payment-unapplied:{payment_id}"


def out_refund_no_for(idempotency_key: str) -> str:
    """Derived from the key, so the same key always names the same refund (and the provider dedupes it too)."""
    return "RF" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:30]


async def refunded_fen(*, session: AsyncSession, payment_id: int) -> int:
    """Refunded or being refunded (failed refunds do not count)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
            Refund.payment_id == payment_id, Refund.status != REFUND_FAILED_STATUS
        )
    )
    return int(total or 0)


async def request_refund(
    *,
    session: AsyncSession,
    payment: Payment,
    amount_fen: int,
    reason: str,
    idempotency_key: str,
    now: datetime,
) -> Refund:
    """Refunds `amount_fen` of a succeeded payment, exactly once per idempotency key.

    The same key returns the same refund; the same key for another payment or amount is a 409;
    more than paid minus already refunded is a 409 `refund_exceeds_paid`. The refund is written as
    pending and `refund.requested` is emitted: the worker asks the provider.
    """
    key = idempotency_key.strip()
    if not 1 <= len(key) <= 128:
        raise InvalidInput("退款幂等键长度须为 1 到 128 个字符", code="idempotency_key_invalid")
    if amount_fen <= 0:
        raise InvalidInput("退款金额须大于 0", code="refund_amount_invalid")
    out_refund_no = out_refund_no_for(key)
    # Lock the payment: refunds of one payment are decided one at a time, so the sum below stays true.
    locked = await get_payment(session=session, payment_id=payment.id, for_update=True)
    existing = await session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no))
    if existing is not None:
        return _same_refund(existing, payment_id=locked.id, amount_fen=amount_fen)
    if locked.status != "succeeded":
        raise Conflict("该支付未成功，无法退款", code="payment_not_refundable")
    already = await refunded_fen(session=session, payment_id=locked.id)
    if already + amount_fen > locked.amount_fen:
        raise Conflict(
            "退款金额超过可退金额",
            code="refund_exceeds_paid",
            details={"paid_fen": locked.amount_fen, "refunded_fen": already, "requested_fen": amount_fen},
        )
    refund = Refund(
        payment_id=locked.id, order_id=locked.order_id, out_refund_no=out_refund_no, amount_fen=amount_fen,
        reason=reason[:200], status=REFUND_PENDING_STATUS, created_at=now, completed_at=None,
    )
    if not await insert_unique(session, refund):  # a concurrent request with the same key won
        winner = await session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no))
        assert winner is not None
        return _same_refund(winner, payment_id=locked.id, amount_fen=amount_fen)
    emit(
        session,
        topic="refund.requested",
        payload={
            "refund_id": refund.id, "payment_id": locked.id, "order_id": locked.order_id, "brand_id": locked.brand_id,
            "provider": locked.provider, "amount_fen": amount_fen, "reason": refund.reason,
            "idempotency_key": key,
        },
        now=now,
    )
    return refund


def _same_refund(refund: Refund, *, payment_id: int, amount_fen: int) -> Refund:
    if refund.payment_id != payment_id or refund.amount_fen != amount_fen:
        raise Conflict("该退款幂等键已用于另一笔退款", code="refund_key_reused")
    return refund


async def settle_refund(*, session: AsyncSession, refund: Refund, status: str, now: datetime) -> bool:
    """Records the provider's answer for a pending refund; True if it changed anything.

    "pending" leaves it for the provider's notification. Success emits `payment.refunded`.
    """
    if status == REFUND_PENDING_STATUS or refund.status != REFUND_PENDING_STATUS:
        return False
    if status not in (REFUND_SUCCEEDED_STATUS, REFUND_FAILED_STATUS):
        raise ValueError(f"unknown refund status {status!r}")
    refund.status = status
    refund.completed_at = now
    payment = await get_payment(session=session, payment_id=refund.payment_id)
    payload = {
        "refund_id": refund.id, "payment_id": payment.id, "order_id": refund.order_id, "brand_id": payment.brand_id,
        "provider": payment.provider, "amount_fen": refund.amount_fen, "reason": refund.reason,
        "out_refund_no": refund.out_refund_no,
    }
    emit(session, topic="payment.refunded" if status == REFUND_SUCCEEDED_STATUS else "payment.refund_failed",
         payload=payload, now=now)
    return True
