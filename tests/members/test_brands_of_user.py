"""`members.brand_ids_of_user`: the brands a user belongs to, in joining order, and nobody else's."""

from __future__ import annotations

from linli.members import service as members


async def test_a_user_belongs_to_the_brands_they_joined_in_that_order(ctx, world):
    first, second, third = await world.brand(), await world.brand(), await world.brand()
    user, other = await world.user(), await world.user()
    async with ctx.db.transaction() as s:
        for brand_id in (second, first):
            await members.get_or_create_member(session=s, brand_id=brand_id, user_id=user.user_id, now=ctx.clock.now())
        await members.get_or_create_member(session=s, brand_id=third, user_id=other.user_id, now=ctx.clock.now())
    async with ctx.db.read() as s:
        assert await members.brand_ids_of_user(session=s, user_id=user.user_id) == [second, first]
        assert await members.brand_ids_of_user(session=s, user_id=other.user_id) == [third]
        assert await members.brand_ids_of_user(session=s, user_id=other.user_id + user.user_id + 100) == []
