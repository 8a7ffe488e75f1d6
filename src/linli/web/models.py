"""The pages' one table: a receipt per create form submitted, so that a double click creates once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, IdMixin, IdType


class FormReceipt(IdMixin, Base):
    """A create form (a product, a live session, a community offer) that was carried out, by its page-made key.

    Written in the transaction that creates the thing, so the unique (user, key) turns a second submit of
    the same form (a double click, a resent request) into a look-up of where the first one led."""

    __tablename__ = "web_form_receipts"
    __table_args__ = (UniqueConstraint("user_id", "form_key"),)

    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"))
    form_key: Mapped[str] = mapped_column(String(64))
    result_path: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime]
