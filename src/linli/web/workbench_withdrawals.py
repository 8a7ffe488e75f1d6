"""The leader's workbench: withdrawals — the brand's policy, what can be withdrawn now, a request, the history.

The request form carries an idempotency key made when the page renders, so a double click (two posts of the
same form) asks once: `payouts.request_withdrawal` answers the second with the withdrawal the first made.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError
from linli.http import Ctx
from linli.leaders import service as leaders
from linli.pagination import PageParams
from linli.payouts import service as payouts
from linli.payouts.models import STATUS_TEXT
from linli.web.forms import fen_of, new_key
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

SHOWN = PageParams(page=1, page_size=50)
AmountText = Annotated[str, Form(max_length=32)]
KeyText = Annotated[str, Form(max_length=64)]


async def render_withdrawals(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, form: FormState, asked: int | None = None
) -> Response:
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        figures = await payouts.leader_figures(session=session, brand_id=brand_id, leader_id=leader.id, now=now)
        history, total = await payouts.list_withdrawals(
            session=session, brand_id=brand_id, leader_id=leader.id, status=None, params=SHOWN
        )
    form.values.setdefault("idempotency_key", new_key())
    return render(
        request, visitor, "workbench_withdrawals.html", status_code=form.status_code, brand=brand, form=form,
        figures=figures, policy=figures.policy, history=history, total=total, status_text=STATUS_TEXT,
        asked=next((w for w in history if w.id == asked), None), tab="withdrawals",
    )


@router.get("/brands/{brand_id}/leader/withdrawals")
async def withdrawals_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, asked: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    return await render_withdrawals(request, visitor, ctx, brand_id, FormState(), asked=asked)


@router.post("/brands/{brand_id}/leader/withdrawals")
async def request_withdrawal(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, amount: AmountText = "",
    idempotency_key: KeyText = "",
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"/brands/{brand_id}/leader/withdrawals")
    form = FormState(values={"amount": amount.strip(), "idempotency_key": idempotency_key})
    try:
        amount_fen = fen_of(amount, what="提现金额", code="withdrawal_amount_invalid")
        async with ctx.db.transaction() as session:
            leader = await leaders.require_active_leader(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            requested = await payouts.request_withdrawal(
                session=session, brand_id=brand_id, leader_id=leader.id, amount_fen=amount_fen,
                idempotency_key=idempotency_key, now=ctx.clock.now(),
            )
    except DomainError as exc:
        if exc.status_code == 403:
            raise
        form.refuse(exc, "amount")
        return await render_withdrawals(request, visitor, ctx, brand_id, form)
    # After a post, a get: reloading the result page asks nothing again.
    return RedirectResponse(f"/brands/{brand_id}/leader/withdrawals?asked={requested.withdrawal.id}", status_code=303)
