"""WeCom group robots: where their webhooks may point, and the robot rows pushes are queued on.

A webhook is a secret (whoever holds it can post to the group) and an address linli's workers will call, so it
is checked before it is kept: `https://` to one of LINLI_WECOM_WEBHOOK_HOSTS (by default WeCom's own
`qyapi.weixin.qq.com`), nothing else — except, in development mode only, `http(s)://` to this machine's
loopback (a local stand-in, the tests). Pages and answers show it masked (`mask_webhook`).

A brand has at most one robot of its own (scope `brand`: e.g. its leaders' group); each community group may have
one (scope `group`, its row kept by the community context). A robot keeps its row when its webhook changes, so the
pushes queued on it follow the new address; removing the webhook leaves the row without one, and what is still
queued on it fails with its reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from linli.catalog.service import is_http_url
from linli.config import Settings
from linli.errors import Conflict, InvalidInput, NotFound
from linli.notifications.models import PushRobot
from linli.preflight import is_loopback

SCOPES = ("brand", "group")


@dataclass(frozen=True)
class WebhookPolicy:
    hosts: tuple[str, ...]
    allow_loopback: bool  # development mode: a stand-in on this machine

    @classmethod
    def of(cls, settings: Settings) -> WebhookPolicy:
        return cls(hosts=settings.wecom_hosts, allow_loopback=settings.dev_mode)

    def allows(self, url: str) -> bool:
        if not is_http_url(url):
            return False
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.username is not None or parts.password is not None:
            return False
        if is_loopback(host):
            return self.allow_loopback
        return parts.scheme == "https" and host in self.hosts and parts.port in (None, 443)


def clean_webhook_url(value: str, *, policy: WebhookPolicy) -> str:
    value = value.strip()
    if not policy.allows(value):
        raise InvalidInput(
            "群机器人地址须为企业微信的 https 地址，如 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
            code="webhook_url_invalid",
        )
    return value


def robot_identity(url: str) -> str:
    """One robot, however its address is written: the host and its `key` (the whole address when it has none)."""
    parts = urlsplit(url)
    keys = parse_qs(parts.query).get("key")
    name = f"{(parts.hostname or '').lower()}|{keys[0]}" if keys else url
    return hashlib.sha256(name.encode()).hexdigest()


def mask_webhook(url: str | None) -> str:
    """The address as staff see it once saved: the host and the key's last 4 characters."""
    if not url:
        return ""
    parts = urlsplit(url)
    keys = parse_qs(parts.query).get("key")
    tail = keys[0][-4:] if keys and keys[0] else ""
    return f"{parts.scheme}://{parts.netloc}{parts.path}?key=****{tail}"


async def get_robot(*, session: AsyncSession, brand_id: int, robot_id: int, for_update: bool = False) -> PushRobot:
    robot = await session.get(PushRobot, robot_id, with_for_update=for_update, populate_existing=for_update)
    if robot is None or robot.brand_id != brand_id:
        raise NotFound("群机器人不存在", code="robot_not_found")
    return robot


async def brand_robot(*, session: AsyncSession, brand_id: int) -> PushRobot | None:
    return await session.scalar(select(PushRobot).where(PushRobot.brand_id == brand_id, PushRobot.scope == "brand"))


async def save_robot(
    *, session: AsyncSession, brand_id: int, robot: PushRobot | None, scope: str, url: str | None,
    policy: WebhookPolicy, now: datetime,
) -> PushRobot | None:
    """Points `robot` (a new one when None) at `url`, checked; an empty `url` removes the webhook. A webhook that
    another robot already has is a 409: its minute's 20 messages must be counted on one row."""
    assert scope in SCOPES
    cleaned = clean_webhook_url(url, policy=policy) if url and url.strip() else None
    if robot is None and cleaned is None:
        return None
    identity = robot_identity(cleaned) if cleaned else None
    if identity is not None:
        taken = await session.scalar(select(PushRobot.id).where(PushRobot.url_hash == identity))
        if taken is not None and (robot is None or taken != robot.id):
            raise Conflict("这个群机器人已用于本品牌或其他品牌的另一个群", code="webhook_in_use")
    if robot is None:
        robot = PushRobot(brand_id=brand_id, scope=scope, created_at=now)
    robot.webhook_url, robot.url_hash, robot.updated_at = cleaned, identity, now
    try:
        async with session.begin_nested():
            session.add(robot)
            await session.flush()
    except IntegrityError as exc:  # a concurrent save of the same webhook (or of the brand's robot) won
        raise Conflict("这个群机器人已用于本品牌或其他品牌的另一个群", code="webhook_in_use") from exc
    return robot


async def set_brand_robot(
    *, session: AsyncSession, brand_id: int, url: str | None, policy: WebhookPolicy, now: datetime
) -> PushRobot | None:
    """The brand's own robot (pushes with channel `wecom` and no recipient or group go to it)."""
    current = await brand_robot(session=session, brand_id=brand_id)
    return await save_robot(
        session=session, brand_id=brand_id, robot=current, scope="brand", url=url, policy=policy, now=now
    )
