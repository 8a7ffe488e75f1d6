"""What kits push by themselves: each leader hears of a new or remade kit, is reminded a day and an hour before the
session, and an hour before it each community group gets its own leader's preview, under the group's 70/30 ceiling.
Nothing is pushed twice for the same kit version, reminder or group."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from linli.community import service as community
from linli.live import sessions as live_sessions
from linli.marketing import announcements
from linli.notifications import service as inbox
from linli.notifications.models import PushContent
from tests.factories import World
from tests.marketing.conftest import Scene, scheduled_session
from tests.marketing.helpers import kits_of, work


async def messages(ctx, user_id: int, kind: str) -> list[str]:  # noqa: ANN001
    async with ctx.db.read() as s:
        return [m.title for m in await inbox.messages_for(session=s, user_id=user_id, kind=kind)]


async def remind(ctx, at) -> int:  # noqa: ANN001
    """The reminder job's run at `at`, and the worker then (it delivers what is due by its own clock)."""
    ctx.clock.set(at)
    async with ctx.db.transaction() as s:
        queued = await announcements.remind(session=s, base_url=ctx.settings.public_base_url, now=at)
    await work(ctx)
    return queued


async def test_each_leader_hears_of_a_new_and_a_remade_kit_once(scene: Scene, world: World, ctx):
    session_id = await scheduled_session(world, scene)
    await work(ctx)
    await work(ctx)  # a second pass delivers nothing new
    assert await messages(ctx, scene.leader.actor.user_id, "campaign_kit") == ["新的直播作战包：丹东99草莓源头直发"]
    assert await messages(ctx, scene.second.actor.user_id, "campaign_kit") == ["新的直播作战包：丹东99草莓源头直发"]
    assert await messages(ctx, scene.other_leader.actor.user_id, "campaign_kit") == []  # another brand's leader
    async with ctx.db.transaction() as s:
        await live_sessions.update_session(
            session=s, brand_id=scene.brand, session_id=session_id, now=ctx.clock.now(),
            patch=live_sessions.SessionPatch(title="丹东草莓第二波"),
        )
    await work(ctx)
    assert await messages(ctx, scene.leader.actor.user_id, "campaign_kit") == [
        "新的直播作战包：丹东99草莓源头直发", "直播作战包已更新：丹东草莓第二波"]
    async with ctx.db.read() as s:
        [message, *_] = await inbox.messages_for(session=s, user_id=scene.leader.actor.user_id, kind="campaign_kit")
    assert message.link == f"/brands/{scene.brand}/leader/kits"


def test_the_reminder_due_is_the_nearest_lead_time(ctx):
    now = ctx.clock.now()
    assert announcements.lead_of(now + timedelta(hours=30), now) is None
    assert announcements.lead_of(now + timedelta(hours=24), now) == "24h"
    assert announcements.lead_of(now + timedelta(hours=2), now) == "24h"
    assert announcements.lead_of(now + timedelta(minutes=60), now) == "1h"
    assert announcements.lead_of(now, now) is None  # starting now: too late to remind


async def test_leaders_are_reminded_a_day_and_an_hour_before_once_each(scene: Scene, world: World, ctx):
    start = ctx.clock.now() + timedelta(hours=1)
    session_id = await scheduled_session(world, scene)  # starts an hour from the test's clock
    await work(ctx)
    day_before = start - timedelta(hours=23, minutes=50)
    assert await remind(ctx, day_before) == 2
    assert await remind(ctx, day_before + timedelta(minutes=10)) == 0  # the next run of the job: nothing again
    assert await messages(ctx, scene.leader.actor.user_id, "kit_reminder") == ["明天这个时候开播：丹东99草莓源头直发"]
    assert await remind(ctx, start - timedelta(minutes=50)) >= 2
    assert await remind(ctx, start - timedelta(minutes=40)) == 0
    assert await messages(ctx, scene.second.actor.user_id, "kit_reminder") == [
        "明天这个时候开播：丹东99草莓源头直发", "1 小时后开播：丹东99草莓源头直发"]
    # Moved to the next day: reminded again for the new start.
    async with ctx.db.transaction() as s:
        await live_sessions.update_session(
            session=s, brand_id=scene.brand, session_id=session_id, now=ctx.clock.now(),
            patch=live_sessions.SessionPatch(scheduled_start_at=start + timedelta(days=1)),
        )
    await work(ctx)
    assert await remind(ctx, start + timedelta(minutes=10)) == 2
    assert (await messages(ctx, scene.leader.actor.user_id, "kit_reminder"))[-1] == "明天这个时候开播：丹东99草莓源头直发"
    assert len(await kits_of(ctx, session_id)) == 2


async def test_each_group_gets_its_own_leaders_preview_under_the_70_30_ceiling(scene: Scene, world: World, ctx):
    start = ctx.clock.now() + timedelta(hours=1)
    session_id = await scheduled_session(world, scene)
    async with ctx.db.transaction() as s:
        mine = await community.ensure_group(session=s, brand_id=scene.brand, community_id=scene.community, now=ctx.clock.now())
        theirs = await community.ensure_group(session=s, brand_id=scene.brand, community_id=scene.second_community, now=ctx.clock.now())
    await work(ctx)
    await remind(ctx, start - timedelta(minutes=30))
    await remind(ctx, start - timedelta(minutes=20))  # again: no second preview
    async with ctx.db.read() as s:
        previews = {p.group_id: p for p in await s.scalars(select(PushContent).where(PushContent.kind == "session_preview"))}
    assert set(previews) == {mine.id, theirs.id}
    assert "云顶华府的社区主理人小李" in previews[mine.id].body and "翠湖花园的社区主理人王姐" in previews[theirs.id].body
    # A new group has said nothing yet: its first commerce message would be 100% commerce, so the system holds it
    # for the brand to release or discard instead of sending it.
    assert {p.held_share_bp for p in previews.values()} == {10_000}
    assert session_id
