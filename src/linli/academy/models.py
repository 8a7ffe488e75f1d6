"""The leader academy (主理人成长中心): a brand's courses and their ordered lessons, what each leader has done,
who mentors whom, and the brand's academy settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, IdMixin, IdType

COURSE_STATUSES = ("draft", "published")


class Course(IdMixin, Base):
    __tablename__ = "academy_courses"
    __table_args__ = (Index("ix_academy_courses_brand_status", "brand_id", "status"),)

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    title: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16))  # draft, published
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    published_at: Mapped[datetime | None]  # the latest publication


class Lesson(IdMixin, Base):
    """One lesson of a course; `position` orders them (1, 2, … renumbered on every reorder)."""

    __tablename__ = "academy_lessons"
    __table_args__ = (Index("ix_academy_lessons_course_position", "course_id", "position"),)

    course_id: Mapped[int] = mapped_column(IdType, ForeignKey("academy_courses.id"))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    video_url: Mapped[str | None] = mapped_column(String(500))
    minutes: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # draft, published
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LessonCompletion(IdMixin, Base):
    """A leader marked a lesson done: once (the unique key makes a double submit one row)."""

    __tablename__ = "academy_lesson_completions"
    __table_args__ = (
        UniqueConstraint("leader_id", "lesson_id"),
        Index("ix_academy_lesson_completions_leader_course", "leader_id", "course_id"),
    )

    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"))
    lesson_id: Mapped[int] = mapped_column(IdType, ForeignKey("academy_lessons.id"), index=True)
    course_id: Mapped[int] = mapped_column(IdType, ForeignKey("academy_courses.id"))
    done_at: Mapped[datetime]


class CourseCompletion(IdMixin, Base):
    """A leader completed a course: recorded once, with its time; it stays when lessons are added later."""

    __tablename__ = "academy_course_completions"
    __table_args__ = (UniqueConstraint("leader_id", "course_id"),)

    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"))
    course_id: Mapped[int] = mapped_column(IdType, ForeignKey("academy_courses.id"), index=True)
    completed_at: Mapped[datetime]


class Mentorship(IdMixin, Base):
    """A mentor (an experienced leader) for a leader; at most one current (not ended) per mentee."""

    __tablename__ = "academy_mentorships"
    __table_args__ = (
        Index(
            "uq_academy_mentorships_mentee_current",
            "mentee_leader_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_academy_mentorships_mentor_ended", "mentor_leader_id", "ended_at"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), index=True)
    mentee_leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"))
    mentor_leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"))
    how: Mapped[str] = mapped_column(String(16))  # staff, auto
    assigned_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    assigned_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))


class AcademySettings(Base):
    """A brand's mentoring rules; a brand without a row has the defaults (`mentors.DEFAULT_SETTINGS`)."""

    __tablename__ = "academy_settings"

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), primary_key=True)
    auto_assign_mentor: Mapped[bool]
    mentor_capacity: Mapped[int]
    mentor_min_days: Mapped[int]
    updated_at: Mapped[datetime]
    updated_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))


class MentorContact(Base):
    """What a mentor chose to show their mentees as a way to reach them (a WeChat id, a phone); never inferred."""

    __tablename__ = "academy_mentor_contacts"

    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"), primary_key=True)
    contact: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]
