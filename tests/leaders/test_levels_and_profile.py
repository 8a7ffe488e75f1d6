"""The leader programme (levels, rights, grace), levels computed from bound members, and a leader's own profile."""

from __future__ import annotations

import copy

import pytest

from linli.leaders.service import DEFAULT_LEVELS
from tests.factories import World
from tests.leaders.conftest import Scene
from tests.leaders.helpers import bind_members, error_code, snapshot

PROGRAM = {
    "levels": [
        {"code": "trainee", "name": "见习", "min_bound_members": 0, "rights": ["基础佣金"]},
        {"code": "regular", "name": "正式", "min_bound_members": 3, "rights": ["基础佣金", "直播作战包"]},
        {"code": "gold", "name": "金牌", "min_bound_members": 5, "rights": ["基础佣金", "直播作战包", "新品优先试吃"]},
    ],
    "invite_grace_hours": 24,
}


def base(scene: Scene) -> str:
    return f"/api/v1/brands/{scene.brand}"


async def test_default_programme(client, scene: Scene):
    response = await client.get(f"{base(scene)}/leader-program", headers=scene.operator.headers)
    assert response.status_code == 200
    assert response.json() == {"levels": DEFAULT_LEVELS, "invite_grace_hours": 72, "updated_at": None}


async def test_owner_sets_the_programme(client, scene: Scene, clock):
    response = await client.put(f"{base(scene)}/leader-program", json=PROGRAM, headers=scene.owner.headers)
    assert response.status_code == 200, response.text
    # A level saved without courses requires none.
    assert response.json()["levels"] == [{**lv, "required_course_ids": []} for lv in PROGRAM["levels"]]
    assert response.json()["invite_grace_hours"] == 24
    assert response.json()["updated_at"] is not None
    again = (await client.get(f"{base(scene)}/leader-program", headers=scene.operator.headers)).json()
    assert again == response.json()
    # Brand B's programme is its own.
    other = (await client.get(f"/api/v1/brands/{scene.other_brand}/leader-program", headers=scene.other_owner.headers)).json()
    assert other["updated_at"] is None


def _with(change) -> dict:
    program = copy.deepcopy(PROGRAM)
    change(program)
    return program


BAD_PROGRAMS = [
    # (programme, error code)
    (_with(lambda p: p["levels"][0].update(min_bound_members=1)), "levels_invalid"),  # must start at 0
    (_with(lambda p: p["levels"][2].update(min_bound_members=3)), "levels_invalid"),  # not strictly increasing
    (_with(lambda p: p["levels"].reverse()), "levels_invalid"),  # decreasing
    (_with(lambda p: p["levels"][1].update(min_bound_members=9)), "levels_invalid"),  # 0, 9, 5
    (_with(lambda p: p["levels"][2].update(code="regular")), "levels_invalid"),  # duplicate code
    (_with(lambda p: p["levels"][1].update(name="  ")), "levels_invalid"),
    (_with(lambda p: p.update(levels=[])), "invalid_request"),
    (_with(lambda p: p.update(levels=[dict(p["levels"][0], code=f"l{i}", min_bound_members=i) for i in range(11)])), "invalid_request"),
    (_with(lambda p: p["levels"][0].update(min_bound_members=-1)), "invalid_request"),
    (_with(lambda p: p["levels"][0].update(code="Gold Level")), "invalid_request"),
    (_with(lambda p: p["levels"][0].update(name="")), "invalid_request"),
    (_with(lambda p: p["levels"][0].update(rights=["权" * 33])), "invalid_request"),
    (_with(lambda p: p["levels"][0].update(rights=["x"] * 21)), "invalid_request"),
    (_with(lambda p: p["levels"][0].pop("min_bound_members")), "invalid_request"),
    (_with(lambda p: p.update(invite_grace_hours=-1)), "invalid_request"),
    (_with(lambda p: p.update(invite_grace_hours=24 * 90 + 1)), "invalid_request"),
    (_with(lambda p: p.pop("invite_grace_hours")), "invalid_request"),
    (_with(lambda p: p.update(invite_grace_hours="soon")), "invalid_request"),
]


@pytest.mark.parametrize(("program", "code"), BAD_PROGRAMS)
async def test_bad_programmes_are_refused_and_change_nothing(client, scene: Scene, ctx, program, code):
    before = await snapshot(ctx)
    response = await client.put(f"{base(scene)}/leader-program", json=program, headers=scene.owner.headers)
    assert response.status_code == 422, response.text
    assert error_code(response) == code
    assert await snapshot(ctx) == before


async def test_level_follows_bound_members(client, world: World, scene: Scene):
    await client.put(f"{base(scene)}/leader-program", json=PROGRAM, headers=scene.owner.headers)
    headers = scene.leader.actor.headers

    async def profile() -> dict:
        response = await client.get(f"{base(scene)}/leader", headers=headers)
        assert response.status_code == 200
        return response.json()

    start = await profile()
    assert start["bound_members"] == 0
    assert start["level"] == {"code": "trainee", "name": "见习", "rights": ["基础佣金"]}
    assert start["next_level"] == {
        "code": "regular", "name": "正式", "min_bound_members": 3, "members_needed": 3,
        "required_course_ids": [], "courses_needed": [],
    }

    await bind_members(world, leader=scene.leader, count=2)
    assert (await profile())["next_level"]["members_needed"] == 1

    await bind_members(world, leader=scene.leader, count=1)
    regular = await profile()
    assert regular["bound_members"] == 3
    assert regular["level"]["code"] == "regular"
    assert regular["level"]["rights"] == ["基础佣金", "直播作战包"]
    assert regular["next_level"] == {
        "code": "gold", "name": "金牌", "min_bound_members": 5, "members_needed": 2,
        "required_course_ids": [], "courses_needed": [],
    }

    await bind_members(world, leader=scene.leader, count=3)
    gold = await profile()
    assert gold["bound_members"] == 6
    assert gold["level"]["code"] == "gold"
    assert "新品优先试吃" in gold["level"]["rights"]
    assert gold["next_level"] is None

    # Staff see the same level and count.
    listed = (await client.get(f"{base(scene)}/leaders", params={"status": "active"}, headers=scene.operator.headers)).json()
    assert listed["items"][0]["bound_members"] == 6
    assert listed["items"][0]["level"]["code"] == "gold"

    # Raising a threshold moves the leader down again: levels are computed, never stored.
    harder = copy.deepcopy(PROGRAM)
    harder["levels"][2]["min_bound_members"] = 50
    await client.put(f"{base(scene)}/leader-program", json=harder, headers=scene.owner.headers)
    assert (await profile())["level"]["code"] == "regular"
    assert (await profile())["next_level"]["members_needed"] == 44


async def test_leader_profile(client, scene: Scene, ctx):
    response = await client.get(f"{base(scene)}/leader", headers=scene.leader.actor.headers)
    assert response.status_code == 200
    body = response.json()
    code = scene.leader.code
    assert body == {
        "leader_id": scene.leader.leader_id,
        "brand": {"id": scene.brand, "name": "优邻优选"},
        "community_id": scene.community,
        "community_name": "云顶华府",
        "status": "active",
        "real_name": "李晓",
        "decision_reason": None,
        "badge": "云顶华府·优邻优选社区主理人",
        "level": {"code": "trainee", "name": "见习", "rights": ["基础佣金"]},
        "bound_members": 0,
        "next_level": {
            "code": "regular", "name": "正式", "min_bound_members": 20, "members_needed": 20,
            "required_course_ids": [], "courses_needed": [],
        },
        "invite": {
            "code": code,
            "link": f"{ctx.settings.public_base_url}/i/{code}",
            "qr_url": f"{ctx.settings.public_base_url}/api/v1/invite-codes/{code}/qr.png",
            "created_at": body["invite"]["created_at"],
        },
        "codes_in_grace": [],
    }


async def test_each_leader_sees_only_their_own_profile(client, world: World, scene: Scene):
    second = await world.leader(scene.brand, scene.free_community, approver=scene.owner, name="王芳")
    mine = (await client.get(f"{base(scene)}/leader", headers=second.actor.headers)).json()
    theirs = (await client.get(f"{base(scene)}/leader", headers=scene.leader.actor.headers)).json()
    assert mine["leader_id"] == second.leader_id and mine["invite"]["code"] == second.code
    assert theirs["leader_id"] == scene.leader.leader_id and theirs["invite"]["code"] == scene.leader.code
    # A leader of brand A is nobody in brand B.
    response = await client.get(f"/api/v1/brands/{scene.other_brand}/leader", headers=scene.leader.actor.headers)
    assert response.status_code == 403
    assert error_code(response) == "leader_only"


async def test_suspended_leader_sees_status_but_no_code_to_share(client, scene: Scene):
    await client.post(
        f"{base(scene)}/leaders/{scene.leader.leader_id}/suspend", json={"reason": "投诉处理中"}, headers=scene.owner.headers
    )
    body = (await client.get(f"{base(scene)}/leader", headers=scene.leader.actor.headers)).json()
    assert body["status"] == "suspended"
    assert body["decision_reason"] == "投诉处理中"
    assert body["badge"] is None
    assert body["invite"] is None
    for path in ("/leader/invite-code/qr.png",):
        response = await client.get(f"{base(scene)}{path}", headers=scene.leader.actor.headers)
        assert response.status_code == 403


async def test_exited_leader_has_no_profile(client, scene: Scene):
    await client.post(
        f"{base(scene)}/leaders/{scene.leader.leader_id}/exit", json={"reason": "搬家"}, headers=scene.owner.headers
    )
    response = await client.get(f"{base(scene)}/leader", headers=scene.leader.actor.headers)
    assert response.status_code == 403
    assert error_code(response) == "leader_only"
    # Their application record still tells them what happened.
    mine = (await client.get(f"{base(scene)}/leader-applications/mine", headers=scene.leader.actor.headers)).json()
    assert mine["status"] == "exited"
