"""The after-sales pages of members and leaders over HTTP, on the demo: who may open the claim form, a claim and
its photos; filing with photos (multipart, the API's limits, refusals beside the field with nothing written, a
double submit files once, CSRF); 小李 filing for a neighbour from the workbench, 王姐 refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from linli.accounts import service as accounts
from linli.aftersales import photos as photo_rules
from linli.aftersales import service
from linli.aftersales.models import Claim
from linli.fulfillment import pickup
from linli.fulfillment.models import Parcel
from linli.members.models import Member
from linli.web.visitor import SESSION_COOKIE
from tests.aftersales.setup import media_files, snapshot
from tests.web.conftest import csrf_of
from tests.web.test_workbench_pages import hidden, other_brand_leader, text_of
from tests.web.workbench_scene import WANGJIE_PHONE, XIAOLI_PHONE, Demo, load, sign_in_as

MEMBER_PHONE = "13900000005"  # a neighbour of 小李 whose 爱媛果冻橙 (¥49.90) has reached the pickup point
OTHER_MEMBER_PHONE = "13900000006"
NO_FILE = ("", b"", "application/octet-stream")  # what a browser sends for a file input left empty


def png(color: str = "red", size: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, format="PNG")
    return out.getvalue()


async def send_form(client, path: str, data: dict[str, str], photos: list[tuple[str, bytes, str]]):
    """Posts as a browser does: multipart, every chosen photo under `photos`, and the other file input, left
    empty, as a part with filename="" (which httpx cannot write itself)."""
    boundary = "linli-test-boundary-7d1f"
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in data.items()
    ]
    for filename, content, content_type in [*photos, NO_FILE]:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="{filename}"\r\n'
        chunks.append(f"{head}Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return await client.post(
        path, content=b"".join(chunks), headers={"content-type": f"multipart/form-data; boundary={boundary}"}
    )


async def user_id(ctx, phone: str) -> int:
    async with ctx.db.read() as s:
        user = await accounts.find_user_by_phone(session=s, phone=phone)
    assert user is not None
    return user.id


async def picked_up_order(ctx, demo: Demo, phone: str = MEMBER_PHONE) -> int:
    """The neighbour's arrived order, handed over by 小李 (核销): a claim on it is within the window now."""
    member_user = await user_id(ctx, phone)
    async with ctx.db.read() as s:
        parcel = await s.scalar(
            select(Parcel).join(Member, Member.id == Parcel.member_id)
            .where(Member.user_id == member_user, Parcel.brand_id == demo.brand_id, Parcel.status == "arrived")
            .order_by(Parcel.id)
        )
    assert parcel is not None
    async with ctx.db.transaction() as s:
        await pickup.verify_pickup(
            session=s, brand_id=demo.brand_id, user_id=await user_id(ctx, XIAOLI_PHONE), raw_code=parcel.pickup_code,
            all_of_member=False, now=ctx.clock.now(),
        )
    return parcel.order_id


async def filed_claim(ctx, order_id: int, *, phone: str = MEMBER_PHONE, amount_fen: int = 4000) -> tuple[int, int]:
    """(claim id, photo id): a claim waiting for the brand (above the instant-refund amount), with one photo."""
    async with ctx.db.transaction() as s:
        filed = await service.file_claim(
            session=s, storage=ctx.storage, user_id=await user_id(ctx, phone), order_id=order_id, reason="bad",
            quantity=1, amount_fen=amount_fen, description="橙子压坏了", photos=photo_rules.check_photos([png()]),
            idempotency_key="test-claim-1", now=ctx.clock.now(),
        )
        photos = await service.photos_of(session=s, claim_ids={filed.claim.id})
    return filed.claim.id, photos[filed.claim.id][0].id


async def sign_in_who(client, ctx, world, who: str) -> None:
    if who == "member":
        await sign_in_as(client, ctx, phone=MEMBER_PHONE)
    elif who == "other-member":
        await sign_in_as(client, ctx, phone=OTHER_MEMBER_PHONE)
    elif who == "xiaoli":
        await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    elif who == "wangjie":
        await sign_in_as(client, ctx, phone=WANGJIE_PHONE)
    elif who == "staff":
        await sign_in_as(client, ctx, login="youlin-owner")
    elif who == "other-brand-staff":
        other, _ = await other_brand_leader(world)
        client.cookies.set(SESSION_COOKIE, (await world.staff(other)).token)


async def post_claim(client, order_id: int, *, fields: dict | None = None, files: list | None = None,
                     token: str | None = None, key: str | None = None):
    form = await client.get(f"/orders/{order_id}/claims/new")
    assert form.status_code == 200, form.text
    data = {
        "csrf_token": csrf_of(form.text) if token is None else token,
        "idempotency_key": key or hidden(form.text, "idempotency_key"),
        "reason": "bad", "quantity": "1", "amount": "40", "description": "橙子压坏了两个",
    } | (fields or {})
    photos = files if files is not None else [("gallery.png", png(), "image/png")]
    return await send_form(client, f"/orders/{order_id}/claims", data, photos)


async def claims_of(ctx, order_id: int) -> list[Claim]:
    async with ctx.db.read() as s:
        return list(await s.scalars(select(Claim).where(Claim.order_id == order_id).order_by(Claim.id)))


async def test_the_order_page_leads_to_the_claim_form(client, ctx):
    demo = await load(ctx)
    order_id = await picked_up_order(ctx, demo)
    await sign_in_as(client, ctx, phone=MEMBER_PHONE)
    order = await client.get(f"/orders/{order_id}")
    assert order.status_code == 200 and f'href="/orders/{order_id}/claims/new"' in order.text and "申请售后" in order.text
    form = await client.get(f"/orders/{order_id}/claims/new")
    page = text_of(form.text)
    assert "爱媛果冻橙" in page and "最多可申请退款 ¥49.90" in page
    assert 'accept="image/*" capture="environment"' in form.text and 'accept="image/*" multiple' in form.text
    assert 'enctype="multipart/form-data"' in form.text


@pytest.mark.parametrize(
    ("who", "form", "claim"),
    [("anonymous", 303, 303), ("member", 200, 200), ("other-member", 404, 404), ("xiaoli", 200, 200),
     ("wangjie", 404, 404), ("staff", 403, 200), ("other-brand-staff", 404, 404)],
)
async def test_who_may_open_the_form_the_claim_and_its_photo(client, ctx, world, who, form, claim):
    demo = await load(ctx)
    order_id = await picked_up_order(ctx, demo)
    claim_id, photo_id = await filed_claim(ctx, order_id)
    await sign_in_who(client, ctx, world, who)
    pages = {
        "form": await client.get(f"/orders/{order_id}/claims/new"),
        "claim": await client.get(f"/claims/{claim_id}"),
        "photo": await client.get(f"/claims/{claim_id}/photos/{photo_id}"),
    }
    assert [pages["form"].status_code, pages["claim"].status_code, pages["photo"].status_code] == [form, claim, claim]
    if who == "anonymous":
        assert pages["claim"].headers["location"] == f"/signin?next=/claims/{claim_id}"
        assert pages["photo"].headers["location"] == f"/signin?next=/claims/{claim_id}/photos/{photo_id}"
        return
    for response in pages.values():
        if response.status_code in (403, 404):
            assert response.headers["content-type"].startswith("text/html")
    if form == 403:
        assert "售后申请由用户本人或其自提点团长提交" in text_of(pages["form"].text)
    if claim == 404:
        assert "售后单不存在" in text_of(pages["claim"].text)
        return
    assert pages["photo"].headers["content-type"] == "image/png" and pages["photo"].content == png()
    page = text_of(pages["claim"].text)
    assert "待审核" in page and "申请 ¥40.00" in page and f'src="/claims/{claim_id}/photos/{photo_id}"' in pages["claim"].text
    masked = MEMBER_PHONE[:3] + "****" + MEMBER_PHONE[-4:]
    assert MEMBER_PHONE not in page
    assert (masked in page) == (who != "member")  # the member reads no member fields; others the phone masked


async def test_unknown_claim_and_photo_are_the_404_page(client, ctx):
    demo = await load(ctx)
    claim_id, _ = await filed_claim(ctx, await picked_up_order(ctx, demo))
    await sign_in_as(client, ctx, phone=MEMBER_PHONE)
    for path in ("/claims/999999", f"/claims/{claim_id}/photos/999999", "/orders/999999/claims/new"):
        missing = await client.get(path)
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html"), path


async def test_a_member_files_a_claim_with_photos_and_a_double_submit_files_once(client, ctx):
    demo = await load(ctx)
    order_id = await picked_up_order(ctx, demo)
    await sign_in_as(client, ctx, phone=MEMBER_PHONE)
    form = await client.get(f"/orders/{order_id}/claims/new")
    key, token = hidden(form.text, "idempotency_key"), csrf_of(form.text)
    camera, gallery = ("camera.jpg", png("blue"), "image/jpeg"), ("gallery.png", png("green"), "image/png")
    first = await post_claim(client, order_id, files=[camera, gallery], key=key, token=token)
    again = await post_claim(client, order_id, files=[camera, gallery], key=key, token=token)
    assert first.status_code == again.status_code == 303 and first.headers["location"] == again.headers["location"]
    [claim] = await claims_of(ctx, order_id)
    assert (claim.status, claim.reason, claim.quantity, claim.amount_asked_fen) == ("reviewing", "bad", 1, 4000)
    assert (claim.filed_by_role, claim.description) == ("member", "橙子压坏了两个")
    assert first.headers["location"] == f"/claims/{claim.id}"
    assert len(media_files(ctx)) == 2  # both photos (the declared type is ignored: each sniffed as PNG)
    shown = await client.get(first.headers["location"])
    assert shown.text.count('data-testid="claim-photo"') == 2 and "待审核" in text_of(shown.text)


async def test_a_small_claim_is_refunded_at_once(client, ctx):
    demo = await load(ctx)
    order_id = await picked_up_order(ctx, demo)
    await sign_in_as(client, ctx, phone=MEMBER_PHONE)
    filed = await post_claim(client, order_id, fields={"amount": "10.5"})
    assert filed.status_code == 303
    [claim] = await claims_of(ctx, order_id)
    assert (claim.status, claim.decision, claim.approved_fen) == ("refunding", "instant", 1050)
    page = text_of((await client.get(filed.headers["location"])).text)
    assert "退款中" in page and "极速退款" in page and "同意退款 ¥10.50" in page


BIG = b"\x89PNG\r\n\x1a\n" + b"\x00" * photo_rules.MAX_PHOTO_BYTES


@pytest.mark.parametrize(
    ("files", "status", "message"),
    [
        ([(f"p{i}.png", png(size=4 + i), "image/png") for i in range(7)], 422, "最多上传 6 张图片"),
        ([("big.png", BIG, "image/png")], 413, "单张图片不能超过 5 MB"),
        ([("notes.png", b"not an image at all", "image/png")], 422, "只能上传 JPG、PNG 或 WebP 图片"),
        ([], 422, "坏果、破损或发错货请至少上传一张照片"),
    ],
)
async def test_photos_over_the_limits_are_refused_beside_the_field_and_nothing_is_written(
    client, ctx, files, status, message
):
    demo = await load(ctx)
    order_id = await picked_up_order(ctx, demo)
    await sign_in_as(client, ctx, phone=MEMBER_PHONE)
    before = await snapshot(ctx)
    refused = await post_claim(client, order_id, files=files, fields={"amount": "41.20", "description": "压坏了"})
    assert refused.status_code == status and refused.headers["content-type"].startswith("text/html")
    assert f'data-error-for="photos">{message}</p>' in refused.text
    assert 'value="41.20"' in refused.text and ">压坏了</textarea>" in refused.text  # what was typed is kept
    assert await snapshot(ctx) == before and media_files(ctx) == []


@pytest.mark.parametrize(
    ("fields", "field", "status", "message"),
    [
        ({"amount": "50"}, "amount", 422, "申请金额超过可退金额"),
        ({"amount": "abc"}, "amount", 422, "请输入申请金额（元），最多两位小数"),
        ({"quantity": "2"}, "quantity", 422, "售后数量不能超过购买数量"),
        ({"description": "长" * 501}, "description", 422, "问题描述不能超过 500 字"),
    ],
)
async def test_a_refused_claim_is_told_beside_its_field(client, ctx, fields, field, status, message):
    demo = await load(ctx)
    order_id = await picked_up_order(ctx, demo)
    await sign_in_as(client, ctx, phone=MEMBER_PHONE)
    before = await snapshot(ctx)
    refused = await post_claim(client, order_id, fields=fields)
    assert refused.status_code == status
    assert f'data-error-for="{field}">{message}</p>' in refused.text
    assert "请重新选择照片" in refused.text
    assert await snapshot(ctx) == before


async def test_a_second_open_claim_and_a_claim_before_pickup_are_refused(client, ctx):
    demo = await load(ctx)
    order_id = await picked_up_order(ctx, demo)
    await filed_claim(ctx, order_id)
    await sign_in_as(client, ctx, phone=MEMBER_PHONE)
    second = await post_claim(client, order_id)
    assert second.status_code == 409 and "该订单已有处理中的售后申请" in text_of(second.text)
    await sign_in_as(client, ctx, phone="13900000007")  # oranges arrived, not yet picked up
    async with ctx.db.read() as s:
        waiting = await s.scalar(
            select(Parcel.order_id).join(Member, Member.id == Parcel.member_id)
            .where(Member.user_id == await user_id(ctx, "13900000007"), Parcel.status == "arrived")
        )
    early = await post_claim(client, waiting)
    assert early.status_code == 409 and "订单提货后才能申请售后" in text_of(early.text)
    assert len(await claims_of(ctx, waiting)) == 0


@pytest.mark.parametrize("token", ["", "forged-token"])
async def test_filing_needs_the_pages_csrf_token(client, ctx, token):
    demo = await load(ctx)
    order_id = await picked_up_order(ctx, demo)
    await sign_in_as(client, ctx, phone=MEMBER_PHONE)
    before = await snapshot(ctx)
    refused = await post_claim(client, order_id, token=token)
    assert refused.status_code == 403 and "页面已过期或来源不明" in text_of(refused.text)
    assert await snapshot(ctx) == before


@pytest.mark.parametrize(("who", "status"), [("anonymous", 303), ("xiaoli", 200), ("wangjie", 200), ("member", 403),
                                             ("staff", 403), ("other-brand-staff", 403)])
async def test_who_may_open_the_leaders_claims(client, ctx, world, who, status):
    demo = await load(ctx)
    claim_id, _ = await filed_claim(ctx, await picked_up_order(ctx, demo))
    await sign_in_who(client, ctx, world, who)
    page = await client.get(f"/brands/{demo.brand_id}/leader/claims")
    assert page.status_code == status
    if status == 403:
        assert "仅限本品牌在任团长操作" in text_of(page.text)
    if status == 200:  # 小李 sees the claim of his point (masked); 王姐 not
        shown = text_of(page.text)
        assert (f'href="/claims/{claim_id}"' in page.text) == (who == "xiaoli")
        assert MEMBER_PHONE not in shown and 'aria-current="page">售后</a>' in page.text


async def test_xiaoli_files_for_a_neighbour_and_wangjie_may_not(client, ctx):
    demo = await load(ctx)
    order_id = await picked_up_order(ctx, demo)
    await sign_in_as(client, ctx, phone=WANGJIE_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/claims")
    before = await snapshot(ctx)
    data = {"csrf_token": csrf_of(page.text), "idempotency_key": hidden(page.text, "idempotency_key"),
            "order_id": str(order_id), "reason": "missing", "quantity": "1", "amount": "45", "description": "少了一袋"}
    refused = await send_form(client, f"/brands/{demo.brand_id}/leader/claims", data, [])
    assert refused.status_code == 404 and 'data-error-for="order_id">订单不存在</p>' in refused.text
    assert 'value="45"' in refused.text and await snapshot(ctx) == before

    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/claims")
    assert f'<option value="{order_id}"' in page.text and MEMBER_PHONE[:3] + "****" + MEMBER_PHONE[-4:] in page.text
    data |= {"csrf_token": csrf_of(page.text), "idempotency_key": hidden(page.text, "idempotency_key")}
    filed = await send_form(client, f"/brands/{demo.brand_id}/leader/claims", data, [("box.png", png(), "image/png")])
    assert filed.status_code == 303
    [claim] = await claims_of(ctx, order_id)
    assert (claim.filed_by_role, claim.reason, claim.amount_asked_fen, claim.status) == ("leader", "missing", 4500, "reviewing")
    assert filed.headers["location"] == f"/brands/{demo.brand_id}/leader/claims?filed={claim.id}"
    done = text_of((await client.get(filed.headers["location"])).text)
    assert "已代邻居提交售后申请" in done and "团长代提交" in done


async def test_the_leader_form_wants_an_order_and_the_csrf_token(client, ctx):
    demo = await load(ctx)
    await picked_up_order(ctx, demo)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/claims")
    data = {"csrf_token": csrf_of(page.text), "idempotency_key": hidden(page.text, "idempotency_key"),
            "order_id": "", "reason": "other", "quantity": "1", "amount": "45"}
    before = await snapshot(ctx)
    unchosen = await send_form(client, f"/brands/{demo.brand_id}/leader/claims", data, [])
    assert unchosen.status_code == 422 and 'data-error-for="order_id">请选择邻居的订单</p>' in unchosen.text
    forged = await send_form(client, f"/brands/{demo.brand_id}/leader/claims", data | {"csrf_token": "x"}, [])
    assert forged.status_code == 403
    assert await snapshot(ctx) == before
