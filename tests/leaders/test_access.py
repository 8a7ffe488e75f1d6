"""Who may call every leaders endpoint, and who may not (and that a refused call changes nothing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from tests.leaders.conftest import Scene
from tests.leaders.helpers import error_code, snapshot
from tests.leaders.test_levels_and_profile import PROGRAM

UNAUTHORIZED = (401, "unauthorized")
NOT_STAFF = (403, "staff_only")
NOT_LEADER = (403, "leader_only")

STAFF_ONLY = {"anonymous": UNAUTHORIZED, "member": NOT_STAFF, "applicant": NOT_STAFF, "leader": NOT_STAFF, "other_owner": NOT_STAFF}
OWNER_ONLY = {**STAFF_ONLY, "operator": NOT_STAFF}
LEADER_ONLY = {
    "anonymous": UNAUTHORIZED, "member": NOT_LEADER, "applicant": NOT_LEADER, "operator": NOT_LEADER,
    "owner": NOT_LEADER, "other_owner": NOT_LEADER,
}
ANY_USER = {"anonymous": UNAUTHORIZED}


@dataclass
class Spec:
    method: str
    path: Callable[[Scene], str]
    denied: dict[str, tuple[int, str]]
    allowed_as: str  # one role that succeeds (checked last, after every refusal)
    ok: int = 200
    body: dict | None = None
    suspend_first: bool = False  # reinstate needs a suspended leader
    brand_scoped: bool = True
    extra_allowed: list[str] = field(default_factory=list)  # read-only endpoints: others who also succeed


def b(scene: Scene) -> str:
    return f"/api/v1/brands/{scene.brand}"


REASON = {"reason": "原因"}
SPECS = {
    "apply": Spec(
        "POST", lambda s: f"{b(s)}/leader-applications", ANY_USER, "member", ok=201,
        body={"community_id": "free", "real_name": "王芳"},
    ),
    "my-application": Spec(
        "GET", lambda s: f"{b(s)}/leader-applications/mine", ANY_USER, "applicant", extra_allowed=["leader"]
    ),
    "list-leaders": Spec("GET", lambda s: f"{b(s)}/leaders", STAFF_ONLY, "operator", extra_allowed=["owner"]),
    "leader-detail": Spec(
        "GET", lambda s: f"{b(s)}/leaders/{s.leader.leader_id}", STAFF_ONLY, "operator", extra_allowed=["owner"]
    ),
    "approve": Spec("POST", lambda s: f"{b(s)}/leaders/{s.applicant.leader_id}/approve", STAFF_ONLY, "operator"),
    "reject": Spec("POST", lambda s: f"{b(s)}/leaders/{s.applicant.leader_id}/reject", STAFF_ONLY, "operator", body=REASON),
    "suspend": Spec("POST", lambda s: f"{b(s)}/leaders/{s.leader.leader_id}/suspend", STAFF_ONLY, "operator", body=REASON),
    "reinstate": Spec(
        "POST", lambda s: f"{b(s)}/leaders/{s.leader.leader_id}/reinstate", STAFF_ONLY, "operator", suspend_first=True
    ),
    "exit": Spec("POST", lambda s: f"{b(s)}/leaders/{s.leader.leader_id}/exit", STAFF_ONLY, "owner", body=REASON),
    "staff-revoke": Spec(
        "POST", lambda s: f"{b(s)}/leaders/{s.leader.leader_id}/invite-code/revoke", STAFF_ONLY, "operator"
    ),
    "get-program": Spec("GET", lambda s: f"{b(s)}/leader-program", STAFF_ONLY, "operator", extra_allowed=["owner"]),
    "put-program": Spec("PUT", lambda s: f"{b(s)}/leader-program", OWNER_ONLY, "owner", body=PROGRAM),
    "profile": Spec("GET", lambda s: f"{b(s)}/leader", LEADER_ONLY, "leader"),
    "rotate": Spec("POST", lambda s: f"{b(s)}/leader/invite-code/rotate", LEADER_ONLY, "leader"),
    "revoke": Spec("POST", lambda s: f"{b(s)}/leader/invite-code/revoke", LEADER_ONLY, "leader"),
    "qr": Spec("GET", lambda s: f"{b(s)}/leader/invite-code/qr.png", LEADER_ONLY, "leader"),
    "share-image": Spec("GET", lambda s: f"{b(s)}/leader/share-image.png", LEADER_ONLY, "leader"),
    "resolve": Spec(
        "GET", lambda s: f"/api/v1/invite-codes/{s.leader.code}", {}, "anonymous", brand_scoped=False,
        extra_allowed=["member", "leader", "owner", "other_owner"],
    ),
    "public-qr": Spec(
        "GET", lambda s: f"/api/v1/invite-codes/{s.leader.code}/qr.png", {}, "anonymous", brand_scoped=False,
        extra_allowed=["member", "other_owner"],
    ),
}


def headers_of(scene: Scene, role: str) -> dict[str, str]:
    actor = {
        "anonymous": None,
        "member": scene.member,
        "applicant": scene.applicant.actor,
        "leader": scene.leader.actor,
        "operator": scene.operator,
        "owner": scene.owner,
        "other_owner": scene.other_owner,
    }[role]
    return actor.headers if actor is not None else {}


def body_for(spec: Spec, scene: Scene) -> dict | None:
    if spec.body is None:
        return None
    body = dict(spec.body)
    if body.get("community_id") == "free":
        body["community_id"] = scene.free_community
    return body


@pytest.mark.parametrize("name", list(SPECS))
async def test_who_may_call(client, scene: Scene, ctx, name):
    spec = SPECS[name]
    if spec.suspend_first:
        response = await client.post(
            f"{b(scene)}/leaders/{scene.leader.leader_id}/suspend", json=REASON, headers=scene.owner.headers
        )
        assert response.status_code == 200
    path, body = spec.path(scene), body_for(spec, scene)

    before = await snapshot(ctx)
    for role, (status, code) in spec.denied.items():
        response = await client.request(spec.method, path, json=body, headers=headers_of(scene, role))
        assert response.status_code == status, (role, response.text)
        assert error_code(response) == code, role
    # A bad or expired token is no better than none.
    if spec.denied:
        for header in ({"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
            response = await client.request(spec.method, path, json=body, headers=header)
            assert response.status_code == 401
    assert await snapshot(ctx) == before

    for role in spec.extra_allowed:
        response = await client.request(spec.method, path, json=body, headers=headers_of(scene, role))
        assert response.status_code == spec.ok, (role, response.text)
    response = await client.request(spec.method, path, json=body, headers=headers_of(scene, spec.allowed_as))
    assert response.status_code == spec.ok, response.text


@pytest.mark.parametrize("name", [n for n, s in SPECS.items() if s.brand_scoped])
async def test_unknown_brand_is_404(client, scene: Scene, ctx, name):
    spec = SPECS[name]
    path = spec.path(scene).replace(f"/brands/{scene.brand}/", "/brands/987654/")
    before = await snapshot(ctx)
    response = await client.request(spec.method, path, json=body_for(spec, scene), headers=headers_of(scene, spec.allowed_as))
    assert response.status_code == 404, response.text
    assert error_code(response) == "brand_not_found"
    response = await client.request(
        spec.method, path.replace("/brands/987654/", "/brands/-1/"), json=body_for(spec, scene),
        headers=headers_of(scene, spec.allowed_as),
    )
    assert response.status_code == 422
    assert error_code(response) == "invalid_request"
    assert await snapshot(ctx) == before


async def test_staff_of_brand_b_cannot_act_on_brand_a_through_their_own_brand(client, scene: Scene, ctx):
    """Brand B's owner, addressing brand A's leader under brand B's path, finds nothing."""
    before = await snapshot(ctx)
    for action, body in (("", None), ("/approve", None), ("/suspend", REASON), ("/exit", REASON), ("/invite-code/revoke", None)):
        for leader_id in (scene.leader.leader_id, scene.applicant.leader_id):
            method = "GET" if action == "" else "POST"
            response = await client.request(
                method, f"/api/v1/brands/{scene.other_brand}/leaders/{leader_id}{action}", json=body,
                headers=scene.other_owner.headers,
            )
            assert response.status_code == 404
            assert error_code(response) == "leader_not_found"
    assert await snapshot(ctx) == before
