"""Provider notifications as payments and payouts receive them: the refusal, the replay window, the shape of
their fields, applying one.

Each context keeps its own error classes (their messages name the context: 支付 / 打款); the status, the
code and the checks are shared here.

A notification that is genuine (its signature verifies) can still carry fields of the wrong shape: an
object where a number is due, 10**30 fen, a list as a refund number. Each provider reads what it acts on
through a strict schema (`read_fields`: no coercion, identifiers of printable ASCII within their columns,
amounts within 64 bits) and anything else is a 422 `callback_malformed` before a row is read or written.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from linli.errors import DomainError, InvalidInput

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from linli.context import AppContext

# Notifications signed longer ago than this (or this far in the future) are refused as replays.
MAX_NOTIFICATION_AGE_SECONDS = 300


MAX_FEN = 2**63 - 1  # money columns are 64-bit

# Identifiers a provider sends (trade, refund, batch and notification numbers): printable ASCII, no spaces, so
# a NUL or a 10,000-character string never reaches a query or a column that would refuse it.
Id32 = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[!-~]+$")]
Id64 = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[!-~]+$")]
Word = Annotated[str, StringConstraints(max_length=64, pattern=r"^[!-~]*$")]  # a state or a code: SUCCESS, CLOSED
Text = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")]  # a reason a person reads
Fen = Annotated[int, Field(ge=1, le=MAX_FEN)]
Count = Annotated[int, Field(ge=0, le=2**31 - 1)]


class NotificationFields(BaseModel):
    """The fields of a notification linli reads: strict types (no "6800" for 6800, no true for 1); others ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


FieldsT = TypeVar("FieldsT", bound=NotificationFields)


def read_fields(model: type[FieldsT], data: object, *, message: str) -> FieldsT:
    """`data` read as `model`, or 422 `callback_malformed` naming the fields that are wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(part) for part in error["loc"]) or "(body)" for error in exc.errors()})
        raise InvalidInput(message, code="callback_malformed", details={"fields": fields[:10]}) from None


def require_storable(data: object, *, message: str) -> None:
    """A verified body is recorded as JSON: NaN and Infinity (which Python's JSON reader accepts) are malformed."""
    try:
        json.dumps(data, allow_nan=False)
    except ValueError:
        raise InvalidInput(message, code="callback_malformed", details={"fields": ["(non-finite number)"]}) from None


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
