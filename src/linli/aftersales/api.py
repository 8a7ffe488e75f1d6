"""After-sales routes: members (and leaders on their behalf) file claims with photos; staff work the queue."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Header, Query, Response, UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.aftersales import photos as photo_rules
from linli.aftersales import service
from linli.aftersales.models import AfterSalesPolicy, Claim, ClaimPhoto
from linli.aftersales.schemas import (
    ClaimChangeOut,
    ClaimDetail,
    ClaimOut,
    ClaimPhotoOut,
    ClaimRateOut,
    ClaimRatesOut,
    ClaimSummaryOut,
    DecisionIn,
    PolicyIn,
    PolicyOut,
)
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.catalog import service as catalog
from linli.errors import InvalidInput
from linli.fulfillment import service as fulfillment
from linli.leaders import service as leaders
from linli.openapi import errors
from linli.pagination import Page, PageParams, page_of, page_params
from linli.security import mask_name, mask_phone
from linli.http import AuthUser, Ctx, Now, ReadSession, WriteSession

router = APIRouter(prefix="/api/v1", tags=["aftersales"], responses=errors(409))
Paging = Annotated[PageParams, Depends(page_params)]
StatusFilter = Annotated[str | None, Query(max_length=16, description="reviewing / refunding / refunded / refund_failed / rejected")]
StartDate = Annotated[date, Query(description="开始日期（品牌所在时区，含）")]
EndDate = Annotated[date, Query(description="结束日期（含）")]


def _photo_out(photo: ClaimPhoto) -> ClaimPhotoOut:
    return ClaimPhotoOut(
        id=photo.id, content_type=photo.content_type, size_bytes=photo.size_bytes,
        url=f"/api/v1/claims/{photo.claim_id}/photos/{photo.id}",
    )


async def _claims_out(session: AsyncSession, claims: list[Claim], *, role: str) -> list[ClaimOut]:
    """Claims as `role` may see them: members see no member fields, leaders masked ones, staff full ones."""
    photos = await service.photos_of(session=session, claim_ids={c.id for c in claims})
    users = await accounts.users_by_ids(session=session, user_ids={c.user_id for c in claims}) if role != "member" else {}
    items = []
    for claim in claims:
        person = users.get(claim.user_id)
        name = phone = None
        if role == "leader":
            name, phone = mask_name(person.display_name if person else None), mask_phone(person.phone if person else None)
        elif role == "staff" and person is not None:
            name, phone = person.display_name, person.phone
        items.append(
            ClaimOut(
                id=claim.id, order_id=claim.order_id, brand_id=claim.brand_id, product_name=claim.product_name,
                sku_name=claim.sku_name, ordered_quantity=claim.ordered_quantity, paid_fen=claim.paid_fen,
                wave_id=claim.wave_id, reason=claim.reason, reason_text=service.REASON_TEXT[claim.reason],
                quantity=claim.quantity, amount_asked_fen=claim.amount_asked_fen, description=claim.description,
                status=claim.status, status_text=service.STATUS_TEXT[claim.status], decision=claim.decision,
                decision_reason=claim.decision_reason, approved_fen=claim.approved_fen, refunded_fen=claim.refunded_fen,
                filed_by=claim.filed_by_role, filed_at=claim.filed_at, received_at=claim.received_at,
                decided_at=claim.decided_at, refunded_at=claim.refunded_at, member_name=name, member_phone=phone,
                photos=[_photo_out(p) for p in photos.get(claim.id, [])],
            )
        )
    return items


async def _detail(session: AsyncSession, claim: Claim, *, role: str) -> ClaimDetail:
    [out] = await _claims_out(session, [claim], role=role)
    changes = await service.history(session=session, claim_id=claim.id)
    return ClaimDetail(
        **out.model_dump(),
        history=[ClaimChangeOut(from_status=c.from_status, to_status=c.to_status, note=c.note, changed_at=c.changed_at)
                 for c in changes],
    )


async def _read_uploads(files: list[UploadFile]) -> list[photo_rules.Photo]:
    if len(files) > photo_rules.MAX_PHOTOS:
        raise InvalidInput(f"最多上传 {photo_rules.MAX_PHOTOS} 张图片", code="too_many_photos")
    # Read one byte past the limit: enough to know a file is too large without holding all of it.
    return photo_rules.check_photos([await f.read(photo_rules.MAX_PHOTO_BYTES + 1) for f in files])


@router.post(
    "/orders/{order_id}/claims",
    response_model=ClaimDetail,
    status_code=201,
    summary="申请售后（用户本人，或自提点团长代用户提交；multipart 表单，可附图片）",
    description="字段 reason、quantity、amount_fen、description 与 photos（JPG/PNG/WebP，单张 ≤ 5 MB，最多 6 张）。"
    "小额且售后记录良好的申请立即退款。同一幂等键重复提交返回同一申请（200）。",
    responses=errors(413),
)
async def file_claim(
    order_id: IdPath,
    response: Response,
    ctx: Ctx,
    user: AuthUser,
    now: Now,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=64)],
    reason: Annotated[str, Form(max_length=16, description="bad / missing / wrong / other")],
    quantity: Annotated[int, Form(ge=1, le=999)],
    amount_fen: Annotated[int, Form(ge=1, le=100_000_000, description="申请退款金额（分）")],
    description: Annotated[str, Form(max_length=500)] = "",
    photos: Annotated[list[UploadFile] | None, File(description="问题照片")] = None,
) -> ClaimDetail:
    checked = await _read_uploads(photos or [])
    filed = None
    try:
        async with ctx.db.transaction() as session:
            filed = await service.file_claim(
                session=session, storage=ctx.storage, user_id=user.user_id, order_id=order_id, reason=reason,
                quantity=quantity, amount_fen=amount_fen, description=description, photos=checked,
                idempotency_key=idempotency_key, now=now,
            )
            out = await _detail(session, filed.claim, role=filed.claim.filed_by_role)
    except BaseException:
        if filed is not None:  # stored, but the claim was not saved: leave no orphan photos
            await photo_rules.discard(ctx.storage, filed.stored_keys)
        raise
    if not filed.created:
        response.status_code = 200
    return out


@router.get(
    "/orders/{order_id}/claims", response_model=Page[ClaimSummaryOut],
    summary="订单的售后记录（用户本人、自提点团长、品牌员工）",
)
async def order_claims(order_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging) -> Page[ClaimSummaryOut]:
    await service.visible_order(session=session, order_id=order_id, user_id=user.user_id)
    rows = await service.claims_for_order(session=session, order_id=order_id)
    return page_of([ClaimSummaryOut(**vars(r)) for r in rows], paging)


@router.get("/claims/{claim_id}", response_model=ClaimDetail, summary="售后详情（用户本人、自提点团长、品牌员工）")
async def get_claim(claim_id: IdPath, user: AuthUser, session: ReadSession) -> ClaimDetail:
    claim, role = await service.get_visible_claim(session=session, claim_id=claim_id, user_id=user.user_id)
    return await _detail(session, claim, role=role)


@router.get(
    "/claims/{claim_id}/photos/{photo_id}", response_class=Response,
    summary="售后图片（用户本人、自提点团长、品牌员工）",
)
async def claim_photo(claim_id: IdPath, photo_id: IdPath, ctx: Ctx, user: AuthUser, session: ReadSession) -> Response:
    photo, data = await service.read_photo(
        session=session, storage=ctx.storage, claim_id=claim_id, photo_id=photo_id, user_id=user.user_id
    )
    return Response(
        content=data, media_type=photo.content_type,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/brands/{brand_id}/claims/mine", response_model=Page[ClaimOut], summary="我的售后")
async def my_claims(brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging) -> Page[ClaimOut]:
    await brands.get_brand(session=session, brand_id=brand_id)
    rows, total = await service.list_member_claims(session=session, brand_id=brand_id, user_id=user.user_id, params=paging)
    items = await _claims_out(session, rows, role="member")
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.get("/brands/{brand_id}/leader/claims", response_model=Page[ClaimOut], summary="本自提点的售后（团长，手机号脱敏）")
async def leader_claims(
    brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging, status: StatusFilter = None
) -> Page[ClaimOut]:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    rows, total = await service.list_point_claims(
        session=session, community_id=leader.community_id, status=status, params=paging
    )
    items = await _claims_out(session, rows, role="leader")
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.get(
    "/brands/{brand_id}/claims", response_model=Page[ClaimOut],
    summary="品牌售后单（员工；status=reviewing 为待审核队列，最早的在前）",
)
async def brand_claims(
    brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging, status: StatusFilter = None
) -> Page[ClaimOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rows, total = await service.list_brand_claims(session=session, brand_id=brand_id, status=status, params=paging)
    items = await _claims_out(session, rows, role="staff")
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.post(
    "/brands/{brand_id}/claims/{claim_id}/decision", response_model=ClaimDetail,
    summary="审核售后：同意、部分同意或驳回（员工；每单只能处理一次）",
)
async def decide_claim(
    brand_id: IdPath, claim_id: IdPath, body: DecisionIn, user: AuthUser, session: WriteSession, now: Now
) -> ClaimDetail:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    claim = await service.decide_claim(
        session=session, brand_id=brand_id, claim_id=claim_id, actor_user_id=user.user_id, decision=body.decision,
        amount_fen=body.amount_fen, reason=body.reason, now=now,
    )
    return await _detail(session, claim, role="staff")


@router.post(
    "/brands/{brand_id}/claims/{claim_id}/retry-refund", response_model=ClaimDetail,
    summary="退款失败后重新发起退款（员工）",
)
async def retry_refund(brand_id: IdPath, claim_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> ClaimDetail:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    claim = await service.retry_refund(
        session=session, brand_id=brand_id, claim_id=claim_id, actor_user_id=user.user_id, now=now
    )
    return await _detail(session, claim, role="staff")


def _policy_out(policy: service.Policy, row: AfterSalesPolicy | None) -> PolicyOut:
    return PolicyOut(
        version=row.version if row else 0, is_default=row is None, note=row.note if row else "默认规则",
        created_at=row.created_at if row else None, created_by_user_id=row.created_by_user_id if row else None,
        **vars(policy),
    )


@router.get("/brands/{brand_id}/aftersales-policy", response_model=PolicyOut, summary="售后规则（登录用户）")
async def get_policy(brand_id: IdPath, user: AuthUser, session: ReadSession) -> PolicyOut:  # noqa: ARG001 - login required
    await brands.get_brand(session=session, brand_id=brand_id)
    row = await service.current_policy_row(session=session, brand_id=brand_id)
    return _policy_out(service.policy_of(row), row)


@router.put("/brands/{brand_id}/aftersales-policy", response_model=PolicyOut, summary="修改售后规则（员工；记录修改人与时间）")
async def put_policy(brand_id: IdPath, body: PolicyIn, user: AuthUser, session: WriteSession, now: Now) -> PolicyOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    policy = service.Policy(**body.model_dump(exclude={"note"}))
    row = await service.update_policy(
        session=session, brand_id=brand_id, policy=policy, note=body.note, actor_user_id=user.user_id, now=now
    )
    return _policy_out(policy, row)


@router.get(
    "/brands/{brand_id}/aftersales-policy/versions", response_model=Page[PolicyOut], summary="售后规则历史版本（员工）"
)
async def policy_versions(brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging) -> Page[PolicyOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rows = await service.policy_versions(session=session, brand_id=brand_id)
    return page_of([_policy_out(service.policy_of(r), r) for r in rows], paging)


async def _rate_names(session: AsyncSession, *, by: str, keys: set[int]) -> dict[int, str]:
    """What each row counts, by name: the product, the wave's community or the leader."""
    if by == "product":
        return {k: p.name for k, p in (await catalog.products_by_ids(session=session, product_ids=keys)).items()}
    if by == "wave":
        communities = await fulfillment.wave_communities(session=session, wave_ids=keys)
        found = await brands.communities_by_ids(session=session, community_ids=set(communities.values()))
        return {k: found[c].name for k, c in communities.items() if c in found}
    return {k: leader.real_name for k, leader in (await leaders.leaders_by_ids(session=session, leader_ids=keys)).items()}


def _rate_out(rate: service.ClaimRate, name: str | None) -> ClaimRateOut:
    return ClaimRateOut(
        key=rate.key, name=name, delivered_orders=rate.delivered_orders, paid_fen=rate.paid_fen, claims=rate.claims,
        refunded_claims=rate.refunded_claims, refunded_fen=rate.refunded_fen, claim_rate_bp=rate.claim_rate_bp,
        refund_rate_bp=rate.refund_rate_bp,
    )


@router.get(
    "/brands/{brand_id}/claim-rates", response_model=ClaimRatesOut,
    summary="售后率：按商品、配送批次或团长（员工）",
)
async def claim_rates(
    brand_id: IdPath,
    user: AuthUser,
    session: ReadSession,
    start: StartDate,
    end: EndDate,
    by: Annotated[str, Query(max_length=16, description="product / wave / leader")] = "product",
) -> ClaimRatesOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rows = await service.claim_rates(session=session, brand_id=brand_id, by=by, start=start, end=end)
    names = await _rate_names(session, by=by, keys={r.key for r in rows if r.key is not None})
    return ClaimRatesOut(by=by, start=start, end=end, items=[_rate_out(r, names.get(r.key)) for r in rows])


@router.get("/brands/{brand_id}/leader/claim-rate", response_model=ClaimRateOut, summary="我的售后率（团长）")
async def leader_claim_rate(
    brand_id: IdPath, user: AuthUser, session: ReadSession, start: StartDate, end: EndDate
) -> ClaimRateOut:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    rows = await service.claim_rates(
        session=session, brand_id=brand_id, by="leader", start=start, end=end, leader_id=leader.id
    )
    mine = next((r for r in rows if r.key == leader.id), None)
    return _rate_out(
        mine or service.ClaimRate(key=leader.id, delivered_orders=0, paid_fen=0, claims=0, refunded_claims=0, refunded_fen=0),
        leader.real_name,
    )
