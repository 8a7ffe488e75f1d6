"""The GMV buckets a leader's rank is read from: ordered, contiguous, and `bucket_end` is where the next begins."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from linli.dashboards.rank_buckets import bucket_end, bucket_of

GMV = st.integers(min_value=-10, max_value=2**62)


@given(GMV, GMV)
def test_a_higher_gmv_is_never_in_a_lower_bucket(a, b):
    low, high = sorted((a, b))
    assert bucket_of(low) <= bucket_of(high)


@given(GMV)
def test_the_bucket_ends_where_the_next_begins(gmv):
    end = bucket_end(gmv)
    assert end > gmv
    assert bucket_of(end - 1) == bucket_of(max(gmv, 0)) or gmv <= 0
    assert bucket_of(end) > bucket_of(gmv)


@given(st.integers(min_value=8, max_value=2**62))
def test_a_bucket_spans_at_most_a_quarter_of_its_values(gmv):
    assert (bucket_end(gmv) - 1) * 4 <= gmv * 5 + 4  # GMVs of one bucket are within 25 % of each other


def test_four_buckets_per_doubling():
    assert [bucket_of(v) for v in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16)] == [0, 5, 10, 11, 12, 13, 14, 15, 16, 16, 17, 20]
    assert bucket_of(2**63 - 1) == 255  # the largest 64-bit amount: 256 buckets in all
