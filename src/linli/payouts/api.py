"""Withdrawal routes: a leader asks and follows their own; brand staff set the policy, approve or reject;
provider notifications and the payout simulator."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.callbacks import apply_notification
from linli.errors import NotFound
from linli.leaders import service as leaders
from linli.openapi import errors, wechat_notify_responses
from linli.pagination import PageParams, page_params
from linli.payouts import service, simulator
from linli.payouts.models import STATUS_TEXT, Withdrawal
from linli.payouts.schemas import (
    LeaderPolicyOut,
    NotifyResult,
    PolicyIn,
    PolicyOut,
    RejectIn,
    SignedNotificationOut,
    SimulatorComplete,
    SimulatorCompleted,
    WithdrawalIn,
    WithdrawalOut,
    WithdrawalPage,
)
from linli.http import AuthUser, Ctx, Now, ReadSession, WriteSession, wechatpay_notify_reply

log = logging.getLogger("linli.payouts.api")

router = APIRouter(prefix="/api/v1", tags=["withdrawals"], responses=errors(409))
Paging = Annotated[PageParams, Depends(page_params)]
StatusFilter = Annotated[
    str | None, Query(max_length=16, description="requested / approved / paid / failed / rejected / returned")
]


def policy_out(policy: service.Policy) -> PolicyOut:
    return PolicyOut(
        min_amount_fen=policy.min_amount_fen, fee_bp=policy.fee_bp, daily_cap_fen=policy.daily_cap_fen,
        is_default=policy.is_default, updated_at=policy.updated_at, updated_by_user_id=policy.updated_by_user_id,
    )


def withdrawal_out(w: Withdrawal, leader_name: str | None) -> WithdrawalOut:
    return WithdrawalOut(
        id=w.id, leader_id=w.leader_id, leader_name=leader_name, amount_fen=w.amount_fen, fee_bp=w.fee_bp,
        fee_fen=w.fee_fen, net_fen=w.net_fen, status=w.status, status_text=STATUS_TEXT.get(w.status, w.status),
        business_date=w.business_date, provider=w.provider, out_batch_no=w.out_batch_no, out_detail_no=w.out_detail_no,
        provider_state=w.provider_state, failure_reason=w.failure_reason, reject_reason=w.reject_reason,
        requested_at=w.requested_at, approved_at=w.approved_at, finished_at=w.finished_at, returned_at=w.returned_at,
    )


# --- leaders --------------------------------------------------------------------------------------


@router.get("/brands/{brand_id}/leader/withdrawal-policy", response_model=LeaderPolicyOut, summary="提现规则与我的额度（团长）")
async def my_policy(brand_id: IdPath, user: AuthUser, session: ReadSession, now: Now) -> LeaderPolicyOut:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    figures = await service.leader_figures(session=session, brand_id=brand_id, leader_id=leader.id, now=now)
    return LeaderPolicyOut(
        policy=policy_out(figures.policy), available_fen=figures.available_fen, withdrawing_fen=figures.withdrawing_fen,
        today_requested_fen=figures.today_requested_fen, today_remaining_fen=figures.today_remaining_fen,
        withdrawable_now_fen=figures.withdrawable_now_fen,
    )


@router.post(
    "/brands/{brand_id}/leader/withdrawals",
    response_model=WithdrawalOut,
    status_code=201,
    summary="申请提现（团长）",
    description="同一 Idempotency-Key 再次提交同样的金额返回同一笔提现（200）；金额不同返回 409。",
)
async def request_withdrawal(
    brand_id: IdPath,
    body: WithdrawalIn,
    response: Response,
    user: AuthUser,
    session: WriteSession,
    now: Now,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=64)],
) -> WithdrawalOut:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    requested = await service.request_withdrawal(
        session=session, brand_id=brand_id, leader_id=leader.id, amount_fen=body.amount_fen,
        idempotency_key=idempotency_key, now=now,
    )
    if not requested.created:
        response.status_code = 200
    return withdrawal_out(requested.withdrawal, leader.real_name)


@router.get("/brands/{brand_id}/leader/withdrawals", response_model=WithdrawalPage, summary="我的提现（团长）")
async def my_withdrawals(
    brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging, status: StatusFilter = None
) -> WithdrawalPage:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    rows, total = await service.list_withdrawals(
        session=session, brand_id=brand_id, leader_id=leader.id, status=status, params=paging
    )
    return WithdrawalPage(
        items=[withdrawal_out(w, leader.real_name) for w in rows], total=total, page=paging.page, page_size=paging.page_size
    )


@router.get("/brands/{brand_id}/leader/withdrawals/{withdrawal_id}", response_model=WithdrawalOut, summary="提现详情（团长本人）")
async def my_withdrawal(brand_id: IdPath, withdrawal_id: IdPath, user: AuthUser, session: ReadSession) -> WithdrawalOut:
    leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user.user_id)
    row = await service.get_withdrawal(session=session, brand_id=brand_id, withdrawal_id=withdrawal_id, leader_id=leader.id)
    return withdrawal_out(row, leader.real_name)


# --- brand staff ----------------------------------------------------------------------------------


@router.get("/brands/{brand_id}/withdrawal-policy", response_model=PolicyOut, summary="提现规则（品牌员工）")
async def get_policy(brand_id: IdPath, user: AuthUser, session: ReadSession) -> PolicyOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return policy_out(await service.get_policy(session=session, brand_id=brand_id))


@router.put("/brands/{brand_id}/withdrawal-policy", response_model=PolicyOut, summary="修改提现规则（品牌员工；只影响之后的申请）")
async def put_policy(brand_id: IdPath, body: PolicyIn, user: AuthUser, session: WriteSession, now: Now) -> PolicyOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    policy = await service.update_policy(
        session=session, brand_id=brand_id, min_amount_fen=body.min_amount_fen, fee_bp=body.fee_bp,
        daily_cap_fen=body.daily_cap_fen, actor_user_id=user.user_id, now=now,
    )
    return policy_out(policy)


async def _names(session, rows: list[Withdrawal]) -> dict[int, str]:  # noqa: ANN001
    found = await leaders.leaders_by_ids(session=session, leader_ids={w.leader_id for w in rows})
    return {leader_id: leader.real_name for leader_id, leader in found.items()}


@router.get("/brands/{brand_id}/withdrawals", response_model=WithdrawalPage, summary="团长提现列表（品牌员工）")
async def brand_withdrawals(
    brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging, status: StatusFilter = None
) -> WithdrawalPage:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rows, total = await service.list_withdrawals(session=session, brand_id=brand_id, leader_id=None, status=status, params=paging)
    names = await _names(session, rows)
    return WithdrawalPage(
        items=[withdrawal_out(w, names.get(w.leader_id)) for w in rows], total=total, page=paging.page,
        page_size=paging.page_size,
    )


@router.post(
    "/brands/{brand_id}/withdrawals/{withdrawal_id}/approve",
    response_model=WithdrawalOut,
    summary="批准提现并打款（品牌员工）",
    description="打款由后台任务通过打款渠道完成；重复批准不会重复打款。",
)
async def approve(brand_id: IdPath, withdrawal_id: IdPath, ctx: Ctx, user: AuthUser, session: WriteSession, now: Now) -> WithdrawalOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    row = await service.approve(
        session=session, providers=ctx.payouts, provider_name=ctx.settings.payout_default_provider, brand_id=brand_id,
        withdrawal_id=withdrawal_id, actor_user_id=user.user_id, now=now,
    )
    return withdrawal_out(row, (await _names(session, [row])).get(row.leader_id))


@router.post("/brands/{brand_id}/withdrawals/{withdrawal_id}/reject", response_model=WithdrawalOut, summary="驳回提现（品牌员工，须填原因）")
async def reject(
    brand_id: IdPath, withdrawal_id: IdPath, body: RejectIn, user: AuthUser, session: WriteSession, now: Now
) -> WithdrawalOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    row = await service.reject(
        session=session, brand_id=brand_id, withdrawal_id=withdrawal_id, actor_user_id=user.user_id,
        reason=body.reason, now=now,
    )
    return withdrawal_out(row, (await _names(session, [row])).get(row.leader_id))


# --- providers ------------------------------------------------------------------------------------


@router.post(
    "/payouts/simulator/notify",
    response_model=NotifyResult,
    summary="打款模拟器回调（验签、幂等）",
    description="请求头 X-Linli-Payout-Timestamp / -Nonce / -Signature；签名无效或超过 5 分钟返回 401。",
    responses=errors(401, 404, 422),
)
async def simulator_notify(request: Request, ctx: Ctx) -> NotifyResult:
    provider = simulator.simulator_of(ctx)
    outcome = await apply_notification(
        ctx, handle=service.handle_notification, provider=provider, headers=request.headers, body=await request.body()
    )
    return NotifyResult(outcome=outcome)


@router.post(
    "/payouts/simulator/{out_detail_no}/complete",
    response_model=SimulatorCompleted,
    summary="打款模拟器：完成转账（到账、失败或退回；可延迟、可重复通知；该品牌员工）",
)
async def simulator_complete(out_detail_no: str, body: SimulatorComplete, ctx: Ctx, user: AuthUser) -> SimulatorCompleted:
    simulator.simulator_of(ctx)
    async with ctx.db.read() as session:
        row = await service.find_by_out_numbers(session=session, out_detail_no=out_detail_no)
        if row is None:
            raise NotFound("提现单不存在", code="withdrawal_not_found")
        await brands.require_staff(session=session, brand_id=row.brand_id, user_id=user.user_id)
    done = await simulator.complete(
        ctx=ctx, out_detail_no=out_detail_no, outcome=body.outcome, delay_ms=body.delay_ms, duplicates=body.duplicates
    )
    return SimulatorCompleted(
        out_detail_no=out_detail_no, outcome=done.outcome, scheduled=done.scheduled, outcomes=done.outcomes,
        notifications=[SignedNotificationOut(**n.as_json()) for n in done.notifications],
    )


@router.post(
    "/payouts/wechatpay/notify",
    summary="微信支付商家转账回调（批次完成）",
    description='成功返回 200 {"code": "SUCCESS"}；验签失败返回 401 {"code": "FAIL"}，微信支付会重试。',
    responses=wechat_notify_responses(),
)
async def wechatpay_notify(request: Request, ctx: Ctx) -> JSONResponse:
    return await wechatpay_notify_reply(
        request, ctx, provider=ctx.payouts.get("wechatpay"), handle=service.handle_notification, log=log,
        what="WeChat Pay transfer notification",
    )
