"""What the payment and the payout simulators share: signing notifications like a provider and delivering them.

A simulator signs "timestamp\\nnonce\\nbody" with HMAC-SHA256 under a key derived from `LINLI_SECRET_KEY` and a
label of its own (so that no simulator's signature is valid for another one, or as any other keyed hash), in
three headers each simulator names. It verifies what it signed the same way (missing headers, a wrong
signature or a timestamp more than 5 minutes off are refused), and delivers notifications to the same code
as its notify endpoint, each in a transaction of its own, optionally after a delay and with duplicates,
exactly like a provider retrying.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from linli.callbacks import (
    CallbackSignatureInvalid,
    NotificationHandler,
    apply_notification,
    check_freshness,
    lower_headers,
)
from linli.errors import DomainError, InvalidInput, NotFound

if TYPE_CHECKING:
    from linli.context import AppContext

MAX_DELAY_MS = 60_000
MAX_DUPLICATES = 5

SimulatorT = TypeVar("SimulatorT", bound="NotifyingSimulator")


@dataclass(frozen=True)
class SignedNotification:
    headers: dict[str, str]
    body: bytes

    def as_json(self) -> dict[str, Any]:
        return {"headers": dict(self.headers), "body": self.body.decode()}


@dataclass(frozen=True)
class Completion:
    """What a simulator's `complete` did: the copies it sent and, unless scheduled, each one's outcome."""

    outcome: str
    scheduled: bool
    outcomes: list[str]
    notifications: list[SignedNotification]


def simulator_in(providers: Mapping[str, object], cls: type[SimulatorT], *, disabled_message: str) -> SimulatorT:
    """The deployment's simulator among `providers`; 404 simulator_disabled when it is switched off."""
    provider = providers.get("simulator")
    if not isinstance(provider, cls):
        raise NotFound(disabled_message, code="simulator_disabled")
    return provider


def check_delivery(*, delay_ms: int, duplicates: int) -> None:
    if not 0 <= delay_ms <= MAX_DELAY_MS or not 0 <= duplicates <= MAX_DUPLICATES:
        raise InvalidInput("延迟或重复次数超出范围", code="invalid_request")


class NotifyingSimulator:
    """The base of a simulator provider: its signing key, its headers and its courier of delayed deliveries."""

    name = "simulator"
    kind: ClassVar[str]  # "payment" / "payout", for messages and logs
    refused: ClassVar[type[CallbackSignatureInvalid]]  # the context's own refusal
    handler: ClassVar[NotificationHandler]  # the context's service.handle_notification

    def __init__(self, *, secret_key: str, key_label: bytes, headers: tuple[str, str, str]) -> None:
        if not secret_key:
            raise ValueError(f"the {self.kind} simulator needs a secret key")
        self._key = hmac.new(secret_key.encode(), key_label, hashlib.sha256).digest()
        self._timestamp_header, self._nonce_header, self._signature_header = headers
        self._deliveries: set[asyncio.Task[None]] = set()
        self._log = logging.getLogger(type(self).__module__)

    # --- signing --------------------------------------------------------------------------------

    def sign(self, *, timestamp: str, nonce: str, body: bytes) -> str:
        message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def signed(self, body: bytes, *, now: datetime) -> SignedNotification:
        timestamp = str(int(now.timestamp()))
        nonce = secrets.token_hex(16)
        return SignedNotification(
            headers={
                self._timestamp_header: timestamp,
                self._nonce_header: nonce,
                self._signature_header: self.sign(timestamp=timestamp, nonce=nonce, body=body),
                "Content-Type": "application/json",
            },
            body=body,
        )

    def verify(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        """Raises the context's CallbackSignatureInvalid unless this simulator signed `body` recently."""
        h = lower_headers(headers)
        timestamp = h.get(self._timestamp_header.lower(), "")
        nonce = h.get(self._nonce_header.lower(), "")
        signature = h.get(self._signature_header.lower(), "")
        if not timestamp or not nonce or not signature or len(nonce) > 64:
            raise self.refused(details={"reason": "headers_missing"})
        if not hmac.compare_digest(self.sign(timestamp=timestamp, nonce=nonce, body=body), signature.lower()):
            raise self.refused(details={"reason": "signature_mismatch"})
        check_freshness(timestamp, now, refused=self.refused)

    # --- deliveries -----------------------------------------------------------------------------

    async def send(
        self, ctx: AppContext, body: bytes, *, outcome: str, delay_ms: int, duplicates: int, now: datetime
    ) -> Completion:
        """Delivers `body` 1 + `duplicates` times, now or after `delay_ms` (then it answers at once)."""
        # A provider retrying re-signs the same notification (same id) with a fresh timestamp and nonce.
        notifications = [self.signed(body, now=now) for _ in range(1 + duplicates)]
        if delay_ms > 0:
            self.schedule(self._deliver_later(ctx, notifications, delay_ms))
            return Completion(outcome, True, [], notifications)
        outcomes = [await deliver(ctx, self, n) for n in notifications]
        return Completion(outcome, False, outcomes, notifications)

    def schedule(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Runs a delivery in the background, keeping a reference until it is done."""
        task = asyncio.create_task(coro)
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)
        return task

    @property
    def pending_deliveries(self) -> int:
        return len(self._deliveries)

    async def drain(self) -> None:
        """Waits for every scheduled delivery (tests, shutdown)."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)

    async def _deliver_later(self, ctx: AppContext, notifications: list[SignedNotification], delay_ms: int) -> None:
        await asyncio.sleep(delay_ms / 1000)
        for notification in notifications:
            try:
                outcome = await deliver(ctx, self, notification)
            except Exception:  # noqa: BLE001 - a provider retries too; log and go on with the next copy
                self._log.exception("simulated %s notification failed", self.kind)
                continue
            self._log.info("simulated %s notification delivered: %s", self.kind, outcome)


async def deliver(ctx: AppContext, provider: NotifyingSimulator, notification: SignedNotification) -> str:
    """What the notify endpoint does, in a transaction of its own; a refusal is reported, not raised."""
    try:
        return await apply_notification(
            ctx, handle=provider.handler, provider=provider, headers=notification.headers, body=notification.body
        )
    except DomainError as exc:
        return f"error:{exc.code}"
