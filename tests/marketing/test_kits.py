"""Campaign kits: one per active leader per scheduled session, made by the worker, remade in place on change."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image

from linli import posters
from linli.leaders import invite_codes
from linli.leaders import service as leaders
from linli.live import sessions as live_sessions
from linli.marketing import kits
from tests.factories import World
from tests.marketing.conftest import Scene, scheduled_session
from tests.marketing.helpers import error_code, kits_of, snapshot, work
from tests.qr import scan


def kits_url(brand: int) -> str:
    return f"/api/v1/brands/{brand}/leader/kits"


def cover_png(color: tuple[int, int, int] = (200, 30, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 450), color).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_scheduling_a_session_makes_one_kit_per_active_leader(client, scene: Scene, world: World, ctx):
    session_id = await scheduled_session(world, scene)
    assert await kits_of(ctx, session_id) == {}  # the request made none: the worker does
    await work(ctx)
    made = await kits_of(ctx, session_id)
    assert set(made) == {scene.leader.leader_id, scene.second.leader_id}  # not the other brand's leader
    mine = made[scene.leader.leader_id]
    link = invite_codes.invite_link(base_url=ctx.settings.public_base_url, code=scene.leader.code)
    assert (mine.status, mine.version, mine.invite_code, mine.invite_link) == ("current", 1, scene.leader.code, link)
    assert (mine.leader_name, mine.badge) == ("小李", "云顶华府·优邻优选社区主理人")
    # The default copy, filled with this leader's own details; nothing left in braces.
    assert "我是云顶华府的社区主理人小李" in mine.copy_text and "丹东99草莓源头直发" in mine.copy_text
    assert link in mine.copy_text and "{" not in mine.copy_text
    assert "我是翠湖花园的社区主理人王姐" in made[scene.second.leader_id].copy_text

    response = await client.get(kits_url(scene.brand), headers=scene.leader.actor.headers)
    assert response.status_code == 200, response.text
    [item] = response.json()["items"]
    assert (item["id"], item["session_id"], item["copy_text"], item["invite_link"]) == (mine.id, session_id, mine.copy_text, link)
    assert item["poster_url"] == f"/api/v1/brands/{scene.brand}/leader/kits/{mine.id}/poster.png"


async def test_the_poster_shows_the_session_and_its_qr_code_decodes_to_the_leaders_link(client, scene: Scene, world: World, ctx):
    session_id = await scheduled_session(world, scene)
    await work(ctx)
    kit = (await kits_of(ctx, session_id))[scene.leader.leader_id]
    url = f"/api/v1/brands/{scene.brand}/leader/kits/{kit.id}/poster.png"
    response = await client.get(url, headers=scene.leader.actor.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert f'filename="kit-{session_id}-{scene.leader.code}.png"' in response.headers["content-disposition"]
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.size == posters.POSTER_SIZE
    assert scan(response.content) == invite_codes.invite_link(base_url=ctx.settings.public_base_url, code=scene.leader.code)
    # Drawn once per content: the second download is the stored file.
    assert await ctx.storage.open(kits.poster_key(kit)) == response.content
    assert (await client.get(url, headers=scene.leader.actor.headers)).content == response.content
    # Another leader's poster carries their own link.
    theirs = (await kits_of(ctx, session_id))[scene.second.leader_id]
    other = await client.get(f"/api/v1/brands/{scene.brand}/leader/kits/{theirs.id}/poster.png", headers=scene.second.actor.headers)
    assert scan(other.content) == invite_codes.invite_link(base_url=ctx.settings.public_base_url, code=scene.second.code)


async def test_a_change_to_the_session_remakes_each_kit_in_place(client, scene: Scene, world: World, ctx):
    session_id = await scheduled_session(world, scene)
    await work(ctx)
    before = await kits_of(ctx, session_id)
    await work(ctx)  # nothing new: nothing remade
    assert {k: (v.id, v.version) for k, v in (await kits_of(ctx, session_id)).items()} == {k: (v.id, 1) for k, v in before.items()}
    later = ctx.clock.now() + timedelta(days=2)
    async with ctx.db.transaction() as s:
        await live_sessions.update_session(
            session=s, brand_id=scene.brand, session_id=session_id,
            patch=live_sessions.SessionPatch(title="丹东草莓第二波", scheduled_start_at=later), now=ctx.clock.now(),
        )
    await work(ctx)
    after = await kits_of(ctx, session_id)
    assert {k: v.id for k, v in after.items()} == {k: v.id for k, v in before.items()}  # the same rows, no duplicates
    mine = after[scene.leader.leader_id]
    assert mine.version == 2 and "丹东草莓第二波" in mine.copy_text and mine.fingerprint != before[scene.leader.leader_id].fingerprint
    # A redelivered change (or a second refresh) changes nothing more.
    async with ctx.db.transaction() as s:
        result = await kits.refresh_kits(
            session=s, brand_id=scene.brand, session_id=session_id, base_url=ctx.settings.public_base_url, now=ctx.clock.now()
        )
    assert result.changed == [] and result.withdrawn == 0
    assert (await kits_of(ctx, session_id))[scene.leader.leader_id].version == 2


async def test_a_cancelled_session_withdraws_its_kits(client, scene: Scene, world: World, ctx):
    session_id = await scheduled_session(world, scene)
    await work(ctx)
    kit = (await kits_of(ctx, session_id))[scene.leader.leader_id]
    async with ctx.db.transaction() as s:
        await live_sessions.cancel_session(session=s, brand_id=scene.brand, session_id=session_id, now=ctx.clock.now())
    await work(ctx)
    assert {k.status for k in (await kits_of(ctx, session_id)).values()} == {"withdrawn"}
    assert (await client.get(kits_url(scene.brand), headers=scene.leader.actor.headers)).json()["items"] == []
    poster = await client.get(f"/api/v1/brands/{scene.brand}/leader/kits/{kit.id}/poster.png", headers=scene.leader.actor.headers)
    assert poster.status_code == 404 and error_code(poster) == "campaign_kit_not_found"


async def test_the_kit_follows_the_leader(client, scene: Scene, world: World, ctx):
    """A new code remakes the kit with the new link; a suspension withdraws it; a reinstatement brings it back;
    a leader approved after the session was scheduled gets one too."""
    session_id = await scheduled_session(world, scene)
    await work(ctx)
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        new, _ = await leaders.rotate_invite_code(session=s, brand_id=scene.brand, leader_id=scene.leader.leader_id, now=now)
    await work(ctx)
    mine = (await kits_of(ctx, session_id))[scene.leader.leader_id]
    assert (mine.version, mine.invite_code) == (2, new.code) and new.code in mine.copy_text

    async with ctx.db.transaction() as s:
        await leaders.suspend(session=s, brand_id=scene.brand, leader_id=scene.leader.leader_id, reason="违规", actor_user_id=scene.owner.user_id, now=now)
    await work(ctx)
    assert (await kits_of(ctx, session_id))[scene.leader.leader_id].status == "withdrawn"
    async with ctx.db.transaction() as s:
        await leaders.reinstate(session=s, brand_id=scene.brand, leader_id=scene.leader.leader_id, actor_user_id=scene.owner.user_id, now=now)
    await work(ctx)
    mine = (await kits_of(ctx, session_id))[scene.leader.leader_id]
    assert (mine.status, mine.version) == ("current", 3)

    newcomer = await world.leader(scene.brand, await world.community(scene.brand, "星河湾"), approver=scene.owner, name="陈晨")
    await work(ctx)
    theirs = (await kits_of(ctx, session_id))[newcomer.leader_id]
    assert (theirs.status, theirs.invite_code) == ("current", newcomer.code)


async def test_many_leaders_are_made_a_batch_at_a_time(client, scene: Scene, world: World, ctx, monkeypatch):
    monkeypatch.setattr(kits, "BATCH", 2)
    for i in range(3):
        await world.leader(scene.brand, await world.community(scene.brand, f"小区{i}"), approver=scene.owner, name=f"团长{i}")
    session_id = await scheduled_session(world, scene)
    await work(ctx)
    made = await kits_of(ctx, session_id)
    assert len(made) == 5 and {k.version for k in made.values()} == {1}


async def test_two_refreshes_at_once_make_one_kit_per_leader(client, scene: Scene, world: World, ctx):
    import asyncio

    session_id = await scheduled_session(world, scene)

    async def refresh() -> None:
        async with ctx.db.transaction() as s:
            await kits.refresh_kits(
                session=s, brand_id=scene.brand, session_id=session_id, base_url=ctx.settings.public_base_url, now=ctx.clock.now()
            )

    await asyncio.gather(refresh(), refresh(), refresh())
    made = await kits_of(ctx, session_id)
    assert set(made) == {scene.leader.leader_id, scene.second.leader_id} and {k.version for k in made.values()} == {1}


async def test_the_cover_is_drawn_on_the_poster_and_remakes_the_kit(client, scene: Scene, world: World, ctx):
    session_id = await scheduled_session(world, scene)
    await work(ctx)
    kit = (await kits_of(ctx, session_id))[scene.leader.leader_id]
    url = f"/api/v1/brands/{scene.brand}/leader/kits/{kit.id}/poster.png"
    plain = (await client.get(url, headers=scene.leader.actor.headers)).content
    response = await client.put(
        f"/api/v1/brands/{scene.brand}/live-sessions/{session_id}/campaign/cover",
        files={"cover": ("cover.png", cover_png(), "image/png")}, headers=scene.operator.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["has_cover"] is True
    await work(ctx)
    remade = (await kits_of(ctx, session_id))[scene.leader.leader_id]
    assert (remade.id, remade.version) == (kit.id, 2)
    covered = (await client.get(url, headers=scene.leader.actor.headers)).content
    assert covered != plain
    # The cover's red fills the top of the poster, under the header.
    pixel = Image.open(io.BytesIO(covered)).convert("RGB").getpixel((375, 300))
    assert pixel == (200, 30, 60)
    assert scan(covered) == remade.invite_link


async def test_a_bad_cover_is_refused_and_changes_nothing(client, scene: Scene, world: World, ctx):
    session_id = await scheduled_session(world, scene)
    await work(ctx)
    before = await snapshot(ctx)
    url = f"/api/v1/brands/{scene.brand}/live-sessions/{session_id}/campaign/cover"
    cases = [
        (b"GIF89a" + b"\x00" * 100, 422, "photo_not_image"),
        (cover_png()[:60], 422, "photo_unreadable"),  # a PNG's first bytes, the rest cut off
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (5 * 1024 * 1024), 413, "photo_too_large"),
    ]
    for data, status, code in cases:
        response = await client.put(url, files={"cover": ("c.png", data, "image/png")}, headers=scene.owner.headers)
        assert (response.status_code, error_code(response)) == (status, code)
    assert await snapshot(ctx) == before
    assert not (ctx.settings.media_path / "covers").exists()
