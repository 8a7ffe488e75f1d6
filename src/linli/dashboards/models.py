"""Dashboard roll-ups, kept current from the outbox (docs/kpis.md): never recomputed per request.

- `dash_paid_orders`: one row per order that was paid, with where its money counts (the brand's local day and
  month of the payment, its leader, community, member and session) and what was refunded of it since.
- `dash_applied_refunds`: each refund counted once (the outbox may deliver `payment.refunded` again).
- `dash_leader_days` / `dash_brand_days`: per local day, orders paid, fen paid and fen refunded of those
  orders (a refund counts on the day its order was paid, so a day's net GMV is final once its refunds are in).
- `dash_member_months` / `dash_leader_member_months`: who paid in a local month (brand-wide and per leader);
  `dash_brand_months` / `dash_leader_months`: how many, and how many of them paid again the month after.
- `dash_leader_months` also sums the leader's days of the month (orders, paid, refunded, and their difference
  `gmv_fen`, indexed by brand and month): the brand's leaders ranked by a month's GMV without grouping days;
  `dash_leader_rank_buckets`: how many of them per GMV bucket (a leader's rank from a few rows).
- `dash_sessions` / `dash_session_leaders` / `dash_session_communities`: a live session's paid orders and GMV
  (in all, per leader, per pickup community) and, once it has ended, its funnel (views, entries, orders placed).
- `dash_community_days`: per pickup community and local day, paid orders placed in a session or outside any;
  `dash_community_months`: per community and local month, indexed by GMV (the brand's communities ranked).
- `dash_applied_claims`, `dash_product_days`, `dash_leader_claim_days`: claims filed on the paid orders of a
  local day, per product and per leader (docs/kpis.md, claim rate).
- `dash_applied_commissions` / `dash_leader_income_months`: each accrual and clawback counted once, and a
  leader's commission per local month of posting (leader monthly income).
- `dash_growth_facts` / `dash_brand_growth_days`: leaders approved and members first bound, per local day.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, Fen, IdType


class PaidOrder(Base):
    __tablename__ = "dash_paid_orders"
    __table_args__ = (
        Index("ix_dash_paid_orders_brand_day", "brand_id", "paid_day"),
        Index("ix_dash_paid_orders_leader_day", "leader_id", "paid_day"),
        Index("ix_dash_paid_orders_community_day", "community_id", "paid_day"),
    )

    order_id: Mapped[int] = mapped_column(IdType, ForeignKey("orders.id"), primary_key=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    leader_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("leaders.id"))
    community_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("communities.id"))
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"))
    session_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("live_sessions.id"))
    paid_at: Mapped[datetime]
    paid_day: Mapped[date] = mapped_column(Date)  # in the brand's time zone
    paid_month: Mapped[date] = mapped_column(Date)  # the first day of paid_day's month
    paid_fen: Mapped[Fen]
    refunded_fen: Mapped[Fen] = mapped_column(default=0)


class AppliedRefund(Base):
    __tablename__ = "dash_applied_refunds"

    refund_id: Mapped[int] = mapped_column(IdType, ForeignKey("refunds.id"), primary_key=True)
    order_id: Mapped[int] = mapped_column(IdType, ForeignKey("orders.id"), index=True)
    amount_fen: Mapped[Fen]


class LeaderDay(Base):
    __tablename__ = "dash_leader_days"
    __table_args__ = (Index("ix_dash_leader_days_brand_day_gmv", "brand_id", "day", "gmv_fen"),)

    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    orders: Mapped[int] = mapped_column(default=0)
    paid_fen: Mapped[Fen] = mapped_column(default=0)
    refunded_fen: Mapped[Fen] = mapped_column(default=0)
    gmv_fen: Mapped[Fen] = mapped_column(default=0)  # paid − refunded, stored for the index that ranks a day


class LeaderWeek(Base):
    """The sums of a leader's days of one week (Monday to Sunday, local): the week's rank is a count over its
    index, not a grouping of every leader's days."""

    __tablename__ = "dash_leader_weeks"
    __table_args__ = (Index("ix_dash_leader_weeks_brand_week_gmv", "brand_id", "week", "gmv_fen"),)

    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"), primary_key=True)
    week: Mapped[date] = mapped_column(Date, primary_key=True)  # its Monday
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    orders: Mapped[int] = mapped_column(default=0)
    paid_fen: Mapped[Fen] = mapped_column(default=0)
    refunded_fen: Mapped[Fen] = mapped_column(default=0)
    gmv_fen: Mapped[Fen] = mapped_column(default=0)  # paid − refunded


class BrandDay(Base):
    __tablename__ = "dash_brand_days"

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    orders: Mapped[int] = mapped_column(default=0)
    paid_fen: Mapped[Fen] = mapped_column(default=0)
    refunded_fen: Mapped[Fen] = mapped_column(default=0)


class MemberMonth(Base):
    __tablename__ = "dash_member_months"

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"), primary_key=True)


class LeaderMemberMonth(Base):
    __tablename__ = "dash_leader_member_months"

    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"), primary_key=True)


class BrandMonth(Base):
    __tablename__ = "dash_brand_months"

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    paying_members: Mapped[int] = mapped_column(default=0)
    bought_again_next_month: Mapped[int] = mapped_column(default=0)  # of them, members who paid in month + 1 too


class LeaderMonth(Base):
    __tablename__ = "dash_leader_months"
    __table_args__ = (Index("ix_dash_leader_months_brand_month_gmv", "brand_id", "month", "gmv_fen"),)

    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    paying_members: Mapped[int] = mapped_column(default=0)
    bought_again_next_month: Mapped[int] = mapped_column(default=0)
    orders: Mapped[int] = mapped_column(default=0)  # the sums of the leader's days of the month
    paid_fen: Mapped[Fen] = mapped_column(default=0)
    refunded_fen: Mapped[Fen] = mapped_column(default=0)
    gmv_fen: Mapped[Fen] = mapped_column(default=0)  # paid − refunded, stored for the index that ranks by it


class LeaderRankBucket(Base):
    """How many of the brand's leaders had a month's GMV in a bucket (dashboards.rank_buckets): a rank read from
    a few bucket rows instead of a count over every leader's month."""

    __tablename__ = "dash_leader_rank_buckets"

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    bucket: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    leaders: Mapped[int] = mapped_column(default=0)


class SessionFigures(Base):
    """A live session's paid orders (`order.paid`, `payment.refunded`) and its funnel, written once it has ended
    (`live.session_ended`): views and entries are then final, and orders are only placed while it is live."""

    __tablename__ = "dash_sessions"

    session_id: Mapped[int] = mapped_column(IdType, ForeignKey("live_sessions.id"), primary_key=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), index=True)
    views: Mapped[int] = mapped_column(default=0)  # room visits before the end
    entries: Mapped[int] = mapped_column(default=0)  # distinct logged-in viewers, summed over the leaders' rows
    placed_orders: Mapped[int] = mapped_column(default=0)
    orders: Mapped[int] = mapped_column(default=0)  # paid (ever: refunded ones included)
    paid_fen: Mapped[Fen] = mapped_column(default=0)
    refunded_fen: Mapped[Fen] = mapped_column(default=0)


class SessionLeader(Base):
    """The funnel of one leader in one session: views and entries through the leader's code, orders attributed."""

    __tablename__ = "dash_session_leaders"

    session_id: Mapped[int] = mapped_column(IdType, ForeignKey("live_sessions.id"), primary_key=True)
    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"), primary_key=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), index=True)
    views: Mapped[int] = mapped_column(default=0)
    entries: Mapped[int] = mapped_column(default=0)
    placed_orders: Mapped[int] = mapped_column(default=0)
    orders: Mapped[int] = mapped_column(default=0)


class SessionCommunity(Base):
    __tablename__ = "dash_session_communities"

    session_id: Mapped[int] = mapped_column(IdType, ForeignKey("live_sessions.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(IdType, ForeignKey("communities.id"), primary_key=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), index=True)
    orders: Mapped[int] = mapped_column(default=0)
    paid_fen: Mapped[Fen] = mapped_column(default=0)
    refunded_fen: Mapped[Fen] = mapped_column(default=0)


class CommunityDay(Base):
    """Paid orders of a pickup community on a local day, those placed in a session apart from the others."""

    __tablename__ = "dash_community_days"
    __table_args__ = (Index("ix_dash_community_days_brand_day", "brand_id", "day"),)

    community_id: Mapped[int] = mapped_column(IdType, ForeignKey("communities.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    in_session: Mapped[bool] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    orders: Mapped[int] = mapped_column(default=0)
    paid_fen: Mapped[Fen] = mapped_column(default=0)
    refunded_fen: Mapped[Fen] = mapped_column(default=0)


class CommunityMonth(Base):
    """A pickup community's paid orders of a local month (in a session or not), with their GMV stored for the index
    that ranks the brand's communities by it."""

    __tablename__ = "dash_community_months"
    __table_args__ = (Index("ix_dash_community_months_brand_month_gmv", "brand_id", "month", "gmv_fen"),)

    community_id: Mapped[int] = mapped_column(IdType, ForeignKey("communities.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    orders: Mapped[int] = mapped_column(default=0)
    paid_fen: Mapped[Fen] = mapped_column(default=0)
    refunded_fen: Mapped[Fen] = mapped_column(default=0)
    gmv_fen: Mapped[Fen] = mapped_column(default=0)


class AppliedClaim(Base):
    """Each claim counted once (the outbox may deliver `claim.filed` again)."""

    __tablename__ = "dash_applied_claims"

    claim_id: Mapped[int] = mapped_column(IdType, ForeignKey("claims.id"), primary_key=True)
    order_id: Mapped[int] = mapped_column(IdType, ForeignKey("orders.id"), index=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), index=True)


class ProductDay(Base):
    """A product's paid orders (one line each) of a local day, how many of them have a claim, and the claims."""

    __tablename__ = "dash_product_days"
    __table_args__ = (Index("ix_dash_product_days_brand_day", "brand_id", "day"),)

    product_id: Mapped[int] = mapped_column(IdType, ForeignKey("products.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    lines: Mapped[int] = mapped_column(default=0)
    claimed_lines: Mapped[int] = mapped_column(default=0)
    claims: Mapped[int] = mapped_column(default=0)


class LeaderClaimDay(Base):
    """Claims on a leader's orders paid on a local day (the paid orders themselves: `dash_leader_days.orders`)."""

    __tablename__ = "dash_leader_claim_days"
    __table_args__ = (Index("ix_dash_leader_claim_days_brand_day", "brand_id", "day"),)

    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    claimed_lines: Mapped[int] = mapped_column(default=0)
    claims: Mapped[int] = mapped_column(default=0)


# --- the brand's leader KPIs (docs/kpis.md): income, new leaders and members -------------------------------


class AppliedCommission(Base):
    """Each accrual or clawback the ledger posted, counted once (`commission.posted` may come again)."""

    __tablename__ = "dash_applied_commissions"
    __table_args__ = (Index("ix_dash_applied_commissions_brand_month", "brand_id", "month"),)

    transaction_id: Mapped[int] = mapped_column(IdType, ForeignKey("ledger_transactions.id"), primary_key=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"))
    month: Mapped[date] = mapped_column(Date)  # the local month it was posted in
    kind: Mapped[str] = mapped_column(String(16))  # accrual or clawback
    amount_fen: Mapped[Fen]  # the leader's side, signed: + accrued, − clawed back


class LeaderIncomeMonth(Base):
    """Commission credited to a leader in a local month (by posting time), and clawed back in it."""

    __tablename__ = "dash_leader_income_months"
    __table_args__ = (Index("ix_dash_leader_income_months_brand_month", "brand_id", "month"),)

    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    accrued_fen: Mapped[Fen] = mapped_column(default=0)
    clawed_back_fen: Mapped[Fen] = mapped_column(default=0)  # positive: what the clawbacks took


class GrowthFact(Base):
    """A leader approved or a member first bound, counted once: `kind` is leader or member, `subject_id` its id."""

    __tablename__ = "dash_growth_facts"
    __table_args__ = (Index("ix_dash_growth_facts_brand_day", "brand_id", "day"),)

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    subject_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    day: Mapped[date] = mapped_column(Date)


class BrandGrowthDay(Base):
    __tablename__ = "dash_brand_growth_days"

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    leaders_approved: Mapped[int] = mapped_column(default=0)
    members_bound: Mapped[int] = mapped_column(default=0)
