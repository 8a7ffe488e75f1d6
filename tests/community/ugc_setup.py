"""A stage for UGC tests: the coupons' stage (云顶华府 with 小李, 翠湖花园 with 王姐, a second brand) with the brand's
UGC reward template set, neighbours bound to 小李 and 王姐, and real pictures to upload."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from linli.community import posts
from linli.context import AppContext
from tests.coupons.setup import CouponStage, build_coupon_stage, make_template
from tests.factories import Actor, World, make_bound_member


def png(color: str = "red", size: int = 16) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, format="PNG")
    return out.getvalue()


def jpeg(color: str = "green") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(out, format="JPEG")
    return out.getvalue()


@dataclass
class UgcStage:
    cs: CouponStage
    template_id: int  # the brand's UGC reward: 满50减10
    author: Actor  # 小李's neighbour 小张
    neighbour: Actor  # another of 小李's neighbours
    far: Actor  # 王姐's neighbour, of 翠湖花园

    @property
    def brand_id(self) -> int:
        return self.cs.brand_id

    @property
    def community_id(self) -> int:
        return self.cs.stage.community_id


async def build_ugc_stage(world: World) -> UgcStage:
    ctx = world.ctx
    cs = await build_coupon_stage(world)
    template_id = await make_template(ctx, cs.brand_id, name="精选晒单奖励")
    async with ctx.db.transaction() as s:
        await posts.set_reward_template(session=s, brand_id=cs.brand_id, template_id=template_id, now=ctx.clock.now())
    author = await make_bound_member(world, cs.stage.leader, name="小张")
    neighbour = await make_bound_member(world, cs.stage.leader, name="刘阿姨")
    far = await make_bound_member(world, cs.stage.other_leader, name="陈先生")
    return UgcStage(cs=cs, template_id=template_id, author=author, neighbour=neighbour, far=far)


async def post_as(ctx: AppContext, us: UgcStage, actor: Actor, *, kind: str = "recipe", title: str = "草莓酸奶碗",
                  order_id: int | None = None, photos: int = 1) -> int:
    from linli.images import check_photo

    async with ctx.db.transaction() as s:
        made = await posts.create_post(
            session=s, storage=ctx.storage, brand_id=us.brand_id, user_id=actor.user_id,
            new=posts.NewPost(kind=kind, title=title, body="草莓切块，加酸奶和燕麦。", order_id=order_id),
            photos=[check_photo(png(c), index=i) for i, c in enumerate(["red", "blue", "green", "white", "black",
                                                                           "yellow"][:photos])],
            now=ctx.clock.now(),
        )
    return made.post.id
