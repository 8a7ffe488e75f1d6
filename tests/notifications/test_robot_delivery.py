"""Pushes to WeCom robots, against a local robot: sent once, retried with backoff, failed with the reason after the
last attempt, postponed on 45009, never more than 20 messages in any 60 s, and two dispatchers never double-send."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import timedelta

from sqlalchemy import func, select

from linli.notifications import pushes
from linli.notifications.delivery import MAX_ATTEMPTS, Dispatcher, backoff
from linli.notifications.models import Push, PushAttempt, PushRobot
from tests.notifications.conftest import TIMEOUT, deliver, robot_row


async def queue(ctx, scene, robot_id: int, count: int, *, prefix: str = "m", image: bytes | None = None) -> list[int]:  # noqa: ANN001
    ids = []
    async with ctx.db.transaction() as s:
        for i in range(count):
            done = await pushes.enqueue(
                session=s, brand_id=scene.brand_id, title=f"{prefix}{i}", body=f"第 {i} 条：今晚八点草莓专场", tag="value",
                kind="announcement", dedupe_key=f"{prefix}-{i}", now=ctx.clock.now(), base_url=ctx.settings.public_base_url,
                robot_id=robot_id, image_png=image,
            )
            ids += [p.id for p in done.pushes]
    return ids


async def rows(ctx, ids: list[int]) -> list[Push]:  # noqa: ANN001
    async with ctx.db.read() as s:
        return list(await s.scalars(select(Push).where(Push.id.in_(ids)).order_by(Push.id)))


def titles(received) -> list[str]:  # noqa: ANN001
    return [r.payload["text"]["content"].split("\n")[0] for r in received if r.payload["msgtype"] == "text"]


async def test_a_push_reaches_the_robot_once_as_text_with_its_link(ctx, scene, robot):
    robot_id = await robot_row(ctx, scene.brand_id, robot.url("good"))
    async with ctx.db.transaction() as s:
        done = await pushes.enqueue(
            session=s, brand_id=scene.brand_id, title="今晚草莓专场", body="8 点开播，邻居专享价 68 元", tag="commerce",
            kind="session_reminder", dedupe_key="reminder-1", now=ctx.clock.now(), base_url=ctx.settings.public_base_url,
            robot_id=robot_id, link="/live/7",
        )
    report = await deliver(ctx)
    again = await deliver(ctx)
    assert (report.sent, again.done) == (1, 0)
    [received] = robot.of("good")
    assert received.payload == {
        "msgtype": "text", "text": {"content": f"今晚草莓专场\n8 点开播，邻居专享价 68 元\n{ctx.settings.public_base_url}/live/7"},
    }
    [push] = await rows(ctx, [p.id for p in done.pushes])
    assert (push.state, push.attempts, push.sent_at, push.last_error) == ("sent", 1, ctx.clock.now(), None)


async def test_a_failing_webhook_is_retried_with_backoff_then_failed_with_its_reason(ctx, scene, robot):
    robot.modes["broken"] = "errcode"
    robot_id = await robot_row(ctx, scene.brand_id, robot.url("broken"))
    [push_id] = await queue(ctx, scene, robot_id, 1)
    started = ctx.clock.now()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        report = await deliver(ctx)
        [push] = await rows(ctx, [push_id])
        assert push.attempts == attempt and "errcode 93000" in push.last_error
        if attempt < MAX_ATTEMPTS:
            assert (report.retrying, push.state, push.next_attempt_at) == (1, "pending", ctx.clock.now() + backoff(attempt))
            ctx.clock.advance(backoff(attempt) - timedelta(seconds=1))
            assert (await deliver(ctx)).done == 0  # not before its time
            ctx.clock.advance(timedelta(seconds=1))
    assert (report.failed, push.state, push.next_attempt_at) == (1, "failed", None)
    assert push.reason.startswith(f"重试 {MAX_ATTEMPTS} 次仍失败：errcode 93000")
    assert len(robot.of("broken")) == MAX_ATTEMPTS
    assert ctx.clock.now() - started == sum((backoff(n) for n in range(1, MAX_ATTEMPTS)), timedelta())
    ctx.clock.advance(timedelta(days=1))
    assert (await deliver(ctx)).done == 0 and len(robot.of("broken")) == MAX_ATTEMPTS  # failed stays failed, kept
    async with ctx.db.read() as s:
        outcomes = list(await s.scalars(select(PushAttempt.outcome).where(PushAttempt.push_id == push_id)))
    assert outcomes == ["error"] * MAX_ATTEMPTS


async def test_an_http_error_and_a_hanging_robot_are_retried_and_end_failed(ctx, scene, robot):
    robot.modes["down"], robot.modes["slow"] = "http500", "hang"
    down = await queue(ctx, scene, await robot_row(ctx, scene.brand_id, robot.url("down")), 1, prefix="d")
    slow = await queue(ctx, scene, await robot_row(ctx, scene.brand_id, robot.url("slow")), 1, prefix="s")
    for _ in range(MAX_ATTEMPTS):
        await deliver(ctx)
        ctx.clock.advance(timedelta(hours=1))
    [d], [s] = await rows(ctx, down), await rows(ctx, slow)
    assert (d.state, d.attempts) == ("failed", MAX_ATTEMPTS) and d.reason.endswith("HTTP 500")
    assert (s.state, s.attempts) == ("failed", MAX_ATTEMPTS) and s.reason.endswith(f"超时：{TIMEOUT:g} 秒内没有应答")
    assert len(robot.of("slow")) == MAX_ATTEMPTS  # it was asked each time, and never waited for past the timeout


async def test_a_rate_limiting_robot_never_gets_more_than_20_a_minute_and_everything_arrives(ctx, scene, robot):
    robot.modes["busy"] = "limited"  # answers 45009 past 20 in 60 s, as WeCom does
    robot_id = await robot_row(ctx, scene.brand_id, robot.url("busy"))
    ids = await queue(ctx, scene, robot_id, 50)
    for _ in range(100):
        await deliver(ctx)
        if all(p.state == "sent" for p in await rows(ctx, ids)):
            break
        ctx.clock.advance(timedelta(seconds=7))
    assert all(p.state == "sent" for p in await rows(ctx, ids))
    assert robot.most_in_a_minute("busy") <= 20
    assert sorted(titles(robot.delivered("busy"))) == sorted(f"m{i}" for i in range(50))  # each exactly once
    assert all(r.answered == 0 for r in robot.of("busy"))  # it never had to refuse one


async def test_a_45009_answer_postpones_the_robots_queue_without_counting_against_the_push(ctx, scene, robot):
    robot.modes["strict"] = "throttle:1"
    robot_id = await robot_row(ctx, scene.brand_id, robot.url("strict"))
    ids = await queue(ctx, scene, robot_id, 3)
    first = await deliver(ctx)
    assert (first.postponed, first.sent) == (1, 2)  # the three went out together; one came back 45009
    [held] = [p for p in await rows(ctx, ids) if p.state != "sent"]
    async with ctx.db.read() as s:
        paused = (await s.get(PushRobot, robot_id)).paused_until
    assert (held.state, held.attempts, held.next_attempt_at) == ("pending", 0, paused)
    assert paused == ctx.clock.now() + timedelta(seconds=60) and "45009" in held.last_error
    async with ctx.db.transaction() as s:  # meanwhile another push to the same robot waits with the queue
        later = await pushes.enqueue(
            session=s, brand_id=scene.brand_id, title="later", body="稍后", tag="value", kind="announcement",
            dedupe_key="later", now=ctx.clock.now(), base_url=ctx.settings.public_base_url, robot_id=robot_id,
        )
    ctx.clock.advance(timedelta(seconds=59))
    assert (await deliver(ctx)).done == 0
    ctx.clock.advance(timedelta(seconds=1))
    assert (await deliver(ctx)).sent == 2
    [retried] = await rows(ctx, [held.id])
    assert (retried.state, retried.attempts) == ("sent", 1)
    assert [p.state for p in later.pushes] and (await rows(ctx, [later.pushes[0].id]))[0].state == "sent"


async def test_two_dispatchers_at_once_never_send_a_push_twice(ctx, scene, robot):
    robot_ids = [await robot_row(ctx, scene.brand_id, robot.url(f"r{n}")) for n in range(2)]
    ids = [i for n, rid in enumerate(robot_ids) for i in await queue(ctx, scene, rid, 25, prefix=f"r{n}-")]
    async with ctx.db.transaction() as s:
        inbox = await pushes.enqueue(
            session=s, brand_id=scene.brand_id, title="站内信", body="两个派发器", tag="value", kind="announcement",
            dedupe_key="inbox", now=ctx.clock.now(), base_url="", recipients=[m.user_id for m in scene.members],
        )
    one, two = Dispatcher.for_context(ctx), Dispatcher.for_context(ctx)
    for _ in range(20):
        await asyncio.gather(one.deliver_due(now=ctx.clock.now()), two.deliver_due(now=ctx.clock.now()))
        ctx.clock.advance(timedelta(seconds=20))
    for n in range(2):
        assert sorted(titles(robot.of(f"r{n}"))) == sorted(f"r{n}-{i}" for i in range(25))  # each once, none twice
        assert robot.most_in_a_minute(f"r{n}") <= 20
    everything = await rows(ctx, ids + [p.id for p in inbox.pushes])
    assert all(p.state == "sent" and p.attempts == 1 for p in everything)
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(PushAttempt)) == len(everything)


async def test_an_image_is_sent_as_base64_with_the_md5_of_its_bytes_and_a_large_one_is_fitted(ctx, scene, robot):
    import io
    import random

    from PIL import Image

    noise = random.Random(7).randbytes(1200 * 1200 * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (1200, 1200), noise).save(buffer, format="PNG")
    big = buffer.getvalue()
    assert len(big) > 2 * 1024 * 1024
    robot_id = await robot_row(ctx, scene.brand_id, robot.url("pics"))
    ids = await queue(ctx, scene, robot_id, 1, image=big)
    assert [p.part for p in await rows(ctx, ids)] == ["text", "image"]
    await deliver(ctx)
    [image] = [r.payload["image"] for r in robot.of("pics") if r.payload["msgtype"] == "image"]
    raw = base64.b64decode(image["base64"])
    assert len(raw) <= 2 * 1024 * 1024 and raw.startswith(b"\xff\xd8\xff")
    assert image["md5"] == hashlib.md5(raw).hexdigest()  # noqa: S324 - what WeCom checks
    with Image.open(io.BytesIO(raw)) as decoded:
        assert decoded.size[0] <= 1200 and decoded.size[0] == decoded.size[1]
