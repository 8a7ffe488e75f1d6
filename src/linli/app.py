"""The FastAPI application: every context's routes under /api/v1 (errors as JSON) and the web pages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from linli import __version__
from linli.academy.api import router as academy_router  # wire-up: the leader academy (issue 17)
from linli.accounts.api import router as accounts_router
from linli.aftersales import timeline as aftersales_timeline
from linli.aftersales.api import router as aftersales_router  # wire-up: after-sales claims (issue 5)
from linli.attribution.api import router as attribution_router
from linli.brands.api import router as brands_router
from linli.catalog.api import router as catalog_router
from linli.community.api import router as community_router  # wire-up: community groups (issue 17)
from linli.community.posts_api import router as posts_router  # wire-up: UGC posts (issue 17)
from linli.dashboards.api import router as dashboards_router  # wire-up: dashboards (issue 16)
from linli.context import AppContext
from linli.coupons.api import router as coupons_router  # wire-up: coupons (issue 17)
from linli.fulfillment import payment_timeline
from linli.fulfillment.api import router as fulfillment_router  # wire-up: fulfillment (issue 5)
from linli.fulfillment.tracking import register_timeline_source
from linli.health import router as health_router  # wire-up: /healthz and /metrics (issue 13)
from linli.leaders.api import router as leaders_router
from linli.ledger.api import router as ledger_router  # wire-up: commission ledger (issue 4)
from linli.live.api import router as live_router
from linli.marketing.api import router as marketing_router  # wire-up: campaign kits (issue 17)
from linli.marketing.interests_api import router as interests_router  # wire-up: interest groups (issue 17)
from linli.marketing.care_api import router as care_router  # wire-up: automated care (issue 17)
from linli.notifications.api import router as notifications_router  # wire-up: in-app inbox (issue 5)
from linli.notifications.pushes_api import router as pushes_router  # wire-up: pushes (issue 17)
from linli.openapi import install_api_docs
from linli.orders.api import router as orders_router
from linli.payments.api import router as payments_router
from linli.payouts.api import router as payouts_router  # wire-up: withdrawals (issue 4)
from linli.scheduler.api import router as scheduler_router  # wire-up: the brand's schedule (issue 13)
from linli.http import install_error_handlers
from linli.web.errors import install_error_pages
from linli.web.routes import router as web_router  # wire-up: the pages (issue 14)


def create_app(ctx: AppContext, *, dispose_on_shutdown: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        worker = None
        if ctx.settings.inprocess_worker:
            from linli.worker import run_forever

            worker = asyncio.create_task(run_forever(ctx, stop))
        yield
        stop.set()
        if worker is not None:
            await worker
        simulator = ctx.payments.get("simulator")
        if simulator is not None and hasattr(simulator, "drain"):
            await simulator.drain()  # let delayed simulator callbacks land before the database closes
        payout_simulator = ctx.payouts.get("simulator")
        if payout_simulator is not None and hasattr(payout_simulator, "drain"):
            await payout_simulator.drain()
        await ctx.stop_background()  # the live room's tails and LISTEN connection, before the database closes
        if dispose_on_shutdown:
            await ctx.db.dispose()

    app = FastAPI(
        title="linli 邻里",
        version=__version__,
        description="私域直播 + 社区分销：品牌、团长（社区主理人）与邻居用户的一体化系统。",
        lifespan=lifespan,
        docs_url=None,  # /docs is served by install_api_docs from vendored assets
        redoc_url=None,  # ReDoc would load its script from a CDN
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    install_error_pages(app)
    # Routes are matched in order: the live-room rush (orders, payments, the room) comes first.
    for router in (
        orders_router,
        payments_router,
        live_router,
        accounts_router,
        brands_router,
        leaders_router,
        attribution_router,
        catalog_router,
        ledger_router,  # wire-up: commission ledger (issue 4)
        payouts_router,  # wire-up: withdrawals (issue 4)
        fulfillment_router,  # wire-up: fulfillment (issue 5)
        notifications_router,  # wire-up: in-app inbox (issue 5)
        aftersales_router,  # wire-up: after-sales claims (issue 5)
        scheduler_router,  # wire-up: the brand's schedule (issue 13)
        dashboards_router,  # wire-up: dashboards (issue 16)
        marketing_router,  # wire-up: campaign kits (issue 17)
        interests_router,  # wire-up: interest groups (issue 17)
        care_router,  # wire-up: automated care (issue 17)
        academy_router,  # wire-up: the leader academy (issue 17)
        pushes_router,  # wire-up: pushes (issue 17)
        community_router,  # wire-up: community groups (issue 17)
        posts_router,  # wire-up: UGC posts (issue 17)
        coupons_router,  # wire-up: coupons (issue 17)
        health_router,  # wire-up: /healthz and /metrics (issue 13)
        web_router,  # wire-up: the pages (issue 14)
    ):
        app.include_router(router)
    # The order timeline (fulfillment) shows the claims of after-sales and the refunded payments an order
    # could not keep, without reading their tables.
    register_timeline_source(aftersales_timeline.timeline_entries)
    register_timeline_source(payment_timeline.timeline_entries)

    install_api_docs(app)
    return app
