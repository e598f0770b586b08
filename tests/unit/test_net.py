"""Strict parsing and matching in opsext.net: one test per case."""

import ipaddress

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import pytest

from opsext import net


@pytest.mark.parametrize('text', [
    '010.0.0.1',        # leading zero (octal in inet_aton)
    '0x0a.0.0.1',       # hex octet
    '10.1',             # short form
    '167772161',        # integer form
    '10.0.0.256',
    ' 10.0.0.1',
    '10.0.0.1 ',
    '\uff11\uff10.0.0.1',  # full-width digits
    '10.0.0.1\n',
    '',
    'localhost',
    '1.2.3.4.5',
    '2001:db8::g',
    ':::',
    '10.0.0.1%eth0',
])
def test_parse_address_rejects(text):
    with pytest.raises(net.AddressError):
        net.parse_address(text)


def test_parse_address_ipv4():
    assert net.parse_address('192.0.2.1') == ipaddress.ip_address('192.0.2.1')


def test_parse_address_ipv6_is_compressed_form():
    assert str(net.parse_address('2001:DB8:0:0::1')) == '2001:db8::1'


def test_parse_address_mapped_ipv6_becomes_ipv4():
    assert net.parse_address('::ffff:10.0.0.1') == ipaddress.ip_address(
        '10.0.0.1')


def test_parse_address_zone_id_dropped_when_allowed():
    assert net.parse_address('fe80::1%eth0', allow_zone=True) == \
        ipaddress.ip_address('fe80::1')


def test_parse_address_zone_id_refused_by_default():
    with pytest.raises(net.AddressError, match='zone'):
        net.parse_address('fe80::1%eth0')


def test_parse_address_garbage_zone_refused():
    with pytest.raises(net.AddressError, match='zone'):
        net.parse_address('fe80::1%eth0/../x', allow_zone=True)


def test_parse_address_too_long_refused():
    with pytest.raises(net.AddressError, match='too long'):
        net.parse_address('1' * 1000)


@pytest.mark.parametrize('text,reason', [
    ('10.0.0.1/8', 'host bits set'),
    ('10.0.0.0/255.0.0.0', 'no netmasks'),
    ('/255.0.0.0', 'empty'),
    ('10.0.0.0/08', 'no netmasks'),
    ('10.0.0.0/33', 'out of range'),
    ('10.0.0.0/', 'no netmasks'),
    ('10.0.0.0/-1', 'no netmasks'),
    ('2001:db8::/129', 'out of range'),
    ('fe80::%eth0/64', 'zone'),
    ('::ffff:0:0/95', 'wider than'),
    ('010.0.0.0/8', 'dotted quad'),
])
def test_parse_network_rejects(text, reason):
    with pytest.raises(net.AddressError, match=reason) as info:
        net.parse_network(text)
    assert info.value.entry == text


def test_parse_network_bare_address_is_host_network():
    assert net.parse_network('192.0.2.7') == ipaddress.ip_network(
        '192.0.2.7/32')


def test_parse_network_everything_v4():
    assert net.parse_network('0.0.0.0/0') == ipaddress.ip_network(
        '0.0.0.0/0')


def test_parse_network_mapped_becomes_ipv4():
    assert net.parse_network('::ffff:10.0.0.0/104') == ipaddress.ip_network(
        '10.0.0.0/8')


def test_split_entries_commas_and_spaces():
    assert net.split_entries('a, b c,\td') == ['a', 'b', 'c', 'd']


@pytest.mark.parametrize('value', ['a,,b', 'a,', ',a', ' , '])
def test_split_entries_empty_entry_refused(value):
    with pytest.raises(net.AddressError, match='empty entry'):
        net.split_entries(value)


def test_network_set_matches_members_only():
    netset = net.NetworkSet.from_string('10.0.0.0/8 192.168.1.0/24')
    assert net.parse_address('10.255.0.1') in netset
    assert net.parse_address('192.168.1.255') in netset
    assert net.parse_address('192.168.2.0') not in netset
    assert net.parse_address('11.0.0.0') not in netset


def test_network_set_10_1_does_not_match_10_10():
    # The Operations Guide's startswith('10.1') also matched 10.10.x.
    netset = net.NetworkSet.from_string('10.1.0.0/16')
    assert net.parse_address('10.10.0.1') not in netset


def test_network_set_v4_list_does_not_match_v6_client():
    netset = net.NetworkSet.from_string('0.0.0.0/0')
    assert net.parse_address('2001:db8::1') not in netset


def test_network_set_v6_list_does_not_match_v4_client():
    netset = net.NetworkSet.from_string('::/0')
    assert net.parse_address('10.0.0.1') not in netset


def test_network_set_mapped_client_matches_v4_list():
    netset = net.NetworkSet.from_string('10.0.0.0/8')
    assert net.parse_address('::ffff:10.0.0.1') in netset


def test_network_set_empty_matches_nothing():
    netset = net.NetworkSet.from_string('')
    assert not netset
    assert net.parse_address('10.0.0.1') not in netset


def test_network_set_len_counts_given_networks():
    assert len(net.NetworkSet.from_string('10.0.0.0/8 10.0.0.0/9')) == 2


def _reference_match(address, networks):
    """A plain linear scan, the obviously-right implementation."""
    return any(address in network for network in networks)


_v4_networks = st.builds(
    lambda addr, prefix: ipaddress.ip_network(
        (ipaddress.IPv4Address(addr), prefix), strict=False),
    st.integers(0, 2 ** 32 - 1), st.integers(0, 32))
_v6_networks = st.builds(
    lambda addr, prefix: ipaddress.ip_network(
        (ipaddress.IPv6Address(addr), prefix), strict=False),
    st.integers(0, 2 ** 128 - 1), st.integers(0, 128))
_addresses = st.one_of(
    st.integers(0, 2 ** 32 - 1).map(ipaddress.IPv4Address),
    st.integers(0, 2 ** 128 - 1).map(ipaddress.IPv6Address))


@settings(max_examples=400, deadline=None)
@given(networks=st.lists(st.one_of(_v4_networks, _v6_networks),
                         max_size=30),
       addresses=st.lists(_addresses, min_size=1, max_size=20))
def test_network_set_agrees_with_linear_scan(networks, addresses):
    netset = net.NetworkSet(networks)
    for address in addresses:
        address = net.normalize_address(address)
        expected = _reference_match(address, networks)
        assert (address in netset) == expected


@settings(max_examples=300, deadline=None)
@given(networks=st.lists(_v4_networks, min_size=1, max_size=10))
def test_network_set_agrees_near_network_edges(networks):
    netset = net.NetworkSet(networks)
    for network in networks:
        for edge in (int(network.network_address) - 1,
                     int(network.network_address),
                     int(network.broadcast_address),
                     int(network.broadcast_address) + 1):
            if 0 <= edge < 2 ** 32:
                address = ipaddress.IPv4Address(edge)
                assert (address in netset) == _reference_match(
                    address, networks)


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=50))
def test_parse_network_never_accepts_what_ipaddress_refuses(text):
    try:
        parsed = net.parse_network(text)
    except net.AddressError:
        return
    if ':' in text:
        return  # IPv6 spellings are pinned by the examples above
    # Whatever IPv4 we accept, the standard library parses to the same.
    assert parsed == ipaddress.ip_network(text, strict=True)


_OCTETS = st.one_of(st.integers(0, 300).map(str),
                    st.sampled_from(['00', '01', '010', '0x1', '1e1', ' 1',
                                     '', '-1', '256', '٣']))
_PREFIXES = st.one_of(st.none(), st.integers(0, 40).map(str),
                      st.sampled_from(['00', '08', '032', '', ' 8', '-1',
                                       '255.0.0.0']))


@settings(max_examples=3000, deadline=None)
@given(octets=st.lists(_OCTETS, min_size=3, max_size=5),
       prefix=_PREFIXES, tail=st.sampled_from(['', '\n', ' ']))
def test_ipv4_fast_path_agrees_with_the_general_parser(octets, prefix,
                                                       tail):
    text = '.'.join(octets) + ('' if prefix is None else '/' + prefix) + tail
    _assert_agrees_with_general_parser(text)


def _assert_agrees_with_general_parser(text):
    try:
        expected = net._parse_network_general(text)
    except net.AddressError as exc:
        for parse in (net.parse_network, net.parse_range):
            with pytest.raises(net.AddressError) as raised:
                parse(text)
            assert raised.value.reason == exc.reason
    else:
        assert net.parse_network(text) == expected
        assert type(net.parse_network(text)) is type(expected)
        assert net.parse_range(text) == (
            expected.version, int(expected.network_address),
            int(expected.broadcast_address))


@settings(max_examples=1000, deadline=None)
@given(text=st.text(max_size=30))
def test_parse_network_agrees_with_the_general_parser_on_any_text(text):
    _assert_agrees_with_general_parser(text)


def _ipv4_network(value_prefix):
    value, prefix = value_prefix
    return str(ipaddress.IPv4Network(
        (value >> (32 - prefix) << (32 - prefix), prefix)))


@settings(max_examples=500, deadline=None)
@given(networks=st.lists(st.one_of(
    st.tuples(st.integers(0, 2 ** 32 - 1), st.integers(0, 32)).map(
        _ipv4_network),
    st.ip_addresses().map(str)), max_size=40),
       probe=st.ip_addresses())
def test_set_from_ranges_matches_set_from_networks(networks, probe):
    text = ' '.join(networks)
    parsed = net.parse_network_list(text) if text else []
    by_networks = net.NetworkSet(parsed)
    by_ranges = net.NetworkSet.from_ranges(
        net.parse_range_list(text) if text else [])
    probe = net.normalize_address(probe)
    expected = any(probe.version == n.version and probe in n
                   for n in parsed)
    assert (probe in by_ranges) == (probe in by_networks) == expected
