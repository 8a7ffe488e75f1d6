"""Enqueueing pushes: in the caller's transaction, once per dedupe key, refused whole when a channel cannot carry
it; the inbox and SMS channels; muted channels skipped; the brand's robot; where a robot's webhook may point."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from linli.accounts.models import DevSmsMessage
from linli.errors import Conflict, InvalidInput, NotFound
from linli.notifications import preferences, pushes, robots
from linli.notifications import service as notifications
from linli.notifications.channels import PushImageTooLarge
from linli.notifications.models import Push, PushContent, PushImage
from linli.worker import run_until_idle
from tests.fulfillment.helpers import run_cli
from tests.notifications.conftest import deliver, robot_row

BASE = "http://127.0.0.1:8000"


async def enqueue(ctx, scene, **overrides):  # noqa: ANN001, ANN201
    arguments = dict(
        brand_id=scene.brand_id, title="本周草莓直播预告", body="周五晚 8 点，云顶华府邻居专享价", tag="value",
        kind="session_reminder", dedupe_key="reminder:7", now=ctx.clock.now(), base_url=BASE,
        recipients=[m.user_id for m in scene.members],
    )
    arguments.update(overrides)
    async with ctx.db.transaction() as s:
        return await pushes.enqueue(session=s, **arguments)


async def counts(ctx) -> tuple[int, int, int]:  # noqa: ANN001
    async with ctx.db.read() as s:
        return tuple([await s.scalar(select(func.count()).select_from(t)) for t in (PushContent, Push, PushImage)])


async def test_a_push_to_members_lands_in_each_inbox_once_with_its_link(ctx, scene):
    first = await enqueue(ctx, scene, link="/live/7")
    again = await enqueue(ctx, scene, title="另一个标题")  # the same key: a replay, not a new push
    assert first.created and not again.created and again.content.id == first.content.id
    assert await counts(ctx) == (1, 3, 0)
    await run_until_idle(ctx)  # the worker's pass delivers pushes
    await run_until_idle(ctx)
    async with ctx.db.read() as s:
        for member in scene.members:
            [message] = await notifications.messages_for(session=s, user_id=member.user_id)
            assert (message.title, message.kind, message.link, message.brand_id) == (
                "本周草莓直播预告", "session_reminder", "/live/7", scene.brand_id)
        states = set(await s.scalars(select(Push.state)))
    assert states == {"sent"}


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"tag": "ads"}, "push_tag_invalid"),
        ({"kind": "Campaign Kit"}, "push_kind_invalid"),
        ({"title": " "}, "push_title_invalid"),
        ({"body": "长" * 501}, "push_too_large"),  # the inbox takes 500 characters
        ({"channel": "sms", "body": "长" * 192}, "push_too_large"),  # an SMS 200 (title, "：", body)
        ({"channel": "wecom"}, "push_channel_invalid"),  # a robot speaks to a group, not to a person
        ({"channel": "fax"}, "push_channel_invalid"),
        ({"recipients": []}, "push_audience_invalid"),
        ({"recipients": [], "channel": "wecom"}, "push_no_robot"),  # the brand has no robot yet
        ({"link": "javascript:alert(1)"}, "push_link_invalid"),
        ({"link": "//evil.example/x"}, "push_link_invalid"),
        ({"link": "http://example.com/x"}, "push_link_invalid"),
        ({"dedupe_key": ""}, "push_dedupe_key_invalid"),
    ],
)
async def test_a_refused_push_writes_nothing(ctx, scene, overrides, code):
    with pytest.raises(InvalidInput) as refused:
        await enqueue(ctx, scene, **overrides)
    assert refused.value.code == code and refused.value.status_code == 422
    assert await counts(ctx) == (0, 0, 0)


async def test_recipients_must_be_the_brands_members(ctx, scene, world):
    stranger = await world.user()
    with pytest.raises(InvalidInput) as refused:
        await enqueue(ctx, scene, recipients=[scene.members[0].user_id, stranger.user_id])
    assert refused.value.code == "push_recipient_unknown" and refused.value.details == {"user_ids": [stranger.user_id]}
    assert await counts(ctx) == (0, 0, 0)


async def test_a_robot_message_is_limited_in_utf8_bytes_exactly_at_wecoms_limits(ctx, scene, robot):
    robot_id = await robot_row(ctx, scene.brand_id, robot.url("limits"))
    fits = "# 预告\n" + "草" * 1362 + "a"
    assert len(fits.encode()) == 4096
    done = await enqueue(ctx, scene, recipients=[], robot_id=robot_id, markdown=fits, dedupe_key="md-ok")
    assert done.created
    with pytest.raises(InvalidInput) as refused:
        await enqueue(ctx, scene, recipients=[], robot_id=robot_id, markdown=fits + "a", dedupe_key="md-big")
    assert refused.value.code == "push_too_large" and refused.value.details == {"limit": 4096, "size": 4097}
    title, body = "预告", "莓" * 680 + "a"  # text: title, body and link on lines of their own, 2,048 bytes at most
    assert len(f"{title}\n{body}".encode()) == 2048
    assert (await enqueue(ctx, scene, recipients=[], robot_id=robot_id, title=title, body=body, dedupe_key="t-ok")).created
    with pytest.raises(InvalidInput):
        await enqueue(ctx, scene, recipients=[], robot_id=robot_id, title=title, body=body + "a", dedupe_key="t-big")
    await deliver(ctx)
    [markdown] = [r.payload for r in robot.of("limits") if r.payload["msgtype"] == "markdown"]
    assert markdown == {"msgtype": "markdown", "markdown": {"content": fits}}


async def test_an_image_that_is_no_image_or_far_too_large_is_refused(ctx, scene, robot):
    robot_id = await robot_row(ctx, scene.brand_id, robot.url("pics"))
    with pytest.raises(InvalidInput) as refused:
        await enqueue(ctx, scene, recipients=[], robot_id=robot_id, image_png=b"GIF89a not a png")
    assert refused.value.code == "push_image_invalid"
    with pytest.raises(PushImageTooLarge) as huge:
        await enqueue(ctx, scene, recipients=[], robot_id=robot_id, image_png=b"\x89PNG\r\n\x1a\n" + b"0" * (20 * 1024 * 1024))
    assert huge.value.status_code == 413
    assert await counts(ctx) == (0, 0, 0)


async def test_a_muted_channel_is_skipped_and_recorded_never_sent(ctx, scene):
    muter, other = scene.members[0], scene.members[1]
    async with ctx.db.transaction() as s:
        assert await preferences.set_muted(session=s, brand_id=scene.brand_id, user_id=muter.user_id, muted={"inbox"},
                                           now=ctx.clock.now()) == {"inbox"}
        # What is not a push (a pickup code, an invitation) is never muted.
        await notifications.notify(session=s, user_id=muter.user_id, brand_id=scene.brand_id, kind="parcel_arrived",
                                   title="您的订单已到自提点", body="提货码 123456", dedupe_key="parcel:1", now=ctx.clock.now())
    done = await enqueue(ctx, scene, recipients=[muter.user_id, other.user_id])
    report = await deliver(ctx)
    assert (report.sent, report.skipped) == (1, 1)
    async with ctx.db.read() as s:
        by_user = {p.user_id: p for p in await s.scalars(select(Push).where(Push.content_id == done.content.id))}
        kinds = [m.kind for m in await notifications.messages_for(session=s, user_id=muter.user_id)]
    assert (by_user[muter.user_id].state, by_user[muter.user_id].reason) == ("skipped", "跳过：已静音")
    assert by_user[other.user_id].state == "sent" and kinds == ["parcel_arrived"]


async def test_muting_is_per_brand_per_channel_and_only_for_the_brands_members(ctx, scene, world):
    member = scene.members[0]
    async with ctx.db.transaction() as s:
        await preferences.set_muted(session=s, brand_id=scene.brand_id, user_id=member.user_id, muted={"inbox", "sms"},
                                    now=ctx.clock.now())
        await preferences.set_muted(session=s, brand_id=scene.brand_id, user_id=member.user_id, muted={"sms"},
                                    now=ctx.clock.now())
        assert await preferences.muted_channels(session=s, brand_id=scene.brand_id, user_id=member.user_id) == {"sms"}
        with pytest.raises(InvalidInput):
            await preferences.set_muted(session=s, brand_id=scene.brand_id, user_id=member.user_id, muted={"wecom"},
                                        now=ctx.clock.now())
    stranger = await world.user()
    async with ctx.db.transaction() as s:
        with pytest.raises(NotFound) as refused:
            await preferences.set_muted(session=s, brand_id=scene.brand_id, user_id=stranger.user_id, muted=set(),
                                        now=ctx.clock.now())
    assert refused.value.code == "member_not_found"


async def test_an_sms_push_goes_through_the_sms_sender_unless_muted(ctx, scene):
    reader, muter = scene.members[0], scene.members[1]
    async with ctx.db.transaction() as s:
        await preferences.set_muted(session=s, brand_id=scene.brand_id, user_id=muter.user_id, muted={"sms"},
                                    now=ctx.clock.now())
    await enqueue(ctx, scene, channel="sms", recipients=[reader.user_id, muter.user_id], link="/live/7",
                  body="周五晚 8 点开播")
    report = await deliver(ctx)
    assert (report.sent, report.skipped) == (1, 1)
    async with ctx.db.read() as s:
        texts = {m.phone: m.body for m in await s.scalars(select(DevSmsMessage))}
    assert texts == {reader.phone: f"本周草莓直播预告：周五晚 8 点开播 {BASE}/live/7"}


async def test_the_brands_own_robot_takes_wecom_pushes_without_a_recipient(ctx, scene, robot):
    policy = robots.WebhookPolicy.of(ctx.settings)
    async with ctx.db.transaction() as s:
        await robots.set_brand_robot(session=s, brand_id=scene.brand_id, url=robot.url("leaders"), policy=policy,
                                     now=ctx.clock.now())
    await enqueue(ctx, scene, recipients=[], channel="wecom")
    assert (await deliver(ctx)).sent == 1 and len(robot.of("leaders")) == 1


async def test_a_removed_robot_fails_what_is_still_queued_with_the_reason(ctx, scene, robot):
    policy = robots.WebhookPolicy.of(ctx.settings)
    robot_id = await robot_row(ctx, scene.brand_id, robot.url("gone"))
    done = await enqueue(ctx, scene, recipients=[], robot_id=robot_id)
    async with ctx.db.transaction() as s:
        row = await robots.get_robot(session=s, brand_id=scene.brand_id, robot_id=robot_id)
        await robots.save_robot(session=s, brand_id=scene.brand_id, robot=row, scope="group", url="", policy=policy,
                                now=ctx.clock.now())
    assert (await deliver(ctx)).failed == 1
    async with ctx.db.read() as s:
        push = await s.get(Push, done.pushes[0].id)
    assert (push.state, push.reason) == ("failed", "群机器人已移除") and robot.of("gone") == []


@pytest.mark.parametrize(
    ("url", "dev_mode", "allowed"),
    [
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx", False, True),
        ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", False, False),  # not https
        ("https://qyapi.weixin.qq.com.evil.example/send?key=abc", False, False),
        ("https://user:pw@qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", False, False),
        ("https://qyapi.weixin.qq.com:8443/cgi-bin/webhook/send?key=abc", False, False),
        ("http://169.254.169.254/latest/meta-data", True, False),  # never an address inside the network
        ("http://127.0.0.1:9/cgi-bin/webhook/send?key=t", False, False),  # loopback: development mode only
        ("http://127.0.0.1:9/cgi-bin/webhook/send?key=t", True, True),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=a b", False, False),
    ],
)
def test_where_a_robot_webhook_may_point(url, dev_mode, allowed, settings):
    policy = robots.WebhookPolicy.of(settings.with_overrides(dev_mode=dev_mode))
    if allowed:
        assert robots.clean_webhook_url(url, policy=policy) == url
    else:
        with pytest.raises(InvalidInput) as refused:
            robots.clean_webhook_url(url, policy=policy)
        assert refused.value.code == "webhook_url_invalid"


async def test_a_webhook_belongs_to_one_robot_so_its_minute_is_counted_once(ctx, scene, robot, world):
    policy = robots.WebhookPolicy.of(ctx.settings)
    await robot_row(ctx, scene.brand_id, robot.url("shared"))
    other_brand = await world.brand(name="别家", slug="other-brand")
    async with ctx.db.transaction() as s:
        with pytest.raises(Conflict) as taken:
            await robots.set_brand_robot(session=s, brand_id=other_brand, url=robot.url("shared") + "&x=1",
                                         policy=policy, now=ctx.clock.now())
    assert taken.value.code == "webhook_in_use"
    assert robots.mask_webhook(robot.url("abcdefgh")).endswith("?key=****efgh")


async def test_deliver_pushes_replays_a_moment_from_the_command_line(ctx, scene, database_url, tmp_path, monkeypatch):
    await enqueue(ctx, scene)
    result = await run_cli(database_url, tmp_path, monkeypatch, "deliver-pushes", "--as-of",
                           (ctx.clock.now() + timedelta(minutes=1)).isoformat())
    assert result.exit_code == 0, result.output
    assert "sent 3, retrying 0, failed 0, skipped 0 (muted), postponed 0 (robot rate limit)" in result.output
    again = await run_cli(database_url, tmp_path, monkeypatch, "deliver-pushes", "--as-of",
                          (ctx.clock.now() + timedelta(minutes=1)).isoformat())
    assert "sent 0," in again.output
