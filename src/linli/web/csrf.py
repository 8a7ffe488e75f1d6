"""CSRF protection for every page form and htmx request.

A token is an HMAC (with the settings' secret key) of what the visitor's requests are bound to: the auth
session of a signed-in visitor, or, before sign-in, the nonce of a short-lived anonymous cookie. A form sends
it in the hidden `csrf_token` field, an htmx request in the `X-CSRF-Token` header (linli.js copies it from the
page's `<meta name="csrf-token">`). Another site cannot read either, so it cannot forge a POST; signing out
revokes the auth session and with it every token made for it.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from fastapi import Request

from linli.errors import Forbidden
from linli.security import keyed_hash

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
ANON_COOKIE = "linli_anon"
ANON_LIFETIME = timedelta(hours=2)


class CsrfRefused(Forbidden):
    def __init__(self) -> None:
        super().__init__("页面已过期或来源不明，请返回刷新后重试", code="csrf_invalid")


def token_for(secret_key: str, binding: str) -> str:
    return keyed_hash(secret_key, f"csrf:{binding}")


def auth_binding(auth_session_id: int) -> str:
    return f"auth:{auth_session_id}"


def anon_binding(nonce: str) -> str:
    return f"anon:{nonce}"


def new_anon_cookie(secret_key: str, now: datetime) -> tuple[str, str]:
    """(cookie value, nonce): the value carries its issue time and a signature, so its age is checked here,
    not left to the browser's Max-Age."""
    nonce = secrets.token_urlsafe(24)
    issued = str(int(now.timestamp()))
    return f"{nonce}.{issued}.{keyed_hash(secret_key, f'anon:{nonce}.{issued}')}", nonce


def read_anon_cookie(secret_key: str, value: str | None, now: datetime) -> str | None:
    """The nonce of a genuine anonymous cookie that is still young enough, else None."""
    parts = (value or "").split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    nonce, issued, signature = parts
    if not hmac.compare_digest(signature, keyed_hash(secret_key, f"anon:{nonce}.{issued}")):
        return None
    age = now.timestamp() - int(issued)
    return nonce if 0 <= age <= ANON_LIFETIME.total_seconds() else None


async def sent_token(request: Request) -> str:
    header = request.headers.get(HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(FIELD)
        return value if isinstance(value, str) else ""
    return ""


def check(secret_key: str, *, binding: str | None, sent: str) -> None:
    """Raises CsrfRefused (a Chinese 403 page) unless `sent` is the token of `binding`."""
    if binding is None or not sent or not hmac.compare_digest(sent, token_for(secret_key, binding)):
        raise CsrfRefused()
