"""The demo shows coupons: three of 小李's neighbours hold the fruit coupon, and a neighbour bound from now on gets
the welcome coupon once the worker has seen the binding (nobody bound before the rule gets one)."""

from __future__ import annotations

from sqlalchemy import select

from linli.attribution import service as attribution
from linli.coupons.models import Coupon, CouponTemplate
from linli.demo import load_demo
from linli.demo.coupons import FRUIT_COUPON, WELCOME_COUPON
from linli.leaders import invite_codes
from linli.worker import run_until_idle
from tests.web.workbench_scene import load


async def test_the_demo_holds_fruit_coupons_and_welcomes_the_next_neighbour(ctx, world):
    demo = await load(ctx)
    await run_until_idle(ctx)
    async with ctx.db.read() as s:
        held = (await s.execute(
            select(CouponTemplate.name, Coupon.member_id).join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        )).all()
        code = await invite_codes.current_code(session=s, leader_id=demo.xiaoli_leader_id)
    assert sorted(name for name, _ in held) == [FRUIT_COUPON] * 3
    newcomer = await world.user(phone="13900000023")
    async with ctx.db.transaction() as s:
        await attribution.enter_with_code(session=s, user_id=newcomer.user_id, raw_code=code.code, now=ctx.clock.now())
    await run_until_idle(ctx)
    async with ctx.db.read() as s:
        names = (await s.scalars(
            select(CouponTemplate.name).join(Coupon, Coupon.template_id == CouponTemplate.id).order_by(Coupon.id)
        )).all()
    assert names == [FRUIT_COUPON] * 3 + [WELCOME_COUPON]
    assert "13900000001-13900000003 hold 草莓季满50减10" in await load_demo(ctx)
