"""Applying to lead a community and the leader status machine, through the HTTP API."""

from __future__ import annotations

import pytest

from tests.factories import World
from tests.leaders.conftest import Scene
from tests.leaders.helpers import applicant, error_code, leader_status, snapshot

REASON = {"reason": "多次未按时到自提点交付"}


def base(scene: Scene) -> str:
    return f"/api/v1/brands/{scene.brand}"


async def test_apply_creates_member_and_application(client, scene: Scene, ctx):
    before = await snapshot(ctx)
    response = await client.post(
        f"{base(scene)}/leader-applications",
        json={"community_id": scene.free_community, "real_name": " 王芳 ", "note": "业主群群主"},
        headers=scene.member.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "applied"
    assert body["real_name"] == "王芳"
    assert body["community_name"] == "星河湾"
    assert body["note"] == "业主群群主"
    assert body["decision_reason"] is None
    after = await snapshot(ctx)
    assert len(after["members"]) == len(before["members"]) + 1  # the applicant became a member of the brand
    assert len(after["leaders"]) == len(before["leaders"]) + 1

    mine = await client.get(f"{base(scene)}/leader-applications/mine", headers=scene.member.headers)
    assert mine.status_code == 200
    assert mine.json() == body


async def test_my_application_when_there_is_none(client, scene: Scene):
    response = await client.get(f"{base(scene)}/leader-applications/mine", headers=scene.member.headers)
    assert response.status_code == 404
    assert error_code(response) == "leader_application_not_found"
    # An application in brand A is not one in brand B.
    response = await client.get(
        f"/api/v1/brands/{scene.other_brand}/leader-applications/mine", headers=scene.applicant.actor.headers
    )
    assert response.status_code == 404


async def test_double_application_is_refused(client, scene: Scene, ctx):
    before = await snapshot(ctx)
    response = await client.post(
        f"{base(scene)}/leader-applications",
        json={"community_id": scene.free_community, "real_name": "张敏"},
        headers=scene.applicant.actor.headers,
    )
    assert response.status_code == 409
    assert error_code(response) == "leader_application_exists"
    # An active leader cannot apply for a second community either.
    response = await client.post(
        f"{base(scene)}/leader-applications",
        json={"community_id": scene.free_community, "real_name": "李晓"},
        headers=scene.leader.actor.headers,
    )
    assert response.status_code == 409
    assert error_code(response) == "leader_application_exists"
    assert await snapshot(ctx) == before


async def test_community_with_a_leader_refuses_applications(client, scene: Scene, ctx):
    before = await snapshot(ctx)
    response = await client.post(
        f"{base(scene)}/leader-applications",
        json={"community_id": scene.community, "real_name": "王芳"},
        headers=scene.member.headers,
    )
    assert response.status_code == 409
    assert error_code(response) == "community_has_leader"
    assert await snapshot(ctx) == before  # not even the member record was kept


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"community_id": 999_999, "real_name": "王芳"}, 404, "community_not_found"),
        ({"community_id": "other", "real_name": "王芳"}, 404, "community_not_found"),
        ({"community_id": "free", "real_name": "   "}, 422, "real_name_required"),
        ({"community_id": "free", "real_name": ""}, 422, "invalid_request"),
        ({"community_id": "free", "real_name": "王" * 33}, 422, "invalid_request"),
        ({"community_id": "free", "real_name": "王芳", "note": "长" * 501}, 422, "invalid_request"),
        ({"community_id": 0, "real_name": "王芳"}, 422, "invalid_request"),
        ({"community_id": 2**70, "real_name": "王芳"}, 422, "invalid_request"),
        ({"real_name": "王芳"}, 422, "invalid_request"),
        ({"community_id": "free", "real_name": ["王芳"]}, 422, "invalid_request"),
    ],
)
async def test_bad_applications_change_nothing(client, scene: Scene, ctx, payload, status, code):
    payload = dict(payload)
    if payload.get("community_id") == "free":
        payload["community_id"] = scene.free_community
    elif payload.get("community_id") == "other":
        payload["community_id"] = scene.other_community  # exists, but belongs to brand B
    before = await snapshot(ctx)
    response = await client.post(f"{base(scene)}/leader-applications", json=payload, headers=scene.member.headers)
    assert response.status_code == status, response.text
    assert error_code(response) == code
    assert await snapshot(ctx) == before


async def test_the_whole_life_of_a_leader(client, scene: Scene, ctx):
    """apply → approve → suspend → reinstate → exit, each step recorded with who and why."""
    staff = scene.operator.headers
    leader_id = scene.applicant.leader_id
    url = f"{base(scene)}/leaders/{leader_id}"

    approved = await client.post(f"{url}/approve", headers=staff)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "active"
    assert body["badge"] == "翠湖苑·优邻优选社区主理人"
    assert body["activated_at"] is not None
    assert len(body["current_invite_code"]) == 8
    code = body["current_invite_code"]
    assert (await client.get(f"/api/v1/invite-codes/{code}")).status_code == 200

    suspended = await client.post(f"{url}/suspend", json=REASON, headers=staff)
    assert suspended.status_code == 200
    assert suspended.json()["status"] == "suspended"
    assert suspended.json()["decision_reason"] == REASON["reason"]
    assert suspended.json()["badge"] is None
    assert (await client.get(f"/api/v1/invite-codes/{code}")).status_code == 410

    reinstated = await client.post(f"{url}/reinstate", headers=staff)
    assert reinstated.json()["status"] == "active"
    assert (await client.get(f"/api/v1/invite-codes/{code}")).status_code == 200

    exited = await client.post(f"{url}/exit", json={"reason": "搬离小区"}, headers=scene.owner.headers)
    assert exited.status_code == 200
    assert exited.json()["status"] == "exited"
    assert exited.json()["exited_at"] is not None
    assert exited.json()["current_invite_code"] is None
    gone = await client.get(f"/api/v1/invite-codes/{code}")
    assert gone.status_code == 410
    assert error_code(gone) == "invite_code_revoked"

    detail = (await client.get(url, headers=staff)).json()
    steps = [(h["from_status"], h["to_status"], h["reason"]) for h in detail["history"]]
    assert steps == [
        (None, "applied", None),
        ("applied", "active", None),
        ("active", "suspended", REASON["reason"]),
        ("suspended", "active", None),
        ("active", "exited", "搬离小区"),
    ]
    assert detail["history"][1]["actor_user_id"] == scene.operator.user_id
    assert detail["history"][4]["actor_user_id"] == scene.owner.user_id

    mine = (await client.get(f"{base(scene)}/leader-applications/mine", headers=scene.applicant.actor.headers)).json()
    assert mine["status"] == "exited"
    assert mine["decision_reason"] == "搬离小区"


async def test_exited_leaders_community_can_get_a_new_leader(client, scene: Scene):
    url = f"{base(scene)}/leaders/{scene.leader.leader_id}"
    assert (await client.post(f"{url}/exit", json={"reason": "搬家"}, headers=scene.owner.headers)).status_code == 200
    applied = await client.post(
        f"{base(scene)}/leader-applications",
        json={"community_id": scene.community, "real_name": "王芳"},
        headers=scene.member.headers,
    )
    assert applied.status_code == 201
    approved = await client.post(f"{base(scene)}/leaders/{applied.json()['id']}/approve", headers=scene.owner.headers)
    assert approved.status_code == 200
    assert approved.json()["badge"] == "云顶华府·优邻优选社区主理人"


async def test_reject_with_reason_then_apply_again(client, scene: Scene, ctx):
    url = f"{base(scene)}/leaders/{scene.applicant.leader_id}"
    rejected = await client.post(f"{url}/reject", json={"reason": "资料不完整"}, headers=scene.operator.headers)
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"

    mine = await client.get(f"{base(scene)}/leader-applications/mine", headers=scene.applicant.actor.headers)
    assert mine.json()["status"] == "rejected"
    assert mine.json()["decision_reason"] == "资料不完整"

    again = await client.post(
        f"{base(scene)}/leader-applications",
        json={"community_id": scene.applied_community, "real_name": "张敏", "note": "补充了资料"},
        headers=scene.applicant.actor.headers,
    )
    assert again.status_code == 201
    mine = await client.get(f"{base(scene)}/leader-applications/mine", headers=scene.applicant.actor.headers)
    assert mine.json()["id"] == again.json()["id"]
    assert mine.json()["status"] == "applied"


@pytest.mark.parametrize("action", ["reject", "suspend", "exit"])
@pytest.mark.parametrize("body", [None, {}, {"reason": ""}, {"reason": "   "}, {"reason": "长" * 501}])
async def test_reasons_are_required(client, scene: Scene, ctx, action, body):
    leader_id = scene.applicant.leader_id if action == "reject" else scene.leader.leader_id
    before = await snapshot(ctx)
    response = await client.post(
        f"{base(scene)}/leaders/{leader_id}/{action}", json=body, headers=scene.owner.headers
    )
    assert response.status_code == 422
    assert error_code(response) in {"invalid_request", "reason_required"}
    if body == {"reason": "   "}:
        assert error_code(response) == "reason_required"
    assert await snapshot(ctx) == before


ALLOWED = {
    "approve": {"applied"},
    "reject": {"applied"},
    "suspend": {"active"},
    "reinstate": {"suspended"},
    "exit": {"active", "suspended"},
}


async def test_every_disallowed_transition_is_a_conflict(client, world: World, scene: Scene, ctx):
    """One leader in each status; every action not allowed from that status is a 409 and changes nothing."""
    staff = scene.owner.headers
    by_status = {"active": scene.leader.leader_id, "applied": scene.applicant.leader_id}
    c1 = await world.community(scene.brand, "春风里")
    rejected = await applicant(world, scene.brand, c1, name="赵一")
    assert (await client.post(f"{base(scene)}/leaders/{rejected.leader_id}/reject", json=REASON, headers=staff)).status_code == 200
    by_status["rejected"] = rejected.leader_id
    suspended = await world.leader(scene.brand, c1, approver=scene.owner, name="钱二")
    assert (await client.post(f"{base(scene)}/leaders/{suspended.leader_id}/suspend", json=REASON, headers=staff)).status_code == 200
    by_status["suspended"] = suspended.leader_id
    c2 = await world.community(scene.brand, "秋月苑")
    exited = await world.leader(scene.brand, c2, approver=scene.owner, name="孙三")
    assert (await client.post(f"{base(scene)}/leaders/{exited.leader_id}/exit", json=REASON, headers=staff)).status_code == 200
    by_status["exited"] = exited.leader_id

    before = await snapshot(ctx)
    refused = 0
    for status, leader_id in by_status.items():
        assert await leader_status(ctx, leader_id) == status
        for action, allowed_from in ALLOWED.items():
            if status in allowed_from:
                continue
            response = await client.post(f"{base(scene)}/leaders/{leader_id}/{action}", json=REASON, headers=staff)
            assert response.status_code == 409, (status, action, response.text)
            assert error_code(response) == "leader_status_invalid"
            assert response.json()["error"]["details"] == {"status": status}
            refused += 1
    assert refused == 5 * 5 - sum(len(v) for v in ALLOWED.values())
    assert await snapshot(ctx) == before


async def test_approving_twice_is_a_conflict(client, scene: Scene, ctx):
    url = f"{base(scene)}/leaders/{scene.applicant.leader_id}/approve"
    assert (await client.post(url, headers=scene.owner.headers)).status_code == 200
    before = await snapshot(ctx)
    again = await client.post(url, headers=scene.operator.headers)
    assert again.status_code == 409
    assert error_code(again) == "leader_status_invalid"
    assert await snapshot(ctx) == before


async def test_second_leader_for_a_community_at_approval(client, world: World, scene: Scene, ctx):
    """Two applicants for one community: once one is approved, approving the other is refused."""
    second = await applicant(world, scene.brand, scene.applied_community, name="周四")
    first_ok = await client.post(f"{base(scene)}/leaders/{scene.applicant.leader_id}/approve", headers=scene.owner.headers)
    assert first_ok.status_code == 200
    before = await snapshot(ctx)
    response = await client.post(f"{base(scene)}/leaders/{second.leader_id}/approve", headers=scene.owner.headers)
    assert response.status_code == 409
    assert error_code(response) == "community_has_leader"
    assert await snapshot(ctx) == before
    assert await leader_status(ctx, second.leader_id) == "applied"
    # The brand can still turn the waiting applicant down.
    rejected = await client.post(
        f"{base(scene)}/leaders/{second.leader_id}/reject", json={"reason": "该小区已有团长"}, headers=scene.owner.headers
    )
    assert rejected.status_code == 200


async def test_list_leaders_with_filter_and_pages(client, world: World, scene: Scene):
    headers = scene.operator.headers
    everyone = await client.get(f"{base(scene)}/leaders", headers=headers)
    assert everyone.status_code == 200
    body = everyone.json()
    assert body["total"] == 2 and body["page"] == 1 and body["page_size"] == 20
    active = next(item for item in body["items"] if item["status"] == "active")
    assert active == {
        "id": scene.leader.leader_id,
        "community_id": scene.community,
        "community_name": "云顶华府",
        "status": "active",
        "real_name": "李晓",
        "phone_masked": scene.leader.actor.phone[:3] + "****" + scene.leader.actor.phone[-4:],
        "level": {"code": "trainee", "name": "见习", "rights": ["基础佣金"]},
        "bound_members": 0,
        "applied_at": active["applied_at"],
        "activated_at": active["activated_at"],
        "exited_at": None,
    }

    only_applied = (await client.get(f"{base(scene)}/leaders", params={"status": "applied"}, headers=headers)).json()
    assert [item["id"] for item in only_applied["items"]] == [scene.applicant.leader_id]
    assert only_applied["total"] == 1
    assert (await client.get(f"{base(scene)}/leaders", params={"status": "exited"}, headers=headers)).json()["total"] == 0

    for name in ("甲", "乙", "丙"):
        community = await world.community(scene.brand, f"{name}区")
        await applicant(world, scene.brand, community, name=f"{name}某")
    page2 = (await client.get(f"{base(scene)}/leaders", params={"page": 2, "page_size": 2}, headers=headers)).json()
    assert page2["total"] == 5 and len(page2["items"]) == 2 and page2["page"] == 2
    page3 = (await client.get(f"{base(scene)}/leaders", params={"page": 3, "page_size": 2}, headers=headers)).json()
    assert len(page3["items"]) == 1

    # Brand B sees none of brand A's leaders.
    other = await client.get(f"/api/v1/brands/{scene.other_brand}/leaders", headers=scene.other_owner.headers)
    assert other.json()["total"] == 0


@pytest.mark.parametrize(
    "params", [{"status": "sleeping"}, {"page": 0}, {"page_size": 101}, {"page_size": 0}, {"page": "x"}]
)
async def test_list_leaders_bad_query(client, scene: Scene, params):
    response = await client.get(f"{base(scene)}/leaders", params=params, headers=scene.owner.headers)
    assert response.status_code == 422
    assert error_code(response) == "invalid_request"


async def test_leader_detail_for_staff(client, scene: Scene):
    response = await client.get(f"{base(scene)}/leaders/{scene.leader.leader_id}", headers=scene.operator.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["phone"] == scene.leader.actor.phone  # staff see the full phone in the detail
    assert body["phone_masked"].count("*") == 4
    assert body["current_invite_code"] == scene.leader.code
    assert body["badge"] == "云顶华府·优邻优选社区主理人"
    assert body["next_level"] == {
        "code": "regular", "name": "正式", "min_bound_members": 20, "members_needed": 20,
        "required_course_ids": [], "courses_needed": [],
    }
    assert [h["to_status"] for h in body["history"]] == ["applied", "active"]

    pending = (await client.get(f"{base(scene)}/leaders/{scene.applicant.leader_id}", headers=scene.owner.headers)).json()
    assert pending["status"] == "applied"
    assert pending["application_note"] == "我想当团长"
    assert pending["badge"] is None and pending["current_invite_code"] is None


@pytest.mark.parametrize("action", ["", "/approve", "/reject", "/suspend", "/reinstate", "/exit", "/invite-code/revoke"])
async def test_unknown_or_foreign_leader_is_not_found(client, scene: Scene, ctx, action):
    before = await snapshot(ctx)
    method = client.get if action == "" else client.post
    kwargs = {} if action == "" else {"json": REASON}
    for brand, leader_id, headers in (
        (scene.brand, 999_999, scene.owner.headers),
        # Brand B's owner, on their own brand, naming brand A's leader.
        (scene.other_brand, scene.leader.leader_id, scene.other_owner.headers),
        (scene.other_brand, scene.applicant.leader_id, scene.other_owner.headers),
    ):
        response = await method(f"/api/v1/brands/{brand}/leaders/{leader_id}{action}", headers=headers, **kwargs)
        assert response.status_code == 404, response.text
        assert error_code(response) == "leader_not_found"
    response = await method(f"/api/v1/brands/{scene.brand}/leaders/0{action}", headers=scene.owner.headers, **kwargs)
    assert response.status_code == 422
    assert await snapshot(ctx) == before
