"""我的团长 `/me/leader`: per brand the visitor belongs to, the leader they are bound to, exactly what
`GET /api/v1/brands/{id}/binding` shows a member (`attribution.member_binding` and the leader card of
`attribution.describe`: badge, name, community; never the leader's phone or invite code), the community's
pickup point with its published contact (as the public communities list shows it), or, bound to nobody,
how to join: through a leader's invite link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from linli.attribution import service as attribution
from linli.brands import service as brands
from linli.brands.models import Brand, PickupPoint
from linli.http import Ctx
from linli.members import service as members
from linli.web.templating import render
from linli.web.visitor import SignedIn

router = APIRouter()


@dataclass(frozen=True)
class LeaderCard:
    brand: Brand
    leader: attribution.LeaderInfo | None  # None: bound to nobody in this brand
    point: PickupPoint | None
    bound_at: datetime | None
    expires_at: datetime | None


@router.get("/me/leader")
async def my_leader(request: Request, ctx: Ctx, visitor: SignedIn) -> Response:
    assert visitor.user is not None
    now = ctx.clock.now()
    cards = []
    async with ctx.db.read() as session:
        for brand_id in await members.brand_ids_of_user(session=session, user_id=visitor.user.id):
            brand = await brands.get_brand(session=session, brand_id=brand_id)
            binding = await attribution.member_binding(
                session=session, brand_id=brand_id, user_id=visitor.user.id, now=now
            )
            if binding is None:
                cards.append(LeaderCard(brand, None, None, None, None))
                continue
            _, leader_info = await attribution.describe(
                session=session, brand_id=brand_id, member_ids=set(), leader_ids={binding.leader_id}
            )
            info = leader_info[binding.leader_id]
            point = await brands.get_pickup_point(session=session, community_id=info.community_id)
            cards.append(LeaderCard(brand, info, point, binding.bound_at, binding.expires_at))
    return render(request, visitor, "me_leader.html", cards=cards)
