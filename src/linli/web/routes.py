"""Every page route, in one router the application includes: outside the OpenAPI document (pages are not
the API) and marked as pages, so that their refusals are HTML (`linli.http.mark_page`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from linli.http import mark_page
from linli.web import (
    console,
    invite,
    live_room,
    member,
    order_pages,
    signin,
    workbench,
    workbench_members,
    workbench_parcels,
    workbench_statements,
    workbench_withdrawals,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_page)])
for pages in (signin.router, invite.router, member.router, live_room.router, order_pages.router):
    router.include_router(pages)
for pages in (workbench.router, workbench_parcels.router, workbench_withdrawals.router):
    router.include_router(pages)
for pages in (workbench_members.router, workbench_statements.router):
    router.include_router(pages)
for pages in (console.router,):
    router.include_router(pages)
