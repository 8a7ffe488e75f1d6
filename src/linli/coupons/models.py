"""Coupons: the brand's templates, the coupons issued from them to members, and what redeemed each one.

- `CouponTemplate`: the terms (fixed amount, or a percentage off with a cap), the threshold, the validity (an
  absolute window or N days from issuing), the per-member limit, the optional total quota (`issued_count` moves
  only by a guarded UPDATE) and the scope (all, one category, product, live session or community).
- `CouponAllowance`: how many coupons of a template one member has been issued, the per-member limit's counter
  (one guarded upsert per coupon).
- `Coupon`: one member's coupon, its validity snapshotted at issue, `available` or `used`; "expired" is computed
  from `valid_until` (docs/coupons.md). Unique per (template, member, source key): issuing is idempotent.
- `CouponRedemption`: the order that redeemed a coupon and the discount it gave; released when the order is
  cancelled, expires or is refunded in full. At most one unreleased redemption per coupon (partial unique index).
- `CouponRule` (issue on an event, e.g. `member.bound`) and `CouponCampaign` (one template to an audience).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, Fen, IdMixin, IdType

KINDS = ("fixed", "percent")
SCOPES = ("all", "category", "product", "session", "community")


class CouponTemplate(IdMixin, Base):
    __tablename__ = "coupon_templates"
    __table_args__ = (
        Index("ix_coupon_templates_brand", "brand_id", "id"),
        CheckConstraint("kind IN ('fixed', 'percent')", name="kind_known"),
        CheckConstraint(
            "(kind = 'fixed' AND amount_fen > 0 AND percent_off_bp IS NULL AND cap_fen IS NULL)"
            " OR (kind = 'percent' AND amount_fen IS NULL AND percent_off_bp BETWEEN 1 AND 9999 AND cap_fen > 0)",
            name="terms_complete",
        ),
        CheckConstraint("threshold_fen >= 0", name="threshold_not_negative"),
        CheckConstraint(
            "(valid_days IS NULL AND valid_from IS NOT NULL AND valid_until > valid_from)"
            " OR (valid_days > 0 AND valid_from IS NULL AND valid_until IS NULL)",
            name="validity_complete",
        ),
        CheckConstraint("per_member_limit >= 1", name="per_member_limit_positive"),
        CheckConstraint("issue_quota IS NULL OR (issue_quota >= 1 AND issued_count <= issue_quota)", name="quota_kept"),
        CheckConstraint("issued_count >= 0", name="issued_not_negative"),
        CheckConstraint(
            "scope IN ('all', 'category', 'product', 'session', 'community')"
            " AND ((scope = 'all') = (scope_id IS NULL))",
            name="scope_known",
        ),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    name: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # fixed, percent
    amount_fen: Mapped[Fen | None]  # fixed: the amount taken off
    percent_off_bp: Mapped[int | None]  # percent: basis points taken off (1000 = 10% off, 9折)
    cap_fen: Mapped[Fen | None]  # percent: the most it takes off
    threshold_fen: Mapped[Fen] = mapped_column(default=0)  # the order's total must reach it (0: none)
    valid_from: Mapped[datetime | None]  # an absolute window …
    valid_until: Mapped[datetime | None]
    valid_days: Mapped[int | None]  # … or this many days from issuing
    per_member_limit: Mapped[int]
    issue_quota: Mapped[int | None]  # None: no limit on the coupons issued
    issued_count: Mapped[int] = mapped_column(default=0)
    scope: Mapped[str] = mapped_column(String(16))  # all, category, product, session, community
    scope_id: Mapped[int | None] = mapped_column(IdType)  # the category, product, session or community
    status: Mapped[str] = mapped_column(String(16), default="active")  # active, disabled (issues no more)
    created_at: Mapped[datetime]
    created_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    disabled_at: Mapped[datetime | None]


class CouponAllowance(Base):
    """The per-member limit's counter: taken by one guarded upsert (`issued < limit`), so two concurrent issues
    to one member cannot both pass it."""

    __tablename__ = "coupon_allowances"
    __table_args__ = (CheckConstraint("issued >= 1", name="issued_positive"),)

    template_id: Mapped[int] = mapped_column(IdType, ForeignKey("coupon_templates.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"), primary_key=True)
    issued: Mapped[int]


class Coupon(IdMixin, Base):
    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("template_id", "member_id", "source_key"),
        Index("ix_coupons_member_status", "member_id", "status", "valid_until"),
        Index("ix_coupons_template_status", "template_id", "status"),
        CheckConstraint("status IN ('available', 'used')", name="status_known"),
        CheckConstraint("valid_until > valid_from", name="window_not_empty"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    template_id: Mapped[int] = mapped_column(IdType, ForeignKey("coupon_templates.id"))
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"))
    status: Mapped[str] = mapped_column(String(16))  # available, used
    source: Mapped[str] = mapped_column(String(16))  # manual, rule, campaign, care, ugc
    source_key: Mapped[str] = mapped_column(String(96))
    issued_at: Mapped[datetime]
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]  # usable while valid_from <= now < valid_until
    used_at: Mapped[datetime | None]


class CouponRedemption(IdMixin, Base):
    __tablename__ = "coupon_redemptions"
    __table_args__ = (
        # The last line of defence behind the guarded UPDATE of the coupon: one holding order per coupon.
        Index(
            "uq_coupon_redemptions_holding", "coupon_id", unique=True,
            sqlite_where=text("released_at IS NULL"), postgresql_where=text("released_at IS NULL"),
        ),
        Index("ix_coupon_redemptions_brand", "brand_id", "coupon_id"),
        CheckConstraint("discount_fen >= 0", name="discount_not_negative"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    coupon_id: Mapped[int] = mapped_column(IdType, ForeignKey("coupons.id"))
    order_id: Mapped[int] = mapped_column(IdType, ForeignKey("orders.id"), unique=True)
    discount_fen: Mapped[Fen]
    redeemed_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    release_reason: Mapped[str | None] = mapped_column(String(24))  # cancelled, expired, refunded


class CouponRule(IdMixin, Base):
    """Issue a template when something happens (`trigger`): `member_bound`, a member's first binding."""

    __tablename__ = "coupon_rules"
    __table_args__ = (
        UniqueConstraint("brand_id", "trigger", "template_id"),
        CheckConstraint("trigger IN ('member_bound')", name="trigger_known"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    trigger: Mapped[str] = mapped_column(String(24))
    template_id: Mapped[int] = mapped_column(IdType, ForeignKey("coupon_templates.id"))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active, disabled
    created_at: Mapped[datetime]
    created_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    disabled_at: Mapped[datetime | None]


class CouponCampaign(IdMixin, Base):
    """One template issued to an audience: every member bound in a community, or a list of members. Each member
    gets at most one coupon of a campaign however often it runs (source key `campaign:{id}`)."""

    __tablename__ = "coupon_campaigns"
    __table_args__ = (
        UniqueConstraint("brand_id", "idempotency_key"),
        CheckConstraint(
            "(audience = 'community' AND community_id IS NOT NULL AND interest_group_id IS NULL)"
            " OR (audience = 'members' AND community_id IS NULL AND interest_group_id IS NULL)"
            " OR (audience = 'interest_group' AND interest_group_id IS NOT NULL AND community_id IS NULL)",
            name="audience_complete",
        ),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    template_id: Mapped[int] = mapped_column(IdType, ForeignKey("coupon_templates.id"))
    name: Mapped[str] = mapped_column(String(32))
    audience: Mapped[str] = mapped_column(String(16))  # community, members, interest_group
    community_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("communities.id"))
    interest_group_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("interest_groups.id"))
    member_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    issued: Mapped[int] = mapped_column(default=0)  # coupons issued by its runs so far
    created_at: Mapped[datetime]
    created_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    last_run_at: Mapped[datetime | None]
