from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from linli.pagination import Page


class NotificationOut(BaseModel):
    id: int
    brand_id: int | None
    kind: str
    title: str
    body: str
    order_id: int | None
    link: str | None
    created_at: datetime
    read_at: datetime | None


class InboxOut(Page[NotificationOut]):
    unread: int


class UnreadOut(BaseModel):
    unread: int


class MarkedOut(BaseModel):
    marked: int
