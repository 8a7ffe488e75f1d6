"""Tencent Cloud SMS (腾讯云短信) through the official SDK: login codes sent with an approved template.

Each send is one SendSms call (API 2021-01-11) for one number, in a thread (the SDK is synchronous). The answer
is read per number: only `Ok` is a success. A refusal that concerns this number (its daily or 30-second limit,
an unreachable or malformed number) is the member's 4xx; anything else — credentials, sign or template not
approved, an empty package, an SDK exception, a timeout — is 503 `sms_unavailable`, logged for the operator.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import requests
from sqlalchemy.ext.asyncio import AsyncSession
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111.models import SendSmsRequest
from tencentcloud.sms.v20210111.sms_client import SmsClient

from linli.accounts.sms import SmsUnavailable
from linli.config import Settings
from linli.errors import DomainError, InvalidInput, RateLimited
from linli.security import mask_phone

log = logging.getLogger("linli.accounts.sms")

SENT = "Ok"
DAILY_LIMIT = RateLimited("该手机号今日接收短信已达上限，请明天再试", code="sms_daily_limit")
# Tencent's codes about this one number, and what the member is told; retry_after is in seconds.
NUMBER_REFUSALS: dict[str, tuple[DomainError, int | None]] = {
    "LimitExceeded.PhoneNumberDailyLimit": (DAILY_LIMIT, None),
    "LimitExceeded.PhoneNumberSameContentDailyLimit": (DAILY_LIMIT, None),
    "LimitExceeded.PhoneNumberOneHourLimit": (
        RateLimited("该手机号 1 小时内接收短信过多，请稍后再试", code="sms_too_frequent"), 3600
    ),
    "LimitExceeded.PhoneNumberThirtySecondLimit": (
        RateLimited("验证码发送过于频繁，请 30 秒后再试", code="sms_too_frequent"), 30
    ),
    "InvalidParameterValue.IncorrectPhoneNumber": (InvalidInput("手机号格式不正确", code="phone_invalid"), None),
    "FailedOperation.PhoneNumberParseFail": (InvalidInput("手机号格式不正确", code="phone_invalid"), None),
    "FailedOperation.PhoneNumberInBlacklist": (
        InvalidInput("该手机号已退订短信或在运营商免打扰名单中，无法接收验证码", code="sms_phone_blocked"), None
    ),
}


def refusal(provider_code: str, *, timed_out: bool = False) -> DomainError:
    """The domain error for one Tencent error code (a fresh instance, with the code in its details)."""
    known = NUMBER_REFUSALS.get(provider_code)
    details: dict[str, object] = {"provider_code": provider_code}
    if known is None:
        if timed_out:
            details["reason"] = "timeout"
        return SmsUnavailable(details=details)
    error, retry_after = known
    if retry_after is not None:
        details["retry_after_seconds"] = retry_after
    return type(error)(error.message, code=error.code, details=details)


class TencentSmsSender:
    def __init__(
        self, *, secret_id: str, secret_key: str, sdk_app_id: str, sign_name: str, template_id: str, region: str,
        template_values: tuple[str, ...] = ("code", "minutes"), endpoint: str = "", timeout_seconds: float = 5.0,
        notice_template_id: str = "",
    ) -> None:
        self._credential = Credential(secret_id, secret_key)
        self._sdk_app_id = sdk_app_id
        self._sign_name = sign_name
        self._template_id = template_id
        self._region = region
        self._template_values = template_values
        self._endpoint = endpoint
        self._timeout = timeout_seconds
        self._notice_template_id = notice_template_id

    @classmethod
    def from_settings(cls, settings: Settings) -> TencentSmsSender:
        return cls(
            secret_id=settings.sms_tencent_secret_id, secret_key=settings.sms_tencent_secret_key,
            sdk_app_id=settings.sms_tencent_sdk_app_id, sign_name=settings.sms_tencent_sign_name,
            template_id=settings.sms_tencent_template_id, region=settings.sms_tencent_region,
            template_values=settings.sms_tencent_template_values, endpoint=settings.sms_tencent_endpoint,
            timeout_seconds=settings.sms_tencent_timeout_seconds,
            notice_template_id=settings.sms_tencent_notice_template_id,
        )

    def _client(self) -> SmsClient:
        # A client per send: the SDK's HTTP session is not meant to be shared across threads.
        http = HttpProfile(reqTimeout=self._timeout)
        if self._endpoint:
            scheme, _, host = self._endpoint.rpartition("://")
            http.endpoint = host.rstrip("/")
            http.scheme = http.protocol = scheme or "https"
        return SmsClient(self._credential, self._region, ClientProfile(httpProfile=http))

    def _request(self, phone: str, template_id: str, values: list[str]) -> SendSmsRequest:
        request = SendSmsRequest()
        request.PhoneNumberSet = ["+86" + phone]  # E.164; linli accepts mainland mobile numbers only
        request.SmsSdkAppId = self._sdk_app_id
        request.SignName = self._sign_name
        request.TemplateId = template_id
        request.TemplateParamSet = values
        return request

    async def send_login_code(
        self, *, session: AsyncSession, phone: str, code: str, valid_minutes: int, now: datetime
    ) -> None:
        values = {"code": code, "minutes": str(valid_minutes)}
        await self._send(phone, self._request(phone, self._template_id, [values[n] for n in self._template_values]))

    async def send_notice(self, *, session: AsyncSession, phone: str, text: str, now: datetime) -> None:
        """A push's text as the one variable of the approved notice template (LINLI_SMS_TENCENT_NOTICE_TEMPLATE_ID,
        e.g. "{1}"); without one no notice can be sent, which the push records as its failure."""
        if not self._notice_template_id:
            raise SmsUnavailable(
                "未配置短信通知模板（LINLI_SMS_TENCENT_NOTICE_TEMPLATE_ID），无法发送通知短信",
                details={"reason": "notice_template_missing"},
            )
        await self._send(phone, self._request(phone, self._notice_template_id, [text]))

    async def _send(self, phone: str, request: SendSmsRequest) -> None:
        try:
            response = await asyncio.to_thread(self._client().SendSms, request)
        except TencentCloudSDKException as exc:
            timed_out = isinstance(exc.__context__, requests.Timeout)
            log.warning("Tencent SMS to %s failed: %s (request %s)", mask_phone(phone), exc.code, exc.requestId)
            raise refusal(str(exc.code), timed_out=timed_out) from exc
        statuses = response.SendStatusSet or []
        status = statuses[0] if len(statuses) == 1 else None
        if status is None or status.Code != SENT:
            provider_code = status.Code if status is not None and status.Code else "EmptySendStatusSet"
            log.warning(
                "Tencent SMS to %s refused: %s (request %s)", mask_phone(phone), provider_code, response.RequestId
            )
            raise refusal(provider_code)
