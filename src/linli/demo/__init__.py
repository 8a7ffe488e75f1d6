"""The demo data: brand 优邻优选, 云顶华府 with leader 小李, 王姐, and a few dozen neighbours; the 成长中心's
required course, with 小李 mentoring 王姐.

The brand was founded a week before the demo is loaded; last week's grape evening has been picked up and
settled (so 小李 has money to withdraw); the strawberry evening is live now and a wave of oranges waits at
云顶华府's pickup point; three of 小李's neighbours hold a fruit coupon and a newly bound neighbour gets a welcome
coupon; two of 小李's neighbours posted in 云顶华府's feed (a recipe approved, a 晒单 pending), and a featured
post earns 精选分享奖励. Loading is idempotent: when the brand already exists nothing is written again, and
the summary (logins, codes, what to try) is read back from the database either way.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from linli.accounts import service as accounts
from linli.attribution import service as attribution
from linli.brands import service as brands
from linli.clock import FixedClock
from linli.community import service as community
from linli.context import AppContext
from linli.demo.academy import academy_demo
from linli.demo.cast import (
    APPLICANT_PHONE,
    BRAND_SLUG,
    COMMUNITIES,
    DEMO_PASSWORD,
    OPERATOR_LOGIN,
    OWNER_LOGIN,
    WANGJIE_PHONE,
    XIAOLI_PHONE,
    YUNDING_JOIN_URL,
    neighbour,
)
from linli.demo.coupons import demo_coupons
from linli.demo.posts import demo_posts
from linli.demo.evenings import arrived_wave, last_weeks_evening, strawberry_session
from linli.demo.summary import describe_demo
from linli.leaders import invite_codes
from linli.leaders import service as leaders
from linli.marketing import interests
from linli.notifications import robots

__all__ = ["XIAOLI_PHONE", "WANGJIE_PHONE", "describe_demo", "load_demo"]

FOUNDED_DAYS_AGO = 7
LAST_EVENING_DAYS_AGO = 3


async def load_demo(ctx: AppContext) -> str:
    """Writes the demo once, then answers its summary (the same text on every later run)."""
    now = ctx.clock.now()
    async with ctx.db.read() as s:
        loaded = await brands.find_brand_by_slug(session=s, slug=BRAND_SLUG) is not None
    if not loaded:
        await _write_demo(ctx, now=now)
    return ("demo data already loaded; nothing changed\n" if loaded else "") + await describe_demo(ctx)


async def _write_demo(ctx: AppContext, *, now) -> None:  # noqa: ANN001
    founded = now - timedelta(days=FOUNDED_DAYS_AGO)
    async with ctx.db.transaction() as s:
        brand = await brands.create_brand(session=s, name="优邻优选", slug=BRAND_SLUG, timezone="Asia/Shanghai", now=founded)
        owner = await accounts.create_staff_user(
            session=s, login_name=OWNER_LOGIN, password=DEMO_PASSWORD, display_name="优邻优选·店长", now=founded
        )
        operator = await accounts.create_staff_user(
            session=s, login_name=OPERATOR_LOGIN, password=DEMO_PASSWORD, display_name="优邻优选·运营", now=founded
        )
        await brands.add_staff(session=s, brand_id=brand.id, user_id=owner.id, role="owner", now=founded)
        await brands.add_staff(session=s, brand_id=brand.id, user_id=operator.id, role="operator", now=founded)
        community_ids = []
        for c in COMMUNITIES:
            place, _ = await brands.create_community(
                session=s, brand_id=brand.id, name=c.name, address=c.address,
                pickup=brands.PickupPointInput(
                    name=c.pickup_name, address=c.pickup_address, opening_hours=c.hours,
                    contact_name=c.contact, contact_phone=c.phone,
                ),
                now=founded,
            )
            community_ids.append(place.id)

        # Each leader's community has its group; 云顶华府's can be joined, so its buyers are invited after paying.
        for community_id in community_ids[:2]:
            await community.create_group(session=s, brand_id=brand.id, community_id=community_id, now=founded)
        yunding = await community.group_of_community(session=s, community_id=community_ids[0])
        assert yunding is not None
        await community.update_group(
            session=s, brand_id=brand.id, group_id=yunding.id, patch=community.GroupPatch(join_url=YUNDING_JOIN_URL),
            policy=robots.WebhookPolicy.of(ctx.settings), now=founded,
        )

        leader_codes, leader_ids = {}, {}
        for phone, name, community_id in ((XIAOLI_PHONE, "小李", community_ids[0]), (WANGJIE_PHONE, "王姐", community_ids[1])):
            user = await accounts.get_or_create_user_by_phone(session=s, phone=phone, now=founded, display_name=name)
            leader = await leaders.apply(
                session=s, brand_id=brand.id, user_id=user.id, community_id=community_id, real_name=name,
                note="在小区住了八年，邻居都熟。", now=founded,
            )
            await leaders.approve(session=s, brand_id=brand.id, leader_id=leader.id, actor_user_id=owner.id, now=founded)
            code = await invite_codes.current_code(session=s, leader_id=leader.id)
            assert code is not None
            leader_codes[name] = code.code
            leader_ids[name] = leader.id
        applicant = await accounts.get_or_create_user_by_phone(
            session=s, phone=APPLICANT_PHONE, now=founded, display_name="赵哥"
        )
        await leaders.apply(
            session=s, brand_id=brand.id, user_id=applicant.id, community_id=community_ids[2], real_name="赵哥",
            note="想给锦绣江南的邻居团点好水果。", now=founded,
        )

        # 36 neighbours: 1-14 came in through 小李, 15-22 through 王姐, the rest browse unbound.
        for index in range(1, 37):
            phone, name = neighbour(index)
            user = await accounts.get_or_create_user_by_phone(session=s, phone=phone, now=founded, display_name=name)
            if index <= 14:
                await attribution.enter_with_code(session=s, user_id=user.id, raw_code=leader_codes["小李"], now=founded)
            elif index <= 22:
                await attribution.enter_with_code(session=s, user_id=user.id, raw_code=leader_codes["王姐"], now=founded)
        # One of 小李's neighbours later opens 王姐's link: refused and recorded in the trail.
        first_phone, _ = neighbour(1)
        first = await accounts.find_user_by_phone(session=s, phone=first_phone)
        assert first is not None
        await attribution.enter_with_code(session=s, user_id=first.id, raw_code=leader_codes["王姐"], now=founded)
        await academy_demo(
            s, brand_id=brand.id, owner_id=owner.id, xiaoli_id=leader_ids["小李"], wangjie_id=leader_ids["王姐"], now=now
        )

    # Tonight's session went live an hour ago (made first, so that it is session 1); the oranges bought as
    # it opened have reached the pickup point.
    tonight = replace(ctx, clock=FixedClock(now - timedelta(hours=1)))
    async with tonight.db.transaction() as s:
        citrus_listing_id = await strawberry_session(
            s, storage=ctx.storage, brand_id=brand.id, community_id=community_ids[0], now=tonight.clock.now()
        )
    # Last week's evening runs on a clock of its own, so that everything in it is dated when it happened.
    past = replace(ctx, clock=FixedClock(now - timedelta(days=LAST_EVENING_DAYS_AGO)))
    await last_weeks_evening(past, brand_id=brand.id, community_id=community_ids[0], staff_user_id=owner.id, now=now)

    await arrived_wave(
        tonight, brand_id=brand.id, community_id=community_ids[0], listing_id=citrus_listing_id,
        staff_user_id=owner.id,
    )
    # Made last, once every binding above has been counted: the welcome rule is for neighbours who join from now.
    async with ctx.db.transaction() as s:
        await demo_coupons(s, brand_id=brand.id, owner_user_id=owner.id, now=now)
    # Two of 小李's neighbours shared in 云顶华府's feed: a recipe approved, a 晒单 awaiting moderation.
    async with ctx.db.transaction() as s:
        await demo_posts(s, storage=ctx.storage, brand_id=brand.id, owner_user_id=owner.id, now=now)
    # The interest groups as the daily recomputation would find them now, with every demo order counted.
    async with ctx.db.transaction() as s:
        await interests.recompute_brand(session=s, brand_id=brand.id, as_of=now)
