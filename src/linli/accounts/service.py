"""Accounts: users, one-time SMS codes, passwords, WeChat login and bearer tokens."""

from __future__ import annotations

import asyncio
import hmac
import math
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Row, Select, bindparam, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts.models import AuthSession, DevSmsMessage, LoginAttempt, SmsCode, User
from linli.accounts.sms import SmsSender
from linli.accounts.wechat import WeChatClient, WeChatIdentity
from linli.config import Settings
from linli.db import Database, DriverStatement, insert_unique
from linli.errors import Conflict, DomainError, InvalidInput, NotFound, RateLimited, Unauthorized
from linli.security import is_valid_phone, keyed_hash, new_token

MAX_FAILURES_PER_CODE = 5
DISPLAY_NAME_MAX = 32
# Staff login names: 3-32 ASCII letters, digits and _ . @ - (no spaces, no look-alike Unicode).
LOGIN_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{2,31}")
_hasher = PasswordHasher()
# Verified against when a login name is unknown, so that unknown and known names take as long.
_DUMMY_HASH = _hasher.hash("linli-dummy-password")


@dataclass(frozen=True)
class IssuedToken:
    token: str
    auth_session: AuthSession
    user: User


@dataclass(frozen=True)
class LoginOutcome:
    """A login either issues a token or fails; a failure is still recorded (the caller commits it)."""

    issued: IssuedToken | None = None
    error: DomainError | None = None


def _require_phone(phone: str) -> str:
    phone = phone.strip()
    if not is_valid_phone(phone):
        raise InvalidInput("手机号格式不正确", code="phone_invalid")
    return phone


async def _serialize(session: AsyncSession, key: str) -> None:
    """Queue transactions that check-then-write the same throttle (one phone, one login name).

    SQLite already runs one write transaction at a time (BEGIN IMMEDIATE); on PostgreSQL a
    transaction-scoped advisory lock does it, so N parallel guesses cannot all pass the
    "fewer than the limit so far" check before any of them is recorded.
    """
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))


def _sms_identifier(phone: str) -> str:
    return f"sms:{phone}"


def _password_identifier(login_name: str) -> str:
    # Only called for names that fit LOGIN_NAME_PATTERN (at most 32 characters; the column is 64 wide).
    return f"pw:{login_name}"


def _hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def get_user(*, session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在", code="user_not_found")
    return user


async def users_by_ids(*, session: AsyncSession, user_ids: set[int]) -> dict[int, User]:
    if not user_ids:
        return {}
    rows = await session.scalars(select(User).where(User.id.in_(user_ids)))
    return {user.id: user for user in rows}


async def find_user_by_phone(*, session: AsyncSession, phone: str) -> User | None:
    return await session.scalar(select(User).where(User.phone == phone))


async def get_or_create_user_by_phone(
    *, session: AsyncSession, phone: str, now: datetime, display_name: str = ""
) -> User:
    phone = _require_phone(phone)
    existing = await find_user_by_phone(session=session, phone=phone)
    if existing is not None:
        return existing
    user = User(phone=phone, display_name=display_name or f"邻居{phone[-4:]}", created_at=now)
    if await insert_unique(session, user):
        return user
    found = await find_user_by_phone(session=session, phone=phone)
    assert found is not None  # the unique constraint said it exists
    return found


COMMON_PASSWORDS = frozenset({"password", "password1", "qwertyui", "qwerty123", "abcd1234", "a1234567", "iloveyou"})


def require_strong_password(*, password: str, login_name: str) -> None:
    """A brand's first owner password (it can do everything): the staff length rule plus no obvious guess."""
    weak = (
        not 8 <= len(password) <= 256
        or password.isdigit()
        or len(set(password)) < 4
        or password.lower() in COMMON_PASSWORDS
        or password.lower() == login_name.strip().lower()
    )
    if weak:
        raise InvalidInput(
            "密码太弱：8 到 256 位，不能全是数字、不能是常见密码或登录名，至少 4 个不同字符", code="password_weak"
        )


async def create_staff_user(
    *, session: AsyncSession, login_name: str, password: str, display_name: str, now: datetime
) -> User:
    login_name = login_name.strip()
    if not LOGIN_NAME_PATTERN.fullmatch(login_name) or not 8 <= len(password) <= 256:
        raise InvalidInput(
            "登录名须为 3 到 32 位字母、数字或 _.@-，密码 8 到 256 位", code="staff_credentials_invalid"
        )
    display_name = _clean_display_name(display_name or login_name)
    if await session.scalar(select(User.id).where(User.login_name == login_name)) is not None:
        raise Conflict("登录名已被使用", code="login_name_taken")
    password_hash = await asyncio.to_thread(_hash_password, password)
    user = User(login_name=login_name, password_hash=password_hash, display_name=display_name, created_at=now)
    if not await insert_unique(session, user):
        raise Conflict("登录名已被使用", code="login_name_taken")
    return user


async def request_sms_code(
    *, session: AsyncSession, settings: Settings, sender: SmsSender, phone: str, now: datetime
) -> None:
    phone = _require_phone(phone)
    await _serialize(session, f"sms-send:{phone}")
    last_sent = await session.scalar(select(func.max(SmsCode.created_at)).where(SmsCode.phone == phone))
    interval = timedelta(seconds=settings.sms_resend_interval_seconds)
    if last_sent is not None and now - last_sent < interval:
        wait = math.ceil((last_sent + interval - now).total_seconds())
        raise RateLimited(
            f"验证码发送过于频繁，请 {wait} 秒后再试", code="sms_too_frequent", details={"retry_after_seconds": wait}
        )
    sent_today = await session.scalar(
        select(func.count()).where(SmsCode.phone == phone, SmsCode.created_at > now - timedelta(days=1))
    )
    if (sent_today or 0) >= settings.sms_daily_limit:
        raise RateLimited("今日验证码发送次数已达上限", code="sms_daily_limit")
    code = f"{secrets.randbelow(1_000_000):06d}"
    session.add(
        SmsCode(
            phone=phone,
            code_hash=keyed_hash(settings.secret_key, f"{phone}:{code}"),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.sms_code_ttl_seconds),
        )
    )
    minutes = max(1, settings.sms_code_ttl_seconds // 60)
    await sender.send_login_code(session=session, phone=phone, code=code, valid_minutes=minutes, now=now)


async def _lockout(*, session: AsyncSession, settings: Settings, identifier: str, now: datetime) -> RateLimited | None:
    """The login_locked error if `identifier` failed login_failure_limit times within the window, else None."""
    window = timedelta(seconds=settings.login_failure_window_seconds)
    limit = max(1, settings.login_failure_limit)
    recent = (
        await session.scalars(
            select(LoginAttempt.attempted_at)
            .where(LoginAttempt.identifier == identifier, LoginAttempt.attempted_at > now - window)
            .order_by(LoginAttempt.attempted_at.desc())
            .limit(limit)
        )
    ).all()
    if len(recent) < limit:
        return None
    # The lock lifts when the oldest of the last `limit` failures leaves the window.
    wait = max(1, math.ceil((recent[-1] + window - now).total_seconds()))
    minutes = math.ceil(wait / 60)
    return RateLimited(
        f"登录失败次数过多，请 {minutes} 分钟后再试", code="login_locked", details={"retry_after_seconds": wait}
    )


async def issue_token(
    *, session: AsyncSession, settings: Settings, user: User, method: str, now: datetime
) -> IssuedToken:
    token = new_token()
    auth = AuthSession(
        user_id=user.id,
        token_hash=keyed_hash(settings.secret_key, token),
        method=method,
        created_at=now,
        expires_at=now + timedelta(hours=settings.token_ttl_hours),
    )
    session.add(auth)
    await session.flush()
    return IssuedToken(token=token, auth_session=auth, user=user)


async def login_with_sms(
    *, session: AsyncSession, settings: Settings, phone: str, code: str, now: datetime
) -> LoginOutcome:
    phone = _require_phone(phone)
    identifier = _sms_identifier(phone)
    await _serialize(session, f"login:{identifier}")
    locked = await _lockout(session=session, settings=settings, identifier=identifier, now=now)
    if locked is not None:
        return LoginOutcome(error=locked)
    pending = await session.scalar(
        select(SmsCode)
        .where(SmsCode.phone == phone, SmsCode.consumed_at.is_(None), SmsCode.expires_at > now)
        .order_by(SmsCode.created_at.desc(), SmsCode.id.desc())
        .limit(1)
        .with_for_update()
    )
    expected = keyed_hash(settings.secret_key, f"{phone}:{code.strip()}")
    if pending is None or pending.failed_attempts >= MAX_FAILURES_PER_CODE or not hmac.compare_digest(
        pending.code_hash, expected
    ):
        if pending is not None:
            pending.failed_attempts += 1
        session.add(LoginAttempt(identifier=identifier, attempted_at=now))
        await session.flush()
        return LoginOutcome(error=Unauthorized("验证码错误或已过期", code="sms_code_invalid"))
    pending.consumed_at = now
    user = await get_or_create_user_by_phone(session=session, phone=phone, now=now)
    return LoginOutcome(issued=await issue_token(session=session, settings=settings, user=user, method="sms", now=now))


def _credentials_invalid() -> Unauthorized:
    return Unauthorized("登录名或密码错误", code="credentials_invalid")


async def login_with_password(
    *, session: AsyncSession, settings: Settings, login_name: str, password: str, now: datetime
) -> LoginOutcome:
    login_name = login_name.strip()
    if not LOGIN_NAME_PATTERN.fullmatch(login_name):
        # No account can have this name (and some such strings, e.g. with NUL, PostgreSQL refuses to
        # store): refuse at once, recording nothing and sparing the argon2 work.
        return LoginOutcome(error=_credentials_invalid())
    identifier = _password_identifier(login_name)
    await _serialize(session, f"login:{identifier}")
    locked = await _lockout(session=session, settings=settings, identifier=identifier, now=now)
    if locked is not None:
        return LoginOutcome(error=locked)
    user = await session.scalar(select(User).where(User.login_name == login_name))
    stored_hash = user.password_hash if user is not None and user.password_hash else None
    # argon2 is slow on purpose: off the event loop, and as slow for unknown names as for known ones.
    verified = await asyncio.to_thread(_verify_password, stored_hash or _DUMMY_HASH, password)
    if user is None or stored_hash is None or not verified:
        session.add(LoginAttempt(identifier=identifier, attempted_at=now))
        await session.flush()
        return LoginOutcome(error=_credentials_invalid())
    if _hasher.check_needs_rehash(stored_hash):
        user.password_hash = await asyncio.to_thread(_hash_password, password)
    return LoginOutcome(
        issued=await issue_token(session=session, settings=settings, user=user, method="password", now=now)
    )


async def resolve_wechat_code(*, wechat: WeChatClient, code: str) -> WeChatIdentity:
    """Exchange a mini-program login code for the user's openid (a network call: keep it out of transactions)."""
    code = code.strip()
    if not code or len(code) > 128:
        raise InvalidInput("缺少微信登录凭证", code="wechat_code_invalid")
    return await wechat.code2session(code)


async def login_with_wechat_identity(
    *, session: AsyncSession, settings: Settings, identity: WeChatIdentity, now: datetime
) -> IssuedToken:
    """The user behind an openid (created on first login) and a fresh token for them."""
    user = await session.scalar(select(User).where(User.wechat_openid == identity.openid))
    if user is None:
        user = User(
            wechat_openid=identity.openid, wechat_unionid=identity.unionid, display_name="微信用户", created_at=now
        )
        if not await insert_unique(session, user):
            user = await session.scalar(select(User).where(User.wechat_openid == identity.openid))
            assert user is not None  # the unique constraint said it exists
    elif identity.unionid and user.wechat_unionid is None:
        user.wechat_unionid = identity.unionid
    return await issue_token(session=session, settings=settings, user=user, method="wechat", now=now)


async def login_with_wechat(
    *, session: AsyncSession, settings: Settings, wechat: WeChatClient, code: str, now: datetime
) -> IssuedToken:
    """Both steps at once, for callers without a transaction of their own to spare (the API splits them)."""
    identity = await resolve_wechat_code(wechat=wechat, code=code)
    return await login_with_wechat_identity(session=session, settings=settings, identity=identity, now=now)


def _refuse_unusable_token(found: AuthSession | Row | _TokenRow | None, *, now: datetime) -> None:
    if found is None:
        raise Unauthorized("登录凭证无效，请重新登录", code="token_invalid")
    if found.revoked_at is not None:
        raise Unauthorized("登录凭证已注销，请重新登录", code="token_revoked")
    if found.expires_at <= now:
        raise Unauthorized("登录已过期，请重新登录", code="token_expired")


async def authenticate_token(*, session: AsyncSession, settings: Settings, token: str, now: datetime) -> AuthSession:
    auth = await session.scalar(select(AuthSession).where(AuthSession.token_hash == keyed_hash(settings.secret_key, token)))
    _refuse_unusable_token(auth, now=now)
    assert auth is not None  # refused above otherwise
    return auth


@dataclass(frozen=True)
class TokenCaller:
    """Who a valid bearer token belongs to: what every authenticated request needs, and no more."""

    user_id: int
    auth_session_id: int


# Built once: the statement's cache key is computed from the same object on every request.
_TOKEN_CALLER_QUERY = select(
    AuthSession.id, AuthSession.user_id, AuthSession.revoked_at, AuthSession.expires_at
).where(AuthSession.token_hash == bindparam("token_hash"))


_TOKEN_CALLER_ON_DRIVER = DriverStatement(_TOKEN_CALLER_QUERY)


async def token_caller(*, db: Database, settings: Settings, token: str, now: datetime) -> TokenCaller:
    """`authenticate_token` as one row, without an ORM session or a loaded AuthSession (it runs on every
    authenticated request): on PostgreSQL on the driver itself, on SQLite as a Core row."""
    params = {"token_hash": keyed_hash(settings.secret_key, token)}
    if db.dialect == "postgresql":
        async with db.driver_lookup() as connection:
            record = await connection.fetchrow(_TOKEN_CALLER_ON_DRIVER, params)
        found = _TokenRow(*record) if record is not None else None
    else:
        async with db.lookup_connection() as connection:
            found = (await connection.execute(_TOKEN_CALLER_QUERY, params)).one_or_none()
    _refuse_unusable_token(found, now=now)
    assert found is not None  # refused above otherwise
    return TokenCaller(user_id=found.user_id, auth_session_id=found.id)


class _TokenRow(NamedTuple):
    id: int
    user_id: int
    revoked_at: datetime | None
    expires_at: datetime


async def revoke_session(*, session: AsyncSession, auth_session_id: int, now: datetime) -> None:
    auth = await session.get(AuthSession, auth_session_id, with_for_update=True)
    if auth is not None and auth.revoked_at is None:
        auth.revoked_at = now


async def revoke_all_sessions(*, session: AsyncSession, user_id: int, now: datetime) -> int:
    rows = (
        await session.scalars(
            select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)).with_for_update()
        )
    ).all()
    for auth in rows:
        auth.revoked_at = now
    return len(rows)


_ZWJ = "\u200d"
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}


def _clean_display_name(display_name: str) -> str:
    display_name = unicodedata.normalize("NFC", display_name).strip()
    if not display_name or len(display_name) > DISPLAY_NAME_MAX:
        raise InvalidInput(f"昵称长度须为 1 到 {DISPLAY_NAME_MAX} 个字符", code="display_name_invalid")
    # Control, format (zero-width, bidi overrides), private-use and unassigned characters, and line breaks;
    # the zero-width joiner is allowed inside emoji sequences (👨‍👩‍👧) but a name needs something visible.
    if any(ch != _ZWJ and unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in display_name) or all(
        ch == _ZWJ or unicodedata.category(ch)[0] in "ZM" for ch in display_name
    ):
        raise InvalidInput("昵称不能包含换行或不可见字符", code="display_name_invalid")
    return display_name


async def update_display_name(*, session: AsyncSession, user_id: int, display_name: str) -> User:
    display_name = _clean_display_name(display_name)
    user = await get_user(session=session, user_id=user_id)
    user.display_name = display_name
    return user


def dev_inbox_query(*, phone: str | None = None) -> Select[tuple[DevSmsMessage]]:
    """Newest first, optionally one phone's; a phone that is not valid matches nothing (nothing was sent to it)."""
    query = select(DevSmsMessage).order_by(DevSmsMessage.id.desc())
    if phone:
        phone = phone.strip()
        query = query.where(DevSmsMessage.phone == phone if is_valid_phone(phone) else false())
    return query


async def dev_inbox(*, session: AsyncSession, phone: str | None = None, limit: int = 20) -> list[DevSmsMessage]:
    query = dev_inbox_query(phone=phone).limit(max(1, min(limit, 200)))
    return list((await session.scalars(query)).all())
