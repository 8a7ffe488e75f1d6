"""What a completed course does to the leader's level. Levels are computed whenever they are read
(`leaders.levels`), so a completion raises the level on every page and in every API answer at once; what the
`academy.course_completed` handler adds is the recompute that tells the leader: when the completion lifted
their level, an inbox message, once per leader and level."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.academy import mentors
from linli.academy import service as academy
from linli.leaders import service as leaders
from linli.notifications import service as notifications


@dataclass(frozen=True)
class LevelChange:
    before: dict
    after: dict

    @property
    def promoted(self) -> bool:
        return self.before["code"] != self.after["code"]


async def level_change(
    *, session: AsyncSession, brand_id: int, leader_id: int, course_id: int, now: datetime
) -> LevelChange:
    """The leader's level without this course's completion and with it, both as of now."""
    program = await leaders.get_program(session=session, brand_id=brand_id)
    bound = (await leaders.bound_member_counts(session=session, leader_ids={leader_id}, now=now)).get(leader_id, 0)
    completed = (await academy.completed_course_ids(session=session, leader_ids={leader_id}))[leader_id]
    return LevelChange(
        before=leaders.level_for(levels=program.levels, bound_members=bound, completed_course_ids=completed - {course_id}),
        after=leaders.level_for(levels=program.levels, bound_members=bound, completed_course_ids=completed),
    )


async def announce_promotion(
    *, session: AsyncSession, brand_id: int, leader_id: int, course_id: int, now: datetime
) -> LevelChange:
    change = await level_change(session=session, brand_id=brand_id, leader_id=leader_id, course_id=course_id, now=now)
    if change.promoted:
        leader = await leaders.get_leader(session=session, brand_id=brand_id, leader_id=leader_id)
        name = change.after["name"]
        await notifications.notify(
            session=session, user_id=await mentors.user_id_of_leader(session=session, leader=leader), kind="academy",
            title=f"恭喜升级为「{name}」团长",
            body=f"您完成了成长中心的课程，达到了「{name}」等级的全部要求。新的权益：{'、'.join(change.after.get('rights', []))}",
            dedupe_key=f"leader-level:{leader_id}:{change.after['code']}", now=now, brand_id=brand_id,
        )
    return change
