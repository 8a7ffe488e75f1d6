"""web.receipts: a create form carried out once, however many times (and however concurrently) it is sent."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from linli.catalog import service as catalog
from linli.catalog.models import Product
from linli.web import receipts
from linli.web.models import FormReceipt


async def create_once(ctx, *, brand_id: int, user_id: int, form_key: str) -> str:  # noqa: ANN001
    """What a create route does: check, create, seal; a form already carried out leads where it led."""
    try:
        async with ctx.db.transaction() as s:
            await receipts.check(s, user_id=user_id, form_key=form_key)
            product, _ = await catalog.create_product(
                session=s, brand_id=brand_id, now=ctx.clock.now(), product=catalog.ProductInput(name="赣南脐橙"),
            )
            path = f"/products/{product.id}"
            await receipts.seal(s, user_id=user_id, form_key=form_key, result_path=path, now=ctx.clock.now())
    except receipts.AlreadySubmitted as done:
        return done.result_path
    return path


async def products(ctx) -> int:  # noqa: ANN001
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(Product)) or 0)


async def test_the_same_form_sent_concurrently_creates_one(ctx, world):
    brand = await world.brand()
    staff = await world.staff(brand)
    paths = await asyncio.gather(*[create_once(ctx, brand_id=brand, user_id=staff.user_id, form_key="k1") for _ in range(4)])
    assert len(set(paths)) == 1 and await products(ctx) == 1
    async with ctx.db.read() as s:
        [receipt] = (await s.scalars(select(FormReceipt))).all()
    assert (receipt.user_id, receipt.form_key, receipt.result_path) == (staff.user_id, "k1", paths[0])


async def test_another_key_or_another_person_is_another_form(ctx, world):
    brand = await world.brand()
    one, two = await world.staff(brand), await world.staff(brand)
    first = await create_once(ctx, brand_id=brand, user_id=one.user_id, form_key="k1")
    assert await create_once(ctx, brand_id=brand, user_id=one.user_id, form_key="k2") != first
    assert await create_once(ctx, brand_id=brand, user_id=two.user_id, form_key="k1") != first
    assert await products(ctx) == 3


async def test_no_key_is_not_deduplicated(ctx, world):
    brand = await world.brand()
    staff = await world.staff(brand)
    for _ in range(2):
        await create_once(ctx, brand_id=brand, user_id=staff.user_id, form_key="")
    assert await products(ctx) == 2
