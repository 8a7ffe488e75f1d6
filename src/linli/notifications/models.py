"""Notifications: a user's in-app inbox (the default channel), and the push outbox — what was pushed (a content,
once), to whom on which channel (a push row each), every attempt to send it, the WeCom robots it goes through and
the channels people muted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, IdMixin, IdType


class Notification(IdMixin, Base):
    """One message in one user's inbox. `dedupe_key` is unique: a redelivered event notifies once."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user", "user_id", "id"),
        Index("ix_notifications_user_unread", "user_id", "read_at"),
    )

    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"))
    brand_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("brands.id"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(String(500))
    order_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("orders.id"))
    link: Mapped[str | None] = mapped_column(String(255))  # a page of linli (/me/groups …) the message points to
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class PushImage(IdMixin, Base):
    """An image a push carries to WeCom (already within the robot's 2 MB), stored once per content hash."""

    __tablename__ = "push_images"

    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    md5: Mapped[str] = mapped_column(String(32))  # what the robot checks the image against
    content_type: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class PushRobot(IdMixin, Base):
    """A WeCom group robot (企业微信群机器人): the brand's own (scope `brand`, one per brand) or a community
    group's (scope `group`). A webhook belongs to one robot row only (`url_hash` is unique), so its 20 messages a
    minute are counted in one place; `paused_until` is set by a 45009 (rate-limited) answer."""

    __tablename__ = "push_robots"
    __table_args__ = (
        Index(
            "uq_push_robots_brand_scope", "brand_id", unique=True,
            sqlite_where=text("scope = 'brand'"), postgresql_where=text("scope = 'brand'"),
        ),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    scope: Mapped[str] = mapped_column(String(8))  # brand, group
    webhook_url: Mapped[str | None] = mapped_column(String(500))  # None: removed (pushes still queued fail)
    url_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    paused_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PushContent(IdMixin, Base):
    """What one `pushes.enqueue` asked to push, once: its text, tag (value / commerce), kind and, when the 70/30
    guideline held it, the commerce share that did. `dedupe_key` is unique per brand: enqueueing again is a no-op."""

    __tablename__ = "push_contents"
    __table_args__ = (UniqueConstraint("brand_id", "dedupe_key"),)

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    dedupe_key: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))  # campaign_kit, session_reminder, group_post …
    tag: Mapped[str] = mapped_column(String(16))  # value, commerce
    title: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(String(2048))
    markdown: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    image_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("push_images.id"))
    group_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("community_groups.id"), index=True)
    held_share_bp: Mapped[int | None]  # the commerce share (basis points) that held it back
    hold_note: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]  # released or discarded
    decided_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    created_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    created_at: Mapped[datetime]


class Push(IdMixin, Base):
    """One delivery: a content to one recipient on one channel — a user's inbox or phone, or a robot (for a robot
    one row per message it takes: the text, and the image when there is one).

    state: pending → sending (claimed by a dispatcher until `next_attempt_at`) → sent / failed; or skipped
    (the recipient muted the channel), held (70/30) → pending on release, or discarded."""

    __tablename__ = "pushes"
    __table_args__ = (
        UniqueConstraint("content_id", "channel", "recipient_key", "part"),
        Index("ix_pushes_due", "channel", "state", "next_attempt_at"),
        Index("ix_pushes_robot_due", "robot_id", "state", "next_attempt_at"),
        Index("ix_pushes_brand", "brand_id", "state", "id"),
    )

    content_id: Mapped[int] = mapped_column(IdType, ForeignKey("push_contents.id"))
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    channel: Mapped[str] = mapped_column(String(8))  # inbox, wecom, sms
    part: Mapped[str] = mapped_column(String(8))  # text, image
    recipient_key: Mapped[str] = mapped_column(String(32))  # user:12 or robot:3
    user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    robot_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("push_robots.id"))
    state: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]  # pending: when it is due; sending: when the claim lapses
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(500))
    reason: Mapped[str | None] = mapped_column(String(200))  # why it failed, was skipped or is held, in Chinese
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]  # sent, failed, skipped or discarded


class PushAttempt(IdMixin, Base):
    """Every time a push was handed to its channel. A robot's attempts of the last minute are what the dispatcher
    counts before it sends that robot anything more."""

    __tablename__ = "push_attempts"
    __table_args__ = (Index("ix_push_attempts_robot", "robot_id", "started_at"),)

    push_id: Mapped[int] = mapped_column(IdType, ForeignKey("pushes.id"), index=True)
    robot_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("push_robots.id"))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(12))  # sent, error, throttled; None while under way
    error: Mapped[str | None] = mapped_column(String(500))


class ChannelMute(IdMixin, Base):
    """A person who does not want a brand's pushes on one channel (站内信 or 短信)."""

    __tablename__ = "push_mutes"
    __table_args__ = (UniqueConstraint("user_id", "brand_id", "channel"),)

    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"))
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    channel: Mapped[str] = mapped_column(String(8))
    muted_at: Mapped[datetime]
