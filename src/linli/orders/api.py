from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.brands import service as brands
from linli.brands.schemas import MAX_ID, IdPath
from linli.leaders import service as leaders
from linli.members import service as members
from linli.openapi import errors
from linli.orders import service
from linli.orders.models import Order
from linli.orders.schemas import BrandOrderOut, LeaderOrderOut, OrderCreate, OrderDetail, OrderOut, StatusChangeOut
from linli.pagination import Page, PageParams, page_params
from linli.security import mask_name, mask_phone
from linli.http import AuthUser, Ctx, Now, ReadSession, WriteSession

router = APIRouter(prefix="/api/v1", tags=["orders"], responses=errors(404, 409))
Paging = Annotated[PageParams, Depends(page_params)]
StatusFilter = Annotated[str | None, Query(max_length=24, description="按订单状态筛选")]


def order_out(order: Order) -> OrderOut:
    return OrderOut.model_validate(order, from_attributes=True)


@router.post("/orders", response_model=OrderOut, status_code=201, summary="下单（预占名额与库存）")
async def place_order(
    body: OrderCreate,
    response: Response,
    ctx: Ctx,
    user: AuthUser,
    now: Now,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=64)],
) -> OrderOut:
    # Its own transaction, opened only once a read has let the order go ahead (committed before the response).
    placed = await service.place_order_in(
        db=ctx.db,
        user_id=user.user_id,
        listing_id=body.listing_id,
        offer_id=body.offer_id,
        quantity=body.quantity,
        idempotency_key=idempotency_key,
        pickup_community_id=body.pickup_community_id,
        coupon_id=body.coupon_id,
        payment_ttl=timedelta(minutes=ctx.settings.order_payment_minutes),
        now=now,
    )
    if not placed.created:
        response.status_code = 200  # the same key replayed: the order it made the first time
    return order_out(placed.order)


@router.get("/orders/{order_id}", response_model=OrderDetail, summary="订单详情（本人）")
async def get_order(order_id: IdPath, user: AuthUser, session: ReadSession) -> OrderDetail:
    order = await service.get_own_order(session=session, user_id=user.user_id, order_id=order_id)
    history = await service.status_history(session=session, order_id=order.id)
    return OrderDetail(
        **order_out(order).model_dump(),
        history=[StatusChangeOut.model_validate(h, from_attributes=True) for h in history],
    )


@router.post("/orders/{order_id}/cancel", response_model=OrderOut, summary="取消待支付订单（本人）")
async def cancel_order(order_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> OrderOut:
    return order_out(await service.cancel_order(session=session, user_id=user.user_id, order_id=order_id, now=now))


@router.get("/brands/{brand_id}/orders/mine", response_model=Page[OrderOut], summary="我的订单")
async def my_orders(brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging) -> Page[OrderOut]:
    await brands.get_brand(session=session, brand_id=brand_id)
    rows, total = await service.list_member_orders(session=session, user_id=user.user_id, brand_id=brand_id, params=paging)
    return Page(items=[order_out(o) for o in rows], total=total, page=paging.page, page_size=paging.page_size)


async def _buyers(session: AsyncSession, rows: list[Order]) -> dict[int, tuple[str, str]]:
    """Each order's buyer as (masked name, masked phone), by order id."""
    member_rows = await members.members_by_ids(session=session, member_ids={o.member_id for o in rows})
    users = await accounts.users_by_ids(session=session, user_ids={m.user_id for m in member_rows.values()})
    buyers = {}
    for order in rows:
        person = users.get(member_rows[order.member_id].user_id)
        buyers[order.id] = (mask_name(person.display_name if person else None), mask_phone(person.phone if person else None))
    return buyers


@router.get("/brands/{brand_id}/orders", response_model=Page[BrandOrderOut], summary="品牌订单（员工）")
async def brand_orders(
    brand_id: IdPath,
    user: AuthUser,
    session: ReadSession,
    paging: Paging,
    status: StatusFilter = None,
    session_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    offer_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="只看这个专享价的订单")] = None,
    listing_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="只看这个直播商品的订单（含其专享价订单）")] = None,
) -> Page[BrandOrderOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rows, total = await service.list_brand_orders(
        session=session, brand_id=brand_id, status=status, session_id=session_id, offer_id=offer_id,
        listing_id=listing_id, params=paging,
    )
    buyers = await _buyers(session, rows)
    items = [
        BrandOrderOut(**order_out(o).model_dump(), member_name=buyers[o.id][0], member_phone=buyers[o.id][1]) for o in rows
    ]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.get("/brands/{brand_id}/leader/orders", response_model=Page[LeaderOrderOut], summary="归属于我的订单（团长）")
async def leader_orders(
    brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging, status: StatusFilter = None
) -> Page[LeaderOrderOut]:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    rows, total = await service.list_leader_orders(session=session, leader_id=leader.id, status=status, params=paging)
    buyers = await _buyers(session, rows)
    items = [
        LeaderOrderOut(
            id=order.id, status=order.status, member_name=buyers[order.id][0], member_phone=buyers[order.id][1],
            product_name=order.product_name, sku_name=order.sku_name, quantity=order.quantity, total_fen=order.total_fen,
            payable_fen=order.payable_fen, session_id=order.session_id, placed_at=order.placed_at, paid_at=order.paid_at,
        )
        for order in rows
    ]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)
