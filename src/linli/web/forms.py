"""What page forms share: money typed in yuan, whole numbers, the brand's wall-clock time from an
`<input type="datetime-local">` as an aware UTC instant, and the idempotency key a form carries from its rendering.

Each reader refuses with an `InvalidInput` in Chinese, which the page puts beside the field (`FormState.refuse`);
the range checks stay the services' own.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from linli.errors import InvalidInput

YUAN = re.compile(r"^(\d{1,9})(?:\.(\d{1,2}))?$")
WHOLE = re.compile(r"^\d{1,9}$")
# What a browser's datetime-local sends: minutes, or seconds when the step asks for them.
LOCAL_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?$")


def fen_of(text: str, *, what: str, code: str = "amount_invalid") -> int:
    """What a person types in yuan ("100", "99.5", "99.50") as fen; anything else is refused, naming `what`."""
    found = YUAN.match(text.strip().replace("¥", "").replace(",", ""))
    if found is None:
        raise InvalidInput(f"请输入{what}（元），最多两位小数", code=code)
    return int(found.group(1)) * 100 + int((found.group(2) or "0").ljust(2, "0"))


def new_key() -> str:
    """An idempotency key made when a form renders: posting the same form twice does the thing once."""
    return "web-" + secrets.token_hex(12)


def count_of(text: str, *, label: str, code: str = "number_invalid") -> int:
    """A whole number typed by a person ("100"); a sign, a fraction or words are refused."""
    value = text.strip()
    if not WHOLE.match(value):
        raise InvalidInput(f"{label}须为整数", code=code)
    return int(value)


def moment_of(text: str, timezone: str, *, label: str, code: str = "datetime_invalid") -> datetime:
    """A datetime-local value ("2026-12-01T20:00"), read as the brand's wall clock, as an aware UTC instant."""
    value = text.strip()
    try:
        if not LOCAL_MOMENT.match(value):
            raise ValueError(value)
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"请填写{label}（年-月-日 时:分）", code=code) from None
    return naive.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def local_input(moment: datetime, timezone: str) -> str:
    """The value a datetime-local input shows for an instant: the brand's wall clock, to the minute."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")
