"""Automated care (自动关怀): a greeting and a coupon on a member's birthday and on the brand's holidays, once per
member per occasion per year, sent by the care job (daily at 09:00 in the brand's time zone, `linli care --as-of`).

"Today" is the brand's local date of the moment the job runs for (a run at 23:30 UTC is already tomorrow in
Shanghai). A member born on Feb 29 is greeted on Feb 28 in a year without one. Each greeting writes, in one
transaction, a `care_deliveries` row (unique per occasion, member and year: a second or concurrent run finds it
taken and does nothing), the coupon (`issue_coupon`, source `care`, key `care:birthday:2026` or
`care:holiday:<id>:2026`) and the push to the member's inbox (tag `value`, deduplicated per member, occasion and
year; a member who muted the inbox is skipped by delivery). Members are read in keyset batches, one short
transaction each, so a large brand never holds one long transaction.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.brands import service as brands
from linli.coupons import service as coupons
from linli.coupons import templates
from linli.db import Database, insert_unique
from linli.errors import DomainError, InvalidInput, NotFound
from linli.marketing.models import CareDelivery, CareOccasion, MemberBirthday
from linli.members import service as members
from linli.members.models import Member
from linli.notifications import pushes

BIRTHDAY, HOLIDAY = "birthday", "holiday"
PLACEHOLDERS = ("昵称", "品牌")
DEFAULT_BIRTHDAY_GREETING = "{昵称}，生日快乐！{品牌}为你准备了一份生日礼券，祝你天天开心。"
MAX_GREETING = 500
MAX_HOLIDAYS = 50
BATCH = 500
_LEAP = 2000  # a leap year: month and day are checked against it, so Feb 29 is a valid birthday


# --- a member's birthday ------------------------------------------------------------------------


def _check_day(month: int, day: int, year: int | None, *, latest_year: int, code: str) -> None:
    try:
        date(year if year is not None else _LEAP, month, day)
    except (ValueError, TypeError, OverflowError):
        raise InvalidInput("日期无效", code=code) from None
    if year is not None and not 1900 <= year <= latest_year:
        raise InvalidInput("年份无效", code=code)


async def set_birthday(
    *, session: AsyncSession, brand_id: int, user_id: int, month: int, day: int, year: int | None, now: datetime
) -> MemberBirthday:
    """The member's own birthday (the year is optional); 422 birthday_invalid for a date that does not exist."""
    _check_day(month, day, year, latest_year=now.year, code="birthday_invalid")
    if year is not None and date(year, month, day) > now.date():
        raise InvalidInput("生日不能晚于今天", code="birthday_invalid")
    member = await members.find_member(session=session, brand_id=brand_id, user_id=user_id)
    if member is None:
        raise NotFound("您还不是该品牌的用户", code="member_not_found")
    row = await session.get(MemberBirthday, member.id)
    if row is None:
        row = MemberBirthday(member_id=member.id, brand_id=brand_id, month=month, day=day, year=year, updated_at=now)
        if await insert_unique(session, row):
            return row
        row = await session.get(MemberBirthday, member.id, populate_existing=True)  # a concurrent first save won
        assert row is not None
    row.month, row.day, row.year, row.updated_at = month, day, year, now
    await session.flush()
    return row


async def birthday_of(*, session: AsyncSession, brand_id: int, user_id: int) -> MemberBirthday | None:
    member = await members.find_member(session=session, brand_id=brand_id, user_id=user_id)
    return None if member is None else await session.get(MemberBirthday, member.id)


async def clear_birthday(*, session: AsyncSession, brand_id: int, user_id: int) -> None:
    row = await birthday_of(session=session, brand_id=brand_id, user_id=user_id)
    if row is not None:
        await session.delete(row)
        await session.flush()


async def birthday_count(*, session: AsyncSession, brand_id: int) -> int:
    """What staff may know of birthdays: how many members gave one."""
    return await session.scalar(select(func.count()).where(MemberBirthday.brand_id == brand_id)) or 0


# --- the brand's occasions ---------------------------------------------------------------------


def check_greeting(text: str) -> str:
    """1 to 500 characters; braces only around {昵称} and {品牌} (422 care_greeting_invalid otherwise)."""
    text = text.strip()
    rest = text
    for name in PLACEHOLDERS:
        rest = rest.replace("{" + name + "}", "")
    if not 1 <= len(text) <= MAX_GREETING or "{" in rest or "}" in rest:
        raise InvalidInput("祝福语须为 1 到 500 个字，只能使用 {昵称}、{品牌} 两个占位符", code="care_greeting_invalid")
    return text


def fill(greeting: str, *, nickname: str, brand_name: str) -> str:
    return greeting.replace("{昵称}", nickname or "亲爱的会员").replace("{品牌}", brand_name)


@dataclass(frozen=True)
class OccasionInput:
    greeting: str
    coupon_template_id: int | None = None
    enabled: bool = True
    name: str = ""  # a holiday's
    month: int | None = None
    day: int | None = None
    year: int | None = None  # a holiday on this year's date only (lunar holidays)


async def _checked_template(session: AsyncSession, *, brand_id: int, template_id: int | None) -> int | None:
    if template_id is not None:  # 404 coupon_template_not_found for another brand's or none
        await templates.get_template(session=session, brand_id=brand_id, template_id=template_id)
    return template_id


async def birthday_settings(*, session: AsyncSession, brand_id: int, now: datetime) -> CareOccasion:
    """The brand's birthday occasion as saved, or (never saved) the default it starts from: off, no coupon."""
    row = await session.scalar(
        select(CareOccasion).where(CareOccasion.brand_id == brand_id, CareOccasion.kind == BIRTHDAY)
        .order_by(CareOccasion.id).limit(1)
    )
    return row or CareOccasion(brand_id=brand_id, kind=BIRTHDAY, name="生日", month=None, day=None, year=None,
                               enabled=False, coupon_template_id=None, greeting=DEFAULT_BIRTHDAY_GREETING,
                               created_at=now, updated_at=now)


async def birthday_occasion(*, session: AsyncSession, brand_id: int, now: datetime) -> CareOccasion:
    """The brand's birthday occasion, saved (off) the first time it is written."""
    row = await birthday_settings(session=session, brand_id=brand_id, now=now)
    if row.id is None:
        session.add(row)
        await session.flush()
    return row


async def update_birthday_occasion(
    *, session: AsyncSession, brand_id: int, data: OccasionInput, now: datetime
) -> CareOccasion:
    greeting = check_greeting(data.greeting)
    template_id = await _checked_template(session, brand_id=brand_id, template_id=data.coupon_template_id)
    row = await birthday_occasion(session=session, brand_id=brand_id, now=now)
    row.greeting, row.coupon_template_id, row.enabled, row.updated_at = greeting, template_id, data.enabled, now
    await session.flush()
    return row


async def _clean_holiday(session: AsyncSession, *, brand_id: int, data: OccasionInput, now: datetime) -> OccasionInput:
    name = data.name.strip()
    if not 1 <= len(name) <= 32:
        raise InvalidInput("节日名称须为 1 到 32 个字", code="care_name_invalid")
    if data.month is None or data.day is None:
        raise InvalidInput("请填写节日日期", code="care_date_invalid")
    _check_day(data.month, data.day, data.year, latest_year=now.year + 1, code="care_date_invalid")
    return OccasionInput(
        name=name, month=data.month, day=data.day, year=data.year, greeting=check_greeting(data.greeting),
        coupon_template_id=await _checked_template(session, brand_id=brand_id, template_id=data.coupon_template_id),
        enabled=data.enabled,
    )


def _apply(row: CareOccasion, data: OccasionInput, now: datetime) -> None:
    row.name, row.month, row.day, row.year = data.name, data.month, data.day, data.year
    row.greeting, row.coupon_template_id, row.enabled, row.updated_at = (
        data.greeting, data.coupon_template_id, data.enabled, now)


async def set_holiday_enabled(
    *, session: AsyncSession, brand_id: int, occasion_id: int, enabled: bool, now: datetime
) -> CareOccasion:
    row = await get_holiday(session=session, brand_id=brand_id, occasion_id=occasion_id)
    row.enabled, row.updated_at = enabled, now
    await session.flush()
    return row


async def create_holiday(*, session: AsyncSession, brand_id: int, data: OccasionInput, now: datetime) -> CareOccasion:
    data = await _clean_holiday(session, brand_id=brand_id, data=data, now=now)
    count = await session.scalar(
        select(func.count()).where(CareOccasion.brand_id == brand_id, CareOccasion.kind == HOLIDAY))
    if (count or 0) >= MAX_HOLIDAYS:
        raise InvalidInput(f"每个品牌最多 {MAX_HOLIDAYS} 个节日", code="care_holiday_limit")
    row = CareOccasion(brand_id=brand_id, kind=HOLIDAY, created_at=now)
    _apply(row, data, now)
    session.add(row)
    await session.flush()
    return row


async def get_holiday(*, session: AsyncSession, brand_id: int, occasion_id: int) -> CareOccasion:
    row = await session.get(CareOccasion, occasion_id)
    if row is None or row.brand_id != brand_id or row.kind != HOLIDAY:
        raise NotFound("节日不存在", code="care_holiday_not_found")
    return row


async def update_holiday(
    *, session: AsyncSession, brand_id: int, occasion_id: int, data: OccasionInput, now: datetime
) -> CareOccasion:
    data = await _clean_holiday(session, brand_id=brand_id, data=data, now=now)
    row = await get_holiday(session=session, brand_id=brand_id, occasion_id=occasion_id)
    _apply(row, data, now)
    await session.flush()
    return row


async def list_holidays(*, session: AsyncSession, brand_id: int) -> list[CareOccasion]:
    rows = await session.scalars(
        select(CareOccasion).where(CareOccasion.brand_id == brand_id, CareOccasion.kind == HOLIDAY)
        .order_by(CareOccasion.month, CareOccasion.day, CareOccasion.id)
    )
    return list(rows)


async def delivery_counts(*, session: AsyncSession, brand_id: int, year: int) -> dict[int, int]:
    """Greetings sent this year, per occasion (what staff see of who was greeted: counts)."""
    rows = await session.execute(
        select(CareDelivery.occasion_id, func.count()).where(CareDelivery.brand_id == brand_id, CareDelivery.year == year)
        .group_by(CareDelivery.occasion_id)
    )
    return {occasion_id: count for occasion_id, count in rows}


# --- the job ---------------------------------------------------------------------------------


def birthdays_on(day: date) -> list[tuple[int, int]]:
    """The (month, day) birthdays greeted on `day`: Feb 29 ones on Feb 28 of a year without Feb 29."""
    found = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        found.append((2, 29))
    return found


def falls_on(occasion: CareOccasion, day: date) -> bool:
    if occasion.year is not None and occasion.year != day.year:
        return False
    if (occasion.month, occasion.day) == (day.month, day.day):
        return True
    return (occasion.month, occasion.day) == (2, 29) and (day.month, day.day) == (2, 28) and not calendar.isleap(day.year)


@dataclass
class CareReport:
    day: str = ""
    occasions: int = 0
    greeted: int = 0
    coupons: int = 0
    batches: int = 0


async def _member_batch(
    session: AsyncSession, *, brand_id: int, occasion: CareOccasion, day: date, after: int
) -> list[tuple[int, int]]:
    query = select(Member.id, Member.user_id).where(Member.brand_id == brand_id, Member.id > after)
    if occasion.kind == BIRTHDAY:
        query = query.join(MemberBirthday, MemberBirthday.member_id == Member.id).where(
            MemberBirthday.brand_id == brand_id,
            or_(*[(MemberBirthday.month == m) & (MemberBirthday.day == d) for m, d in birthdays_on(day)]),
        )
    rows = await session.execute(query.order_by(Member.id).limit(BATCH))
    return [(member_id, user_id) for member_id, user_id in rows]


async def _greet(
    session: AsyncSession, *, occasion: CareOccasion, member_id: int, user_id: int, day: date, brand_name: str,
    base_url: str, now: datetime, report: CareReport,
) -> None:
    delivery = CareDelivery(brand_id=occasion.brand_id, occasion_id=occasion.id, member_id=member_id, year=day.year,
                            local_day=day.isoformat(), delivered_at=now)
    if not await insert_unique(session, delivery):  # greeted before (or by a concurrent run): nothing more
        return
    key = (f"care:birthday:{day.year}" if occasion.kind == BIRTHDAY
           else f"care:holiday:{occasion.id}:{day.year}")
    if occasion.coupon_template_id is not None:
        try:
            issued = await coupons.issue_coupon(
                session=session, brand_id=occasion.brand_id, template_id=occasion.coupon_template_id,
                member_id=member_id, source="care", source_key=key, now=now,
            )
            delivery.coupon_id = issued.coupon.id
            report.coupons += int(issued.created)
        except DomainError as refused:  # quota gone, template stopped …: the greeting still goes, the note says why
            delivery.coupon_note = refused.code[:64]
    user = await accounts.get_user(session=session, user_id=user_id)
    body = fill(occasion.greeting, nickname=user.display_name, brand_name=brand_name)
    if delivery.coupon_id is not None:
        body += "\n礼券已放入「我的优惠券」。"
    enqueued = await pushes.enqueue(
        session=session, brand_id=occasion.brand_id, title="生日快乐" if occasion.kind == BIRTHDAY else f"{occasion.name}快乐",
        body=body, tag="value", kind=f"care_{occasion.kind}", dedupe_key=f"care:{occasion.id}:{member_id}:{day.year}",
        now=now, base_url=base_url, recipients=[user_id], link="/me/coupons" if delivery.coupon_id else None,
    )
    delivery.push_content_id = enqueued.content.id
    report.greeted += 1
    await session.flush()


async def run_brand(*, db: Database, brand_id: int, as_of: datetime, now: datetime, base_url: str) -> CareReport:
    """Greets every member whose occasion is the brand's local day of `as_of`; one transaction per batch."""
    async with db.read() as session:
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        day = as_of.astimezone(ZoneInfo(brand.timezone)).date()
        birthday = await birthday_settings(session=session, brand_id=brand_id, now=now)
        # The brand's one birthday occasion (the first saved: two first saves racing leave a twin that never fires).
        occasions = ([birthday] if birthday.id is not None and birthday.enabled else []) + [
            o for o in await list_holidays(session=session, brand_id=brand_id) if o.enabled and falls_on(o, day)
        ]
        brand_name = brand.name
    report = CareReport(day=day.isoformat(), occasions=len(occasions))
    for occasion in occasions:
        after = 0
        while True:
            async with db.transaction() as session:
                batch = await _member_batch(session, brand_id=brand_id, occasion=occasion, day=day, after=after)
                for member_id, user_id in batch:
                    await _greet(session, occasion=occasion, member_id=member_id, user_id=user_id, day=day,
                                 brand_name=brand_name, base_url=base_url, now=now, report=report)
            report.batches += 1
            if len(batch) < BATCH:
                break
            after = batch[-1][0]
    return report
