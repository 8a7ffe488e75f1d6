"""PATCH /api/v1/me: the display name."""

from __future__ import annotations

import pytest

from tests.accounts.conftest import error_code


async def test_rename(client, world):
    actor = await world.user()
    response = await client.patch("/api/v1/me", json={"display_name": "  李阿姨  "}, headers=actor.headers)
    assert response.status_code == 200
    assert response.json()["display_name"] == "李阿姨"
    assert (await client.get("/api/v1/me", headers=actor.headers)).json()["display_name"] == "李阿姨"


async def test_longest_name_and_emoji(client, world):
    actor = await world.user()
    for name in ("草" * 32, "🍓莓莓🍓", "Anna O'Neil", "👨\u200d👩\u200d👧一家", "李 阿姨", "Zoë"):
        response = await client.patch("/api/v1/me", json={"display_name": name}, headers=actor.headers)
        assert response.status_code == 200, name
        assert response.json()["display_name"] == name


@pytest.mark.parametrize("name", ["   ", "a\nb", "tab\there", "zero\u200bwidth", "\u202eevil", "bell\x07", "\ue000",
                                  "\u200d", "\u200d\u200d", "\u0301", "\u3000", "nul\x00"])
async def test_invisible_or_blank_names_are_refused(client, world, name):
    actor = await world.user(name="原名")
    response = await client.patch("/api/v1/me", json={"display_name": name}, headers=actor.headers)
    assert (response.status_code, error_code(response)) == (422, "display_name_invalid")
    assert (await client.get("/api/v1/me", headers=actor.headers)).json()["display_name"] == "原名"


@pytest.mark.parametrize("body", [{}, {"display_name": ""}, {"display_name": "草" * 33}, {"display_name": 7},
                                  {"display_name": None}, [], {"name": "x"}])
async def test_malformed_bodies_are_422(client, world, body):
    actor = await world.user(name="原名")
    response = await client.patch("/api/v1/me", json=body, headers=actor.headers)
    assert (response.status_code, error_code(response)) == (422, "invalid_request")


async def test_rename_needs_login(client):
    response = await client.patch("/api/v1/me", json={"display_name": "x"})
    assert (response.status_code, error_code(response)) == (401, "unauthorized")


async def test_rename_touches_only_me(client, world):
    me = await world.user(name="甲")
    other = await world.user(name="乙")
    await client.patch("/api/v1/me", json={"display_name": "丙"}, headers=me.headers)
    assert (await client.get("/api/v1/me", headers=other.headers)).json()["display_name"] == "乙"
