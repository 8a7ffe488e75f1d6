"""Coupon templates: staff create them (every field checked, a clear Chinese 4xx otherwise), list them with what
became of their coupons, and disable them (a disabled template issues no more; coupons already issued stay
usable until they expire)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.catalog import service as catalog
from linli.catalog.service import MAX_PRICE_FEN
from linli.coupons.models import KINDS, SCOPES, Coupon, CouponRedemption, CouponTemplate
from linli.coupons.terms import Terms
from linli.errors import Conflict, InvalidInput, NotFound
from linli.live import service as live
from linli.pagination import PageParams, fetch_page

MAX_NAME = 32
MAX_VALID_DAYS = 366
MAX_PER_MEMBER = 100
MAX_QUOTA = 10_000_000
SCOPE_TEXT = {"all": "全场通用", "category": "指定分类", "product": "指定商品", "session": "指定直播场次", "community": "指定小区"}


@dataclass(frozen=True)
class TemplateInput:
    name: str
    kind: str
    amount_fen: int | None = None
    percent_off_bp: int | None = None
    cap_fen: int | None = None
    threshold_fen: int = 0
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None
    per_member_limit: int = 1
    issue_quota: int | None = None
    scope: str = "all"
    scope_id: int | None = None


@dataclass(frozen=True)
class TemplateStats:
    """What became of a template's coupons: issued (the quota's counter), used by a holding order, expired unused,
    and the discount the holding orders got."""

    issued: int
    used: int
    expired: int
    discount_fen: int


def terms_of(template: CouponTemplate) -> Terms:
    return Terms(
        kind=template.kind, amount_fen=template.amount_fen, percent_off_bp=template.percent_off_bp,
        cap_fen=template.cap_fen, threshold_fen=template.threshold_fen, scope=template.scope,
        scope_id=template.scope_id,
    )


def _fen(value: int | None, *, label: str, code: str, minimum: int = 1) -> int:
    if value is None or not minimum <= value <= MAX_PRICE_FEN:
        raise InvalidInput(f"{label}须在 {minimum} 分到 100 万元之间", code=code)
    return value


def _check_terms(data: TemplateInput) -> None:
    if data.kind not in KINDS:
        raise InvalidInput("优惠方式只能是满减（fixed）或折扣（percent）", code="coupon_kind_invalid")
    threshold = _fen(data.threshold_fen, label="使用门槛", code="coupon_threshold_invalid", minimum=0)
    if data.kind == "fixed":
        if data.percent_off_bp is not None or data.cap_fen is not None:
            raise InvalidInput("满减券不填折扣和封顶金额", code="coupon_terms_invalid")
        amount = _fen(data.amount_fen, label="减免金额", code="coupon_amount_invalid")
        if threshold and amount >= threshold:
            raise InvalidInput("减免金额须小于使用门槛", code="coupon_amount_exceeds_threshold")
        return
    if data.amount_fen is not None:
        raise InvalidInput("折扣券不填减免金额", code="coupon_terms_invalid")
    if data.percent_off_bp is None or not 1 <= data.percent_off_bp <= 9999:
        raise InvalidInput("折扣须在 0.01% 到 99.99% 之间（以基点计，1000 = 减 10%，即 9 折）", code="coupon_percent_invalid")
    _fen(data.cap_fen, label="最高减免金额", code="coupon_cap_invalid")


def _check_validity(data: TemplateInput, now: datetime) -> None:
    window = data.valid_from is not None or data.valid_until is not None
    if window == (data.valid_days is not None):
        raise InvalidInput("有效期请填写起止时间，或领取后有效天数，二者选一", code="coupon_validity_invalid")
    if data.valid_days is not None:
        if not 1 <= data.valid_days <= MAX_VALID_DAYS:
            raise InvalidInput(f"有效天数须在 1 到 {MAX_VALID_DAYS} 之间", code="coupon_validity_invalid")
        return
    if data.valid_from is None or data.valid_until is None:
        raise InvalidInput("请同时填写有效期的开始和结束时间", code="coupon_validity_invalid")
    if data.valid_until <= data.valid_from:
        raise InvalidInput("有效期结束时间须晚于开始时间", code="coupon_validity_invalid")
    if data.valid_until <= now:
        raise InvalidInput("有效期结束时间须晚于现在", code="coupon_validity_invalid")


async def _check_scope(session: AsyncSession, *, brand_id: int, scope: str, scope_id: int | None) -> None:
    """The scope's target must be this brand's (another brand's id is as unknown as a missing one)."""
    if scope not in SCOPES:
        raise InvalidInput("适用范围只能是 all、category、product、session 或 community", code="coupon_scope_invalid")
    if scope == "all":
        if scope_id is not None:
            raise InvalidInput("全场通用券不填适用对象", code="coupon_scope_invalid")
        return
    if scope_id is None:
        raise InvalidInput(f"请选择{SCOPE_TEXT[scope]}", code="coupon_scope_invalid")
    if scope == "category":
        await catalog.get_category(session=session, brand_id=brand_id, category_id=scope_id)
    elif scope == "product":
        await catalog.get_product(session=session, brand_id=brand_id, product_id=scope_id)
    elif scope == "session":
        await live.get_brand_session(session=session, brand_id=brand_id, session_id=scope_id)
    else:
        await brands.get_community(session=session, brand_id=brand_id, community_id=scope_id)


async def create_template(
    *, session: AsyncSession, brand_id: int, data: TemplateInput, actor_user_id: int | None, now: datetime
) -> CouponTemplate:
    name = data.name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidInput(f"券名称须为 1 到 {MAX_NAME} 个字", code="coupon_name_invalid")
    _check_terms(data)
    _check_validity(data, now)
    if not 1 <= data.per_member_limit <= MAX_PER_MEMBER:
        raise InvalidInput(f"每人限领须在 1 到 {MAX_PER_MEMBER} 张之间", code="coupon_limit_invalid")
    if data.issue_quota is not None and not 1 <= data.issue_quota <= MAX_QUOTA:
        raise InvalidInput(f"发放总量须在 1 到 {MAX_QUOTA} 张之间（不限请留空）", code="coupon_quota_invalid")
    await _check_scope(session, brand_id=brand_id, scope=data.scope, scope_id=data.scope_id)
    template = CouponTemplate(
        brand_id=brand_id, name=name, kind=data.kind, amount_fen=data.amount_fen, percent_off_bp=data.percent_off_bp,
        cap_fen=data.cap_fen, threshold_fen=data.threshold_fen, valid_from=data.valid_from,
        valid_until=data.valid_until, valid_days=data.valid_days, per_member_limit=data.per_member_limit,
        issue_quota=data.issue_quota, issued_count=0,
        scope=data.scope, scope_id=data.scope_id, status="active", created_at=now, created_by_user_id=actor_user_id,
        disabled_at=None,
    )
    session.add(template)
    await session.flush()
    return template


async def get_template(
    *, session: AsyncSession, brand_id: int, template_id: int, for_update: bool = False
) -> CouponTemplate:
    template = await session.get(CouponTemplate, template_id, with_for_update=for_update, populate_existing=True)
    if template is None or template.brand_id != brand_id:
        raise NotFound("优惠券模板不存在", code="coupon_template_not_found")
    return template


async def disable_template(*, session: AsyncSession, brand_id: int, template_id: int, now: datetime) -> CouponTemplate:
    """Stops issuing (by hand, by rule, by campaign); a second call changes nothing."""
    template = await get_template(session=session, brand_id=brand_id, template_id=template_id, for_update=True)
    if template.status != "disabled":
        template.status, template.disabled_at = "disabled", now
    return template


async def list_templates(
    *, session: AsyncSession, brand_id: int, params: PageParams
) -> tuple[list[CouponTemplate], int]:
    query = select(CouponTemplate).where(CouponTemplate.brand_id == brand_id).order_by(CouponTemplate.id.desc())
    return await fetch_page(session, query, params)


async def active_templates(*, session: AsyncSession, brand_id: int) -> list[CouponTemplate]:
    rows = await session.scalars(
        select(CouponTemplate).where(CouponTemplate.brand_id == brand_id, CouponTemplate.status == "active")
        .order_by(CouponTemplate.id.desc())
    )
    return list(rows)


async def template_stats(
    *, session: AsyncSession, templates: list[CouponTemplate], now: datetime
) -> dict[int, TemplateStats]:
    if not templates:
        return {}
    ids = [t.id for t in templates]
    counts = await session.execute(
        select(
            Coupon.template_id,
            func.count(case((Coupon.status == "used", 1))),
            func.count(case(((Coupon.status == "available") & (Coupon.valid_until <= now), 1))),
        ).where(Coupon.template_id.in_(ids)).group_by(Coupon.template_id)
    )
    used = {template_id: (u, e) for template_id, u, e in counts.all()}
    discounts = await session.execute(
        select(Coupon.template_id, func.coalesce(func.sum(CouponRedemption.discount_fen), 0))
        .join(Coupon, Coupon.id == CouponRedemption.coupon_id)
        .where(Coupon.template_id.in_(ids), CouponRedemption.released_at.is_(None))
        .group_by(Coupon.template_id)
    )
    discount = {template_id: int(fen) for template_id, fen in discounts.all()}
    return {
        t.id: TemplateStats(
            issued=t.issued_count, used=used.get(t.id, (0, 0))[0], expired=used.get(t.id, (0, 0))[1],
            discount_fen=discount.get(t.id, 0),
        )
        for t in templates
    }


def require_issuable(template: CouponTemplate, now: datetime) -> None:
    """A template that may issue now: active, and its absolute window not over."""
    if template.status != "active":
        raise Conflict("该优惠券已停发", code="coupon_template_disabled")
    if template.valid_until is not None and template.valid_until <= now:
        raise Conflict("该优惠券的有效期已结束，不能再发放", code="coupon_template_ended")


async def scope_texts(*, session: AsyncSession, brand_id: int, templates: list[CouponTemplate]) -> dict[int, str]:
    """Where each template's coupons apply, for people: 全场通用, 限「时令水果」, 限直播「…」, 限云顶华府小区."""
    wanted: dict[str, set[int]] = {scope: set() for scope in SCOPES}
    for t in templates:
        if t.scope_id is not None:
            wanted[t.scope].add(t.scope_id)
    categories = await catalog.categories_by_ids(session=session, category_ids=wanted["category"])
    products = await catalog.products_by_ids(session=session, product_ids=wanted["product"])
    sessions = await live.sessions_by_ids(session=session, brand_id=brand_id, session_ids=wanted["session"])
    communities = await brands.communities_by_ids(session=session, community_ids=wanted["community"])
    names: dict[str, dict[int, str]] = {
        "category": {i: c.name for i, c in categories.items()}, "product": {i: p.name for i, p in products.items()},
        "session": {i: s.title for i, s in sessions.items()}, "community": {i: c.name for i, c in communities.items()},
    }
    patterns = {"category": "限「{}」类商品", "product": "限「{}」", "session": "限直播「{}」", "community": "限{}小区"}
    return {
        t.id: SCOPE_TEXT["all"] if t.scope_id is None else patterns[t.scope].format(names[t.scope].get(t.scope_id, "?"))
        for t in templates
    }
