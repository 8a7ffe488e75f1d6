"""The leader's downloadable share image (邀请海报): brand, badge, name, invite code and a regular QR code."""

from __future__ import annotations

import io

from PIL import Image

from linli import posters
from linli.leaders import invite_codes, share_image
from tests.factories import World
from tests.leaders.conftest import Scene
from tests.leaders.helpers import error_code, snapshot
from tests.qr import scan


def url(scene: Scene, brand: int | None = None) -> str:
    return f"/api/v1/brands/{brand or scene.brand}/leader/share-image.png"


async def test_the_share_image_carries_the_invite_link_as_a_regular_qr_code(client, scene: Scene, ctx):
    response = await client.get(url(scene), headers=scene.leader.actor.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "private, no-store"
    assert f'filename="invite-{scene.leader.code}.png"' in response.headers["content-disposition"]
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.size == posters.POSTER_SIZE == (750, 1334)
    link = invite_codes.invite_link(base_url=ctx.settings.public_base_url, code=scene.leader.code)
    assert scan(response.content) == link


async def test_the_share_image_says_who_invites(client, scene: Scene, ctx):
    """The lines drawn: the brand, the badge, the leader's name, an invitation and the code itself."""
    async with ctx.db.read() as s:
        poster = await share_image.invite_poster_for(
            session=s, brand_id=scene.brand, user_id=scene.leader.actor.user_id, base_url=ctx.settings.public_base_url,
        )
    assert (poster.brand_name, poster.badge, poster.leader_name, poster.invite_code) == (
        "优邻优选", "云顶华府·优邻优选社区主理人", "李晓", scene.leader.code,
    )
    assert "云顶华府" in poster.invitation
    assert poster.link == invite_codes.invite_link(base_url=ctx.settings.public_base_url, code=scene.leader.code)


async def test_each_leader_gets_their_own_image(client, scene: Scene, world: World, ctx):
    second = await world.leader(scene.brand, scene.free_community, approver=scene.owner, name="王芳")
    mine = await client.get(url(scene), headers=scene.leader.actor.headers)
    theirs = await client.get(url(scene), headers=second.actor.headers)
    assert theirs.status_code == 200
    assert scan(theirs.content) == invite_codes.invite_link(base_url=ctx.settings.public_base_url, code=second.code)
    assert scan(mine.content) != scan(theirs.content)


async def test_only_the_leader_themself_gets_it(client, scene: Scene, world: World, ctx):
    other_leader = await world.leader(scene.other_brand, scene.other_community, approver=scene.other_owner, name="赵六")
    before = await snapshot(ctx)
    assert (await client.get(url(scene))).status_code == 401
    for actor in (scene.member, scene.applicant.actor, scene.operator, scene.owner, scene.other_owner, other_leader.actor):
        response = await client.get(url(scene), headers=actor.headers)
        assert response.status_code == 403 and error_code(response) == "leader_only", response.text
    # Brand A's leader under brand B's path is nobody there.
    response = await client.get(url(scene, scene.other_brand), headers=scene.leader.actor.headers)
    assert response.status_code == 403 and error_code(response) == "leader_only"
    assert await snapshot(ctx) == before


async def test_a_leader_without_a_usable_code_gets_a_clear_refusal(client, scene: Scene):
    headers = scene.leader.actor.headers
    assert (await client.post(f"/api/v1/brands/{scene.brand}/leader/invite-code/revoke", headers=headers)).status_code == 200
    response = await client.get(url(scene), headers=headers)
    assert response.status_code == 404 and error_code(response) == "invite_code_missing"
    suspended = await client.post(
        f"/api/v1/brands/{scene.brand}/leaders/{scene.leader.leader_id}/suspend", json={"reason": "暂停"},
        headers=scene.owner.headers,
    )
    assert suspended.status_code == 200
    response = await client.get(url(scene), headers=headers)
    assert response.status_code == 403


async def test_without_a_cjk_font_the_answer_is_503_never_tofu(client, scene: Scene, monkeypatch):
    monkeypatch.setattr(posters, "KNOWN_FONT_PATHS", ())
    monkeypatch.setattr(posters, "fc_match", lambda: None)
    response = await client.get(url(scene), headers=scene.leader.actor.headers)
    assert response.status_code == 503, response.text
    assert error_code(response) == "cjk_font_missing"
    assert "中文字体" in response.json()["error"]["message"]


async def test_a_font_setting_that_points_nowhere_is_503(client, scene: Scene, ctx):
    ctx.settings = ctx.settings.with_overrides(cjk_font="/nonexistent/font.ttc")
    response = await client.get(url(scene), headers=scene.leader.actor.headers)
    assert response.status_code == 503 and error_code(response) == "cjk_font_missing"
    assert "LINLI_CJK_FONT" in response.json()["error"]["message"]


def test_the_font_is_found_on_this_machine_and_the_setting_wins():
    found = posters.find_cjk_font(setting="")
    assert found.endswith((".ttc", ".otf", ".ttf"))
    assert posters.find_cjk_font(setting=found) == found
