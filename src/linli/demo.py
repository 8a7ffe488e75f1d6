"""The demo data: brand 优邻优选, 云顶华府 with leader 小李, 王姐, and a few dozen neighbours.

Loading is idempotent: when the brand already exists nothing is written again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from linli.accounts import service as accounts
from linli.attribution import service as attribution
from linli.brands import service as brands
from linli.catalog import service as catalog
from linli.clock import FixedClock
from linli.context import AppContext
from linli.leaders import invite_codes
from linli.leaders import service as leaders
from linli.live import service as live

BRAND_SLUG = "youlin"
OWNER_LOGIN = "youlin-owner"
OPERATOR_LOGIN = "youlin-ops"
DEMO_PASSWORD = "youlin-demo-2026"
XIAOLI_PHONE = "13800000001"
WANGJIE_PHONE = "13800000002"
APPLICANT_PHONE = "13800000003"


@dataclass(frozen=True)
class DemoCommunity:
    name: str
    address: str
    pickup_name: str
    pickup_address: str
    hours: str
    contact: str
    phone: str


COMMUNITIES = [
    DemoCommunity("云顶华府", "杭州市西湖区云顶路 88 号", "云顶华府自提点", "云顶华府 3 号楼底商·小李便利店", "09:00-21:00", "小李", XIAOLI_PHONE),
    DemoCommunity("翠湖花园", "杭州市西湖区翠湖路 16 号", "翠湖花园自提点", "翠湖花园南门快递驿站", "08:30-20:30", "王姐", WANGJIE_PHONE),
    DemoCommunity("锦绣江南", "杭州市滨江区江南大道 1200 号", "锦绣江南自提点", "锦绣江南 1 期物业服务中心", "10:00-20:00", "物业前台", "13800000009"),
]

SURNAMES = "张王刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"


def _neighbour(index: int) -> tuple[str, str]:
    """A stable phone and a friendly display name for the index-th demo neighbour."""
    surname = SURNAMES[index % len(SURNAMES)]
    return f"1390000{index:04d}", f"{surname}{'姐' if index % 2 else '哥'}"


# The demo's story began this long ago: the session went live then, and the delivered orders were paid,
# cut, sent and arrived since, each step at its own moment (never an arrival before its expected time).
STORY_LEAD = timedelta(hours=2)


async def load_demo(ctx: AppContext) -> str:
    now = ctx.clock.now() - STORY_LEAD
    async with ctx.db.transaction() as s:
        if await brands.find_brand_by_slug(session=s, slug=BRAND_SLUG) is not None:
            return "demo data already loaded; nothing changed"
        brand = await brands.create_brand(session=s, name="优邻优选", slug=BRAND_SLUG, timezone="Asia/Shanghai", now=now)
        owner = await accounts.create_staff_user(
            session=s, login_name=OWNER_LOGIN, password=DEMO_PASSWORD, display_name="优邻优选·店长", now=now
        )
        operator = await accounts.create_staff_user(
            session=s, login_name=OPERATOR_LOGIN, password=DEMO_PASSWORD, display_name="优邻优选·运营", now=now
        )
        await brands.add_staff(session=s, brand_id=brand.id, user_id=owner.id, role="owner", now=now)
        await brands.add_staff(session=s, brand_id=brand.id, user_id=operator.id, role="operator", now=now)
        community_ids = []
        for c in COMMUNITIES:
            community, _ = await brands.create_community(
                session=s, brand_id=brand.id, name=c.name, address=c.address,
                pickup=brands.PickupPointInput(
                    name=c.pickup_name, address=c.pickup_address, opening_hours=c.hours,
                    contact_name=c.contact, contact_phone=c.phone,
                ),
                now=now,
            )
            community_ids.append(community.id)

        leader_codes = {}
        for phone, name, community_id in ((XIAOLI_PHONE, "小李", community_ids[0]), (WANGJIE_PHONE, "王姐", community_ids[1])):
            user = await accounts.get_or_create_user_by_phone(session=s, phone=phone, now=now, display_name=name)
            leader = await leaders.apply(
                session=s, brand_id=brand.id, user_id=user.id, community_id=community_id, real_name=name,
                note="在小区住了八年，邻居都熟。", now=now,
            )
            await leaders.approve(session=s, brand_id=brand.id, leader_id=leader.id, actor_user_id=owner.id, now=now)
            code = await invite_codes.current_code(session=s, leader_id=leader.id)
            assert code is not None
            leader_codes[name] = code.code
        applicant = await accounts.get_or_create_user_by_phone(session=s, phone=APPLICANT_PHONE, now=now, display_name="赵哥")
        await leaders.apply(
            session=s, brand_id=brand.id, user_id=applicant.id, community_id=community_ids[2], real_name="赵哥",
            note="想给锦绣江南的邻居团点好水果。", now=now,
        )

        # 36 neighbours: 1-14 came in through 小李, 15-22 through 王姐, the rest browse unbound.
        for index in range(1, 37):
            phone, name = _neighbour(index)
            user = await accounts.get_or_create_user_by_phone(session=s, phone=phone, now=now, display_name=name)
            if index <= 14:
                await attribution.enter_with_code(session=s, user_id=user.id, raw_code=leader_codes["小李"], now=now)
            elif index <= 22:
                await attribution.enter_with_code(session=s, user_id=user.id, raw_code=leader_codes["王姐"], now=now)
        # One of 小李's neighbours later opens 王姐's link: refused and recorded in the trail.
        first_phone, _ = _neighbour(1)
        first = await accounts.find_user_by_phone(session=s, phone=first_phone)
        assert first is not None
        await attribution.enter_with_code(session=s, user_id=first.id, raw_code=leader_codes["王姐"], now=now)

        session_id, offer_id, citrus_listing_id = await _strawberry_session(
            s, brand_id=brand.id, community_id=community_ids[0], now=now
        )
    pickups = await _arrived_wave(
        ctx, brand_id=brand.id, community_id=community_ids[0], listing_id=citrus_listing_id, staff_user_id=owner.id,
        since=now,
    )

    base = ctx.settings.public_base_url
    return "\n".join(
        [
            f"demo loaded: brand 优邻优选 (id {brand.id}), communities {', '.join(c.name for c in COMMUNITIES)}",
            f"staff login: {OWNER_LOGIN} / {DEMO_PASSWORD} (owner), {OPERATOR_LOGIN} / {DEMO_PASSWORD} (operator)",
            f"leader 小李 ({XIAOLI_PHONE}) invite code {leader_codes['小李']}: {invite_codes.invite_link(base_url=base, code=leader_codes['小李'])}",
            f"leader 王姐 ({WANGJIE_PHONE}) invite code {leader_codes['王姐']}",
            f"pending application: 赵哥 ({APPLICANT_PHONE}) for 锦绣江南",
            f"live now: 黄金奶油草莓 session {session_id}, 云顶华府 offer {offer_id} (68 元, first 100, 2 per member)",
            f"follow it: curl -N {base}/api/v1/live-sessions/{session_id}/events",
            f"delivery wave {pickups.wave_id} has arrived at 云顶华府自提点; pickup codes to verify as 小李: "
            + ", ".join(f"{code} ({who})" for code, who in pickups.codes),
            f"verify one: POST {base}/api/v1/brands/{brand.id}/leader/pickups {{\"code\": \"{pickups.codes[0][0]}\"}} "
            "with 小李's token (docs/fulfillment.md)",
            "members log in with an SMS code: POST /api/v1/auth/sms-codes, then read it with `linli sms-inbox`",
        ]
    )


async def _strawberry_session(s, *, brand_id: int, community_id: int, now) -> tuple[int, int, int]:  # noqa: ANN001
    """The article's evening: 黄金奶油草莓, 68 元 a box for 云顶华府's neighbours, first 100, live now."""
    fruit = await catalog.create_category(session=s, brand_id=brand_id, name="时令水果", now=now)
    _, strawberry_skus = await catalog.create_product(
        session=s, brand_id=brand_id,
        product=catalog.ProductInput(
            name="黄金奶油草莓", description="丹东 99 红颜，当天采摘冷链直发，坏果包赔。", category_id=fruit.id,
            skus=[catalog.SkuInput(name="500g/盒", list_price_fen=9800, stock_quantity=300)],
        ),
        now=now,
    )
    _, citrus_skus = await catalog.create_product(
        session=s, brand_id=brand_id,
        product=catalog.ProductInput(
            name="爱媛果冻橙", description="果肉细嫩，一口爆汁。", category_id=fruit.id,
            skus=[catalog.SkuInput(name="5 斤装", list_price_fen=5990, stock_quantity=200)],
        ),
        now=now,
    )
    session = await live.create_session(
        session=s, brand_id=brand_id,
        data=live.SessionInput(
            title="黄金奶油草莓·邻里专场", scheduled_start_at=now, stream_url="https://live.example.com/youlin/strawberry",
        ),
        now=now,
    )
    strawberry = await live.add_listing(
        session=s, brand_id=brand_id, session_id=session.id, sku_id=strawberry_skus[0].id, live_price_fen=8800,
        allocation=200, per_member_limit=5, now=now,
    )
    citrus = await live.add_listing(
        session=s, brand_id=brand_id, session_id=session.id, sku_id=citrus_skus[0].id, live_price_fen=4990,
        allocation=100, per_member_limit=None, now=now,
    )
    await live.start_session(session=s, brand_id=brand_id, session_id=session.id, now=now)
    await live.advance_phase(session=s, brand_id=brand_id, session_id=session.id, now=now)  # on to the group buy
    offer = await live.create_offer(
        session=s, brand_id=brand_id, session_id=session.id,
        data=live.OfferInput(
            listing_id=strawberry.listing.id, community_id=community_id, price_fen=6800, quota=100, per_member_limit=2,
            starts_at=now, ends_at=now + timedelta(days=30), title="云顶华府邻居专享·前 100 盒",
        ),
        now=now,
    )
    await live.open_offer(session=s, brand_id=brand_id, session_id=session.id, offer_id=offer.offer.id, now=now)
    return session.id, offer.offer.id, citrus.listing.id


# Neighbours of 小李 (by index) whose 爱媛果冻橙 has reached the pickup point: (index, quantity) per order.
# 13900000004 has two orders, to show verifying all of a member's orders at once. The strawberry offer is
# left untouched so the README's walkthrough (98 boxes left after buying 2) stays true.
DELIVERED_ORDERS = ((4, 1), (4, 2), (5, 1), (6, 1), (7, 3), (8, 1))


@dataclass(frozen=True)
class DemoPickups:
    wave_id: int
    codes: list[tuple[str, str]]  # (pickup code, masked member name)


async def _arrived_wave(
    ctx: AppContext, *, brand_id: int, community_id: int, listing_id: int, staff_user_id: int, since: datetime
) -> DemoPickups:
    """Paid orders of 小李's neighbours, paid through the simulator, cut into a wave that has arrived.

    The story is replayed on a clock of its own, from `since`: paid 5 minutes in, cut 5 minutes later,
    packed and sent 10 minutes after the cut, expected 45 minutes after the cut and arrived 15 minutes
    after that, all before the real now (`STORY_LEAD`).
    """
    from linli.fulfillment import service as fulfillment
    from linli.fulfillment import waves
    from linli.orders import service as orders
    from linli.payments import service as payments
    from linli.payments import simulator
    from linli.worker import run_until_idle

    clock = FixedClock(since + timedelta(minutes=5))
    story = replace(ctx, clock=clock)
    order_ids = []
    for number, (index, quantity) in enumerate(DELIVERED_ORDERS):
        phone, _ = _neighbour(index)
        now = clock.now()
        async with ctx.db.transaction() as s:
            user = await accounts.find_user_by_phone(session=s, phone=phone)
            assert user is not None
            placed = await orders.place_order(
                session=s, user_id=user.id, listing_id=listing_id, offer_id=None, quantity=quantity,
                idempotency_key=f"demo-delivered-{number}", pickup_community_id=None,
                payment_ttl=timedelta(minutes=ctx.settings.order_payment_minutes), now=now,
            )
            opened = await payments.open_payment(
                session=s, providers=ctx.payments, provider_name="simulator", user_id=user.id,
                order_id=placed.order.id, now=now,
            )
        await simulator.complete(ctx=story, out_trade_no=opened.payment.out_trade_no, outcome="success")
        order_ids.append(placed.order.id)
    await run_until_idle(story)  # parcels and commission for the paid orders

    clock.advance(timedelta(minutes=5))
    cutoff = clock.now()
    async with ctx.db.transaction() as s:
        wave = await waves.create_wave(
            session=s, brand_id=brand_id, community_id=community_id, cutoff_at=cutoff,
            arrive_after=cutoff + timedelta(minutes=45), actor_user_id=staff_user_id, now=cutoff,
        )
    clock.advance(timedelta(minutes=10))
    async with ctx.db.transaction() as s:
        for status in ("packed", "in_transit"):
            await waves.advance_wave(session=s, brand_id=brand_id, wave_id=wave.id, to=status, now=clock.now())
    clock.set(wave.arrive_after + timedelta(minutes=15))
    async with ctx.db.transaction() as s:
        await waves.advance_wave(session=s, brand_id=brand_id, wave_id=wave.id, to="arrived", now=clock.now())
    await run_until_idle(story)  # the members' "arrived" messages

    async with ctx.db.read() as s:
        parcels = [await fulfillment.find_parcel(session=s, order_id=order_id) for order_id in order_ids]
        views = await fulfillment.describe_parcels(session=s, parcels=[p for p in parcels if p is not None])
    return DemoPickups(wave_id=wave.id, codes=[(v.parcel.pickup_code, v.member_name) for v in views])
