"""UGC: members post 晒单 (an order shown off, optionally linked to one of their own paid orders) and 食谱 (recipes)
with 1–6 photos to their community's feed; the brand's staff moderate them; a featured post earns its reward once.

- The community: the linked order's pickup community, otherwise that of the leader the member is bound to now. A
  member bound to nobody cannot post (409 `post_no_community`).
- The tag (70/30, `balance.py`): a 食谱 or a 晒单 without an order is `value`; a 晒单 linked to an order names a
  product the brand sells, so it is `commerce`. Approving a post counts it in its community group's last N messages
  (`balance.admit`, source "post"); a commerce post that would cross the group's ceiling is not approved (409
  `post_commerce_over_ceiling`) — staff approve it later, when the group has had value again.
- States: pending → approved (in the feed) or hidden (with the staff's reason, told to the author by inbox);
  approved → hidden. Hidden is final. `featured_at` is set on an approved post once, by a guarded UPDATE, and in the
  same transaction the brand's UGC reward template issues the author one coupon (source key `ugc:post:{id}`,
  unique and idempotent) and the author hears of it by inbox. A double click or a concurrent call finds it set and
  changes nothing.
- Who reads a feed: members bound now to a leader of the community, the community's leader, the brand's staff;
  anyone else gets 404. Authors' names are masked (小*) for everyone but the author.
- The value share (`value_shares`): per community, approved value posts / all approved posts approved in the last
  30 days (VALUE_SHARE_DAYS), beside the community group's current share of its last N messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from linli.accounts import service as accounts
from linli.attribution import service as attribution
from linli.brands import service as brands
from linli.community import balance
from linli.community.models import Post, PostPhoto, UgcSettings
from linli.community.service import group_of_community
from linli.coupons import service as coupons
from linli.coupons import templates as coupon_templates
from linli.errors import Conflict, InvalidInput, NotFound
from linli import images
from linli.images import Photo
from linli.leaders import service as leaders
from linli.members import service as members
from linli.notifications import pushes
from linli.orders.models import Order
from linli.pagination import PageParams, fetch_page
from linli.security import mask_name

KINDS = {"show": "晒单", "recipe": "食谱"}
STATUSES = ("pending", "approved", "hidden")
MAX_TITLE = 40
MAX_BODY = 2000
MAX_REASON = 200
MIN_PHOTOS, MAX_PHOTOS = 1, 6
VALUE_SHARE_DAYS = 30
POSTS = Post.__table__


@dataclass(frozen=True)
class NewPost:
    kind: str
    title: str
    body: str
    order_id: int | None = None


@dataclass(frozen=True)
class Created:
    post: Post
    stored_keys: list[str]  # for the caller to remove if the transaction does not commit


@dataclass(frozen=True)
class Featured:
    post: Post
    changed: bool  # False: it was featured before, nothing was issued again


def clean(new: NewPost) -> NewPost:
    if new.kind not in KINDS:
        raise InvalidInput("帖子类型须为晒单（show）或食谱（recipe）", code="post_kind_invalid")
    title, body = new.title.strip(), new.body.strip()
    if not 1 <= len(title) <= MAX_TITLE:
        raise InvalidInput(f"标题须为 1 到 {MAX_TITLE} 个字", code="post_title_invalid")
    if not 1 <= len(body) <= MAX_BODY:
        raise InvalidInput(f"正文须为 1 到 {MAX_BODY} 个字", code="post_body_invalid")
    if new.order_id is not None and new.kind != "show":
        raise InvalidInput("只有晒单可以关联订单", code="post_order_not_allowed")
    return NewPost(kind=new.kind, title=title, body=body, order_id=new.order_id)


def check_count(photos: list[Photo]) -> None:
    if not MIN_PHOTOS <= len(photos) <= MAX_PHOTOS:
        raise InvalidInput(f"请上传 {MIN_PHOTOS} 到 {MAX_PHOTOS} 张图片", code="post_photos_count",
                           details={"min": MIN_PHOTOS, "max": MAX_PHOTOS})


async def checked_photos(files: list[bytes]) -> list[Photo]:
    """Each upload checked by its first bytes and size (413, 422), then decoded off the event loop (422), before
    anything is stored. Read each file to at most MAX_PHOTO_BYTES + 1: enough to know it is too large."""
    if len(files) > MAX_PHOTOS:
        raise InvalidInput(f"请上传 {MIN_PHOTOS} 到 {MAX_PHOTOS} 张图片", code="post_photos_count")
    checked = []
    for index, data in enumerate(files):
        photo = images.check_photo(data, index=index)
        try:
            await run_in_threadpool(images.check_image, photo.data)
        except ValueError as exc:
            raise InvalidInput("图片无法打开，请换一张", code="photo_not_image", details={"photo": index}) from exc
        checked.append(photo)
    return checked


def storage_key(*, post_id: int, position: int, photo: Photo) -> str:
    return f"posts/{post_id}/{position}-{photo.sha256[:32]}.{photo.extension}"


async def bound_community(*, session: AsyncSession, member_id: int, now: datetime) -> int | None:
    binding = await attribution.active_binding(session=session, member_id=member_id, now=now)
    if binding is None:
        return None
    leader = await leaders.get_leader(session=session, brand_id=binding.brand_id, leader_id=binding.leader_id)
    return leader.community_id


async def create_post(
    *, session: AsyncSession, storage, brand_id: int, user_id: int, new: NewPost, photos: list[Photo],  # noqa: ANN001
    now: datetime,
) -> Created:
    """A pending post by the caller in their community; every rule is checked before a photo is stored."""
    new = clean(new)
    check_count(photos)
    await brands.get_brand(session=session, brand_id=brand_id)
    member = await members.find_member(session=session, brand_id=brand_id, user_id=user_id)
    community_id = await bound_community(session=session, member_id=member.id, now=now) if member else None
    if member is None or community_id is None:
        raise Conflict("您还没有绑定团长，加入小区后才能发帖", code="post_no_community")
    if new.order_id is not None:
        order = await session.get(Order, new.order_id)
        if order is None or order.member_id != member.id:
            raise NotFound("订单不存在", code="order_not_found")
        if order.status != "paid":
            raise Conflict("只能晒已支付的订单", code="post_order_not_paid")
        community_id = order.community_id or community_id
    post = Post(
        brand_id=brand_id, community_id=community_id, member_id=member.id, user_id=user_id, order_id=new.order_id,
        kind=new.kind, tag="commerce" if new.order_id is not None else "value", title=new.title, body=new.body,
        status="pending", created_at=now,
    )
    session.add(post)
    await session.flush()
    stored: list[str] = []
    for position, photo in enumerate(photos):
        key = storage_key(post_id=post.id, position=position, photo=photo)
        session.add(PostPhoto(post_id=post.id, position=position, storage_key=key, content_type=photo.content_type,
                              size_bytes=photo.size_bytes))
        await storage.put(key, photo.data, content_type=photo.content_type)
        stored.append(key)
    await session.flush()
    return Created(post=post, stored_keys=stored)


# --- who may read -----------------------------------------------------------------------------------------


async def may_read_community(*, session: AsyncSession, brand_id: int, community_id: int, user_id: int,
                             now: datetime) -> bool:
    if await brands.staff_role(session=session, brand_id=brand_id, user_id=user_id) is not None:
        return True
    leader = await leaders.find_open_leader_for_user(session=session, brand_id=brand_id, user_id=user_id)
    if leader is not None and leader.status == "active" and leader.community_id == community_id:
        return True
    member = await members.find_member(session=session, brand_id=brand_id, user_id=user_id)
    return member is not None and await bound_community(session=session, member_id=member.id, now=now) == community_id


async def require_feed(*, session: AsyncSession, brand_id: int, community_id: int, user_id: int, now: datetime) -> None:
    """404 unless the caller may read the community's feed (one of its members, its leader, the brand's staff)."""
    await brands.get_community(session=session, brand_id=brand_id, community_id=community_id)
    if not await may_read_community(session=session, brand_id=brand_id, community_id=community_id, user_id=user_id,
                                    now=now):
        raise NotFound("社区动态不存在", code="feed_not_found")


async def readable_photo(
    *, session: AsyncSession, storage, post_id: int, photo_id: int, user_id: int, now: datetime  # noqa: ANN001
) -> tuple[PostPhoto, bytes]:
    """A photo the caller may see: of their own post, of an approved post of a feed they read, or as staff."""
    post = await session.get(Post, post_id)
    photo = await session.get(PostPhoto, photo_id)
    if post is None or photo is None or photo.post_id != post.id:
        raise NotFound("图片不存在", code="photo_not_found")
    staff = await brands.staff_role(session=session, brand_id=post.brand_id, user_id=user_id) is not None
    visible = staff or post.user_id == user_id or (
        post.status == "approved" and await may_read_community(
            session=session, brand_id=post.brand_id, community_id=post.community_id, user_id=user_id, now=now)
    )
    if not visible:
        raise NotFound("图片不存在", code="photo_not_found")
    return photo, await storage.open(photo.storage_key)


# --- reading ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostView:
    post: Post
    author: str  # masked for everyone but the author and staff
    photo_ids: list[int]


async def views(*, session: AsyncSession, posts: list[Post], viewer_user_id: int, staff: bool) -> list[PostView]:
    ids = [p.id for p in posts]
    photos: dict[int, list[int]] = {}
    if ids:
        for photo in await session.scalars(
            select(PostPhoto).where(PostPhoto.post_id.in_(ids)).order_by(PostPhoto.post_id, PostPhoto.position)
        ):
            photos.setdefault(photo.post_id, []).append(photo.id)
    users = await accounts.users_by_ids(session=session, user_ids={p.user_id for p in posts})
    out = []
    for post in posts:
        name = users[post.user_id].display_name if post.user_id in users else ""
        shown = (name or "邻居") if staff or post.user_id == viewer_user_id else mask_name(name)
        out.append(PostView(post=post, author=shown, photo_ids=photos.get(post.id, [])))
    return out


async def feed(*, session: AsyncSession, community_id: int, params: PageParams) -> tuple[list[Post], int]:
    """The community's approved posts, newest approval first."""
    query = (select(Post).where(Post.community_id == community_id, Post.status == "approved")
             .order_by(Post.approved_at.desc(), Post.id.desc()))
    return await fetch_page(session, query, params)


async def my_posts(*, session: AsyncSession, brand_id: int, user_id: int, params: PageParams) -> tuple[list[Post], int]:
    query = select(Post).where(Post.brand_id == brand_id, Post.user_id == user_id).order_by(Post.id.desc())
    return await fetch_page(session, query, params)


async def queue(
    *, session: AsyncSession, brand_id: int, status: str | None, params: PageParams
) -> tuple[list[Post], int]:
    """The staff's queue: pending first (oldest first, as they came), then the rest newest first."""
    if status is not None and status not in STATUSES:
        raise InvalidInput("状态须为 pending、approved 或 hidden", code="post_status_invalid")
    query = select(Post).where(Post.brand_id == brand_id)
    if status is not None:
        query = query.where(Post.status == status)
    pending_first = case((Post.status == "pending", 0), else_=1)
    order = case((Post.status == "pending", Post.id), else_=-Post.id)
    return await fetch_page(session, query.order_by(pending_first, order), params)


async def get_post(*, session: AsyncSession, brand_id: int, post_id: int, for_update: bool = False) -> Post:
    post = await session.get(Post, post_id, with_for_update=for_update, populate_existing=for_update)
    if post is None or post.brand_id != brand_id:
        raise NotFound("帖子不存在", code="post_not_found")
    return post


# --- moderation -------------------------------------------------------------------------------------------


async def approve(*, session: AsyncSession, brand_id: int, post_id: int, actor_user_id: int, now: datetime) -> Post:
    """Pending → approved (in the feed), counted in the community group's 70/30; approving twice is a 409."""
    post = await get_post(session=session, brand_id=brand_id, post_id=post_id, for_update=True)
    if post.status != "pending":
        raise Conflict("只能通过待审核的帖子", code="post_not_pending", details={"status": post.status})
    group = await group_of_community(session=session, community_id=post.community_id)
    if group is not None:
        admission = await balance.admit(session=session, group_id=group.id, tag=post.tag, source="post",
                                        source_id=post.id, now=now)
        if not admission.admitted:
            raise Conflict(admission.share.note(), code="post_commerce_over_ceiling",
                           details={"share_bp": admission.share.share_bp})
    post.status, post.approved_at = "approved", now
    post.moderated_by_user_id, post.moderated_at = actor_user_id, now
    await session.flush()
    return post


async def hide(
    *, session: AsyncSession, brand_id: int, post_id: int, reason: str, actor_user_id: int, base_url: str,
    now: datetime,
) -> Post:
    """Pending or approved → hidden, with the reason the author is told by inbox."""
    reason = reason.strip()
    if not 1 <= len(reason) <= MAX_REASON:
        raise InvalidInput(f"请填写隐藏原因（1 到 {MAX_REASON} 个字）", code="hide_reason_invalid")
    post = await get_post(session=session, brand_id=brand_id, post_id=post_id, for_update=True)
    if post.status == "hidden":
        raise Conflict("该帖子已隐藏", code="post_already_hidden")
    post.status, post.hide_reason = "hidden", reason
    post.moderated_by_user_id, post.moderated_at = actor_user_id, now
    await session.flush()
    await pushes.enqueue(
        session=session, brand_id=brand_id, tag="value", kind="ugc_hidden", now=now, base_url=base_url,
        title=f"您的{KINDS[post.kind]}「{post.title}」未能展示", body=f"原因：{reason}",
        dedupe_key=f"ugc:post:{post.id}:hidden", recipients=[post.user_id], link=f"/me/posts?brand_id={brand_id}",
    )
    return post


async def reward_template_id(*, session: AsyncSession, brand_id: int) -> int | None:
    settings = await session.get(UgcSettings, brand_id)
    return settings.reward_template_id if settings else None


async def set_reward_template(
    *, session: AsyncSession, brand_id: int, template_id: int | None, now: datetime
) -> int | None:
    """The template a featured post's author receives (None: featuring is refused until one is set)."""
    await brands.get_brand(session=session, brand_id=brand_id)
    if template_id is not None:
        await coupon_templates.get_template(session=session, brand_id=brand_id, template_id=template_id)
    settings = await session.get(UgcSettings, brand_id, with_for_update=True)
    if settings is None:
        session.add(UgcSettings(brand_id=brand_id, reward_template_id=template_id, updated_at=now))
    else:
        settings.reward_template_id, settings.updated_at = template_id, now
    await session.flush()
    return template_id


async def feature(
    *, session: AsyncSession, brand_id: int, post_id: int, actor_user_id: int, base_url: str, now: datetime
) -> Featured:
    """Features an approved post and issues its reward once (see the module's docstring)."""
    post = await get_post(session=session, brand_id=brand_id, post_id=post_id)
    if post.featured_at is not None:
        return Featured(post=post, changed=False)
    if post.status != "approved":
        raise Conflict("只能将已通过的帖子设为精选", code="post_not_approved", details={"status": post.status})
    template_id = await reward_template_id(session=session, brand_id=brand_id)
    if template_id is None:
        raise Conflict("品牌尚未设置精选奖励优惠券", code="ugc_reward_not_configured")
    won = await session.execute(
        update(POSTS).where(POSTS.c.id == post.id, POSTS.c.status == "approved", POSTS.c.featured_at.is_(None))
        .values(featured_at=now, featured_by_user_id=actor_user_id).returning(POSTS.c.id)
    )
    if won.first() is None:  # a concurrent call featured it (or it was hidden meanwhile)
        post = await get_post(session=session, brand_id=brand_id, post_id=post_id, for_update=True)
        if post.featured_at is not None:
            return Featured(post=post, changed=False)
        raise Conflict("只能将已通过的帖子设为精选", code="post_not_approved", details={"status": post.status})
    issued = await coupons.issue_coupon(
        session=session, brand_id=brand_id, template_id=template_id, member_id=post.member_id, source="ugc",
        source_key=f"ugc:post:{post.id}", now=now,
    )
    await session.execute(update(POSTS).where(POSTS.c.id == post.id).values(reward_coupon_id=issued.coupon.id))
    await pushes.enqueue(
        session=session, brand_id=brand_id, tag="value", kind="ugc_featured", now=now, base_url=base_url,
        title=f"您的{KINDS[post.kind]}「{post.title}」被设为精选", body="感谢分享！精选奖励的优惠券已放入您的券包。",
        dedupe_key=f"ugc:post:{post.id}:featured", recipients=[post.user_id], link=f"/me/coupons?brand_id={brand_id}",
    )
    post = await get_post(session=session, brand_id=brand_id, post_id=post_id, for_update=True)
    return Featured(post=post, changed=True)


# --- the value share --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueShare:
    community_id: int
    community_name: str
    value_posts: int
    approved_posts: int
    group_value: int | None  # the community group's last N messages (None: no group)
    group_counted: int | None

    @property
    def share_bp(self) -> int | None:
        return self.value_posts * 10_000 // self.approved_posts if self.approved_posts else None


async def value_shares(*, session: AsyncSession, brand_id: int, now: datetime) -> list[ValueShare]:
    """Per community with posts approved in the last 30 days: value posts / approved posts, and its group's share."""
    since = now - timedelta(days=VALUE_SHARE_DAYS)
    rows = (await session.execute(
        select(Post.community_id, func.count(), func.sum(case((Post.tag == "value", 1), else_=0)))
        .where(Post.brand_id == brand_id, Post.status == "approved", Post.approved_at >= since)
        .group_by(Post.community_id)
    )).all()
    places = await brands.communities_by_ids(session=session, community_ids={r[0] for r in rows})
    out = []
    for community_id, total, value in rows:
        group = await group_of_community(session=session, community_id=community_id)
        share = await balance.current_share(session=session, group=group) if group else None
        out.append(ValueShare(
            community_id=community_id, community_name=places[community_id].name, value_posts=int(value or 0),
            approved_posts=int(total), group_value=share.counted - share.commerce if share else None,
            group_counted=share.counted if share else None,
        ))
    return sorted(out, key=lambda s: s.community_name)
