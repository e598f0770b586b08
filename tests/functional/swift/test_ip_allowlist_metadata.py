"""Writing allowlists: strict validation, self-unlock, limits, caching."""

import pytest

from tests.functional.swift.conftest import ALLOWED
from tests.functional.swift.conftest import DENIED
from tests.functional.swift.conftest import OPERATOR
from tests.functional.swift.conftest import OWNER

BAD_VALUES = {
    'leading_zero': '010.0.0.1',
    'hex_octet': '0x0a.0.0.1',
    'short_form': '10.1',
    'integer_form': '167772161',
    'host_bits_set': '10.0.0.1/8',
    'netmask_without_address': '/255.0.0.0',
    'netmask_form': '10.0.0.0/255.0.0.0',
    'empty_entry': '10.0.0.0/8,,10.1.0.0/16',
    'trailing_comma': '10.0.0.0/8,',
    'zone_id': 'fe80::1%eth0',
    'hostname': 'example.com',
    'over_long_value': ', '.join(['10.0.0.%d' % i for i in range(40)]),
}


def _allow_meta(client, container):
    resp = client.req('HEAD', container, OPERATOR)
    assert resp.status == 204
    return {k: v for k, v in resp.headers.items()
            if k.startswith('x-container-meta-allow')}


@pytest.mark.parametrize('case', sorted(BAD_VALUES))
def test_bad_value_on_container_post_rejected(client, open_container, case):
    value = BAD_VALUES[case]
    resp = client.req('POST', open_container, OWNER,
                      {'X-Container-Meta-Allow-Office': value})
    assert resp.status == 400, resp
    assert b'X-Container-Meta-Allow-Office' in resp.body
    assert _allow_meta(client, open_container) == {}


@pytest.mark.parametrize('case', ['leading_zero', 'host_bits_set'])
def test_bad_value_on_container_put_rejected(client, case):
    resp = client.req('PUT', 'never-created-' + case, OWNER,
                      {'X-Container-Meta-Allow-Office': BAD_VALUES[case]})
    assert resp.status == 400
    assert BAD_VALUES[case].encode() in resp.body
    assert client.req('HEAD', 'never-created-' + case).status == 404


def test_bad_value_on_account_post_rejected(client):
    resp = client.req('POST', '', OWNER,
                      {'X-Account-Meta-Allow-Office': '10.0.0.1/8'})
    assert resp.status == 400
    assert b'10.0.0.1/8' in resp.body
    resp = client.req('HEAD', '', OWNER)
    assert 'x-account-meta-allow-office' not in resp.headers


def test_bad_value_in_mixed_case_header_rejected(client, open_container):
    resp = client.req('POST', open_container, OWNER,
                      {'x-CONTAINER-meta-ALLOW-office': '010.0.0.1'})
    assert resp.status == 400


def test_bad_value_in_plain_allow_key_rejected(client, open_container):
    resp = client.req('POST', open_container, OWNER,
                      {'X-Container-Meta-Allow': '010.0.0.1'})
    assert resp.status == 400


def test_unrelated_metadata_not_validated(client, open_container):
    resp = client.req('POST', open_container, OWNER,
                      {'X-Container-Meta-Allowance': 'not an address'})
    assert resp.status == 204


def test_valid_list_stored(client, open_container):
    value = '192.0.2.0/24, 2001:db8::/32 ::ffff:10.0.0.0/104'
    resp = client.req('POST', open_container, OWNER,
                      {'X-Container-Meta-Allow-Office': value})
    assert resp.status == 204
    assert _allow_meta(client, open_container) == {
        'x-container-meta-allow-office': value}


def test_empty_value_removes_list(client, locked):
    resp = client.req('POST', locked, ALLOWED,
                      {'X-Container-Meta-Allow-Office': ''})
    assert resp.status == 204
    assert client.req('GET', locked, DENIED).status == 200


def test_self_unlock_by_post_of_allow_header(client, locked):
    resp = client.req('POST', locked, DENIED,
                      {'X-Container-Meta-Allow-Office': DENIED})
    assert resp.status == 403
    assert client.req('GET', locked, DENIED).status == 403


def test_self_unlock_by_put_of_allow_header(client, locked):
    resp = client.req('PUT', locked, DENIED,
                      {'X-Container-Meta-Allow-Office': DENIED})
    assert resp.status == 403
    assert client.req('GET', locked, DENIED).status == 403


def test_self_unlock_by_x_remove(client, locked):
    resp = client.req('POST', locked, DENIED,
                      {'X-Remove-Container-Meta-Allow-Office': 'x'})
    assert resp.status == 403
    assert client.req('GET', locked, DENIED).status == 403


def test_self_unlock_by_mixed_case_header(client, locked):
    resp = client.req('POST', locked, DENIED,
                      {'x-REMOVE-container-META-allow-OFFICE': 'x'})
    assert resp.status == 403
    assert client.req('GET', locked, DENIED).status == 403


def test_self_unlock_by_delete_and_recreate(client, locked):
    resp = client.req('DELETE', locked + '/secret', DENIED)
    assert resp.status == 403
    assert client.req('DELETE', locked, DENIED).status == 403


def test_self_unlock_through_account_metadata(client, locked):
    # The container list wins over the account default, so an account
    # list cannot open a locked container.
    resp = client.req('POST', '', DENIED,
                      {'X-Account-Meta-Allow-Everyone': '0.0.0.0/0'})
    try:
        assert client.req('GET', locked, DENIED).status == 403
    finally:
        if resp.status == 204:
            client.req('POST', '', OWNER,
                       {'X-Remove-Account-Meta-Allow-Everyone': 'x'})


def test_list_change_takes_effect_at_once_on_this_proxy(client, locked):
    assert client.req('GET', locked, DENIED).status == 403
    resp = client.req('POST', locked, ALLOWED,
                      {'X-Container-Meta-Allow-Office': DENIED})
    assert resp.status == 204
    # The proxy clears its cached container info on POST.
    assert client.req('GET', locked, DENIED).status in (200, 204)
    assert client.req('GET', locked, ALLOWED).status == 403


def test_list_change_seen_by_other_proxy_within_recheck(client, locked,
                                                        proxy_app):
    # A second proxy (in-process, sharing memcached) sees the change too:
    # the POST cleared the shared cache. Proxies with their own memcached
    # see it within recheck_container_existence (60 s by default).
    path = client.path(locked)
    assert client.call(proxy_app, 'GET', path,
                       {'REMOTE_ADDR': DENIED}).status == 403
    client.req('POST', locked, ALLOWED,
               {'X-Container-Meta-Allow-Office': DENIED})
    assert client.call(proxy_app, 'GET', path,
                       {'REMOTE_ADDR': DENIED}).status in (200, 204)


def test_ninety_allow_keys(client, open_container):
    # Swift's limits: 90 metadata keys, 4096 bytes in all. The address
    # that matches is in the last key.
    for start in range(0, 90, 10):
        headers = {'X-Container-Meta-Allow-K%02d' % i: '10.%d.0.0/16' % i
                   for i in range(start, start + 10)}
        if start == 80:
            headers['X-Container-Meta-Allow-K89'] = DENIED
        resp = client.req('POST', open_container, OPERATOR, headers)
        assert resp.status == 204, resp
    assert len(_allow_meta(client, open_container)) == 90
    assert client.req('GET', open_container, DENIED).status in (200, 204)
    assert client.req('GET', open_container, ALLOWED).status == 403


def test_ninety_first_key_refused_by_swift(client, open_container):
    headers = {'X-Container-Meta-Allow-K%02d' % i: '10.%d.0.0/16' % i
               for i in range(91)}
    resp = client.req('POST', open_container, OWNER, headers)
    assert resp.status == 400
    assert _allow_meta(client, open_container) == {}


def test_four_kilobytes_of_lists(client, open_container):
    # 16 keys of 240 bytes each: near Swift's 4096-byte total.
    entries = ['10.%d.%d.0/24' % (k, i) for k in range(16) for i in range(18)]
    headers = {}
    for k in range(16):
        headers['X-Container-Meta-Allow-%02d' % k] = ' '.join(
            entries[k * 18:(k + 1) * 18])
    headers['X-Container-Meta-Allow-15'] = ALLOWED
    resp = client.req('POST', open_container, OWNER, headers)
    assert resp.status == 204, resp
    assert client.req('GET', open_container, ALLOWED).status in (200, 204)
    assert client.req('GET', open_container, DENIED).status == 403
