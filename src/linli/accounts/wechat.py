"""WeChat mini-program login (`code2session`) behind a small interface.

The real client calls the WeChat API with the configured appid and secret. Without them, in
development mode only, the local simulator stands in: it turns a code into a stable openid so that
the login flow can be exercised end to end on a laptop. Codes starting with "invalid" are refused as
WeChat would. Outside development mode an unconfigured WeChat login is refused (anyone could mint
accounts through the simulator).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from linli.config import Settings
from linli.errors import DomainError, Forbidden, InvalidInput

CODE2SESSION_URL = "https://api.weixin.qq.com/sns/jscode2session"


@dataclass(frozen=True)
class WeChatIdentity:
    openid: str
    unionid: str | None


class WeChatUnavailable(DomainError):
    status_code = 502
    default_code = "wechat_unavailable"
    default_message = "微信登录服务暂时不可用，请稍后再试"


class WeChatClient(Protocol):
    async def code2session(self, code: str) -> WeChatIdentity: ...


# errcodes documented for jscode2session that mean "this code is no good" rather than "try later":
# 40029 invalid code, 40163 code already used.
INVALID_CODE_ERRCODES = {40029, 40163}
# 40226: WeChat's risk control blocks this user from logging in; retrying will not help.
BLOCKED_USER_ERRCODES = {40226}


def _errcode(payload: dict[str, Any]) -> int | None:
    """The errcode of an answer; None if it is missing or not a number (a malformed answer)."""
    raw = payload.get("errcode", 0)
    if raw is None:
        return 0
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def identity_from_answer(payload: object) -> WeChatIdentity:
    """Interpret one jscode2session answer (already decoded from JSON)."""
    if not isinstance(payload, dict):
        raise WeChatUnavailable(details={"reason": "malformed_answer"})
    errcode = _errcode(payload)
    if errcode in INVALID_CODE_ERRCODES:
        raise InvalidInput("微信登录凭证无效或已使用", code="wechat_code_invalid")
    if errcode in BLOCKED_USER_ERRCODES:
        raise Forbidden("微信账号存在风险，暂时无法登录", code="wechat_login_refused")
    openid = payload.get("openid")
    if errcode is None or errcode != 0 or not isinstance(openid, str) or not openid or len(openid) > 64:
        raise WeChatUnavailable(details={"errcode": errcode})
    unionid = payload.get("unionid")
    if not isinstance(unionid, str) or not unionid or len(unionid) > 64:
        unionid = None
    # session_key is deliberately dropped: linli decrypts nothing with it and must not keep or log it.
    return WeChatIdentity(openid=openid, unionid=unionid)


class HttpWeChatClient:
    def __init__(
        self, *, appid: str, secret: str, transport: httpx.AsyncBaseTransport | None = None, timeout: float = 5.0
    ) -> None:
        self._appid = appid
        self._secret = secret
        self._transport = transport
        self._timeout = timeout

    async def code2session(self, code: str) -> WeChatIdentity:
        params = {"appid": self._appid, "secret": self._secret, "js_code": code, "grant_type": "authorization_code"}
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=self._timeout) as client:
                response = await client.get(CODE2SESSION_URL, params=params)
            if response.status_code != 200:
                raise WeChatUnavailable(details={"http_status": response.status_code})
            payload = response.json()
        except (httpx.HTTPError, ValueError) as exc:  # network trouble, or an answer that is not JSON
            raise WeChatUnavailable() from exc
        return identity_from_answer(payload)


class SimulatedWeChatClient:
    async def code2session(self, code: str) -> WeChatIdentity:
        if code.startswith("invalid"):
            raise InvalidInput("微信登录凭证无效或已使用", code="wechat_code_invalid")
        return WeChatIdentity(openid="sim-" + hashlib.sha256(code.encode()).hexdigest()[:24], unionid=None)


class WeChatNotConfigured(DomainError):
    status_code = 404
    default_code = "wechat_login_not_configured"
    default_message = "未开通微信小程序登录"


class UnconfiguredWeChatClient:
    async def code2session(self, code: str) -> WeChatIdentity:
        raise WeChatNotConfigured()


def wechat_client_for(settings: Settings) -> WeChatClient:
    if settings.wechat_appid and settings.wechat_secret:
        return HttpWeChatClient(appid=settings.wechat_appid, secret=settings.wechat_secret)
    return SimulatedWeChatClient() if settings.dev_mode else UnconfiguredWeChatClient()
