"""The local payout simulator: the default provider, and it behaves like a real one.

- `transfer` keeps one transfer per out_detail_no: asking again returns the same transfer (it never pays
  twice) and `submissions` counts how often it was asked. What a new transfer does depends on `mode`
  (LINLI_PAYOUT_SIMULATOR_MODE, changeable at runtime): `instant` pays at once, `pending` accepts it and
  waits (like WeChat Pay, which transfers asynchronously), `fail` refuses it.
- `complete` finishes a transfer on demand (paid or failed while pending; returned after paid): the
  simulator changes its own record, then sends notifications signed with HMAC-SHA256 under a key derived
  from `LINLI_SECRET_KEY` (headers X-Linli-Payout-Timestamp / -Nonce / -Signature over
  "timestamp\\nnonce\\nbody") to the same code as `POST /api/v1/payouts/simulator/notify`, optionally
  after a delay and with duplicates, exactly like a provider retrying. `query` reports the record, so a
  lost notification is made up by `linli payouts-sync`.
- Notifications older than 5 minutes, forged or tampered ones are refused and change nothing.

Its records live in memory (development and demos): after a restart a query answers NOT_FOUND and the
sync submits the transfer again under the same numbers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from linli.errors import Conflict, DomainError, InvalidInput, NotFound
from linli.payouts.providers import (
    FAILED,
    NOT_FOUND,
    PAID,
    PENDING,
    RETURNED,
    CallbackSignatureInvalid,
    PayoutNotification,
    TransferRequest,
    TransferResult,
)

if TYPE_CHECKING:
    from linli.config import Settings
    from linli.context import AppContext

log = logging.getLogger("linli.payouts.simulator")

TIMESTAMP_HEADER = "X-Linli-Payout-Timestamp"
NONCE_HEADER = "X-Linli-Payout-Nonce"
SIGNATURE_HEADER = "X-Linli-Payout-Signature"
MODES = ("instant", "pending", "fail")
OUTCOMES = (PAID, FAILED, RETURNED)
MAX_NOTIFICATION_AGE_SECONDS = 300
MAX_DELAY_MS = 60_000
MAX_DUPLICATES = 5
FAIL_REASON = "模拟打款失败（收款账户异常）"
RETURN_REASON = "模拟退回（收款账户已注销）"


@dataclass
class SimTransfer:
    out_batch_no: str
    out_detail_no: str
    amount_fen: int
    reference: str
    status: str
    reason: str | None = None
    submissions: int = 1

    def result(self) -> TransferResult:
        return TransferResult(status=self.status, reference=self.reference, provider_state=self.status.upper(),
                              reason=self.reason)


@dataclass(frozen=True)
class SignedNotification:
    headers: dict[str, str]
    body: bytes

    def as_json(self) -> dict[str, Any]:
        return {"headers": dict(self.headers), "body": self.body.decode()}


class SimulatorPayoutProvider:
    name = "simulator"

    def __init__(self, *, secret_key: str, mode: str = "instant") -> None:
        if not secret_key:
            raise ValueError("the payout simulator needs a secret key")
        if mode not in MODES:
            raise ValueError(f"payout simulator mode must be one of {', '.join(MODES)}")
        # A key of its own, so that a payout signature is never valid as a payment one (or any other hash).
        self._key = hmac.new(secret_key.encode(), b"linli/payouts/simulator/v1", hashlib.sha256).digest()
        self.mode = mode
        self.transfers: dict[str, SimTransfer] = {}
        self._deliveries: set[asyncio.Task[None]] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> SimulatorPayoutProvider:
        return cls(secret_key=settings.secret_key, mode=settings.payout_simulator_mode)

    # --- the provider interface -----------------------------------------------------------------

    async def transfer(self, request: TransferRequest) -> TransferResult:
        existing = self.transfers.get(request.out_detail_no)
        if existing is not None:
            if (existing.out_batch_no, existing.amount_fen) != (request.out_batch_no, request.amount_fen):
                return TransferResult(status=FAILED, provider_state="PARAM_ERROR", reason="商户明细单号已用于另一笔转账")
            existing.submissions += 1
            return existing.result()
        status = {"instant": PAID, "pending": PENDING, "fail": FAILED}[self.mode]
        record = SimTransfer(
            out_batch_no=request.out_batch_no, out_detail_no=request.out_detail_no, amount_fen=request.amount_fen,
            reference="SIMP" + secrets.token_hex(12), status=status, reason=FAIL_REASON if status == FAILED else None,
        )
        self.transfers[request.out_detail_no] = record
        return record.result()

    async def query(self, *, out_batch_no: str, out_detail_no: str) -> TransferResult:
        record = self.transfers.get(out_detail_no)
        if record is None or record.out_batch_no != out_batch_no:
            return TransferResult(status=NOT_FOUND)
        return record.result()

    def parse_notification(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> PayoutNotification:
        h = {str(k).lower(): str(v) for k, v in headers.items()}
        timestamp = h.get(TIMESTAMP_HEADER.lower(), "")
        nonce = h.get(NONCE_HEADER.lower(), "")
        signature = h.get(SIGNATURE_HEADER.lower(), "")
        if not timestamp or not nonce or not signature or len(nonce) > 64:
            raise CallbackSignatureInvalid(details={"reason": "headers_missing"})
        if not hmac.compare_digest(self.sign(timestamp=timestamp, nonce=nonce, body=body), signature.lower()):
            raise CallbackSignatureInvalid(details={"reason": "signature_mismatch"})
        try:
            signed_at = int(timestamp)
        except ValueError:
            raise CallbackSignatureInvalid(details={"reason": "timestamp_invalid"}) from None
        if abs(now.timestamp() - signed_at) > MAX_NOTIFICATION_AGE_SECONDS:
            raise CallbackSignatureInvalid("打款通知已过期", details={"reason": "timestamp_stale"})
        try:
            data = json.loads(body)
            fields = (data["id"], data["out_batch_no"], data["out_detail_no"], data["reference"])
            valid = (
                data["event"] in OUTCOMES
                and all(isinstance(f, str) and 0 < len(f) <= 64 for f in fields)
                and (data.get("reason") is None or isinstance(data["reason"], str))
            )
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            raise InvalidInput("打款通知格式无效", code="callback_malformed")
        return PayoutNotification(
            notification_id=data["id"], out_batch_no=data["out_batch_no"],
            result=TransferResult(status=data["event"], reference=data["reference"],
                                  provider_state=data["event"].upper(), reason=data.get("reason")),
            payload=data,
        )

    # --- signing --------------------------------------------------------------------------------

    def sign(self, *, timestamp: str, nonce: str, body: bytes) -> str:
        message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def signed(self, body: bytes, *, now: datetime) -> SignedNotification:
        timestamp = str(int(now.timestamp()))
        nonce = secrets.token_hex(16)
        return SignedNotification(
            headers={
                TIMESTAMP_HEADER: timestamp, NONCE_HEADER: nonce,
                SIGNATURE_HEADER: self.sign(timestamp=timestamp, nonce=nonce, body=body),
                "Content-Type": "application/json",
            },
            body=body,
        )

    def notification_body(self, record: SimTransfer, *, now: datetime) -> bytes:
        data = {
            "id": "SIMPN" + secrets.token_hex(14), "event": record.status, "out_batch_no": record.out_batch_no,
            "out_detail_no": record.out_detail_no, "reference": record.reference, "amount_fen": record.amount_fen,
            "reason": record.reason, "created_at": now.isoformat(),
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    # --- finishing transfers on demand ----------------------------------------------------------

    def finish(self, out_detail_no: str, outcome: str) -> SimTransfer:
        """Moves the simulator's own record like the bank would: pending → paid / failed, paid → returned."""
        record = self.transfers.get(out_detail_no)
        if record is None:
            raise NotFound("模拟器中没有这笔转账", code="payout_transfer_not_found")
        allowed = {PAID: (PENDING,), FAILED: (PENDING,), RETURNED: (PAID,)}
        if outcome not in allowed:
            raise InvalidInput("outcome 须为 paid、failed 或 returned", code="invalid_request")
        if record.status not in allowed[outcome]:
            raise Conflict("这笔转账当前状态不能这样处理", code="payout_transfer_state", details={"status": record.status})
        record.status = outcome
        record.reason = {PAID: None, FAILED: FAIL_REASON, RETURNED: RETURN_REASON}[outcome]
        return record

    def schedule(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)
        return task

    async def drain(self) -> None:
        """Waits for every scheduled delivery (tests, shutdown)."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)


def simulator_of(ctx: AppContext) -> SimulatorPayoutProvider:
    provider = ctx.payouts.get("simulator")
    if not isinstance(provider, SimulatorPayoutProvider):
        raise NotFound("打款模拟器未启用", code="simulator_disabled")
    return provider


async def deliver(ctx: AppContext, provider: SimulatorPayoutProvider, notification: SignedNotification) -> str:
    """What the notify endpoint does, in a transaction of its own; a refusal is reported, not raised."""
    from linli.payouts import service

    try:
        async with ctx.db.transaction() as session:
            return await service.handle_notification(
                session=session, provider=provider, headers=notification.headers, body=notification.body,
                now=ctx.clock.now(),
            )
    except DomainError as exc:
        return f"error:{exc.code}"


async def _deliver_later(
    ctx: AppContext, provider: SimulatorPayoutProvider, notifications: list[SignedNotification], delay_ms: int
) -> None:
    await asyncio.sleep(delay_ms / 1000)
    for notification in notifications:
        try:
            outcome = await deliver(ctx, provider, notification)
        except Exception:  # noqa: BLE001 - a provider retries too; log and go on with the next copy
            log.exception("simulated payout notification failed")
            continue
        log.info("simulated payout notification delivered: %s", outcome)


@dataclass(frozen=True)
class Completion:
    out_detail_no: str
    outcome: str
    scheduled: bool
    outcomes: list[str]
    notifications: list[SignedNotification]


async def complete(
    *, ctx: AppContext, out_detail_no: str, outcome: str, delay_ms: int = 0, duplicates: int = 0
) -> Completion:
    """Finishes a transfer (paid, failed, returned) and notifies 1 + `duplicates` times, after `delay_ms`."""
    provider = simulator_of(ctx)
    if not 0 <= delay_ms <= MAX_DELAY_MS or not 0 <= duplicates <= MAX_DUPLICATES:
        raise InvalidInput("延迟或重复次数超出范围", code="invalid_request")
    record = provider.finish(out_detail_no, outcome)
    now = ctx.clock.now()
    body = provider.notification_body(record, now=now)
    # A provider retrying re-signs the same notification (same id) with a fresh timestamp and nonce.
    notifications = [provider.signed(body, now=now) for _ in range(1 + duplicates)]
    if delay_ms > 0:
        provider.schedule(_deliver_later(ctx, provider, notifications, delay_ms))
        return Completion(out_detail_no, outcome, True, [], notifications)
    outcomes = [await deliver(ctx, provider, n) for n in notifications]
    return Completion(out_detail_no, outcome, False, outcomes, notifications)
