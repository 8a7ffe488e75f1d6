"""邻里动态 `/me/posts`: the member's community feed (approved 晒单 and 食谱, newest first, other authors masked 小*),
a form to post one (1–6 photos, pending until the brand approves it) and the member's own posts with their state
and, when hidden, the staff's reason. The same service calls as `community.posts_api`; the photos go through
`/posts/{post_id}/photos/{photo_id}`, which checks who may see them (`posts.readable_photo`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.brands.schemas import MAX_ID, IdPath
from linli.community import posts
from linli.context import AppContext
from linli.errors import DomainError
from linli.http import Ctx
from linli.images import MAX_PHOTO_BYTES
from linli.members import service as members
from linli.pagination import PageParams
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()
PAGE_SIZE = 20
STATUS_TEXT = {"pending": "待审核", "approved": "已展示", "hidden": "已隐藏"}
FIELD_OF = {"post_kind_invalid": "kind", "post_title_invalid": "title", "post_body_invalid": "body",
            "post_photos_count": "photos", "photo_too_large": "photos", "photo_not_image": "photos",
            "post_order_not_allowed": "order_id", "order_not_found": "order_id", "post_order_not_paid": "order_id"}
ShortText = Annotated[str, Form(max_length=64)]
LongText = Annotated[str, Form(max_length=4000)]  # longer than the service's limit: its own message says so


async def render_posts(
    request: Request, visitor: Visitor, ctx: AppContext, *, brand_id: int | None, page: int = 1,
    form: FormState | None = None, notice: str = "",
) -> Response:
    user_id = user_id_of(visitor)
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        mine = [await brands.get_brand(session=session, brand_id=i)
                for i in await members.brand_ids_of_user(session=session, user_id=user_id)]
        chosen = await brands.get_brand(session=session, brand_id=brand_id) if brand_id else (mine[0] if mine else None)
        place, feed, total, own = None, [], 0, []
        if chosen is not None:
            member = await members.find_member(session=session, brand_id=chosen.id, user_id=user_id)
            community_id = await posts.bound_community(session=session, member_id=member.id, now=now) if member else None
            if community_id is not None:
                place = await brands.get_community(session=session, brand_id=chosen.id, community_id=community_id)
                rows, total = await posts.feed(session=session, community_id=community_id,
                                               params=PageParams(page=page, page_size=PAGE_SIZE))
                feed = await posts.views(session=session, posts=rows, viewer_user_id=user_id, staff=False)
            rows, _ = await posts.my_posts(session=session, brand_id=chosen.id, user_id=user_id,
                                           params=PageParams(page=1, page_size=PAGE_SIZE))
            own = await posts.views(session=session, posts=rows, viewer_user_id=user_id, staff=False)
    form = form or FormState(values={"kind": "recipe"})
    return render(
        request, visitor, "me_posts.html", status_code=form.status_code, brands=mine, brand=chosen, place=place,
        feed=feed, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)), own=own, form=form, notice=notice,
        kinds=posts.KINDS, status_text=STATUS_TEXT, max_photos=posts.MAX_PHOTOS,
        max_mb=MAX_PHOTO_BYTES // (1024 * 1024),
    )


@router.get("/me/posts")
async def posts_page(
    request: Request, ctx: Ctx, visitor: SignedIn,
    brand_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    notice = "已提交，品牌审核通过后会出现在小区动态里" if done == "posted" else ""
    return await render_posts(request, visitor, ctx, brand_id=brand_id, page=page, notice=notice)


@router.post("/me/posts")
async def create_post(
    request: Request, visitor: CheckedVisitor, ctx: Ctx, brand_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    kind: ShortText = "", title: ShortText = "", body: LongText = "", order_id: ShortText = "",
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"/me/posts?brand_id={brand_id}")
    form = FormState(values={"kind": kind, "title": title, "body": body, "order_id": order_id.strip()})
    made = None
    try:
        linked = int(order_id) if order_id.strip().isdigit() else None
        checked = await posts.checked_photos([await f.read(MAX_PHOTO_BYTES + 1) for f in photos or [] if f.filename])
        async with ctx.db.transaction() as session:
            made = await posts.create_post(
                session=session, storage=ctx.storage, brand_id=brand_id, user_id=user_id_of(visitor),
                new=posts.NewPost(kind=kind, title=title, body=body, order_id=linked), photos=checked,
                now=ctx.clock.now(),
            )
    except DomainError as exc:
        if made is not None:  # stored, but the post was not saved: leave no orphan photos
            for key in made.stored_keys:
                await ctx.storage.delete(key)
        form.refuse(exc, FIELD_OF.get(exc.code, "post"))
        if "photos" not in form.errors:
            form.errors["photos_again"] = "请重新选择图片"  # a browser never keeps the files of a refused form
        return await render_posts(request, visitor, ctx, brand_id=brand_id, form=form)
    return RedirectResponse(f"/me/posts?brand_id={brand_id}&done=posted", status_code=303)


@router.get("/posts/{post_id}/photos/{photo_id}")
async def post_photo(post_id: IdPath, photo_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    """A post's photo through the service's check (the author; an approved post's community; the brand's staff)."""
    async with ctx.db.read() as session:
        photo, data = await posts.readable_photo(session=session, storage=ctx.storage, post_id=post_id,
                                                 photo_id=photo_id, user_id=user_id_of(visitor), now=ctx.clock.now())
    return Response(content=data, media_type=photo.content_type,
                    headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})
