"""The brand's schedule: when its daily settlement runs (brand staff)."""

from __future__ import annotations

from fastapi import APIRouter

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.openapi import errors
from linli.scheduler import service
from linli.scheduler.schemas import SchedulePolicyIn, SchedulePolicyOut
from linli.http import AuthUser, Now, ReadSession, WriteSession

router = APIRouter(prefix="/api/v1", tags=["schedule"], responses=errors(404))


def policy_out(policy: service.Policy) -> SchedulePolicyOut:
    return SchedulePolicyOut(
        settle_at=policy.settle_at, timezone=policy.timezone, is_default=policy.is_default,
        updated_at=policy.updated_at, updated_by_user_id=policy.updated_by_user_id,
    )


@router.get("/brands/{brand_id}/schedule-policy", response_model=SchedulePolicyOut, summary="定时任务时间（品牌员工）")
async def get_policy(brand_id: IdPath, user: AuthUser, session: ReadSession) -> SchedulePolicyOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return policy_out(await service.get_policy(session=session, brand_id=brand_id))


@router.put(
    "/brands/{brand_id}/schedule-policy", response_model=SchedulePolicyOut,
    summary="修改每日结算时间（品牌员工；从尚未结算的下一个自然日起生效）",
)
async def put_policy(
    brand_id: IdPath, body: SchedulePolicyIn, user: AuthUser, session: WriteSession, now: Now
) -> SchedulePolicyOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    policy = await service.update_policy(
        session=session, brand_id=brand_id, settle_at=body.settle_at, actor_user_id=user.user_id, now=now
    )
    return policy_out(policy)
