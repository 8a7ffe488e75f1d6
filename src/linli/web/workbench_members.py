"""The leader's workbench: my members (phones masked), my attribution trail and my disputes, and opening one.

Each part runs what its API endpoint runs after `leaders.require_active_leader`: `attribution.leader_members`
(`GET …/leader/members`), `attribution.leader_trail` (`GET …/leader/trail`), `attribution.list_disputes` with
the claimant (`GET …/leader/disputes`) and `attribution.open_dispute` (`POST …/leader/disputes`). They are shown
through the API's own presenters, so a page masks phones and other leaders' names exactly as the API does.
A double submit opens one dispute: the second meets the one open claim per member and is refused (409).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.attribution import service as attribution
from linli.attribution import presenters
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError, InvalidInput
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.pagination import PageParams
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

PAGE_SIZE = 20
DISPUTES_SHOWN = PageParams(page=1, page_size=50)
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
MemberText = Annotated[str, Form(max_length=20)]
ReasonText = Annotated[str, Form(max_length=2000)]  # the service says what is too long, beside the field

SOURCE_TEXT = {"invite_code": "邀请码", "transfer": "团长交接转入", "dispute": "申诉改判"}
KIND_TEXT = {"bound": "绑定", "renewed": "续期", "expired": "到期", "transferred": "转移", "refused": "未绑定"}
DISPUTE_STATUS_TEXT = {"open": "待处理", "upheld": "申诉成立", "rejected": "申诉驳回"}
# Refusals about the text go beside the reason; every other one is about the member chosen.
REASON_ERRORS = {"reason_required", "reason_too_long"}


def member_id_of(text: str) -> int:
    if not text.strip().isdigit():
        raise InvalidInput("请选择要申诉的邻居", code="dispute_member_required")
    return int(text.strip())


async def render_members(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, form: FormState, *, page: int = 1,
    trail_page: int = 1, opened: int | None = None,
) -> Response:
    now = ctx.clock.now()
    members_params = PageParams(page=page, page_size=PAGE_SIZE)
    trail_params = PageParams(page=trail_page, page_size=PAGE_SIZE)
    async with ctx.db.read() as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        bindings, members_total = await attribution.leader_members(
            session=session, brand_id=brand_id, leader_id=leader.id, now=now, params=members_params
        )
        member_info, _ = await attribution.describe(
            session=session, brand_id=brand_id, member_ids={b.member_id for b in bindings}, leader_ids=set()
        )
        events, trail_total = await attribution.leader_trail(
            session=session, brand_id=brand_id, leader_id=leader.id, params=trail_params
        )
        trail = await presenters.trail_page(
            session, brand_id, events, trail_total, trail_params, viewer_leader_id=leader.id
        )
        disputes, disputes_total = await attribution.list_disputes(
            session=session, brand_id=brand_id, status=None, params=DISPUTES_SHOWN, claimant_leader_id=leader.id
        )
        dispute_rows = await presenters.dispute_views(session, brand_id, disputes, viewer_leader_id=leader.id)
    members = [(b, presenters.member_brief(member_info.get(b.member_id), b.member_id)) for b in bindings]
    # Who can be claimed: the members this trail page names who are not mine now (the service decides).
    mine = {b.member_id for b in bindings}
    claimable = {e.member.member_id: e.member for e in trail.items if e.member.member_id not in mine}
    return render(
        request, visitor, "workbench_members.html", status_code=form.status_code, brand=brand, form=form,
        members=members, members_total=members_total, page=page, pages=max(1, -(-members_total // PAGE_SIZE)),
        trail=trail, trail_page=trail_page, trail_pages=max(1, -(-trail_total // PAGE_SIZE)),
        claimable=list(claimable.values()), disputes=dispute_rows, disputes_total=disputes_total,
        opened=next((d for d in dispute_rows if d.id == opened), None), source_text=SOURCE_TEXT, kind_text=KIND_TEXT, dispute_status_text=DISPUTE_STATUS_TEXT,
        tab="members",
    )


@router.get("/brands/{brand_id}/leader/members")
async def members_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, page: PageNumber = 1, trail_page: PageNumber = 1,
    opened: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    return await render_members(
        request, visitor, ctx, brand_id, FormState(), page=page, trail_page=trail_page, opened=opened
    )


@router.post("/brands/{brand_id}/leader/disputes")
async def open_dispute(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, member_id: MemberText = "",
    reason: ReasonText = "",
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"/brands/{brand_id}/leader/members")
    form = FormState(values={"member_id": member_id.strip(), "reason": reason})
    try:
        async with ctx.db.transaction() as session:
            leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            dispute = await attribution.open_dispute(
                session=session, brand_id=brand_id, leader_id=leader.id, member_id=member_id_of(member_id),
                reason=reason, now=ctx.clock.now(),
            )
    except DomainError as exc:
        if exc.status_code == 403:
            raise  # not this brand's active leader: the 403 page, not a message beside the field
        form.refuse(exc, "reason" if exc.code in REASON_ERRORS else "member_id")
        return await render_members(request, visitor, ctx, brand_id, form)
    # After a post, a get: reloading the result opens nothing again.
    return RedirectResponse(f"/brands/{brand_id}/leader/members?opened={dispute.id}#disputes", status_code=303)
