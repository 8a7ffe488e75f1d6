"""The demo's 成长中心: the brand's course for new leaders (新手主理人必修课, three lessons), 小李 mentoring 王姐 (who
has done the first lesson), and mentors assigned on approval from now on (approve 赵哥 in the console and he gets
小李). The leader programme stays the default, so a level asking for the course is the owner's to try
(团长 › 等级与权益)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from linli.academy import courses, mentors, progress

COURSE_TITLE = "新手主理人必修课"
LESSONS = (
    ("如何发布直播预告", 6, ("开播前一天晚上和开播前两小时，各在邻居群发一次预告：写清楚几点开播、主推什么、社区专享价多少、"
     "到哪里自提。\n配上作战包里的海报，海报上的二维码就是您的邀请链接，邻居扫码进直播间会自动绑定到您。\n"
     "预告里少用感叹号，多写一句自己的真实体验，比如「我昨天试吃了，甜度很高」。")),
    ("如何用好社区专享价", 8, ("社区专享价只给绑定在您名下的邻居，名额和限购由品牌设置，直播中由主播开放。\n"
     "开放前五分钟在群里提醒一次；开放后把直播间链接再发一遍，提醒邻居「先到先得，每人限购 2 盒」。\n"
     "名额抢完就是抢完，不要私下承诺补货：系统不会超卖，承诺了做不到反而伤信任。")),
    ("售后与坏果处理", 7, ("坏果先安抚、再拍照：请邻居拍清楚坏果和包装，在订单页「申请售后」提交，您也可以在工作台代为提交。\n"
     "小额且记录良好的申请会极速退款；其余由品牌审核，结果会通知到邻居。\n"
     "售后处理得好，是复购最好的理由：处理完在群里说一声，邻居都看得见。")),
)
DEMO_MIN_DAYS = 2  # the demo brand is a week old: its leaders of a week count as experienced
# 小李 took 王姐 on four days ago, before last week's evening (whose worker run, dated then, tells them both).
MENTORED_DAYS_AGO = 4


async def academy_demo(
    s: AsyncSession, *, brand_id: int, owner_id: int, xiaoli_id: int, wangjie_id: int, now: datetime
) -> None:
    written = now - timedelta(days=6)
    course = await courses.create_course(
        session=s, brand_id=brand_id, title=COURSE_TITLE, summary="开团第一周要会的三件事：发预告、用好专享价、做好售后。",
        now=written,
    )
    lesson_ids = []
    for title, minutes, body in LESSONS:
        lesson = await courses.add_lesson(
            session=s, brand_id=brand_id, course_id=course.id,
            data=courses.LessonInput(title=title, body=body, video_url=None, minutes=minutes), now=written,
        )
        await courses.set_lesson_status(session=s, brand_id=brand_id, lesson_id=lesson.id, status="published", now=written)
        lesson_ids.append(lesson.id)
    await courses.publish_course(session=s, brand_id=brand_id, course_id=course.id, now=written)

    await mentors.update_rules(
        session=s, brand_id=brand_id, auto_assign_mentor=True, mentor_capacity=mentors.DEFAULT_CAPACITY,
        mentor_min_days=DEMO_MIN_DAYS, actor_user_id=owner_id, now=written,
    )
    mentored = now - timedelta(days=MENTORED_DAYS_AGO)
    await mentors.assign_mentor(
        session=s, brand_id=brand_id, mentee_leader_id=wangjie_id, mentor_leader_id=xiaoli_id, actor_user_id=owner_id,
        now=mentored,
    )
    await progress.mark_lesson_done(
        session=s, brand_id=brand_id, leader_id=wangjie_id, lesson_id=lesson_ids[0], now=mentored + timedelta(hours=2)
    )
