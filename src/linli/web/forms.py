"""What page forms share: money typed in yuan, and the idempotency key a form carries from its rendering."""

from __future__ import annotations

import re
import secrets

from linli.errors import InvalidInput

YUAN = re.compile(r"^(\d{1,9})(?:\.(\d{1,2}))?$")


def fen_of(text: str, *, what: str, code: str = "amount_invalid") -> int:
    """What a person types in yuan ("100", "99.5", "99.50") as fen; anything else is refused, naming `what`."""
    found = YUAN.match(text.strip().replace("¥", "").replace(",", ""))
    if found is None:
        raise InvalidInput(f"请输入{what}（元），最多两位小数", code=code)
    return int(found.group(1)) * 100 + int((found.group(2) or "0").ljust(2, "0"))


def new_key() -> str:
    """An idempotency key made when a form renders: posting the same form twice does the thing once."""
    return "web-" + secrets.token_hex(12)
