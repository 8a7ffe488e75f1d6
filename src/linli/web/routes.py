"""Every page route, in one router the application includes: outside the OpenAPI document (pages are not
the API) and marked as pages, so that their refusals are HTML (`linli.http.mark_page`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from linli.http import mark_page
from linli.web import (
    claims_member,
    claims_workbench,
    console,
    console_academy,
    console_academy_lessons,
    console_attribution,
    console_binding_policy,
    console_care,
    console_claims,
    console_commission,
    console_coupon_issuing,
    console_coupons,
    console_dashboard,
    console_groups,
    console_posts,
    console_host,
    console_interests,
    console_kits,
    console_leader_detail,
    console_leaders,
    console_levels,
    console_mentors,
    console_pick_list,
    console_products,
    console_pushes,
    console_reports,
    console_session_setup,
    console_sessions,
    console_wave,
    console_waves,
    console_withdrawals,
    home,
    invite,
    live_comments,
    live_room,
    member,
    member_groups,
    member_posts,
    member_coupons,
    member_inbox,
    member_leader,
    member_orders,
    member_pickup,
    member_settings,
    order_pages,
    signin,
    workbench,
    workbench_academy,
    workbench_dashboard,
    workbench_kits,
    workbench_group,
    workbench_feed,
    workbench_members,
    workbench_parcels,
    workbench_statements,
    workbench_withdrawals,
)

AREAS = (
    # Anyone, and the member's own pages.
    (home, signin, invite, member, live_room, live_comments, order_pages, claims_member),
    (member_orders, member_pickup, member_inbox, member_leader, member_groups, member_settings, member_coupons,
     member_posts),
    # The leader's workbench.
    (workbench, workbench_kits, workbench_parcels, workbench_withdrawals, claims_workbench, workbench_members,
     workbench_statements, workbench_dashboard, workbench_academy, workbench_group, workbench_feed),
    # The brand console; in the 团长 area, levels before the leader's own page (/console/leaders/levels is no id).
    (console, console_host, console_waves, console_wave, console_pick_list, console_claims),
    (console_products, console_sessions, console_session_setup, console_kits, console_interests, console_care, console_coupons,
     console_coupon_issuing),
    (console_leaders, console_levels, console_leader_detail, console_attribution, console_binding_policy),
    (console_commission, console_withdrawals, console_reports, console_dashboard),
    (console_academy, console_academy_lessons, console_mentors),
    (console_pushes, console_groups, console_posts),
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_page)])
for area in AREAS:
    for pages in area:
        router.include_router(pages.router)
