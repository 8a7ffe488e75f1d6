"""Automated care: the job greets (push + coupon) each member on their birthday and on the brand's holidays, for
the brand's local day, once per member per occasion per year — run twice, concurrently, across a time-zone edge."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from linli.brands.models import Brand
from linli.coupons.models import Coupon
from linli.errors import DomainError
from linli.marketing import care
from linli.marketing.models import CareDelivery
from linli.members import service as members
from linli.notifications import preferences
from linli.notifications.delivery import Dispatcher
from linli.notifications.models import Push, PushContent
from tests.coupons.setup import make_template


async def _member(world, brand_id: int, name: str, birthday: tuple[int, int, int | None] | None = None) -> tuple[int, int]:
    ctx = world.ctx
    user = await world.user(name=name)
    async with ctx.db.transaction() as s:
        member, _ = await members.get_or_create_member(session=s, brand_id=brand_id, user_id=user.user_id,
                                                       now=ctx.clock.now())
        if birthday:
            await care.set_birthday(session=s, brand_id=brand_id, user_id=user.user_id, month=birthday[0],
                                    day=birthday[1], year=birthday[2], now=ctx.clock.now())
    return member.id, user.user_id


async def _brand(world, timezone: str = "Asia/Shanghai") -> tuple[int, int]:
    ctx = world.ctx
    brand_id = await world.brand("优邻优选")
    template_id = await make_template(ctx, brand_id, name="生日礼券", valid_days=30)
    async with ctx.db.transaction() as s:
        await s.execute(update(Brand).where(Brand.id == brand_id).values(timezone=timezone))
        await care.update_birthday_occasion(session=s, brand_id=brand_id, now=ctx.clock.now(), data=care.OccasionInput(
            greeting="{昵称}，生日快乐！{品牌}送你一张券", coupon_template_id=template_id))
    return brand_id, template_id


async def _run(ctx, brand_id: int, at: datetime) -> care.CareReport:
    return await care.run_brand(db=ctx.db, brand_id=brand_id, as_of=at, now=at, base_url="https://linli.example")


async def _greeted(ctx, brand_id: int) -> list[tuple[int, str, int]]:
    async with ctx.db.read() as s:
        deliveries = list(await s.scalars(select(CareDelivery).where(CareDelivery.brand_id == brand_id)
                                          .order_by(CareDelivery.member_id)))
        coupons = {c.member_id: c.source_key for c in await s.scalars(select(Coupon).where(Coupon.brand_id == brand_id))}
        coupon_count = await s.scalar(select(func.count()).select_from(Coupon).where(Coupon.brand_id == brand_id))
        push_count = await s.scalar(select(func.count()).select_from(PushContent)
                                    .where(PushContent.brand_id == brand_id, PushContent.kind.like("care_%")))
    assert coupon_count == len(coupons) and push_count == len(deliveries)
    return [(d.member_id, coupons.get(d.member_id, ""), d.year) for d in deliveries]


async def test_a_birthday_is_the_brands_local_day_across_the_utc_edge(world, ctx):
    brand_id, _ = await _brand(world)
    born_dec2, _ = await _member(world, brand_id, "小周", (12, 2, 1990))
    await _member(world, brand_id, "小吴", (12, 1, None))
    # 2026-12-01T15:30Z is 23:30 on Dec 1 in Shanghai: not Dec 2 yet.
    early = await _run(ctx, brand_id, datetime(2026, 12, 1, 15, 30, tzinfo=UTC))
    assert early.day == "2026-12-01"
    dec1 = await _greeted(ctx, brand_id)
    assert len(dec1) == 1 and dec1[0][0] != born_dec2
    report = await _run(ctx, brand_id, datetime(2026, 12, 1, 16, 30, tzinfo=UTC))  # 00:30 on Dec 2 in Shanghai
    assert (report.day, report.greeted, report.coupons) == ("2026-12-02", 1, 1)
    assert (born_dec2, "care:birthday:2026", 2026) in await _greeted(ctx, brand_id)


async def test_los_angeles_is_a_day_behind(world, ctx):
    brand_id, _ = await _brand(world, "America/Los_Angeles")
    born, _ = await _member(world, brand_id, "Amy", (12, 2, None))
    # 2026-12-02T07:30Z is 23:30 on Dec 1 in Los Angeles (PST, UTC-8): no greeting; 08:30Z is Dec 2 00:30.
    assert (await _run(ctx, brand_id, datetime(2026, 12, 2, 7, 30, tzinfo=UTC))).greeted == 0
    report = await _run(ctx, brand_id, datetime(2026, 12, 2, 8, 30, tzinfo=UTC))
    assert (report.day, report.greeted) == ("2026-12-02", 1)
    assert await _greeted(ctx, brand_id) == [(born, "care:birthday:2026", 2026)]


async def test_running_twice_and_concurrently_greets_and_issues_once(world, ctx, backend):
    brand_id, template_id = await _brand(world)
    born = [(await _member(world, brand_id, f"会员{i}", (3, 8, None)))[0] for i in range(4)]
    at = datetime(2026, 3, 8, 1, 0, tzinfo=UTC)
    reports = await asyncio.gather(_run(ctx, brand_id, at), _run(ctx, brand_id, at))
    assert sum(r.greeted for r in reports) == 4 and sum(r.coupons for r in reports) == 4
    again = await _run(ctx, brand_id, at.replace(hour=10))  # later that same local day
    assert (again.greeted, again.coupons) == (0, 0)
    assert await _greeted(ctx, brand_id) == [(m, "care:birthday:2026", 2026) for m in born]
    next_year = await _run(ctx, brand_id, at.replace(year=2027))
    assert next_year.greeted == 4  # once per year, so again the next year


async def test_a_holiday_greets_every_member_once_and_a_muted_inbox_is_skipped(world, ctx):
    brand_id, template_id = await _brand(world)
    ids = [await _member(world, brand_id, f"邻居{i}") for i in range(3)]
    muted_user = ids[0][1]
    async with ctx.db.transaction() as s:
        holiday = await care.create_holiday(session=s, brand_id=brand_id, now=ctx.clock.now(), data=care.OccasionInput(
            name="中秋节", month=9, day=25, year=2026, greeting="{品牌}祝{昵称}中秋快乐", coupon_template_id=template_id))
        await preferences.set_muted(session=s, brand_id=brand_id, user_id=muted_user, muted={"inbox"},
                                    now=ctx.clock.now())
    at = datetime(2026, 9, 25, 1, 0, tzinfo=UTC)
    assert (await _run(ctx, brand_id, at)).greeted == 3
    assert (await _run(ctx, brand_id, at)).greeted == 0
    assert await _greeted(ctx, brand_id) == [(m, f"care:holiday:{holiday.id}:2026", 2026) for m, _ in ids]
    assert (await _run(ctx, brand_id, at.replace(year=2027))).greeted == 0  # a lunar date holds for its year only
    report = await Dispatcher.for_context(ctx).deliver_due(now=at)
    assert (report.sent, report.skipped) == (2, 1)
    async with ctx.db.read() as s:
        states = {p.user_id: p.state for p in await s.scalars(select(Push).where(Push.brand_id == brand_id))}
    assert states[muted_user] == "skipped" and sorted(states.values()) == ["sent", "sent", "skipped"]


async def test_feb_29_is_greeted_on_feb_28_in_a_common_year(world, ctx):
    brand_id, _ = await _brand(world)
    leapling, _ = await _member(world, brand_id, "小闰", (2, 29, 2000))
    assert (await _run(ctx, brand_id, datetime(2027, 2, 28, 1, tzinfo=UTC))).greeted == 1
    assert (await _run(ctx, brand_id, datetime(2027, 3, 1, 1, tzinfo=UTC))).greeted == 0
    assert (await _run(ctx, brand_id, datetime(2028, 2, 28, 1, tzinfo=UTC))).greeted == 0  # 2028 has Feb 29
    assert (await _run(ctx, brand_id, datetime(2028, 2, 29, 1, tzinfo=UTC))).greeted == 1
    assert [g[2] for g in await _greeted(ctx, brand_id)] == [2027, 2028]


@pytest.mark.parametrize(("month", "day", "year"), [(2, 30, None), (13, 1, None), (2, 29, 2001), (1, 1, 1800),
                                                    (12, 31, 2099)])
async def test_a_bad_birthday_is_refused_and_changes_nothing(world, ctx, month, day, year):
    brand_id, _ = await _brand(world)
    member_id, user_id = await _member(world, brand_id, "小错", (5, 1, None))
    with pytest.raises(DomainError) as refused:
        async with ctx.db.transaction() as s:
            await care.set_birthday(session=s, brand_id=brand_id, user_id=user_id, month=month, day=day, year=year,
                                    now=ctx.clock.now())
    assert refused.value.code == "birthday_invalid"
    async with ctx.db.read() as s:
        row = await care.birthday_of(session=s, brand_id=brand_id, user_id=user_id)
    assert (row.month, row.day, row.year) == (5, 1, None)


async def test_an_unknown_template_or_a_bad_greeting_is_refused(world, ctx):
    brand_id, _ = await _brand(world)
    other_brand = await world.brand("鲜果坊")
    foreign = await make_template(ctx, other_brand)
    for data, code in [(care.OccasionInput(greeting="生日快乐", coupon_template_id=foreign), "coupon_template_not_found"),
                       (care.OccasionInput(greeting="生日快乐 {电话}"), "care_greeting_invalid"),
                       (care.OccasionInput(greeting="  "), "care_greeting_invalid")]:
        with pytest.raises(DomainError) as refused:
            async with ctx.db.transaction() as s:
                await care.update_birthday_occasion(session=s, brand_id=brand_id, data=data, now=ctx.clock.now())
        assert refused.value.code == code
    async with ctx.db.read() as s:
        occasion = await care.birthday_settings(session=s, brand_id=brand_id, now=ctx.clock.now())
    assert occasion.greeting == "{昵称}，生日快乐！{品牌}送你一张券"


async def test_the_daily_job_is_due_at_nine_local_and_a_late_run_greets_its_own_day(world, ctx):
    from linli.scheduler import jobs

    brand_id, _ = await _brand(world)
    born, _ = await _member(world, brand_id, "小九", (12, 2, None))
    brand = jobs.BrandSchedule(brand_id=brand_id, timezone="Asia/Shanghai", settle_at=jobs.DEFAULT_SETTLE_AT,
                               created_at=ctx.clock.now())
    # 00:59 UTC on Dec 2 is 08:59 in Shanghai: Dec 1's period; at 01:00 UTC Dec 2's becomes due.
    [before] = [d for d in jobs.due_now(now=datetime(2026, 12, 2, 0, 59, tzinfo=UTC), brands=[brand]) if d.job == "care"]
    [due] = [d for d in jobs.due_now(now=datetime(2026, 12, 2, 1, 0, tzinfo=UTC), brands=[brand]) if d.job == "care"]
    assert (before.period, due.period, due.due_at) == ("2026-12-01", "2026-12-02", datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
    # The worker was down: it runs Dec 2's period at 17:00 UTC (Dec 3 01:00 local) and still greets Dec 2's birthday.
    counts = await jobs.RUNNERS["care"](ctx, due, datetime(2026, 12, 2, 17, 0, tzinfo=UTC))
    assert counts == {"occasions": 1, "greeted": 1, "coupons": 1}
    assert await _greeted(ctx, brand_id) == [(born, "care:birthday:2026", 2026)]


async def test_many_members_are_greeted_in_batches(world, ctx, monkeypatch):
    monkeypatch.setattr(care, "BATCH", 2)
    brand_id, _ = await _brand(world)
    born = [(await _member(world, brand_id, f"批{i}", (7, 7, None)))[0] for i in range(5)]
    await _member(world, brand_id, "不是今天", (7, 8, None))
    report = await _run(ctx, brand_id, datetime(2026, 7, 7, 1, tzinfo=UTC))
    assert (report.greeted, report.batches) == (5, 3)
    assert [m for m, _, _ in await _greeted(ctx, brand_id)] == born
