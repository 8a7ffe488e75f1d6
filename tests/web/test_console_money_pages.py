"""The console's money pages over HTTP: who may open each page, post each form and download the report (nothing
in the ledger's or the payouts' API is owner-only, so an operator may do all), CSRF, and the withdrawals page:
approve (a double submit approves and pays once), reject with a reason (required, beside the field, kept)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from linli.demo.cast import OPERATOR_LOGIN
from linli.accounts.models import User
from linli.ledger.models import TX_WITHDRAWAL_PAID, CommissionRuleVersion, LedgerTransaction
from linli.outbox.models import OutboxEvent
from linli.payouts import service as payouts
from linli.payouts.models import Withdrawal
from linli.payouts.simulator import complete, simulator_of
from linli.worker import run_until_idle
from tests.web.conftest import csrf_of
from tests.web.test_workbench_pages import text_of
from tests.web.workbench_scene import become, load, sign_in_as

PAGES = ["/console/commission", "/console/withdrawals", "/console/reports/commission", "/console/reports/commission.csv"]


async def ask(ctx, demo, amount_fen: int = 2000, key: str = "console-test-1") -> int:
    """小李 asks for a withdrawal (the workbench page has its own tests)."""
    async with ctx.db.transaction() as s:
        asked = await payouts.request_withdrawal(
            session=s, brand_id=demo.brand_id, leader_id=demo.xiaoli_leader_id, amount_fen=amount_fen,
            idempotency_key=key, now=ctx.clock.now(),
        )
    return asked.withdrawal.id


async def withdrawal(ctx, withdrawal_id: int) -> Withdrawal:
    async with ctx.db.read() as s:
        row = await s.get(Withdrawal, withdrawal_id)
        assert row is not None
        return row


async def count(ctx, query) -> int:  # noqa: ANN001
    async with ctx.db.read() as s:
        return int(await s.scalar(query) or 0)


@pytest.mark.parametrize("who", ["anonymous", "member", "leader", "other-brand-staff"])
async def test_who_may_not_open_the_money_pages(client, ctx, world, who):
    demo = await load(ctx)
    await become(client, ctx, world, who)
    for page in PAGES:
        path = f"/brands/{demo.brand_id}{page}"
        got = await client.get(path)
        if who == "anonymous":
            assert got.status_code == 303 and got.headers["location"] == f"/signin?next={path}", page
            continue
        assert got.status_code == 403 and got.headers["content-type"].startswith("text/html"), page
        assert "仅限本品牌员工操作" in text_of(got.text)


@pytest.mark.parametrize("who", ["owner", "operator"])
async def test_owner_and_operator_open_every_money_page(client, ctx, world, who):
    demo = await load(ctx)
    await become(client, ctx, world, who)
    for page, title in zip(PAGES[:3], ("佣金规则", "提现审核", "佣金报表"), strict=True):
        got = await client.get(f"/brands/{demo.brand_id}{page}")
        assert got.status_code == 200 and f"<h1>{title}</h1>" in got.text
        assert 'aria-current="page"' in got.text and 'class="desk"' in got.text
    download = await client.get(f"/brands/{demo.brand_id}{PAGES[3]}")
    assert download.status_code == 200 and download.content.startswith("\ufeff".encode())


async def test_unknown_brand_and_unknown_withdrawal_are_the_404_page(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, login="youlin-owner")
    for page in PAGES:
        missing = await client.get(f"/brands/999999{page}")
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html"), page
    token = csrf_of((await client.get(f"/brands/{demo.brand_id}/console/withdrawals")).text)
    gone = await client.post(f"/brands/{demo.brand_id}/console/withdrawals/999999/approve", data={"csrf_token": token})
    assert gone.status_code == 404 and "提现单不存在" in text_of(gone.text)


async def test_the_list_shows_name_community_amounts_and_filters_by_state(client, ctx):
    demo = await load(ctx)
    first = await ask(ctx, demo, 2000, "console-list-1")
    second = await ask(ctx, demo, 1200, "console-list-2")
    await sign_in_as(client, ctx, login="youlin-owner")
    async with ctx.db.transaction() as s:
        owner = await s.scalar(select(User.id).where(User.login_name == "youlin-owner"))
        await payouts.reject(session=s, brand_id=demo.brand_id, withdrawal_id=second, actor_user_id=owner,
                             reason="收款信息有误", now=ctx.clock.now())
    listed = await client.get(f"/brands/{demo.brand_id}/console/withdrawals")
    page = text_of(listed.text)
    assert f'data-testid="withdrawal-{first}"' in listed.text and f'data-testid="withdrawal-{second}"' in listed.text
    assert "小李" in page and "云顶华府" in page and "¥20.00" in page and "¥12.00" in page
    assert "2026年" in page and "收款信息有误" in page  # requested at, brand time; the reason of the rejection
    waiting = await client.get(f"/brands/{demo.brand_id}/console/withdrawals", params={"status": "requested"})
    assert f'data-testid="withdrawal-{first}"' in waiting.text and f'data-testid="withdrawal-{second}"' not in waiting.text
    assert '<option value="requested" selected>待审核</option>' in waiting.text
    refused = await client.get(f"/brands/{demo.brand_id}/console/withdrawals", params={"status": "nonsense"})
    assert refused.status_code == 422 and "提现状态无效" in text_of(refused.text)


async def test_a_double_submit_approves_and_pays_once(client, ctx):
    demo = await load(ctx)
    asked = await ask(ctx, demo)
    await sign_in_as(client, ctx, login=OPERATOR_LOGIN)  # not owner-only in the API, so neither here
    token = csrf_of((await client.get(f"/brands/{demo.brand_id}/console/withdrawals")).text)
    path = f"/brands/{demo.brand_id}/console/withdrawals/{asked}/approve"
    first = await client.post(path, data={"csrf_token": token})
    second = await client.post(path, data={"csrf_token": token})
    for done in (first, second):
        assert done.status_code == 303 and done.headers["location"].endswith(f"/console/withdrawals?shown={asked}")
    row = await withdrawal(ctx, asked)
    assert row.status == "approved" and row.out_detail_no == f"LLWD{asked:010d}"
    assert await count(ctx, select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == "withdrawal.approved")) == 1
    shown = text_of((await client.get(done.headers["location"])).text)
    assert "打款中" in shown and "等待打款渠道确认到账" in shown and f"LLWD{asked:010d}" in shown

    await run_until_idle(ctx)  # the worker asks the (instant) simulator
    again = await client.post(path, data={"csrf_token": token})
    assert again.status_code == 303
    assert (await withdrawal(ctx, asked)).status == "paid"
    paid = select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.kind == TX_WITHDRAWAL_PAID)
    assert await count(ctx, paid) == 1
    progress = text_of((await client.get(again.headers["location"])).text)
    assert "已到账" in progress and "到账 2026年" in progress and "PAID" in progress


async def test_reject_needs_a_reason_beside_the_field_and_then_decides_once(client, ctx):
    demo = await load(ctx)
    asked = await ask(ctx, demo)
    await sign_in_as(client, ctx, login="youlin-owner")
    token = csrf_of((await client.get(f"/brands/{demo.brand_id}/console/withdrawals")).text)
    path = f"/brands/{demo.brand_id}/console/withdrawals/{asked}/reject"
    empty = await client.post(path, data={"csrf_token": token, "reason": "   "})
    assert empty.status_code == 422
    assert f'id="f-reason-{asked}-error"' in empty.text and "请填写驳回原因（不超过 200 字）" in text_of(empty.text)
    long = "太" * 201
    too_long = await client.post(path, data={"csrf_token": token, "reason": long})
    assert too_long.status_code == 422 and f'value="{long}"' in too_long.text  # what was typed is kept
    assert (await withdrawal(ctx, asked)).status == "requested"

    for _ in range(2):  # a double submit: the second is the same rejection, nothing more
        done = await client.post(path, data={"csrf_token": token, "reason": "收款信息有误，请重新申请"})
        assert done.status_code == 303
    row = await withdrawal(ctx, asked)
    assert (row.status, row.reject_reason) == ("rejected", "收款信息有误，请重新申请")
    async with ctx.db.read() as s:
        figures = await payouts.leader_figures(session=s, brand_id=demo.brand_id, leader_id=demo.xiaoli_leader_id,
                                               now=ctx.clock.now())
    assert figures.withdrawing_fen == 0  # the amount went back to available, once
    approve = await client.post(f"/brands/{demo.brand_id}/console/withdrawals/{asked}/approve", data={"csrf_token": token})
    assert approve.status_code == 409 and "该提现已被驳回，不能再批准" in text_of(approve.text)
    assert f'id="f-approve-{asked}-error"' in approve.text


async def test_rejecting_an_approved_withdrawal_is_refused_keeping_the_reason(client, ctx):
    demo = await load(ctx)
    asked = await ask(ctx, demo)
    await sign_in_as(client, ctx, login="youlin-owner")
    token = csrf_of((await client.get(f"/brands/{demo.brand_id}/console/withdrawals")).text)
    await client.post(f"/brands/{demo.brand_id}/console/withdrawals/{asked}/approve", data={"csrf_token": token})
    late = await client.post(f"/brands/{demo.brand_id}/console/withdrawals/{asked}/reject",
                             data={"csrf_token": token, "reason": "看错了"})
    assert late.status_code == 409 and "只有待审核的提现可以驳回" in text_of(late.text)
    assert (await withdrawal(ctx, asked)).status == "approved"


@pytest.mark.parametrize("who", ["anonymous", "member", "leader", "other-brand-staff"])
async def test_who_may_not_decide_and_nothing_changes(client, ctx, world, who):
    demo = await load(ctx)
    asked = await ask(ctx, demo)
    await become(client, ctx, world, who)
    token = csrf_of((await client.get("/signin" if who == "anonymous" else "/me")).text)
    base = f"/brands/{demo.brand_id}/console"
    posts = [(f"{base}/withdrawals/{asked}/approve", {}), (f"{base}/withdrawals/{asked}/reject", {"reason": "不行"}),
             (f"{base}/commission", {"live_rate": "30", "off_session_rate": "10", "referral_rate": "2",
                                     "referral_months": "12", "settlement_window_days": "1", "note": "x"})]
    for path, data in posts:
        got = await client.post(path, data={"csrf_token": token, **data})
        if who == "anonymous":
            assert got.status_code == 303 and got.headers["location"].startswith("/signin?next="), path
        else:
            assert got.status_code == 403 and "仅限本品牌员工操作" in text_of(got.text), path
    assert (await withdrawal(ctx, asked)).status == "requested"
    assert await count(ctx, select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == "withdrawal.approved")) == 0
    assert await count(ctx, select(func.count()).select_from(CommissionRuleVersion).where(
        CommissionRuleVersion.created_by_user_id.is_not(None))) == 0


@pytest.mark.parametrize("token", [None, "forged"])
async def test_every_post_needs_the_csrf_token(client, ctx, token):
    demo = await load(ctx)
    asked = await ask(ctx, demo)
    await sign_in_as(client, ctx, login="youlin-owner")
    base = f"/brands/{demo.brand_id}/console"
    sent = {} if token is None else {"csrf_token": token}
    for path, data in ((f"{base}/withdrawals/{asked}/approve", {}), (f"{base}/withdrawals/{asked}/reject", {"reason": "不行"}),
                       (f"{base}/commission", {"live_rate": "30"})):
        got = await client.post(path, data={**sent, **data})
        assert got.status_code == 403 and "页面已过期或来源不明" in text_of(got.text), path
    assert (await withdrawal(ctx, asked)).status == "requested"
    assert await count(ctx, select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == "withdrawal.approved")) == 0


async def test_a_pending_transfer_shows_its_progress_until_the_provider_confirms(client, ctx):
    """As WeChat Pay does (the simulator in `pending` mode): approved, asked, waiting; then the signed notification."""
    demo = await load(ctx)
    asked = await ask(ctx, demo)
    simulator = simulator_of(ctx)
    simulator.mode = "pending"
    await sign_in_as(client, ctx, login="youlin-owner")
    token = csrf_of((await client.get(f"/brands/{demo.brand_id}/console/withdrawals")).text)
    await client.post(f"/brands/{demo.brand_id}/console/withdrawals/{asked}/approve", data={"csrf_token": token})
    await run_until_idle(ctx)
    waiting = text_of((await client.get(f"/brands/{demo.brand_id}/console/withdrawals", params={"status": "approved"})).text)
    assert "打款中" in waiting and "渠道状态 PENDING" in waiting and "等待打款渠道确认到账" in waiting
    try:
        await complete(ctx=ctx, out_detail_no=f"LLWD{asked:010d}", outcome="paid")
    finally:
        await simulator.drain()
    assert (await withdrawal(ctx, asked)).status == "paid"
    paid = text_of((await client.get(f"/brands/{demo.brand_id}/console/withdrawals", params={"status": "paid"})).text)
    assert "已到账" in paid and "到账 2026年" in paid and "等待打款渠道确认到账" not in paid
