"""The UGC routes: posting with photos (oversized 413, non-image 422), the feed and its photos (who may read them and
who gets 404), moderation and the featured reward through HTTP, and who may call each staff route."""

from __future__ import annotations

import asyncio

from linli.images import MAX_PHOTO_BYTES
from tests.community.ugc_setup import build_ugc_stage, jpeg, png


def upload(*pictures: bytes) -> list:
    return [("photos", (f"p{i}.png", data, "image/png")) for i, data in enumerate(pictures)]


async def post(client, us, actor, *, pictures=None, **fields):  # noqa: ANN001, ANN003, ANN201
    data = {"kind": "recipe", "title": "草莓酸奶碗", "body": "草莓切块，加酸奶和燕麦。", **fields}
    return await client.post(f"/api/v1/brands/{us.brand_id}/posts", data=data,
                             files=upload(*(pictures or [png(), jpeg()])), headers=actor.headers)


async def test_a_member_posts_staff_approve_and_feature_and_the_neighbours_read_it(client, world, ctx):
    us = await build_ugc_stage(world)
    base = f"/api/v1/brands/{us.brand_id}"
    made = await post(client, us, us.author)
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["status"], body["tag"], body["author"], len(body["photo_urls"])) == ("pending", "value", "小张", 2)
    feed = f"{base}/communities/{us.community_id}/feed"
    assert (await client.get(feed, headers=us.neighbour.headers)).json()["total"] == 0
    photo = body["photo_urls"][0]
    assert (await client.get(photo, headers=us.author.headers)).status_code == 200  # the author sees it pending
    assert (await client.get(photo, headers=us.neighbour.headers)).status_code == 404  # others not yet

    owner = us.cs.stage.owner.headers
    queue = await client.get(f"{base}/posts", headers=owner)
    assert [p["id"] for p in queue.json()["items"]] == [body["id"]] and queue.json()["items"][0]["author"] == "小张"
    approved = await client.post(f"{base}/posts/{body['id']}/approve", headers=owner)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    clicks = await asyncio.gather(*(client.post(f"{base}/posts/{body['id']}/feature", headers=owner) for _ in range(3)))
    assert [c.status_code for c in clicks] == [200, 200, 200]
    assert sorted(c.json()["changed"] for c in clicks) == [False, False, True]
    coupons = await client.get(f"/api/v1/brands/{us.brand_id}/coupons/mine", headers=us.author.headers)
    assert coupons.status_code == 200, coupons.text
    assert [c["template_id"] for c in coupons.json()["items"]] == [us.template_id]

    seen = (await client.get(feed, headers=us.neighbour.headers)).json()
    assert seen["total"] == 1 and seen["items"][0]["author"] == "小*" and seen["items"][0]["featured"] is True
    picture = await client.get(photo, headers=us.neighbour.headers)
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png" and picture.content == png()
    assert (await client.get(feed, headers=us.cs.stage.leader.actor.headers)).json()["total"] == 1  # the leader
    assert (await client.get(feed, headers=owner)).status_code == 200
    for outsider in (us.far, us.cs.other_brand_owner):  # another community's neighbour, another brand's staff
        assert (await client.get(feed, headers=outsider.headers)).status_code == 404
        assert (await client.get(photo, headers=outsider.headers)).status_code == 404
    assert (await client.get(feed)).status_code == 401
    mine = await client.get(f"{base}/posts/mine", headers=us.author.headers)
    assert [p["featured"] for p in mine.json()["items"]] == [True]


async def test_uploads_oversized_413_non_image_422_too_many_422_and_nothing_is_written(client, world, ctx):
    us = await build_ugc_stage(world)
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * MAX_PHOTO_BYTES
    answer = await post(client, us, us.author, pictures=[big])
    assert (answer.status_code, answer.json()["error"]["code"]) == (413, "photo_too_large")
    answer = await post(client, us, us.author, pictures=[b"%PDF-1.4 not a picture"])
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "photo_not_image")
    answer = await post(client, us, us.author, pictures=[b"\x89PNG\r\n\x1a\n" + b"\x22" * 100])  # PNG head, no image
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "photo_not_image")
    answer = await post(client, us, us.author, pictures=[png()] * 7)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "post_photos_count")
    answer = await client.post(f"/api/v1/brands/{us.brand_id}/posts", data={"kind": "recipe", "title": "t", "body": "b"},
                               headers=us.author.headers)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "post_photos_count")
    stranger = await world.user(name="路人")
    answer = await post(client, us, stranger)
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "post_no_community")
    assert "绑定团长" in answer.json()["error"]["message"]
    mine = await client.get(f"/api/v1/brands/{us.brand_id}/posts/mine", headers=us.author.headers)
    assert mine.json()["total"] == 0


async def test_only_the_brands_staff_moderate_and_each_refusal_changes_nothing(client, world, ctx):
    us = await build_ugc_stage(world)
    base = f"/api/v1/brands/{us.brand_id}"
    post_id = (await post(client, us, us.author)).json()["id"]
    staff_calls = [
        ("get", f"{base}/posts", None), ("post", f"{base}/posts/{post_id}/approve", None),
        ("post", f"{base}/posts/{post_id}/hide", {"reason": "不当内容"}), ("post", f"{base}/posts/{post_id}/feature", None),
        ("get", f"{base}/ugc/settings", None), ("put", f"{base}/ugc/settings", {"reward_template_id": None}),
        ("get", f"{base}/ugc/value-shares", None),
    ]
    for actor in (us.author, us.cs.stage.leader.actor, us.cs.other_brand_owner):
        for method, url, body in staff_calls:
            kwargs = {"json": body} if body is not None else {}
            answer = await client.request(method, url, headers=actor.headers, **kwargs)
            assert answer.status_code == 403, (method, url, answer.text)
    for method, url, body in staff_calls:
        assert (await client.request(method, url, **({"json": body} if body else {}))).status_code == 401
    owner = us.cs.stage.owner.headers
    refusals = [
        (f"{base}/posts/{post_id}/feature", None, 409, "post_not_approved"),
        (f"{base}/posts/{post_id}/hide", {"reason": ""}, 422, None),
        (f"{base}/posts/999999/approve", None, 404, "post_not_found"),
    ]
    for url, body, status, code in refusals:
        answer = await client.post(url, headers=owner, **({"json": body} if body is not None else {}))
        assert answer.status_code == status, answer.text
        if code:
            assert answer.json()["error"]["code"] == code
    other = f"/api/v1/brands/{us.cs.other_brand_id}/posts/{post_id}/approve"
    assert (await client.post(other, headers=us.cs.other_brand_owner.headers)).status_code == 404
    queue = (await client.get(f"{base}/posts", headers=owner)).json()["items"]
    assert [(p["status"], p["featured"]) for p in queue] == [("pending", False)]
    assert (await client.get(f"{base}/posts?status=bogus", headers=owner)).status_code == 422
    put = await client.put(f"{base}/ugc/settings", json={"reward_template_id": us.template_id}, headers=owner)
    assert put.json() == {"reward_template_id": us.template_id}
    assert (await client.get(f"{base}/ugc/settings", headers=owner)).json() == {"reward_template_id": us.template_id}


async def test_hidden_post_leaves_the_feed_and_value_shares_are_read_by_staff(client, world, ctx):
    us = await build_ugc_stage(world)
    base = f"/api/v1/brands/{us.brand_id}"
    owner = us.cs.stage.owner.headers
    first, second = [(await post(client, us, us.author, title=t)).json()["id"] for t in ("一", "二")]
    for post_id in (first, second):
        assert (await client.post(f"{base}/posts/{post_id}/approve", headers=owner)).status_code == 200
    hidden = await client.post(f"{base}/posts/{first}/hide", json={"reason": "与小区无关"}, headers=owner)
    assert (hidden.json()["status"], hidden.json()["hide_reason"]) == ("hidden", "与小区无关")
    feed = await client.get(f"{base}/communities/{us.community_id}/feed", headers=us.neighbour.headers)
    assert [p["id"] for p in feed.json()["items"]] == [second]
    shares = (await client.get(f"{base}/ugc/value-shares", headers=owner)).json()["items"]
    assert [(s["community_name"], s["value_posts"], s["approved_posts"], s["share_bp"]) for s in shares] == [
        ("云顶华府", 1, 1, 10_000)]
