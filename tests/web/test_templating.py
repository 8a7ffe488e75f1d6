"""The one money filter and the one time filter of the pages."""

from __future__ import annotations

from datetime import UTC, datetime

from linli.web.templating import environment


def test_money_is_yuan_with_the_sign_before_the_symbol():
    template = environment.from_string("{{ a|yuan }} {{ b|yuan }} {{ c|yuan }}")
    assert template.render(a=1234, b=-1234, c=5) == "¥12.34 -¥12.34 ¥0.05"


def test_time_is_the_brand_local_time_in_the_one_chinese_format():
    moment = datetime(2026, 12, 1, 8, 47, tzinfo=UTC)
    assert environment.from_string("{{ t|local_time }}").render(t=moment) == "2026年12月1日 16:47"
    assert environment.from_string("{{ t|local_time('Asia/Tokyo') }}").render(t=moment) == "2026年12月1日 17:47"


def test_text_is_escaped():
    assert environment.from_string("{{ name }}").render(name="<script>") == "&lt;script&gt;"
