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
