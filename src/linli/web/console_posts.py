"""The brand console: 邻里动态审核 — the queue of UGC posts (pending first, oldest first; a filter by state), each
with its photos, and approve / hide with a reason / feature (精选, which issues the brand's reward coupon once);
the reward template; and each community's value share over the last 30 days (`posts.value_shares`).

The same checks and service calls as `community.posts_api`. A refusal (already moderated, 70/30 ceiling, no reward
set, the coupon's quota spent) is shown on the post's card with its status; nothing changes. Featuring twice is
harmless: the second click finds it featured."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.brands.schemas import MAX_ID, IdPath
from linli.community import balance, posts
from linli.context import AppContext
from linli.coupons import templates as coupon_templates
from linli.errors import DomainError
from linli.http import Ctx
from linli.pagination import PageParams
from linli.web.console import staff_view
from linli.web.member_posts import STATUS_TEXT
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()
PAGE_SIZE = 30
StatusQuery = Annotated[Literal["pending", "approved", "hidden"] | None, Query()]
NOTICES = {"approved": "已通过，帖子已出现在小区动态", "hidden": "已隐藏，已通知作者", "featured": "已设为精选，奖励券已发给作者",
           "saved": "已保存精选奖励"}


def _back(brand_id: int) -> str:
    return f"/brands/{brand_id}/console/posts"


async def render_queue(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, *, status: str | None = None, page: int = 1,
    notice: str = "", refusal: tuple[int, DomainError] | None = None,
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        rows, total = await posts.queue(session=session, brand_id=brand_id, status=status,
                                        params=PageParams(page=page, page_size=PAGE_SIZE))
        views = await posts.views(session=session, posts=rows, viewer_user_id=user_id_of(visitor), staff=True)
        places = await brands.communities_by_ids(session=session, community_ids={p.community_id for p in rows})
        shares = await posts.value_shares(session=session, brand_id=brand_id, now=ctx.clock.now())
        reward_id = await posts.reward_template_id(session=session, brand_id=brand_id)
        choices = await coupon_templates.active_templates(session=session, brand_id=brand_id)
    return render(
        request, visitor, "console_posts.html", status_code=refusal[1].status_code if refusal else 200, staff=staff,
        brand=staff.brand, tab="posts", views=views, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
        status=status, places=places, shares=shares, reward_id=reward_id, choices=choices, notice=notice,
        refusal=refusal, kinds=posts.KINDS, status_text=STATUS_TEXT, percent=balance.percent,
    )


@router.get("/brands/{brand_id}/console/posts")
async def queue_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, status: StatusQuery = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1, done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    return await render_queue(request, visitor, ctx, brand_id, status=status, page=page, notice=NOTICES.get(done, ""))


async def _moderate(request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, post_id: int, action: str,
                    reason: str = "") -> Response:
    if not visitor.signed_in:
        raise SignInRequired(_back(brand_id))
    actor = user_id_of(visitor)
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=actor)
            now, base = ctx.clock.now(), ctx.settings.public_base_url
            if action == "approved":
                await posts.approve(session=session, brand_id=brand_id, post_id=post_id, actor_user_id=actor, now=now)
            elif action == "hidden":
                await posts.hide(session=session, brand_id=brand_id, post_id=post_id, reason=reason,
                                 actor_user_id=actor, base_url=base, now=now)
            else:
                await posts.feature(session=session, brand_id=brand_id, post_id=post_id, actor_user_id=actor,
                                    base_url=base, now=now)
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        return await render_queue(request, visitor, ctx, brand_id, refusal=(post_id, exc))
    return RedirectResponse(f"{_back(brand_id)}?done={action}#post-{post_id}", status_code=303)


@router.post("/brands/{brand_id}/console/posts/{post_id}/approve")
async def approve(request: Request, brand_id: IdPath, post_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    return await _moderate(request, visitor, ctx, brand_id, post_id, "approved")


@router.post("/brands/{brand_id}/console/posts/{post_id}/hide")
async def hide(request: Request, brand_id: IdPath, post_id: IdPath, visitor: CheckedVisitor, ctx: Ctx,
               reason: Annotated[str, Form(max_length=400)] = "") -> Response:
    return await _moderate(request, visitor, ctx, brand_id, post_id, "hidden", reason)


@router.post("/brands/{brand_id}/console/posts/{post_id}/feature")
async def feature(request: Request, brand_id: IdPath, post_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    return await _moderate(request, visitor, ctx, brand_id, post_id, "featured")


@router.post("/brands/{brand_id}/console/posts/reward")
async def set_reward(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx,
    template_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(_back(brand_id))
    chosen = int(template_id) if template_id.isdigit() and 1 <= int(template_id) <= MAX_ID else None
    async with ctx.db.transaction() as session:
        await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        await posts.set_reward_template(session=session, brand_id=brand_id, template_id=chosen, now=ctx.clock.now())
    return RedirectResponse(f"{_back(brand_id)}?done=saved", status_code=303)
