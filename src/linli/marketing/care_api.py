"""Automated care over HTTP: a member's own birthday, the brand's occasions (brand staff)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.http import AuthUser, Now, ReadSession, WriteSession
from linli.marketing import care
from linli.marketing.models import CareOccasion
from linli.marketing.schemas import BirthdayIn, BirthdayOut, CareHolidayIn, CareOccasionIn, CareOccasionOut, CareOut
from linli.notifications import preferences
from linli.openapi import errors

router = APIRouter(prefix="/api/v1", tags=["marketing"], responses=errors(404, 422))


def _birthday_out(brand_id: int, row) -> BirthdayOut:  # noqa: ANN001
    return BirthdayOut(brand_id=brand_id, month=row.month if row else None, day=row.day if row else None,
                       year=row.year if row else None)


@router.get("/brands/{brand_id}/me/birthday", response_model=BirthdayOut, summary="我的生日（会员本人）")
async def my_birthday(brand_id: IdPath, user: AuthUser, session: ReadSession) -> BirthdayOut:
    await preferences.require_member(session=session, brand_id=brand_id, user_id=user.user_id)
    return _birthday_out(brand_id, await care.birthday_of(session=session, brand_id=brand_id, user_id=user.user_id))


@router.put("/brands/{brand_id}/me/birthday", response_model=BirthdayOut, summary="设置我的生日（生日当天收到祝福和礼券）")
async def set_my_birthday(brand_id: IdPath, body: BirthdayIn, user: AuthUser, session: WriteSession, now: Now) -> BirthdayOut:
    await preferences.require_member(session=session, brand_id=brand_id, user_id=user.user_id)
    row = await care.set_birthday(session=session, brand_id=brand_id, user_id=user.user_id, month=body.month,
                                  day=body.day, year=body.year, now=now)
    return _birthday_out(brand_id, row)


@router.delete("/brands/{brand_id}/me/birthday", response_model=BirthdayOut, summary="删除我的生日")
async def clear_my_birthday(brand_id: IdPath, user: AuthUser, session: WriteSession) -> BirthdayOut:
    await preferences.require_member(session=session, brand_id=brand_id, user_id=user.user_id)
    await care.clear_birthday(session=session, brand_id=brand_id, user_id=user.user_id)
    return _birthday_out(brand_id, None)


def occasion_out(row: CareOccasion, counts: dict[int, int]) -> CareOccasionOut:
    return CareOccasionOut(id=row.id, kind=row.kind, name=row.name, month=row.month, day=row.day, year=row.year,
                           enabled=row.enabled, coupon_template_id=row.coupon_template_id, greeting=row.greeting,
                           greeted_this_year=counts.get(row.id, 0))


async def care_out(session, *, brand_id: int, now) -> CareOut:  # noqa: ANN001
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    counts = await care.delivery_counts(session=session, brand_id=brand_id, year=now.astimezone(ZoneInfo(brand.timezone)).year)
    return CareOut(
        brand_id=brand_id,
        birthday=occasion_out(await care.birthday_settings(session=session, brand_id=brand_id, now=now), counts),
        holidays=[occasion_out(h, counts) for h in await care.list_holidays(session=session, brand_id=brand_id)],
        members_with_birthday=await care.birthday_count(session=session, brand_id=brand_id),
    )


@router.get("/brands/{brand_id}/care", response_model=CareOut, summary="自动关怀：生日与节日（品牌员工）")
async def get_care(brand_id: IdPath, user: AuthUser, session: ReadSession, now: Now) -> CareOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return await care_out(session, brand_id=brand_id, now=now)


@router.put("/brands/{brand_id}/care/birthday", response_model=CareOccasionOut, summary="设置生日关怀（品牌员工）")
async def set_birthday_care(
    brand_id: IdPath, body: CareOccasionIn, user: AuthUser, session: WriteSession, now: Now
) -> CareOccasionOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    row = await care.update_birthday_occasion(session=session, brand_id=brand_id, now=now,
                                              data=care.OccasionInput(**body.model_dump()))
    return occasion_out(row, {})


@router.post("/brands/{brand_id}/care/holidays", response_model=CareOccasionOut, status_code=201,
             summary="新增节日关怀（品牌员工）")
async def create_holiday(
    brand_id: IdPath, body: CareHolidayIn, user: AuthUser, session: WriteSession, now: Now
) -> CareOccasionOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    row = await care.create_holiday(session=session, brand_id=brand_id, data=care.OccasionInput(**body.model_dump()),
                                    now=now)
    return occasion_out(row, {})


@router.put("/brands/{brand_id}/care/holidays/{occasion_id}", response_model=CareOccasionOut,
            summary="修改节日关怀（品牌员工）")
async def update_holiday(
    brand_id: IdPath, occasion_id: IdPath, body: CareHolidayIn, user: AuthUser, session: WriteSession, now: Now
) -> CareOccasionOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    row = await care.update_holiday(session=session, brand_id=brand_id, occasion_id=occasion_id,
                                    data=care.OccasionInput(**body.model_dump()), now=now)
    return occasion_out(row, {})
