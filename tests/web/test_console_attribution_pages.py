"""The console's transfers, disputes and binding policy over HTTP, on the demo: an exited leader's members moved to
the successor of the same community (twice moves nobody more), a dispute decided once (members' phones masked, as
the API shows staff), and the binding policy changed by any staff member (the API does not reserve it to the owner)."""

from __future__ import annotations

import re

from sqlalchemy import select

from linli.accounts.models import User
from linli.attribution import service as attribution
from linli.attribution.models import BindingPolicy
from linli.leaders import service as leaders
from tests.web.console_leaders_scene import (
    OPERATOR_LOGIN,
    bound_leader_of,
    events_of,
    leader_of,
    member_id_of,
    user_id_of_phone,
)
from tests.web.test_console_leader_pages import console, staff_token
from tests.web.test_workbench_pages import text_of
from tests.web.workbench_scene import NEIGHBOUR_PHONE, WANGJIE_PHONE, load

SUCCESSOR_PHONE = "13900000031"  # an unbound neighbour who takes over 翠湖花园


async def owner_id(ctx) -> int:
    async with ctx.db.read() as s:
        return (await s.scalar(select(User).where(User.login_name == "youlin-owner"))).id


async def wang_exits_and_a_successor_takes_over(ctx, brand_id: int) -> tuple[int, int]:
    wang = await leader_of(ctx, brand_id, WANGJIE_PHONE)
    actor = await owner_id(ctx)
    successor_user = await user_id_of_phone(ctx, SUCCESSOR_PHONE)
    async with ctx.db.transaction() as s:
        now = ctx.clock.now()
        await leaders.exit_leader(session=s, brand_id=brand_id, leader_id=wang.id, reason="搬走了", actor_user_id=actor, now=now)
        await s.flush()
        successor = await leaders.apply(
            session=s, brand_id=brand_id, user_id=successor_user, community_id=wang.community_id, real_name="新团长",
            note="", now=now,
        )
        await s.flush()
        await leaders.approve(session=s, brand_id=brand_id, leader_id=successor.id, actor_user_id=actor, now=now)
    return wang.id, successor.id


async def bound_to(ctx, leader_id: int) -> int:
    async with ctx.db.read() as s:
        return (await attribution.count_active_bindings(session=s, leader_ids={leader_id}, now=ctx.clock.now())).get(leader_id, 0)


async def test_an_exited_leaders_members_move_to_the_successor_once(client, ctx):
    demo = await load(ctx)
    wang, successor = await wang_exits_and_a_successor_takes_over(ctx, demo.brand_id)
    token = await staff_token(client, ctx)
    page = await client.get(console(demo.brand_id, "/transfers"))
    assert page.status_code == 200
    row = re.search(rf'data-testid="source-{wang}">(.*?)</tr>', page.text, re.S).group(1)
    assert "王姐" in text_of(row) and "翠湖花园" in text_of(row) and 'data-testid="bound-members">8<' in row
    assert re.search(rf'<option value="{successor}" selected>新团长（翠湖花园）', row)  # the same community's, by default

    path = console(demo.brand_id, "/transfers")
    other = await client.post(path, data={"csrf_token": token, "from_leader_id": wang, "successor_leader_id": demo.xiaoli_leader_id})
    assert other.status_code == 422
    row = re.search(rf'data-testid="source-{wang}">(.*?)</tr>', other.text, re.S).group(1)
    assert 'data-error-for="successor_leader_id"' in row and "只能转给同一小区的继任团长" in row
    assert re.search(rf'<option value="{demo.xiaoli_leader_id}" selected>', row)  # what was chosen stays chosen
    assert await bound_to(ctx, wang) == 8

    moved = await client.post(path, data={"csrf_token": token, "from_leader_id": wang, "successor_leader_id": successor})
    assert moved.status_code == 303 and moved.headers["location"] == f"{path}?moved=8"
    assert "已转移 8 位用户" in text_of((await client.get(moved.headers["location"])).text)
    again = await client.post(path, data={"csrf_token": token, "from_leader_id": wang, "successor_leader_id": successor})
    assert again.status_code == 303 and again.headers["location"] == f"{path}?moved=0"
    assert (await bound_to(ctx, wang), await bound_to(ctx, successor)) == (0, 8)
    assert await events_of(ctx, "leader_exit") == 8

    active = await client.post(path, data={"csrf_token": token, "from_leader_id": demo.xiaoli_leader_id, "successor_leader_id": successor})
    assert active.status_code == 409 and 'data-testid="refusal"' in active.text and "只能转移已退出团长的用户" in text_of(active.text)


async def test_staff_decide_a_dispute_once_with_a_reason_and_see_phones_masked(client, ctx):
    demo = await load(ctx)
    wang = await leader_of(ctx, demo.brand_id, WANGJIE_PHONE)
    member = await member_id_of(ctx, demo.brand_id, NEIGHBOUR_PHONE)  # 小李's, who once opened 王姐's link
    async with ctx.db.transaction() as s:
        dispute = await attribution.open_dispute(
            session=s, brand_id=demo.brand_id, leader_id=wang.id, member_id=member, reason="她是我楼里的邻居",
            now=ctx.clock.now(),
        )
        await s.flush()
        dispute_id = dispute.id
    token = await staff_token(client, ctx, OPERATOR_LOGIN)
    page = await client.get(console(demo.brand_id, "/disputes"))
    assert page.status_code == 200
    row = text_of(re.search(rf'data-testid="dispute-{dispute_id}">(.*?)</li>', page.text, re.S).group(1))
    assert "139****0001" in row and "王姐（翠湖花园）" in row and "小李（云顶华府）" in row and "她是我楼里的邻居" in row
    assert NEIGHBOUR_PHONE not in page.text

    resolve = console(demo.brand_id, f"/disputes/{dispute_id}/resolve")
    blank = await client.post(resolve, data={"csrf_token": token, "decision": "upheld", "reason": " "})
    assert blank.status_code == 422 and 'id="f-reason-' + str(dispute_id) + '-error"' in blank.text
    assert "请填写处理理由" in text_of(blank.text) and await bound_leader_of(ctx, member) == demo.xiaoli_leader_id

    done = await client.post(resolve, data={"csrf_token": token, "decision": "upheld", "reason": "核实为翠湖住户"})
    assert done.status_code == 303
    shown = text_of((await client.get(done.headers["location"])).text)
    assert "申诉成立，用户已改绑给申诉团长" in shown and "核实为翠湖住户" in shown
    again = await client.post(resolve, data={"csrf_token": token, "decision": "rejected", "reason": "再来一次"})
    assert again.status_code == 409 and "该申诉已处理" in text_of(again.text)
    assert await bound_leader_of(ctx, member) == wang.id and await events_of(ctx, "dispute_upheld") == 1


async def test_any_staff_member_changes_the_binding_policy_and_refusals_stay_beside_the_field(client, ctx):
    demo = await load(ctx)
    path = console(demo.brand_id, "/binding-policy")
    token = await staff_token(client, ctx, OPERATOR_LOGIN)  # an operator: the API lets any staff change it
    page = await client.get(path)
    assert page.status_code == 200 and "永久绑定" in text_of(page.text) and "默认规则" in text_of(page.text)
    good = {"csrf_token": token, "mode": "validity", "validity_days": "15", "protection_days": "3", "only_new_members": "1"}
    for change, field, message in (
        ({"validity_days": "0"}, "validity_days", "绑定有效期须在 1 到 3650 天之间"),
        ({"validity_days": "十五"}, "validity_days", "绑定有效期须在 1 到 3650 天之间"),
        ({"protection_days": "4000"}, "protection_days", "保护期须在 0 到 3650 天之间"),
        ({"mode": "forever"}, "mode", "绑定模式只能是"),
    ):
        refused = await client.post(path, data={**good, **change})
        assert refused.status_code == 422, field
        error = re.search(rf'data-error-for="{field}">([^<]*)<', refused.text)
        assert error is not None and message in error.group(1), field
        typed = next(iter(change.values()))
        if field != "mode":
            assert f'value="{typed}"' in refused.text, field
    async with ctx.db.read() as s:
        assert await s.get(BindingPolicy, demo.brand_id) is None

    saved = await client.post(path, data=good)
    assert saved.status_code == 303 and saved.headers["location"] == f"{path}?saved=1"
    shown = text_of((await client.get(saved.headers["location"])).text)
    assert "绑定规则已保存" in shown and "绑定有效期 15 天" in shown and "保护期 3 天" in shown and "仅绑定通过邀请码新加入" in shown
    async with ctx.db.read() as s:
        row = await s.get(BindingPolicy, demo.brand_id)
        assert (row.mode, row.validity_days, row.protection_days, row.only_new_members) == ("validity", 15, 3, True)
