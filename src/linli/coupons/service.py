"""Coupons as other contexts use them: issuing one (`issue_coupon`, idempotent per template, member and source
key: the care job and the UGC reward call it), the order's side (check, redeem, record, release, take again)
and a member's own coupons.

Issuing takes, in one savepoint and always in this order, the template's quota (a guarded UPDATE of
`issued_count`), the member's allowance (a guarded upsert, `issued < per_member_limit`) and inserts the coupon
(unique per template, member and source key): a refusal or a concurrent twin rolls the savepoint back, so no
counter moves without its coupon. Redeeming is one guarded UPDATE (`status = 'available'` and inside the
window); a redemption row names the order, and at most one unreleased redemption per coupon is a unique index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from linli.catalog import service as catalog
from linli.coupons import templates
from linli.coupons.models import Coupon, CouponAllowance, CouponRedemption, CouponTemplate
from linli.coupons.terms import OrderScope, Terms, in_scope
from linli.errors import Conflict, DomainError, InvalidInput, NotFound
from linli.members import service as members
from linli.pagination import PageParams, fetch_page

SOURCES = ("manual", "rule", "campaign", "care", "ugc")
MAX_SOURCE_KEY = 96
STATUS_FILTERS = ("available", "used", "expired")
COUPONS, TEMPLATES, ALLOWANCES = Coupon.__table__, CouponTemplate.__table__, CouponAllowance.__table__
REDEMPTIONS = CouponRedemption.__table__


@dataclass(frozen=True)
class Issued:
    coupon: Coupon
    created: bool  # False: this template, member and source key had issued it before


# --- issuing ---------------------------------------------------------------------------------


def validity_of(template: CouponTemplate, now: datetime) -> tuple[datetime, datetime]:
    """The coupon's window: the template's absolute one, or N days from now."""
    if template.valid_days is not None:
        return now, now + timedelta(days=template.valid_days)
    assert template.valid_from is not None and template.valid_until is not None
    return template.valid_from, template.valid_until


async def _with_key(session: AsyncSession, *, template_id: int, member_id: int, source_key: str) -> Coupon | None:
    return await session.scalar(
        select(Coupon).where(
            Coupon.template_id == template_id, Coupon.member_id == member_id, Coupon.source_key == source_key
        )
    )


async def _take_quota(session: AsyncSession, template: CouponTemplate) -> None:
    taken = await session.execute(
        update(TEMPLATES)
        .where(
            TEMPLATES.c.id == template.id, TEMPLATES.c.status == "active",
            or_(TEMPLATES.c.issue_quota.is_(None), TEMPLATES.c.issued_count < TEMPLATES.c.issue_quota),
        )
        .values(issued_count=TEMPLATES.c.issued_count + 1)
        .returning(TEMPLATES.c.issued_count)
    )
    if taken.first() is None:
        status = await session.scalar(select(TEMPLATES.c.status).where(TEMPLATES.c.id == template.id))
        if status != "active":
            raise Conflict("该优惠券已停发", code="coupon_template_disabled")
        raise Conflict("该优惠券已发完", code="coupon_quota_exhausted", details={"issue_quota": template.issue_quota})


async def _take_allowance(session: AsyncSession, template: CouponTemplate, member_id: int) -> None:
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(ALLOWANCES)
        .values(template_id=template.id, member_id=member_id, issued=1)
        .on_conflict_do_update(
            index_elements=[ALLOWANCES.c.template_id, ALLOWANCES.c.member_id],
            set_={"issued": ALLOWANCES.c.issued + 1},
            where=ALLOWANCES.c.issued < template.per_member_limit,
        )
        .returning(ALLOWANCES.c.issued)
    )
    if (await session.execute(statement)).first() is None:
        raise Conflict(
            f"每人限领 {template.per_member_limit} 张，已领满", code="coupon_member_limit_reached",
            details={"per_member_limit": template.per_member_limit},
        )


def _checked_source(source: str, source_key: str) -> str:
    if source not in SOURCES:
        raise InvalidInput("发券来源只能是 " + "、".join(SOURCES), code="coupon_source_invalid")
    key = source_key.strip()
    if not 1 <= len(key) <= MAX_SOURCE_KEY:
        raise InvalidInput(f"发券依据（source_key）须为 1 到 {MAX_SOURCE_KEY} 个字符", code="coupon_source_key_invalid")
    return key


async def issue_coupon(
    *, session: AsyncSession, brand_id: int, template_id: int, member_id: int, source: str, source_key: str,
    now: datetime,
) -> Issued:
    """One coupon of the template for the member, once per `source_key` (the same key again: the coupon it made).

    Refusals (each a 4xx that writes nothing): coupon_template_not_found, member_not_found (not the brand's),
    coupon_template_disabled, coupon_template_ended, coupon_quota_exhausted, coupon_member_limit_reached."""
    key = _checked_source(source, source_key)
    template = await templates.get_template(session=session, brand_id=brand_id, template_id=template_id)
    existing = await _with_key(session, template_id=template.id, member_id=member_id, source_key=key)
    if existing is not None:
        return Issued(coupon=existing, created=False)
    await members.get_member(session=session, brand_id=brand_id, member_id=member_id)
    templates.require_issuable(template, now)
    valid_from, valid_until = validity_of(template, now)
    coupon = Coupon(
        brand_id=brand_id, template_id=template.id, member_id=member_id, status="available", source=source,
        source_key=key, issued_at=now, valid_from=valid_from, valid_until=valid_until, used_at=None,
    )
    try:
        async with session.begin_nested():  # a refusal or a twin undoes the counters with the coupon
            await _take_quota(session, template)
            await _take_allowance(session, template, member_id)
            session.add(coupon)
            await session.flush()
    except (IntegrityError, DomainError):
        # A concurrent call with this key may have issued it meanwhile (then its allowance refused this one, or
        # the unique key did): that coupon is the answer. Otherwise the refusal stands.
        twin = await _with_key(session, template_id=template.id, member_id=member_id, source_key=key)
        if twin is None:
            raise
        return Issued(coupon=twin, created=False)
    return Issued(coupon=coupon, created=True)


# --- the order's side ------------------------------------------------------------------------


async def check_for_order(
    *, session: AsyncSession, coupon_id: int, brand_id: int, member_id: int, product_id: int, session_id: int | None,
    community_id: int | None, now: datetime,
) -> Terms:
    """The coupon's terms if the member may use it on this order now (the threshold waits for the price).

    A coupon that is not this member's in this brand is coupon_not_found (404), as if it did not exist; then
    coupon_already_used, coupon_not_yet_valid, coupon_expired (409) and coupon_scope_mismatch (422)."""
    row = (
        await session.execute(
            select(Coupon, CouponTemplate).join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
            .where(Coupon.id == coupon_id).execution_options(populate_existing=True)
        )
    ).first()
    if row is None or row.Coupon.member_id != member_id or row.Coupon.brand_id != brand_id:
        raise NotFound("优惠券不存在", code="coupon_not_found")
    coupon, template = row.Coupon, row.CouponTemplate
    if coupon.status == "used":
        raise Conflict("这张优惠券已使用", code="coupon_already_used")
    if now < coupon.valid_from:
        raise Conflict("这张优惠券还未到使用时间", code="coupon_not_yet_valid")
    if now >= coupon.valid_until:
        raise Conflict("这张优惠券已过期", code="coupon_expired")
    terms = templates.terms_of(template)
    category_id = None
    if terms.scope == "category":  # read fresh: the order cache keeps no category
        category_id = (await catalog.get_product(session=session, brand_id=brand_id, product_id=product_id)).category_id
    if not in_scope(terms, OrderScope(product_id, category_id, session_id, community_id)):
        raise InvalidInput("这张优惠券不适用于该商品", code="coupon_scope_mismatch")
    return terms


async def redeem(*, session: AsyncSession, coupon_id: int, member_id: int, now: datetime) -> None:
    """Takes the coupon for an order: one guarded UPDATE, the only judge (two orders, one coupon: one wins)."""
    taken = await session.execute(
        update(COUPONS)
        .where(
            COUPONS.c.id == coupon_id, COUPONS.c.member_id == member_id, COUPONS.c.status == "available",
            COUPONS.c.valid_from <= now, COUPONS.c.valid_until > now,
        )
        .values(status="used", used_at=now)
        .returning(COUPONS.c.id)
    )
    if taken.first() is None:
        raise Conflict("这张优惠券已使用", code="coupon_already_used")


def record_redemption(
    session: AsyncSession, *, coupon_id: int, order_id: int, brand_id: int, discount_fen: int, now: datetime
) -> None:
    session.add(CouponRedemption(
        brand_id=brand_id, coupon_id=coupon_id, order_id=order_id, discount_fen=discount_fen, redeemed_at=now,
        released_at=None, release_reason=None,
    ))


async def release_for_order(*, session: AsyncSession, order_id: int, reason: str, now: datetime) -> bool:
    """The order gave its coupon back (cancelled, expired, refunded in full): available again, and "expired" if its
    window is over. Idempotent: a second call finds no redemption to release."""
    released = (
        await session.execute(
            update(REDEMPTIONS)
            .where(REDEMPTIONS.c.order_id == order_id, REDEMPTIONS.c.released_at.is_(None))
            .values(released_at=now, release_reason=reason)
            .returning(REDEMPTIONS.c.coupon_id)
        )
    ).first()
    if released is None:
        return False
    await session.execute(
        update(COUPONS).where(COUPONS.c.id == released.coupon_id, COUPONS.c.status == "used")
        .values(status="available", used_at=None)
    )
    return True


async def retake_for_order(*, session: AsyncSession, order_id: int, now: datetime) -> bool:
    """A late payment revives a closed order: its coupon is taken again if no other order holds it (its window was
    judged when the order was placed). False, and nothing changed, when it is gone."""
    redemption = await session.scalar(
        select(CouponRedemption).where(CouponRedemption.order_id == order_id).execution_options(populate_existing=True)
    )
    if redemption is None or redemption.released_at is None:
        return True
    taken = await session.execute(
        update(COUPONS).where(COUPONS.c.id == redemption.coupon_id, COUPONS.c.status == "available")
        .values(status="used", used_at=now).returning(COUPONS.c.id)
    )
    if taken.first() is None:
        return False
    redemption.released_at, redemption.release_reason = None, None
    return True


# --- a member's coupons ----------------------------------------------------------------------


@dataclass(frozen=True)
class MemberCoupon:
    coupon: Coupon
    template: CouponTemplate
    status: str  # available, not_yet_valid, used, expired (computed from the window)
    order_id: int | None  # the order holding it, when used

    @property
    def terms(self) -> Terms:
        return templates.terms_of(self.template)


def display_status(coupon: Coupon, now: datetime) -> str:
    if coupon.status == "used":
        return "used"
    if now >= coupon.valid_until:
        return "expired"
    return "not_yet_valid" if now < coupon.valid_from else "available"


async def _holding_orders(session: AsyncSession, coupon_ids: list[int]) -> dict[int, int]:
    if not coupon_ids:
        return {}
    rows = await session.execute(
        select(CouponRedemption.coupon_id, CouponRedemption.order_id)
        .where(CouponRedemption.coupon_id.in_(coupon_ids), CouponRedemption.released_at.is_(None))
    )
    return dict(rows.all())


async def member_coupons(
    *, session: AsyncSession, brand_id: int, user_id: int, status: str | None, params: PageParams, now: datetime
) -> tuple[list[MemberCoupon], int]:
    """The caller's own coupons in the brand, soonest to expire first; `status` available (not used, not expired),
    used or expired; None for all."""
    if status is not None and status not in STATUS_FILTERS:
        raise InvalidInput("优惠券状态只能是 available、used 或 expired", code="coupon_status_filter_invalid")
    member = await members.find_member(session=session, brand_id=brand_id, user_id=user_id)
    if member is None:
        return [], 0
    query = (
        select(Coupon).where(Coupon.member_id == member.id).order_by(Coupon.valid_until, Coupon.id)
    )
    if status == "used":
        query = query.where(Coupon.status == "used")
    elif status == "available":
        query = query.where(Coupon.status == "available", Coupon.valid_until > now)
    elif status == "expired":
        query = query.where(Coupon.status == "available", Coupon.valid_until <= now)
    rows, total = await fetch_page(session, query, params)
    return await _described(session, rows, now), total


async def _described(session: AsyncSession, rows: list[Coupon], now: datetime) -> list[MemberCoupon]:
    ids = {c.template_id for c in rows}
    found = await session.scalars(select(CouponTemplate).where(CouponTemplate.id.in_(ids))) if ids else []
    by_id = {t.id: t for t in found}
    holders = await _holding_orders(session, [c.id for c in rows if c.status == "used"])
    return [
        MemberCoupon(coupon=c, template=by_id[c.template_id], status=display_status(c, now), order_id=holders.get(c.id))
        for c in rows
    ]


async def usable_coupons(*, session: AsyncSession, brand_id: int, user_id: int, now: datetime) -> list[MemberCoupon]:
    """The caller's coupons usable now (in their window, not used), whatever the order: `fits` says for which."""
    member = await members.find_member(session=session, brand_id=brand_id, user_id=user_id)
    if member is None:
        return []
    rows = await session.scalars(
        select(Coupon).where(
            Coupon.member_id == member.id, Coupon.status == "available", Coupon.valid_from <= now,
            Coupon.valid_until > now,
        ).order_by(Coupon.valid_until, Coupon.id)
    )
    return await _described(session, list(rows), now)


def fits(coupons: list[MemberCoupon], order: OrderScope) -> list[MemberCoupon]:
    """Those whose scope covers the order (the threshold depends on the quantity: the order checks it)."""
    return [c for c in coupons if in_scope(c.terms, order)]
