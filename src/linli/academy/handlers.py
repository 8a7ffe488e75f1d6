"""Outbox handlers of the academy.

| topic | emitted by | payload read | what the academy does |
| --- | --- | --- | --- |
| `leader.approved` | leaders.approve (applied → active) | `leader_id`, `brand_id` | assigns a mentor when the brand turned auto-assign on (`mentors.auto_assign`) |
| `academy.course_completed` | completion (a leader's last published lesson of a course done, once) | `leader_id`, `brand_id`, `course_id` | recomputes the leader's level; a promotion is told in the inbox once (`levels.announce_promotion`) |
| `academy.mentor_assigned` | mentors.assign_mentor (staff or auto) | `mentorship_id`, `mentee_leader_id`, `mentor_leader_id`, `brand_id` | tells the mentee who their mentor is, and the mentor who their new mentee is (inbox, once each) |

All are idempotent: a mentee with a mentor keeps them, and the inbox deduplicates by key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.academy import levels, mentors
from linli.academy.models import Mentorship
from linli.brands import service as brands
from linli.context import AppContext
from linli.leaders import service as leaders
from linli.notifications import service as notifications
from linli.outbox.models import OutboxEvent
from linli.outbox.service import HandlerRegistry


async def tell_mentorship(*, session: AsyncSession, mentorship_id: int, now: datetime) -> None:
    row = await session.get(Mentorship, mentorship_id)
    if row is None or row.ended_at is not None:
        return  # replaced or ended before the worker came to it: nothing to tell
    mentee = await leaders.get_leader(session=session, brand_id=row.brand_id, leader_id=row.mentee_leader_id)
    mentor = await leaders.get_leader(session=session, brand_id=row.brand_id, leader_id=row.mentor_leader_id)
    names = await mentors.display_names(session=session, leader_list=[mentee, mentor])
    places = await brands.communities_by_ids(session=session, community_ids={mentee.community_id, mentor.community_id})
    for leader, title, body in (
        (mentee, "您有导师了", f"{names[mentor.id]}（{places[mentor.community_id].name}）是您的导师，可在成长中心查看。"),
        (mentor, "您有新学员", f"{names[mentee.id]}（{places[mentee.community_id].name}）成为您的学员，可在「我的学员」查看学习进度。"),
    ):
        await notifications.notify(
            session=session, user_id=await mentors.user_id_of_leader(session=session, leader=leader), kind="academy",
            title=title, body=body, dedupe_key=f"academy-mentorship:{row.id}:{leader.id}", now=now, brand_id=row.brand_id,
        )


def register(registry: HandlerRegistry, ctx: AppContext) -> None:  # noqa: ARG001 - the registrar signature
    async def leader_approved(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        await mentors.auto_assign(
            session=session, brand_id=int(event.payload["brand_id"]), mentee_leader_id=int(event.payload["leader_id"]),
            now=now,
        )

    async def course_completed(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        payload = event.payload
        await levels.announce_promotion(
            session=session, brand_id=int(payload["brand_id"]), leader_id=int(payload["leader_id"]),
            course_id=int(payload["course_id"]), now=now,
        )

    async def mentor_assigned(*, session: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        await tell_mentorship(session=session, mentorship_id=int(event.payload["mentorship_id"]), now=now)

    registry.register("leader.approved", leader_approved)
    registry.register("academy.course_completed", course_completed)
    registry.register(mentors.ASSIGNED_TOPIC, mentor_assigned)
