"""预告话术 templates: placeholders checked when saved, filled per leader, a change remakes the kits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linli.errors import InvalidInput
from linli.marketing import copy
from tests.factories import World
from tests.marketing.conftest import Scene, scheduled_session
from tests.marketing.helpers import error_code, kits_of, snapshot, work


def templates_url(brand: int) -> str:
    return f"/api/v1/brands/{brand}/copy-templates"


def test_a_template_fills_every_placeholder_and_keeps_escaped_braces():
    values = {name: f"<{name}>" for name in copy.PLACEHOLDERS}
    assert copy.fill("{{品牌}} 是 {品牌}，{ 团长 } 在 {小区}", values) == "{品牌} 是 <品牌>，<团长> 在 <小区>"


@pytest.mark.parametrize(("body", "code"), [
    ("你好 {团长名}", "copy_template_placeholder_unknown"),
    ("你好 {name}", "copy_template_placeholder_unknown"),
    ("你好 {团长", "copy_template_malformed"),
    ("你好 团长}", "copy_template_malformed"),
    ("{{团长}", "copy_template_malformed"),
    ("{团{长}}", "copy_template_malformed"),
])
def test_a_template_with_an_unknown_placeholder_or_a_stray_brace_is_refused(body, code):
    with pytest.raises(InvalidInput) as raised:
        copy.clean_template(name="预告", body=body)
    assert raised.value.code == code


@given(st.text(alphabet="{}团长小区品牌ab ", max_size=40))
def test_whatever_is_accepted_fills_without_braces_left_over_from_placeholders(body):
    try:
        pieces = copy.parse(body)
    except InvalidInput:
        return
    values = {name: "X" for name in copy.PLACEHOLDERS}
    filled = copy.fill(body, values)
    # Every brace in the result was written as a doubled (escaped) brace in the template.
    assert filled.count("{") == sum(p.text.count("{") for p in pieces if not p.placeholder)
    assert filled.count("X") >= sum(1 for p in pieces if p.placeholder)


async def test_the_default_template_is_what_the_kits_say(client, scene: Scene, world: World, ctx):
    session_id = await scheduled_session(world, scene)
    await work(ctx)
    response = await client.post(templates_url(scene.brand), headers=scene.operator.headers, json={
        "name": "草莓季", "body": "{小区}的邻居们，{开播时间}「{直播标题}」见！{团长}等你：{邀请链接}", "is_default": True,
    })
    assert response.status_code == 201, response.text
    await work(ctx)
    mine = (await kits_of(ctx, session_id))[scene.leader.leader_id]
    assert mine.version == 2 and mine.copy_text.startswith("云顶华府的邻居们，") and "小李等你：" in mine.copy_text
    assert "（周" in mine.copy_text  # the start as the brand's clock reads it
    listed = await client.get(templates_url(scene.brand), headers=scene.owner.headers)
    assert [t["name"] for t in listed.json()["items"]] == ["草莓季"] and "团长" in listed.json()["placeholders"]

    # A second default takes over; the first is no longer default.
    second = await client.post(templates_url(scene.brand), headers=scene.owner.headers, json={
        "name": "简短", "body": "{团长}邀你看直播 {邀请链接}", "is_default": True})
    await work(ctx)
    rows = (await client.get(templates_url(scene.brand), headers=scene.owner.headers)).json()["items"]
    assert [(t["name"], t["is_default"]) for t in rows] == [("草莓季", False), ("简短", True)]
    assert (await kits_of(ctx, session_id))[scene.leader.leader_id].copy_text.startswith("小李邀你看直播 ")

    # The session may choose its own template instead of the default.
    first_id = rows[0]["id"]
    chosen = await client.put(
        f"/api/v1/brands/{scene.brand}/live-sessions/{session_id}/campaign/template", headers=scene.owner.headers,
        json={"copy_template_id": first_id},
    )
    assert chosen.status_code == 200 and chosen.json()["copy_template_id"] == first_id
    await work(ctx)
    assert (await kits_of(ctx, session_id))[scene.leader.leader_id].copy_text.startswith("云顶华府的邻居们，")
    assert second.status_code == 201


async def test_editing_a_template_remakes_the_kits_that_use_it(client, scene: Scene, world: World, ctx):
    session_id = await scheduled_session(world, scene)
    created = await client.post(templates_url(scene.brand), headers=scene.owner.headers, json={
        "name": "预告", "body": "{团长}：今晚直播 {邀请链接}", "is_default": True})
    await work(ctx)
    response = await client.patch(
        f"{templates_url(scene.brand)}/{created.json()['id']}", headers=scene.owner.headers, json={"body": "{团长}：明晚直播 {邀请链接}"}
    )
    assert response.status_code == 200, response.text
    await work(ctx)
    assert (await kits_of(ctx, session_id))[scene.second.leader_id].copy_text.startswith("王姐：明晚直播 ")


async def test_a_bad_template_is_refused_and_changes_nothing(client, scene: Scene, world: World, ctx):
    await scheduled_session(world, scene)
    created = await client.post(templates_url(scene.brand), headers=scene.owner.headers, json={"name": "预告", "body": "{团长} {邀请链接}"})
    await work(ctx)
    before = await snapshot(ctx)
    cases = [
        ({"name": "预告", "body": "{团长} 邀您 {优惠券}"}, "copy_template_placeholder_unknown"),
        ({"name": "预告", "body": "{团长 邀您"}, "copy_template_malformed"),
        ({"name": "", "body": "{团长}"}, "copy_template_name_invalid"),
        ({"name": "预告", "body": "   "}, "copy_template_body_invalid"),
        ({"name": "预告", "body": "字" * 1001}, "copy_template_body_invalid"),
    ]
    for body, code in cases:
        response = await client.post(templates_url(scene.brand), headers=scene.owner.headers, json=body)
        assert (response.status_code, error_code(response)) == (422, code), body
    patched = await client.patch(f"{templates_url(scene.brand)}/{created.json()['id']}", headers=scene.owner.headers, json={"body": "{nickname}"})
    assert (patched.status_code, error_code(patched)) == (422, "copy_template_placeholder_unknown")
    assert "{团长}" in patched.json()["error"]["message"]  # says which placeholders exist
    foreign = await client.put(
        f"/api/v1/brands/{scene.brand}/live-sessions/999999/campaign/template", headers=scene.owner.headers, json={"copy_template_id": None})
    assert foreign.status_code == 404
    await work(ctx)
    assert await snapshot(ctx) == before


async def test_another_brands_template_cannot_be_chosen(client, scene: Scene, world: World, ctx):
    session_id = await scheduled_session(world, scene)
    theirs = await client.post(templates_url(scene.other_brand), headers=scene.other_owner.headers, json={"name": "x", "body": "{团长}"})
    assert theirs.status_code == 201
    before = await snapshot(ctx)
    response = await client.put(
        f"/api/v1/brands/{scene.brand}/live-sessions/{session_id}/campaign/template", headers=scene.owner.headers,
        json={"copy_template_id": theirs.json()["id"]},
    )
    assert (response.status_code, error_code(response)) == (404, "copy_template_not_found")
    assert await snapshot(ctx) == before
