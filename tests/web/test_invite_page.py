"""The invite link /i/{code} as a page: the leader's landing, joining through it, and what it tells."""

from __future__ import annotations

from datetime import timedelta

import pytest

from linli.leaders import service as leaders
from tests.factories import make_bound_member
from tests.web.conftest import WebScene, csrf_of, latest_sms_code, sign_in_by_sms



def text_of(html: str) -> str:
    """The page's text without tags, to look for sentences a person reads."""
    import re

    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_landing_page_shows_the_badge_community_and_next_session(client, web_scene: WebScene):
    response = await client.get(f"/i/{web_scene.li.code.lower()}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = text_of(response.text)
    assert "云顶华府·优邻优选社区主理人" in page
    assert "小*" in page and "小李" not in page  # a public page names the leader masked, as the API does
    assert "黄金奶油草莓源头直播" in page and "2026年11月20日 11:00 开播" in page  # the brand's local time
    assert f'href="/live/{web_scene.session_id}"' in response.text and "进入直播间" in page
    assert f'href="/i/{web_scene.li.code}/join"' in response.text and "登录并加入" in page


@pytest.mark.parametrize(
    ("make_unusable", "status", "message"),
    [
        (None, 404, "邀请码不存在"),
        ("revoke", 410, "邀请码已失效"),
        ("expire", 410, "邀请码已更换，旧码已过期"),
    ],
)
async def test_unknown_revoked_and_expired_codes_are_chinese_pages(client, ctx, web_scene: WebScene, make_unusable, status, message):
    code = web_scene.li.code
    async with ctx.db.transaction() as s:
        if make_unusable == "revoke":
            await leaders.revoke_invite_codes(session=s, brand_id=web_scene.brand_id, leader_id=web_scene.li.leader_id, now=ctx.clock.now())
        elif make_unusable == "expire":
            await leaders.rotate_invite_code(session=s, brand_id=web_scene.brand_id, leader_id=web_scene.li.leader_id, now=ctx.clock.now())
    if make_unusable is None:
        code = "Z" * 8 if code != "Z" * 8 else "Y" * 8
    if make_unusable == "expire":
        ctx.clock.advance(timedelta(hours=73))  # past the 72-hour grace of the old code
    response = await client.get(f"/i/{code}")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert message in text_of(response.text)
    assert '"error"' not in response.text


async def test_a_malformed_code_is_a_chinese_page_and_nothing_leaks_into_headers(client):
    response = await client.get("/i/a%3Fb%23c%0D%0AX-Injected:%201")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "x-injected" not in response.headers


async def join_by_sms(client, ctx, code: str, phone: str):
    page = await client.get(f"/i/{code}/join")
    assert page.status_code == 200
    sent = await client.post(f"/i/{code}/join/sms-code", data={"csrf_token": csrf_of(page.text), "phone": phone})
    assert sent.status_code == 200 and "验证码已发送" in sent.text
    sms_code = await latest_sms_code(ctx, phone)
    return await client.post(
        f"/i/{code}/join", data={"csrf_token": csrf_of(sent.text), "phone": phone, "sms_code": sms_code}
    )


async def test_signing_in_there_binds_then_says_already_bound(client, ctx, web_scene: WebScene):
    joined = await join_by_sms(client, ctx, web_scene.li.code, "13800001111")
    assert joined.status_code == 200
    assert "linli_session" in joined.cookies
    page = text_of(joined.text)
    assert "绑定成功" in page and "小李" in page and "云顶华府" in page
    again = await client.post(f"/i/{web_scene.li.code}/join", data={"csrf_token": csrf_of(joined.text)})
    assert "已绑定" in text_of(again.text) and "无需重复绑定" in text_of(again.text)
    landing = await client.get(f"/i/{web_scene.li.code}")
    assert "您已是小李的邻居" in text_of(landing.text)
    assert 'action="/i/' not in landing.text  # no join button for a member already bound here


async def test_a_member_of_another_leader_is_told_who_their_leader_is(client, ctx, world, web_scene: WebScene):
    member = await make_bound_member(world, web_scene.wang)  # bound to 王姐; signs in with the same phone
    await sign_in_by_sms(client, ctx, member.phone)
    landing = await client.get(f"/i/{web_scene.li.code}")
    joined = await client.post(f"/i/{web_scene.li.code}/join", data={"csrf_token": csrf_of(landing.text)})
    assert joined.status_code == 200
    page = text_of(joined.text)
    assert "已绑定其他团长" in page and "王姐" in page and "翠湖花园" in page and "归属不变" in page
    assert "already_bound" not in joined.text


async def test_a_leader_opening_their_own_link_is_told_so(client, ctx, web_scene: WebScene):
    await sign_in_by_sms(client, ctx, web_scene.li.actor.phone)
    landing = await client.get(f"/i/{web_scene.li.code}")
    joined = await client.post(f"/i/{web_scene.li.code}/join", data={"csrf_token": csrf_of(landing.text)})
    assert joined.status_code == 409
    assert "不能通过自己的邀请码绑定自己" in text_of(joined.text) and "self_binding" not in joined.text


async def test_a_wrong_code_shows_beside_the_field_and_keeps_the_phone(client, ctx, web_scene: WebScene):
    page = await client.get(f"/i/{web_scene.li.code}/join")
    sent = await client.post(f"/i/{web_scene.li.code}/join/sms-code", data={"csrf_token": csrf_of(page.text), "phone": "13800002222"})
    wrong = await client.post(
        f"/i/{web_scene.li.code}/join", data={"csrf_token": csrf_of(sent.text), "phone": "13800002222", "sms_code": "000000"}
    )
    assert wrong.status_code == 401
    assert 'data-error-for="sms_code">验证码错误或已过期</p>' in wrong.text
    assert 'value="13800002222"' in wrong.text
    assert "linli_session" not in wrong.cookies


async def test_asking_for_a_second_code_too_soon_shows_the_wait_beside_the_phone(client, web_scene: WebScene):
    page = await client.get(f"/i/{web_scene.li.code}/join")
    first = await client.post(f"/i/{web_scene.li.code}/join/sms-code", data={"csrf_token": csrf_of(page.text), "phone": "13800003333"})
    second = await client.post(f"/i/{web_scene.li.code}/join/sms-code", data={"csrf_token": csrf_of(first.text), "phone": "13800003333"})
    assert second.status_code == 429
    assert 'data-error-for="phone">验证码发送过于频繁，请 60 秒后再试</p>' in second.text
    assert 'value="13800003333"' in second.text
