"""The filter in a nova-style api-paste.ini, loaded by paste.deploy.

An ``ip`` stage before auth protects auth itself; a ``project`` stage
after auth counts what auth confirmed.

nova's file maps URL prefixes to pipelines with ``egg:Paste#urlmap``; the
pipeline is loaded by name here instead, because the Swift tests in the same
process import ``swift.common.wsgi``, which patches paste.deploy to add
``__name__`` to every section, and urlmap then maps ``__name__`` to itself.
"""

import os

from paste import deploy
import pytest
import webob

PASTE_INI = """
[pipeline:api_v21]
pipeline = ratelimit_ip authtoken ratelimit_project api

[filter:ratelimit_ip]
use = egg:opsext#ratelimit
backend = %(backend)s
rules = per_ip
rule_per_ip = rates=%(ip_limit)d/hour key=ip
trusted_proxies = 127.0.0.50

[filter:authtoken]
paste.filter_factory = tests.functional.ratelimit.paste_apps:auth_factory

[filter:ratelimit_project]
use = egg:opsext#ratelimit
backend = %(backend)s
rules = writes
rule_writes = rates=%(project_limit)d/hour key=project
    methods=POST,PUT,DELETE paths=/v2.1/*
override_writes =
    project=big: 50/hour
exempt_roles = admin

[app:api]
paste.app_factory = tests.functional.ratelimit.paste_apps:app_factory
"""


@pytest.fixture(params=['memory', 'memcached', 'redis'])
def api(request, tmp_path):
    if request.param == 'memory':
        backend = 'memory://'
    elif request.param == 'memcached':
        backend = 'memcached://' + request.getfixturevalue(
            'memcached_server').address
    else:
        backend = request.getfixturevalue('redis_server').url
    path = os.path.join(str(tmp_path), 'api-paste.ini')
    with open(path, 'w') as fp:
        fp.write(PASTE_INI % {'backend': backend, 'ip_limit': 6,
                              'project_limit': 3})
    return deploy.loadapp('config:' + path, name='api_v21')


_counter = iter(range(1, 250))


def _client():
    """A client address of its own, so tests do not share buckets."""
    return '198.51.100.%d' % next(_counter)


def _call(api, method, addr, token=None, path='/v2.1/servers', **headers):
    if token:
        headers['X-Auth-Token'] = token
    req = webob.Request.blank(path, method=method, remote_addr=addr,
                              headers=headers)
    return req.get_response(api)


def test_project_writes_limited_after_auth(api):
    statuses = [_call(api, 'POST', _client(), 'token-p1').status_int
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_project_reads_not_counted(api):
    addr = _client()
    assert [_call(api, 'GET', addr, 'token-p2').status_int
            for _ in range(5)] == [200] * 5


def test_projects_are_isolated(api):
    for _ in range(3):
        _call(api, 'POST', _client(), 'token-p3')
    assert _call(api, 'POST', _client(), 'token-p3').status_int == 429
    assert _call(api, 'POST', _client(), 'token-p4').status_int == 200


def test_project_override(api):
    statuses = [_call(api, 'POST', _client(), 'token-big').status_int
                for _ in range(5)]
    assert statuses == [200] * 5


def test_admin_role_exempt(api):
    statuses = [_call(api, 'POST', _client(), 'token-admin').status_int
                for _ in range(5)]
    assert statuses == [200] * 5


def test_forged_identity_headers_cannot_spend_a_project_budget(api):
    # Before auth nothing counts by project; auth removes forged headers.
    for _ in range(5):
        resp = _call(api, 'POST', _client(), None, **{
            'X-Project-Id': 'victim', 'X-Identity-Status': 'Confirmed'})
        assert resp.status_int == 401
    assert _call(api, 'POST', _client(), 'token-victim').status_int == 200


def test_ip_stage_protects_auth(api):
    addr = _client()
    statuses = [_call(api, 'GET', addr, 'bad-token').status_int
                for _ in range(7)]
    assert statuses == [401] * 6 + [429]


def test_spoofed_x_forwarded_for_cannot_change_ip_bucket(api):
    addr = _client()
    statuses = [_call(api, 'GET', addr, 'token-p5', **{
        'X-Forwarded-For': '203.0.113.%d' % i}).status_int
        for i in range(7)]
    assert statuses == [200] * 6 + [429]


def test_trusted_proxy_forwards_client_buckets(api):
    statuses = [_call(api, 'GET', '127.0.0.50', 'token-p6', **{
        'X-Forwarded-For': '203.0.113.%d' % i}).status_int
        for i in range(10)]
    assert statuses == [200] * 10


def test_429_body_is_json_for_api_clients(api):
    for _ in range(3):
        _call(api, 'POST', _client(), 'token-p7')
    resp = _call(api, 'POST', _client(), 'token-p7',
                 Accept='application/json')
    assert resp.status_int == 429
    assert resp.json['error']['code'] == 429
    assert int(resp.headers['Retry-After']) > 0
