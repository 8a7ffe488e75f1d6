"""Commission rules: versions per brand, the defaults from the article, and the pure quote of one order.

Explained for leaders in docs/commission.md; this module is the only implementation.

- Rates are basis points: 1500 = 15%.
- Precedence of the base rate (the first that matches wins): this session + this product override →
  this session override → this product override → live-session base (orders placed in a live session)
  or off-session base (orders without one).
- Referral reward (拉新复购奖励): `referral_rate_bp` on top, on repurchases (the member had already paid
  for another order of the brand before this one was paid) placed within `referral_months` calendar
  months (brand time zone) of the binding, when the order's leader is the one who brought the member in
  as a new member of the brand (the member was created by entering through that leader's invite code).
- Self-purchase (the order's member is the order's leader themself): counts like any order, or earns
  nothing when `self_purchase_counts` is off.
- commission = round_half_up(paid × (rate + referral) / 10000), on integers.
- A change creates a new version (who and when); an order takes the version in force when it was
  placed, so a change applies to new orders only. A brand that never changed its rules has version 1,
  the defaults, in force since the brand was created.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.db import insert_unique
from linli.errors import Conflict, InvalidInput
from linli.ledger.models import CommissionRuleVersion
from linli.ledger.service import round_half_up_div

BP_DENOMINATOR = 10_000
MAX_OVERRIDES = 500
MAX_TIERS = 10
MAX_WINDOW_DAYS = 30
MAX_REFERRAL_MONTHS = 120
MAX_TIER_THRESHOLD_FEN = 10**12  # 100 亿元 of monthly sales: far beyond any leader, far within 64 bits
MAX_TIER_BONUS_FEN = 100_000_000  # 1,000,000 元, the same ceiling as a price or a withdrawal

RULE_SELF_PURCHASE_EXCLUDED = "self_purchase_excluded"
RULE_SESSION_PRODUCT = "session_product_override"
RULE_SESSION = "session_override"
RULE_PRODUCT = "product_override"
RULE_LIVE_BASE = "live_base"
RULE_OFF_SESSION_BASE = "off_session_base"

# What a leader reads on a statement line.
RULE_TEXT = {
    RULE_SELF_PURCHASE_EXCLUDED: "团长本人购买，按品牌规则不计佣金",
    RULE_SESSION_PRODUCT: "本场直播该商品专属佣金率",
    RULE_SESSION: "本场直播专属佣金率",
    RULE_PRODUCT: "该商品专属佣金率",
    RULE_LIVE_BASE: "直播间订单基础佣金率",
    RULE_OFF_SESSION_BASE: "非直播订单佣金率",
}


@dataclass(frozen=True)
class Tier:
    threshold_fen: int
    bonus_fen: int
    reward: str = ""


@dataclass(frozen=True)
class RuleSet:
    live_rate_bp: int = 1500
    off_session_rate_bp: int = 1000
    product_overrides: tuple[tuple[int, int], ...] = ()  # (product id, rate)
    session_overrides: tuple[tuple[int, int | None, int], ...] = ()  # (session id, product id or None, rate)
    referral_rate_bp: int = 200
    referral_months: int = 12
    self_purchase_counts: bool = True
    tier_bonuses: tuple[Tier, ...] = field(
        default_factory=lambda: (
            Tier(threshold_fen=1_000_000, bonus_fen=20_000),  # 1 万元 → 200 元
            Tier(threshold_fen=3_000_000, bonus_fen=80_000),  # 3 万元 → 800 元
            Tier(threshold_fen=10_000_000, bonus_fen=300_000, reward="品牌年度团长大会邀请"),  # 10 万元 → 3000 元
        )
    )
    settlement_window_days: int = 1

    def tier_for(self, gmv_fen: int) -> Tier | None:
        """The highest tier reached (tiers do not add up)."""
        reached = [t for t in self.tier_bonuses if gmv_fen >= t.threshold_fen]
        return max(reached, key=lambda t: t.threshold_fen) if reached else None


DEFAULT_RULES = RuleSet()


def ruleset_of(row: CommissionRuleVersion) -> RuleSet:
    return RuleSet(
        live_rate_bp=row.live_rate_bp,
        off_session_rate_bp=row.off_session_rate_bp,
        product_overrides=tuple((int(o["product_id"]), int(o["rate_bp"])) for o in row.product_overrides),
        session_overrides=tuple(
            (int(o["session_id"]), int(o["product_id"]) if o.get("product_id") is not None else None, int(o["rate_bp"]))
            for o in row.session_overrides
        ),
        referral_rate_bp=row.referral_rate_bp,
        referral_months=row.referral_months,
        self_purchase_counts=row.self_purchase_counts,
        tier_bonuses=tuple(
            Tier(threshold_fen=int(t["threshold_fen"]), bonus_fen=int(t["bonus_fen"]), reward=str(t.get("reward", "")))
            for t in row.tier_bonuses
        ),
        settlement_window_days=row.settlement_window_days,
    )


def _row_values(rules: RuleSet) -> dict[str, Any]:
    return dict(
        live_rate_bp=rules.live_rate_bp,
        off_session_rate_bp=rules.off_session_rate_bp,
        product_overrides=[{"product_id": p, "rate_bp": r} for p, r in rules.product_overrides],
        session_overrides=[{"session_id": s, "product_id": p, "rate_bp": r} for s, p, r in rules.session_overrides],
        referral_rate_bp=rules.referral_rate_bp,
        referral_months=rules.referral_months,
        self_purchase_counts=rules.self_purchase_counts,
        tier_bonuses=[{"threshold_fen": t.threshold_fen, "bonus_fen": t.bonus_fen, "reward": t.reward} for t in rules.tier_bonuses],
        settlement_window_days=rules.settlement_window_days,
    )


# --- the quote of one order (pure) -----------------------------------------------------------------


@dataclass(frozen=True)
class OrderFacts:
    paid_fen: int
    session_id: int | None
    product_id: int
    placed_at: datetime
    self_purchase: bool
    brought_in_at: datetime | None  # when this order's leader brought the member in new; None otherwise
    repurchase: bool = False  # the member paid for another order of the brand before this one
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class Quote:
    rule: str
    rate_bp: int
    referral_bp: int
    commission_fen: int

    @property
    def total_bp(self) -> int:
        return self.rate_bp + self.referral_bp


def commission_for(paid_fen: int, total_bp: int) -> int:
    return round_half_up_div(paid_fen * total_bp, BP_DENOMINATOR)


def add_months(at: datetime, months: int, timezone: str) -> datetime:
    """The same local wall time `months` calendar months later (the day clamped to the month's end)."""
    local = at.astimezone(ZoneInfo(timezone))
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def base_rate(rules: RuleSet, *, session_id: int | None, product_id: int) -> tuple[str, int]:
    if session_id is not None:
        for s, p, rate in rules.session_overrides:
            if s == session_id and p == product_id:
                return RULE_SESSION_PRODUCT, rate
        for s, p, rate in rules.session_overrides:
            if s == session_id and p is None:
                return RULE_SESSION, rate
    for p, rate in rules.product_overrides:
        if p == product_id:
            return RULE_PRODUCT, rate
    if session_id is not None:
        return RULE_LIVE_BASE, rules.live_rate_bp
    return RULE_OFF_SESSION_BASE, rules.off_session_rate_bp


def referral_applies(rules: RuleSet, facts: OrderFacts) -> bool:
    if rules.referral_rate_bp <= 0 or rules.referral_months <= 0 or facts.brought_in_at is None:
        return False
    if not facts.repurchase:
        return False
    return facts.placed_at < add_months(facts.brought_in_at, rules.referral_months, facts.timezone)


def quote(rules: RuleSet, facts: OrderFacts) -> Quote:
    if facts.self_purchase and not rules.self_purchase_counts:
        return Quote(rule=RULE_SELF_PURCHASE_EXCLUDED, rate_bp=0, referral_bp=0, commission_fen=0)
    rule, rate = base_rate(rules, session_id=facts.session_id, product_id=facts.product_id)
    referral = rules.referral_rate_bp if referral_applies(rules, facts) else 0
    return Quote(rule=rule, rate_bp=rate, referral_bp=referral, commission_fen=commission_for(facts.paid_fen, rate + referral))


def eligible_at(completed_at: datetime, *, window_days: int, timezone: str) -> datetime:
    """When a completed order's commission becomes available.

    Window 0: at completion (real time). Window N ≥ 1: 00:00 (brand time zone) of the N-th day after the
    completion day, so with the default 1 an order picked up any time on 20 Nov is available from
    00:00 on 21 Nov (T+1).
    """
    if window_days <= 0:
        return completed_at
    zone = ZoneInfo(timezone)
    day = completed_at.astimezone(zone).date() + timedelta(days=window_days)
    return datetime.combine(day, time.min, tzinfo=zone)


# --- versions -------------------------------------------------------------------------------------


async def _latest(session: AsyncSession, brand_id: int, *, at: datetime | None = None) -> CommissionRuleVersion | None:
    query = select(CommissionRuleVersion).where(CommissionRuleVersion.brand_id == brand_id)
    if at is not None:
        query = query.where(CommissionRuleVersion.created_at <= at)
    return await session.scalar(
        query.order_by(CommissionRuleVersion.created_at.desc(), CommissionRuleVersion.version.desc()).limit(1)
    )


async def ensure_default_version(*, session: AsyncSession, brand_id: int) -> CommissionRuleVersion:
    """Version 1 (the defaults, in force since the brand was created), written the first time it is needed."""
    first = await session.scalar(
        select(CommissionRuleVersion).where(CommissionRuleVersion.brand_id == brand_id, CommissionRuleVersion.version == 1)
    )
    if first is not None:
        return first
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    row = CommissionRuleVersion(
        brand_id=brand_id, version=1, note="默认规则", created_at=brand.created_at, created_by_user_id=None,
        **_row_values(DEFAULT_RULES),
    )
    if await insert_unique(session, row):
        return row
    found = await session.scalar(
        select(CommissionRuleVersion).where(CommissionRuleVersion.brand_id == brand_id, CommissionRuleVersion.version == 1)
    )
    assert found is not None
    return found


async def version_at(*, session: AsyncSession, brand_id: int, at: datetime) -> CommissionRuleVersion:
    """The version in force at `at` (an order's placement time)."""
    first = await ensure_default_version(session=session, brand_id=brand_id)
    return await _latest(session, brand_id, at=at) or first


async def current_version(*, session: AsyncSession, brand_id: int) -> CommissionRuleVersion:
    first = await ensure_default_version(session=session, brand_id=brand_id)
    return await _latest(session, brand_id) or first


async def find_current_version(*, session: AsyncSession, brand_id: int) -> CommissionRuleVersion | None:
    """Read-only twin of current_version: None means the brand still has the defaults, never written."""
    return await _latest(session, brand_id)


async def get_version(*, session: AsyncSession, version_id: int) -> CommissionRuleVersion:
    row = await session.get(CommissionRuleVersion, version_id)
    if row is None:
        raise LookupError(f"commission rule version {version_id} does not exist")
    return row


def versions_query(*, brand_id: int) -> Select[tuple[CommissionRuleVersion]]:
    """A brand's rule versions, newest first."""
    return (
        select(CommissionRuleVersion)
        .where(CommissionRuleVersion.brand_id == brand_id)
        .order_by(CommissionRuleVersion.version.desc())
    )


def _rate(value: int, label: str) -> int:
    if not 0 <= value <= BP_DENOMINATOR:
        raise InvalidInput(f"{label}须在 0 到 10000 个基点（0%–100%）之间", code="commission_rate_invalid")
    return value


def validate(rules: RuleSet) -> RuleSet:
    """Every rate 0–10000 bp and, with the referral reward on top, never above 100%."""
    _rate(rules.live_rate_bp, "直播间基础佣金率")
    _rate(rules.off_session_rate_bp, "非直播订单佣金率")
    _rate(rules.referral_rate_bp, "拉新奖励佣金率")
    if len(rules.product_overrides) + len(rules.session_overrides) > MAX_OVERRIDES:
        raise InvalidInput(f"专属佣金率最多 {MAX_OVERRIDES} 条", code="commission_overrides_too_many")
    products = [p for p, _ in rules.product_overrides]
    if len(set(products)) != len(products):
        raise InvalidInput("同一商品只能设置一条专属佣金率", code="commission_override_duplicate")
    sessions = [(s, p) for s, p, _ in rules.session_overrides]
    if len(set(sessions)) != len(sessions):
        raise InvalidInput("同一场直播（及商品）只能设置一条专属佣金率", code="commission_override_duplicate")
    rates = [rules.live_rate_bp, rules.off_session_rate_bp]
    rates += [_rate(r, "商品专属佣金率") for _, r in rules.product_overrides]
    rates += [_rate(r, "直播专属佣金率") for _, _, r in rules.session_overrides]
    if max(rates) + rules.referral_rate_bp > BP_DENOMINATOR:
        raise InvalidInput("佣金率加拉新奖励不能超过 100%", code="commission_rate_invalid")
    if not 0 <= rules.referral_months <= MAX_REFERRAL_MONTHS:
        raise InvalidInput("拉新奖励期须在 0 到 120 个月之间", code="referral_months_invalid")
    if not 0 <= rules.settlement_window_days <= MAX_WINDOW_DAYS:
        raise InvalidInput("售后期须在 0 到 30 天之间", code="settlement_window_invalid")
    if len(rules.tier_bonuses) > MAX_TIERS:
        raise InvalidInput(f"阶梯奖励最多 {MAX_TIERS} 档", code="tier_bonus_invalid")
    previous = 0
    for tier in rules.tier_bonuses:
        if tier.threshold_fen <= previous:
            raise InvalidInput("阶梯门槛须大于 0 且逐档递增", code="tier_bonus_invalid")
        if tier.threshold_fen > MAX_TIER_THRESHOLD_FEN or tier.bonus_fen > MAX_TIER_BONUS_FEN:
            raise InvalidInput(
                f"阶梯门槛最高 {MAX_TIER_THRESHOLD_FEN} 分，现金奖励最高 {MAX_TIER_BONUS_FEN} 分", code="tier_bonus_invalid"
            )
        if tier.bonus_fen < 0 or len(tier.reward) > 100 or (tier.bonus_fen == 0 and not tier.reward.strip()):
            raise InvalidInput("每档须有现金奖励（分，≥0）或实物奖励说明（≤100 字）", code="tier_bonus_invalid")
        previous = tier.threshold_fen
    return rules


async def _check_references(session: AsyncSession, brand_id: int, rules: RuleSet) -> None:
    from linli.catalog import service as catalog
    from linli.errors import NotFound
    from linli.live import service as live

    for product_id in {p for p, _ in rules.product_overrides} | {p for _, p, _ in rules.session_overrides if p}:
        try:
            await catalog.get_product(session=session, brand_id=brand_id, product_id=product_id)
        except NotFound as exc:
            raise InvalidInput(f"商品 {product_id} 不存在", code="commission_override_unknown_product") from exc
    for session_id in {s for s, _, _ in rules.session_overrides}:
        try:
            await live.get_brand_session(session=session, brand_id=brand_id, session_id=session_id)
        except NotFound as exc:
            raise InvalidInput(f"直播场次 {session_id} 不存在", code="commission_override_unknown_session") from exc


async def update_rules(
    *, session: AsyncSession, brand_id: int, rules: RuleSet, note: str, actor_user_id: int, now: datetime,
    based_on_version: int | None = None,
) -> CommissionRuleVersion:
    """A new version with these rules, recorded with who and when; it applies to orders placed from now on.

    `based_on_version` is the version the person editing saw: when another version was published since (a
    double click on 发布, or a colleague), nothing is published and they are asked to look again."""
    validate(rules)
    await _check_references(session, brand_id, rules)
    await ensure_default_version(session=session, brand_id=brand_id)
    latest = await session.scalar(
        select(func.max(CommissionRuleVersion.version)).where(CommissionRuleVersion.brand_id == brand_id)
    )
    if based_on_version is not None and based_on_version != latest:
        raise Conflict(
            f"佣金规则已更新为第 {latest} 版，本次未发布；请查看最新规则后再发布", code="commission_rules_changed"
        )
    row = CommissionRuleVersion(
        brand_id=brand_id, version=int(latest or 0) + 1, note=note.strip()[:200], created_at=now,
        created_by_user_id=actor_user_id, **_row_values(rules),
    )
    if not await insert_unique(session, row):  # another change got this version number a moment ago
        raise Conflict("佣金规则刚被他人修改，请刷新后重试", code="commission_rules_changed")
    return row
