"""Bad input is a clear 4xx with a stable code, never a 500 or a bare `http_error`, and changes nothing; lists
answer the documented envelope. On both databases."""

from linli.app import create_app


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


def _operations(schema: dict):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_no_list_answers_a_bare_array(ctx):
    """Every list answers {"items", "total", "page", "page_size"} (docs/api.md), never a top-level array."""
    schema = create_app(ctx, dispose_on_shutdown=False).openapi()
    components = schema["components"]["schemas"]
    bare, half = [], []
    for path, method, operation in _operations(schema):
        for status, response in operation["responses"].items():
            body = response.get("content", {}).get("application/json", {}).get("schema", {})
            if body.get("type") == "array":
                bare.append(f"{method.upper()} {path} {status}")
            ref = body.get("$ref", "").rsplit("/", 1)[-1]
            properties = components.get(ref, {}).get("properties", {})
            envelope = {"items", "total", "page", "page_size"}
            if properties.get("items", {}).get("type") == "array" and set(properties) < envelope:
                half.append(f"{method.upper()} {path} {status}")
    assert bare == [], bare
    assert half == [], half


async def test_a_body_that_is_not_utf8_is_a_422_that_says_so(client, world):
    member = await world.user(name="王姐")
    for method, path, headers in (
        ("POST", "/api/v1/auth/sms-codes", {}),
        ("PATCH", "/api/v1/me", member.headers),
    ):
        for body in (b'{"phone": "\xff\xfe", "display_name": "\xff"}', '{"display_name": "王姐家"}'.encode("gbk")):
            response = await client.request(
                method, path, content=body, headers={**headers, "content-type": "application/json"}
            )
            assert response.status_code == 422, (path, response.text)
            error = response.json()["error"]
            assert error["code"] == "body_not_utf8", error
            assert "UTF-8" in error["message"] and "请求" in error["message"]
    me = await client.get("/api/v1/me", headers=member.headers)
    assert me.json()["display_name"] == "王姐"  # nothing changed


async def test_malformed_bodies_are_clear_422s(client, world):
    member = await world.user()
    headers = {**member.headers, "content-type": "application/json"}
    broken = await client.patch("/api/v1/me", content=b'{"display_name": ', headers=headers)
    assert broken.status_code == 422
    assert broken.json()["error"]["code"] == "body_not_json"
    assert "JSON" in broken.json()["error"]["message"]
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        wrong = await client.patch(
            "/api/v1/me", content=b'{"display_name": "x"}', headers={**member.headers, "content-type": content_type}
        )
        assert wrong.status_code == 422, wrong.text
        assert wrong.json()["error"]["code"] == "body_not_json", wrong.text
    array = await client.patch("/api/v1/me", json=["x"], headers=member.headers)
    assert array.status_code == 422
    assert array.json()["error"]["code"] == "invalid_request"
    unreadable = await client.post(  # a multipart form without its boundary cannot be read at all
        "/api/v1/orders/1/claims", content=b"--x\r\nbroken", headers={
            **member.headers, "content-type": "multipart/form-data", "Idempotency-Key": "bad-body-0001",
        },
    )
    assert unreadable.status_code == 422, unreadable.text
    assert unreadable.json()["error"]["code"] == "body_malformed"


async def test_out_of_range_path_ids_are_422s_that_name_the_field(client, ctx, world):
    """Every integer path id is 1..2**63-1 in the OpenAPI document and answers 422 naming it outside that range."""
    schema = create_app(ctx, dispose_on_shutdown=False).openapi()
    stranger = await world.user()
    unbounded, unnamed = [], []
    for path, method, operation in _operations(schema):
        ids = [p for p in operation.get("parameters", []) if p["in"] == "path" and p["schema"].get("type") == "integer"]
        for param in ids:
            if (param["schema"].get("minimum"), param["schema"].get("maximum")) != (1, 2**63 - 1):
                unbounded.append((method.upper(), path, param["name"]))
            if any("text/event-stream" in r.get("content", {}) for r in operation["responses"].values()):
                continue
            for value in ("0", str(10**20)):
                url = path
                for other in ids:
                    url = url.replace("{" + other["name"] + "}", value if other is param else "1")
                url = url.replace("{code}", "NOSUCHCODE")
                response = await client.request(method, url, headers=stranger.headers)
                details = response.json()["error"].get("details") if response.status_code == 422 else None
                if not details or ["path", param["name"]] not in [d["loc"] for d in details]:
                    unnamed.append((method.upper(), url, response.status_code, response.text[:120]))
    assert unbounded == [], unbounded
    assert unnamed == [], unnamed
