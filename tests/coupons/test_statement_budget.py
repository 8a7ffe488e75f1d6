"""Only an order with a coupon pays for it: the coupon's read, its guarded update and the redemption row (and, on
PostgreSQL, the order written by the ORM rather than in the reservation's own statement). An order without one
keeps the lean path's budget (tests/orders/test_lean_path.py)."""

from __future__ import annotations

import re

from linli.bench.statements import StatementCounter
from tests.coupons.setup import build_coupon_stage, give, make_template, order
from tests.orders.setup import bound_member
from tests.orders.test_lean_path import ORDER_BUDGET

# Measured 2026-12-02 (token lookup, BEGIN and COMMIT included): SQLite 18, PostgreSQL 13 (7 without a coupon).
COUPON_ORDER_BUDGET = {"sqlite": 18, "postgresql": 13}


async def test_an_order_with_a_coupon_stays_within_its_budget_and_one_without_is_unchanged(client, world, ctx):
    cs = await build_coupon_stage(world)
    template = await make_template(ctx, cs.brand_id)
    warm, buyer, plain = [await bound_member(world, cs.stage.leader) for _ in range(3)]
    assert (await order(client, warm, offer_id=cs.stage.offer_id)).status_code == 201  # fills the cache
    coupon_id = await give(ctx, cs.brand_id, template, buyer)
    engines = (ctx.db.engine, ctx.db.read_engine)
    with StatementCounter(*engines) as with_coupon:
        assert (await order(client, buyer, offer_id=cs.stage.offer_id, coupon_id=coupon_id)).status_code == 201
    with StatementCounter(*engines) as without:
        assert (await order(client, plain, offer_id=cs.stage.offer_id)).status_code == 201
    dialect = ctx.db.dialect
    assert with_coupon.total <= COUPON_ORDER_BUDGET[dialect], with_coupon.sent
    assert without.total <= ORDER_BUDGET[dialect], without.sent
    assert not any(re.search(r"\bcoupons\b|\bcoupon_redemptions\b", q, re.IGNORECASE) for q in without.queries)
