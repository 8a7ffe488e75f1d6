"""WeChat Pay transfers to a leader's WeChat balance (商家转账到零钱, API v3) through the `wechatpayv3` SDK.

One withdrawal is one batch with one detail: `POST /v3/transfer/batches` with the withdrawal's
out_batch_no / out_detail_no (WeChat accepts a batch number once, so a retry never pays twice), then the
detail is followed by query (`GET …/out-batch-no/{no}/details/out-detail-no/{no}`) and by the
`MCHTRANSFER.BATCH.FINISHED` notification. The payee is the leader's WeChat openid under the configured
appid; from 2,000 元 WeChat also needs the real name (sent encrypted with the platform key).

Notifications are verified and decrypted exactly as payment notifications are (signature by the
platform key, freshness, AEAD_AES_256_GCM with the APIv3 key, this merchant): that part is the payments
provider's `parse_notification`. Transfers to the WeChat balance do not bounce after success, so this
provider never reports "returned". The SDK is synchronous (requests), so its calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from wechatpayv3 import WeChatPay, WeChatPayType

from linli.callbacks import Count, Id32, Id64, NotificationFields, Word, read_fields
from linli.payments.wechatpay import WeChatPayConfig, WeChatPayProvider
from linli.payouts.providers import (
    FAILED,
    NOT_FOUND,
    PAID,
    PENDING,
    CallbackSignatureInvalid,
    PayoutNotification,
    PayoutProviderUnavailable,
    TransferRequest,
    TransferResult,
)

if TYPE_CHECKING:
    from linli.config import Settings

log = logging.getLogger("linli.payouts.wechat")

NOTIFY_PATH = "/api/v1/payouts/wechatpay/notify"
BATCH_NAME = "团长佣金提现"
REAL_NAME_FROM_FEN = 200_000  # WeChat requires the payee's real name from 2,000 元
# Answers after which asking again later (same numbers) can succeed.
RETRYABLE_CODES = {"SYSTEM_ERROR", "FREQUENCY_LIMITED", "NOT_ENOUGH"}
DETAIL_STATUS = {"SUCCESS": PAID, "FAIL": FAILED, "INIT": PENDING, "WAIT_PAY": PENDING, "PROCESSING": PENDING}
FAIL_REASON_TEXT = {
    "ACCOUNT_FROZEN": "收款微信账户已冻结",
    "REAL_NAME_CHECK_FAIL": "收款人未实名认证",
    "NAME_NOT_CORRECT": "收款人姓名与微信实名不一致",
    "OPENID_INVALID": "收款微信账号无效",
    "TRANSFER_QUOTA_EXCEED": "超过收款人单日收款限额",
    "DAY_RECEIVED_QUOTA_EXCEED": "超过收款人单日收款限额",
    "ID_CARD_NOT_CORRECT": "收款人身份信息有误",
    "ACCOUNT_NOT_EXIST": "收款微信账户不存在",
    "TRANSFER_RISK": "微信支付风控拦截，转账未成功",
    "OTHER_FAIL_REASON_TYPE": "微信支付转账失败",
    "BLOCK_B2C_USERLIMITAMOUNT_MONTH": "超过收款人本月收款限额",
}


MALFORMED = "打款通知内容不完整"


class BatchFields(NotificationFields):
    """MCHTRANSFER.BATCH.FINISHED: how the batch (one withdrawal, one detail) ended."""

    out_batch_no: Id32
    batch_id: Id64 | None = None
    batch_status: Word
    success_num: Count | None = None
    fail_num: Count | None = None
    close_reason: Word | None = None


class WeChatTransferProvider:
    name = "wechatpay"

    def __init__(self, config: WeChatPayConfig, *, transfer_scene_id: str = "") -> None:
        # The payments provider validates the configuration and verifies notifications (no network call).
        self._verifier = WeChatPayProvider(config)
        self.config = config
        self.transfer_scene_id = transfer_scene_id
        timeout = config.timeout_seconds
        self._sdk = WeChatPay(
            wechatpay_type=WeChatPayType.JSAPI, mchid=config.mchid, private_key=config.private_key,
            cert_serial_no=config.cert_serial_no, appid=config.appid, apiv3_key=config.apiv3_key,
            notify_url=config.notify_url, cert_dir=config.cert_dir if not config.public_key else None,
            timeout=(min(5.0, timeout), timeout), public_key=config.public_key or None,
            public_key_id=config.public_key_id or None, logger=None,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> WeChatTransferProvider:
        payments = WeChatPayProvider.from_settings(settings).config
        notify_url = settings.wechatpay_transfer_notify_url or f"{settings.public_base_url}{NOTIFY_PATH}"
        return cls(replace(payments, notify_url=notify_url), transfer_scene_id=settings.wechatpay_transfer_scene_id)

    async def _call(self, what: str, fn: Callable[..., tuple[int, Any]], **kwargs: Any) -> tuple[int, dict[str, Any]]:
        try:
            status, message = await asyncio.to_thread(fn, **kwargs)
        except Exception as exc:  # noqa: BLE001 - requests errors, "failed to verify the signature", …
            log.warning("WeChat Pay %s failed: %s", what, exc)
            raise PayoutProviderUnavailable(details={"operation": what}) from exc
        try:
            data = json.loads(message) if message else {}
        except (TypeError, ValueError):
            data = {}
        return status, data if isinstance(data, dict) else {}

    @staticmethod
    def _transient(status: int, data: dict[str, Any]) -> bool:
        return status >= 500 or status == 429 or data.get("code") in RETRYABLE_CODES

    async def transfer(self, request: TransferRequest) -> TransferResult:
        if not request.payee.openid:
            return TransferResult(status=FAILED, provider_state="NO_OPENID", reason="团长未使用微信登录，无法转账到微信零钱")
        detail: dict[str, Any] = {
            "out_detail_no": request.out_detail_no, "transfer_amount": request.amount_fen,
            "transfer_remark": request.remark[:32], "openid": request.payee.openid,
        }
        if request.amount_fen >= REAL_NAME_FROM_FEN:
            detail["user_name"] = request.payee.real_name
        status, data = await self._call(
            "transfer", self._sdk.transfer_batch, out_batch_no=request.out_batch_no, batch_name=BATCH_NAME,
            batch_remark=request.remark[:32], total_amount=request.amount_fen, total_num=1,
            transfer_detail_list=[detail], transfer_scene_id=self.transfer_scene_id or None,
        )
        if 200 <= status < 300:
            return TransferResult(status=PENDING, reference=data.get("batch_id"), provider_state=data.get("batch_status"))
        if self._transient(status, data):
            raise PayoutProviderUnavailable(details={"operation": "transfer", "status": status, "code": data.get("code")})
        # Refused. If WeChat already holds this batch (a retry after a lost answer), its detail tells the truth.
        known = await self.query(out_batch_no=request.out_batch_no, out_detail_no=request.out_detail_no)
        if known.status != NOT_FOUND:
            return known
        log.error("WeChat Pay refused transfer %s: %s %s", request.out_batch_no, data.get("code"), data.get("message"))
        return TransferResult(status=FAILED, provider_state=str(data.get("code") or status)[:32],
                              reason=f"微信支付拒绝转账：{data.get('message') or data.get('code') or status}"[:200])

    async def query(self, *, out_batch_no: str, out_detail_no: str) -> TransferResult:
        status, data = await self._call(
            "query", self._sdk.transfer_query_out_detail_no, out_detail_no=out_detail_no, out_batch_no=out_batch_no
        )
        if status == 404 or data.get("code") in ("NOT_FOUND", "RESOURCE_NOT_EXISTS"):
            return TransferResult(status=NOT_FOUND)
        if not 200 <= status < 300:
            raise PayoutProviderUnavailable(details={"operation": "query", "status": status, "code": data.get("code")})
        state = str(data.get("detail_status") or "")
        result = DETAIL_STATUS.get(state)
        if result is None:
            raise PayoutProviderUnavailable(details={"operation": "query", "answer": state})
        reason = None
        if result == FAILED:
            code = str(data.get("fail_reason") or "OTHER_FAIL_REASON_TYPE")
            reason = FAIL_REASON_TEXT.get(code, f"微信支付转账失败（{code}）")
        return TransferResult(status=result, reference=data.get("detail_id"), provider_state=state, reason=reason)

    def parse_notification(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> PayoutNotification:
        note = self._verifier.parse_notification(headers=headers, body=body, now=now)
        if note.payload.get("event_type") != "MCHTRANSFER.BATCH.FINISHED":
            raise CallbackSignatureInvalid("不是商家转账通知", details={"reason": "not_a_transfer_notification"})
        batch = read_fields(BatchFields, note.payload["resource"], message=MALFORMED)
        # One withdrawal is one batch of one detail, so the batch's counts say how the detail ended.
        if batch.batch_status == "FINISHED" and batch.success_num == 1:
            result = TransferResult(status=PAID, reference=batch.batch_id, provider_state="SUCCESS")
        elif batch.batch_status == "CLOSED" or batch.fail_num == 1:
            reason = FAIL_REASON_TEXT.get(batch.close_reason or "", "微信支付转账失败")
            result = TransferResult(status=FAILED, reference=batch.batch_id, provider_state="FAIL", reason=reason)
        else:
            result = TransferResult(status=PENDING, reference=batch.batch_id, provider_state=batch.batch_status[:32])
        return PayoutNotification(
            notification_id=note.notification_id, out_batch_no=batch.out_batch_no, result=result, payload=note.payload,
        )
