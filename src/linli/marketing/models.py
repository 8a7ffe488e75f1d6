"""Campaign kits (直播作战包): the brand's copy templates, each session's campaign settings (its template and
the cover drawn on its posters), and one kit per leader per session, remade in place when what it says changes.
Interest groups (兴趣小组): rules over members' purchases and the members they found."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, Fen, IdMixin, IdType


class CopyTemplate(IdMixin, Base):
    """预告话术 written by the brand, with placeholders ({团长}, {小区} …) filled per leader."""

    __tablename__ = "copy_templates"
    __table_args__ = (Index("ix_copy_templates_brand", "brand_id", "id"),)

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    name: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(String(1000))
    is_default: Mapped[bool] = mapped_column(default=False)  # the brand's template for a session that names none
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SessionCampaign(IdMixin, Base):
    """What a session's kits are made from beyond the session itself: a chosen template and an uploaded cover."""

    __tablename__ = "session_campaigns"

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    session_id: Mapped[int] = mapped_column(IdType, ForeignKey("live_sessions.id"), unique=True)
    copy_template_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("copy_templates.id"))
    cover_key: Mapped[str | None] = mapped_column(String(200))  # in the file storage
    cover_sha256: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class CampaignKit(IdMixin, Base):
    """One leader's kit for one session. `fingerprint` hashes everything the kit shows; a change of any of it
    remakes this row (version + 1), never a second row."""

    __tablename__ = "campaign_kits"
    __table_args__ = (
        UniqueConstraint("session_id", "leader_id"),
        Index("ix_campaign_kits_leader", "leader_id", "session_id"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    session_id: Mapped[int] = mapped_column(IdType, ForeignKey("live_sessions.id"))
    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"))
    status: Mapped[str] = mapped_column(String(16))  # current, withdrawn (session cancelled, leader left)
    leader_name: Mapped[str] = mapped_column(String(32))  # as the poster names the leader (public)
    badge: Mapped[str] = mapped_column(String(100))
    invite_code: Mapped[str] = mapped_column(String(16))
    invite_link: Mapped[str] = mapped_column(String(300))
    copy_text: Mapped[str] = mapped_column(String(2000))
    fingerprint: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    made_at: Mapped[datetime]
    remade_at: Mapped[datetime]
    reminded: Mapped[str] = mapped_column(String(64), default="")  # the last reminder sent: "1h:<start>" (announcements)


class InterestGroup(IdMixin, Base):
    """兴趣小组: members whose recent purchases lean to some categories or products (健身轻食组, 宝妈育儿组). The rule
    is recomputed on schedule; pushes and coupons can target the group's members."""

    __tablename__ = "interest_groups"
    __table_args__ = (UniqueConstraint("brand_id", "name"),)

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    name: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16))  # active, archived
    category_ids: Mapped[list[int]] = mapped_column(JSON)  # the focus: categories, or else products
    product_ids: Mapped[list[int]] = mapped_column(JSON)
    window_days: Mapped[int]
    min_share_bp: Mapped[int]  # of the member's spend in the window, in basis points
    min_focus_fen: Mapped[Fen]
    min_focus_orders: Mapped[int]
    member_count: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime | None]  # the `as of` of the last recomputation
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class InterestMember(Base):
    """One member in one interest group, since the recomputation that first found them there."""

    __tablename__ = "interest_members"
    __table_args__ = (Index("ix_interest_members_member", "member_id"),)

    group_id: Mapped[int] = mapped_column(IdType, ForeignKey("interest_groups.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"), primary_key=True)
    joined_at: Mapped[datetime]
