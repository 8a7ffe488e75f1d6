"""`GET /api/v1/me` lists the caller's brands and roles, so a client can find its brand ids; never another's."""

from __future__ import annotations

from linli.attribution import service as attribution


async def _me(client, actor) -> dict:  # noqa: ANN001
    response = await client.get("/api/v1/me", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_staff_sees_their_role_per_brand_and_nothing_of_other_brands(client, world):
    ours, theirs = await world.brand("优邻优选", slug="youlin"), await world.brand("鲜果邦", slug="xianguo")
    owner = await world.staff(ours, role="owner")
    await world.staff(theirs, role="owner")  # another brand's staff: never in our answer
    me = await _me(client, owner)
    assert me["brands"] == [
        {"brand_id": ours, "name": "优邻优选", "slug": "youlin", "timezone": "Asia/Shanghai",
         "staff_role": "owner", "member_id": None, "leader": None}
    ]
    assert me["id"] == owner.user_id and me["login_name"]  # the user fields are unchanged


async def test_a_leader_sees_their_leadership_and_membership(client, world):
    brand, other_brand = await world.brand(slug="youlin"), await world.brand(slug="xianguo")
    owner = await world.staff(brand)
    leader = await world.leader(brand, await world.community(brand), approver=owner, name="小李")
    other_owner = await world.staff(other_brand)
    await world.leader(other_brand, await world.community(other_brand, "翠湖花园"), approver=other_owner, name="王姐")
    me = await _me(client, leader.actor)
    assert me["brands"] == [
        {"brand_id": brand, "name": "优邻优选", "slug": "youlin", "timezone": "Asia/Shanghai", "staff_role": None,
         "member_id": leader.member_id,
         "leader": {"leader_id": leader.leader_id, "status": "active", "community_id": leader.community_id}}
    ]


async def test_a_member_of_two_brands_sees_both(client, world, ctx):
    first, second = await world.brand(slug="youlin"), await world.brand("鲜果邦", slug="xianguo")
    owner_a, owner_b = await world.staff(first), await world.staff(second)
    leader_a = await world.leader(first, await world.community(first), approver=owner_a)
    leader_b = await world.leader(second, await world.community(second, "翠湖花园"), approver=owner_b, name="王姐")
    member = await world.user()
    async with ctx.db.transaction() as s:
        for code in (leader_a.code, leader_b.code):
            await attribution.enter_with_code(session=s, user_id=member.user_id, raw_code=code, now=ctx.clock.now())
    brands = (await _me(client, member))["brands"]
    assert [(b["brand_id"], b["staff_role"], b["leader"]) for b in brands] == [(first, None, None), (second, None, None)]
    assert all(isinstance(b["member_id"], int) for b in brands)
    assert len({b["member_id"] for b in brands}) == 2


async def test_a_user_with_nothing_has_no_brands(client, world):
    await world.brand()
    assert (await _me(client, await world.user()))["brands"] == []


async def test_me_needs_a_login(client):
    assert (await client.get("/api/v1/me")).status_code == 401
