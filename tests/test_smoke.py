async def test_healthz_and_unknown_route(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    response = await client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_world_builds_a_leader(world):
    brand = await world.brand()
    owner = await world.staff(brand)
    community = await world.community(brand)
    leader = await world.leader(brand, community, approver=owner)
    assert len(leader.code) == 8
