"""Settings read from LINLI_* environment variables (documented in docs/operations.md)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/linli.db"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _secret_from_file(data_dir: Path) -> str:
    """The embedded default keeps a generated secret beside its database so restarts keep tokens valid."""
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = field(default="", repr=False)
    public_base_url: str = "http://127.0.0.1:8000"
    token_ttl_hours: int = 24 * 30
    sms_code_ttl_seconds: int = 300
    sms_resend_interval_seconds: int = 60
    sms_daily_limit: int = 10
    login_failure_limit: int = 5
    login_failure_window_seconds: int = 900
    wechat_appid: str = ""
    wechat_secret: str = field(default="", repr=False)
    dev_mode: bool = True
    data_dir: Path = Path("var")

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(os.environ.get("LINLI_DATA_DIR", "var"))
        secret = os.environ.get("LINLI_SECRET_KEY") or _secret_from_file(data_dir)
        return cls(
            database_url=os.environ.get("LINLI_DATABASE_URL", DEFAULT_DATABASE_URL),
            secret_key=secret,
            public_base_url=os.environ.get("LINLI_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            token_ttl_hours=_env_int("LINLI_TOKEN_TTL_HOURS", 24 * 30),
            sms_code_ttl_seconds=_env_int("LINLI_SMS_CODE_TTL_SECONDS", 300),
            sms_resend_interval_seconds=_env_int("LINLI_SMS_RESEND_INTERVAL_SECONDS", 60),
            sms_daily_limit=_env_int("LINLI_SMS_DAILY_LIMIT", 10),
            login_failure_limit=_env_int("LINLI_LOGIN_FAILURE_LIMIT", 5),
            login_failure_window_seconds=_env_int("LINLI_LOGIN_FAILURE_WINDOW_SECONDS", 900),
            wechat_appid=os.environ.get("LINLI_WECHAT_APPID", ""),
            wechat_secret=os.environ.get("LINLI_WECHAT_SECRET", ""),
            dev_mode=os.environ.get("LINLI_DEV_MODE", "1") not in ("0", "false", "no"),
            data_dir=data_dir,
        )

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
