"""The dispatcher: delivers the pushes that are due, in the worker's pass and in `linli deliver-pushes --as-of`,
never inside a request.

- 站内信: a batch of due pushes claimed (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer) and
  delivered in one transaction, each in a savepoint.
- 短信: one push per transaction, the SMS sender called with the row locked (as a login code is sent).
- 企业微信群机器人: per robot, in one short transaction, the robot's row is locked (SKIP LOCKED: another worker
  on it is left to it) and its attempts of the last window counted from the database, so however many workers
  run, a robot is handed at most 20 messages in any minute; that many due pushes are claimed (state `sending`,
  an attempt row, a token, a claim that lapses after twice the timeout and 30 s). The POSTs then go out together
  outside any transaction, and their answers are recorded in a second one. A claim that lapsed (the worker died)
  is taken up again: at least once, never lost.

The window a robot's attempts are counted in is 60 s plus twice the webhook timeout and a second: a request goes out
at most that long after the claim that counted it (connect and send), so in any 60 s the robot receives at most 20.

Answers: sent; an error (timeout, connection, HTTP status, errcode ≠ 0, an SMS outage or limit) is retried after
30 s, 1, 2, 4 … minutes (at most 30) and after MAX_ATTEMPTS attempts the push is failed with its reason; an error
that cannot change (no phone number, a blocked number, a removed robot) fails at once. A 45009 answer is the robot
saying its minute is full: the robot's whole queue waits 60 s and the attempt is not counted against the push.
A recipient who muted the channel is skipped (跳过：已静音).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.context import AppContext
from linli.db import Database
from linli.notifications import preferences
from linli.notifications.channels import (
    FAILED,
    INBOX,
    SENT,
    SMS,
    THROTTLED,
    WECOM,
    WECOM_PER_MINUTE,
    Channel,
    InboxChannel,
    Message,
    Outcome,
    Outgoing,
    SmsChannel,
    WeComChannel,
)
from linli.notifications.models import Push, PushAttempt, PushContent, PushImage, PushRobot
from linli.notifications.pushes import MUTED_REASON
from linli.notifications.robots import WebhookPolicy

MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(minutes=30)
THROTTLE_PAUSE = timedelta(seconds=60)
CLAIM_SLACK = timedelta(seconds=30)
DUE_STATES = ("pending", "sending")  # a `sending` row is due again once its claim lapsed


def backoff(attempts: int) -> timedelta:
    """How long after its `attempts`-th failed attempt a push is tried again."""
    return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, attempts - 1))


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0  # failed this time, tried again later
    failed: int = 0  # for good, with the reason
    skipped: int = 0  # muted
    postponed: int = 0  # the robot answered 45009: its queue waits

    @property
    def done(self) -> int:
        return self.sent + self.retrying + self.failed + self.skipped + self.postponed

    def add(self, other: DeliveryReport) -> None:
        for name in ("sent", "retrying", "failed", "skipped", "postponed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class _Claim:
    push_id: int
    token: str
    attempt_id: int
    robot_id: int
    item: Outgoing


def _due(now: datetime):  # noqa: ANN202 - a SQL condition
    return and_(Push.state.in_(DUE_STATES), Push.next_attempt_at <= now)


def _message(content: PushContent) -> Message:
    return Message(title=content.title, body=content.body, markdown=content.markdown, link=content.link)


def _settle(
    push: Push, attempt: PushAttempt | None, outcome: Outcome, *, now: datetime, report: DeliveryReport
) -> None:
    """Records what the channel answered (all but THROTTLED, which waits for the robot, not for the push)."""
    if attempt is not None:
        attempt.finished_at = now
        attempt.outcome = "sent" if outcome.status == SENT else "error"
        attempt.error = outcome.error[:500] or None
    push.claim_token = None
    if outcome.status == SENT:
        push.state, push.sent_at, push.finished_at, push.next_attempt_at, push.reason = "sent", now, now, None, None
        report.sent += 1
        return
    push.last_error = outcome.error[:500]
    if outcome.status == FAILED or push.attempts >= MAX_ATTEMPTS:
        reason = outcome.error if outcome.status == FAILED else f"重试 {push.attempts} 次仍失败：{outcome.error}"
        push.state, push.finished_at, push.next_attempt_at, push.reason = "failed", now, None, reason[:200]
        report.failed += 1
        return
    push.state, push.next_attempt_at = "pending", now + backoff(push.attempts)
    report.retrying += 1


class Dispatcher:
    def __init__(
        self, *, db: Database, inbox: Channel, sms: Channel, wecom: Channel, policy: WebhookPolicy,
        timeout_seconds: float,
    ) -> None:
        self.db = db
        self.inbox, self.sms, self.wecom = inbox, sms, wecom
        self.policy = policy
        self.timeout = timedelta(seconds=timeout_seconds)

    @classmethod
    def for_context(cls, ctx: AppContext) -> Dispatcher:
        settings = ctx.settings
        return cls(
            db=ctx.db, inbox=InboxChannel(), sms=SmsChannel(ctx.sms_sender, base_url=settings.public_base_url),
            wecom=WeComChannel(
                timeout_seconds=settings.push_webhook_timeout_seconds, base_url=settings.public_base_url
            ),
            policy=WebhookPolicy.of(settings), timeout_seconds=settings.push_webhook_timeout_seconds,
        )

    @property
    def window(self) -> timedelta:
        """How far back a robot's attempts count towards its 20 (see the module's docstring)."""
        return timedelta(seconds=60) + 2 * self.timeout + timedelta(seconds=1)

    async def deliver_due(self, *, now: datetime, batch: int = 100) -> DeliveryReport:
        """One round over what is due at `now`: a batch of 站内信, up to `batch` 短信, each robot's room."""
        report = DeliveryReport()
        async with self.db.read() as session:  # one statement when nothing is due, as on most passes
            flags = (await session.execute(select(*(
                exists().where(Push.channel == channel, _due(now)) for channel in (INBOX, SMS, WECOM)
            )))).one()
        due = {channel for channel, flag in zip((INBOX, SMS, WECOM), flags, strict=True) if flag}
        if INBOX in due:
            await self._deliver_inbox(now=now, batch=batch, report=report)
        if SMS in due:
            await self._deliver_sms(now=now, batch=batch, report=report)
        if WECOM in due:
            await self._deliver_wecom(now=now, report=report)
        return report

    async def _claim(
        self, session: AsyncSession, *, channel: str, now: datetime, limit: int
    ) -> list[tuple[Push, PushContent]]:
        rows = await session.execute(
            select(Push, PushContent).join(PushContent, PushContent.id == Push.content_id)
            .where(Push.channel == channel, _due(now)).order_by(Push.id).limit(limit)
            .with_for_update(skip_locked=True, of=Push)
        )
        return [(push, content) for push, content in rows.all()]

    async def _muted(
        self, session: AsyncSession, rows: list[tuple[Push, PushContent]], channel: str
    ) -> set[tuple[int, int]]:
        by_brand: dict[int, set[int]] = {}
        for push, _ in rows:
            if push.user_id is not None:
                by_brand.setdefault(push.brand_id, set()).add(push.user_id)
        muted: set[tuple[int, int]] = set()
        for brand_id, users in by_brand.items():
            found = await preferences.muted_users(session=session, brand_id=brand_id, channel=channel, user_ids=users)
            muted.update((brand_id, u) for u in found)
        return muted

    @staticmethod
    def _skip(push: Push, *, now: datetime, report: DeliveryReport) -> None:
        push.state, push.reason, push.finished_at, push.next_attempt_at = "skipped", MUTED_REASON, now, None
        report.skipped += 1

    async def _send_here(
        self, session: AsyncSession, channel: Channel, push: Push, item: Outgoing, *, now: datetime,
        report: DeliveryReport,
    ) -> None:
        """Sends through a channel that writes in this transaction; whatever it wrote is undone if it fails."""
        push.attempts += 1
        attempt = PushAttempt(push_id=push.id, robot_id=None, started_at=now)
        session.add(attempt)
        try:
            async with session.begin_nested():
                outcome = await channel.send(item, session=session, now=now)
        except Exception as exc:  # noqa: BLE001 - a failing channel is retried, never lost
            outcome = Outcome("retry", f"{type(exc).__name__}: {exc}")
        _settle(push, attempt, outcome, now=now, report=report)

    async def _deliver_inbox(self, *, now: datetime, batch: int, report: DeliveryReport) -> None:
        async with self.db.transaction() as session:
            rows = await self._claim(session, channel=INBOX, now=now, limit=batch)
            muted = await self._muted(session, rows, INBOX)
            for push, content in rows:
                if (push.brand_id, push.user_id) in muted:
                    self._skip(push, now=now, report=report)
                    continue
                item = Outgoing(push_id=push.id, brand_id=push.brand_id, kind=content.kind, part=push.part,
                                message=_message(content), user_id=push.user_id)
                await self._send_here(session, self.inbox, push, item, now=now, report=report)

    async def _deliver_sms(self, *, now: datetime, batch: int, report: DeliveryReport) -> None:
        for _ in range(batch):
            async with self.db.transaction() as session:
                rows = await self._claim(session, channel=SMS, now=now, limit=1)
                if not rows:
                    return
                [(push, content)] = rows
                if await self._muted(session, rows, SMS):
                    self._skip(push, now=now, report=report)
                    continue
                users = await accounts.users_by_ids(session=session, user_ids={push.user_id or 0})
                user = users.get(push.user_id or 0)
                item = Outgoing(push_id=push.id, brand_id=push.brand_id, kind=content.kind, part=push.part,
                                message=_message(content), user_id=push.user_id, phone=user.phone if user else None)
                await self._send_here(session, self.sms, push, item, now=now, report=report)

    async def _deliver_wecom(self, *, now: datetime, report: DeliveryReport) -> None:
        async with self.db.transaction() as session:
            claims = await self._claim_wecom(session, now=now, report=report)
        if not claims:
            return
        outcomes = await asyncio.gather(*(self.wecom.send(c.item, session=None, now=now) for c in claims))
        async with self.db.transaction() as session:
            for claim, outcome in sorted(zip(claims, outcomes, strict=True), key=lambda pair: pair[0].push_id):
                await self._record_wecom(session, claim, outcome, now=now, report=report)

    async def _claim_wecom(self, session: AsyncSession, *, now: datetime, report: DeliveryReport) -> list[_Claim]:
        robot_ids = list(await session.scalars(
            select(Push.robot_id).where(Push.channel == WECOM, _due(now)).distinct()
        ))
        if not robot_ids:
            return []
        robots = await session.scalars(
            select(PushRobot)
            .where(PushRobot.id.in_(robot_ids), or_(PushRobot.paused_until.is_(None), PushRobot.paused_until <= now))
            .order_by(PushRobot.id).with_for_update(skip_locked=True)
        )
        claims: list[_Claim] = []
        images: dict[int, PushImage] = {}
        for robot in robots.all():
            used = await session.scalar(select(func.count()).select_from(PushAttempt).where(
                PushAttempt.robot_id == robot.id, PushAttempt.started_at > now - self.window
            ))
            room = WECOM_PER_MINUTE - int(used or 0)
            if room <= 0:
                continue
            rows = await session.execute(
                select(Push, PushContent).join(PushContent, PushContent.id == Push.content_id)
                .where(Push.robot_id == robot.id, Push.channel == WECOM, _due(now)).order_by(Push.id).limit(room)
                .with_for_update(skip_locked=True, of=Push)
            )
            for push, content in rows.all():
                url = robot.webhook_url
                if not url or not self.policy.allows(url):
                    reason = "群机器人已移除" if not url else "群机器人地址不在允许的范围内（LINLI_WECOM_WEBHOOK_HOSTS）"
                    _settle(push, None, Outcome(FAILED, reason), now=now, report=report)
                    continue
                image = None
                if push.part == "image" and content.image_id is not None:
                    image = images.get(content.image_id) or await session.get(PushImage, content.image_id)
                    assert image is not None
                    images[content.image_id] = image
                push.state, push.attempts = "sending", push.attempts + 1
                push.claim_token = secrets.token_hex(16)
                push.next_attempt_at = now + 2 * self.timeout + CLAIM_SLACK
                attempt = PushAttempt(push_id=push.id, robot_id=robot.id, started_at=now)
                session.add(attempt)
                await session.flush()
                item = Outgoing(
                    push_id=push.id, brand_id=push.brand_id, kind=content.kind, part=push.part,
                    message=_message(content), webhook_url=url, image=image.data if image else None,
                    image_md5=image.md5 if image else None,
                )
                claims.append(_Claim(push_id=push.id, token=push.claim_token, attempt_id=attempt.id, robot_id=robot.id,
                                     item=item))
        return claims

    async def _record_wecom(
        self, session: AsyncSession, claim: _Claim, outcome: Outcome, *, now: datetime, report: DeliveryReport
    ) -> None:
        push = await session.get(Push, claim.push_id, with_for_update=True, populate_existing=True)
        attempt = await session.get(PushAttempt, claim.attempt_id)
        assert push is not None and attempt is not None
        if push.claim_token != claim.token:  # the claim lapsed and another dispatcher has the push now
            attempt.finished_at, attempt.outcome, attempt.error = now, "late", outcome.error[:500] or None
            return
        if outcome.status != THROTTLED:
            _settle(push, attempt, outcome, now=now, report=report)
            return
        robot = await session.get(PushRobot, claim.robot_id, with_for_update=True, populate_existing=True)
        assert robot is not None
        resume = now + THROTTLE_PAUSE
        robot.paused_until = max(robot.paused_until, resume) if robot.paused_until else resume
        attempt.finished_at, attempt.outcome, attempt.error = now, "throttled", outcome.error[:500]
        push.state, push.attempts, push.claim_token = "pending", push.attempts - 1, None
        push.next_attempt_at, push.last_error = robot.paused_until, outcome.error[:500]
        report.postponed += 1
