"""The demo loads the story's cast, and loading it twice changes nothing."""

from sqlalchemy import func, select

from linli.attribution.models import AttributionEvent, Binding
from linli.demo import XIAOLI_PHONE, load_demo
from linli.live.models import CommunityOffer, LiveSession
from linli.models import metadata


async def _row_counts(ctx) -> dict[str, int]:
    async with ctx.db.read() as s:
        return {t.name: await s.scalar(select(func.count()).select_from(t)) for t in metadata.sorted_tables}


async def test_demo_loads_once_and_tells_how_to_use_it(ctx, client):
    summary = await load_demo(ctx)
    assert "小李" in summary and "curl -N" in summary
    counts = await _row_counts(ctx)
    assert await load_demo(ctx) == "demo data already loaded; nothing changed"
    assert await _row_counts(ctx) == counts

    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Binding)) == 22
        assert await s.scalar(select(func.count()).where(AttributionEvent.kind == "refused")) == 1
        live = await s.scalar(select(LiveSession))
        offer = await s.scalar(select(CommunityOffer))
    assert live.status == "live" and offer.status == "open" and (offer.price_fen, offer.quota) == (6800, 100)

    code = summary.split("invite code ")[1].split(":")[0]
    public = await client.get(f"/api/v1/invite-codes/{code}")
    assert public.status_code == 200
    assert "云顶华府·优邻优选社区主理人" in public.text
    assert XIAOLI_PHONE not in public.text
