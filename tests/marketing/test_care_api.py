"""Automated care over HTTP: who may read and set a birthday (the member alone), who may manage the occasions (this
brand's staff), and bad input that changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from linli.marketing.models import CareOccasion, MemberBirthday
from linli.members import service as members
from tests.coupons.setup import make_template
from tests.marketing.conftest import Scene


async def _join(ctx, brand_id: int, user_id: int) -> None:
    async with ctx.db.transaction() as s:
        await members.get_or_create_member(session=s, brand_id=brand_id, user_id=user_id, now=ctx.clock.now())


async def _rows(ctx) -> tuple[list[tuple], list[tuple]]:
    async with ctx.db.read() as s:
        birthdays = [(b.member_id, b.month, b.day, b.year) for b in await s.scalars(select(MemberBirthday))]
        occasions = [(o.id, o.name, o.month, o.day, o.greeting, o.coupon_template_id, o.enabled)
                     for o in await s.scalars(select(CareOccasion).order_by(CareOccasion.id))]
    return birthdays, occasions


async def test_only_the_member_reads_and_sets_their_birthday(client, scene: Scene, ctx):
    await _join(ctx, scene.brand, scene.member.user_id)
    url = f"/api/v1/brands/{scene.brand}/me/birthday"
    assert (await client.get(url)).status_code == 401
    assert (await client.put(url, json={"month": 12, "day": 2})).status_code == 401
    set_ = await client.put(url, json={"month": 2, "day": 29}, headers=scene.member.headers)
    assert set_.status_code == 200 and set_.json() == {"brand_id": scene.brand, "month": 2, "day": 29, "year": None}
    # Another brand's people are not its members: 404, and they read nothing of it.
    for actor in (scene.other_owner, scene.other_leader.actor):
        assert (await client.get(url, headers=actor.headers)).status_code == 404
    # The member's leader (or staff) asking the same route reads only their own (none).
    for actor in (scene.leader.actor, scene.owner):
        mine = await client.get(url, headers=actor.headers)
        assert mine.status_code in (200, 404) and mine.json().get("month") is None
    assert (await client.get(url, headers=scene.member.headers)).json()["day"] == 29
    staff = await client.get(f"/api/v1/brands/{scene.brand}/care", headers=scene.owner.headers)
    assert staff.status_code == 200 and staff.json()["members_with_birthday"] == 1
    assert "29" not in str(staff.json()["holidays"]) and "month" not in str(staff.json()["members_with_birthday"])
    cleared = await client.delete(url, headers=scene.member.headers)
    assert cleared.status_code == 200 and cleared.json()["month"] is None


async def test_bad_birthdays_are_422_and_change_nothing(client, scene: Scene, ctx):
    await _join(ctx, scene.brand, scene.member.user_id)
    url = f"/api/v1/brands/{scene.brand}/me/birthday"
    assert (await client.put(url, json={"month": 6, "day": 1, "year": 1990}, headers=scene.member.headers)).status_code == 200
    before = await _rows(ctx)
    for body in ({"month": 2, "day": 30}, {"month": 0, "day": 1}, {"month": 2, "day": 29, "year": 2001},
                 {"month": 1, "day": 1, "year": 2099}, {"month": 10**12, "day": 1}, {"month": "x", "day": 1}):
        refused = await client.put(url, json=body, headers=scene.member.headers)
        assert refused.status_code == 422, (body, refused.text)
    assert (await client.put(url, json={"month": 2, "day": 30}, headers=scene.member.headers)).json()["error"]["code"] == "birthday_invalid"
    assert await _rows(ctx) == before


async def test_occasions_are_for_this_brands_staff_only(client, scene: Scene, ctx):
    base = f"/api/v1/brands/{scene.brand}/care"
    template_id = await make_template(ctx, scene.brand)
    holiday = {"name": "中秋节", "month": 9, "day": 25, "year": 2026, "greeting": "{品牌}祝{昵称}中秋快乐",
               "coupon_template_id": template_id}
    made = await client.post(f"{base}/holidays", json=holiday, headers=scene.owner.headers)
    assert made.status_code == 201
    holiday_id = made.json()["id"]
    calls = [("GET", base, None), ("PUT", f"{base}/birthday", {"greeting": "生日快乐"}),
             ("POST", f"{base}/holidays", holiday), ("PUT", f"{base}/holidays/{holiday_id}", holiday)]
    before = await _rows(ctx)
    for method, url, body in calls:
        assert (await client.request(method, url, json=body)).status_code == 401
        for actor in (scene.member, scene.leader.actor, scene.other_owner, scene.other_leader.actor):
            response = await client.request(method, url, json=body, headers=actor.headers)
            assert response.status_code == 403, (method, url, response.text)
    assert await _rows(ctx) == before
    for actor in (scene.owner, scene.operator):
        read = await client.get(base, headers=actor.headers)
        assert read.status_code == 200 and [h["name"] for h in read.json()["holidays"]] == ["中秋节"]
    turned_on = await client.put(f"{base}/birthday", json={"greeting": "{昵称}生日快乐", "coupon_template_id": template_id},
                                 headers=scene.operator.headers)
    assert turned_on.status_code == 200 and turned_on.json()["enabled"] is True


async def test_bad_occasions_are_refused_and_change_nothing(client, scene: Scene, ctx):
    base = f"/api/v1/brands/{scene.brand}/care"
    foreign = await make_template(ctx, scene.other_brand)
    ok = {"name": "元旦", "month": 1, "day": 1, "greeting": "新年快乐"}
    made = (await client.post(f"{base}/holidays", json=ok, headers=scene.owner.headers)).json()
    other_brand_holiday = (await client.post(f"/api/v1/brands/{scene.other_brand}/care/holidays", json=ok,
                                             headers=scene.other_owner.headers)).json()
    before = await _rows(ctx)
    cases = [
        ("POST", f"{base}/holidays", ok | {"month": 2, "day": 30}, 422, "care_date_invalid"),
        ("POST", f"{base}/holidays", ok | {"year": 2027, "month": 2, "day": 29}, 422, "care_date_invalid"),
        ("POST", f"{base}/holidays", ok | {"name": " "}, 422, "care_name_invalid"),
        ("POST", f"{base}/holidays", ok | {"greeting": "{电话}"}, 422, "care_greeting_invalid"),
        ("POST", f"{base}/holidays", ok | {"coupon_template_id": foreign}, 404, "coupon_template_not_found"),
        ("POST", f"{base}/holidays", ok | {"coupon_template_id": 999999}, 404, "coupon_template_not_found"),
        ("PUT", f"{base}/holidays/{made['id']}", ok | {"day": 32}, 422, "care_date_invalid"),
        ("PUT", f"{base}/holidays/{other_brand_holiday['id']}", ok, 404, "care_holiday_not_found"),
        ("PUT", f"{base}/birthday", {"greeting": "生日快乐", "coupon_template_id": foreign}, 404, "coupon_template_not_found"),
        ("PUT", f"{base}/birthday", {"greeting": "生日{快乐"}, 422, "care_greeting_invalid"),
    ]
    for method, url, body, status, code in cases:
        response = await client.request(method, url, json=body, headers=scene.owner.headers)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), (body, response.text)
    assert await _rows(ctx) == before
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(CareOccasion)) == 2
