"""Spoofed and odd client addresses against the real proxy pipeline."""

import pytest

from tests.functional.swift.conftest import ALLOWED
from tests.functional.swift.conftest import DENIED
from tests.functional.swift.conftest import SECRET
from tests.functional.swift.conftest import TRUSTED_PROXY


def test_spoofed_x_forwarded_for_from_untrusted_peer(client, locked):
    resp = client.req('GET', locked + '/secret', DENIED,
                      {'X-Forwarded-For': ALLOWED})
    assert resp.status == 403


def test_x_forwarded_for_from_trusted_proxy_allowed(client, locked):
    resp = client.req('GET', locked + '/secret', TRUSTED_PROXY,
                      {'X-Forwarded-For': ALLOWED})
    assert resp.status == 200
    assert resp.body == SECRET


def test_x_forwarded_for_from_trusted_proxy_denied(client, locked):
    resp = client.req('GET', locked + '/secret', TRUSTED_PROXY,
                      {'X-Forwarded-For': DENIED})
    assert resp.status == 403


def test_trusted_proxy_itself_not_auto_allowed(client, locked):
    assert client.req('GET', locked, TRUSTED_PROXY).status == 403


def test_forged_left_entries_behind_trusted_proxy(client, locked):
    resp = client.req('GET', locked + '/secret', TRUSTED_PROXY,
                      {'X-Forwarded-For': '%s, %s' % (ALLOWED, DENIED)})
    assert resp.status == 403


def test_x_cluster_client_ip_never_trusted(client, locked):
    resp = client.req('GET', locked + '/secret', DENIED,
                      {'X-Cluster-Client-Ip': ALLOWED})
    assert resp.status == 403


def test_x_cluster_client_ip_from_trusted_proxy_never_trusted(client,
                                                              locked):
    resp = client.req('GET', locked + '/secret', TRUSTED_PROXY,
                      {'X-Cluster-Client-Ip': ALLOWED})
    assert resp.status == 403


def test_proxy_own_address_not_auto_allowed(client, locked):
    # The Operations Guide let the proxy's own address in: behind a local
    # TLS terminator that is everyone.
    assert client.req('GET', locked, '127.0.0.1').status == 403


@pytest.fixture
def v6_locked(client):
    return client.new_container(allow='2001:db8::1')


@pytest.fixture
def forwarded_app(variant):
    return variant(forwarded_header='forwarded')


def test_forwarded_quoted_ipv6_with_port(client, forwarded_app, v6_locked):
    resp = client.call(forwarded_app, 'GET', client.path(v6_locked),
                       {'REMOTE_ADDR': TRUSTED_PROXY},
                       {'Forwarded': 'for="[2001:db8::1]:4711"'})
    assert resp.status in (200, 204)


def test_forwarded_for_unknown(client, forwarded_app, v6_locked):
    resp = client.call(forwarded_app, 'GET', client.path(v6_locked),
                       {'REMOTE_ADDR': TRUSTED_PROXY},
                       {'Forwarded': 'for=unknown'})
    assert resp.status == 403


def test_forwarded_obfuscated_identifier(client, forwarded_app, v6_locked):
    resp = client.call(forwarded_app, 'GET', client.path(v6_locked),
                       {'REMOTE_ADDR': TRUSTED_PROXY},
                       {'Forwarded': 'for=_gazonk'})
    assert resp.status == 403


def test_forwarded_ignored_when_proxy_writes_x_forwarded_for(client,
                                                             v6_locked,
                                                             proxy_app):
    resp = client.call(proxy_app, 'GET', client.path(v6_locked),
                       {'REMOTE_ADDR': TRUSTED_PROXY},
                       {'Forwarded': 'for="[2001:db8::1]"'})
    assert resp.status == 403


def test_forwarded_from_untrusted_peer(client, forwarded_app, v6_locked):
    resp = client.call(forwarded_app, 'GET', client.path(v6_locked),
                       {'REMOTE_ADDR': DENIED},
                       {'Forwarded': 'for="[2001:db8::1]"'})
    assert resp.status == 403


def test_ipv6_client_in_list(client, proxy_app, v6_locked):
    resp = client.call(proxy_app, 'GET', client.path(v6_locked + '/secret'),
                       {'REMOTE_ADDR': '2001:db8::1'})
    assert resp.status == 200


def test_comma_list_remote_addr(client, proxy_app, locked):
    resp = client.call(proxy_app, 'GET', client.path(locked + '/secret'),
                       {'REMOTE_ADDR': '%s, %s' % (ALLOWED, ALLOWED)})
    assert resp.status == 403


def test_missing_remote_addr(client, proxy_app, locked):
    resp = client.call(proxy_app, 'GET', client.path(locked + '/secret'),
                       {'REMOTE_ADDR': None})
    assert resp.status == 403


def test_empty_remote_addr(client, proxy_app, locked):
    resp = client.call(proxy_app, 'GET', client.path(locked + '/secret'),
                       {'REMOTE_ADDR': ''})
    assert resp.status == 403


def test_garbage_remote_addr(client, proxy_app, locked):
    resp = client.call(proxy_app, 'GET', client.path(locked + '/secret'),
                       {'REMOTE_ADDR': 'garbage'})
    assert resp.status == 403


def test_unknown_client_still_reaches_open_container(client, proxy_app,
                                                     open_container):
    resp = client.call(proxy_app, 'GET',
                       client.path(open_container + '/secret'),
                       {'REMOTE_ADDR': 'garbage'})
    assert resp.status == 200


def test_mapped_ipv6_client_matches_ipv4_network(client, proxy_app):
    container = client.new_container(allow='10.0.0.0/8')
    resp = client.call(proxy_app, 'GET', client.path(container + '/secret'),
                       {'REMOTE_ADDR': '::ffff:10.0.0.1'})
    assert resp.status == 200


def test_mapped_ipv6_client_outside_ipv4_network(client, proxy_app):
    container = client.new_container(allow='10.0.0.0/8')
    resp = client.call(proxy_app, 'GET', client.path(container + '/secret'),
                       {'REMOTE_ADDR': '::ffff:11.0.0.1'})
    assert resp.status == 403


def test_zone_id_client_matches_its_address(client, proxy_app):
    container = client.new_container(allow='fe80::1')
    resp = client.call(proxy_app, 'GET', client.path(container + '/secret'),
                       {'REMOTE_ADDR': 'fe80::1%eth0'})
    assert resp.status == 200


def test_zone_id_client_other_address_denied(client, proxy_app):
    container = client.new_container(allow='fe80::2')
    resp = client.call(proxy_app, 'GET', client.path(container + '/secret'),
                       {'REMOTE_ADDR': 'fe80::1%eth0'})
    assert resp.status == 403


def test_everything_v4_list_allows_v4_client(client):
    container = client.new_container(allow='0.0.0.0/0')
    assert client.req('GET', container + '/secret', DENIED).status == 200


def test_everything_v4_list_denies_v6_client(client, proxy_app):
    container = client.new_container(allow='0.0.0.0/0')
    resp = client.call(proxy_app, 'GET', client.path(container + '/secret'),
                       {'REMOTE_ADDR': '2001:db8::1'})
    assert resp.status == 403


def test_v6_list_denies_v4_client(client, v6_locked):
    assert client.req('GET', v6_locked, DENIED).status == 403


def test_ten_one_list_does_not_match_ten_ten(client, proxy_app):
    container = client.new_container(allow='10.1.0.0/16')
    resp = client.call(proxy_app, 'GET', client.path(container + '/secret'),
                       {'REMOTE_ADDR': '10.10.0.1'})
    assert resp.status == 403
