"""A member is a user as known to one brand (a person may be a member of several brands)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, IdMixin, IdType


class Member(IdMixin, Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("brand_id", "user_id"),)

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"), index=True)
    joined_at: Mapped[datetime]
