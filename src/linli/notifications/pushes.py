"""Pushes: what a brand (or linli on its behalf: campaign kits, reminders) sends people or groups, queued in the
caller's transaction and delivered later by the worker (`delivery.py`), never inside a request.

`enqueue` writes the content once (`push_contents`, unique per brand by `dedupe_key`: enqueueing the same key
again, a redelivered event or a double click, writes nothing and answers what the first call wrote) and one push
row per recipient per channel (`pushes`). Everything is checked first, so a refusal (422, or 413 for an image
handed in over 20 MB) writes nothing:

- recipients: users who are members of the brand (leaders are), on `channel` `inbox` (the default) or `sms`;
- a robot: `robot_id` (a community group's, passed by `linli.community.group_pushes`) or, with `channel="wecom"`
  and no recipient, the brand's own robot; a robot gets one row for the text and one for the image, if any;
- a message too large for a channel it goes on is refused (`channels.refuse_oversized`); an image over the
  robot's 2 MB is recompressed to fit (`channels.fit_image`); an image is kept only when a robot will send it.

A push comes with a tag, `value` or `commerce` (the 70/30 guideline: `linli.community.balance`), and may be
enqueued held (`hold`): its rows wait as `held` until the brand releases or discards it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.catalog.service import is_http_url
from linli.db import id_chunks, insert_unique
from linli.errors import Conflict, InvalidInput, NotFound
from linli.members.models import Member
from linli.notifications import channels, robots
from linli.notifications.channels import CHANNELS, INBOX, WECOM, Message
from linli.notifications.models import Push, PushContent, PushImage
from linli.pagination import PageParams
from linli.security import mask_phone

TAGS = ("value", "commerce")
TAG_TEXT = {"value": "价值内容", "commerce": "商业内容"}
STATES = ("pending", "sending", "sent", "failed", "held", "skipped", "discarded")
STATE_TEXT = {
    "pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败", "held": "已暂扣",
    "skipped": "已跳过", "discarded": "已丢弃",
}
# What the console filters by: "pending" covers the pushes being sent right now.
STATE_FILTERS = {"pending": ("pending", "sending"), "sent": ("sent",), "failed": ("failed",), "held": ("held",),
                 "skipped": ("skipped",), "discarded": ("discarded",)}
MUTED_REASON = "跳过：已静音"
DISCARDED_REASON = "品牌已丢弃（70/30 暂扣）"
KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_BODY = 2000
MAX_LINK = 255
MAX_RECIPIENTS = 100_000


@dataclass(frozen=True)
class Hold:
    """Why a push waits for the brand: the commerce share it would have made, in words for the console."""

    share_bp: int
    note: str


@dataclass(frozen=True)
class Enqueued:
    content: PushContent
    pushes: list[Push]
    created: bool  # False: the dedupe key had been used; nothing was written

    @property
    def held(self) -> bool:
        return self.content.held_share_bp is not None and self.content.decided_at is None


def clean_link(link: str | None) -> str | None:
    """A page of linli (`/me/groups`, never `//host`) or an https address; anything else (javascript:, http:) 422."""
    if link is None or not link.strip():
        return None
    link = link.strip()
    is_path = link.startswith("/") and not link.startswith("//") and "\\" not in link
    ok = len(link) <= MAX_LINK and not any(ch.isspace() or ord(ch) < 32 for ch in link) and (
        is_path or (link.startswith("https://") and is_http_url(link))
    )
    if not ok:
        raise InvalidInput("推送链接须为本站页面路径（/…）或 https 地址，最多 255 个字符", code="push_link_invalid")
    return link


def _clean_text(title: str, body: str, markdown: str | None) -> tuple[str, str, str | None]:
    title, body = title.strip(), body.strip()
    if not title or len(title) > 64:
        raise InvalidInput("推送标题须为 1 到 64 个字", code="push_title_invalid")
    if not body or len(body) > MAX_BODY:
        raise InvalidInput(f"推送内容须为 1 到 {MAX_BODY} 个字", code="push_body_invalid")
    markdown = markdown.strip() if markdown is not None and markdown.strip() else None
    return title, body, markdown


def check_tag(tag: str) -> str:
    if tag not in TAGS:
        raise InvalidInput("推送须标为价值内容（value）或商业内容（commerce）", code="push_tag_invalid")
    return tag


async def find_content(*, session: AsyncSession, brand_id: int, dedupe_key: str) -> PushContent | None:
    return await session.scalar(
        select(PushContent).where(PushContent.brand_id == brand_id, PushContent.dedupe_key == dedupe_key)
    )


async def pushes_of(*, session: AsyncSession, content_id: int) -> list[Push]:
    return list(await session.scalars(select(Push).where(Push.content_id == content_id).order_by(Push.id)))


async def _members_only(session: AsyncSession, *, brand_id: int, user_ids: list[int]) -> None:
    known: set[int] = set()
    for chunk in id_chunks(user_ids):
        known.update(await session.scalars(
            select(Member.user_id).where(Member.brand_id == brand_id, Member.user_id.in_(chunk))
        ))
    strangers = [u for u in user_ids if u not in known]
    if strangers:
        raise InvalidInput(
            "接收人须为本品牌的用户", code="push_recipient_unknown", details={"user_ids": strangers[:20]}
        )


async def _targets(
    session: AsyncSession, *, brand_id: int, recipients: Sequence[int], channel: str | None, robot_id: int | None,
    group_id: int | None,
) -> list[tuple[str, str, int | None, int | None]]:
    """(channel, recipient key, user id, robot id) of each recipient, checked."""
    if channel is not None and channel not in CHANNELS:
        raise InvalidInput("推送渠道只能是 inbox、wecom 或 sms", code="push_channel_invalid")
    users = sorted(set(recipients))
    if users and robot_id is not None:
        raise InvalidInput("一条推送要么发给个人，要么发到群", code="push_audience_invalid")
    if users:
        if channel == WECOM:
            raise InvalidInput("企业微信群机器人只能发到群，不能发给个人", code="push_channel_invalid")
        if len(users) > MAX_RECIPIENTS:
            raise InvalidInput(f"一次最多推送给 {MAX_RECIPIENTS} 人", code="push_audience_invalid")
        await _members_only(session, brand_id=brand_id, user_ids=users)
        name = channel or INBOX
        return [(name, f"user:{u}", u, None) for u in users]
    if robot_id is None and channel == WECOM:
        robot = await robots.brand_robot(session=session, brand_id=brand_id)
        if robot is None or not robot.webhook_url:
            raise InvalidInput("品牌还没有设置企业微信群机器人", code="push_no_robot")
        robot_id = robot.id
    if robot_id is not None:
        if channel not in (None, WECOM):
            raise InvalidInput("发到群机器人的推送只能走企业微信渠道", code="push_channel_invalid")
        robot = await robots.get_robot(session=session, brand_id=brand_id, robot_id=robot_id)
        if not robot.webhook_url:
            raise InvalidInput("该群机器人已移除", code="push_no_robot")
        return [(WECOM, f"robot:{robot_id}", None, robot_id)]
    if group_id is not None:
        return []  # a group nobody can receive yet: the content is kept, there is no one to send it to
    raise InvalidInput("请指定推送的接收人或群", code="push_audience_invalid")


async def _image_row(session: AsyncSession, data: bytes, *, now: datetime) -> PushImage:
    fitted = channels.fit_image(data)
    existing = await session.scalar(select(PushImage).where(PushImage.sha256 == fitted.sha256))
    if existing is not None:
        return existing
    row = PushImage(sha256=fitted.sha256, md5=fitted.md5, content_type=fitted.content_type,
                    size_bytes=len(fitted.data), data=fitted.data, created_at=now)
    if await insert_unique(session, row):
        return row
    again = await session.scalar(select(PushImage).where(PushImage.sha256 == fitted.sha256))
    assert again is not None
    return again


async def enqueue(
    *,
    session: AsyncSession,
    brand_id: int,
    title: str,
    body: str,
    tag: str,
    kind: str,
    dedupe_key: str,
    now: datetime,
    base_url: str,
    recipients: Sequence[int] = (),
    channel: str | None = None,
    robot_id: int | None = None,
    group_id: int | None = None,
    markdown: str | None = None,
    image_png: bytes | None = None,
    link: str | None = None,
    hold: Hold | None = None,
    created_by_user_id: int | None = None,
) -> Enqueued:
    """Queues a push in the caller's transaction (see the module's docstring); `base_url` is
    LINLI_PUBLIC_BASE_URL, which turns a link's path into an address a robot's group or a phone can open."""
    check_tag(tag)
    if not KIND.match(kind):
        raise InvalidInput("推送类型须为小写字母、数字和下划线，最多 32 个字符", code="push_kind_invalid")
    if not 0 < len(dedupe_key) <= 128:
        raise InvalidInput("推送去重键须为 1 到 128 个字符", code="push_dedupe_key_invalid")
    title, body, markdown = _clean_text(title, body, markdown)
    link = clean_link(link)
    existing = await find_content(session=session, brand_id=brand_id, dedupe_key=dedupe_key)
    if existing is not None:
        rows = await pushes_of(session=session, content_id=existing.id)
        return Enqueued(content=existing, pushes=rows, created=False)
    targets = await _targets(
        session, brand_id=brand_id, recipients=recipients, channel=channel, robot_id=robot_id, group_id=group_id
    )
    message = Message(title=title, body=body, markdown=markdown, link=link)
    for name in sorted({t[0] for t in targets}):
        channels.refuse_oversized(name, message, base_url=base_url)
    to_robot = any(t[0] == WECOM for t in targets)
    image = await _image_row(session, image_png, now=now) if image_png and to_robot else None
    content = PushContent(
        brand_id=brand_id, dedupe_key=dedupe_key, kind=kind, tag=tag, title=title, body=body, markdown=markdown,
        link=link, image_id=image.id if image else None, group_id=group_id,
        held_share_bp=hold.share_bp if hold else None, hold_note=hold.note[:200] if hold else None,
        created_by_user_id=created_by_user_id, created_at=now,
    )
    if not await insert_unique(session, content):  # a concurrent enqueue of the same key won
        first = await find_content(session=session, brand_id=brand_id, dedupe_key=dedupe_key)
        assert first is not None
        return Enqueued(content=first, pushes=await pushes_of(session=session, content_id=first.id), created=False)
    rows = []
    for name, key, user_id, target_robot in targets:
        for part in ("text", "image") if name == WECOM and image is not None else ("text",):
            rows.append(Push(
                content_id=content.id, brand_id=brand_id, channel=name, part=part, recipient_key=key, user_id=user_id,
                robot_id=target_robot, state="held" if hold else "pending", attempts=0,
                next_attempt_at=None if hold else now, reason=hold.note[:200] if hold else None, created_at=now,
            ))
    session.add_all(rows)
    await session.flush()
    return Enqueued(content=content, pushes=rows, created=True)


# --- the brand's view -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushRow:
    push: Push
    content: PushContent


def check_state_filter(state: str | None) -> tuple[str, ...] | None:
    if not state:
        return None
    if state not in STATE_FILTERS:
        raise InvalidInput("状态只能是 pending、sent、failed、held、skipped 或 discarded", code="push_state_invalid")
    return STATE_FILTERS[state]


async def list_pushes(
    *, session: AsyncSession, brand_id: int, state: str | None, params: PageParams, group_id: int | None = None
) -> tuple[list[PushRow], int]:
    """The brand's pushes, newest first, by state (`STATE_FILTERS`) and group if asked."""
    states = check_state_filter(state)
    query = (
        select(Push, PushContent).join(PushContent, PushContent.id == Push.content_id)
        .where(Push.brand_id == brand_id).order_by(Push.id.desc())
    )
    count = select(func.count()).select_from(Push).join(PushContent, PushContent.id == Push.content_id).where(
        Push.brand_id == brand_id
    )
    if states is not None:
        query, count = query.where(Push.state.in_(states)), count.where(Push.state.in_(states))
    if group_id is not None:
        query, count = query.where(PushContent.group_id == group_id), count.where(PushContent.group_id == group_id)
    total = int(await session.scalar(count) or 0)
    rows = (await session.execute(query.limit(params.page_size).offset(params.offset))).all()
    return [PushRow(push=p, content=c) for p, c in rows], total


async def recipient_labels(*, session: AsyncSession, rows: list[PushRow]) -> dict[int, str]:
    """What the brand reads as each push's recipient (by push id): the person's name and masked phone, or 群机器人."""
    users = await accounts.users_by_ids(session=session, user_ids={r.push.user_id for r in rows if r.push.user_id})
    labels = {}
    for row in rows:
        user = users.get(row.push.user_id) if row.push.user_id is not None else None
        if user is None:
            labels[row.push.id] = "群机器人" if row.push.robot_id is not None else ""
            continue
        phone = mask_phone(user.phone) if user.phone else ""
        both = user.display_name and phone
        labels[row.push.id] = f"{user.display_name}（{phone}）" if both else (user.display_name or phone)
    return labels


async def state_counts(*, session: AsyncSession, brand_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(Push.state, func.count()).where(Push.brand_id == brand_id).group_by(Push.state)
    )
    by_state = {state: int(n) for state, n in rows.all()}
    return {name: sum(by_state.get(s, 0) for s in states) for name, states in STATE_FILTERS.items()}


async def held_content(*, session: AsyncSession, brand_id: int, push_id: int) -> PushContent:
    """The content of one of the brand's pushes, locked, if it is held (another brand's push is a 404)."""
    push = await session.get(Push, push_id)
    if push is None or push.brand_id != brand_id:
        raise NotFound("推送不存在", code="push_not_found")
    content = await session.get(PushContent, push.content_id, with_for_update=True, populate_existing=True)
    assert content is not None
    if content.held_share_bp is None or content.decided_at is not None:
        raise Conflict("该推送没有被暂扣，无需放行或丢弃", code="push_not_held")
    return content


async def release_held(*, session: AsyncSession, content: PushContent, actor_user_id: int, now: datetime) -> int:
    """The held rows of `content` become due now; the caller has re-checked what held them."""
    content.decided_at, content.decided_by_user_id = now, actor_user_id
    result = await session.execute(
        update(Push).where(Push.content_id == content.id, Push.state == "held")
        .values(state="pending", next_attempt_at=now, reason=None)
    )
    return result.rowcount or 0


async def discard_held(*, session: AsyncSession, content: PushContent, actor_user_id: int, now: datetime) -> int:
    content.decided_at, content.decided_by_user_id = now, actor_user_id
    result = await session.execute(
        update(Push).where(Push.content_id == content.id, Push.state == "held")
        .values(state="discarded", finished_at=now, reason=DISCARDED_REASON)
    )
    return result.rowcount or 0
