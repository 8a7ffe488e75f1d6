"""What every bench seeds first, through the service functions: 优邻优选, 云顶华府 and its approved leader 小李."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.brands import service as brands
from linli.leaders import invite_codes
from linli.leaders import service as leaders


@dataclass(frozen=True)
class BenchBrand:
    brand_id: int
    community_id: int
    invite_code: str  # 小李's: members who enter with it are bound to him


async def brand_with_leader(*, session: AsyncSession, slug: str, now: datetime) -> BenchBrand:
    brand = await brands.create_brand(session=session, name="优邻优选", slug=slug, timezone="Asia/Shanghai", now=now)
    community, _ = await brands.create_community(
        session=session, brand_id=brand.id, name="云顶华府", address="云顶路 88 号",
        pickup=brands.PickupPointInput(
            name="云顶华府自提点", address="3 号楼底商", opening_hours="09:00-21:00", contact_name="小李",
            contact_phone="13800000001",
        ),
        now=now,
    )
    owner = await accounts.get_or_create_user_by_phone(session=session, phone="13700000000", now=now, display_name="店长")
    await brands.add_staff(session=session, brand_id=brand.id, user_id=owner.id, role="owner", now=now)
    leader_user = await accounts.get_or_create_user_by_phone(
        session=session, phone="13800000001", now=now, display_name="小李"
    )
    leader = await leaders.apply(
        session=session, brand_id=brand.id, user_id=leader_user.id, community_id=community.id, real_name="小李",
        note="", now=now,
    )
    await leaders.approve(session=session, brand_id=brand.id, leader_id=leader.id, actor_user_id=owner.id, now=now)
    code = await invite_codes.current_code(session=session, leader_id=leader.id)
    assert code is not None  # an approved leader always has a code
    return BenchBrand(brand_id=brand.id, community_id=community.id, invite_code=code.code)
