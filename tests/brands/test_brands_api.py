"""Brands, communities with their pickup points, and brand staff, through the HTTP API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from linli.accounts.models import User
from linli.brands.models import Community, PickupPoint, StaffMember
from tests.brands.conftest import BrandScene
from tests.factories import World

PICKUP = {
    "name": "星河湾自提点",
    "address": "星河湾 2 期南门菜鸟驿站",
    "opening_hours": "08:00-20:00",
    "contact_name": "陈姐",
    "contact_phone": "13912345678",
}
NEW_COMMUNITY = {"name": "星河湾", "address": "星河路 88 号", "pickup_point": PICKUP}
NEW_STAFF = {"login_name": "xiaomei", "password": "a-long-password", "display_name": "小美", "role": "operator"}


def b(scene: BrandScene) -> str:
    return f"/api/v1/brands/{scene.brand}"


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return body["error"]["code"]


async def snapshot(ctx) -> dict[str, list[tuple]]:
    async with ctx.db.read() as s:
        return {
            "communities": [
                (c.id, c.brand_id, c.name, c.address) for c in (await s.scalars(select(Community).order_by(Community.id))).all()
            ],
            "pickup_points": [
                (p.id, p.community_id, p.name, p.address, p.opening_hours, p.contact_name, p.contact_phone)
                for p in (await s.scalars(select(PickupPoint).order_by(PickupPoint.id))).all()
            ],
            "staff": [(m.id, m.brand_id, m.user_id, m.role) for m in (await s.scalars(select(StaffMember))).all()],
            "users": [(u.id, u.login_name) for u in (await s.scalars(select(User).order_by(User.id))).all()],
        }


# --- Public reads ---------------------------------------------------------------------------------


async def test_brand_is_public(client, bscene: BrandScene):
    response = await client.get(b(bscene))
    assert response.status_code == 200
    assert response.json() == {"id": bscene.brand, "name": "优邻优选", "slug": "youlin", "timezone": "Asia/Shanghai"}


@pytest.mark.parametrize(("brand", "status", "code"), [(987654, 404, "brand_not_found"), (0, 422, "invalid_request"), ("x", 422, "invalid_request"), (2**64, 422, "invalid_request")])
async def test_unknown_or_absurd_brand(client, bscene: BrandScene, brand, status, code):
    for path in ("", "/communities", f"/communities/{bscene.community}"):
        response = await client.get(f"/api/v1/brands/{brand}{path}")
        assert response.status_code == status
        assert error_code(response) == code


async def test_communities_are_public_and_paginated(client, world: World, bscene: BrandScene):
    for name in ("春风里", "秋月苑"):
        await world.community(bscene.brand, name)
    response = await client.get(f"{b(bscene)}/communities", params={"page_size": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3 and body["page"] == 1 and body["page_size"] == 2
    first = body["items"][0]
    assert first == {
        "id": bscene.community,
        "brand_id": bscene.brand,
        "name": "云顶华府",
        "address": "云顶华府东门",
        "pickup_point": {
            "name": "云顶华府自提点",
            "address": "云顶华府3号楼便利店",
            "opening_hours": "09:00-21:00",
            "contact_name": "自提点",
            "contact_phone": "13800000000",  # a business phone: shown in full
        },
    }
    page2 = (await client.get(f"{b(bscene)}/communities", params={"page": 2, "page_size": 2})).json()
    assert [c["name"] for c in page2["items"]] == ["秋月苑"]
    # Each brand lists only its own.
    other = (await client.get(f"/api/v1/brands/{bscene.other_brand}/communities")).json()
    assert [c["name"] for c in other["items"]] == ["翠湖苑"]

    detail = await client.get(f"{b(bscene)}/communities/{bscene.community}")
    assert detail.status_code == 200
    assert detail.json() == first


async def test_community_of_another_brand_is_not_found(client, bscene: BrandScene):
    for path in (f"{b(bscene)}/communities/{bscene.other_community}", f"{b(bscene)}/communities/999999"):
        response = await client.get(path)
        assert response.status_code == 404
        assert error_code(response) == "community_not_found"


@pytest.mark.parametrize("params", [{"page": 0}, {"page_size": 0}, {"page_size": 101}, {"page": "one"}])
async def test_bad_page_parameters(client, bscene: BrandScene, params):
    response = await client.get(f"{b(bscene)}/communities", params=params)
    assert response.status_code == 422
    assert error_code(response) == "invalid_request"


# --- Communities (staff) ---------------------------------------------------------------------------


async def test_operator_creates_a_community(client, bscene: BrandScene):
    response = await client.post(f"{b(bscene)}/communities", json=NEW_COMMUNITY, headers=bscene.operator.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "星河湾" and body["brand_id"] == bscene.brand
    assert body["pickup_point"] == PICKUP
    listed = (await client.get(f"{b(bscene)}/communities")).json()
    assert [c["name"] for c in listed["items"]] == ["云顶华府", "星河湾"]
    # The same name may exist in another brand.
    other = await client.post(
        f"/api/v1/brands/{bscene.other_brand}/communities", json=NEW_COMMUNITY, headers=bscene.other_owner.headers
    )
    assert other.status_code == 201


def _community(**changes) -> dict:
    body = {**NEW_COMMUNITY, "pickup_point": dict(PICKUP)}
    pickup_changes = changes.pop("pickup_point", {})
    body.update(changes)
    body["pickup_point"].update(pickup_changes)
    return body


BAD_COMMUNITIES = [
    (_community(name="云顶华府"), 409, "community_exists"),
    (_community(name="  "), 422, "community_name_invalid"),
    (_community(address="   "), 422, "community_address_invalid"),
    (_community(pickup_point={"contact_phone": "12345678901"}), 422, "phone_invalid"),
    (_community(pickup_point={"contact_phone": "1391234567８"}), 422, "phone_invalid"),
    (_community(pickup_point={"opening_hours": "   "}), 422, "pickup_point_invalid"),
    (_community(pickup_point={"contact_phone": "139"}), 422, "invalid_request"),
    (_community(name=""), 422, "invalid_request"),
    (_community(name="名" * 65), 422, "invalid_request"),
    (_community(address="址" * 256), 422, "invalid_request"),
    ({"name": "星河湾", "address": "星河路"}, 422, "invalid_request"),
    ({**NEW_COMMUNITY, "pickup_point": None}, 422, "invalid_request"),
    ({**NEW_COMMUNITY, "name": 42}, 422, "invalid_request"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_COMMUNITIES)
async def test_bad_communities_are_refused_and_change_nothing(client, bscene: BrandScene, ctx, body, status, code):
    before = await snapshot(ctx)
    response = await client.post(f"{b(bscene)}/communities", json=body, headers=bscene.owner.headers)
    assert response.status_code == status, response.text
    assert error_code(response) == code
    assert await snapshot(ctx) == before


async def test_not_json_at_all(client, bscene: BrandScene, ctx):
    before = await snapshot(ctx)
    response = await client.post(
        f"{b(bscene)}/communities", content=b"{not json", headers={**bscene.owner.headers, "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert error_code(response) == "body_not_json"
    assert await snapshot(ctx) == before


async def test_patch_changes_only_what_is_sent(client, world: World, bscene: BrandScene):
    url = f"{b(bscene)}/communities/{bscene.community}"
    original = (await client.get(url)).json()
    response = await client.patch(url, json={"pickup_point": {"opening_hours": "07:30-22:00"}}, headers=bscene.operator.headers)
    assert response.status_code == 200, response.text
    expected = {**original, "pickup_point": {**original["pickup_point"], "opening_hours": "07:30-22:00"}}
    assert response.json() == expected

    renamed = await client.patch(url, json={"name": "云顶华府一期", "address": "云顶路 1 号"}, headers=bscene.owner.headers)
    assert renamed.json()["name"] == "云顶华府一期"
    assert renamed.json()["address"] == "云顶路 1 号"
    assert renamed.json()["pickup_point"]["opening_hours"] == "07:30-22:00"
    assert (await client.patch(url, json={}, headers=bscene.owner.headers)).json() == renamed.json()

    # The leader's badge follows the community's new name.
    profile = (await client.get(f"{b(bscene)}/leader", headers=bscene.leader.actor.headers)).json()
    assert profile["badge"] == "云顶华府一期·优邻优选社区主理人"


async def test_bad_patches_change_nothing(client, world: World, bscene: BrandScene, ctx):
    await world.community(bscene.brand, "春风里")
    url = f"{b(bscene)}/communities/{bscene.community}"
    before = await snapshot(ctx)
    for body, status, code in (
        ({"name": "春风里"}, 409, "community_exists"),
        # Nothing of a request is kept when any part of it is refused.
        ({"name": "新名字", "pickup_point": {"contact_phone": "10000000000"}}, 422, "phone_invalid"),
        ({"name": "新名字", "pickup_point": {"contact_name": " "}}, 422, "pickup_point_invalid"),
        ({"address": " "}, 422, "community_address_invalid"),
        ({"name": ""}, 422, "invalid_request"),
        ({"pickup_point": {"opening_hours": "时" * 65}}, 422, "invalid_request"),
    ):
        response = await client.patch(url, json=body, headers=bscene.owner.headers)
        assert response.status_code == status, (body, response.text)
        assert error_code(response) == code
    for path in (f"{b(bscene)}/communities/{bscene.other_community}", f"{b(bscene)}/communities/999999"):
        response = await client.patch(path, json={"name": "改名"}, headers=bscene.owner.headers)
        assert response.status_code == 404
        assert error_code(response) == "community_not_found"
    assert await snapshot(ctx) == before


# --- Staff (owner only) -----------------------------------------------------------------------------


async def test_owner_lists_and_adds_staff(client, bscene: BrandScene):
    listed = await client.get(f"{b(bscene)}/staff", headers=bscene.owner.headers)
    assert listed.status_code == 200
    assert [(s["login_name"], s["role"]) for s in listed.json()["items"]] == [("boss", "owner"), ("ops", "operator")]

    created = await client.post(f"{b(bscene)}/staff", json=NEW_STAFF, headers=bscene.owner.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["login_name"] == "xiaomei" and body["role"] == "operator" and body["display_name"] == "小美"
    assert "password" not in str(body)

    page = (await client.get(f"{b(bscene)}/staff", params={"page": 2, "page_size": 2}, headers=bscene.owner.headers)).json()
    assert page["total"] == 3 and [s["login_name"] for s in page["items"]] == ["xiaomei"]

    # The new operator can log in and work for this brand, and only this brand.
    login = await client.post("/api/v1/auth/password-login", json={"login_name": "xiaomei", "password": "a-long-password"})
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    assert (await client.post(f"{b(bscene)}/communities", json=NEW_COMMUNITY, headers=headers)).status_code == 201
    assert (await client.get(f"{b(bscene)}/staff", headers=headers)).status_code == 403
    assert (await client.get(f"/api/v1/brands/{bscene.other_brand}/leaders", headers=headers)).status_code == 403


BAD_STAFF = [
    ({**NEW_STAFF, "login_name": "ops"}, 409, "login_name_taken"),  # taken in this brand
    ({**NEW_STAFF, "login_name": "other-boss"}, 409, "login_name_taken"),  # taken in another brand
    ({**NEW_STAFF, "password": "short"}, 422, "invalid_request"),
    ({**NEW_STAFF, "password": "p" * 129}, 422, "invalid_request"),
    ({**NEW_STAFF, "role": "admin"}, 422, "invalid_request"),
    ({**NEW_STAFF, "login_name": "有 空格"}, 422, "invalid_request"),
    ({**NEW_STAFF, "login_name": "ab"}, 422, "invalid_request"),
    ({**NEW_STAFF, "display_name": "   "}, 422, "display_name_invalid"),
    ({**NEW_STAFF, "display_name": ""}, 422, "invalid_request"),
    ({k: v for k, v in NEW_STAFF.items() if k != "role"}, 422, "invalid_request"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_STAFF)
async def test_bad_staff_are_refused_and_change_nothing(client, bscene: BrandScene, ctx, body, status, code):
    before = await snapshot(ctx)
    response = await client.post(f"{b(bscene)}/staff", json=body, headers=bscene.owner.headers)
    assert response.status_code == status, response.text
    assert error_code(response) == code
    assert await snapshot(ctx) == before


# --- Who may call what ---------------------------------------------------------------------------------

UNAUTHORIZED = (401, "unauthorized")
NOT_STAFF = (403, "staff_only")
STAFF_ONLY = {"anonymous": UNAUTHORIZED, "member": NOT_STAFF, "leader": NOT_STAFF, "other_owner": NOT_STAFF}
OWNER_ONLY = {**STAFF_ONLY, "operator": NOT_STAFF}


@dataclass
class Spec:
    method: str
    path: Callable[[BrandScene], str]
    denied: dict[str, tuple[int, str]]
    allowed: list[str]  # every role that succeeds; the last one may change something
    ok: int = 200
    body: dict | None = None
    public: bool = field(default=False)


SPECS = {
    "brand": Spec("GET", b, {}, ["anonymous", "member", "leader", "other_owner"], public=True),
    "communities": Spec("GET", lambda s: f"{b(s)}/communities", {}, ["anonymous", "member", "other_owner"], public=True),
    "community": Spec(
        "GET", lambda s: f"{b(s)}/communities/{s.community}", {}, ["anonymous", "leader", "other_owner"], public=True
    ),
    "create-community": Spec(
        "POST", lambda s: f"{b(s)}/communities", STAFF_ONLY, ["operator"], ok=201, body=NEW_COMMUNITY
    ),
    "update-community": Spec(
        "PATCH", lambda s: f"{b(s)}/communities/{s.community}", STAFF_ONLY, ["owner", "operator"],
        body={"pickup_point": {"opening_hours": "全天"}},
    ),
    "list-staff": Spec("GET", lambda s: f"{b(s)}/staff", OWNER_ONLY, ["owner"]),
    "create-staff": Spec("POST", lambda s: f"{b(s)}/staff", OWNER_ONLY, ["owner"], ok=201, body=NEW_STAFF),
}


def headers_of(scene: BrandScene, role: str) -> dict[str, str]:
    actor = {
        "anonymous": None, "member": scene.member, "leader": scene.leader.actor, "operator": scene.operator,
        "owner": scene.owner, "other_owner": scene.other_owner,
    }[role]
    return actor.headers if actor is not None else {}


@pytest.mark.parametrize("name", list(SPECS))
async def test_who_may_call(client, bscene: BrandScene, ctx, name):
    spec = SPECS[name]
    path = spec.path(bscene)
    before = await snapshot(ctx)
    for role, (status, code) in spec.denied.items():
        response = await client.request(spec.method, path, json=spec.body, headers=headers_of(bscene, role))
        assert response.status_code == status, (role, response.text)
        assert error_code(response) == code
    assert await snapshot(ctx) == before
    for role in spec.allowed:
        response = await client.request(spec.method, path, json=spec.body, headers=headers_of(bscene, role))
        assert response.status_code == spec.ok, (role, response.text)


@pytest.mark.parametrize("name", [n for n, s in SPECS.items() if not s.public])
async def test_unknown_brand_for_staff_endpoints(client, bscene: BrandScene, ctx, name):
    spec = SPECS[name]
    path = spec.path(bscene).replace(f"/brands/{bscene.brand}", "/brands/987654")
    before = await snapshot(ctx)
    response = await client.request(spec.method, path, json=spec.body, headers=headers_of(bscene, "owner"))
    assert response.status_code == 404
    assert error_code(response) == "brand_not_found"
    response = await client.request(spec.method, path, json=spec.body)
    assert response.status_code == 401
    assert await snapshot(ctx) == before
