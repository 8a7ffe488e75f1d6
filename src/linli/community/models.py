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
