"""Payment routes: paying an order, provider notifications, and the simulator's pay page."""

from __future__ import annotations

import logging

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from linli.brands.schemas import IdPath
from linli.callbacks import apply_notification
from linli.openapi import errors, wechat_notify_responses
from linli.pagination import Page, PageParams, page_of, page_params
from linli.payments import service, simulator
from linli.payments.models import Payment, Refund
from linli.payments.schemas import (
    NotifyResult,
    PaymentCreate,
    PaymentOut,
    RefundOut,
    SignedNotificationOut,
    SimulatorComplete,
    SimulatorCompleted,
)
from linli.http import AuthUser, Ctx, ReadSession, wechatpay_notify_reply

log = logging.getLogger("linli.payments.api")
Paging = Annotated[PageParams, Depends(page_params)]

# No prefix: the simulator's pay page lives outside /api/v1.
router = APIRouter(tags=["payments"], responses=errors(409, 502))


def shown_status(payment: Payment, refunded_fen: int) -> str:
    """A succeeded payment whose money went back says so: refunded in full, or in part."""
    if payment.status != "succeeded" or refunded_fen <= 0:
        return payment.status
    return "refunded" if refunded_fen >= payment.amount_fen else "partially_refunded"


def payment_out(payment: Payment, refunds: list[Refund] | None = None) -> PaymentOut:
    # Only refunds the provider confirmed count: a pending one has not reached the member yet.
    refunded_fen = sum(r.amount_fen for r in refunds or [] if r.status == "succeeded")
    return PaymentOut(
        id=payment.id, order_id=payment.order_id, provider=payment.provider, out_trade_no=payment.out_trade_no,
        amount_fen=payment.amount_fen, status=shown_status(payment, refunded_fen), refunded_fen=refunded_fen,
        prepay=payment.prepay or {},
        created_at=payment.created_at, succeeded_at=payment.succeeded_at,
        refunds=[RefundOut.model_validate(r, from_attributes=True) for r in refunds or []],
    )


@router.post(
    "/api/v1/orders/{order_id}/payments",
    response_model=PaymentOut,
    status_code=201,
    summary="发起支付（本人的待支付订单）",
    description="返回客户端支付所需参数。再次请求返回同一笔未完成的支付（200）。",
    responses={200: {"model": PaymentOut, "description": "该订单已有未完成的支付：返回同一笔"}},
)
async def create_payment(
    order_id: IdPath, ctx: Ctx, user: AuthUser, response: Response, body: PaymentCreate | None = None
) -> PaymentOut:
    provider_name = (body.provider if body else None) or ctx.settings.payment_default_provider
    provider = service.provider_for(ctx.payments, provider_name)
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        opened = await service.open_payment(
            session=session, providers=ctx.payments, provider_name=provider_name, user_id=user.user_id,
            order_id=order_id, now=now,
        )
        openid = await service.payer_openid(session=session, provider_name=provider_name, user_id=user.user_id)
    if not opened.created:
        response.status_code = 200
    payment = opened.payment
    if not payment.prepay:
        # Outside any transaction: a slow provider must not hold a connection or SQLite's write lock.
        # If it fails, the payment stays pending without prepay data and the next request asks again.
        prepay = await service.fetch_prepay(provider=provider, payment=payment, order=opened.order, payer_openid=openid)
        async with ctx.db.transaction() as session:
            payment = await service.save_prepay(session=session, payment_id=payment.id, prepay=prepay)
    return payment_out(payment)


@router.get("/api/v1/orders/{order_id}/payments", response_model=Page[PaymentOut], summary="订单的支付与退款（本人）")
async def list_payments(order_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging) -> Page[PaymentOut]:
    rows = await service.list_order_payments(session=session, user_id=user.user_id, order_id=order_id)
    return page_of([payment_out(p, refunds) for p, refunds in rows], paging)


@router.post(
    "/api/v1/payments/simulator/notify",
    response_model=NotifyResult,
    summary="支付模拟器回调（验签、幂等）",
    description="请求头 X-Linli-Sim-Timestamp / X-Linli-Sim-Nonce / X-Linli-Sim-Signature；签名无效或超过 5 分钟返回 401。",
    responses=errors(401, 404, 422),
)
async def simulator_notify(request: Request, ctx: Ctx) -> NotifyResult:
    provider = simulator.simulator_of(ctx)
    outcome = await apply_notification(
        ctx, handle=service.handle_notification, provider=provider, headers=request.headers, body=await request.body()
    )
    return NotifyResult(outcome=outcome)


@router.post(
    "/api/v1/payments/wechatpay/notify",
    summary="微信支付回调（支付成功、退款结果）",
    description='成功返回 200 {"code": "SUCCESS"}；验签失败返回 401 {"code": "FAIL"}，微信支付会重试。',
    responses=wechat_notify_responses(),
)
async def wechatpay_notify(request: Request, ctx: Ctx) -> JSONResponse:
    return await wechatpay_notify_reply(
        request, ctx, provider=ctx.payments.get("wechatpay"), handle=service.handle_notification, log=log,
        what="WeChat Pay notification",
    )


@router.post(
    "/api/v1/payments/simulator/{out_trade_no}/complete",
    response_model=SimulatorCompleted,
    summary="支付模拟器：完成支付（成功或失败，可延迟、可重复通知）",
    description="生成带 HMAC 签名的通知并送达回调处理；响应中附带通知原文，可重放到 /api/v1/payments/simulator/notify。",
)
async def simulator_complete(out_trade_no: str, body: SimulatorComplete, ctx: Ctx) -> SimulatorCompleted:
    done = await simulator.complete(
        ctx=ctx, out_trade_no=out_trade_no, outcome=body.outcome, delay_ms=body.delay_ms, duplicates=body.duplicates
    )
    return SimulatorCompleted(
        out_trade_no=out_trade_no, outcome=done.outcome, scheduled=done.scheduled, outcomes=done.outcomes,
        message=simulator.outcome_message(done),
        notifications=[SignedNotificationOut(**n.as_json()) for n in done.notifications],
    )


@router.get("/pay/sim/{out_trade_no}", response_class=HTMLResponse, summary="支付模拟器收银台页面")
async def simulator_pay_page(out_trade_no: str, ctx: Ctx, session: ReadSession) -> HTMLResponse:
    simulator.simulator_of(ctx)
    payment = await service.get_payment_by_trade_no(session=session, out_trade_no=out_trade_no)
    if payment.provider != "simulator":
        return HTMLResponse("<p>支付单不存在</p>", status_code=404)
    description = str((payment.prepay or {}).get("description") or "邻里订单")
    return HTMLResponse(simulator.pay_page(payment=payment, description=description))
