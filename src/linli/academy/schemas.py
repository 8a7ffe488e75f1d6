from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from linli.academy.courses import MAX_BODY, MAX_MINUTES, MAX_SUMMARY, MAX_TITLE
from linli.academy.mentors import MAX_CAPACITY, MAX_CONTACT, MAX_MIN_DAYS
from linli.brands.schemas import MAX_ID

Status = Literal["draft", "published"]
LessonId = Annotated[int, Field(ge=1, le=MAX_ID)]


# --- Staff: courses and lessons --------------------------------------------------------------------


class CourseIn(BaseModel):
    title: str = Field(min_length=1, max_length=MAX_TITLE, examples=["新手主理人必修课"])
    summary: str = Field(default="", max_length=MAX_SUMMARY, examples=["开团第一周要会的三件事"])


class CoursePatch(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)
    summary: str | None = Field(default=None, max_length=MAX_SUMMARY)


class LessonIn(BaseModel):
    title: str = Field(min_length=1, max_length=MAX_TITLE, examples=["如何发布直播预告"])
    body: str = Field(min_length=1, max_length=MAX_BODY, examples=["开播前一天在邻居群发预告……"])
    video_url: str | None = Field(default=None, max_length=500, description="可选：http(s) 开头的视频地址")
    minutes: int = Field(ge=1, le=MAX_MINUTES, description="预计学习时长（分钟）", examples=[8])


class LessonPatch(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)
    body: str | None = Field(default=None, min_length=1, max_length=MAX_BODY)
    video_url: str | None = Field(default=None, max_length=500, description="空字符串表示去掉视频")
    minutes: int | None = Field(default=None, ge=1, le=MAX_MINUTES)


class LessonOrderIn(BaseModel):
    lesson_ids: list[LessonId] = Field(min_length=1, max_length=50, description="本课程全部课时的新顺序，每节一次")


class LessonOut(BaseModel):
    id: int
    course_id: int
    position: int
    title: str
    body: str
    video_url: str | None
    minutes: int
    status: Status
    updated_at: datetime


class CourseSummaryOut(BaseModel):
    id: int
    title: str
    summary: str
    status: Status
    lesson_count: int
    published_lesson_count: int
    published_at: datetime | None
    updated_at: datetime


class CourseOut(CourseSummaryOut):
    lessons: list[LessonOut]


# --- The leader: courses and progress --------------------------------------------------------------


class CourseProgressOut(BaseModel):
    id: int
    title: str
    summary: str
    lessons_done: int
    lessons_total: int
    minutes: int
    # Set once, when every published lesson was done; kept when lessons are added later (then done < total).
    completed_at: datetime | None


class LeaderLessonOut(BaseModel):
    id: int
    position: int
    title: str
    body: str
    video_url: str | None
    minutes: int
    done_at: datetime | None


class LeaderCourseOut(CourseProgressOut):
    lessons: list[LeaderLessonOut]


class LessonDoneOut(BaseModel):
    lesson_id: int
    done_at: datetime
    first_time: bool = Field(description="false：这节课之前已标记完成（重复提交），什么都没有改变")
    course_completed_now: bool = Field(description="true：这一次完成了整门课程")
    course: CourseProgressOut


class CourseRefOut(BaseModel):
    id: int
    title: str
    completed: bool


class NextLevelNeedsOut(BaseModel):
    code: str
    name: str
    members_needed: int
    courses: list[CourseRefOut] = Field(description="该等级要求的课程及是否已完成")


class MentorOut(BaseModel):
    display_name: str
    community_name: str
    contact: str | None = Field(description="导师自己公开的联系方式；导师暂停期间不显示")
    available: bool = Field(description="导师当前在任")
    since: datetime


class AcademyOut(BaseModel):
    level_code: str
    level_name: str
    next_level: NextLevelNeedsOut | None
    courses: list[CourseProgressOut]
    mentor: MentorOut | None
    mentee_count: int


class MenteeOut(BaseModel):
    leader_id: int
    display_name: str
    community_name: str
    status: str
    since: datetime
    how: Literal["staff", "auto"]
    courses: list[CourseProgressOut]


class ContactIn(BaseModel):
    contact: str = Field(max_length=MAX_CONTACT, description="给学员看的联系方式（如微信号）；空字符串表示不公开")


class ContactOut(BaseModel):
    contact: str


# --- Staff: mentors and rules ----------------------------------------------------------------------


class MentorRulesIn(BaseModel):
    auto_assign_mentor: bool = Field(description="新团长通过审核时自动安排导师")
    mentor_capacity: int = Field(ge=1, le=MAX_CAPACITY, description="每位导师最多同时带的学员数")
    mentor_min_days: int = Field(ge=0, le=MAX_MIN_DAYS, description="导师须担任团长满多少天")


class MentorRulesOut(BaseModel):
    auto_assign_mentor: bool
    mentor_capacity: int
    mentor_min_days: int
    updated_at: datetime | None


class MentorAssignIn(BaseModel):
    mentor_leader_id: int = Field(ge=1, le=MAX_ID)


class MentorshipOut(BaseModel):
    mentee_leader_id: int
    mentee_name: str
    mentee_community: str
    mentor_leader_id: int
    mentor_name: str
    mentor_community: str
    how: Literal["staff", "auto"]
    assigned_at: datetime


class MentorEndedOut(BaseModel):
    ended: bool = Field(description="false：这位团长当前没有导师，什么都没有改变")
