"""The console's 售后 over HTTP, on the demo: who may open the queue and a claim, the queue by state with photos
and the member masked, each decision and what it writes (claim, history, refund), refusals beside their field,
CSRF, and a double submit that decides once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from linli.aftersales.models import Claim, ClaimStatusChange
from linli.payments.models import Refund
from tests.aftersales.setup import snapshot
from tests.web.conftest import csrf_of
from tests.web.test_claim_pages import MEMBER_PHONE, filed_claim, picked_up_order, sign_in_who
from tests.web.test_workbench_pages import text_of
from tests.web.workbench_scene import load, sign_in_as


async def claim_and_refunds(ctx, claim_id: int) -> tuple[Claim, list[Refund], int]:
    async with ctx.db.read() as s:
        claim = await s.get(Claim, claim_id)
        refunds = list(await s.scalars(select(Refund).where(Refund.order_id == claim.order_id)))
        changes = await s.scalar(select(func.count()).where(ClaimStatusChange.claim_id == claim_id))
    return claim, refunds, int(changes or 0)


async def staff_claim(client, ctx):
    """The brand's owner signed in, one claim of ¥40 waiting; (brand id, claim id, photo id, the claim page)."""
    demo = await load(ctx)
    claim_id, photo_id = await filed_claim(ctx, await picked_up_order(ctx, demo))
    await sign_in_as(client, ctx, login="youlin-owner")
    page = await client.get(f"/brands/{demo.brand_id}/console/claims/{claim_id}")
    assert page.status_code == 200
    return demo.brand_id, claim_id, photo_id, page


async def decide(client, brand_id: int, claim_id: int, page, **fields):
    data = {"csrf_token": csrf_of(page.text), "decision": "approve", "amount": "", "reason": ""} | fields
    return await client.post(f"/brands/{brand_id}/console/claims/{claim_id}/decision", data=data)


@pytest.mark.parametrize("who", ["anonymous", "member", "xiaoli", "wangjie", "other-brand-staff", "staff"])
async def test_who_may_open_the_queue_and_a_claim(client, ctx, world, who):
    demo = await load(ctx)
    claim_id, photo_id = await filed_claim(ctx, await picked_up_order(ctx, demo))
    await sign_in_who(client, ctx, world, who)
    queue = await client.get(f"/brands/{demo.brand_id}/console/claims")
    one = await client.get(f"/brands/{demo.brand_id}/console/claims/{claim_id}")
    if who == "anonymous":
        assert queue.status_code == one.status_code == 303
        assert queue.headers["location"] == f"/signin?next=/brands/{demo.brand_id}/console/claims"
        return
    if who != "staff":
        for page in (queue, one):
            assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
            assert "仅限本品牌员工操作" in text_of(page.text)
        return
    assert queue.status_code == one.status_code == 200
    listed = text_of(queue.text)
    masked = MEMBER_PHONE[:3] + "****" + MEMBER_PHONE[-4:]
    assert f"售后单 {claim_id}" in listed and masked in listed and MEMBER_PHONE not in listed
    assert "申请 ¥40.00" in listed and "坏果/破损" in listed and "爱媛果冻橙" in listed
    photo_url = f"/claims/{claim_id}/photos/{photo_id}"
    assert f'<a href="{photo_url}"' in queue.text and f'<img src="{photo_url}"' in queue.text
    assert 'aria-current="page">售后</a>' in queue.text and 'class="desk"' in queue.text
    assert (await client.get(photo_url)).status_code == 200


async def test_the_queue_filters_by_state_and_an_unknown_claim_is_404(client, ctx):
    brand_id, claim_id, _, page = await staff_claim(client, ctx)
    assert (await decide(client, brand_id, claim_id, page, decision="reject", reason="照片看不出问题")).status_code == 303
    waiting = await client.get(f"/brands/{brand_id}/console/claims")
    rejected = await client.get(f"/brands/{brand_id}/console/claims?status=rejected")
    everything = await client.get(f"/brands/{brand_id}/console/claims?status=all")
    assert f'data-testid="claim-{claim_id}"' not in waiting.text and "没有售后单" in waiting.text
    assert f'data-testid="claim-{claim_id}"' in rejected.text and f'data-testid="claim-{claim_id}"' in everything.text
    bad = await client.get(f"/brands/{brand_id}/console/claims?status=nonsense")
    assert bad.status_code == 422 and "售后状态无效" in text_of(bad.text)
    missing = await client.get(f"/brands/{brand_id}/console/claims/999999")
    assert missing.status_code == 404 and "售后单不存在" in text_of(missing.text)


async def test_approve_refunds_the_amount_asked_and_a_double_submit_decides_once(client, ctx):
    brand_id, claim_id, _, page = await staff_claim(client, ctx)
    first = await decide(client, brand_id, claim_id, page)
    second = await decide(client, brand_id, claim_id, page)
    assert first.status_code == 303 and first.headers["location"] == f"/brands/{brand_id}/console/claims/{claim_id}?decided=true"
    assert second.status_code == 409 and 'data-error-for="decision">该售后申请已处理</p>' in second.text
    claim, refunds, changes = await claim_and_refunds(ctx, claim_id)
    assert (claim.status, claim.decision, claim.approved_fen) == ("refunding", "approved", 4000)
    assert [(r.amount_fen, r.status) for r in refunds] == [(4000, "pending")] and changes == 2
    shown = text_of((await client.get(first.headers["location"])).text)
    assert "已处理：同意" in shown and "退款 ¥40.00 已发起" in shown and 'data-testid="decision-form"' not in shown


async def test_partly_approve_an_amount_in_yuan_with_a_reason(client, ctx):
    brand_id, claim_id, _, page = await staff_claim(client, ctx)
    done = await decide(client, brand_id, claim_id, page, decision="partial", amount="25.5", reason="只坏了一半")
    assert done.status_code == 303
    claim, refunds, _ = await claim_and_refunds(ctx, claim_id)
    assert (claim.status, claim.decision, claim.approved_fen, claim.decision_reason) == ("refunding", "partial", 2550, "只坏了一半")
    assert [r.amount_fen for r in refunds] == [2550]
    await sign_in_as(client, ctx, phone=MEMBER_PHONE)  # the member reads the decision on the claim's page
    mine = text_of((await client.get(f"/claims/{claim_id}")).text)
    assert "部分同意" in mine and "同意退款 ¥25.50" in mine and "只坏了一半" in mine


async def test_reject_with_a_reason_refunds_nothing(client, ctx):
    brand_id, claim_id, _, page = await staff_claim(client, ctx)
    assert (await decide(client, brand_id, claim_id, page, decision="reject", reason="超出质保范围")).status_code == 303
    claim, refunds, _ = await claim_and_refunds(ctx, claim_id)
    assert (claim.status, claim.decision, claim.approved_fen, claim.decision_reason) == ("rejected", "rejected", 0, "超出质保范围")
    assert refunds == []


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"decision": "reject"}, "reason", "部分同意或驳回须填写原因"),
        ({"decision": "partial", "amount": "20"}, "reason", "部分同意或驳回须填写原因"),
        ({"decision": "partial", "amount": "40.01", "reason": "多了"}, "amount", "同意金额不能超过申请金额"),
        ({"decision": "partial", "amount": "二十", "reason": "看不懂"}, "amount", "请输入同意退款金额（元），最多两位小数"),
        ({"decision": "refund-twice"}, "decision", "处理结果须为 approve、partial 或 reject"),
    ],
)
async def test_a_refused_decision_is_told_beside_its_field_and_changes_nothing(client, ctx, fields, field, message):
    brand_id, claim_id, _, page = await staff_claim(client, ctx)
    before = await snapshot(ctx)
    refused = await decide(client, brand_id, claim_id, page, **fields)
    assert refused.status_code == 422 and f'data-error-for="{field}">{message}</p>' in refused.text
    if fields.get("reason"):
        assert f'value="{fields["reason"]}"' in refused.text  # what was typed is kept
    assert await snapshot(ctx) == before


@pytest.mark.parametrize("who", ["csrf-missing", "csrf-forged", "other-brand-staff", "xiaoli"])
async def test_only_the_brands_staff_decide_and_only_with_the_token(client, ctx, world, who):
    brand_id, claim_id, _, page = await staff_claim(client, ctx)
    if who not in ("csrf-missing", "csrf-forged"):  # signed in first: making the actor may emit (leader.approved)
        await sign_in_who(client, ctx, world, who)
    before = await snapshot(ctx)
    if who == "csrf-missing":
        refused = await client.post(f"/brands/{brand_id}/console/claims/{claim_id}/decision", data={"decision": "approve"})
    elif who == "csrf-forged":
        refused = await client.post(f"/brands/{brand_id}/console/claims/{claim_id}/decision",
                                    data={"decision": "approve", "csrf_token": "forged"})
    else:
        mine = await client.get("/me")
        refused = await decide(client, brand_id, claim_id, mine)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert await snapshot(ctx) == before
