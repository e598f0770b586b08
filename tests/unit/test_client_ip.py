"""Client address resolution with trusted proxies: one test per attack."""

import ipaddress

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import pytest

from opsext import client_ip
from opsext import net


def _resolver(trusted='', header='x-forwarded-for', max_hops=10):
    return client_ip.ClientAddressResolver(
        net.NetworkSet.from_string(trusted), header, max_hops)


def _ip(text):
    return ipaddress.ip_address(text)


def test_remote_addr_is_the_client_by_default():
    assert _resolver().resolve({'REMOTE_ADDR': '192.0.2.1'}) == _ip(
        '192.0.2.1')


def test_spoofed_x_forwarded_for_from_untrusted_peer_ignored():
    env = {'REMOTE_ADDR': '203.0.113.9', 'HTTP_X_FORWARDED_FOR': '10.0.0.1'}
    assert _resolver('127.0.0.1').resolve(env) == _ip('203.0.113.9')


def test_x_forwarded_for_ignored_without_trusted_proxies():
    env = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_X_FORWARDED_FOR': '10.0.0.1'}
    assert _resolver().resolve(env) == _ip('127.0.0.1')


def test_x_forwarded_for_from_trusted_proxy_believed():
    env = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_X_FORWARDED_FOR': '10.0.0.1'}
    assert _resolver('127.0.0.1').resolve(env) == _ip('10.0.0.1')


def test_forged_left_entries_behind_trusted_proxy_ignored():
    env = {'REMOTE_ADDR': '127.0.0.1',
           'HTTP_X_FORWARDED_FOR': '10.0.0.1, 198.51.100.7'}
    assert _resolver('127.0.0.1').resolve(env) == _ip('198.51.100.7')


def test_chain_of_trusted_proxies_walked_from_the_right():
    env = {'REMOTE_ADDR': '127.0.0.1',
           'HTTP_X_FORWARDED_FOR': '10.0.0.1, 198.51.100.7, 172.16.0.2'}
    resolver = _resolver('127.0.0.1 172.16.0.0/12')
    assert resolver.resolve(env) == _ip('198.51.100.7')


def test_too_many_trusted_hops_refused():
    env = {'REMOTE_ADDR': '127.0.0.1',
           'HTTP_X_FORWARDED_FOR': ', '.join(['127.0.0.1'] * 5)}
    with pytest.raises(client_ip.ClientAddressError, match='more than'):
        _resolver('127.0.0.1', max_hops=3).resolve(env)


def test_only_trusted_hops_gives_leftmost():
    env = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_X_FORWARDED_FOR': '127.0.0.2'}
    assert _resolver('127.0.0.0/8').resolve(env) == _ip('127.0.0.2')


def test_x_cluster_client_ip_never_trusted():
    env = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_X_CLUSTER_CLIENT_IP': '10.0.0.1'}
    assert _resolver('127.0.0.1').resolve(env) == _ip('127.0.0.1')


def test_x_forwarded_for_with_port():
    env = {'REMOTE_ADDR': '127.0.0.1',
           'HTTP_X_FORWARDED_FOR': '192.0.2.4:5678'}
    assert _resolver('127.0.0.1').resolve(env) == _ip('192.0.2.4')


def test_x_forwarded_for_bracketed_ipv6_with_port():
    env = {'REMOTE_ADDR': '127.0.0.1',
           'HTTP_X_FORWARDED_FOR': '[2001:db8::1]:4711'}
    assert _resolver('127.0.0.1').resolve(env) == _ip('2001:db8::1')


def test_x_forwarded_for_garbage_from_trusted_proxy_refused():
    env = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_X_FORWARDED_FOR': 'garbage'}
    with pytest.raises(client_ip.ClientAddressError):
        _resolver('127.0.0.1').resolve(env)


def test_x_forwarded_for_empty_entry_from_trusted_proxy_refused():
    env = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_X_FORWARDED_FOR': '10.0.0.1, '}
    with pytest.raises(client_ip.ClientAddressError):
        _resolver('127.0.0.1').resolve(env)


def test_x_forwarded_for_octal_entry_refused():
    env = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_X_FORWARDED_FOR': '010.0.0.1'}
    with pytest.raises(client_ip.ClientAddressError):
        _resolver('127.0.0.1').resolve(env)


def test_forwarded_quoted_ipv6_with_port():
    env = {'REMOTE_ADDR': '127.0.0.1',
           'HTTP_FORWARDED': 'for="[2001:db8::1]:4711";proto=https'}
    assert _resolver('127.0.0.1', 'forwarded').resolve(env) == _ip(
        '2001:db8::1')


def test_forwarded_for_unknown_refused():
    env = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_FORWARDED': 'for=unknown'}
    with pytest.raises(client_ip.ClientAddressError, match='unknown'):
        _resolver('127.0.0.1', 'forwarded').resolve(env)


def test_forwarded_obfuscated_identifier_refused():
    env = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_FORWARDED': 'for=_hidden'}
    with pytest.raises(client_ip.ClientAddressError, match='unknown'):
        _resolver('127.0.0.1', 'forwarded').resolve(env)


def test_forwarded_element_without_for_refused():
    env = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_FORWARDED': 'proto=https'}
    with pytest.raises(client_ip.ClientAddressError):
        _resolver('127.0.0.1', 'forwarded').resolve(env)


def test_forwarded_malformed_refused():
    env = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_FORWARDED': 'for=1.2.3.4;;x'}
    with pytest.raises(client_ip.ClientAddressError, match='malformed'):
        _resolver('127.0.0.1', 'forwarded').resolve(env)


def test_forwarded_multiple_elements_rightmost_untrusted_wins():
    env = {'REMOTE_ADDR': '127.0.0.1',
           'HTTP_FORWARDED': 'for=10.0.0.1, for=198.51.100.17;by=x'}
    assert _resolver('127.0.0.1', 'forwarded').resolve(env) == _ip(
        '198.51.100.17')


def test_forged_forwarded_ignored_when_proxy_writes_x_forwarded_for():
    env = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_FORWARDED': 'for=10.0.0.1',
           'HTTP_X_FORWARDED_FOR': '198.51.100.17'}
    assert _resolver('127.0.0.1').resolve(env) == _ip('198.51.100.17')


def test_comma_list_remote_addr_refused():
    with pytest.raises(client_ip.ClientAddressError):
        _resolver().resolve({'REMOTE_ADDR': '10.0.0.1, 10.0.0.2'})


def test_missing_remote_addr_refused():
    with pytest.raises(client_ip.ClientAddressError, match='no REMOTE_ADDR'):
        _resolver().resolve({})


def test_empty_remote_addr_refused():
    with pytest.raises(client_ip.ClientAddressError, match='no REMOTE_ADDR'):
        _resolver().resolve({'REMOTE_ADDR': ''})


def test_garbage_remote_addr_refused():
    with pytest.raises(client_ip.ClientAddressError):
        _resolver().resolve({'REMOTE_ADDR': 'unix:/tmp/sock'})


def test_mapped_remote_addr_normalised():
    assert _resolver().resolve({'REMOTE_ADDR': '::ffff:10.0.0.1'}) == _ip(
        '10.0.0.1')


def test_zone_id_remote_addr_dropped():
    assert _resolver().resolve({'REMOTE_ADDR': 'fe80::1%eth0'}) == _ip(
        'fe80::1')


def test_unknown_forwarded_header_option_refused():
    with pytest.raises(ValueError, match='forwarded_header'):
        _resolver(header='x-real-ip')


@settings(max_examples=500, deadline=None)
@given(header=st.text(max_size=200),
       header_name=st.sampled_from(['HTTP_X_FORWARDED_FOR',
                                    'HTTP_FORWARDED']))
def test_fuzzed_forwarded_headers_never_crash(header, header_name):
    resolver = _resolver('127.0.0.1', 'forwarded'
                         if header_name == 'HTTP_FORWARDED'
                         else 'x-forwarded-for')
    env = {'REMOTE_ADDR': '127.0.0.1', header_name: header}
    try:
        address = resolver.resolve(env)
    except client_ip.ClientAddressError:
        return
    assert isinstance(address, (ipaddress.IPv4Address,
                                ipaddress.IPv6Address))
