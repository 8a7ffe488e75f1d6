"""How attribution is shown to people, the same on the API and the pages: phones masked everywhere (the trail
is about attribution, not contact), and in a leader's views another leader by masked name only, with nothing
private to that leader (their invite code, the acting user)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from linli.attribution import service
from linli.attribution.models import AttributionEvent, Dispute
from linli.attribution.schemas import DisputeOut, LeaderBrief, MemberBrief, TrailEventOut
from linli.pagination import Page, PageParams
from linli.security import mask_name, mask_phone


def member_brief(info: service.MemberInfo | None, member_id: int) -> MemberBrief:
    return MemberBrief(
        member_id=member_id, phone=mask_phone(info.phone if info else None),
        display_name=info.display_name if info else "",
    )


def leader_brief(info: service.LeaderInfo | None, *, viewer_leader_id: int | None = None) -> LeaderBrief | None:
    if info is None:
        return None
    # A leader sees other leaders by masked name only.
    hidden = viewer_leader_id is not None and info.leader_id != viewer_leader_id
    return LeaderBrief(
        id=info.leader_id, name=mask_name(info.name) if hidden else info.name, community_name=info.community_name
    )


async def trail_page(
    session: AsyncSession, brand_id: int, events: list[AttributionEvent], total: int, params: PageParams,
    *, viewer_leader_id: int | None,
) -> Page[TrailEventOut]:
    member_info, leader_info = await service.describe(
        session=session, brand_id=brand_id, member_ids={e.member_id for e in events},
        leader_ids={i for e in events for i in (e.leader_id, e.previous_leader_id) if i is not None},
    )
    items = []
    for e in events:
        as_leader = viewer_leader_id is None or e.leader_id == viewer_leader_id
        items.append(
            TrailEventOut(
                id=e.id, kind=e.kind, reason=e.reason, reason_text=service.REASON_TEXT.get(e.reason, e.reason),
                occurred_at=e.occurred_at, member=member_brief(member_info.get(e.member_id), e.member_id),
                leader=leader_brief(leader_info.get(e.leader_id or 0), viewer_leader_id=viewer_leader_id),
                previous_leader=leader_brief(
                    leader_info.get(e.previous_leader_id or 0), viewer_leader_id=viewer_leader_id
                ),
                direction=None if viewer_leader_id is None else ("in" if as_leader else "out"),
                # Another leader's code and the acting user stay private in a leader's view.
                invite_code=e.invite_code if as_leader else None,
                actor_user_id=e.actor_user_id if viewer_leader_id is None else None,
                note=e.note,
            )
        )
    return Page(items=items, total=total, page=params.page, page_size=params.page_size)


async def dispute_views(
    session: AsyncSession, brand_id: int, disputes: list[Dispute], *, viewer_leader_id: int | None,
) -> list[DisputeOut]:
    member_info, leader_info = await service.describe(
        session=session, brand_id=brand_id, member_ids={d.member_id for d in disputes},
        leader_ids={i for d in disputes for i in (d.claimant_leader_id, d.bound_leader_id) if i is not None},
    )
    return [
        DisputeOut(
            id=d.id, member=member_brief(member_info.get(d.member_id), d.member_id),
            claimant=leader_brief(leader_info.get(d.claimant_leader_id), viewer_leader_id=viewer_leader_id),
            bound_leader=leader_brief(leader_info.get(d.bound_leader_id or 0), viewer_leader_id=viewer_leader_id),
            reason=d.reason, status=d.status, resolution_reason=d.resolution_reason,
            resolved_by_user_id=d.resolved_by_user_id if viewer_leader_id is None else None,
            opened_at=d.opened_at, resolved_at=d.resolved_at,
        )
        for d in disputes
    ]
