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


class MemberBirthday(Base):
    """A member's own birthday (month and day, the year if they gave it), for the care job's greeting. Members set
    it themselves; leaders never see it and staff only count it."""

    __tablename__ = "member_birthdays"
    __table_args__ = (Index("ix_member_birthdays_day", "brand_id", "month", "day", "member_id"),)

    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"), primary_key=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    month: Mapped[int]
    day: Mapped[int]
    year: Mapped[int | None]
    updated_at: Mapped[datetime]


class CareOccasion(IdMixin, Base):
    """关怀时刻: the brand's birthday occasion (one per brand) or one of its holidays. A holiday falls on `month`/`day`
    every year, or only in `year` when set (a lunar holiday, entered again each year)."""

    __tablename__ = "care_occasions"
    __table_args__ = (Index("ix_care_occasions_brand", "brand_id", "kind", "id"),)

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    kind: Mapped[str] = mapped_column(String(16))  # birthday, holiday
    name: Mapped[str] = mapped_column(String(32))
    month: Mapped[int | None]  # a holiday's date; None for the birthday occasion
    day: Mapped[int | None]
    year: Mapped[int | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    coupon_template_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("coupon_templates.id"))
    greeting: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CareDelivery(IdMixin, Base):
    """One greeting (and its coupon) to one member for one occasion in one year: the once-per rule's last line of
    defence, written in the same transaction as the coupon and the push."""

    __tablename__ = "care_deliveries"
    __table_args__ = (UniqueConstraint("occasion_id", "member_id", "year"),)

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    occasion_id: Mapped[int] = mapped_column(IdType, ForeignKey("care_occasions.id"))
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"))
    year: Mapped[int]
    local_day: Mapped[str] = mapped_column(String(10))  # the brand's local date it was for
    coupon_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("coupons.id"))
    coupon_note: Mapped[str | None] = mapped_column(String(64))  # why no coupon came (quota exhausted …)
    push_content_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("push_contents.id"))
    delivered_at: Mapped[datetime]
