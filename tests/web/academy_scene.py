"""The demo's 成长中心 as the page tests find it: the course and its lessons, 小李 mentoring 王姐."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from linli.academy.models import Course, Lesson
from linli.accounts import service as accounts
from linli.accounts.models import User
from linli.context import AppContext
from linli.demo.academy import COURSE_TITLE
from linli.demo.cast import OWNER_LOGIN
from linli.leaders import service as leaders
from tests.web.workbench_scene import WANGJIE_PHONE, Demo, load


@dataclass
class AcademyDemo:
    demo: Demo
    course_id: int
    lesson_ids: list[int]
    wangjie_leader_id: int

    @property
    def brand_id(self) -> int:
        return self.demo.brand_id


async def require_the_course_for_regular(ctx: AppContext, scene: AcademyDemo) -> None:
    """What the owner can do in 等级与权益: 正式 asks for the demo's course as well as 20 bound members."""
    async with ctx.db.transaction() as s:
        program = await leaders.get_program(session=s, brand_id=scene.brand_id)
        levels = [{**lv, "required_course_ids": [scene.course_id] if lv["code"] == "regular" else []} for lv in program.levels]
        owner = await s.scalar(select(User).where(User.login_name == OWNER_LOGIN))
        await leaders.update_program(session=s, brand_id=scene.brand_id, levels=levels,
                                     invite_grace_hours=program.invite_grace_hours, actor_user_id=owner.id, now=ctx.clock.now())


async def load_academy(ctx: AppContext) -> AcademyDemo:
    demo = await load(ctx)
    async with ctx.db.read() as s:
        course = await s.scalar(select(Course).where(Course.title == COURSE_TITLE))
        lesson_ids = list(await s.scalars(select(Lesson.id).where(Lesson.course_id == course.id).order_by(Lesson.position)))
        user = await accounts.find_user_by_phone(session=s, phone=WANGJIE_PHONE)
        wangjie = await leaders.find_open_leader_for_user(session=s, brand_id=demo.brand_id, user_id=user.id)
    return AcademyDemo(demo=demo, course_id=course.id, lesson_ids=lesson_ids, wangjie_leader_id=wangjie.id)
