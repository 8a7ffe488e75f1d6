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

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from linli import simulation
from linli.callbacks import Fen, Id32, Id64, NotificationFields, Text, read_fields, require_storable
from linli.errors import Conflict, InvalidInput, NotFound
from linli.payouts import service
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

TIMESTAMP_HEADER = "X-Linli-Payout-Timestamp"
NONCE_HEADER = "X-Linli-Payout-Nonce"
SIGNATURE_HEADER = "X-Linli-Payout-Signature"
MODES = ("instant", "pending", "fail")
FAIL_REASON = "模拟打款失败（收款账户异常）"
RETURN_REASON = "模拟退回（收款账户已注销）"


MALFORMED = "打款通知格式无效"


class SimulatorPayoutFields(NotificationFields):
    id: Id64
    event: Literal["paid", "failed", "returned"]  # PAID, FAILED, RETURNED
    out_batch_no: Id32
    out_detail_no: Id32
    reference: Id64
    amount_fen: Fen | None = None
    reason: Text | None = None


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


class SimulatorPayoutProvider(simulation.NotifyingSimulator):
    kind = "payout"
    refused = CallbackSignatureInvalid
    handler = staticmethod(service.handle_notification)

    def __init__(self, *, secret_key: str, mode: str = "instant") -> None:
        # A key of its own, so that a payout signature is never valid as a payment one (or any other hash).
        super().__init__(
            secret_key=secret_key, key_label=b"linli/payouts/simulator/v1",
            headers=(TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER),
        )
        if mode not in MODES:
            raise ValueError(f"payout simulator mode must be one of {', '.join(MODES)}")
        self.mode = mode
        self.transfers: dict[str, SimTransfer] = {}

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
        self.verify(headers=headers, body=body, now=now)
        try:
            data = json.loads(body)
        except ValueError:
            raise InvalidInput(MALFORMED, code="callback_malformed", details={"fields": ["(body)"]}) from None
        require_storable(data, message=MALFORMED)
        fields = read_fields(SimulatorPayoutFields, data, message=MALFORMED)
        return PayoutNotification(
            notification_id=fields.id, out_batch_no=fields.out_batch_no,
            result=TransferResult(status=fields.event, reference=fields.reference, provider_state=fields.event.upper(),
                                  reason=fields.reason),
            payload=data,
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


def simulator_of(ctx: AppContext) -> SimulatorPayoutProvider:
    return simulation.simulator_in(ctx.payouts, SimulatorPayoutProvider, disabled_message="打款模拟器未启用")


async def complete(
    *, ctx: AppContext, out_detail_no: str, outcome: str, delay_ms: int = 0, duplicates: int = 0
) -> simulation.Completion:
    """Finishes a transfer (paid, failed, returned) and notifies 1 + `duplicates` times, after `delay_ms`."""
    provider = simulator_of(ctx)
    simulation.check_delivery(delay_ms=delay_ms, duplicates=duplicates)
    record = provider.finish(out_detail_no, outcome)
    now = ctx.clock.now()
    body = provider.notification_body(record, now=now)
    return await provider.send(ctx, body, outcome=outcome, delay_ms=delay_ms, duplicates=duplicates, now=now)
