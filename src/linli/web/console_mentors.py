"""The brand console, 成长中心 › 导师: the brand's mentoring rules (auto-assign on approval, how many mentees a
mentor takes, how long a mentor must have led), the current mentors and their mentees, the form to assign (or
change) a leader's mentor and 解除 for each. As the API's `…/academy/mentor-rules`, `…/academy/mentorships` and
`PUT / DELETE …/leaders/{id}/mentor`, with the same checks (`brands.require_staff`, `academy.mentors`).

Assigning the mentor a leader already has changes nothing, and 解除 of a mentorship already ended ends nothing, so a
double submit is harmless; a refusal (the leader themself, suspended, too new, full…) is shown beside the mentor.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.academy import mentors
from linli.brands import service as brands
from linli.brands.schemas import MAX_ID, IdPath
from linli.context import AppContext
from linli.errors import DomainError, InvalidInput
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.leaders.models import HOLDING_STATUSES
from linli.pagination import PageParams
from linli.web.console import staff_view
from linli.web.console_products import page_refusal, poster_id
from linli.web.forms import count_of
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, Visitor

router = APIRouter()

ALL_ACTIVE = PageParams(page=1, page_size=1000)  # the choices of the assign form: the brand's active leaders
ChosenId = Annotated[int | None, Form(ge=1, le=MAX_ID)]
Small = Annotated[str, Form(max_length=16)]
Done = Annotated[str | None, Query(max_length=16)]
HOW_TEXT = {"staff": "品牌安排", "auto": "通过审核时自动安排"}
DONE = {"rules": "导师规则已保存", "assigned": "导师已安排", "ended": "已解除导师", "none": "这位团长当前没有导师"}
RULE_FIELDS = {"mentor_capacity_invalid": "mentor_capacity", "mentor_min_days_invalid": "mentor_min_days"}


def mentors_path(brand_id: int, rest: str = "") -> str:
    return f"/brands/{brand_id}/console/academy/mentors{rest}"


async def render_mentors(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, *, rules_form: FormState | None = None,
    assign_form: FormState | None = None, done: str | None = None,
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        rules = await mentors.get_rules(session=session, brand_id=brand_id)
        current = await mentors.brand_mentorships(session=session, brand_id=brand_id)
        active, _ = await leaders.list_leaders(session=session, brand_id=brand_id, status="active", params=ALL_ACTIVE)
        people = await leaders.leaders_by_ids(
            session=session, leader_ids={m.mentee_leader_id for m in current} | {m.mentor_leader_id for m in current},
        )
        places = await brands.communities_by_ids(
            session=session, community_ids={p.community_id for p in [*people.values(), *active]},
        )
    counts: dict[int, int] = {}
    for m in current:
        if people[m.mentee_leader_id].status in HOLDING_STATUSES:
            counts[m.mentor_leader_id] = counts.get(m.mentor_leader_id, 0) + 1
    rules_form = rules_form or FormState(values={
        "auto_assign_mentor": "1" if rules.auto_assign_mentor else "", "mentor_capacity": str(rules.mentor_capacity),
        "mentor_min_days": str(rules.mentor_min_days),
    })
    assign_form = assign_form or FormState()
    named = {x.id: f"{x.real_name}（{places[x.community_id].name}" for x in active}
    mentee_options = [(x.id, named[x.id] + "）") for x in active]
    mentor_options = [(x.id, f"{named[x.id]}，已带 {counts.get(x.id, 0)}/{rules.mentor_capacity}）") for x in active]
    return render(
        request, visitor, "console_mentors.html", status_code=max(rules_form.status_code, assign_form.status_code),
        staff=staff, brand=staff.brand, tab="academy", section="mentors", rules=rules, current=current, people=people,
        places=places, mentee_options=mentee_options, mentor_options=mentor_options, rules_form=rules_form, assign_form=assign_form, how_text=HOW_TEXT,
        done=DONE.get(done or ""),
    )


@router.get("/brands/{brand_id}/console/academy/mentors")
async def mentors_page(request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, done: Done = None) -> Response:
    return await render_mentors(request, visitor, ctx, brand_id, done=done)


@router.post("/brands/{brand_id}/console/academy/mentors/rules")
async def save_rules(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, auto_assign_mentor: Small = "",
    mentor_capacity: Small = "", mentor_min_days: Small = "",
) -> Response:
    user_id = poster_id(visitor, mentors_path(brand_id))
    form = FormState(values={
        "auto_assign_mentor": auto_assign_mentor, "mentor_capacity": mentor_capacity, "mentor_min_days": mentor_min_days,
    })
    field = "mentor_capacity"
    try:
        capacity = count_of(mentor_capacity, label="每位导师最多带的学员数", code="mentor_capacity_invalid")
        field = "mentor_min_days"
        min_days = count_of(mentor_min_days, label="导师须任团长的天数", code="mentor_min_days_invalid")
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            await mentors.update_rules(
                session=session, brand_id=brand_id, auto_assign_mentor=bool(auto_assign_mentor),
                mentor_capacity=capacity, mentor_min_days=min_days, actor_user_id=user_id, now=ctx.clock.now(),
            )
    except DomainError as exc:
        if page_refusal(exc):
            raise
        form.refuse(exc, RULE_FIELDS.get(exc.code, field))
        return await render_mentors(request, visitor, ctx, brand_id, rules_form=form)
    return RedirectResponse(mentors_path(brand_id, "?done=rules"), status_code=303)


@router.post("/brands/{brand_id}/console/academy/mentors")
async def assign(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, mentee_leader_id: ChosenId = None,
    mentor_leader_id: ChosenId = None,
) -> Response:
    user_id = poster_id(visitor, mentors_path(brand_id))
    form = FormState(values={"mentee_leader_id": str(mentee_leader_id or ""), "mentor_leader_id": str(mentor_leader_id or "")})
    field = "mentor_leader_id"
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            if mentee_leader_id is None:
                field = "mentee_leader_id"
                raise InvalidInput("请选择要安排导师的团长", code="mentee_required")
            if mentor_leader_id is None:
                raise InvalidInput("请选择导师", code="mentor_required")
            await mentors.assign_mentor(
                session=session, brand_id=brand_id, mentee_leader_id=mentee_leader_id, mentor_leader_id=mentor_leader_id,
                actor_user_id=user_id, now=ctx.clock.now(),
            )
    except DomainError as exc:
        if page_refusal(exc):
            raise
        form.refuse(exc, "mentee_leader_id" if exc.code == "mentee_not_active" else field)
        return await render_mentors(request, visitor, ctx, brand_id, assign_form=form)
    return RedirectResponse(mentors_path(brand_id, "?done=assigned"), status_code=303)


@router.post("/brands/{brand_id}/console/academy/mentors/{leader_id}/end")
async def end(brand_id: IdPath, leader_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    user_id = poster_id(visitor, mentors_path(brand_id))
    async with ctx.db.transaction() as session:
        await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
        ended = await mentors.end_mentorship(
            session=session, brand_id=brand_id, mentee_leader_id=leader_id, actor_user_id=user_id, now=ctx.clock.now()
        )
    return RedirectResponse(mentors_path(brand_id, "?done=ended" if ended is not None else "?done=none"), status_code=303)
