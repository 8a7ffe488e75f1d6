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
