"""Fulfillment routes: staff cut and move waves; the pickup point's leader confirms arrival, sees their
point's parcels and verifies pickups; the member sees their own pickup code and order timeline."""

from __future__ import annotations

from html import escape
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from linli import qrcodes
from linli.brands import service as brands
from linli.brands.models import PickupPoint
from linli.brands.schemas import IdPath, PickupPointOut
from linli.fulfillment import pick_sheet, pickup, refunds, service, tracking, unclaimed, waves
from linli.fulfillment.models import DeliveryWave
from linli.fulfillment.schemas import (
    BagItemOut,
    BagOut,
    ParcelOut,
    PickListOut,
    PickupCodeOut,
    PickupIn,
    PickupOut,
    PolicyIn,
    PolicyOut,
    ProductTotalOut,
    StaffRefundIn,
    StaffRefundOut,
    TimelineEntryOut,
    TimelineOut,
    WaveIn,
    WaveOut,
    WaveStatusIn,
)
from linli.leaders import service as leaders
from linli.openapi import errors
from linli.pagination import Page, PageParams, page_params
from linli.timefmt import format_local
from linli.http import AuthUser, Ctx, Now, ReadSession, WriteSession

router = APIRouter(prefix="/api/v1", tags=["fulfillment"], responses=errors(409))
Paging = Annotated[PageParams, Depends(page_params)]
WaveStatusFilter = Annotated[str | None, Query(max_length=16, description="open / packed / in_transit / arrived")]
ParcelStatusFilter = Annotated[
    str | None, Query(max_length=16, description="waiting / packed / in_transit / arrived / picked_up / returned / cancelled")
]
OptionalId = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
PNG = {200: {"content": {"image/png": {}}, "description": "提货码二维码 PNG 图片"}}
CSV = {200: {"content": {"text/csv": {}}, "description": "CSV（UTF-8 BOM，Excel 可直接打开）"}}


def _point_out(point: PickupPoint) -> PickupPointOut:
    return PickupPointOut.model_validate(point, from_attributes=True)


async def _waves_out(session: AsyncSession, rows: list[DeliveryWave]) -> list[WaveOut]:
    counts = await waves.wave_parcel_counts(session=session, wave_ids={w.id for w in rows})
    places: dict[int, waves.PointInfo] = {}
    out = []
    for wave in rows:
        if wave.community_id not in places:
            places[wave.community_id] = await waves.point_of(
                session=session, brand_id=wave.brand_id, community_id=wave.community_id
            )
        where = places[wave.community_id]
        out.append(
            WaveOut(
                id=wave.id, brand_id=wave.brand_id, community_id=wave.community_id, community_name=where.community.name,
                pickup_point=_point_out(where.point), cutoff_at=wave.cutoff_at, arrive_after=wave.arrive_after,
                status=wave.status, status_name=waves.WAVE_STATUS_NAMES[wave.status], created_at=wave.created_at,
                packed_at=wave.packed_at, shipped_at=wave.shipped_at, arrived_at=wave.arrived_at,
                parcels=counts.get(wave.id, {}),
            )
        )
    return out


def _parcel_out(view: service.ParcelView) -> ParcelOut:
    p, o = view.parcel, view.order
    return ParcelOut(
        id=p.id, order_id=p.order_id, wave_id=p.wave_id, bag_no=view.bag_no, status=p.status,
        status_name=service.PARCEL_STATUS_NAMES[p.status], member_name=view.member_name, member_phone=view.member_phone,
        product_name=o.product_name, sku_name=o.sku_name, quantity=o.quantity, total_fen=o.total_fen, payable_fen=o.payable_fen,
        paid_at=p.paid_at,
        arrived_at=p.arrived_at, picked_up_at=p.picked_up_at, reminders_sent=p.reminders_sent,
    )


def _policy_out(policy: unclaimed.Policy) -> PolicyOut:
    return PolicyOut(
        remind_after_hours=policy.remind_after_hours, remind_every_hours=policy.remind_every_hours,
        max_reminders=policy.max_reminders, unclaimed_action=policy.unclaimed_action,  # type: ignore[arg-type]
        unclaimed_after_days=policy.unclaimed_after_days, is_default=policy.updated_at is None,
        updated_at=policy.updated_at,
    )


# --- the brand's unclaimed-parcel policy ----------------------------------------------------------


@router.get("/brands/{brand_id}/fulfillment-policy", response_model=PolicyOut, summary="逾期未提货规则（品牌员工、本品牌团长）")
async def get_policy(brand_id: IdPath, user: AuthUser, session: ReadSession) -> PolicyOut:
    if await brands.staff_role(session=session, brand_id=brand_id, user_id=user.user_id) is None:
        await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    return _policy_out(await unclaimed.get_policy(session=session, brand_id=brand_id))


@router.put("/brands/{brand_id}/fulfillment-policy", response_model=PolicyOut, summary="修改逾期未提货规则（品牌员工）")
async def put_policy(brand_id: IdPath, body: PolicyIn, user: AuthUser, session: WriteSession, now: Now) -> PolicyOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    policy = await unclaimed.update_policy(
        session=session, brand_id=brand_id, remind_after_hours=body.remind_after_hours,
        remind_every_hours=body.remind_every_hours, max_reminders=body.max_reminders,
        unclaimed_action=body.unclaimed_action, unclaimed_after_days=body.unclaimed_after_days,
        actor_user_id=user.user_id, now=now,
    )
    return _policy_out(policy)


# --- staff: waves and parcels ---------------------------------------------------------------------


@router.post("/brands/{brand_id}/delivery-waves", response_model=WaveOut, status_code=201, summary="截单生成配送批次（员工）")
async def create_wave(brand_id: IdPath, body: WaveIn, user: AuthUser, session: WriteSession, now: Now) -> WaveOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    wave = await waves.create_wave(
        session=session, brand_id=brand_id, community_id=body.community_id, cutoff_at=body.cutoff_at,
        arrive_after=body.arrive_after, actor_user_id=user.user_id, now=now,
    )
    return (await _waves_out(session, [wave]))[0]


@router.get("/brands/{brand_id}/delivery-waves", response_model=Page[WaveOut], summary="配送批次列表（员工）")
async def list_waves(
    brand_id: IdPath,
    user: AuthUser,
    session: ReadSession,
    paging: Paging,
    community_id: OptionalId = None,
    status: WaveStatusFilter = None,
) -> Page[WaveOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rows, total = await waves.list_waves(
        session=session, brand_id=brand_id, community_id=community_id, status=status, params=paging
    )
    return Page(items=await _waves_out(session, rows), total=total, page=paging.page, page_size=paging.page_size)


@router.get("/brands/{brand_id}/delivery-waves/{wave_id}", response_model=WaveOut, summary="配送批次详情（员工）")
async def get_wave(brand_id: IdPath, wave_id: IdPath, user: AuthUser, session: ReadSession) -> WaveOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    wave = await waves.get_wave(session=session, brand_id=brand_id, wave_id=wave_id)
    return (await _waves_out(session, [wave]))[0]


@router.post(
    "/brands/{brand_id}/delivery-waves/{wave_id}/status", response_model=WaveOut,
    summary="批次状态推进：已打包 → 配送中 → 已到自提点（员工）",
)
async def advance_wave(
    brand_id: IdPath, wave_id: IdPath, body: WaveStatusIn, user: AuthUser, session: WriteSession, now: Now
) -> WaveOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    wave = await waves.advance_wave(session=session, brand_id=brand_id, wave_id=wave_id, to=body.status, now=now)
    return (await _waves_out(session, [wave]))[0]


@router.get("/brands/{brand_id}/parcels", response_model=Page[ParcelOut], summary="包裹列表（员工）")
async def list_parcels(
    brand_id: IdPath,
    user: AuthUser,
    session: ReadSession,
    paging: Paging,
    community_id: OptionalId = None,
    wave_id: OptionalId = None,
    status: ParcelStatusFilter = None,
) -> Page[ParcelOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    views, total = await service.list_parcels(
        session=session, brand_id=brand_id, community_id=community_id, wave_id=wave_id, status=status, params=paging
    )
    return Page(items=[_parcel_out(v) for v in views], total=total, page=paging.page, page_size=paging.page_size)


# --- the pick list (staff, or the leader of the wave's pickup point) -----------------------------


async def _viewable_wave(session: AsyncSession, *, brand_id: int, wave_id: int, user_id: int) -> DeliveryWave:
    if await brands.staff_role(session=session, brand_id=brand_id, user_id=user_id) is not None:
        return await waves.get_wave(session=session, brand_id=brand_id, wave_id=wave_id)
    return await waves.leader_wave(session=session, brand_id=brand_id, user_id=user_id, wave_id=wave_id)


async def _pick_list(session: AsyncSession, brand_id: int, wave_id: int, user_id: int) -> PickListOut:
    wave = await _viewable_wave(session, brand_id=brand_id, wave_id=wave_id, user_id=user_id)
    picks = await waves.pick_list(session=session, wave=wave)
    return PickListOut(
        wave=(await _waves_out(session, [wave]))[0],
        products=[ProductTotalOut(**vars(t)) for t in picks.products],
        bags=[
            BagOut(
                bag_no=b.bag_no, member_name=b.member_name, member_phone=b.member_phone,
                items=[
                    BagItemOut(order_id=i.order.id, product_name=i.order.product_name, sku_name=i.order.sku_name,
                               quantity=i.order.quantity, status=i.parcel.status)
                    for i in b.items
                ],
            )
            for b in picks.bags
        ],
        cancelled=picks.cancelled,
    )


@router.get(
    "/brands/{brand_id}/delivery-waves/{wave_id}/pick-list", response_model=PickListOut,
    summary="拣货单：商品汇总与按用户分袋（员工、本自提点团长）",
)
async def pick_list(brand_id: IdPath, wave_id: IdPath, user: AuthUser, session: ReadSession) -> PickListOut:
    return await _pick_list(session, brand_id, wave_id, user.user_id)


@router.get(
    "/brands/{brand_id}/delivery-waves/{wave_id}/pick-list.csv", response_class=Response, responses=CSV,
    summary="拣货单 CSV（kind=bags 按袋明细，kind=products 商品汇总）",
)
async def pick_list_csv(
    brand_id: IdPath,
    wave_id: IdPath,
    user: AuthUser,
    session: ReadSession,
    kind: Annotated[Literal["bags", "products"], Query(description="bags 按袋明细 / products 商品汇总")] = "bags",
) -> Response:
    wave = await _viewable_wave(session, brand_id=brand_id, wave_id=wave_id, user_id=user.user_id)
    body = pick_sheet.pick_list_csv(await waves.pick_list(session=session, wave=wave), kind=kind)
    return Response(
        content=body, media_type=pick_sheet.CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{pick_sheet.csv_filename(wave_id, kind)}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get(
    "/brands/{brand_id}/delivery-waves/{wave_id}/pick-list.html", response_class=HTMLResponse,
    summary="拣货单打印页（员工、本自提点团长）",
)
async def pick_list_html(brand_id: IdPath, wave_id: IdPath, user: AuthUser, session: ReadSession) -> HTMLResponse:
    picks = await _pick_list(session, brand_id, wave_id, user.user_id)
    timezone = (await brands.get_brand(session=session, brand_id=brand_id)).timezone
    return HTMLResponse(_render_pick_list(picks, timezone), headers={"Cache-Control": "private, no-store"})


def _render_pick_list(picks: PickListOut, timezone: str) -> str:
    wave = picks.wave
    products = "".join(
        f"<tr><td>{escape(t.product_name)}</td><td>{escape(t.sku_name)}</td><td class=n>{t.quantity}</td>"
        f"<td class=n>{t.orders}</td></tr>"
        for t in picks.products
    )
    bags = "".join(
        f"<section class=bag><h3>第 {b.bag_no} 袋 · {escape(b.member_name)} · {escape(b.member_phone)}</h3><ul>"
        + "".join(
            f"<li>□ {escape(i.product_name)} {escape(i.sku_name)} × {i.quantity}（订单 {i.order_id}）</li>" for i in b.items
        )
        + "</ul></section>"
        for b in picks.bags
    )
    cancelled = f"<p>另有 {picks.cancelled} 单已退款取消，无需打包。</p>" if picks.cancelled else ""
    return (
        "<!doctype html><html lang=zh-CN><head><meta charset=utf-8>"
        f"<title>拣货单 · 批次 {wave.id}</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #999;padding:4px 8px}"
        ".n{text-align:right}.bag{break-inside:avoid;border:1px dashed #999;margin:8px 0;padding:4px 12px}"
        "@media print{button{display:none}}</style></head><body>"
        f"<button onclick='window.print()'>打印</button><h1>拣货单 · 批次 {wave.id}</h1>"
        f"<p>{escape(wave.community_name)} · {escape(wave.pickup_point.name)}（{escape(wave.pickup_point.address)}）<br>"
        f"截单 {format_local(wave.cutoff_at, timezone)} · 预计 {format_local(wave.arrive_after, timezone)} 后到达 · 状态 {escape(wave.status_name)}</p>"
        f"<h2>商品汇总</h2><table><tr><th>商品</th><th>规格</th><th>件数</th><th>订单数</th></tr>{products}</table>"
        f"{cancelled}<h2>按用户分袋（{len(picks.bags)} 袋）</h2>{bags}</body></html>"
    )


# --- the pickup point's leader ---------------------------------------------------------------------


@router.get("/brands/{brand_id}/leader/delivery-waves", response_model=Page[WaveOut], summary="本自提点的配送批次（团长）")
async def leader_waves(
    brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging, status: WaveStatusFilter = None
) -> Page[WaveOut]:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    rows, total = await waves.list_waves(
        session=session, brand_id=brand_id, community_id=leader.community_id, status=status, params=paging
    )
    return Page(items=await _waves_out(session, rows), total=total, page=paging.page, page_size=paging.page_size)


@router.post(
    "/brands/{brand_id}/leader/delivery-waves/{wave_id}/arrive", response_model=WaveOut,
    summary="确认批次已到自提点（本自提点团长）",
)
async def leader_confirm_arrival(brand_id: IdPath, wave_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> WaveOut:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    wave = await waves.advance_wave(
        session=session, brand_id=brand_id, wave_id=wave_id, to="arrived", now=now, leader=leader
    )
    return (await _waves_out(session, [wave]))[0]


@router.get("/brands/{brand_id}/leader/parcels", response_model=Page[ParcelOut], summary="本自提点的包裹（团长；手机号脱敏）")
async def leader_parcels(
    brand_id: IdPath,
    user: AuthUser,
    session: ReadSession,
    paging: Paging,
    wave_id: OptionalId = None,
    status: ParcelStatusFilter = None,
) -> Page[ParcelOut]:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    views, total = await service.list_parcels(
        session=session, brand_id=brand_id, community_id=leader.community_id, wave_id=wave_id, status=status,
        params=paging,
    )
    return Page(items=[_parcel_out(v) for v in views], total=total, page=paging.page, page_size=paging.page_size)


@router.post("/brands/{brand_id}/leader/pickups", response_model=PickupOut, summary="核销提货码（本自提点团长）")
async def verify_pickup(brand_id: IdPath, body: PickupIn, user: AuthUser, session: WriteSession, now: Now) -> PickupOut:
    parcels = await pickup.verify_pickup(
        session=session, brand_id=brand_id, user_id=user.user_id, raw_code=body.code, all_of_member=body.all_of_member,
        now=now,
    )
    views = await service.describe_parcels(session=session, parcels=parcels)
    return PickupOut(verified=[_parcel_out(v) for v in views])


# --- staff refund before the parcel leaves -------------------------------------------------------


@router.post(
    "/brands/{brand_id}/orders/{order_id}/refund",
    response_model=StaffRefundOut,
    status_code=201,
    summary="整单退款：包裹出库前（待配送、已打包）由品牌员工全额退款",
    description="包裹已发出（配送中、已到自提点、已提货）返回 409 parcel_dispatched，请走售后；已退款的订单返回 409 "
    "order_already_refunded。同一 Idempotency-Key 以相同原因重复提交返回同一结果（200）。",
)
async def refund_order(
    brand_id: IdPath,
    order_id: IdPath,
    body: StaffRefundIn,
    response: Response,
    user: AuthUser,
    session: WriteSession,
    now: Now,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=64)],
) -> StaffRefundOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    done = await refunds.refund_before_dispatch(
        session=session, brand_id=brand_id, order_id=order_id, reason=body.reason, idempotency_key=idempotency_key,
        actor_user_id=user.user_id, now=now,
    )
    if not done.created:
        response.status_code = 200
    record = done.record
    return StaffRefundOut(
        id=record.id, order_id=record.order_id, order_status=done.order.status, parcel_id=record.parcel_id,
        parcel_status=done.parcel.status, stopped_at=record.parcel_status, refund_id=record.refund_id,
        refund_status=done.refund.status, amount_fen=record.amount_fen, reason=record.reason,
        refunded_by_user_id=record.refunded_by_user_id, created_at=record.created_at,
    )


# --- the member ------------------------------------------------------------------------------------


@router.get("/orders/{order_id}/pickup-code", response_model=PickupCodeOut, summary="我的提货码（本人）")
async def my_pickup_code(order_id: IdPath, user: AuthUser, ctx: Ctx, session: ReadSession) -> PickupCodeOut:
    parcel = await service.member_parcel(session=session, user_id=user.user_id, order_id=order_id)
    point = await brands.get_pickup_point(session=session, community_id=parcel.community_id)
    qr = f"{ctx.settings.public_base_url}/api/v1/orders/{order_id}/pickup-code/qr.png" if parcel.open_code else None
    return PickupCodeOut(
        order_id=order_id, code=parcel.open_code, status=parcel.status,
        status_name=service.PARCEL_STATUS_NAMES[parcel.status], qr_url=qr, pickup_point=_point_out(point),
    )


@router.get("/orders/{order_id}/pickup-code/qr.png", response_class=Response, responses=PNG, summary="我的提货码二维码（本人）")
async def my_pickup_qr(order_id: IdPath, user: AuthUser, session: ReadSession) -> Response:
    code = await service.member_open_code(session=session, user_id=user.user_id, order_id=order_id)
    return Response(content=qrcodes.qr_png(code), media_type="image/png", headers={"Cache-Control": "private, no-store"})


@router.get("/orders/{order_id}/timeline", response_model=TimelineOut, summary="订单进度（本人）：下单、支付、配送、到达自提点、提货、售后")
async def order_timeline(order_id: IdPath, user: AuthUser, session: ReadSession) -> TimelineOut:
    line = await tracking.order_timeline(session=session, user_id=user.user_id, order_id=order_id)
    order = line.order
    return TimelineOut(
        order_id=order.id, order_status=order.status, stage=line.stage, product_name=order.product_name,
        sku_name=order.sku_name, quantity=order.quantity, total_fen=order.total_fen, payable_fen=order.payable_fen,
        pickup_point=_point_out(line.pickup_point) if line.pickup_point else None,
        expected_arrival_after=line.wave.arrive_after if line.wave else None,
        entries=[TimelineEntryOut(kind=e.kind, at=e.at, title=e.title, description=e.description) for e in line.entries],
    )
