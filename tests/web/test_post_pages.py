"""The UGC pages over HTTP on the demo: 邻里动态 for members (the feed of their own community only, masked names,
photos through the checked route, posting with photos — oversized 413, not a picture 422, beside the field), the
leader's 邻里动态, and the console's 动态审核 (who may, approve, hide with a reason, feature once, refusals shown)."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from linli.community.models import Post, PostPhoto
from linli.coupons.models import Coupon
from linli.demo.posts import APPROVED_TITLE, PENDING_TITLE, REWARD_COUPON
from linli.images import MAX_PHOTO_BYTES
from tests.web.conftest import csrf_of
from tests.web.test_console_catalog_pages import WHO_MAY_NOT, assert_refused, error_for, token_for
from tests.web.test_workbench_pages import text_of
from tests.web.workbench_scene import WANGJIE_PHONE, XIAOLI_PHONE, become, load, sign_in_as

NEIGHBOUR = "13900000001"  # 小李's, of 云顶华府
AUTHOR = "13900000005"  # 黄姐, whose 晒单 waits for moderation
FAR = "13900000016"  # 王姐's, of another community
UNBOUND = "13900000030"


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(out, format="JPEG")
    return out.getvalue()


async def post_id_of(ctx, title: str) -> int:  # noqa: ANN001
    async with ctx.db.read() as s:
        return await s.scalar(select(Post.id).where(Post.title == title))


async def photo_url(ctx, title: str) -> str:  # noqa: ANN001
    post_id = await post_id_of(ctx, title)
    async with ctx.db.read() as s:
        photo_id = await s.scalar(select(PostPhoto.id).where(PostPhoto.post_id == post_id).order_by(PostPhoto.id))
    return f"/posts/{post_id}/photos/{photo_id}"


async def state(ctx, title: str) -> tuple:  # noqa: ANN001
    async with ctx.db.read() as s:
        post = await s.scalar(select(Post).where(Post.title == title))
        coupons = await s.scalar(select(func.count()).select_from(Coupon).where(Coupon.source == "ugc"))
    return post.status, post.featured_at is not None, post.hide_reason, coupons


async def test_a_neighbour_reads_their_communitys_feed_with_masked_names_and_checked_photos(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=NEIGHBOUR)
    page = await client.get("/me/posts")
    text = text_of(page.text)
    assert page.status_code == 200 and APPROVED_TITLE in text and PENDING_TITLE not in text
    assert "杨*" in text and "杨哥" not in text  # the author, masked
    url = await photo_url(ctx, APPROVED_TITLE)
    assert url in page.text
    picture = await client.get(url)
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    assert (await client.get(await photo_url(ctx, PENDING_TITLE))).status_code == 404  # not approved yet
    for phone in (FAR, UNBOUND):
        await sign_in_as(client, ctx, phone=phone)
        page = await client.get("/me/posts")
        assert page.status_code == 200 and APPROVED_TITLE not in text_of(page.text)
        assert (await client.get(url)).status_code == 404
    assert "还没有绑定团长" in text_of((await client.get(f"/me/posts?brand_id={demo.brand_id}")).text)


async def test_the_author_sees_the_own_pending_post_and_posts_another_with_refusals_beside_the_photos(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=AUTHOR)
    page = await client.get("/me/posts")
    assert PENDING_TITLE in text_of(page.text) and "待审核" in text_of(page.text)
    assert (await client.get(await photo_url(ctx, PENDING_TITLE))).status_code == 200  # own photo
    token = csrf_of(page.text)
    fields = {"csrf_token": token, "brand_id": str(demo.brand_id), "kind": "recipe", "title": "草莓奶昔",
              "body": "草莓加牛奶打匀。"}
    before = await post_id_of(ctx, "草莓奶昔")
    big = await client.post("/me/posts", data=fields,
                            files=[("photos", ("big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * MAX_PHOTO_BYTES, "image/png"))])
    assert big.status_code == 413 and "5 MB" in error_for(big.text, "photos")
    fake = await client.post("/me/posts", data=fields, files=[("photos", ("a.jpg", b"not a picture", "image/jpeg"))])
    assert fake.status_code == 422 and "JPG" in error_for(fake.text, "photos")
    none = await client.post("/me/posts", data=fields)
    assert none.status_code == 422 and error_for(none.text, "photos")
    assert before is None and await post_id_of(ctx, "草莓奶昔") is None
    made = await client.post("/me/posts", data=fields, files=[("photos", ("a.jpg", jpeg(), "image/jpeg"))])
    assert made.status_code == 303 and made.headers["location"].endswith("done=posted")
    assert await post_id_of(ctx, "草莓奶昔") is not None


async def test_the_leader_reads_the_own_communitys_feed_on_the_workbench(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, phone=XIAOLI_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/feed")
    assert page.status_code == 200 and APPROVED_TITLE in text_of(page.text) and PENDING_TITLE not in text_of(page.text)
    assert (await client.get(await photo_url(ctx, APPROVED_TITLE))).status_code == 200
    await sign_in_as(client, ctx, phone=WANGJIE_PHONE)
    page = await client.get(f"/brands/{demo.brand_id}/leader/feed")
    assert page.status_code == 200 and APPROVED_TITLE not in text_of(page.text)
    assert (await client.get(await photo_url(ctx, APPROVED_TITLE))).status_code == 404
    await sign_in_as(client, ctx, phone=NEIGHBOUR)
    assert (await client.get(f"/brands/{demo.brand_id}/leader/feed")).status_code == 403


@pytest.mark.parametrize("who", WHO_MAY_NOT)
async def test_only_the_brands_staff_open_and_post_the_moderation_page(client, ctx, world, who):
    demo = await load(ctx)
    await become(client, ctx, world, who)
    path = f"/brands/{demo.brand_id}/console/posts"
    assert_refused(await client.get(path), who, path)
    pending = await post_id_of(ctx, PENDING_TITLE)
    before = await state(ctx, PENDING_TITLE)
    token = await token_for(client, who)
    for rest, data in (("/approve", {}), ("/hide", {"reason": "x"}), ("/feature", {})):
        refused = await client.post(f"{path}/{pending}{rest}", data={"csrf_token": token, **data})
        assert_refused(refused, who, path)
    assert_refused(await client.post(f"{path}/reward", data={"csrf_token": token, "template_id": ""}), who, path)
    assert await state(ctx, PENDING_TITLE) == before


async def test_staff_approve_feature_once_and_hide_with_a_reason_refusals_shown_on_the_card(client, ctx):
    demo = await load(ctx)
    await sign_in_as(client, ctx, login=None)
    path = f"/brands/{demo.brand_id}/console/posts"
    page = await client.get(path)
    text = text_of(page.text)
    assert page.status_code == 200 and text.index(PENDING_TITLE) < text.index(APPROVED_TITLE)  # pending first
    assert "黄姐" in text and REWARD_COUPON in page.text and "云顶华府" in text
    token = csrf_of(page.text)
    pending = await post_id_of(ctx, PENDING_TITLE)
    early = await client.post(f"{path}/{pending}/feature", data={"csrf_token": token})
    assert early.status_code == 409 and "已通过" in text_of(early.text)
    assert await state(ctx, PENDING_TITLE) == ("pending", False, None, 0)
    approved = await client.post(f"{path}/{pending}/approve", data={"csrf_token": token})
    assert approved.status_code == 303
    for _ in range(2):  # a double click
        assert (await client.post(f"{path}/{pending}/feature", data={"csrf_token": token})).status_code == 303
    assert await state(ctx, PENDING_TITLE) == ("approved", True, None, 1)
    shares = text_of((await client.get(path)).text)
    assert re.search(r"云顶华府\s*2 / 2\s*100%", shares), shares
    other = await post_id_of(ctx, APPROVED_TITLE)
    empty = await client.post(f"{path}/{other}/hide", data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 422 and "隐藏原因" in text_of(empty.text)
    hidden = await client.post(f"{path}/{other}/hide", data={"csrf_token": token, "reason": "图片不清楚"})
    assert hidden.status_code == 303
    assert (await state(ctx, APPROVED_TITLE))[:3] == ("hidden", False, "图片不清楚")
    await sign_in_as(client, ctx, phone=AUTHOR)
    coupons = await client.get(f"/me/coupons?brand_id={demo.brand_id}")
    assert REWARD_COUPON in text_of(coupons.text)
