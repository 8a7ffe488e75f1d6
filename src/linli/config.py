"""Settings read from LINLI_* environment variables (documented in docs/operations.md)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/linli.db"
SMS_PROVIDERS = ("inbox", "tencent")
SMS_TEMPLATE_VALUES = ("code", "minutes")  # what a Tencent template's {1}, {2} … may be filled with


class SettingsError(ValueError):
    """The configuration cannot work; the message names the variables to fix, on one line."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


class MissingSecret(Exception):
    """No LINLI_SECRET_KEY and no generated secret file, for a command that must not create one."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None or raw == "" else raw not in ("0", "false", "no")


def dev_mode_from_env() -> bool:
    """LINLI_DEV_MODE, off unless set (read alone by `linli serve` before it creates anything)."""
    return _env_flag("LINLI_DEV_MODE", False)


def _secret_from_file(data_dir: Path, *, create: bool) -> str:
    """The embedded default keeps a generated secret beside its database so restarts keep tokens valid."""
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    if not create:
        raise MissingSecret(path.resolve())
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
    dev_mode: bool = False  # development conveniences (the SMS inbox over HTTP, simulators): never on by default
    data_dir: Path = Path("var")
    order_payment_minutes: int = 10
    db_pool_size: int = 20
    db_max_overflow: int = 10
    # The live room's LISTEN connection (PostgreSQL); empty: database_url. Needs a session of its own: under
    # PgBouncer in transaction mode, point it at PostgreSQL itself or at a session-mode pool.
    listen_database_url: str = field(default="", repr=False)
    # A PostgreSQL streaming replica the dashboards and reports read (docs/operations.md, "Read replica"); empty:
    # they read the primary. What decides money always reads database_url.
    read_database_url: str = field(default="", repr=False)
    inprocess_worker: bool = True
    worker_poll_seconds: float = 0.2
    # The scheduler in every worker looks at what is due at most this often (docs/operations.md).
    scheduler_check_seconds: float = 30.0
    log_format: str = "text"  # text (key=value) or json
    metrics_token: str = field(default="", repr=False)  # empty: GET /metrics is off
    cjk_font: str = ""  # a CJK font file for posters; empty: found at run time (linli.posters)
    # Payments (docs/payments.md). The signed local simulator is the default provider.
    payment_default_provider: str = "simulator"
    payment_simulator_enabled: bool = False  # from_env: follows LINLI_DEV_MODE unless LINLI_PAYMENT_SIMULATOR says
    wechatpay_mchid: str = ""  # WeChat Pay is enabled when this is set
    wechatpay_appid: str = ""  # defaults to wechat_appid
    wechatpay_cert_serial_no: str = ""
    wechatpay_private_key_path: str = ""
    wechatpay_apiv3_key: str = field(default="", repr=False)
    wechatpay_public_key_path: str = ""  # platform public key mode (no certificate download)
    wechatpay_public_key_id: str = ""
    wechatpay_cert_dir: str = ""  # platform certificate mode: pre-fetched certificates
    wechatpay_notify_url: str = ""  # defaults to {public_base_url}/api/v1/payments/wechatpay/notify
    wechatpay_timeout_seconds: float = 10.0
    # Withdrawal payouts (docs/withdrawals.md): the simulator (same switch as payments) or WeChat Pay transfers.
    payout_default_provider: str = "simulator"
    payout_simulator_mode: str = "instant"  # instant, pending or fail (see linli.payouts.simulator)
    wechatpay_transfer_notify_url: str = ""  # defaults to {public_base_url}/api/v1/payouts/wechatpay/notify
    wechatpay_transfer_scene_id: str = ""  # 转账场景 id, when the merchant account has one
    # Uploaded files (claim photos): a local folder by default; None means {data_dir}/media.
    media_dir: Path | None = None
    # SMS (docs/accounts.md): the local inbox by default, or Tencent Cloud SMS with an approved template.
    sms_provider: str = "inbox"
    sms_tencent_secret_id: str = ""
    sms_tencent_secret_key: str = field(default="", repr=False)
    sms_tencent_sdk_app_id: str = ""
    sms_tencent_sign_name: str = ""
    sms_tencent_template_id: str = ""
    sms_tencent_region: str = "ap-guangzhou"
    sms_tencent_template_params: str = "code,minutes"  # the template's {1}, {2}: the code, its lifetime in minutes
    sms_tencent_endpoint: str = ""  # empty: the SDK's sms.tencentcloudapi.com
    sms_tencent_timeout_seconds: float = 5.0
    # Pushes (docs/marketing.md): the template of notice SMS (one variable, the text), how long a WeCom robot may
    # take to answer, and the hosts a robot's webhook may point at (loopback http too, in development mode only).
    sms_tencent_notice_template_id: str = ""
    push_webhook_timeout_seconds: float = 5.0
    wecom_webhook_hosts: str = "qyapi.weixin.qq.com"

    def __post_init__(self) -> None:
        problem = _sms_problem(self) or _replica_problem(self) or _push_problem(self)
        if problem:
            raise SettingsError(problem)

    @classmethod
    def from_env(cls, *, create_secret: bool = True) -> Settings:
        """create_secret=False: a missing generated secret raises MissingSecret instead of being made."""
        data_dir = Path(os.environ.get("LINLI_DATA_DIR", "var"))
        secret = os.environ.get("LINLI_SECRET_KEY") or _secret_from_file(data_dir, create=create_secret)
        dev_mode = dev_mode_from_env()
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
            dev_mode=dev_mode,
            data_dir=data_dir,
            order_payment_minutes=_env_int("LINLI_ORDER_PAYMENT_MINUTES", 10),
            db_pool_size=_env_int("LINLI_DB_POOL_SIZE", 20),
            db_max_overflow=_env_int("LINLI_DB_MAX_OVERFLOW", 10),
            listen_database_url=os.environ.get("LINLI_LISTEN_DATABASE_URL", "").strip(),
            read_database_url=os.environ.get("LINLI_READ_DATABASE_URL", "").strip(),
            inprocess_worker=os.environ.get("LINLI_INPROCESS_WORKER", "1") not in ("0", "false", "no"),
            worker_poll_seconds=float(os.environ.get("LINLI_WORKER_POLL_SECONDS", "0.2")),
            scheduler_check_seconds=float(os.environ.get("LINLI_SCHEDULER_CHECK_SECONDS", "30")),
            log_format=os.environ.get("LINLI_LOG_FORMAT", "text").strip().lower() or "text",
            metrics_token=os.environ.get("LINLI_METRICS_TOKEN", ""),
            cjk_font=os.environ.get("LINLI_CJK_FONT", "").strip(),
            payment_default_provider=os.environ.get("LINLI_PAYMENT_DEFAULT_PROVIDER", "simulator"),
            payment_simulator_enabled=_env_flag("LINLI_PAYMENT_SIMULATOR", dev_mode),
            wechatpay_mchid=os.environ.get("LINLI_WECHATPAY_MCHID", ""),
            wechatpay_appid=os.environ.get("LINLI_WECHATPAY_APPID", ""),
            wechatpay_cert_serial_no=os.environ.get("LINLI_WECHATPAY_CERT_SERIAL_NO", ""),
            wechatpay_private_key_path=os.environ.get("LINLI_WECHATPAY_PRIVATE_KEY_PATH", ""),
            wechatpay_apiv3_key=os.environ.get("LINLI_WECHATPAY_APIV3_KEY", ""),
            wechatpay_public_key_path=os.environ.get("LINLI_WECHATPAY_PUBLIC_KEY_PATH", ""),
            wechatpay_public_key_id=os.environ.get("LINLI_WECHATPAY_PUBLIC_KEY_ID", ""),
            wechatpay_cert_dir=os.environ.get("LINLI_WECHATPAY_CERT_DIR", ""),
            wechatpay_notify_url=os.environ.get("LINLI_WECHATPAY_NOTIFY_URL", ""),
            wechatpay_timeout_seconds=float(os.environ.get("LINLI_WECHATPAY_TIMEOUT_SECONDS", "10")),
            payout_default_provider=os.environ.get("LINLI_PAYOUT_DEFAULT_PROVIDER", "simulator"),
            payout_simulator_mode=os.environ.get("LINLI_PAYOUT_SIMULATOR_MODE", "instant"),
            wechatpay_transfer_notify_url=os.environ.get("LINLI_WECHATPAY_TRANSFER_NOTIFY_URL", ""),
            wechatpay_transfer_scene_id=os.environ.get("LINLI_WECHATPAY_TRANSFER_SCENE_ID", ""),
            media_dir=Path(os.environ["LINLI_MEDIA_DIR"]) if os.environ.get("LINLI_MEDIA_DIR") else None,
            sms_provider=os.environ.get("LINLI_SMS_PROVIDER", "inbox").strip().lower(),
            sms_tencent_secret_id=os.environ.get("LINLI_SMS_TENCENT_SECRET_ID", ""),
            sms_tencent_secret_key=os.environ.get("LINLI_SMS_TENCENT_SECRET_KEY", ""),
            sms_tencent_sdk_app_id=os.environ.get("LINLI_SMS_TENCENT_SDK_APP_ID", ""),
            sms_tencent_sign_name=os.environ.get("LINLI_SMS_TENCENT_SIGN_NAME", ""),
            sms_tencent_template_id=os.environ.get("LINLI_SMS_TENCENT_TEMPLATE_ID", ""),
            sms_tencent_region=os.environ.get("LINLI_SMS_TENCENT_REGION", "ap-guangzhou"),
            sms_tencent_template_params=os.environ.get("LINLI_SMS_TENCENT_TEMPLATE_PARAMS", "code,minutes"),
            sms_tencent_endpoint=os.environ.get("LINLI_SMS_TENCENT_ENDPOINT", ""),
            sms_tencent_timeout_seconds=float(os.environ.get("LINLI_SMS_TENCENT_TIMEOUT_SECONDS", "5")),
            sms_tencent_notice_template_id=os.environ.get("LINLI_SMS_TENCENT_NOTICE_TEMPLATE_ID", "").strip(),
            push_webhook_timeout_seconds=float(os.environ.get("LINLI_PUSH_WEBHOOK_TIMEOUT_SECONDS", "5")),
            wecom_webhook_hosts=os.environ.get("LINLI_WECOM_WEBHOOK_HOSTS", "qyapi.weixin.qq.com"),
        )

    @property
    def media_path(self) -> Path:
        return self.media_dir if self.media_dir is not None else self.data_dir / "media"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def wecom_hosts(self) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in self.wecom_webhook_hosts.split(",") if h.strip())

    @property
    def sms_tencent_template_values(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.sms_tencent_template_params.split(","))


def _replica_problem(settings: Settings) -> str | None:
    """A read replica is PostgreSQL's streaming replication: SQLite has none, on either side."""
    url = settings.read_database_url
    if url and (not url.startswith("postgresql") or settings.database_url.startswith("sqlite")):
        return (
            "LINLI_READ_DATABASE_URL 须为 PostgreSQL 只读副本（postgresql+asyncpg://…），"
            "且 LINLI_DATABASE_URL 须为 PostgreSQL 主库（见 docs/operations.md）"
        )
    return None


def _push_problem(settings: Settings) -> str | None:
    if not 0 < settings.push_webhook_timeout_seconds <= 30:
        return "LINLI_PUSH_WEBHOOK_TIMEOUT_SECONDS 须在 0 到 30 秒之间（不含 0）"
    return None


def _sms_problem(settings: Settings) -> str | None:
    """Why the SMS settings cannot send a login code, in one line; None when they can."""
    if settings.sms_provider not in SMS_PROVIDERS:
        return f"LINLI_SMS_PROVIDER={settings.sms_provider!r} 无效，可选：{'、'.join(SMS_PROVIDERS)}"
    if settings.sms_provider != "tencent":
        return None
    required = {
        "LINLI_SMS_TENCENT_SECRET_ID": settings.sms_tencent_secret_id,
        "LINLI_SMS_TENCENT_SECRET_KEY": settings.sms_tencent_secret_key,
        "LINLI_SMS_TENCENT_SDK_APP_ID": settings.sms_tencent_sdk_app_id,
        "LINLI_SMS_TENCENT_SIGN_NAME": settings.sms_tencent_sign_name,
        "LINLI_SMS_TENCENT_TEMPLATE_ID": settings.sms_tencent_template_id,
        "LINLI_SMS_TENCENT_REGION": settings.sms_tencent_region,
    }
    missing = [name for name, value in required.items() if not value.strip()]
    if missing:
        return f"LINLI_SMS_PROVIDER=tencent 还需要设置 {'、'.join(missing)}（见 docs/operations.md）"
    values = settings.sms_tencent_template_values
    if "code" not in values or any(v not in SMS_TEMPLATE_VALUES for v in values) or len(set(values)) != len(values):
        return "LINLI_SMS_TENCENT_TEMPLATE_PARAMS 须为模板变量 {1}、{2} … 依次填入的值，如 code 或 code,minutes"
    if not 0 < settings.sms_tencent_timeout_seconds <= 60:
        return "LINLI_SMS_TENCENT_TIMEOUT_SECONDS 须在 0 到 60 秒之间（不含 0）"
    return None
