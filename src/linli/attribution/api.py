"""Attribution routes. Who may call what is documented in docs/attribution.md ("Who sees what").

Phones are masked everywhere, staff views included: the trail is about attribution, not contact.
In a leader's views another leader appears with a masked name, and nothing private to that leader
(their invite code, the acting user) is shown.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from linli.attribution import presenters, service
from linli.attribution.models import Binding
from linli.attribution.schemas import (
    BindingOut,
    BoundMemberOut,
    DisputeIn,
    DisputeOut,
    EntryIn,
    EntryOut,
    LeaderCard,
    PolicyIn,
    PolicyOut,
    ResolveIn,
    TrailEventOut,
    TransferIn,
    TransferOut,
)
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.leaders import service as leaders
from linli.openapi import errors
from linli.pagination import Page, PageParams, page_params
from linli.http import AuthUser, Now, ReadSession, WriteSession

router = APIRouter(prefix="/api/v1", tags=["attribution"], responses=errors(404, 409))
Paging = Annotated[PageParams, Depends(page_params)]

ENTRY_MESSAGES = {
    "bound": "绑定成功，之后的订单都算在这位团长名下",
    "rebound": "已改绑到这位团长",
    "already_yours": "您已是这位团长的邻居",
    "refused": "您可以正常浏览和购买，归属不变",
}


# --- presenters ------------------------------------------------------------------------------


def _entry_message(outcome: service.EntryOutcome) -> str:
    if outcome.result == "refused":
        return f"{service.REASON_TEXT[outcome.reason]}。{ENTRY_MESSAGES['refused']}"
    return ENTRY_MESSAGES[outcome.result]


def _policy_out(policy: service.Policy) -> PolicyOut:
    return PolicyOut(
        mode=policy.mode, validity_days=policy.validity_days, protection_days=policy.protection_days,
        only_new_members=policy.only_new_members, is_default=policy.updated_at is None,
        updated_at=policy.updated_at, updated_by_user_id=policy.updated_by_user_id,
    )


async def _binding_out(session: AsyncSession, brand_id: int, binding: Binding | None) -> BindingOut:
    if binding is None:
        return BindingOut(bound=False)
    _, leader_info = await service.describe(
        session=session, brand_id=brand_id, member_ids=set(), leader_ids={binding.leader_id}
    )
    info = leader_info[binding.leader_id]
    return BindingOut(
        bound=True,
        leader=LeaderCard(
            id=info.leader_id, name=info.name, badge=info.badge, community_id=info.community_id,
            community_name=info.community_name,
        ),
        source=binding.source, bound_at=binding.bound_at, expires_at=binding.expires_at,
        protected_until=binding.protected_until,
    )


# --- policy ----------------------------------------------------------------------------------


@router.get("/brands/{brand_id}/binding-policy", response_model=PolicyOut, summary="绑定规则（品牌员工、本品牌团长）")
async def get_policy(brand_id: IdPath, user: AuthUser, session: ReadSession) -> PolicyOut:
    if await brands.staff_role(session=session, brand_id=brand_id, user_id=user.user_id) is None:
        await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    return _policy_out(await service.get_policy(session=session, brand_id=brand_id))


@router.put("/brands/{brand_id}/binding-policy", response_model=PolicyOut, summary="修改绑定规则（品牌员工）")
async def put_policy(brand_id: IdPath, body: PolicyIn, user: AuthUser, session: WriteSession, now: Now) -> PolicyOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    policy = await service.update_policy(
        session=session, brand_id=brand_id, mode=body.mode, validity_days=body.validity_days,
        protection_days=body.protection_days, only_new_members=body.only_new_members, actor_user_id=user.user_id,
        now=now,
    )
    return _policy_out(policy)


# --- member ----------------------------------------------------------------------------------


@router.post("/entries", response_model=EntryOut, summary="通过邀请码进入（绑定团长）", responses=errors(410))
async def enter(body: EntryIn, user: AuthUser, session: WriteSession, now: Now) -> EntryOut:
    # A refusal is a 200: the member can still shop, and the trail has recorded the attempt.
    outcome = await service.enter_with_code(session=session, user_id=user.user_id, raw_code=body.invite_code, now=now)
    return EntryOut(
        result=outcome.result,  # type: ignore[arg-type]
        reason=outcome.reason,
        message=_entry_message(outcome),
        brand_id=outcome.brand_id,
        member_id=outcome.member_id,
        binding=await _binding_out(session, outcome.brand_id, outcome.binding),
    )


@router.get("/brands/{brand_id}/binding", response_model=BindingOut, summary="我在该品牌的绑定团长")
async def my_binding(brand_id: IdPath, user: AuthUser, session: ReadSession, now: Now) -> BindingOut:
    binding = await service.member_binding(session=session, brand_id=brand_id, user_id=user.user_id, now=now)
    return await _binding_out(session, brand_id, binding)


# --- leader ----------------------------------------------------------------------------------


@router.get("/brands/{brand_id}/leader/members", response_model=Page[BoundMemberOut], summary="我的绑定用户（团长）")
async def leader_members(
    brand_id: IdPath, user: AuthUser, session: ReadSession, now: Now, params: Paging
) -> Page[BoundMemberOut]:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    bindings, total = await service.leader_members(
        session=session, brand_id=brand_id, leader_id=leader.id, now=now, params=params
    )
    member_info, _ = await service.describe(
        session=session, brand_id=brand_id, member_ids={b.member_id for b in bindings}, leader_ids=set()
    )
    items = [
        BoundMemberOut(
            **presenters.member_brief(member_info.get(b.member_id), b.member_id).model_dump(),
            source=b.source, bound_at=b.bound_at, expires_at=b.expires_at, protected_until=b.protected_until,
        )
        for b in bindings
    ]
    return Page(items=items, total=total, page=params.page, page_size=params.page_size)


@router.get("/brands/{brand_id}/leader/trail", response_model=Page[TrailEventOut], summary="我的归属记录（团长）")
async def leader_trail(brand_id: IdPath, user: AuthUser, session: ReadSession, params: Paging) -> Page[TrailEventOut]:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    events, total = await service.leader_trail(session=session, brand_id=brand_id, leader_id=leader.id, params=params)
    return await presenters.trail_page(session, brand_id, events, total, params, viewer_leader_id=leader.id)


@router.post(
    "/brands/{brand_id}/leader/disputes", status_code=201, response_model=DisputeOut, summary="发起归属申诉（团长）"
)
async def open_dispute(brand_id: IdPath, body: DisputeIn, user: AuthUser, session: WriteSession, now: Now) -> DisputeOut:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    dispute = await service.open_dispute(
        session=session, brand_id=brand_id, leader_id=leader.id, member_id=body.member_id, reason=body.reason, now=now
    )
    return (await presenters.dispute_views(session, brand_id, [dispute], viewer_leader_id=leader.id))[0]


@router.get("/brands/{brand_id}/leader/disputes", response_model=Page[DisputeOut], summary="我发起的申诉（团长）")
async def leader_disputes(
    brand_id: IdPath, user: AuthUser, session: ReadSession, params: Paging,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> Page[DisputeOut]:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    disputes, total = await service.list_disputes(
        session=session, brand_id=brand_id, status=status, params=params, claimant_leader_id=leader.id
    )
    items = await presenters.dispute_views(session, brand_id, disputes, viewer_leader_id=leader.id)
    return Page(items=items, total=total, page=params.page, page_size=params.page_size)


# --- brand staff -----------------------------------------------------------------------------


@router.get(
    "/brands/{brand_id}/members/{member_id}/trail", response_model=Page[TrailEventOut], summary="用户归属记录（品牌员工）"
)
async def member_trail(
    brand_id: IdPath, member_id: IdPath, user: AuthUser, session: ReadSession, params: Paging
) -> Page[TrailEventOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    events, total = await service.member_trail(session=session, brand_id=brand_id, member_id=member_id, params=params)
    return await presenters.trail_page(session, brand_id, events, total, params, viewer_leader_id=None)


@router.post(
    "/brands/{brand_id}/leaders/{leader_id}/transfer-members", response_model=TransferOut,
    summary="把退出团长的用户转给同小区继任团长（品牌员工）",
)
async def transfer_members(
    brand_id: IdPath, leader_id: IdPath, body: TransferIn, user: AuthUser, session: WriteSession, now: Now
) -> TransferOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    moved = await service.transfer_members(
        session=session, brand_id=brand_id, from_leader_id=leader_id, to_leader_id=body.successor_leader_id,
        actor_user_id=user.user_id, now=now,
    )
    return TransferOut(transferred=moved)


@router.get("/brands/{brand_id}/disputes", response_model=Page[DisputeOut], summary="归属申诉列表（品牌员工）")
async def list_disputes(
    brand_id: IdPath, user: AuthUser, session: ReadSession, params: Paging,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> Page[DisputeOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    disputes, total = await service.list_disputes(session=session, brand_id=brand_id, status=status, params=params)
    items = await presenters.dispute_views(session, brand_id, disputes, viewer_leader_id=None)
    return Page(items=items, total=total, page=params.page, page_size=params.page_size)


@router.post("/brands/{brand_id}/disputes/{dispute_id}/resolve", response_model=DisputeOut, summary="处理申诉（品牌员工）")
async def resolve_dispute(
    brand_id: IdPath, dispute_id: IdPath, body: ResolveIn, user: AuthUser, session: WriteSession, now: Now
) -> DisputeOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    dispute = await service.resolve_dispute(
        session=session, brand_id=brand_id, dispute_id=dispute_id, decision=body.decision, reason=body.reason,
        actor_user_id=user.user_id, now=now,
    )
    return (await presenters.dispute_views(session, brand_id, [dispute], viewer_leader_id=None))[0]

