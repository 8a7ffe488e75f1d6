"""Values a database cannot store are a 422, never a 500, on both databases."""


async def test_nul_bytes_and_out_of_range_numbers_are_422(client, world):
    brand = await world.brand()
    owner = await world.staff(brand)
    community = await world.community(brand)
    applicant = await world.user()
    response = await client.post(
        f"/api/v1/brands/{brand}/leader-applications",
        json={"community_id": community, "real_name": "小\u0000李", "note": "hi"},
        headers=applicant.headers,
    )
    assert response.status_code in (201, 422), response.text
    assert response.status_code != 500
    big = await client.get(f"/api/v1/brands/{10**20}", headers=owner.headers)
    assert big.status_code in (404, 422)


async def test_ids_beyond_64_bits_are_refused_not_crashed(client, world):
    """Path ids are bounded (IdPath) and any value a driver cannot bind is a 422, on both databases."""
    brand = await world.brand()
    owner = await world.staff(brand)
    member = await world.user()
    huge = 10**20
    for method, path, headers in (
        ("GET", f"/api/v1/claims/{huge}", member.headers),
        ("GET", f"/api/v1/orders/{huge}/claims", member.headers),
        ("GET", f"/api/v1/claims/{huge}/photos/{huge}", member.headers),
        ("GET", f"/api/v1/brands/{huge}/claims", owner.headers),
        ("POST", f"/api/v1/brands/{brand}/claims/{huge}/decision", owner.headers),
    ):
        response = await client.request(method, path, headers=headers, json={"decision": "reject", "reason": "x"})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["code"] == "invalid_request"
