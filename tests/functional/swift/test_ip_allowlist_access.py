"""ip_allowlist in a real Swift cluster: who gets in, and how it is said."""

import json
import time

import pytest
from swift.common import wsgi

from opsext.exceptions import ConfigError
from opsext.testing.statsd import StatsdListener
from tests.functional.swift.conftest import ALLOWED
from tests.functional.swift.conftest import Client
from tests.functional.swift.conftest import DENIED
from tests.functional.swift.conftest import OPERATOR
from tests.functional.swift.conftest import OWNER
from tests.functional.swift.conftest import SECRET
from tests.functional.swift.conftest import write_variant

_CONTAINER_CASES = {
    'GET': 200, 'HEAD': 204, 'PUT': 202, 'POST': 204, 'DELETE': 409,
}
_OBJECT_CASES = {
    'GET': 200, 'HEAD': 200, 'PUT': 201, 'POST': 202, 'DELETE': 204,
}


@pytest.mark.parametrize('method,expected', sorted(_CONTAINER_CASES.items()))
def test_container_request_from_allowed_address(client, locked, method,
                                                expected):
    # DELETE of a non-empty container reaches Swift and gets its 409.
    resp = client.req(method, locked, ALLOWED)
    assert resp.status == expected, resp


@pytest.mark.parametrize('method', sorted(_CONTAINER_CASES))
def test_container_request_from_denied_address(client, locked, method):
    resp = client.req(method, locked, DENIED)
    assert resp.status == 403, resp
    assert client.req('HEAD', locked + '/secret', ALLOWED).status == 200


@pytest.mark.parametrize('method,expected', sorted(_OBJECT_CASES.items()))
def test_object_request_from_allowed_address(client, locked, method,
                                             expected):
    body = SECRET if method == 'PUT' else b''
    resp = client.req(method, locked + '/secret', ALLOWED, body=body)
    assert resp.status == expected, resp
    if method == 'GET':
        assert resp.body == SECRET


@pytest.mark.parametrize('method', sorted(_OBJECT_CASES))
def test_object_request_from_denied_address(client, locked, method):
    body = b'overwritten' if method == 'PUT' else b''
    resp = client.req(method, locked + '/secret', DENIED, body=body)
    assert resp.status == 403, resp
    assert SECRET not in resp.body
    assert client.req('GET', locked + '/secret', ALLOWED).body == SECRET


def test_container_without_list_is_open(client, open_container):
    resp = client.req('GET', open_container + '/secret', DENIED)
    assert resp.status == 200
    assert resp.body == SECRET


def test_denial_reveals_no_allowlist_content(client, locked):
    resp = client.req('GET', locked, DENIED)
    assert resp.status == 403
    assert resp.body == b'Denied by policy.'
    assert ALLOWED.encode() not in resp.body


def test_operator_cidrs_break_glass(client, locked):
    resp = client.req('GET', locked + '/secret', OPERATOR)
    assert resp.status == 200
    # ... and can unlock a container its tenant locked itself out of.
    resp = client.req('POST', locked, OPERATOR,
                      {'X-Remove-Container-Meta-Allow-Office': 'x'})
    assert resp.status == 204
    assert client.req('GET', locked + '/secret', DENIED).status == 200


@pytest.fixture
def account2(wl_cluster):
    """Account AUTH_test2, its allowlist removed again afterwards."""
    client2 = Client(wl_cluster, 'test2:tester2', 'testing2')
    yield client2
    resp = client2.req('POST', '', OPERATOR,
                       {'X-Remove-Account-Meta-Allow-Office': 'x'})
    assert resp.status == 204


def test_account_default_applies_to_container_without_list(account2):
    container = account2.new_container()
    resp = account2.req('POST', '', OWNER,
                        {'X-Account-Meta-Allow-Office': ALLOWED})
    assert resp.status == 204
    assert account2.req('GET', container + '/secret', DENIED).status == 403
    assert account2.req('GET', container + '/secret', ALLOWED).status == 200


def test_account_default_guards_account_requests(account2):
    account2.req('POST', '', OWNER, {'X-Account-Meta-Allow-Office': ALLOWED})
    assert account2.req('GET', '', DENIED).status == 403
    assert account2.req('GET', '', ALLOWED).status == 200


def test_null_in_a_name_on_a_locked_account_gets_the_proxys_412(account2):
    # The proxy refuses such a name with 412 before anything else; the
    # filter answers it the same (Swift's own test_null_name expects it),
    # never by the outcome of an info lookup on a name that cannot exist.
    account2.req('POST', '', OWNER, {'X-Account-Meta-Allow-Office': ALLOWED})
    for source in (DENIED, ALLOWED):
        resp = account2.req('PUT', 'abc%00def', source)
        assert (resp.status, resp.body) == (
            412, b'Invalid UTF8 or contains NULL')


def test_container_list_overrides_account_default(account2):
    container = account2.new_container(allow=DENIED)
    account2.req('POST', '', OWNER, {'X-Account-Meta-Allow-Office': ALLOWED})
    assert account2.req('GET', container + '/secret', DENIED).status == 200
    assert account2.req('GET', container + '/secret', ALLOWED).status == 403


def test_reseller_bypass_off_by_default(wl_cluster, locked):
    reseller = Client(wl_cluster, 'admin:admin', 'admin')
    path = '/v1/AUTH_test/%s/secret' % locked
    assert reseller.tcp('GET', path, DENIED).status == 403


def test_reseller_bypass_on(wl_cluster, variant, locked):
    reseller = Client(wl_cluster, 'admin:admin', 'admin')
    app = variant(allow_reseller='true')
    path = '/v1/AUTH_test/%s/secret' % locked
    resp = reseller.call(app, 'GET', path, {'REMOTE_ADDR': DENIED})
    assert resp.status == 200
    assert resp.body == SECRET


def test_reseller_bypass_on_does_not_open_to_others(client, variant, locked):
    app = variant(allow_reseller='true')
    resp = client.call(app, 'GET', client.path(locked + '/secret'),
                       {'REMOTE_ADDR': DENIED})
    assert resp.status == 403


def test_enforce_false_only_logs(client, variant, locked):
    app = variant(enforce='false')
    resp = client.call(app, 'GET', client.path(locked + '/secret'),
                       {'REMOTE_ADDR': DENIED})
    assert resp.status == 200
    assert resp.body == SECRET


def test_denial_logged_with_client_account_container(wl_cluster, client,
                                                     locked):
    client.req('GET', locked, DENIED)
    log = wl_cluster.log_text('proxy')
    assert 'denied GET' in log
    line = [ln for ln in log.splitlines()
            if 'denied GET' in ln and locked in ln][-1]
    assert DENIED in line and client.account in line


def test_info_registers_the_filter(client):
    resp = client.tcp('GET', '/info', DENIED, token=False)
    assert resp.status == 200
    info = json.loads(resp.body)
    assert info['ip_allowlist']['metadata_prefix'] == 'allow'
    assert 'operator_cidrs' not in info['ip_allowlist']


def _store_bad_list(client, raw_app, value='010.0.0.1'):
    """Bad metadata written before the filter was enabled."""
    container = client.new_container()
    resp = client.call(raw_app, 'POST', client.path(container),
                       {'REMOTE_ADDR': OWNER},
                       {'X-Container-Meta-Allow-Legacy': value})
    assert resp.status == 204
    return container


def test_stored_bad_metadata_denies_everyone(client, raw_app):
    container = _store_bad_list(client, raw_app, ALLOWED + ', 010.0.0.1')
    assert client.req('GET', container + '/secret', ALLOWED).status == 403
    assert client.req('GET', container + '/secret', DENIED).status == 403


def test_stored_bad_metadata_operator_still_allowed(client, raw_app):
    container = _store_bad_list(client, raw_app)
    assert client.req('GET', container + '/secret', OPERATOR).status == 200


def test_stored_bad_metadata_warned_once_per_container(wl_cluster, client,
                                                       raw_app):
    container = _store_bad_list(client, raw_app)
    for _ in range(3):
        client.req('GET', container + '/secret', ALLOWED)
    warnings = [line for line in wl_cluster.log_text('proxy').splitlines()
                if 'bad allowlist metadata' in line and container in line
                and 'denying all' in line]
    assert len(warnings) == 1


def test_statsd_counters_for_allowed_denied_bad_metadata(client, variant,
                                                         raw_app, locked):
    bad = _store_bad_list(client, raw_app)
    wanted = {'t.ip_allowlist.allowed', 't.ip_allowlist.denied',
              't.ip_allowlist.bad_metadata'}
    with StatsdListener() as statsd:
        app = variant(log_statsd_host='127.0.0.1',
                      log_statsd_port=str(statsd.port),
                      log_statsd_metric_prefix='t')
        client.call(app, 'GET', client.path(locked + '/secret'),
                    {'REMOTE_ADDR': ALLOWED})
        client.call(app, 'GET', client.path(locked + '/secret'),
                    {'REMOTE_ADDR': DENIED})
        client.call(app, 'GET', client.path(bad + '/secret'),
                    {'REMOTE_ADDR': ALLOWED})
        assert wanted <= statsd.collect(wanted)


@pytest.mark.parametrize('option,value', [
    ('operator_cidrs', '10.0.0.1/8'),
    ('trusted_proxies', '010.0.0.1'),
    ('forwarded_header', 'x-real-ip'),
    ('allow_reseller', 'maybe'),
    ('enforce', 'yes please'),
    ('cache_size', '0'),
    ('max_proxy_hops', 'ten'),
])
def test_bad_config_fails_at_proxy_startup_naming_option(wl_cluster, option,
                                                         value):
    wl_cluster.activate()
    path = write_variant(wl_cluster, 'bad-' + option, **{option: value})
    with pytest.raises(ConfigError) as info:
        wsgi.loadapp(path)
    assert option in str(info.value)
    assert value in str(info.value)


def _lines_of(cluster, txn, deadline=10.0):
    """The proxy's log lines of transaction ``txn``, once the access line
    of its 403 (written by proxy-logging after the response, so after
    every line of the request) is in the log."""
    end = time.monotonic() + deadline
    while True:
        lines = [line for line in cluster.log_text('proxy').splitlines()
                 if txn in line]
        if any(' HTTP/1.0 403 ' in line for line in lines) or \
                time.monotonic() > end:
            return lines
        time.sleep(0.05)


@pytest.mark.parametrize('method,sub', [
    ('GET', ''), ('HEAD', ''), ('GET', '/secret'), ('PUT', '/secret')])
def test_one_denied_request_is_logged_once(wl_cluster, client, locked,
                                           method, sub):
    # The proxy may call swift.authorize more than once for a request; a
    # denial is one event: one log line (and one count of ``denied``).
    resp = client.req(method, locked + sub, DENIED, body=b'x'
                      if method == 'PUT' else b'')
    assert resp.status == 403
    lines = _lines_of(wl_cluster, resp.headers['x-trans-id'])
    denials = [line for line in lines if 'denied %s' % method in line]
    assert len(denials) == 1, lines
