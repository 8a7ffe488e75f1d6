"""Builders for test data, through the services (never raw inserts), plus bearer headers."""

from __future__ import annotations

from dataclasses import dataclass

from linli.accounts import service as accounts
from linli.brands import service as brands
from linli.context import AppContext
from linli.leaders import invite_codes
from linli.leaders import service as leaders


@dataclass
class Actor:
    user_id: int
    token: str
    phone: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class LeaderRef:
    actor: Actor
    leader_id: int
    member_id: int
    community_id: int
    code: str


class World:
    """Creates brands, staff, communities, members and leaders for tests."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._phones = 0

    def next_phone(self) -> str:
        self._phones += 1
        return f"139{self._phones:08d}"

    async def user(self, phone: str | None = None, name: str = "") -> Actor:
        phone = phone or self.next_phone()
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as s:
            user = await accounts.get_or_create_user_by_phone(session=s, phone=phone, now=now, display_name=name)
            issued = await accounts.issue_token(session=s, settings=self.ctx.settings, user=user, method="sms", now=now)
        return Actor(user_id=user.id, token=issued.token, phone=phone)

    async def brand(self, name: str = "优邻优选", slug: str | None = None) -> int:
        async with self.ctx.db.transaction() as s:
            brand = await brands.create_brand(
                session=s, name=name, slug=slug or f"brand-{self.next_phone()[-6:]}", timezone="Asia/Shanghai",
                now=self.ctx.clock.now(),
            )
        return brand.id

    async def staff(self, brand_id: int, role: str = "owner", login_name: str | None = None) -> Actor:
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as s:
            user = await accounts.create_staff_user(
                session=s, login_name=login_name or f"staff{self.next_phone()[-6:]}", password="correct-horse-1",
                display_name="运营", now=now,
            )
            await brands.add_staff(session=s, brand_id=brand_id, user_id=user.id, role=role, now=now)
            issued = await accounts.issue_token(session=s, settings=self.ctx.settings, user=user, method="password", now=now)
        return Actor(user_id=user.id, token=issued.token)

    async def community(self, brand_id: int, name: str = "云顶华府") -> int:
        async with self.ctx.db.transaction() as s:
            community, _ = await brands.create_community(
                session=s, brand_id=brand_id, name=name, address=f"{name}东门",
                pickup=brands.PickupPointInput(
                    name=f"{name}自提点", address=f"{name}3号楼便利店", opening_hours="09:00-21:00",
                    contact_name="自提点", contact_phone="13800000000",
                ),
                now=self.ctx.clock.now(),
            )
        return community.id

    async def leader(self, brand_id: int, community_id: int, *, approver: Actor, name: str = "小李") -> LeaderRef:
        actor = await self.user(name=name)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as s:
            leader = await leaders.apply(
                session=s, brand_id=brand_id, user_id=actor.user_id, community_id=community_id, real_name=name,
                note="", now=now,
            )
            await leaders.approve(session=s, brand_id=brand_id, leader_id=leader.id, actor_user_id=approver.user_id, now=now)
            code = await invite_codes.current_code(session=s, leader_id=leader.id)
            assert code is not None
        return LeaderRef(actor=actor, leader_id=leader.id, member_id=leader.member_id, community_id=community_id, code=code.code)


# --- catalog and live room (tests/catalog, tests/live) -------------------------------------------
# Module-level so that several teams can append without touching the World class.


async def make_product(
    world: World, brand_id: int, *, name: str = "黄金奶油草莓", skus: tuple[tuple[str, int, int], ...] = (("500g×2 盒", 8800, 1000),)
) -> tuple[int, list[int]]:
    """A product with SKUs (name, list price in fen, stock); returns (product id, SKU ids)."""
    from linli.catalog import service as catalog

    async with world.ctx.db.transaction() as s:
        product, rows = await catalog.create_product(
            session=s, brand_id=brand_id,
            product=catalog.ProductInput(
                name=name, description="本地农场直供", images=["https://img.example.com/strawberry.jpg"],
                skus=[catalog.SkuInput(name=n, list_price_fen=p, stock_quantity=q) for n, p, q in skus],
            ),
            now=world.ctx.clock.now(),
        )
    return product.id, [r.id for r in rows]


async def make_live_session(world: World, brand_id: int, *, title: str = "黄金奶油草莓源头直播", start: bool = False) -> int:
    from datetime import timedelta

    from linli.live import sessions as live_sessions

    now = world.ctx.clock.now()
    async with world.ctx.db.transaction() as s:
        row = await live_sessions.create_session(
            session=s, brand_id=brand_id,
            data=live_sessions.SessionInput(title=title, scheduled_start_at=now + timedelta(hours=1)), now=now,
        )
        if start:
            await live_sessions.start_session(session=s, brand_id=brand_id, session_id=row.id, now=now)
    return row.id


async def make_listing(
    world: World, brand_id: int, session_id: int, sku_id: int, *, live_price_fen: int = 7800, allocation: int = 500,
    per_member_limit: int | None = None,
) -> int:
    from linli.live import listings as live_listings

    async with world.ctx.db.transaction() as s:
        view = await live_listings.add_listing(
            session=s, brand_id=brand_id, session_id=session_id, sku_id=sku_id, live_price_fen=live_price_fen,
            allocation=allocation, per_member_limit=per_member_limit, now=world.ctx.clock.now(),
        )
    return view.listing.id


async def make_offer(
    world: World, brand_id: int, session_id: int, listing_id: int, community_id: int, *, price_fen: int = 6800,
    quota: int = 100, per_member_limit: int = 2, minutes: int = 30, open_now: bool = False,
) -> int:
    """A community offer whose window runs from now for `minutes`; opened at once if asked (session must be live)."""
    from datetime import timedelta

    from linli.live import offers as live_offers

    now = world.ctx.clock.now()
    async with world.ctx.db.transaction() as s:
        view = await live_offers.create_offer(
            session=s, brand_id=brand_id, session_id=session_id,
            data=live_offers.OfferInput(
                listing_id=listing_id, community_id=community_id, price_fen=price_fen, quota=quota,
                per_member_limit=per_member_limit, starts_at=now, ends_at=now + timedelta(minutes=minutes),
            ),
            now=now,
        )
        if open_now:
            await live_offers.open_offer(session=s, brand_id=brand_id, session_id=session_id, offer_id=view.offer.id, now=now)
    return view.offer.id


async def make_bound_member(world: World, leader: LeaderRef, *, name: str = "邻居") -> Actor:
    """A user who entered through the leader's invite code (bound under the brand's policy)."""
    from linli.attribution import service as attribution

    actor = await world.user(name=name)
    async with world.ctx.db.transaction() as s:
        await attribution.enter_with_code(session=s, user_id=actor.user_id, raw_code=leader.code, now=world.ctx.clock.now())
    return actor
