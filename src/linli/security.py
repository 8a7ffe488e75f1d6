"""Small security helpers shared by the contexts: random tokens, keyed hashes, masking."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

# ASCII digits only and the whole string: `\d` also matches full-width and other Unicode digits and `$`
# matches before a trailing newline, which would let one number be spelt several ways.
PHONE_PATTERN = re.compile(r"1[3-9][0-9]{9}")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def keyed_hash(secret_key: str, value: str) -> str:
    """HMAC-SHA256 so that a leaked table does not reveal tokens or one-time codes."""
    return hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()


def is_valid_phone(phone: str) -> bool:
    return bool(PHONE_PATTERN.fullmatch(phone))


def mask_phone(phone: str | None) -> str:
    """138****1234; anything that is not a mainland mobile number is hidden entirely."""
    if not phone or len(phone) != 11:
        return "***"
    return f"{phone[:3]}****{phone[-4:]}"


def mask_name(name: str | None) -> str:
    """张三 -> 张*; shown in tickers and to leaders where a full name is not needed."""
    if not name:
        return "邻居"
    return name[0] + "*" * max(1, len(name) - 1)
