"""What `linli demo` prints: read back from the database, so a second `make run` tells the same story."""

from __future__ import annotations

from linli.accounts import service as accounts
from linli.brands import service as brands
from linli.context import AppContext
from linli.demo.academy import COURSE_TITLE, LESSONS
from linli.demo.cast import (
    APPLICANT_PHONE,
    BRAND_SLUG,
    COMMUNITIES,
    DEMO_PASSWORD,
    OPERATOR_LOGIN,
    OWNER_LOGIN,
    STRAWBERRY_TITLE,
    WANGJIE_PHONE,
    XIAOLI_PHONE,
)
from linli.demo.coupons import FRUIT_COUPON, WELCOME_COUPON
from linli.fulfillment import service as fulfillment
from linli.leaders import invite_codes
from linli.leaders import service as leaders
from linli.live import service as live
from linli.money import yuan
from linli.pagination import PageParams
from linli.payouts import service as payouts


async def describe_demo(ctx: AppContext) -> str:
    base = ctx.settings.public_base_url
    now = ctx.clock.now()
    async with ctx.db.read() as s:
        brand = await brands.find_brand_by_slug(session=s, slug=BRAND_SLUG)
        assert brand is not None
        xiaoli = await _leader(s, brand_id=brand.id, phone=XIAOLI_PHONE)
        wangjie = await _leader(s, brand_id=brand.id, phone=WANGJIE_PHONE)
        codes = {}
        for name, leader in (("小李", xiaoli), ("王姐", wangjie)):
            code = await invite_codes.current_code(session=s, leader_id=leader.id)
            codes[name] = code.code if code is not None else "（无有效邀请码）"
        sessions, _ = await live.list_sessions(session=s, brand_id=brand.id, status="live",
                                               params=PageParams(page=1, page_size=50))
        strawberry = next((x for x in sessions if x.title == STRAWBERRY_TITLE), None)
        offer_ids = []
        if strawberry is not None:
            room = await live.room_state(session=s, session_id=strawberry.id, now=now)
            offer_ids = [view.offer.id for view in room.offers]
        parcels, _ = await fulfillment.list_parcels(
            session=s, brand_id=brand.id, community_id=xiaoli.community_id, wave_id=None, status="arrived",
            params=PageParams(page=1, page_size=50),
        )
        figures = await payouts.leader_figures(session=s, brand_id=brand.id, leader_id=xiaoli.id, now=now)

    link = invite_codes.invite_link(base_url=base, code=codes["小李"])
    lines = [
        f"open {base}/ in a browser (dev mode: the SMS code is shown on the sign-in page), and sign in as:",
        f"  the brand (console, host panel): 品牌员工登录 {OWNER_LOGIN} / {DEMO_PASSWORD}",
        f"  leader 小李 (workbench): 手机号登录 {XIAOLI_PHONE}; 王姐 {WANGJIE_PHONE}",
        "  a neighbour of 小李: 手机号登录 13900000001; a new neighbour (13900000023) opens 小李's link "
        f"{link}",
        "",
        f"demo: brand 优邻优选 (id {brand.id}), communities {', '.join(c.name for c in COMMUNITIES)}",
        f"staff login: {OWNER_LOGIN} / {DEMO_PASSWORD} (owner), {OPERATOR_LOGIN} / {DEMO_PASSWORD} (operator)",
        f"leader 小李 ({XIAOLI_PHONE}) invite code {codes['小李']}: {link}",
        f"leader 王姐 ({WANGJIE_PHONE}) invite code {codes['王姐']}",
        f"tonight's campaign kits (poster with each leader's QR code, copy to paste): {base}/brands/{brand.id}/leader/kits",
        f"pending application: 赵哥 ({APPLICANT_PHONE}) for 锦绣江南",
        f"成长中心 (academy): {COURSE_TITLE}, {len(LESSONS)} lessons; 小李 mentors 王姐 "
        f"(workbench {base}/brands/{brand.id}/leader/academy); approving 赵哥 assigns him a mentor automatically",
        "members: 13900000001-13900000014 came in through 小李, 13900000015-13900000022 through 王姐, "
        "13900000023-13900000036 are not bound yet",
    ]
    if strawberry is not None and offer_ids:
        lines += [
            f"live now: 黄金奶油草莓 session {strawberry.id}, 云顶华府 offer {offer_ids[0]} (68 元, first 100, 2 per member)",
            f"follow it: curl -N {base}/api/v1/live-sessions/{strawberry.id}/events",
        ]
    if parcels:
        lines += [
            "waiting at 云顶华府自提点, pickup codes to verify as 小李: "
            + ", ".join(f"{v.parcel.pickup_code} ({v.member_name})" for v in parcels),
            f"verify one: POST {base}/api/v1/brands/{brand.id}/leader/pickups "
            f"{{\"code\": \"{parcels[0].parcel.pickup_code}\"}} with 小李's token (docs/fulfillment.md)",
        ]
    lines += [
        f"coupons: 13900000001-13900000003 hold {FRUIT_COUPON} (时令水果, pick it in the room's buy form, "
        f"see /me/coupons); a neighbour bound from now gets {WELCOME_COUPON} (9.5折); the brand's 优惠券 page: "
        f"{base}/brands/{brand.id}/console/coupons",
        f"小李 can withdraw ¥{yuan(figures.available_fen)} now (last week's grapes, settled T+1; minimum "
        f"¥{yuan(figures.policy.min_amount_fen)}): POST {base}/api/v1/brands/{brand.id}/leader/withdrawals",
        "members and leaders log in with an SMS code: POST /api/v1/auth/sms-codes, then read it with "
        "`.venv/bin/linli sms-inbox --phone <phone>`",
    ]
    return "\n".join(lines)


async def _leader(s, *, brand_id: int, phone: str):  # noqa: ANN001, ANN202
    user = await accounts.find_user_by_phone(session=s, phone=phone)
    assert user is not None
    leader = await leaders.find_open_leader_for_user(session=s, brand_id=brand_id, user_id=user.id)
    assert leader is not None
    return leader
