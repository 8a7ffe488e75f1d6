"""Leaders (团长 / 社区主理人), their status history, invite codes and the brand's leader programme."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, IdMixin, IdType

# Statuses that hold a community: at most one leader per community may be in one of them.
HOLDING_STATUSES = ("active", "suspended")
# Statuses of a live application or leadership: at most one per member.
OPEN_STATUSES = ("applied", "active", "suspended")


def _status_in(statuses: tuple[str, ...]) -> Any:
    return text("status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")")


class Leader(IdMixin, Base):
    __tablename__ = "leaders"
    __table_args__ = (
        Index(
            "uq_leaders_community_holding",
            "community_id",
            unique=True,
            sqlite_where=_status_in(HOLDING_STATUSES),
            postgresql_where=_status_in(HOLDING_STATUSES),
        ),
        Index(
            "uq_leaders_member_open",
            "member_id",
            unique=True,
            sqlite_where=_status_in(OPEN_STATUSES),
            postgresql_where=_status_in(OPEN_STATUSES),
        ),
        Index("ix_leaders_brand_status", "brand_id", "status"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"))
    community_id: Mapped[int] = mapped_column(IdType, ForeignKey("communities.id"))
    status: Mapped[str] = mapped_column(String(16))  # applied, rejected, active, suspended, exited
    real_name: Mapped[str] = mapped_column(String(32))
    application_note: Mapped[str] = mapped_column(String(500), default="")
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    applied_at: Mapped[datetime]
    activated_at: Mapped[datetime | None]
    exited_at: Mapped[datetime | None]


class LeaderStatusChange(IdMixin, Base):
    """Append-only history of who moved a leader between statuses, and why."""

    __tablename__ = "leader_status_changes"

    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    actor_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    changed_at: Mapped[datetime]


class InviteCode(IdMixin, Base):
    """A leader's invite code. One active code per leader; rotated codes work until grace_until."""

    __tablename__ = "invite_codes"
    __table_args__ = (
        Index(
            "uq_invite_codes_leader_active",
            "leader_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    leader_id: Mapped[int] = mapped_column(IdType, ForeignKey("leaders.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # active, rotated, revoked
    created_at: Mapped[datetime]
    grace_until: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class LeaderProgram(Base):
    """A brand's leader programme: levels with their thresholds and rights, the invite-code grace period."""

    __tablename__ = "leader_programs"

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), primary_key=True)
    levels: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    invite_grace_hours: Mapped[int] = mapped_column(default=72)
    updated_at: Mapped[datetime]
    updated_by_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
