"""Who is looking at a page: the sign-in cookie, the anonymous cookie, the page dependencies that check them.

The sign-in cookie carries the very token `accounts.issue_token` gives an app, so the page and the API share
one revocable auth session: revoking it (sign-out, logout-all) signs the page out too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response

from linli.accounts import service as accounts
from linli.accounts.models import User
from linli.config import Settings
from linli.errors import Unauthorized
from linli.http import app_context
from linli.web import csrf

SESSION_COOKIE = "linli_session"
DEFAULT_NEXT = "/me"


@dataclass
class Visitor:
    user: User | None
    auth_session_id: int | None
    anon_nonce: str | None = None
    new_anon_cookie: str | None = None  # to be set on the response
    stale_session_cookie: bool = False  # a revoked or expired token: the response clears it

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    @property
    def csrf_binding(self) -> str | None:
        if self.auth_session_id is not None:
            return csrf.auth_binding(self.auth_session_id)
        return csrf.anon_binding(self.anon_nonce) if self.anon_nonce else None


class SignInRequired(Exception):
    """A protected page seen by a visitor who is not signed in: redirected to sign-in, then back."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def is_secure(settings: Settings) -> bool:
    return settings.public_base_url.startswith("https://")


def safe_next(value: str | None) -> str:
    """A same-origin path to go to after sign-in; anything else (another host, a scheme, `//host`, a
    backslash that browsers read as a slash, control characters) becomes the default."""
    value = (value or "").strip()
    if (
        not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)
    ):
        return DEFAULT_NEXT
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return DEFAULT_NEXT
    return value


def signin_url(next_path: str) -> str:
    return f"/signin?next={quote(next_path, safe='/')}"


async def _visitor(request: Request) -> Visitor:
    ctx = app_context(request)
    now = ctx.clock.now()
    token = request.cookies.get(SESSION_COOKIE, "").strip()
    visitor: Visitor | None = None
    stale = False
    if token:
        try:
            async with ctx.db.lookup() as session:
                auth = await accounts.authenticate_token(session=session, settings=ctx.settings, token=token, now=now)
                user = await accounts.get_user(session=session, user_id=auth.user_id)
            visitor = Visitor(user=user, auth_session_id=auth.id)
        except Unauthorized:
            stale = True
    if visitor is None:
        visitor = _anonymous(ctx.settings, request, now)
        visitor.stale_session_cookie = stale
    request.state.visitor = visitor  # the error pages show who is signed in, too
    return visitor


def _anonymous(settings: Settings, request: Request, now: datetime) -> Visitor:
    nonce = csrf.read_anon_cookie(settings.secret_key, request.cookies.get(csrf.ANON_COOKIE), now)
    if nonce is not None:
        return Visitor(user=None, auth_session_id=None, anon_nonce=nonce)
    value, nonce = csrf.new_anon_cookie(settings.secret_key, now)
    return Visitor(user=None, auth_session_id=None, anon_nonce=nonce, new_anon_cookie=value)


PageVisitor = Annotated[Visitor, Depends(_visitor)]


async def _signed_in(request: Request, visitor: PageVisitor) -> Visitor:
    if not visitor.signed_in:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path)
    return visitor


SignedIn = Annotated[Visitor, Depends(_signed_in)]


async def _csrf_checked(request: Request, visitor: PageVisitor) -> Visitor:
    csrf.check(app_context(request).settings.secret_key, binding=visitor.csrf_binding, sent=await csrf.sent_token(request))
    return visitor


# Every POST page route takes this instead of PageVisitor: no state changes without the page's token.
CheckedVisitor = Annotated[Visitor, Depends(_csrf_checked)]


def set_session_cookie(response: Response, settings: Settings, issued: accounts.IssuedToken, now: datetime) -> None:
    response.set_cookie(
        SESSION_COOKIE, issued.token, max_age=int((issued.auth_session.expires_at - now).total_seconds()),
        path="/", httponly=True, samesite="lax", secure=is_secure(settings),
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_secure(settings))


def apply_cookies(response: Response, settings: Settings, visitor: Visitor | None) -> None:
    """What a page response must tell the browser about the visitor's cookies."""
    if visitor is None:
        return
    if visitor.new_anon_cookie is not None:
        response.set_cookie(
            csrf.ANON_COOKIE, visitor.new_anon_cookie, max_age=int(csrf.ANON_LIFETIME.total_seconds()),
            path="/", httponly=True, samesite="lax", secure=is_secure(settings),
        )
    if visitor.stale_session_cookie:
        clear_session_cookie(response, settings)
