from __future__ import annotations

from sqlalchemy import select

from linli.context import AppContext
from linli.marketing.models import CampaignKit, CopyTemplate, SessionCampaign
from linli.worker import run_until_idle


async def work(ctx: AppContext) -> None:
    """What the worker does next: deliver every pending event (kits are made there, never in the request)."""
    await run_until_idle(ctx)


async def kits_of(ctx: AppContext, session_id: int) -> dict[int, CampaignKit]:
    async with ctx.db.read() as s:
        rows = await s.scalars(select(CampaignKit).where(CampaignKit.session_id == session_id).order_by(CampaignKit.leader_id))
        return {k.leader_id: k for k in rows}


async def snapshot(ctx: AppContext) -> dict[str, list[tuple]]:
    """Everything the marketing context writes, to show that a refused request changed nothing."""
    async with ctx.db.read() as s:
        return {
            "templates": [(t.id, t.name, t.body, t.is_default) for t in await s.scalars(select(CopyTemplate).order_by(CopyTemplate.id))],
            "campaigns": [
                (c.session_id, c.copy_template_id, c.cover_key)
                for c in await s.scalars(select(SessionCampaign).order_by(SessionCampaign.id))
            ],
            "kits": [(k.id, k.version, k.status, k.fingerprint) for k in await s.scalars(select(CampaignKit).order_by(CampaignKit.id))],
        }


def error_code(response) -> str:  # noqa: ANN001
    return response.json()["error"]["code"]
