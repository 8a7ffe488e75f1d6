"""Community groups: each community's group (its name, how to join, its robot, its 70/30 ceiling), the messages
the guideline counts, and who was invited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, IdMixin, IdType

DEFAULT_COMMERCE_CEILING_BP = 3000  # 30% commerce, 70% value
DEFAULT_WINDOW_MESSAGES = 10  # of the group's last 10 messages


class CommunityGroup(IdMixin, Base):
    """One community's group (小区邻居群, e.g. 云顶华府·优邻优选品质生活圈): at most one per community."""

    __tablename__ = "community_groups"

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), index=True)
    community_id: Mapped[int] = mapped_column(IdType, ForeignKey("communities.id"), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    join_url: Mapped[str | None] = mapped_column(String(500))  # the WeChat group's invite link; its QR is drawn from it
    robot_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("push_robots.id"))
    commerce_ceiling_bp: Mapped[int] = mapped_column(default=DEFAULT_COMMERCE_CEILING_BP)
    window_messages: Mapped[int] = mapped_column(default=DEFAULT_WINDOW_MESSAGES)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ready_at: Mapped[datetime | None]  # when it first had a join link: members waiting for it were invited then


class GroupMessage(IdMixin, Base):
    """A message the group received (a push, later a UGC post), with its tag: the 70/30 guideline reads the last N."""

    __tablename__ = "community_group_messages"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        Index("ix_community_group_messages_group", "group_id", "id"),
    )

    group_id: Mapped[int] = mapped_column(IdType, ForeignKey("community_groups.id"))
    tag: Mapped[str] = mapped_column(String(16))  # value, commerce
    source: Mapped[str] = mapped_column(String(8))  # push, post
    source_id: Mapped[int] = mapped_column(IdType)
    created_at: Mapped[datetime]


class GroupInvite(IdMixin, Base):
    """A member invited into their community's group after their first paid order: once per member (unique)."""

    __tablename__ = "community_invites"

    group_id: Mapped[int] = mapped_column(IdType, ForeignKey("community_groups.id"), index=True)
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"), unique=True)
    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("orders.id"))
    invited_at: Mapped[datetime]


class Post(IdMixin, Base):
    """A member's UGC post to their community's feed: a 晒单 (of an order, optionally linked) or a 食谱. Pending until
    the brand's staff approve it (then the feed shows it) or hide it (with a reason the author is told); `featured_at`
    is set once, on an approved post, when its reward coupon is issued."""

    __tablename__ = "community_posts"
    __table_args__ = (
        Index("ix_community_posts_feed", "community_id", "status", "approved_at"),
        Index("ix_community_posts_queue", "brand_id", "status", "id"),
        Index("ix_community_posts_author", "member_id", "id"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    community_id: Mapped[int] = mapped_column(IdType, ForeignKey("communities.id"))
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"))
    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"))
    order_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("orders.id"))
    kind: Mapped[str] = mapped_column(String(8))  # show (晒单), recipe (食谱)
    tag: Mapped[str] = mapped_column(String(16))  # value, commerce (70/30)
    title: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(16))  # pending, approved, hidden
    hide_reason: Mapped[str | None] = mapped_column(String(200))
    moderated_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    moderated_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    featured_at: Mapped[datetime | None]
    featured_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    reward_coupon_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("coupons.id"), unique=True)
    created_at: Mapped[datetime]


class PostPhoto(IdMixin, Base):
    """One photo of a post, in the storage under `storage_key`, served only to who may read the post."""

    __tablename__ = "community_post_photos"
    __table_args__ = (UniqueConstraint("post_id", "position"),)

    post_id: Mapped[int] = mapped_column(IdType, ForeignKey("community_posts.id"))
    position: Mapped[int]
    storage_key: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int]


class UgcSettings(Base):
    """The brand's UGC reward: the coupon template a featured post's author receives (none: featuring is refused)."""

    __tablename__ = "community_ugc_settings"

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), primary_key=True)
    reward_template_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("coupon_templates.id"))
    updated_at: Mapped[datetime]
