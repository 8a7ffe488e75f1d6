"""Times for people: the one place that writes an instant or a date for a person to read.

Stored times and the API's time fields are UTC (ISO 8601, for machines). Every text a person reads (inbox
messages, timeline entries, pick lists, trail notes, error messages) shows the brand's local time in one
Chinese format, "2026年12月1日 16:47", the year always written so a text never needs its date. A CSV cell
is the one exception: it keeps the brand's local time as "2026-12-01 16:47:50", which a spreadsheet
reads as a date-time it can sort (Chinese text would sort 11月10日 before 11月2日).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Shanghai"  # a brand's time zone unless it sets another


def format_local(moment: datetime, timezone: str = DEFAULT_TIMEZONE) -> str:
    """An instant as the brand's wall clock reads it, to the minute: "2026年12月1日 16:47"."""
    local = _local(moment, timezone)
    return f"{format_date(local.date())} {local:%H:%M}"


WEEKDAYS = "一二三四五六日"


def format_announcement(moment: datetime, timezone: str = DEFAULT_TIMEZONE) -> str:
    """An instant as a preview announces it, in the brand's time: "12月5日（周六）19:30"."""
    local = _local(moment, timezone)
    return f"{local.month}月{local.day}日（周{WEEKDAYS[local.weekday()]}）{local:%H:%M}"


def format_date(day: date) -> str:
    """A calendar day (already the brand's): "2026年11月21日"."""
    return f"{day.year}年{day.month}月{day.day}日"


def format_cell(moment: datetime, timezone: str = DEFAULT_TIMEZONE) -> str:
    """An instant for a CSV cell, in the brand's local time, to the second: "2026-12-01 16:47:50"."""
    return _local(moment, timezone).strftime("%Y-%m-%d %H:%M:%S")


def _local(moment: datetime, timezone: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a time for people needs an aware datetime")
    return moment.astimezone(ZoneInfo(timezone))
