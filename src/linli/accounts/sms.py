"""The SMS-sender interface and its providers, chosen by LINLI_SMS_PROVIDER.

`inbox` (the default) writes to a local inbox (`linli sms-inbox` shows it); `tencent` sends through Tencent
Cloud SMS (linli.accounts.tencent_sms). A sender either delivers the code or raises a DomainError, so the
caller's transaction rolls back and no code is stored that nobody received.

Besides login codes a sender carries notices: the pushes a brand sends by SMS (`linli.notifications.channels`),
with the same contract (delivered, or a DomainError saying why not).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts.models import DevSmsMessage
from linli.config import Settings
from linli.errors import DomainError

LOGIN_CODE_TEXT = "【邻里】您的登录验证码是 {code}，{minutes} 分钟内有效。"


class SmsUnavailable(DomainError):
    status_code = 503
    default_code = "sms_unavailable"
    default_message = "短信服务暂时不可用，请稍后再试"


class SmsSender(Protocol):
    async def send_login_code(
        self, *, session: AsyncSession, phone: str, code: str, valid_minutes: int, now: datetime
    ) -> None: ...

    async def send_notice(self, *, session: AsyncSession, phone: str, text: str, now: datetime) -> None: ...


class InboxSmsSender:
    """Delivers into the dev_sms_messages table, in the caller's transaction."""

    async def send_login_code(
        self, *, session: AsyncSession, phone: str, code: str, valid_minutes: int, now: datetime
    ) -> None:
        body = LOGIN_CODE_TEXT.format(code=code, minutes=valid_minutes)
        session.add(DevSmsMessage(phone=phone, body=body, created_at=now))

    async def send_notice(self, *, session: AsyncSession, phone: str, text: str, now: datetime) -> None:
        session.add(DevSmsMessage(phone=phone, body=text[:500], created_at=now))


def sms_sender_for(settings: Settings) -> SmsSender:
    if settings.sms_provider == "tencent":
        from linli.accounts.tencent_sms import TencentSmsSender  # the SDK is imported only where it is used

        return TencentSmsSender.from_settings(settings)
    return InboxSmsSender()
