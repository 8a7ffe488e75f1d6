"""Commission rules: rounding, precedence, referral, self-purchase, the window, versions (new orders only)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from linli.catalog.models import Sku
from linli.errors import Conflict, InvalidInput
from linli.ledger import rules
from linli.ledger.models import LINE_EXCLUDED
from linli.ledger.service import round_half_up_div
from linli.members import service as members
from linli.orders import service as orders
from linli.orders.models import Order
from tests.ledger.helpers import assert_audit_ok, buy, complete, line_of, settle, transactions
from tests.orders.setup import bound_member, build_stage

T0 = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)


# --- the pure rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paid", "bp", "expected"),
    [(680_000, 1500, 102_000), (8_850, 1500, 1_328), (8_830, 1500, 1_325), (8_810, 1500, 1_322), (8_820, 1500, 1_323),
     (1, 1500, 0), (4, 1250, 1), (3, 1500, 0), (0, 1500, 0), (99_999_999, 10_000, 99_999_999)],
)
def test_commission_is_rounded_half_up_on_integers(paid, bp, expected):
    assert rules.commission_for(paid, bp) == expected


def test_round_half_up_refuses_what_it_cannot_round():
    assert round_half_up_div(5, 10) == 1 and round_half_up_div(4, 10) == 0 and round_half_up_div(15, 10) == 2
    with pytest.raises(ValueError):
        round_half_up_div(-1, 10)


def facts(**changes) -> rules.OrderFacts:  # noqa: ANN003
    base = dict(paid_fen=10_000, session_id=7, product_id=3, placed_at=T0, self_purchase=False, brought_in_at=None)
    return rules.OrderFacts(**{**base, **changes})


OVERRIDES = rules.RuleSet(
    product_overrides=((3, 800), (4, 900)),
    session_overrides=((7, 3, 2500), (7, None, 2000), (8, None, 1800)),
)


@pytest.mark.parametrize(
    ("session_id", "product_id", "rule", "rate"),
    [
        (7, 3, "session_product_override", 2500),  # this session + this product
        (7, 4, "session_override", 2000),  # this session (product 4 has its own rate, the session wins)
        (9, 4, "product_override", 900),  # another session: the product's rate
        (9, 5, "live_base", 1500),  # nothing special
        (None, 3, "product_override", 800),  # outside a live session, a product override still applies
        (None, 5, "off_session_base", 1000),
    ],
)
def test_the_most_specific_rate_wins(session_id, product_id, rule, rate):
    quote = rules.quote(OVERRIDES, facts(session_id=session_id, product_id=product_id))
    assert (quote.rule, quote.rate_bp, quote.referral_bp, quote.commission_fen) == (rule, rate, 0, rate)


def test_the_referral_reward_is_for_repurchases_of_members_brought_in_new_within_the_period():
    bound = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)  # 10:00 on 31 Jan, Shanghai
    new = dict(brought_in_at=bound, repurchase=True)
    assert rules.quote(rules.DEFAULT_RULES, facts(**new)).total_bp == 1700
    assert rules.quote(rules.DEFAULT_RULES, facts(brought_in_at=bound, repurchase=False)).total_bp == 1500  # first order
    assert rules.quote(rules.DEFAULT_RULES, facts(brought_in_at=None, repurchase=True)).total_bp == 1500  # not brought in new
    end = datetime(2027, 1, 31, 2, 0, tzinfo=UTC)  # 12 calendar months later
    assert rules.quote(rules.DEFAULT_RULES, facts(placed_at=end - timedelta(seconds=1), **new)).referral_bp == 200
    assert rules.quote(rules.DEFAULT_RULES, facts(placed_at=end, **new)).referral_bp == 0
    off = rules.RuleSet(referral_rate_bp=0)
    assert rules.quote(off, facts(**new)).referral_bp == 0


def test_months_are_calendar_months_in_the_brand_time_zone():
    jan31 = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)
    assert rules.add_months(jan31, 1, "Asia/Shanghai").astimezone(UTC) == datetime(2026, 2, 28, 2, 0, tzinfo=UTC)
    assert rules.add_months(jan31, 13, "Asia/Shanghai").astimezone(UTC) == datetime(2027, 2, 28, 2, 0, tzinfo=UTC)


def test_self_purchase_counts_or_not():
    assert rules.quote(rules.DEFAULT_RULES, facts(self_purchase=True)).commission_fen == 1_500
    quote = rules.quote(rules.RuleSet(self_purchase_counts=False), facts(self_purchase=True))
    assert (quote.rule, quote.rate_bp, quote.commission_fen) == ("self_purchase_excluded", 0, 0)


@pytest.mark.parametrize(
    ("completed", "window", "expected"),
    [
        (datetime(2026, 11, 20, 2, 0, tzinfo=UTC), 1, datetime(2026, 11, 20, 16, 0, tzinfo=UTC)),  # 10:00 → 00:00 next day
        (datetime(2026, 11, 20, 15, 59, tzinfo=UTC), 1, datetime(2026, 11, 20, 16, 0, tzinfo=UTC)),  # 23:59 → one minute
        (datetime(2026, 11, 20, 16, 0, tzinfo=UTC), 1, datetime(2026, 11, 21, 16, 0, tzinfo=UTC)),  # 00:00 → a full day
        (datetime(2026, 11, 20, 2, 0, tzinfo=UTC), 3, datetime(2026, 11, 22, 16, 0, tzinfo=UTC)),
        (datetime(2026, 11, 20, 2, 0, tzinfo=UTC), 0, datetime(2026, 11, 20, 2, 0, tzinfo=UTC)),  # real time
    ],
)
def test_available_from(completed, window, expected):
    assert rules.eligible_at(completed, window_days=window, timezone="Asia/Shanghai") == expected


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        (dict(live_rate_bp=10_001), "commission_rate_invalid"),
        (dict(off_session_rate_bp=-1), "commission_rate_invalid"),
        (dict(live_rate_bp=9_900, referral_rate_bp=200), "commission_rate_invalid"),
        (dict(product_overrides=((1, 100), (1, 200))), "commission_override_duplicate"),
        (dict(session_overrides=((1, None, 100), (1, None, 200))), "commission_override_duplicate"),
        (dict(settlement_window_days=31), "settlement_window_invalid"),
        (dict(referral_months=121), "referral_months_invalid"),
        (dict(tier_bonuses=(rules.Tier(100, 10), rules.Tier(100, 20))), "tier_bonus_invalid"),
        (dict(tier_bonuses=(rules.Tier(100, 0),)), "tier_bonus_invalid"),
        (dict(tier_bonuses=(rules.Tier(rules.MAX_TIER_THRESHOLD_FEN + 1, 10),)), "tier_bonus_invalid"),
        (dict(tier_bonuses=(rules.Tier(100, rules.MAX_TIER_BONUS_FEN + 1),)), "tier_bonus_invalid"),
    ],
)
def test_invalid_rules_are_refused(changes, code):
    with pytest.raises(InvalidInput) as refused:
        rules.validate(rules.RuleSet(**changes))
    assert refused.value.code == code


# --- against the database ------------------------------------------------------------------------


@pytest.fixture
async def stage(world):
    return await build_stage(world, quota=100, per_member_limit=20, price_fen=6800, live_price_fen=8800)


def body(**changes) -> dict:  # noqa: ANN003
    base = {
        "live_rate_bp": 1500, "off_session_rate_bp": 1000, "product_overrides": [], "session_overrides": [],
        "referral_rate_bp": 200, "referral_months": 12, "self_purchase_counts": True,
        "tier_bonuses": [{"threshold_fen": 1_000_000, "bonus_fen": 20_000}], "settlement_window_days": 1, "note": "",
    }
    return {**base, **changes}


async def put_rules(client, stage, **changes):  # noqa: ANN001, ANN003, ANN201
    return await client.put(f"/api/v1/brands/{stage.brand_id}/commission-rules", json=body(**changes), headers=stage.owner.headers)


async def test_rules_never_changed_list_the_defaults_as_the_one_version(client, world):
    brand = await world.brand()
    owner = await world.staff(brand)
    versions = (await client.get(f"/api/v1/brands/{brand}/commission-rules/versions", headers=owner.headers)).json()
    assert (versions["total"], versions["page"], versions["page_size"]) == (1, 1, 20)
    [only] = versions["items"]
    assert only["is_default"] and only["note"] == "默认规则" and only["live_rate_bp"] == 1500


async def test_a_change_applies_to_orders_placed_after_it(ctx, world, client, clock, stage):
    buyer = await bound_member(world, stage.leader)
    async with ctx.db.transaction() as s:  # placed under version 1 …
        placed = await orders.place_order(
            session=s, user_id=buyer.user_id, listing_id=None, offer_id=stage.offer_id, quantity=1,
            idempotency_key=uuid.uuid4().hex, pickup_community_id=None, payment_ttl=timedelta(minutes=10), now=clock.now(),
        )
    clock.advance(timedelta(minutes=1))
    response = await put_rules(client, stage, live_rate_bp=2000, note="草莓季加码")
    assert response.status_code == 200, response.text
    v2 = response.json()
    assert (v2["version"], v2["live_rate_bp"], v2["created_by_user_id"], v2["is_default"]) == (2, 2000, stage.owner.user_id, False)
    clock.advance(timedelta(minutes=1))
    async with ctx.db.transaction() as s:  # … and paid after the change: still version 1
        await orders.apply_payment(session=s, order_id=placed.order.id, amount_fen=placed.order.total_fen, now=clock.now())
    later = await buy(ctx, stage, await bound_member(world, stage.leader))
    from linli.worker import run_until_idle

    await run_until_idle(ctx)
    old, new = await line_of(ctx, placed.order.id), await line_of(ctx, later)
    assert (old.rate_bp, old.commission_fen) == (1500, 1_020)
    assert (new.rate_bp, new.commission_fen, new.rule_version_id) == (2000, 1_360, v2["id"])
    versions = await client.get(f"/api/v1/brands/{stage.brand_id}/commission-rules/versions", headers=stage.owner.headers)
    assert [v["version"] for v in versions.json()["items"]] == [2, 1] and versions.json()["total"] == 2
    assert versions.json()["items"][1]["is_default"] and versions.json()["items"][1]["created_by_user_id"] is None
    current = await client.get(f"/api/v1/brands/{stage.brand_id}/commission-rules", headers=stage.leader.actor.headers)
    assert current.json()["version"] == 2 and current.json()["note"] == "草莓季加码"
    [accrual_new] = [t for t in await transactions(ctx) if t.order_id == later]
    assert accrual_new.rule_version_id == v2["id"] and "直播间订单基础佣金率" in accrual_new.memo
    await assert_audit_ok(ctx)


async def test_overrides_apply_by_precedence(ctx, world, client, stage):
    async with ctx.db.read() as s:
        product_id = (await s.get(Sku, stage.sku_id)).product_id
    assert (await put_rules(client, stage, product_overrides=[{"product_id": product_id, "rate_bp": 800}])).status_code == 200
    first = await buy(ctx, stage, await bound_member(world, stage.leader))
    assert (await line_of(ctx, first)).rule == "product_override"
    response = await put_rules(
        client, stage, product_overrides=[{"product_id": product_id, "rate_bp": 800}],
        session_overrides=[{"session_id": stage.session_id, "rate_bp": 2000}],
    )
    assert response.status_code == 200
    second = await buy(ctx, stage, await bound_member(world, stage.leader))
    line = await line_of(ctx, second)
    assert (line.rule, line.rate_bp, line.commission_fen) == ("session_override", 2000, 1_360)
    await assert_audit_ok(ctx)


async def test_bad_rule_changes_are_refused_and_change_nothing(ctx, client, stage):
    cases = [
        (dict(live_rate_bp=10_001), "commission_rate_invalid"),
        (dict(product_overrides=[{"product_id": 999_999, "rate_bp": 100}]), "commission_override_unknown_product"),
        (dict(session_overrides=[{"session_id": 999_999, "rate_bp": 100}]), "commission_override_unknown_session"),
        (dict(tier_bonuses=[{"threshold_fen": 5, "bonus_fen": 1}, {"threshold_fen": 4, "bonus_fen": 2}]), "tier_bonus_invalid"),
        (dict(settlement_window_days=-1), "settlement_window_invalid"),
        (dict(tier_bonuses=[{"threshold_fen": 2**63, "bonus_fen": 1}]), "tier_bonus_invalid"),  # beyond 64 bits
        (dict(tier_bonuses=[{"threshold_fen": 100, "bonus_fen": 10**19}]), "tier_bonus_invalid"),
    ]
    for changes, code in cases:
        response = await put_rules(client, stage, **changes)
        assert (response.status_code, response.json()["error"]["code"]) == (422, code), changes
    response = await client.put(f"/api/v1/brands/{stage.brand_id}/commission-rules", json={"live_rate_bp": "x"}, headers=stage.owner.headers)
    assert response.status_code == 422
    current = await client.get(f"/api/v1/brands/{stage.brand_id}/commission-rules", headers=stage.owner.headers)
    assert current.json()["is_default"] and current.json()["version"] == 1 and current.json()["id"] is None


async def test_the_referral_reward_through_the_whole_flow(ctx, world, clock, stage):
    newcomer = await bound_member(world, stage.leader)  # became a member by entering through 小李's code
    first = await buy(ctx, stage, newcomer)
    again = await buy(ctx, stage, newcomer)
    assert [(await line_of(ctx, o)).referral_bp for o in (first, again)] == [0, 200]
    assert (await line_of(ctx, again)).commission_fen == 1_156  # 6,800 × 17%

    # A member who already existed (came to the live room before) is not "brought in new".
    regular = await world.user()
    async with ctx.db.transaction() as s:
        await members.get_or_create_member(session=s, brand_id=stage.brand_id, user_id=regular.user_id, now=clock.now())
    clock.advance(timedelta(minutes=5))
    from linli.attribution import service as attribution

    async with ctx.db.transaction() as s:
        await attribution.enter_with_code(session=s, user_id=regular.user_id, raw_code=stage.leader.code, now=clock.now())
    await buy(ctx, stage, regular)
    repeat = await buy(ctx, stage, regular)
    assert (await line_of(ctx, repeat)).referral_bp == 0

    # Thirteen months on, the newcomer's repurchases earn the base rate again.
    clock.advance(timedelta(days=400))
    late = await buy(ctx, stage, newcomer, offer=False)
    line = await line_of(ctx, late)
    assert (line.rate_bp, line.referral_bp) == (1500, 0)
    await assert_audit_ok(ctx)


async def _self_purchase(ctx, stage) -> int:  # noqa: ANN001
    """The leader buys for themself and the order is attributed to them (orders may do this one day)."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        placed = await orders.place_order(
            session=s, user_id=stage.leader.actor.user_id, listing_id=stage.listing_id, offer_id=None, quantity=1,
            idempotency_key=uuid.uuid4().hex, pickup_community_id=stage.community_id,
            payment_ttl=timedelta(minutes=10), now=now,
        )
        await s.execute(update(Order).where(Order.id == placed.order.id).values(leader_id=stage.leader.leader_id))
        await orders.apply_payment(session=s, order_id=placed.order.id, amount_fen=placed.order.total_fen, now=now)
    from linli.worker import run_until_idle

    await run_until_idle(ctx)
    return placed.order.id


async def test_self_purchase_counts_by_default_and_earns_nothing_when_the_brand_says_so(ctx, client, clock, stage):
    counted = await _self_purchase(ctx, stage)
    line = await line_of(ctx, counted)
    assert (line.member_id, line.rule, line.commission_fen) == (stage.leader.member_id, "live_base", 1_320)
    clock.advance(timedelta(minutes=1))
    assert (await put_rules(client, stage, self_purchase_counts=False)).status_code == 200
    clock.advance(timedelta(minutes=1))
    excluded = await _self_purchase(ctx, stage)
    line = await line_of(ctx, excluded)
    assert (line.rule, line.rate_bp, line.commission_fen, line.status) == ("self_purchase_excluded", 0, 0, LINE_EXCLUDED)
    assert [t.order_id for t in await transactions(ctx)] == [counted]
    await complete(ctx, excluded)
    clock.advance(timedelta(days=2))
    report = await settle(ctx)
    assert report.lines == 0  # only the counted one is due, and it was never completed
    await assert_audit_ok(ctx)


async def test_the_window_of_the_rule_version_decides_when_money_is_available(ctx, world, client, clock, stage):
    assert (await put_rules(client, stage, settlement_window_days=0)).status_code == 200
    clock.advance(timedelta(seconds=1))
    order_id = await buy(ctx, stage, await bound_member(world, stage.leader))
    await complete(ctx, order_id)
    assert (await line_of(ctx, order_id)).eligible_at == clock.now()
    assert (await settle(ctx)).lines == 1  # real time
    await assert_audit_ok(ctx)


async def test_a_version_made_over_an_older_one_is_refused_and_nothing_published(ctx, clock, stage):
    """What the editor saw is checked: a double click on 发布, or a colleague's version meanwhile, publishes once."""
    def publish(s, based_on_version):  # noqa: ANN001, ANN202
        return rules.update_rules(
            session=s, brand_id=stage.brand_id, rules=rules.RuleSet(live_rate_bp=1600), note="上调",
            actor_user_id=stage.owner.user_id, now=clock.now(), based_on_version=based_on_version,
        )

    async with ctx.db.transaction() as s:
        assert (await publish(s, 1)).version == 2
    with pytest.raises(Conflict) as refused:
        async with ctx.db.transaction() as s:
            await publish(s, 1)
    assert refused.value.code == "commission_rules_changed" and "第 2 版" in refused.value.message
    async with ctx.db.read() as s:
        assert (await rules.find_current_version(session=s, brand_id=stage.brand_id)).version == 2
