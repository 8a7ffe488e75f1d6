"""linli.timefmt: the one way a time is written for people (the brand's zone, a Chinese format)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from linli.timefmt import DEFAULT_TIMEZONE, format_cell, format_date, format_local


def test_a_utc_instant_reads_in_the_brands_zone():
    moment = datetime(2026, 12, 1, 8, 47, 50, tzinfo=UTC)
    assert format_local(moment, "Asia/Shanghai") == "2026年12月1日 16:47"
    assert format_local(moment, "Asia/Tokyo") == "2026年12月1日 17:47"
    assert format_local(moment) == format_local(moment, DEFAULT_TIMEZONE) == "2026年12月1日 16:47"


def test_the_local_day_is_the_brands_day_not_utcs():
    late_evening_utc = datetime(2026, 12, 31, 16, 5, tzinfo=UTC)  # already 1 January in Shanghai
    assert format_local(late_evening_utc, "Asia/Shanghai") == "2027年1月1日 00:05"
    # The same instant written with another offset reads the same.
    assert format_local(late_evening_utc.astimezone(timezone(timedelta(hours=-5))), "Asia/Shanghai") == "2027年1月1日 00:05"


def test_a_date_reads_the_same_way():
    assert format_date(date(2026, 11, 21)) == "2026年11月21日"


def test_a_csv_cell_keeps_a_sortable_local_form():
    assert format_cell(datetime(2026, 12, 1, 8, 47, 50, tzinfo=UTC), "Asia/Shanghai") == "2026-12-01 16:47:50"


def test_a_naive_datetime_is_refused():
    for write in (format_local, format_cell):
        with pytest.raises(ValueError):
            write(datetime(2026, 12, 1, 8, 47), "Asia/Shanghai")
