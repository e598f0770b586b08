"""Allowlist metadata helpers (no Swift needed)."""

import ipaddress

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


@pytest.mark.parametrize('value', ['', '   '])
def test_validate_value_empty_is_removal(value):
    assert _allowlist.validate_value('X-Container-Meta-Allow-A', value) is None


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
