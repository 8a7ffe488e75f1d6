"""What people type into page forms: yuan, whole numbers and the brand's local time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linli.errors import InvalidInput
from linli.web.forms import count_of, fen_of, local_input, moment_of


def test_yuan_becomes_fen():
    assert [fen_of(t, what="金额") for t in ("100", "99.5", "99.50", "¥1,299", " 0.01 ")] == [10000, 9950, 9950, 129900, 1]
    for bad in ("", "1.234", "-3", "abc", "1e3"):
        with pytest.raises(InvalidInput) as refused:
            fen_of(bad, what="直播价")
        assert refused.value.message == "请输入直播价（元），最多两位小数"


def test_whole_numbers():
    assert count_of(" 120 ", label="库存") == 120
    for bad in ("", "1.5", "-1", "十", "1e2"):
        with pytest.raises(InvalidInput) as refused:
            count_of(bad, label="库存")
        assert refused.value.message == "库存须为整数"


def test_the_brands_wall_clock_is_stored_as_utc():
    assert moment_of("2026-12-01T20:00", "Asia/Shanghai", label="开播时间") == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert moment_of("2026-12-01T20:00:30", "Asia/Shanghai", label="开播时间") == datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC)
    # Another brand's zone reads the same digits as another instant (New York is UTC-5 in December).
    assert moment_of("2026-12-01T20:00", "America/New_York", label="开播时间") == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert local_input(datetime(2026, 12, 1, 12, 0, tzinfo=UTC), "Asia/Shanghai") == "2026-12-01T20:00"


@pytest.mark.parametrize("bad", ["", "明天晚上", "2026-13-01T20:00", "2026-12-01 20:00", "2026-12-01T25:00", "2026-12-01"])
def test_a_bad_time_is_refused_in_chinese(bad):
    with pytest.raises(InvalidInput) as refused:
        moment_of(bad, "Asia/Shanghai", label="开播时间")
    assert refused.value.message == "请填写开播时间（年-月-日 时:分）" and refused.value.code == "datetime_invalid"
