"""A member's order `/orders/{id}` (their own only: anyone else's is the 404 page): the amount, 「去支付」 through
the payments service, and the result told as the order, its payments and its timeline stand (paid; paid late
and re-reserved; refunded because the quota was gone)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.errors import DomainError
from linli.fulfillment import tracking
from linli.http import Ctx
from linli.orders import service as orders
from linli.payments import notices
from linli.payments import service as payments
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor

router = APIRouter()
LATE_REPAID = "late_payment_rereserved"


@dataclass(frozen=True)
class Result:
    """What happened to the order, for people: a heading, a sentence, a tone."""

    title: str
    text: str
    tone: str  # ok, info, warn


def result_of(timeline: tracking.Timeline, refunds: list[notices.OrderNotice], *, late_repaid: bool) -> Result:
    order = timeline.order
    if order.status == "paid":
        if late_repaid:
            return Result("已支付", tracking.REASON_TEXTS[LATE_REPAID], "ok")
        return Result("已支付", "支付成功，到货后凭提货码到自提点提货", "ok")
    if refunds:  # money the order could not keep, as its refund stands
        return Result("未能保留订单", refunds[-1].text, "warn")
    if order.status == "pending_payment":
        return Result("待支付", "请在时限内完成支付，超时名额将释放", "info")
    if order.status == "refunded":
        return Result("已退款", "订单已退款", "info")
    title = tracking.ORDER_ENTRIES.get(order.status, (order.status, order.status))[1]
    return Result(title, "订单已关闭", "info")


def own_path(url: str, base_url: str) -> str:
    """A pay link on linli itself is followed as a path, so it works on whatever host serves the page."""
    parts, base = urlsplit(url), urlsplit(base_url)
    if parts.netloc == base.netloc and parts.scheme == base.scheme:
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return url


async def _order_page(request: Request, ctx: Ctx, visitor: Visitor, order_id: int, *, error: str = "", status_code: int = 200) -> Response:
    assert visitor.user is not None
    async with ctx.db.read() as session:
        timeline = await tracking.order_timeline(session=session, user_id=visitor.user.id, order_id=order_id)
        refunds = await notices.order_notices(session=session, order_id=order_id)
        history = await orders.status_history(session=session, order_id=order_id)
        brand = await brands.get_brand(session=session, brand_id=timeline.order.brand_id)
    late_repaid = any(change.reason == LATE_REPAID for change in history)
    return render(
        request, visitor, "order.html", status_code=status_code, order=timeline.order, timeline=timeline,
        result=result_of(timeline, refunds, late_repaid=late_repaid), timezone=brand.timezone, error=error,
    )


@router.get("/orders/{order_id}")
async def order_page(request: Request, ctx: Ctx, visitor: SignedIn, order_id: IdPath) -> Response:
    return await _order_page(request, ctx, visitor, order_id)


@router.post("/orders/{order_id}/pay")
async def pay(request: Request, ctx: Ctx, visitor: CheckedVisitor, order_id: IdPath) -> Response:
    """Opens (or resumes) the payment as the API does, then sends the member to the provider's pay page."""
    if visitor.user is None:
        raise SignInRequired(f"/orders/{order_id}")
    provider_name = ctx.settings.payment_default_provider
    try:
        provider = payments.provider_for(ctx.payments, provider_name)
        async with ctx.db.transaction() as session:
            opened = await payments.open_payment(
                session=session, providers=ctx.payments, provider_name=provider_name, user_id=visitor.user.id,
                order_id=order_id, now=ctx.clock.now(),
            )
            openid = await payments.payer_openid(session=session, provider_name=provider_name, user_id=visitor.user.id)
        payment = opened.payment
        if not payment.prepay:
            # Outside any transaction, as the API does: a slow provider holds no connection.
            prepay = await payments.fetch_prepay(provider=provider, payment=payment, order=opened.order, payer_openid=openid)
            async with ctx.db.transaction() as session:
                payment = await payments.save_prepay(session=session, payment_id=payment.id, prepay=prepay)
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        return await _order_page(request, ctx, visitor, order_id, error=exc.message, status_code=exc.status_code)
    pay_url = payment.prepay.get("pay_url")
    if not pay_url:  # WeChat Pay's parameters need the mini program, not a web page
        return await _order_page(request, ctx, visitor, order_id, error="请在微信小程序中完成支付", status_code=409)
    return RedirectResponse(own_path(pay_url, ctx.settings.public_base_url), status_code=303)
