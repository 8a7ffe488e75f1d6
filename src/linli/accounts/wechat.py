"""WeChat mini-program login (`code2session`) behind a small interface.

The real client calls the WeChat API with the configured appid and secret. Without them the
local simulator stands in: it turns a code into a stable openid so that the login flow can be
exercised end to end on a laptop. Codes starting with "invalid" are refused as WeChat would.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

import httpx

from linli.config import Settings
from linli.errors import DomainError, InvalidInput

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


# errcodes documented for jscode2session that mean "this code is no good" rather than "try later".
INVALID_CODE_ERRCODES = {40029, 40163, 40226}


class HttpWeChatClient:
    def __init__(self, *, appid: str, secret: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._appid = appid
        self._secret = secret
        self._transport = transport

    async def code2session(self, code: str) -> WeChatIdentity:
        params = {"appid": self._appid, "secret": self._secret, "js_code": code, "grant_type": "authorization_code"}
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=5.0) as client:
                response = await client.get(CODE2SESSION_URL, params=params)
            payload = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise WeChatUnavailable() from exc
        errcode = int(payload.get("errcode") or 0)
        if errcode in INVALID_CODE_ERRCODES:
            raise InvalidInput("微信登录凭证无效或已使用", code="wechat_code_invalid")
        if errcode or not payload.get("openid"):
            raise WeChatUnavailable(details={"errcode": errcode})
        return WeChatIdentity(openid=payload["openid"], unionid=payload.get("unionid"))


class SimulatedWeChatClient:
    async def code2session(self, code: str) -> WeChatIdentity:
        if code.startswith("invalid"):
            raise InvalidInput("微信登录凭证无效或已使用", code="wechat_code_invalid")
        return WeChatIdentity(openid="sim-" + hashlib.sha256(code.encode()).hexdigest()[:24], unionid=None)


def wechat_client_for(settings: Settings) -> WeChatClient:
    if settings.wechat_appid and settings.wechat_secret:
        return HttpWeChatClient(appid=settings.wechat_appid, secret=settings.wechat_secret)
    return SimulatedWeChatClient()
