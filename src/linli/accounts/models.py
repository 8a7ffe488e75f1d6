"""People who can log in, their sessions, one-time codes and login attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, IdMixin, IdType


class User(IdMixin, Base):
    """One person. Members and leaders log in by phone or WeChat, brand staff by login name and password."""

    __tablename__ = "users"

    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    login_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    wechat_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    wechat_unionid: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]


class AuthSession(IdMixin, Base):
    """A bearer token (stored only as a keyed hash) that expires and can be revoked."""

    __tablename__ = "auth_sessions"

    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    method: Mapped[str] = mapped_column(String(16))  # sms, password, wechat
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SmsCode(IdMixin, Base):
    """A one-time login code sent to a phone; only its keyed hash is kept."""

    __tablename__ = "sms_codes"
    __table_args__ = (Index("ix_sms_codes_phone_created", "phone", "created_at"),)

    phone: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    failed_attempts: Mapped[int] = mapped_column(default=0)
    consumed_at: Mapped[datetime | None]


class DevSmsMessage(IdMixin, Base):
    """The local SMS inbox: what the default sender "sent", for `linli sms-inbox`."""

    __tablename__ = "dev_sms_messages"

    phone: Mapped[str] = mapped_column(String(20), index=True)
    body: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]


class LoginAttempt(IdMixin, Base):
    """Failed logins per identifier (phone or login name), the basis of the lock-out window."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_identifier_at", "identifier", "attempted_at"),)

    identifier: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime]
