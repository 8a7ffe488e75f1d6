"""The demo's coupons: 草莓季满50减10 for the season's fruit, held by three of 小李's neighbours, and the welcome
coupon (新邻居见面礼, 9.5折) a newly bound neighbour gets from the brand's rule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.catalog import service as catalog
from linli.coupons import issuing, templates
from linli.coupons import service as coupons
from linli.demo.cast import neighbour
from linli.members import service as members

FRUIT_COUPON = "草莓季满50减10"
WELCOME_COUPON = "新邻居见面礼"
HOLDERS = (1, 2, 3)  # neighbours of 小李 (by index) who hold the fruit coupon


async def demo_coupons(s: AsyncSession, *, brand_id: int, owner_user_id: int, now: datetime) -> None:
    fruit = next(c for c in await catalog.list_categories(session=s, brand_id=brand_id) if c.name == "时令水果")
    season = await templates.create_template(
        session=s, brand_id=brand_id, actor_user_id=owner_user_id, now=now,
        data=templates.TemplateInput(
            name=FRUIT_COUPON, kind="fixed", amount_fen=1000, threshold_fen=5000, valid_days=7, issue_quota=500,
            scope="category", scope_id=fruit.id,
        ),
    )
    welcome = await templates.create_template(
        session=s, brand_id=brand_id, actor_user_id=owner_user_id, now=now,
        data=templates.TemplateInput(
            name=WELCOME_COUPON, kind="percent", percent_off_bp=500, cap_fen=1000, valid_days=14,
        ),
    )
    await issuing.create_rule(
        session=s, brand_id=brand_id, trigger="member_bound", template_id=welcome.id, actor_user_id=owner_user_id,
        now=now,
    )
    for index in HOLDERS:
        user = await accounts.find_user_by_phone(session=s, phone=neighbour(index)[0])
        assert user is not None
        member = await members.find_member(session=s, brand_id=brand_id, user_id=user.id)
        assert member is not None
        await coupons.issue_coupon(
            session=s, brand_id=brand_id, template_id=season.id, member_id=member.id, source="manual",
            source_key="demo:strawberry-evening", now=now,
        )
