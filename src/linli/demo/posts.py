"""The demo's UGC: the brand's reward for a featured post (精选分享奖励, 满30减5) and two posts by 小李's neighbours in
云顶华府 — a recipe already approved in the feed, a 晒单 waiting in the console's 动态审核 queue."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.community import posts
from linli.coupons import templates
from linli.demo.cast import neighbour
from linli.images import check_photo
from linli.storage import FileStorage

REWARD_COUPON = "精选分享奖励"
APPROVED_TITLE = "草莓酸奶燕麦杯"
PENDING_TITLE = "今晚的草莓到了"


def picture(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), color).save(out, format="JPEG", quality=80)
    return out.getvalue()


async def demo_posts(
    s: AsyncSession, *, storage: FileStorage, brand_id: int, owner_user_id: int, now: datetime
) -> list[str]:
    """Returns the storage keys written (for the caller to remove if the transaction fails)."""
    reward = await templates.create_template(
        session=s, brand_id=brand_id, actor_user_id=owner_user_id, now=now,
        data=templates.TemplateInput(name=REWARD_COUPON, kind="fixed", amount_fen=500, threshold_fen=3000,
                                     valid_days=30, issue_quota=1000),
    )
    await posts.set_reward_template(session=s, brand_id=brand_id, template_id=reward.id, now=now)
    written: list[str] = []
    made = []
    for index, kind, title, body, colors, at in (
        (4, "recipe", APPROVED_TITLE, "草莓切丁，铺在无糖酸奶上，撒一把燕麦和坚果，早餐五分钟搞定。",
         [(214, 40, 60), (245, 235, 220)], now - timedelta(hours=5)),
        (5, "show", PENDING_TITLE, "小李团的草莓个头真大，孩子一口气吃了半盒。", [(200, 30, 50)], now - timedelta(minutes=20)),
    ):
        user = await accounts.find_user_by_phone(session=s, phone=neighbour(index)[0])
        assert user is not None
        created = await posts.create_post(
            session=s, storage=storage, brand_id=brand_id, user_id=user.id,
            new=posts.NewPost(kind=kind, title=title, body=body),
            photos=[check_photo(picture(c), index=i) for i, c in enumerate(colors)], now=at,
        )
        written += created.stored_keys
        made.append(created.post)
    await posts.approve(session=s, brand_id=brand_id, post_id=made[0].id, actor_user_id=owner_user_id,
                        now=now - timedelta(hours=4))
    return written
