"""The client_address paste filter, built through its factory."""

import pytest
import webob

from opsext import client_address
from opsext.exceptions import ConfigError

LB = '192.0.2.10'


def _seen(**conf):
    """The filter in front of an app that records the environ it gets."""
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'ok']
    return client_address.filter_factory({}, **conf)(app), seen


def _get(filt, peer, **headers):
    req = webob.Request.blank('/v2.1/servers', headers=headers)
    req.remote_addr = peer
    return req.get_response(filt)


def test_client_behind_the_trusted_proxy_becomes_remote_addr():
    filt, seen = _seen(trusted_proxies=LB)
    resp = _get(filt, LB, **{'X-Forwarded-For': '10.1.0.5'})
    assert resp.status_int == 200
    assert seen['REMOTE_ADDR'] == '10.1.0.5'
    assert seen['HTTP_X_FORWARDED_FOR'] == '10.1.0.5'


def test_client_prepended_x_forwarded_for_entry_is_dropped():
    filt, seen = _seen(trusted_proxies=LB)
    _get(filt, LB, **{'X-Forwarded-For': '10.2.0.66, 10.1.0.5'})
    assert seen['REMOTE_ADDR'] == '10.1.0.5'
    assert seen['HTTP_X_FORWARDED_FOR'] == '10.1.0.5'


def test_client_written_forwarded_header_is_removed():
    filt, seen = _seen(trusted_proxies=LB)
    _get(filt, LB, **{'Forwarded': 'for=10.2.0.66',
                      'X-Forwarded-For': '10.1.0.5'})
    assert 'HTTP_FORWARDED' not in seen
    assert seen['REMOTE_ADDR'] == '10.1.0.5'


def test_forwarded_header_mode_reads_forwarded_from_the_right():
    filt, seen = _seen(trusted_proxies=LB, forwarded_header='forwarded')
    _get(filt, LB, **{'Forwarded': 'for=10.2.0.66, for="[2001:db8::5]"',
                      'X-Forwarded-For': '10.2.0.67'})
    assert seen['REMOTE_ADDR'] == '2001:db8::5'
    assert seen['HTTP_X_FORWARDED_FOR'] == '2001:db8::5'
    assert 'HTTP_FORWARDED' not in seen


def test_untrusted_peer_headers_are_replaced_by_the_peer():
    filt, seen = _seen(trusted_proxies=LB)
    _get(filt, '203.0.113.9', **{'X-Forwarded-For': '10.1.0.5',
                                 'Forwarded': 'for=10.1.0.5'})
    assert seen['REMOTE_ADDR'] == '203.0.113.9'
    assert seen['HTTP_X_FORWARDED_FOR'] == '203.0.113.9'
    assert 'HTTP_FORWARDED' not in seen


def test_ipv4_mapped_client_is_normalised():
    filt, seen = _seen(trusted_proxies=LB)
    _get(filt, LB, **{'X-Forwarded-For': '::ffff:10.1.0.5'})
    assert seen['REMOTE_ADDR'] == '10.1.0.5'


def test_ipv6_client_and_proxy():
    filt, seen = _seen(trusted_proxies='2001:db8:ffff::/64')
    _get(filt, '2001:db8:ffff::2', **{'X-Forwarded-For': '2001:db8:1::7'})
    assert seen['REMOTE_ADDR'] == '2001:db8:1::7'


@pytest.mark.parametrize('xff', ['unknown', 'garbage', '10.1.0.5, _hidden'])
def test_trusted_proxy_forwarding_an_unknown_client_is_refused(xff):
    filt, seen = _seen(trusted_proxies=LB)
    resp = _get(filt, LB, **{'X-Forwarded-For': xff})
    assert resp.status_int == 400
    assert b'client address cannot be determined' in resp.body
    assert seen == {}


def test_too_many_trusted_hops_is_refused():
    filt, seen = _seen(trusted_proxies='192.0.2.0/24', max_proxy_hops='2')
    resp = _get(filt, LB, **{
        'X-Forwarded-For': '10.1.0.5, 192.0.2.3, 192.0.2.2, 192.0.2.1'})
    assert resp.status_int == 400
    assert seen == {}


@pytest.mark.parametrize('option,value', [
    ('trusted_proxies', '192.0.2.300'),
    ('forwarded_header', 'x-real-ip'),
    ('max_proxy_hops', '0'),
    ('trusted_proxy', '192.0.2.10'),
])
def test_bad_option_fails_at_start_up_naming_it(option, value):
    with pytest.raises(ConfigError) as caught:
        client_address.filter_factory({}, **{option: value})
    assert caught.value.option == option
