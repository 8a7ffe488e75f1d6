"""The injected clock: production reads the system time, tests and replays pin it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to (tests, `--as-of` replays)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)


def parse_as_of(value: str | None) -> datetime:
    """Parse a `--as-of` ISO timestamp; a naive value is read as UTC."""
    if not value:
        return datetime.now(UTC)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# How far ahead of this machine's clock a replayed moment (or a posting the audit reads) may be and still count
# as "now": a few seconds of skew between machines, never a real step into the future.
CLOCK_SKEW_TOLERANCE = timedelta(seconds=5)


class AsOfRefused(ValueError):
    """A `--as-of` that cannot be used: unreadable, or later than now without --allow-future."""


def replay_moment(value: str, *, now: datetime, allow_future: bool = False) -> datetime:
    """The moment a `--as-of` names. Jobs do real, irreversible work (settle, expire, end bindings), so a moment
    later than `now` (beyond CLOCK_SKEW_TOLERANCE) is refused unless the caller rehearses on a copy of the data."""
    try:
        moment = parse_as_of(value)
    except ValueError as exc:
        raise AsOfRefused(f"--as-of {value!r} 不是有效的 ISO 时间（例如 2026-11-21T00:10:00+08:00）") from exc
    if moment > now + CLOCK_SKEW_TOLERANCE and not allow_future:
        raise AsOfRefused(
            f"拒绝执行：--as-of {moment:%Y-%m-%d %H:%M:%S} UTC 晚于当前时间 {now:%Y-%m-%d %H:%M:%S} UTC，"
            "未来时刻会真实且不可撤销地结算、过期订单和结束绑定；只在数据副本上演练时才加 --allow-future"
        )
    return moment
