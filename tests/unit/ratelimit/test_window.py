"""Rates and the sliding-window decision."""

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import pytest

from opsext.ratelimit.storage.base import WindowCount
from opsext.ratelimit import window


@pytest.mark.parametrize('text,rate', [
    ('20/second', (20, 1)), ('100/minute', (100, 60)),
    ('5000/hour', (5000, 3600)), ('1/day', (1, 86400)),
    ('1000/10minute', (1000, 600)), (' 7 / 2 seconds ', (7, 2)),
    ('3/MINUTE', (3, 60)),
])
def test_parse_rate(text, rate):
    assert window.parse_rate(text) == rate


@pytest.mark.parametrize('text', ['0/second', '-1/second', '10', '10/',
                                  '10/fortnight', '10/0second', '1.5/second',
                                  '1e3/second', '10/s'])
def test_parse_rate_rejects(text):
    with pytest.raises(ValueError, match='not a rate'):
        window.parse_rate(text)


def test_parse_rates_several():
    assert window.parse_rates('100/minute;5000/hour') == (
        (100, 60), (5000, 3600))


def test_parse_rates_same_window_twice_rejected():
    with pytest.raises(ValueError, match='same window'):
        window.parse_rates('1/minute;2/60second')


def test_rate_str_round_trips():
    for text in ('20/second', '100/minute', '1000/10minute', '1/day'):
        assert str(window.parse_rate(text)) == text


def test_decide_allows_up_to_limit():
    rate = window.Rate(10, 60)
    assert window.decide(WindowCount(10, 0, 5.0), rate).allowed
    assert not window.decide(WindowCount(11, 0, 5.0), rate).allowed


def test_decide_previous_window_weighs_in():
    rate = window.Rate(10, 60)
    # Half-way through: 10 * 0.5 + 5 = 10 allowed; 6 more is too many.
    assert window.decide(WindowCount(5, 10, 30.0), rate).allowed
    assert not window.decide(WindowCount(6, 10, 30.0), rate).allowed


def test_decide_remaining_counts_down():
    rate = window.Rate(3, 60)
    assert [window.decide(WindowCount(c, 0, 0.0), rate).remaining
            for c in (1, 2, 3)] == [2, 1, 0]


def _estimate(previous, current, elapsed, w):
    return previous * (1 - elapsed / w) + current


@settings(max_examples=2000, deadline=None)
@given(limit=st.integers(1, 1000), w=st.sampled_from([1, 60, 3600]),
       previous=st.integers(0, 3000), current=st.integers(1, 3000),
       fraction=st.floats(0, 0.999))
def test_retry_after_is_enough_and_not_much_more(limit, w, previous,
                                                 current, fraction):
    elapsed = fraction * w
    decision = window.decide(WindowCount(current, previous, elapsed),
                             window.Rate(limit, w))
    if decision.allowed:
        assert _estimate(previous, current, elapsed, w) <= limit
        return

    def next_hit_allowed(wait):
        at = elapsed + wait
        if at < w:
            return _estimate(previous, current + 1, at, w) <= limit + 1e-9
        return _estimate(current, 1, min(at - w, w), w) <= limit + 1e-9
    assert next_hit_allowed(decision.retry_after)
    if decision.retry_after > 1:
        assert not next_hit_allowed(decision.retry_after - 1.000001)


def test_retry_after_of_an_exact_fade_is_not_rounded_up():
    # 3600 * (1 - 1/3) is 2400.0000000000005 in floating point.
    decision = window.decide(WindowCount(1, 3, 0.0), window.Rate(3, 3600))
    assert decision.retry_after == 2400
