"""Allowlist metadata helpers (no Swift needed)."""

import ipaddress

import hypothesis
from hypothesis import strategies as st
import pytest

from opsext.swift import _allowlist


def test_allow_items_picks_allow_keys_only():
    meta = {'allow-office': '10.0.0.0/8', 'Allow-VPN': '192.0.2.1',
            'allow': '198.51.100.0/24', 'allowance': 'x', 'web-index': 'y'}
    assert sorted(_allowlist.allow_items(meta)) == [
        ('Allow-VPN', '192.0.2.1'), ('allow', '198.51.100.0/24'),
        ('allow-office', '10.0.0.0/8')]


def test_allow_items_skips_empty_values():
    assert _allowlist.allow_items({'allow-office': ''}) == ()


def test_parse_items_union_of_keys():
    parsed = _allowlist.parse_items((('allow-a', '10.0.0.0/8'),
                                     ('allow-b', '192.0.2.1')))
    assert parsed.error is None
    assert ipaddress.ip_address('192.0.2.1') in parsed.networks
    assert ipaddress.ip_address('10.9.9.9') in parsed.networks


def test_parse_items_bad_entry_marks_whole_list_bad():
    parsed = _allowlist.parse_items((('allow-a', '10.0.0.0/8'),
                                     ('allow-b', '010.0.0.1')))
    assert 'allow-b' in parsed.error and '010.0.0.1' in parsed.error
    assert ipaddress.ip_address('10.9.9.9') not in parsed.networks


def test_validate_value_empty_is_removal():
    assert _allowlist.validate_value('X-Container-Meta-Allow-A', '') is None


def test_validate_value_names_header_and_entry():
    error = _allowlist.validate_value('X-Container-Meta-Allow-A',
                                      '10.0.0.0/8 10.0.0.1/8')
    assert 'X-Container-Meta-Allow-A' in error and "'10.0.0.1/8'" in error


def test_validate_value_over_long():
    value = ' '.join(['10.0.0.%d' % i for i in range(40)])
    assert 'longer than 256' in _allowlist.validate_value('H', value)


def test_parsed_cache_parses_once():
    cache = _allowlist.ParsedCache(4)
    items = (('allow', '10.0.0.0/8'),)
    assert cache.get(items) is cache.get(items)


def test_once_log_first_only_once_within_window():
    once = _allowlist.OnceLog(2)
    assert once.first('a') and not once.first('a')
    once.first('b')
    once.first('c')  # evicts 'a'
    assert once.first('a')


def _stored(value):
    """What the read side gets for a value a client wrote: Swift deletes
    an item set to '', and keeps any other value as it is."""
    return _allowlist.allow_items({'allow-x': value})


@hypothesis.settings(max_examples=2000, deadline=None)
@hypothesis.given(value=st.one_of(
    st.text(),
    st.text(alphabet=' ,\t\n\x0b\x0c\r\u3000\u2028/.:0123456789abcdef'),
    st.lists(st.sampled_from(['10.0.0.0/8', '192.0.2.1', '::1',
                              '2001:db8::/32', '::ffff:10.0.0.0/104', ' ',
                              ',', '\t', '010.1.1.1', '10.0.0.1/8', '']),
             max_size=6).map(''.join)))
def test_write_validation_accepts_exactly_what_the_read_side_parses(value):
    accepted = _allowlist.validate_value('X-Container-Meta-Allow-X',
                                         value) is None
    items = _stored(value)
    parsed_ok = _allowlist.parse_items(items).error is None
    fits = len(value.encode('utf-8')) <= _allowlist.MAX_VALUE_LENGTH
    assert accepted == (parsed_ok and fits)


@hypothesis.settings(max_examples=1000, deadline=None)
@hypothesis.given(value=st.text())
def test_wsgi_encoded_value_accepted_only_if_stored_value_parses(value):
    # A header reaches the filter as a WSGI string (its UTF-8 bytes read as
    # latin-1); Swift stores the UTF-8 text.
    wsgi_value = value.encode('utf-8').decode('latin-1')
    if _allowlist.validate_value('X-Container-Meta-Allow', wsgi_value) is None:
        assert _allowlist.parse_items(_stored(value)).error is None


@pytest.mark.parametrize('value', [' ', '\t', '\x0b', '\u3000'])
def test_white_space_only_value_is_refused_not_stored(value):
    # It would be stored (only '' deletes) and then read as malformed,
    # locking the container to operator_cidrs.
    assert _allowlist.validate_value('X-Container-Meta-Allow', value)
    assert _allowlist.parse_items(_stored(value)).error
