"""Room visits through invite codes (first-touch binding) and the per-leader funnel: views → entries → orders."""

from __future__ import annotations

from sqlalchemy import func, select

from linli.attribution.models import Binding
from linli.live.models import RoomVisit
from linli.members.models import Member
from tests.factories import World, make_bound_member, make_listing, make_live_session, make_offer
from tests.live.conftest import Scene
from tests.live.helpers import error_code, pay, place


def visits(session_id: int) -> str:
    return f"/api/v1/live-sessions/{session_id}/visits"


async def visit_count(ctx) -> int:
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(RoomVisit)) or 0)


async def binding_leader(ctx, scene: Scene, user_id: int) -> int | None:
    async with ctx.db.read() as s:
        return await s.scalar(
            select(Binding.leader_id)
            .join(Member, Member.id == Binding.member_id)
            .where(Member.user_id == user_id, Member.brand_id == scene.brand)
        )


async def test_opening_the_room_through_a_link_binds_first_touch(client, scene: Scene, world: World, ctx):
    session_id = await make_live_session(world, scene.brand, start=True)
    newcomer = await world.user(name="陈七")

    anonymous = await client.post(visits(session_id), json={"invite_code": scene.li.code.lower()})
    assert anonymous.status_code == 201, anonymous.text
    body = anonymous.json()
    assert body["leader"] == {
        "id": scene.li.leader_id, "name": "小李", "community_name": "云顶华府", "badge": "云顶华府·优邻优选社区主理人",
    }
    assert body["entry"] is None

    first = (await client.post(visits(session_id), json={"invite_code": scene.li.code}, headers=newcomer.headers)).json()
    assert (first["entry"]["result"], first["entry"]["bound_leader_id"]) == ("bound", scene.li.leader_id)
    assert await binding_leader(ctx, scene, newcomer.user_id) == scene.li.leader_id
    again = (await client.post(visits(session_id), json={"invite_code": scene.li.code}, headers=newcomer.headers)).json()
    assert again["entry"]["result"] == "already_yours"
    # Another leader's link later does not take the neighbour away (permanent first touch by default).
    other = (await client.post(visits(session_id), json={"invite_code": scene.wang.code}, headers=newcomer.headers)).json()
    assert (other["entry"]["result"], other["entry"]["reason"]) == ("refused", "already_bound")
    assert other["entry"]["bound_leader_id"] == scene.li.leader_id
    assert await binding_leader(ctx, scene, newcomer.user_id) == scene.li.leader_id

    own = (await client.post(visits(session_id), json={"invite_code": scene.li.code}, headers=scene.li.actor.headers)).json()
    assert own["entry"]["result"] == "own_code"
    plain = (await client.post(visits(session_id), json={}, headers=scene.member.headers)).json()
    assert plain["leader"] is None and plain["entry"] is None
    assert await binding_leader(ctx, scene, scene.member.user_id) is None
    assert await visit_count(ctx) == 6


async def test_unusable_codes_are_refused_and_count_nothing(client, scene: Scene, world: World, ctx):
    session_id = await make_live_session(world, scene.brand, start=True)
    other_owner_brand_community = await world.community(scene.other_brand, "阳光小区")
    their_leader = await world.leader(scene.other_brand, other_owner_brand_community, approver=scene.other_owner, name="老周")
    cases = [
        ("0OIL", 422, "invite_code_malformed"),
        ("ABCDEFGH", 404, "invite_code_unknown"),
        (their_leader.code, 422, "invite_code_other_brand"),
    ]
    for code, status, expected in cases:
        response = await client.post(visits(session_id), json={"invite_code": code}, headers=scene.member.headers)
        assert response.status_code == status, (code, response.text)
        assert error_code(response) == expected
    assert (await client.post(visits(999999), json={})).status_code == 404
    assert (await client.post(visits(session_id), json={"invite_code": "x" * 65})).status_code == 422
    assert await visit_count(ctx) == 0
    assert await binding_leader(ctx, scene, scene.member.user_id) is None


async def test_the_funnel_counts_views_entries_orders_per_leader(client, scene: Scene, world: World, ctx):
    session_id = await make_live_session(world, scene.brand, start=True)
    listing_id = await make_listing(world, scene.brand, session_id, scene.sku)
    offer_id = await make_offer(world, scene.brand, session_id, listing_id, scene.community_a, open_now=True)

    # 小李's link: two anonymous views, two neighbours who logged in (one of them twice).
    a = await world.user(name="甲")
    b = await world.user(name="乙")
    for headers in ({}, {}, a.headers, a.headers, b.headers):
        assert (await client.post(visits(session_id), json={"invite_code": scene.li.code}, headers=headers)).status_code == 201
    # 王姐's link: one view by a neighbour already bound to her.
    c = await make_bound_member(world, scene.wang, name="丙")
    await client.post(visits(session_id), json={"invite_code": scene.wang.code}, headers=c.headers)
    # Without a code.
    await client.post(visits(session_id), json={}, headers=scene.member.headers)

    paid = await place(ctx, a, offer_id=offer_id, quantity=1)
    await pay(ctx, paid.order.id)
    await place(ctx, b, listing_id=listing_id, quantity=2)  # unpaid
    await place(ctx, c, listing_id=listing_id, quantity=1)
    unbound = await place(ctx, scene.member, listing_id=listing_id, quantity=1, pickup_community_id=scene.community_c)
    await pay(ctx, unbound.order.id)

    response = await client.get(f"{scene.base}/{session_id}/funnel", headers=scene.operator.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    rows = {row["leader_id"]: row for row in body["leaders"]}
    assert {k: (r["views"], r["entries"], r["orders"], r["paid_orders"]) for k, r in rows.items()} == {
        scene.li.leader_id: (5, 2, 2, 1),
        scene.wang.leader_id: (1, 1, 1, 0),
        None: (1, 1, 1, 1),
    }
    assert (rows[scene.li.leader_id]["leader_name"], rows[scene.li.leader_id]["community_name"]) == ("小李", "云顶华府")
    assert body["leaders"][-1]["leader_id"] is None
    assert {k: body["totals"][k] for k in ("views", "entries", "orders", "paid_orders")} == {
        "views": 7, "entries": 4, "orders": 4, "paid_orders": 2,
    }


async def test_the_funnel_is_for_the_brand_staff(client, scene: Scene, world: World):
    session_id = await make_live_session(world, scene.brand)
    url = f"{scene.base}/{session_id}/funnel"
    assert (await client.get(url)).status_code == 401
    for actor in (scene.member, scene.li.actor, scene.other_owner):
        response = await client.get(url, headers=actor.headers)
        assert response.status_code == 403 and error_code(response) == "staff_only"
    theirs = await client.get(f"/api/v1/brands/{scene.other_brand}/live-sessions/{session_id}/funnel", headers=scene.other_owner.headers)
    assert theirs.status_code == 404
    empty = (await client.get(url, headers=scene.owner.headers)).json()
    assert empty["leaders"] == [
        {"leader_id": None, "leader_name": "未经团长邀请", "community_name": "", "views": 0, "entries": 0, "orders": 0, "paid_orders": 0}
    ]
