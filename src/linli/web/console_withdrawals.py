"""The brand console: leaders' withdrawals — the list by state, approve, reject with a reason, the payout's progress.

Exactly the checks and service calls of the API (`linli.payouts.api`): any staff role of the brand
(`brands.require_staff`, no owner-only action here), `payouts.list_withdrawals`, `payouts.approve` with the
configured provider, `payouts.reject`. Both decisions are idempotent in the service, so a double submit decides
once: approving again returns the withdrawal unchanged (one `withdrawal.approved` event, one payout), rejecting
again with the same reason changes nothing. The transfer itself happens in the worker (`withdrawal.approved` →
`payouts.pay_out`); the page shows how far it got.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.pagination import PageParams
from linli.payouts import service as payouts
from linli.payouts.models import STATUS_TEXT, STATUSES, Withdrawal
from linli.web.console import staff_view
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

PAGE_SIZE = 20
PROVIDER_TEXT = {"simulator": "打款模拟器", "wechatpay": "微信支付商家转账"}
StatusQuery = Annotated[str, Query(max_length=16)]
PageQuery = Annotated[int, Query(ge=1, le=100_000)]
ReasonText = Annotated[str, Form(max_length=400)]


@dataclass(frozen=True)
class Row:
    """One withdrawal as the console lists it: who asked (name, community) and who decided."""

    withdrawal: Withdrawal
    leader_name: str
    community_name: str
    approved_by: str
    rejected_by: str


async def _rows(session: AsyncSession, withdrawals: list[Withdrawal]) -> list[Row]:
    found = await leaders.leaders_by_ids(session=session, leader_ids={w.leader_id for w in withdrawals})
    communities = await brands.communities_by_ids(session=session, community_ids={x.community_id for x in found.values()})
    deciders = {w.approved_by_user_id for w in withdrawals} | {w.rejected_by_user_id for w in withdrawals}
    users = await accounts.users_by_ids(session=session, user_ids={u for u in deciders if u is not None})

    def name_of(user_id: int | None) -> str:
        user = users.get(user_id) if user_id is not None else None
        return (user.display_name or user.login_name or "") if user is not None else ""

    rows = []
    for w in withdrawals:
        leader = found.get(w.leader_id)
        community = communities.get(leader.community_id) if leader is not None else None
        rows.append(Row(
            withdrawal=w, leader_name=leader.real_name if leader else "", community_name=community.name if community else "",
            approved_by=name_of(w.approved_by_user_id), rejected_by=name_of(w.rejected_by_user_id),
        ))
    return rows


async def render_withdrawals(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, form: FormState, *, status: str = "",
    page: int = 1, shown: int | None = None, refused: int | None = None,
) -> Response:
    """The list; `form` belongs to the row of withdrawal `refused` (its message and what was typed), if any."""
    params = PageParams(page=page, page_size=PAGE_SIZE)
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        withdrawals, total = await payouts.list_withdrawals(
            session=session, brand_id=brand_id, leader_id=None, status=status or None, params=params
        )
        rows = await _rows(session, withdrawals)
    return render(
        request, visitor, "console_withdrawals.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="withdrawals", form=form, refused=refused, blank=FormState(), rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
        status=status, statuses=[(s, STATUS_TEXT[s]) for s in STATUSES], status_text=STATUS_TEXT,
        provider_text=PROVIDER_TEXT, shown=next((r for r in rows if r.withdrawal.id == shown), None),
    )


@router.get("/brands/{brand_id}/console/withdrawals")
async def withdrawals_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, status: StatusQuery = "", page: PageQuery = 1,
    shown: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    return await render_withdrawals(request, visitor, ctx, brand_id, FormState(), status=status, page=page, shown=shown)


def _back(brand_id: int, withdrawal_id: int) -> RedirectResponse:
    # After a post, a get: reloading the page decides nothing again.
    return RedirectResponse(f"/brands/{brand_id}/console/withdrawals?shown={withdrawal_id}", status_code=303)


@router.post("/brands/{brand_id}/console/withdrawals/{withdrawal_id}/approve")
async def approve(request: Request, brand_id: IdPath, withdrawal_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"/brands/{brand_id}/console/withdrawals")
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            await payouts.approve(
                session=session, providers=ctx.payouts, provider_name=ctx.settings.payout_default_provider,
                brand_id=brand_id, withdrawal_id=withdrawal_id, actor_user_id=user_id_of(visitor), now=ctx.clock.now(),
            )
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        form = FormState()
        form.refuse(exc, "approve")
        return await render_withdrawals(request, visitor, ctx, brand_id, form, refused=withdrawal_id)
    return _back(brand_id, withdrawal_id)


@router.post("/brands/{brand_id}/console/withdrawals/{withdrawal_id}/reject")
async def reject(
    request: Request, brand_id: IdPath, withdrawal_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, reason: ReasonText = ""
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"/brands/{brand_id}/console/withdrawals")
    form = FormState(values={"reason": reason.strip()})
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            await payouts.reject(
                session=session, brand_id=brand_id, withdrawal_id=withdrawal_id, actor_user_id=user_id_of(visitor),
                reason=reason, now=ctx.clock.now(),
            )
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        form.refuse(exc, "reason")
        return await render_withdrawals(request, visitor, ctx, brand_id, form, refused=withdrawal_id)
    return _back(brand_id, withdrawal_id)
