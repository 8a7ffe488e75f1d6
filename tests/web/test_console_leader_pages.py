"""The console's 团长 pages over HTTP, on the demo: applications (approve once; reject only with a reason), the
leaders list and one leader's page with its actions (suspend, reinstate, exit, revoke codes: each harmless twice),
the levels (owner only to change), and who may open each page or post each form, with CSRF."""

from __future__ import annotations

import re


from linli.attribution.models import BindingPolicy
from linli.leaders import invite_codes
from linli.leaders import service as leaders
from linli.leaders.models import LeaderProgram
from linli.web.visitor import SESSION_COOKIE
from tests.web.conftest import csrf_of
from tests.web.console_leaders_scene import (
    OPERATOR_LOGIN,
    applicant_id,
    code_count,
    leader_row,
    second_applicant_id,
    status_changes,
)
from tests.web.test_workbench_pages import other_brand_leader, text_of
from tests.web.workbench_scene import NEIGHBOUR_PHONE, XIAOLI_PHONE, load, sign_in_as


def console(brand_id: int, rest: str) -> str:
    return f"/brands/{brand_id}/console{rest}"


def row_of(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">(.*?)</tr>', html, re.S)
    assert found is not None, testid
    return found.group(1)


async def staff_token(client, ctx, login: str = "youlin-owner") -> str:
    client.cookies.clear()
    await sign_in_as(client, ctx, login=login)
    return csrf_of((await client.get("/me")).text)


async def test_staff_see_the_application_and_the_leaders_masked(client, ctx):
    demo = await load(ctx)
    zhao = await applicant_id(ctx, demo.brand_id)
    await sign_in_as(client, ctx)
    page = await client.get(console(demo.brand_id, "/leaders"))
    assert page.status_code == 200
    application = text_of(row_of(page.text, f"application-{zhao}"))
    assert "赵哥" in application and "锦绣江南" in application and "138****0003" in application
    assert "想给锦绣江南的邻居团点好水果" in application
    xiaoli = text_of(row_of(page.text, f"leader-{demo.xiaoli_leader_id}"))
    assert "小李" in xiaoli and "云顶华府" in xiaoli and "在任" in xiaoli and "见习" in xiaoli and "138****0001" in xiaoli
    assert re.search(r'data-testid="bound-members">14<', row_of(page.text, f"leader-{demo.xiaoli_leader_id}"))
    assert "13800000001" not in page.text and "13800000003" not in page.text  # the list masks phones, as the API's
    assert 'aria-current="page">团长</a>' in page.text  # under the console's 团长 tab


async def test_approve_once_and_a_double_submit_changes_nothing(client, ctx):
    demo = await load(ctx)
    zhao = await applicant_id(ctx, demo.brand_id)
    token = await staff_token(client, ctx)
    done = await client.post(console(demo.brand_id, f"/leaders/{zhao}/approve"), data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == console(demo.brand_id, f"/leaders?done=approved&leader={zhao}")
    shown = await client.get(done.headers["location"])
    assert "已通过申请" in text_of(shown.text) and f'data-testid="application-{zhao}"' not in shown.text
    again = await client.post(console(demo.brand_id, f"/leaders/{zhao}/approve"), data={"csrf_token": token})
    assert again.status_code == 409 and 'data-testid="refusal"' in again.text and "不能变更为" in text_of(again.text)
    assert (await leader_row(ctx, zhao)).status == "active"
    assert await status_changes(ctx, zhao) == ["applied", "active"] and await code_count(ctx, zhao) == 1


async def test_reject_needs_a_reason_beside_the_field_and_happens_once(client, ctx):
    demo = await load(ctx)
    zhao = await applicant_id(ctx, demo.brand_id)
    other = await second_applicant_id(ctx, demo.brand_id, (await leader_row(ctx, zhao)).community_id)
    token = await staff_token(client, ctx)
    blank = await client.post(console(demo.brand_id, f"/leaders/{other}/reject"), data={"csrf_token": token, "reason": "  "})
    assert blank.status_code == 422
    row = row_of(blank.text, f"application-{other}")
    assert 'data-error-for="reason"' in row and "请填写原因" in row
    assert "请填写原因" not in row_of(blank.text, f"application-{zhao}")  # beside that application's field only
    assert (await leader_row(ctx, other)).status == "applied"

    reason = "该小区已有更合适的人选"
    done = await client.post(console(demo.brand_id, f"/leaders/{other}/reject"), data={"csrf_token": token, "reason": reason})
    assert done.status_code == 303
    shown = text_of((await client.get(done.headers["location"])).text)
    assert "已驳回申请" in shown and reason in shown
    again = await client.post(console(demo.brand_id, f"/leaders/{other}/reject"), data={"csrf_token": token, "reason": "再次"})
    assert again.status_code == 409
    rejected = await leader_row(ctx, other)
    assert (rejected.status, rejected.decision_reason) == ("rejected", reason)
    assert await status_changes(ctx, other) == ["applied", "rejected"]


async def test_a_second_holder_of_the_community_is_refused(client, ctx):
    demo = await load(ctx)
    zhao = await applicant_id(ctx, demo.brand_id)
    other = await second_applicant_id(ctx, demo.brand_id, (await leader_row(ctx, zhao)).community_id)
    token = await staff_token(client, ctx)
    assert (await client.post(console(demo.brand_id, f"/leaders/{zhao}/approve"), data={"csrf_token": token})).status_code == 303
    refused = await client.post(console(demo.brand_id, f"/leaders/{other}/approve"), data={"csrf_token": token})
    assert refused.status_code == 409 and "该小区已有团长" in text_of(refused.text)
    assert (await leader_row(ctx, other)).status == "applied"


async def test_a_leaders_page_shows_the_full_phone_and_its_actions_are_harmless_twice(client, ctx):
    demo = await load(ctx)
    lid = demo.xiaoli_leader_id
    token = await staff_token(client, ctx)
    page = await client.get(console(demo.brand_id, f"/leaders/{lid}"))
    assert page.status_code == 200
    assert re.search(r'data-testid="leader-phone">13800000001<', page.text)  # as the API's detail shows staff
    assert "云顶华府·优邻优选社区主理人" in text_of(page.text)

    blank = await client.post(console(demo.brand_id, f"/leaders/{lid}/suspend"), data={"csrf_token": token, "reason": ""})
    assert blank.status_code == 422 and 'id="f-reason-suspend-error"' in blank.text and "请填写原因" in blank.text
    assert (await leader_row(ctx, lid)).status == "active"
    for _ in range(2):
        suspended = await client.post(console(demo.brand_id, f"/leaders/{lid}/suspend"), data={"csrf_token": token, "reason": "投诉核实中"})
    assert suspended.status_code == 409 and 'data-testid="refusal"' in suspended.text
    shown = await client.get(console(demo.brand_id, f"/leaders/{lid}?done=suspended"))
    assert "已暂停该团长" in text_of(shown.text) and "恢复团长" in shown.text and "投诉核实中" in text_of(shown.text)
    for _ in range(2):
        reinstated = await client.post(console(demo.brand_id, f"/leaders/{lid}/reinstate"), data={"csrf_token": token})
    assert reinstated.status_code == 409
    assert await status_changes(ctx, lid) == ["applied", "active", "suspended", "active"]

    revoked = await client.post(console(demo.brand_id, f"/leaders/{lid}/invite-code/revoke"), data={"csrf_token": token})
    assert revoked.status_code == 303
    async with ctx.db.read() as s:
        assert await invite_codes.current_code(session=s, leader_id=lid) is None
    assert "已作废该团长的全部邀请码" in text_of((await client.get(revoked.headers["location"])).text)
    exited = await client.post(console(demo.brand_id, f"/leaders/{lid}/exit"), data={"csrf_token": token, "reason": "搬家离开小区"})
    assert exited.status_code == 303
    again = await client.post(console(demo.brand_id, f"/leaders/{lid}/exit"), data={"csrf_token": token, "reason": "搬家离开小区"})
    assert again.status_code == 409
    row = await leader_row(ctx, lid)
    assert (row.status, row.decision_reason) == ("exited", "搬家离开小区")
    assert await status_changes(ctx, lid) == ["applied", "active", "suspended", "active", "exited"]


async def test_levels_show_for_staff_and_only_the_owner_changes_them(client, ctx):
    demo = await load(ctx)
    token = await staff_token(client, ctx, OPERATOR_LOGIN)
    page = await client.get(console(demo.brand_id, "/leaders/levels"))
    assert page.status_code == 200 and "正式" in text_of(page.text) and "直播作战包" in text_of(page.text)
    assert 'data-testid="levels-form"' not in page.text and "只有品牌负责人可以修改等级方案" in text_of(page.text)
    form = {
        "csrf_token": token, "code": ["trainee", "regular"], "name": ["见习", "正式"],
        "min_bound_members": ["0", "10"], "rights": ["基础佣金", "基础佣金、直播作战包"], "invite_grace_hours": "24",
    }
    refused = await client.post(console(demo.brand_id, "/leaders/levels"), data=form)
    assert refused.status_code == 403 and "仅限品牌负责人操作" in text_of(refused.text)
    async with ctx.db.read() as s:
        assert await s.get(LeaderProgram, demo.brand_id) is None

    token = await staff_token(client, ctx)
    assert 'data-testid="levels-form"' in (await client.get(console(demo.brand_id, "/leaders/levels"))).text
    saved = await client.post(console(demo.brand_id, "/leaders/levels"), data={**form, "csrf_token": token})
    assert saved.status_code == 303 and saved.headers["location"].endswith("/leaders/levels?saved=1")
    async with ctx.db.read() as s:
        program = await leaders.get_program(session=s, brand_id=demo.brand_id)
    assert [(lv["code"], lv["min_bound_members"], lv["rights"]) for lv in program.levels] == [
        ("trainee", 0, ["基础佣金"]), ("regular", 10, ["基础佣金", "直播作战包"])]
    assert program.invite_grace_hours == 24
    # 小李's 14 bound members now reach 正式.
    assert "正式" in text_of(row_of((await client.get(console(demo.brand_id, "/leaders"))).text, f"leader-{demo.xiaoli_leader_id}"))


REFUSED_LEVELS = [  # what is changed in a good form, the field told, its message, what stays typed
    ({"min_bound_members": ["0", "0"]}, "levels", "等级门槛须从 0 开始严格递增", "金牌"),
    ({"code": ["trainee", "Gold!"]}, "code", "等级代码须以小写字母开头", "Gold!"),
    ({"min_bound_members": ["0", "十"]}, "min_bound_members", "门槛须为 0 到 10000000 之间的整数", "十"),
    ({"invite_grace_hours": "9999"}, "invite_grace_hours", "旧邀请码宽限期须在 0 到 2160 小时之间", "9999"),
]


async def test_a_refused_level_change_is_told_beside_the_field_keeping_what_was_typed(client, ctx):
    demo = await load(ctx)
    token = await staff_token(client, ctx)
    for change, field, message, typed in REFUSED_LEVELS:
        form = {
            "csrf_token": token, "code": ["trainee", "gold"], "name": ["见习", "金牌"], "min_bound_members": ["0", "50"],
            "rights": ["基础佣金", "专属客服"], "invite_grace_hours": "48", **change,
        }
        refused = await client.post(console(demo.brand_id, "/leaders/levels"), data=form)
        assert refused.status_code == 422, field
        error = re.search(rf'<p class="field-error"[^>]*data-error-for="{field}">([^<]*)<', refused.text)
        assert error is not None and message in error.group(1), field
        assert f'value="{typed}"' in refused.text, field
    async with ctx.db.read() as s:
        assert await s.get(LeaderProgram, demo.brand_id) is None


PAGES = ["/leaders", "/leaders/{xiaoli}", "/leaders/levels", "/transfers", "/disputes", "/binding-policy"]
OUTSIDERS = ["anonymous", "member", "leader", "other-brand-staff"]


async def become(client, ctx, world, who: str) -> None:
    """Signs the client in as one who is not this brand's staff (one demo load serves every outsider)."""
    client.cookies.clear()
    if who in ("member", "leader"):
        await sign_in_as(client, ctx, phone=NEIGHBOUR_PHONE if who == "member" else XIAOLI_PHONE)
    elif who == "other-brand-staff":
        other, _ = await other_brand_leader(world)
        client.cookies.set(SESSION_COOKIE, (await world.staff(other)).token)


async def test_who_may_not_open_the_leader_pages(client, ctx, world):
    demo = await load(ctx)
    for who in OUTSIDERS:
        await become(client, ctx, world, who)
        for page in PAGES:
            path = console(demo.brand_id, page.format(xiaoli=demo.xiaoli_leader_id))
            response = await client.get(path)
            if who == "anonymous":
                assert response.status_code == 303 and response.headers["location"] == f"/signin?next={path}", path
            else:
                assert response.status_code == 403 and response.headers["content-type"].startswith("text/html"), path
                assert "仅限本品牌员工操作" in text_of(response.text), (who, path)


def posts(zhao: int, xiaoli: int) -> list[tuple[str, dict]]:
    return [
        (f"/leaders/{zhao}/approve", {}),
        (f"/leaders/{zhao}/reject", {"reason": "不合适"}),
        (f"/leaders/{xiaoli}/suspend", {"reason": "暂停"}),
        (f"/leaders/{xiaoli}/exit", {"reason": "退出"}),
        (f"/leaders/{xiaoli}/invite-code/revoke", {}),
        ("/leaders/levels", {"code": "trainee", "name": "见习", "min_bound_members": "0", "rights": "", "invite_grace_hours": "1"}),
        ("/transfers", {"from_leader_id": str(xiaoli), "successor_leader_id": str(xiaoli + 1)}),
        ("/disputes/999999/resolve", {"decision": "upheld", "reason": "成立"}),  # the staff check before the lookup
        ("/binding-policy", {"mode": "last_touch", "validity_days": "30", "protection_days": "0"}),
    ]


async def test_who_may_not_post_and_nothing_changes(client, ctx, world):
    demo = await load(ctx)
    zhao = await applicant_id(ctx, demo.brand_id)
    for who in [*OUTSIDERS, "no-token", "forged-token"]:
        if who in ("no-token", "forged-token"):  # the owner, but not through the page
            client.cookies.clear()
            await sign_in_as(client, ctx)
            token = None if who == "no-token" else "forged"
        else:
            await become(client, ctx, world, who)
            token = csrf_of((await client.get("/signin/staff" if who == "anonymous" else "/me")).text)
        for path, data in posts(zhao, demo.xiaoli_leader_id):
            response = await client.post(console(demo.brand_id, path), data={**data, **({"csrf_token": token} if token else {})})
            if who == "anonymous":  # a valid token of the anonymous visitor: sign in first, nothing done
                assert response.status_code == 303 and response.headers["location"].startswith("/signin?next="), path
            elif who in ("no-token", "forged-token"):
                assert response.status_code == 403 and "页面已过期或来源不明" in text_of(response.text), path
            else:
                assert response.status_code == 403 and "仅限本品牌员工操作" in text_of(response.text), (who, path)
    assert (await leader_row(ctx, zhao)).status == "applied"
    assert (await leader_row(ctx, demo.xiaoli_leader_id)).status == "active"
    assert await code_count(ctx, demo.xiaoli_leader_id) == 1
    async with ctx.db.read() as s:
        assert await s.get(LeaderProgram, demo.brand_id) is None
        assert await s.get(BindingPolicy, demo.brand_id) is None


async def test_unknown_ids_are_the_404_page(client, ctx):
    demo = await load(ctx)
    token = await staff_token(client, ctx)
    for response in (
        await client.get(console(demo.brand_id, "/leaders/999999")),
        await client.post(console(demo.brand_id, "/leaders/999999/approve"), data={"csrf_token": token}),
        await client.post(console(demo.brand_id, "/leaders/999999/suspend"), data={"csrf_token": token, "reason": "x"}),
        await client.get(console(999999, "/leaders")),
        await client.post(console(demo.brand_id, "/disputes/999999/resolve"), data={"csrf_token": token, "decision": "upheld", "reason": "x"}),
        await client.post(console(demo.brand_id, "/transfers"), data={"csrf_token": token, "from_leader_id": "999999", "successor_leader_id": "999998"}),
    ):
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
