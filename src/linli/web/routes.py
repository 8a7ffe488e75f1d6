"""Every page route, in one router the application includes: outside the OpenAPI document (pages are not
the API) and marked as pages, so that their refusals are HTML (`linli.http.mark_page`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from linli.http import mark_page
from linli.web import console, home, invite, live_room, member, order_pages, signin, workbench, workbench_parcels, workbench_withdrawals
from linli.web import console_attribution, console_binding_policy, console_leader_detail, console_leaders, console_levels
from linli.web import console_pick_list, console_wave, console_waves
from linli.web import live_comments, member_inbox, member_leader, member_orders, member_pickup

router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_page)])
for pages in (home.router, signin.router, invite.router, member.router, live_room.router, order_pages.router):
    router.include_router(pages)
for pages in (live_comments.router, member_orders.router, member_pickup.router, member_inbox.router, member_leader.router):
    router.include_router(pages)
for pages in (workbench.router, workbench_parcels.router, workbench_withdrawals.router):
    router.include_router(pages)
for pages in (console.router, console_waves.router, console_wave.router, console_pick_list.router):
    router.include_router(pages)
# The console's 团长 area; levels before the leader's own page, since /console/leaders/levels is not a leader id.
for pages in (console_leaders.router, console_levels.router, console_leader_detail.router):
    router.include_router(pages)
for pages in (console_attribution.router, console_binding_policy.router):
    router.include_router(pages)
