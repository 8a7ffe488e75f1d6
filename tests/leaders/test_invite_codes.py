"""Invite codes: their alphabet, resolution, rotation with grace, revocation, QR codes and the short link."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linli import qrcodes
from linli.errors import InvalidInput
from linli.leaders import invite_codes
from tests.factories import World
from tests.leaders.conftest import Scene
from tests.leaders.helpers import error_code, png_size, snapshot
from tests.qr import scan

LOOK_ALIKES = set("0O1IL")


def base(scene: Scene) -> str:
    return f"/api/v1/brands/{scene.brand}"


# --- The alphabet (no database) -------------------------------------------------------------------


def test_alphabet_has_no_look_alikes():
    assert not LOOK_ALIKES & set(invite_codes.ALPHABET)
    assert len(set(invite_codes.ALPHABET)) == len(invite_codes.ALPHABET) == 31


def test_generated_codes_are_well_formed_and_do_not_repeat():
    codes = [invite_codes.generate_code() for _ in range(20_000)]
    assert all(len(code) == 8 and set(code) <= set(invite_codes.ALPHABET) for code in codes)
    assert len(set(codes)) == len(codes)  # 31^8 ≈ 8.5e11 possibilities: a repeat here would mean a broken source
    assert set("".join(codes)) == set(invite_codes.ALPHABET)  # every character gets drawn


alphabet_codes = st.text(alphabet=invite_codes.ALPHABET, min_size=8, max_size=8)


@given(code=alphabet_codes, lower=st.lists(st.booleans(), min_size=8, max_size=8), pad=st.sampled_from(["", " ", "\t", "  \n"]))
@settings(max_examples=300)
def test_normalize_accepts_any_case_and_padding(code, lower, pad):
    typed = "".join(ch.lower() if low else ch for ch, low in zip(code, lower, strict=True))
    assert invite_codes.normalize(pad + typed + pad) == code


@given(
    code=alphabet_codes,
    position=st.integers(min_value=0, max_value=7),
    bad=st.sampled_from(sorted(LOOK_ALIKES) + ["-", "_", "é", "码", "１"]),
)
@settings(max_examples=300)
def test_normalize_refuses_look_alikes_and_foreign_characters(code, position, bad):
    with pytest.raises(InvalidInput) as refused:
        invite_codes.normalize(code[:position] + bad + code[position + 1 :])
    assert refused.value.code == "invite_code_malformed"


@given(raw=st.text(alphabet=invite_codes.ALPHABET, max_size=20).filter(lambda s: len(s) != 8))
@settings(max_examples=200)
def test_normalize_refuses_other_lengths(raw):
    with pytest.raises(InvalidInput):
        invite_codes.normalize(raw)


# --- Resolution --------------------------------------------------------------------------------------


async def test_resolve_a_code_publicly(client, scene: Scene):
    response = await client.get(f"/api/v1/invite-codes/{scene.leader.code}")
    assert response.status_code == 200
    assert response.json() == {
        "code": scene.leader.code,
        "brand_id": scene.brand,
        "brand_name": "优邻优选",
        "community_id": scene.community,
        "community_name": "云顶华府",
        "leader_display_name": "李*",
        "badge": "云顶华府·优邻优选社区主理人",
        "grace_until": None,
    }
    # Typed by hand: lower case and stray spaces are fine.
    typed = await client.get(f"/api/v1/invite-codes/%20{scene.leader.code.lower()}%20")
    assert typed.status_code == 200
    assert typed.json()["code"] == scene.leader.code


@pytest.mark.parametrize("raw", ["ABC", "ABCDEFGHJ", "ABCD0FGH", "ABCDOFGH", "ABCD1FGH", "ABCDIFGH", "abcdlfgh", "ABCD-FGH", "%E9%82%80%E8%AF%B7%E7%A0%81%E5%95%8A%E5%95%8A%E5%95%8A"])
async def test_malformed_codes_are_422(client, scene: Scene, raw):
    response = await client.get(f"/api/v1/invite-codes/{raw}")
    assert response.status_code == 422
    assert error_code(response) == "invite_code_malformed"


async def test_absurdly_long_code_is_422(client, scene: Scene):
    response = await client.get("/api/v1/invite-codes/" + "A" * 500)
    assert response.status_code == 422
    assert error_code(response) == "invalid_request"


async def test_unknown_code_is_404(client, scene: Scene):
    unknown = next(c for c in (invite_codes.generate_code() for _ in range(10)) if c != scene.leader.code)
    response = await client.get(f"/api/v1/invite-codes/{unknown}")
    assert response.status_code == 404
    assert error_code(response) == "invite_code_unknown"


# --- Rotation -------------------------------------------------------------------------------------------


async def test_rotation_keeps_the_old_code_for_the_grace_period(client, scene: Scene, clock):
    headers = scene.leader.actor.headers
    old = scene.leader.code
    rotated = await client.post(f"{base(scene)}/leader/invite-code/rotate", headers=headers)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    new = body["invite"]["code"]
    assert new != old and len(new) == 8
    assert body["invite"]["link"] == f"http://127.0.0.1:8000/i/{new}"
    assert body["previous"]["code"] == old
    assert datetime.fromisoformat(body["previous"]["grace_until"]) == clock.now() + timedelta(hours=72)

    profile = (await client.get(f"{base(scene)}/leader", headers=headers)).json()
    assert profile["invite"]["code"] == new
    assert [c["code"] for c in profile["codes_in_grace"]] == [old]

    in_grace = await client.get(f"/api/v1/invite-codes/{old}")
    assert in_grace.status_code == 200
    assert in_grace.json()["grace_until"] is not None
    assert (await client.get(f"/api/v1/invite-codes/{new}")).json()["grace_until"] is None

    clock.advance(timedelta(hours=71, minutes=59))
    assert (await client.get(f"/api/v1/invite-codes/{old}")).status_code == 200
    clock.advance(timedelta(minutes=1))
    expired = await client.get(f"/api/v1/invite-codes/{old}")
    assert expired.status_code == 410
    assert error_code(expired) == "invite_code_expired"
    assert (await client.get(f"/api/v1/invite-codes/{new}")).status_code == 200
    profile = (await client.get(f"{base(scene)}/leader", headers=headers)).json()
    assert profile["codes_in_grace"] == []


async def test_grace_period_comes_from_the_programme(client, scene: Scene, clock):
    program = (await client.get(f"{base(scene)}/leader-program", headers=scene.owner.headers)).json()
    program["invite_grace_hours"] = 0
    assert (await client.put(f"{base(scene)}/leader-program", json=program, headers=scene.owner.headers)).status_code == 200
    old = scene.leader.code
    assert (await client.post(f"{base(scene)}/leader/invite-code/rotate", headers=scene.leader.actor.headers)).status_code == 200
    response = await client.get(f"/api/v1/invite-codes/{old}")
    assert response.status_code == 410
    assert error_code(response) == "invite_code_expired"

    program["invite_grace_hours"] = 2
    assert (await client.put(f"{base(scene)}/leader-program", json=program, headers=scene.owner.headers)).status_code == 200
    second = (await client.post(f"{base(scene)}/leader/invite-code/rotate", headers=scene.leader.actor.headers)).json()
    clock.advance(timedelta(hours=1, minutes=59))
    assert (await client.get(f"/api/v1/invite-codes/{second['previous']['code']}")).status_code == 200
    clock.advance(timedelta(minutes=1))
    assert (await client.get(f"/api/v1/invite-codes/{second['previous']['code']}")).status_code == 410


async def test_many_rotations_give_distinct_codes(client, scene: Scene):
    codes = {scene.leader.code}
    for _ in range(15):
        response = await client.post(f"{base(scene)}/leader/invite-code/rotate", headers=scene.leader.actor.headers)
        codes.add(response.json()["invite"]["code"])
    assert len(codes) == 16


# --- Revocation -------------------------------------------------------------------------------------------


async def test_leader_revokes_then_rotates_for_a_new_code(client, scene: Scene):
    headers = scene.leader.actor.headers
    old = scene.leader.code
    in_grace = (await client.post(f"{base(scene)}/leader/invite-code/rotate", headers=headers)).json()["invite"]["code"]

    revoked = await client.post(f"{base(scene)}/leader/invite-code/revoke", headers=headers)
    assert revoked.status_code == 200
    assert revoked.json() == {"revoked_count": 2}  # the current code and the one still in its grace period
    for code in (old, in_grace):
        response = await client.get(f"/api/v1/invite-codes/{code}")
        assert response.status_code == 410
        assert error_code(response) == "invite_code_revoked"

    profile = (await client.get(f"{base(scene)}/leader", headers=headers)).json()
    assert profile["invite"] is None and profile["codes_in_grace"] == []
    missing = await client.get(f"{base(scene)}/leader/invite-code/qr.png", headers=headers)
    assert missing.status_code == 404
    assert error_code(missing) == "invite_code_missing"
    assert (await client.post(f"{base(scene)}/leader/invite-code/revoke", headers=headers)).json() == {"revoked_count": 0}

    fresh = await client.post(f"{base(scene)}/leader/invite-code/rotate", headers=headers)
    assert fresh.status_code == 200
    assert fresh.json()["previous"] is None
    new = fresh.json()["invite"]["code"]
    assert new not in (old, in_grace)
    assert (await client.get(f"/api/v1/invite-codes/{new}")).status_code == 200


async def test_staff_revoke_a_leaders_codes(client, scene: Scene):
    response = await client.post(
        f"{base(scene)}/leaders/{scene.leader.leader_id}/invite-code/revoke", headers=scene.operator.headers
    )
    assert response.status_code == 200
    assert response.json() == {"revoked_count": 1}
    assert (await client.get(f"/api/v1/invite-codes/{scene.leader.code}")).status_code == 410
    detail = (await client.get(f"{base(scene)}/leaders/{scene.leader.leader_id}", headers=scene.operator.headers)).json()
    assert detail["current_invite_code"] is None
    assert detail["status"] == "active"  # revoking codes does not change the leader's status


async def test_suspension_stops_codes_and_reinstatement_restores_them(client, scene: Scene):
    url = f"{base(scene)}/leaders/{scene.leader.leader_id}"
    await client.post(f"{url}/suspend", json={"reason": "调查投诉"}, headers=scene.owner.headers)
    for path in (f"/api/v1/invite-codes/{scene.leader.code}", f"/api/v1/invite-codes/{scene.leader.code}/qr.png"):
        response = await client.get(path)
        assert response.status_code == 410
        assert error_code(response) == "leader_inactive"
    await client.post(f"{url}/reinstate", headers=scene.owner.headers)
    assert (await client.get(f"/api/v1/invite-codes/{scene.leader.code}")).status_code == 200


async def test_exit_revokes_codes_for_good(client, scene: Scene, clock):
    await client.post(f"{base(scene)}/leader/invite-code/rotate", headers=scene.leader.actor.headers)
    await client.post(
        f"{base(scene)}/leaders/{scene.leader.leader_id}/exit", json={"reason": "退出"}, headers=scene.owner.headers
    )
    response = await client.get(f"/api/v1/invite-codes/{scene.leader.code}")  # was in its grace period
    assert response.status_code == 410
    assert error_code(response) == "invite_code_revoked"


# --- QR codes ---------------------------------------------------------------------------------------------


async def test_qr_png_for_the_leader(client, scene: Scene, ctx):
    response = await client.get(f"{base(scene)}/leader/invite-code/qr.png", headers=scene.leader.actor.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    width, height = png_size(response.content)
    assert width == height and width >= 200
    assert len(response.content) > 300
    # A phone scans exactly the invite link from it: a regular QR code, never Micro QR.
    link = invite_codes.invite_link(base_url=ctx.settings.public_base_url, code=scene.leader.code)
    assert scan(response.content) == link
    assert response.content == qrcodes.qr_png(link)
    assert not qrcodes.qr_symbol(link).is_micro

    # The same picture from the public address given in the profile (usable in an <img> tag).
    profile = (await client.get(f"{base(scene)}/leader", headers=scene.leader.actor.headers)).json()
    public_path = profile["invite"]["qr_url"].removeprefix(ctx.settings.public_base_url)
    public = await client.get(public_path)
    assert public.status_code == 200
    assert public.content == response.content


async def test_public_qr_refuses_unusable_codes(client, scene: Scene):
    response = await client.get("/api/v1/invite-codes/0OIL0OIL/qr.png")
    assert response.status_code == 422
    await client.post(f"{base(scene)}/leader/invite-code/revoke", headers=scene.leader.actor.headers)
    response = await client.get(f"/api/v1/invite-codes/{scene.leader.code}/qr.png")
    assert response.status_code == 410
    assert response.headers["content-type"].startswith("application/json")


async def test_refused_code_requests_change_nothing(client, world: World, scene: Scene, ctx):
    """Resolving (even failing to) never writes; a suspended leader cannot rotate."""
    await client.post(
        f"{base(scene)}/leaders/{scene.leader.leader_id}/suspend", json={"reason": "调查"}, headers=scene.owner.headers
    )
    before = await snapshot(ctx)
    for path in ("/api/v1/invite-codes/ABCDEFGH", f"/api/v1/invite-codes/{scene.leader.code}", "/api/v1/invite-codes/x"):
        await client.get(path)
    response = await client.post(f"{base(scene)}/leader/invite-code/rotate", headers=scene.leader.actor.headers)
    assert response.status_code == 403
    assert error_code(response) == "leader_only"
    assert await snapshot(ctx) == before
