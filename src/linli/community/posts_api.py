"""UGC routes: a member posts to their community's feed (multipart, 1–6 photos) and reads it; the community's
leader reads it too; the brand's staff moderate (approve, hide with a reason, feature with its reward) and read
each community's value share."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile

from linli import images
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.community import posts
from linli.community.models import Post
from linli.community.schemas import FeatureOut, HideIn, PostOut, UgcSettingsIn, UgcSettingsOut, ValueShareOut
from linli.http import AuthUser, Ctx, Now, ReadSession, WriteSession
from linli.openapi import errors
from linli.pagination import Page, PageParams, page_of, page_params

router = APIRouter(prefix="/api/v1", tags=["community"], responses=errors(409))
Paging = Annotated[PageParams, Depends(page_params)]


def post_out(view: posts.PostView) -> PostOut:
    p = view.post
    return PostOut(
        id=p.id, brand_id=p.brand_id, community_id=p.community_id, kind=p.kind, tag=p.tag, title=p.title, body=p.body,
        author=view.author, order_id=p.order_id, status=p.status, hide_reason=p.hide_reason,
        featured=p.featured_at is not None, reward_coupon_id=p.reward_coupon_id, created_at=p.created_at,
        approved_at=p.approved_at, photo_urls=[f"/api/v1/posts/{p.id}/photos/{i}" for i in view.photo_ids],
    )


async def _page(session, rows: list[Post], total: int, paging: PageParams, *, user_id: int,  # noqa: ANN001
                staff: bool) -> Page[PostOut]:
    views = await posts.views(session=session, posts=rows, viewer_user_id=user_id, staff=staff)
    return Page(items=[post_out(v) for v in views], total=total, page=paging.page, page_size=paging.page_size)


@router.post(
    "/brands/{brand_id}/posts", response_model=PostOut, status_code=201, responses=errors(413),
    summary="发帖：晒单或食谱（邻居本人；multipart，1–6 张图片，待品牌审核）",
    description="字段 kind（show 晒单 / recipe 食谱）、title（≤ 40 字）、body（≤ 2000 字）、可选 order_id（本人已支付的订单，"
    "仅晒单）与 photos（JPG/PNG/WebP，单张 ≤ 5 MB，1–6 张）。未绑定团长的邻居不能发帖（409 post_no_community）。",
)
async def create_post(
    brand_id: IdPath, ctx: Ctx, user: AuthUser, now: Now,
    kind: Annotated[str, Form(max_length=8)], title: Annotated[str, Form(max_length=200)],
    body: Annotated[str, Form(max_length=10_000)],
    order_id: Annotated[int | None, Form(ge=1, le=2**62)] = None,
    photos: Annotated[list[UploadFile] | None, File(description="图片")] = None,
) -> PostOut:
    checked = await posts.checked_photos([await f.read(images.MAX_PHOTO_BYTES + 1) for f in photos or []])
    made = None
    try:
        async with ctx.db.transaction() as session:
            made = await posts.create_post(
                session=session, storage=ctx.storage, brand_id=brand_id, user_id=user.user_id,
                new=posts.NewPost(kind=kind, title=title, body=body, order_id=order_id), photos=checked, now=now,
            )
            [view] = await posts.views(session=session, posts=[made.post], viewer_user_id=user.user_id, staff=False)
            out = post_out(view)
    except BaseException:
        if made is not None:  # stored, but the post was not saved: leave no orphan photos
            for key in made.stored_keys:
                await ctx.storage.delete(key)
        raise
    return out


@router.get("/brands/{brand_id}/posts/mine", response_model=Page[PostOut], summary="我的帖子（邻居本人，含审核状态）")
async def my_posts(brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging) -> Page[PostOut]:
    await brands.get_brand(session=session, brand_id=brand_id)
    rows, total = await posts.my_posts(session=session, brand_id=brand_id, user_id=user.user_id, params=paging)
    return await _page(session, rows, total, paging, user_id=user.user_id, staff=False)


@router.get(
    "/brands/{brand_id}/communities/{community_id}/feed", response_model=Page[PostOut],
    summary="小区动态：已通过的晒单与食谱，新的在前（该小区的邻居、团长、品牌员工；其他人 404）",
)
async def community_feed(
    brand_id: IdPath, community_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging, now: Now
) -> Page[PostOut]:
    await posts.require_feed(session=session, brand_id=brand_id, community_id=community_id, user_id=user.user_id,
                             now=now)
    rows, total = await posts.feed(session=session, community_id=community_id, params=paging)
    return await _page(session, rows, total, paging, user_id=user.user_id, staff=False)


@router.get(
    "/posts/{post_id}/photos/{photo_id}", response_class=Response,
    summary="帖子图片（作者本人；已通过的帖子：该小区的邻居和团长；品牌员工）",
)
async def post_photo(post_id: IdPath, photo_id: IdPath, ctx: Ctx, user: AuthUser, session: ReadSession,
                     now: Now) -> Response:
    photo, data = await posts.readable_photo(session=session, storage=ctx.storage, post_id=post_id, photo_id=photo_id,
                                             user_id=user.user_id, now=now)
    return Response(content=data, media_type=photo.content_type,
                    headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})


# --- brand staff ----------------------------------------------------------------------------------------


@router.get("/brands/{brand_id}/posts", response_model=Page[PostOut], summary="帖子审核队列：待审核在前（员工）")
async def moderation_queue(
    brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging,
    status: Annotated[str | None, Query(max_length=16, description="pending / approved / hidden")] = None,
) -> Page[PostOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rows, total = await posts.queue(session=session, brand_id=brand_id, status=status, params=paging)
    return await _page(session, rows, total, paging, user_id=user.user_id, staff=True)


async def _one(session, post: Post, user_id: int) -> PostOut:  # noqa: ANN001
    [view] = await posts.views(session=session, posts=[post], viewer_user_id=user_id, staff=True)
    return post_out(view)


@router.post("/brands/{brand_id}/posts/{post_id}/approve", response_model=PostOut,
             summary="通过帖子，进入小区动态（员工；计入社区群 70/30，超过商业内容上限则 409）")
async def approve_post(brand_id: IdPath, post_id: IdPath, user: AuthUser, session: WriteSession, now: Now) -> PostOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    post = await posts.approve(session=session, brand_id=brand_id, post_id=post_id, actor_user_id=user.user_id, now=now)
    return await _one(session, post, user.user_id)


@router.post("/brands/{brand_id}/posts/{post_id}/hide", response_model=PostOut,
             summary="隐藏帖子并说明原因（员工；站内信告知作者）")
async def hide_post(
    brand_id: IdPath, post_id: IdPath, body: HideIn, user: AuthUser, session: WriteSession, ctx: Ctx, now: Now
) -> PostOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    post = await posts.hide(session=session, brand_id=brand_id, post_id=post_id, reason=body.reason,
                            actor_user_id=user.user_id, base_url=ctx.settings.public_base_url, now=now)
    return await _one(session, post, user.user_id)


@router.post("/brands/{brand_id}/posts/{post_id}/feature", response_model=FeatureOut,
             summary="设为精选并发放奖励优惠券（员工；每帖只发一次，重复点击不再发）")
async def feature_post(
    brand_id: IdPath, post_id: IdPath, user: AuthUser, session: WriteSession, ctx: Ctx, now: Now
) -> FeatureOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    done = await posts.feature(session=session, brand_id=brand_id, post_id=post_id, actor_user_id=user.user_id,
                               base_url=ctx.settings.public_base_url, now=now)
    return FeatureOut(post=await _one(session, done.post, user.user_id), changed=done.changed)


@router.get("/brands/{brand_id}/ugc/settings", response_model=UgcSettingsOut, summary="精选奖励设置（员工）")
async def get_settings(brand_id: IdPath, user: AuthUser, session: ReadSession) -> UgcSettingsOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return UgcSettingsOut(reward_template_id=await posts.reward_template_id(session=session, brand_id=brand_id))


@router.put("/brands/{brand_id}/ugc/settings", response_model=UgcSettingsOut,
            summary="设置精选奖励的优惠券模板（员工）")
async def put_settings(
    brand_id: IdPath, body: UgcSettingsIn, user: AuthUser, session: WriteSession, now: Now
) -> UgcSettingsOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    template_id = await posts.set_reward_template(session=session, brand_id=brand_id,
                                                  template_id=body.reward_template_id, now=now)
    return UgcSettingsOut(reward_template_id=template_id)


@router.get("/brands/{brand_id}/ugc/value-shares", response_model=Page[ValueShareOut],
            summary="各小区动态的价值内容占比：最近 30 天通过的帖子中价值内容的比例（员工）")
async def value_shares(
    brand_id: IdPath, user: AuthUser, session: ReadSession, now: Now, paging: Paging
) -> Page[ValueShareOut]:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return page_of([ValueShareOut(community_id=s.community_id, community_name=s.community_name, value_posts=s.value_posts,
                          approved_posts=s.approved_posts, share_bp=s.share_bp, group_value=s.group_value,
                          group_counted=s.group_counted)
            for s in await posts.value_shares(session=session, brand_id=brand_id, now=now)], paging)
