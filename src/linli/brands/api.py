from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from linli.accounts.models import User
from linli.brands import service
from linli.brands.models import Brand, Community, PickupPoint, StaffMember
from linli.brands.schemas import (
    BrandOut,
    CommunityIn,
    CommunityOut,
    CommunityPatch,
    IdPath,
    PickupPointOut,
    StaffIn,
    StaffOut,
)
from linli.openapi import errors
from linli.pagination import Page, PageParams, page_params
from linli.http import AuthUser, Now, ReadSession, WriteSession

router = APIRouter(prefix="/api/v1", tags=["brands"], responses=errors(409))

Paging = Annotated[PageParams, Depends(page_params)]


def brand_out(brand: Brand) -> BrandOut:
    return BrandOut(id=brand.id, name=brand.name, slug=brand.slug, timezone=brand.timezone)


def community_out(community: Community, point: PickupPoint) -> CommunityOut:
    return CommunityOut(
        id=community.id,
        brand_id=community.brand_id,
        name=community.name,
        address=community.address,
        pickup_point=PickupPointOut(
            name=point.name,
            address=point.address,
            opening_hours=point.opening_hours,
            contact_name=point.contact_name,
            contact_phone=point.contact_phone,
        ),
    )


def staff_out(staff: StaffMember, user: User) -> StaffOut:
    return StaffOut(
        user_id=user.id,
        login_name=user.login_name,
        display_name=user.display_name,
        role=staff.role,
        created_at=staff.created_at,
    )


@router.get("/brands/{brand_id}", response_model=BrandOut, summary="品牌信息（公开）")
async def get_brand(brand_id: IdPath, session: ReadSession) -> BrandOut:
    return brand_out(await service.get_brand(session=session, brand_id=brand_id))


@router.get("/brands/{brand_id}/communities", response_model=Page[CommunityOut], summary="品牌的小区与自提点（公开）")
async def list_communities(brand_id: IdPath, session: ReadSession, params: Paging) -> Page[CommunityOut]:
    await service.get_brand(session=session, brand_id=brand_id)
    rows, total = await service.list_communities(session=session, brand_id=brand_id, params=params)
    return Page(
        items=[community_out(c, p) for c, p in rows], total=total, page=params.page, page_size=params.page_size
    )


@router.get(
    "/brands/{brand_id}/communities/{community_id}", response_model=CommunityOut, summary="小区与自提点详情（公开）"
)
async def get_community(brand_id: IdPath, community_id: IdPath, session: ReadSession) -> CommunityOut:
    await service.get_brand(session=session, brand_id=brand_id)
    community = await service.get_community(session=session, brand_id=brand_id, community_id=community_id)
    return community_out(community, await service.get_pickup_point(session=session, community_id=community.id))


@router.post(
    "/brands/{brand_id}/communities", status_code=201, response_model=CommunityOut, summary="新建小区与自提点（员工）"
)
async def create_community(
    brand_id: IdPath, body: CommunityIn, user: AuthUser, session: WriteSession, now: Now
) -> CommunityOut:
    await service.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    pickup = service.PickupPointInput(**body.pickup_point.model_dump())
    community, point = await service.create_community(
        session=session, brand_id=brand_id, name=body.name, address=body.address, pickup=pickup, now=now
    )
    return community_out(community, point)


@router.patch(
    "/brands/{brand_id}/communities/{community_id}", response_model=CommunityOut, summary="修改小区与自提点（员工）"
)
async def update_community(
    brand_id: IdPath, community_id: IdPath, body: CommunityPatch, user: AuthUser, session: WriteSession
) -> CommunityOut:
    await service.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    pickup = (
        service.PickupPointPatch(**body.pickup_point.model_dump(exclude_none=True))
        if body.pickup_point is not None
        else None
    )
    community, point = await service.update_community(
        session=session,
        brand_id=brand_id,
        community_id=community_id,
        name=body.name,
        address=body.address,
        pickup=pickup,
    )
    return community_out(community, point)


@router.get("/brands/{brand_id}/staff", response_model=Page[StaffOut], summary="品牌员工列表（仅负责人）")
async def list_staff(brand_id: IdPath, user: AuthUser, session: ReadSession, params: Paging) -> Page[StaffOut]:
    await service.require_staff(session=session, brand_id=brand_id, user_id=user.user_id, roles=("owner",))
    rows, total = await service.list_staff_page(session=session, brand_id=brand_id, params=params)
    return Page(items=[staff_out(s, u) for s, u in rows], total=total, page=params.page, page_size=params.page_size)


@router.post("/brands/{brand_id}/staff", status_code=201, response_model=StaffOut, summary="新增品牌员工（仅负责人）")
async def create_staff(brand_id: IdPath, body: StaffIn, user: AuthUser, session: WriteSession, now: Now) -> StaffOut:
    await service.require_staff(session=session, brand_id=brand_id, user_id=user.user_id, roles=("owner",))
    staff, staff_user = await service.create_staff_account(
        session=session,
        brand_id=brand_id,
        login_name=body.login_name,
        password=body.password,
        display_name=body.display_name,
        role=body.role,
        now=now,
    )
    return staff_out(staff, staff_user)
