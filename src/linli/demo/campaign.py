"""The demo's campaign material: the brand's 预告话术 and the strawberry evening's poster cover, so that every
leader's kit for tonight (made by the worker) reads like a real one."""

from __future__ import annotations

import io
from datetime import datetime

from PIL import Image, ImageDraw
from sqlalchemy.ext.asyncio import AsyncSession

from linli.catalog import service as catalog
from linli.marketing import interests
from linli.marketing import service as marketing
from linli.storage import FileStorage

STRAWBERRY_COPY = (
    "【{品牌}·{直播标题}】{开播时间}开播！丹东 99 红颜，当天采摘冷链直发，{小区}邻居专享价 68 元一盒，前 100 盒。"
    "我是社区主理人{团长}，下单后到小区自提点取货，坏果包赔。进直播间：{邀请链接}"
)


def strawberry_cover() -> bytes:
    """A cover drawn here (no photo ships with linli): strawberries on a warm background."""
    image = Image.new("RGB", (1500, 840), (255, 236, 228))
    draw = ImageDraw.Draw(image)
    for x, y, size in ((330, 470, 300), (750, 420, 360), (1170, 480, 290)):
        draw.ellipse((x - size // 2, y - size // 2, x + size // 2, y + size // 2 + size // 5), fill=(214, 40, 57))
        leaves = [(x - size // 3, y - size // 2 + 10), (x, y - size // 2 - 50), (x + size // 3, y - size // 2 + 10)]
        draw.polygon(leaves, fill=(56, 142, 60))
        for dx in range(-size // 3, size // 3 + 1, size // 6):
            for dy in range(-size // 4, size // 3, size // 6):
                draw.ellipse((x + dx - 6, y + dy - 9, x + dx + 6, y + dy + 9), fill=(255, 214, 102))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


async def campaign_material(s: AsyncSession, *, storage: FileStorage, brand_id: int, session_id: int, now: datetime) -> None:
    """Tonight's copy and cover, and an interest group of the neighbours who mostly buy fruit (the worker fills it)."""
    template = await marketing.create_template(
        session=s, brand_id=brand_id, name="草莓季预告", body=STRAWBERRY_COPY, is_default=False, now=now
    )
    await marketing.choose_template(session=s, brand_id=brand_id, session_id=session_id, template_id=template.id, now=now)
    await marketing.set_cover(
        session=s, storage=storage, brand_id=brand_id, session_id=session_id, data=strawberry_cover(), now=now
    )
    [fruit] = [c for c in await catalog.list_categories(session=s, brand_id=brand_id) if c.name == "时令水果"]
    await interests.create_group(session=s, brand_id=brand_id, now=now, data=interests.GroupInput(
        name="水果控", description="近一个月一半以上的钱花在水果上", category_ids=[fruit.id], window_days=30,
        min_share_bp=5000,
    ))
