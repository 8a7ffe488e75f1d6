"""The community and push routes: what each answers, and who may and may not call each one."""

from __future__ import annotations

from sqlalchemy import select

from linli.notifications.models import Push
from linli.worker import run_until_idle
from tests.community.conftest import JOIN_URL
from tests.factories import make_bound_member
from tests.ledger.helpers import buy
from tests.qr import scan


async def staff_makes_a_group(client, stage, **patch):  # noqa: ANN001, ANN003, ANN201
    made = await client.post(f"/api/v1/brands/{stage.brand_id}/community-groups", json={"community_id": stage.community_id},
                             headers=stage.owner.headers)
    assert made.status_code == 201, made.text
    if patch:
        changed = await client.patch(f"/api/v1/brands/{stage.brand_id}/community-groups/{made.json()['id']}", json=patch,
                                     headers=stage.owner.headers)
        assert changed.status_code == 200, changed.text
        return changed.json()
    return made.json()


async def test_staff_make_a_group_push_to_it_and_release_what_70_30_held(client, ctx, stage, robot):
    group = await staff_makes_a_group(client, stage, join_url=JOIN_URL, wecom_webhook_url=robot.url("yd"),
                                      commerce_ceiling_bp=5000, window_messages=4)
    assert (group["name"], group["join_url"], group["commerce_ceiling_bp"], group["window_messages"]) == (
        "云顶华府·优邻优选品质生活圈", JOIN_URL, 5000, 4)
    assert group["wecom_webhook"].endswith("?key=****yd") and "key=yd" not in str(group)
    base = f"/api/v1/brands/{stage.brand_id}"
    url = f"{base}/community-groups/{group['id']}/pushes"
    answers = [await client.post(url, json={"title": f"第{i}条", "body": "邻里食谱", "tag": tag, "dedupe_key": f"k{i}"},
                                 headers=stage.owner.headers) for i, tag in enumerate(["value", "commerce", "commerce"])]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert [a.json()["held"] for a in answers] == [False, False, True]  # 1/2 = 50% goes, 2/3 is over 50%
    held = answers[2].json()
    assert held["held_share_bp"] == 6666 and held["pushes"][0]["state"] == "held"
    replay = await client.post(url, json={"title": "x", "body": "y", "tag": "value", "dedupe_key": "k2"},
                               headers=stage.owner.headers)
    assert replay.json()["created"] is False and replay.json()["content_id"] == held["content_id"]
    await run_until_idle(ctx)
    listed = (await client.get(f"{base}/pushes", headers=stage.owner.headers)).json()
    # The group's two, and the campaign kit each of the stage's two leaders got for its live session.
    assert listed["counts"]["sent"] == 2 + 2 and listed["counts"]["held"] == 1
    [row] = (await client.get(f"{base}/pushes?state=held", headers=stage.owner.headers)).json()["items"]
    assert (row["state_text"], row["recipient"], row["group_id"], row["reason"]) == (
        "已暂扣", "群机器人", group["id"], "最近 3 条消息中商业内容将占 66.66%，超过上限 50%")
    push_id = held["pushes"][0]["id"]
    refused = await client.post(f"{base}/pushes/{push_id}/release", headers=stage.owner.headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "push_still_over_ceiling"
    await client.post(url, json={"title": "晒单", "body": "邻居的草莓蛋糕", "tag": "value"}, headers=stage.owner.headers)
    released = await client.post(f"{base}/pushes/{push_id}/release", headers=stage.owner.headers)
    assert released.status_code == 200 and released.json() == {"content_id": held["content_id"], "changed": 1}
    again = await client.post(f"{base}/pushes/{push_id}/discard", headers=stage.owner.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "push_not_held"
    await run_until_idle(ctx)
    async with ctx.db.read() as s:
        assert set(await s.scalars(select(Push.state))) == {"sent"}
    assert len(robot.of("yd")) == 4


async def test_bad_group_input_is_a_clear_422_and_changes_nothing(client, stage):
    group = await staff_makes_a_group(client, stage)
    url = f"/api/v1/brands/{stage.brand_id}/community-groups/{group['id']}"
    for body, code in [
        ({"join_url": "http://evil.example/join"}, "join_url_invalid"),
        ({"join_url": "javascript:alert(1)"}, "join_url_invalid"),
        ({"wecom_webhook_url": "https://example.com/hook"}, "webhook_url_invalid"),
        ({"commerce_ceiling_bp": 10_001}, "invalid_request"),
        ({"window_messages": 0}, "invalid_request"),
        ({"name": " "}, "group_name_invalid"),
    ]:
        answer = await client.patch(url, json=body, headers=stage.owner.headers)
        assert answer.status_code == 422 and answer.json()["error"]["code"] == code, (body, answer.text)
    assert (await client.get(url, headers=stage.owner.headers)).json() == group
    twice = await client.post(f"/api/v1/brands/{stage.brand_id}/community-groups", json={"community_id": stage.community_id},
                              headers=stage.owner.headers)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "community_group_exists"
    no_tag = await client.post(f"{url}/pushes", json={"title": "t", "body": "b"}, headers=stage.owner.headers)
    assert no_tag.status_code == 422


async def test_who_may_call_the_staff_routes(client, ctx, stage, world):
    group = await staff_makes_a_group(client, stage)
    member = await make_bound_member(world, stage.leader)
    other_staff = await world.staff(await world.brand(name="别家", slug="other-brand"))
    base = f"/api/v1/brands/{stage.brand_id}"
    calls = [
        ("GET", f"{base}/community-groups", None), ("POST", f"{base}/community-groups", {"community_id": stage.community_id}),
        ("GET", f"{base}/community-groups/{group['id']}", None),
        ("PATCH", f"{base}/community-groups/{group['id']}", {"name": "改名"}),
        ("POST", f"{base}/community-groups/{group['id']}/pushes", {"title": "t", "body": "b", "tag": "value"}),
        ("GET", f"{base}/pushes", None), ("GET", f"{base}/push-settings", None),
        ("PUT", f"{base}/push-settings", {"wecom_webhook_url": ""}),
        ("POST", f"{base}/pushes/1/release", None), ("POST", f"{base}/pushes/1/discard", None),
    ]
    for method, url, body in calls:
        assert (await client.request(method, url, json=body)).status_code == 401, url
        for who in (member, stage.leader.actor, other_staff):
            answer = await client.request(method, url, json=body, headers=who.headers)
            assert answer.status_code == 403 and answer.json()["error"]["code"] == "staff_only", (url, answer.text)
    other_group = await client.get(f"/api/v1/brands/{stage.brand_id + 1}/community-groups/{group['id']}",
                                   headers=stage.owner.headers)
    assert other_group.status_code in (403, 404)
    unknown = await client.post(f"{base}/pushes/999999/release", headers=stage.owner.headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "push_not_found"
    assert (await client.get(f"{base}/community-groups/999999", headers=stage.owner.headers)).status_code == 404


async def test_the_brand_robot_setting_is_masked_checked_and_staff_only(client, stage, robot):
    url = f"/api/v1/brands/{stage.brand_id}/push-settings"
    assert (await client.get(url, headers=stage.owner.headers)).json() == {"brand_id": stage.brand_id, "wecom_webhook": ""}
    bad = await client.put(url, json={"wecom_webhook_url": "http://10.0.0.1/hook"}, headers=stage.owner.headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "webhook_url_invalid"
    saved = await client.put(url, json={"wecom_webhook_url": robot.url("brand1234")}, headers=stage.owner.headers)
    assert saved.json()["wecom_webhook"].endswith("key=****1234")
    group = await staff_makes_a_group(client, stage)
    clash = await client.patch(f"/api/v1/brands/{stage.brand_id}/community-groups/{group['id']}",
                               json={"wecom_webhook_url": robot.url("brand1234")}, headers=stage.owner.headers)
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "webhook_in_use"
    removed = await client.put(url, json={"wecom_webhook_url": ""}, headers=stage.owner.headers)
    assert removed.json()["wecom_webhook"] == ""


async def test_the_leader_sets_their_own_groups_join_link_and_nobody_else_can(client, stage, world):
    url = f"/api/v1/brands/{stage.brand_id}/leader/community-group"
    leader = stage.leader.actor
    first = await client.get(url, headers=leader.headers)
    assert first.json() == {"community_id": stage.community_id, "community_name": "云顶华府", "group": None}
    saved = await client.put(url, json={"join_url": JOIN_URL}, headers=leader.headers)
    assert saved.status_code == 200 and saved.json()["group"]["join_url"] == JOIN_URL
    assert saved.json()["group"]["name"] == "云顶华府·优邻优选品质生活圈"
    bad = await client.put(url, json={"join_url": "ftp://x"}, headers=leader.headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "join_url_invalid"
    member = await make_bound_member(world, stage.leader)
    for who in (member, stage.owner):
        for method, body in (("GET", None), ("PUT", {"join_url": JOIN_URL})):
            answer = await client.request(method, url, json=body, headers=who.headers)
            assert answer.status_code == 403 and answer.json()["error"]["code"] == "leader_only"
    assert (await client.get(url)).status_code == 401
    wang = await client.get(url, headers=stage.other_leader.actor.headers)  # 王姐 sees 翠湖花园's, not 小李's
    assert wang.json()["community_name"] == "翠湖花园" and wang.json()["group"] is None


async def test_a_member_sees_the_group_they_were_invited_into_and_its_qr(client, ctx, stage, world):
    await staff_makes_a_group(client, stage, join_url=JOIN_URL)
    buyer = await make_bound_member(world, stage.leader)
    stranger = await world.user()
    assert (await client.get("/api/v1/me/community-groups", headers=buyer.headers)).json()["items"] == []
    await buy(ctx, stage, buyer)
    [mine] = (await client.get("/api/v1/me/community-groups", headers=buyer.headers)).json()["items"]
    assert (mine["name"], mine["community_name"], mine["join_url"]) == ("云顶华府·优邻优选品质生活圈", "云顶华府", JOIN_URL)
    qr = await client.get(f"/api/v1/me/community-groups/{mine['group_id']}/qr.png", headers=buyer.headers)
    assert qr.status_code == 200 and qr.headers["content-type"] == "image/png"
    assert scan(qr.content) == JOIN_URL
    other = await client.get(f"/api/v1/me/community-groups/{mine['group_id']}/qr.png", headers=stranger.headers)
    assert other.status_code == 404
    assert (await client.get("/api/v1/me/community-groups")).status_code == 401
    assert (await client.get("/api/v1/me/community-groups", headers=stranger.headers)).json()["items"] == []


async def test_a_member_mutes_a_channel_of_a_brand_they_belong_to(client, stage, world):
    member = await make_bound_member(world, stage.leader)
    url = f"/api/v1/brands/{stage.brand_id}/me/push-preferences"
    assert (await client.get(url, headers=member.headers)).json()["channels"] == [
        {"channel": "inbox", "label": "站内信", "muted": False}, {"channel": "sms", "label": "短信", "muted": False}]
    saved = await client.put(url, json={"muted": ["sms"]}, headers=member.headers)
    assert [c["muted"] for c in saved.json()["channels"]] == [False, True]
    bad = await client.put(url, json={"muted": ["wecom"]}, headers=member.headers)
    assert bad.status_code == 422
    stranger = await world.user()
    refused = await client.get(url, headers=stranger.headers)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "member_not_found"
    assert (await client.get(url)).status_code == 401
    assert (await client.get("/api/v1/brands/999999/me/push-preferences", headers=member.headers)).status_code == 404
