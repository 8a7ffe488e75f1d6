"""The SMS-sender interface. The default writes to a local inbox (`linli sms-inbox` shows it)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts.models import DevSmsMessage


class SmsSender(Protocol):
    async def send(self, *, session: AsyncSession, phone: str, body: str, now: datetime) -> None: ...


class InboxSmsSender:
    """Delivers into the dev_sms_messages table, in the caller's transaction."""

    async def send(self, *, session: AsyncSession, phone: str, body: str, now: datetime) -> None:
        session.add(DevSmsMessage(phone=phone, body=body, created_at=now))
