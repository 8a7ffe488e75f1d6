"""The 成长中心 as a leader sees it (the API's `GET …/leader/academy` and the workbench page read this one view):
their level and what the next one takes, courses included; the courses with their progress; their mentor; and,
for a mentor, their mentees with theirs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from linli.academy import mentors, progress
from linli.academy import service as academy
from linli.leaders import service as leaders
from linli.leaders.models import Leader


@dataclass(frozen=True)
class RequiredCourse:
    id: int
    title: str
    completed: bool


@dataclass(frozen=True)
class Overview:
    view: leaders.LeaderView
    courses: list[progress.CourseProgress]
    next_level_courses: list[RequiredCourse]  # what the next level requires, in its order
    mentor: mentors.MentorCard | None
    mentee_count: int

    @property
    def level(self) -> dict:
        return self.view.progress.level

    @property
    def next_level(self) -> dict | None:
        return self.view.progress.next_level


async def leader_overview(*, session: AsyncSession, brand_id: int, leader: Leader, now: datetime) -> Overview:
    [view] = await leaders.describe_leaders(session=session, brand_id=brand_id, leaders=[leader], now=now)
    required = leaders.required_courses(view.progress.next_level) if view.progress.next_level else []
    completed = (await academy.completed_course_ids(session=session, leader_ids={leader.id}))[leader.id]
    titles = await academy.course_titles(session=session, brand_id=brand_id, course_ids=set(required))
    return Overview(
        view=view,
        courses=await progress.leader_courses(session=session, brand_id=brand_id, leader_id=leader.id),
        next_level_courses=[
            RequiredCourse(id=c, title=titles.get(c, f"课程 {c}"), completed=c in completed) for c in required
        ],
        mentor=await mentors.mentor_card(session=session, brand_id=brand_id, mentee_leader_id=leader.id),
        mentee_count=len(await mentors.mentees_of(session=session, brand_id=brand_id, mentor_leader_id=leader.id)),
    )


@dataclass(frozen=True)
class MenteeProgress:
    row: mentors.MenteeRow
    courses: list[progress.CourseProgress]


async def mentee_progress(*, session: AsyncSession, brand_id: int, mentor: Leader) -> list[MenteeProgress]:
    """The mentor's own mentees, each with their progress in every published course."""
    rows = await mentors.mentees_of(session=session, brand_id=brand_id, mentor_leader_id=mentor.id)
    found = await progress.progress_of(
        session=session, leader_ids={r.mentee.id for r in rows},
        course_list=await progress.published_courses(session=session, brand_id=brand_id),
    )
    return [MenteeProgress(row=r, courses=found[r.mentee.id]) for r in rows]
