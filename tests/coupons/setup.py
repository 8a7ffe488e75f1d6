"""A stage for coupon tests: the orders' stage (a live session, 小李's community offer at 68.00 on a listing at
88.00, 王姐 of another community) plus a category for its product, a second product listed in the same session,
and a second brand with a coupon of its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from linli.catalog import service as catalog
from linli.catalog.models import Product, Sku
from linli.context import AppContext
from linli.coupons import service as coupons
from linli.coupons import templates
from linli.coupons.models import Coupon
from linli.live.models import Listing
from linli.members import service as members
from tests.factories import Actor, World
from tests.orders.setup import Stage, bound_member, build_stage


@dataclass
class CouponStage:
    stage: Stage
    category_id: int  # 时令水果, the stage's strawberries are in it
    product_id: int
    other_product_id: int  # 爱媛果冻橙, no category, listed in the same session
    other_listing_id: int
    other_brand_id: int
    other_brand_owner: Actor

    @property
    def brand_id(self) -> int:
        return self.stage.brand_id


async def build_coupon_stage(world: World, **stage_options: int) -> CouponStage:
    ctx = world.ctx
    stage = await build_stage(world, **stage_options)
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        category = await catalog.create_category(session=s, brand_id=stage.brand_id, name="时令水果", now=now)
        sku = await s.get(Sku, stage.sku_id)
        await s.execute(update(Product).where(Product.id == sku.product_id).values(category_id=category.id))
        orange = Product(brand_id=stage.brand_id, name="爱媛果冻橙", description="", images=[], created_at=now)
        s.add(orange)
        await s.flush()
        orange_sku = Sku(brand_id=stage.brand_id, product_id=orange.id, name="5斤装", list_price_fen=5990,
                         stock_quantity=500, created_at=now)
        s.add(orange_sku)
        await s.flush()
        listing = Listing(brand_id=stage.brand_id, session_id=stage.session_id, sku_id=orange_sku.id, live_price_fen=4990,
                          allocation=200, created_at=now)
        s.add(listing)
        await s.flush()
        ids = (category.id, sku.product_id, orange.id, listing.id)
    other_brand = await world.brand("鲜果坊")
    other_owner = await world.staff(other_brand)
    return CouponStage(stage, *ids, other_brand_id=other_brand, other_brand_owner=other_owner)


def terms(**overrides: object) -> templates.TemplateInput:
    """满50减10, 30 days from issuing, one per member, everywhere — unless told otherwise."""
    values: dict = {"name": "满50减10", "kind": "fixed", "amount_fen": 1000, "threshold_fen": 5000, "valid_days": 30}
    values.update(overrides)
    return templates.TemplateInput(**values)


async def make_template(ctx: AppContext, brand_id: int, **overrides: object) -> int:
    async with ctx.db.transaction() as s:
        template = await templates.create_template(
            session=s, brand_id=brand_id, data=terms(**overrides), actor_user_id=None, now=ctx.clock.now()
        )
    return template.id


async def member_id_of(ctx: AppContext, brand_id: int, actor: Actor) -> int:
    async with ctx.db.transaction() as s:
        member, _ = await members.get_or_create_member(session=s, brand_id=brand_id, user_id=actor.user_id, now=ctx.clock.now())
    return member.id


async def give(ctx: AppContext, brand_id: int, template_id: int, actor: Actor, *, key: str | None = None) -> int:
    """Issues one coupon of the template to the actor (by hand, a fresh key unless told); returns its id."""
    member_id = await member_id_of(ctx, brand_id, actor)
    async with ctx.db.transaction() as s:
        issued = await coupons.issue_coupon(
            session=s, brand_id=brand_id, template_id=template_id, member_id=member_id, source="manual",
            source_key=key or uuid.uuid4().hex, now=ctx.clock.now(),
        )
    return issued.coupon.id


async def neighbour_with_coupon(world: World, cs: CouponStage, **overrides: object) -> tuple[Actor, int]:
    """A neighbour bound to 小李 holding one coupon of a new template (`overrides` its terms)."""
    buyer = await bound_member(world, cs.stage.leader)
    template_id = await make_template(world.ctx, cs.brand_id, **overrides)
    return buyer, await give(world.ctx, cs.brand_id, template_id, buyer)


async def order(client: httpx.AsyncClient, actor: Actor, **body: object) -> httpx.Response:
    return await client.post(
        "/api/v1/orders", json={"quantity": 1, **body}, headers={**actor.headers, "Idempotency-Key": uuid.uuid4().hex}
    )


async def coupon_row(ctx: AppContext, coupon_id: int) -> Coupon:
    async with ctx.db.read() as s:
        return await s.get(Coupon, coupon_id)


async def coupons_of(ctx: AppContext, member_id: int) -> list[Coupon]:
    async with ctx.db.read() as s:
        return list(await s.scalars(select(Coupon).where(Coupon.member_id == member_id).order_by(Coupon.id)))


def days(n: int) -> timedelta:
    return timedelta(days=n)
