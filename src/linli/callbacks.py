"""Provider notifications as payments and payouts receive them: the refusal, the replay window, applying one.

Each context keeps its own error classes (their messages name the context: 支付 / 打款); the status, the
code and the checks are shared here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from linli.errors import DomainError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from linli.context import AppContext

# Notifications signed longer ago than this (or this far in the future) are refused as replays.
MAX_NOTIFICATION_AGE_SECONDS = 300


class CallbackSignatureInvalid(DomainError):
    """A notification that is not the provider's own (forged, tampered, stale): refused, nothing written."""

    status_code = 401
    default_code = "callback_signature_invalid"
    default_message = "通知签名无效"
    stale_message = "通知已过期"


class ProviderUnavailable(DomainError):
    """A transient provider failure: the caller retries later with the same numbers."""

    status_code = 502


class NotificationHandler(Protocol):
    """A context's `service.handle_notification`: verifies, records and applies one notification."""

    def __call__(
        self, *, session: AsyncSession, provider: Any, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> Awaitable[str]: ...


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def check_freshness(timestamp: str, now: datetime, *, refused: type[CallbackSignatureInvalid]) -> None:
    """Refuses (as `refused`) a notification whose signed timestamp is malformed or more than 5 minutes off."""
    try:
        signed_at = int(timestamp)
    except (TypeError, ValueError):
        raise refused(details={"reason": "timestamp_invalid"}) from None
    if abs(now.timestamp() - signed_at) > MAX_NOTIFICATION_AGE_SECONDS:
        raise refused(refused.stale_message, details={"reason": "timestamp_stale"})


async def apply_notification(
    ctx: AppContext, *, handle: NotificationHandler, provider: Any, headers: Mapping[str, str], body: bytes
) -> str:
    """Runs the context's handler on one notification, in a transaction of its own."""
    async with ctx.db.transaction() as session:
        return await handle(session=session, provider=provider, headers=headers, body=body, now=ctx.clock.now())
