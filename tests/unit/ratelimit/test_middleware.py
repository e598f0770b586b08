"""The rate-limit filter through webob with an in-memory backend."""

import json
import logging

import pytest
import webob

from opsext.exceptions import ConfigError
from opsext.exceptions import StorageError
from opsext.ratelimit import middleware
from opsext.ratelimit.storage import memory


class Clock:
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


def _app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def make(clock):
    def make(**conf):
        conf.setdefault('rules', 'per_ip')
        conf.setdefault('rule_per_ip', 'rates=3/minute key=ip')
        filt = middleware.filter_factory({}, **conf)(_app)
        filt.backend = memory.MemoryStorage()
        filt.clock = clock
        return filt
    return make


def _get(filt, addr='192.0.2.1', **kw):
    kw.setdefault('remote_addr', addr)
    return webob.Request.blank('/v1/AUTH_a/c', **kw).get_response(filt)


def _statuses(filt, count, **kw):
    return [_get(filt, **kw).status_int for _ in range(count)]


def test_429_has_retry_after_and_ratelimit_headers(make):
    filt = make()
    _statuses(filt, 3)
    resp = _get(filt)
    assert int(resp.headers['Retry-After']) >= 1
    assert resp.headers['RateLimit-Policy'] == '"per_ip-60";q=3;w=60'
    assert resp.headers['RateLimit'].startswith('"per_ip-60";r=0;t=')


def test_success_carries_remaining(make):
    assert _get(make()).headers['RateLimit'].startswith('"per_ip-60";r=2;')


def test_headers_on_success_off(make):
    assert 'RateLimit' not in _get(make(headers_on_success='false')).headers


def test_x_ratelimit_headers_optional(make):
    assert 'X-RateLimit-Limit' not in _get(make()).headers
    resp = _get(make(x_ratelimit_headers='true'))
    assert resp.headers['X-RateLimit-Limit'] == '3'
    assert resp.headers['X-RateLimit-Remaining'] == '2'


def test_json_body_when_asked(make):
    filt = make()
    _statuses(filt, 3)
    resp = _get(filt, headers={'Accept': 'application/json'})
    body = json.loads(resp.body)
    assert body['error']['code'] == 429
    assert body['error']['retry_after'] == int(resp.headers['Retry-After'])


def test_plain_body_by_default(make):
    filt = make()
    _statuses(filt, 3)
    resp = _get(filt)
    assert resp.content_type == 'text/plain'
    assert b'Rate limit exceeded' in resp.body


def test_multi_rate_rule(make, clock):
    filt = make(rule_per_ip='rates=2/second;3/minute key=ip')
    clock.now = 60 * 1000
    assert _statuses(filt, 3) == [200, 200, 429]
    clock.now += 2
    assert _statuses(filt, 2) == [429, 429]


def test_exempt_role_needs_confirmed_identity(make):
    filt = make(exempt_roles='admin')
    spoofed = {'X-Roles': 'admin', 'X-Identity-Status': 'Confirmed'}
    assert _statuses(filt, 4, headers=spoofed)[-1] == 429


def test_unmatched_requests_pass_uncounted(make):
    filt = make(rule_per_ip='rates=1/minute key=ip methods=PUT')
    assert _statuses(filt, 3) == [200, 200, 200]
    assert 'RateLimit' not in _get(filt).headers


def test_dry_run_logs_but_lets_through(make, caplog):
    filt = make(dry_run='true')
    with caplog.at_level(logging.INFO):
        assert _statuses(filt, 5) == [200] * 5
    assert 'would limit' in caplog.text and 'per_ip' in caplog.text


def test_limited_request_logged_with_rule_and_key(make, caplog):
    filt = make()
    with caplog.at_level(logging.INFO):
        _statuses(filt, 4)
    assert 'rule per_ip' in caplog.text and 'ip=192.0.2.1' in caplog.text


class _Broken:
    calls = 0

    def hit(self, hits, now=None):
        self.calls += 1
        raise StorageError('connection refused')


def test_backend_failure_fails_open_to_local_limits(make, caplog):
    filt = make()
    filt.backend = _Broken()
    with caplog.at_level(logging.WARNING):
        assert _statuses(filt, 5) == [200, 200, 200, 429, 429]
    warnings = [r for r in caplog.records if 'fail open' in r.getMessage()]
    assert len(warnings) == 1


def test_swift_cache_backend_outside_swift_fails_open_with_reason(
        caplog):
    filt = middleware.filter_factory(
        {}, backend='swift.cache', rules='r',
        rule_r='rates=1/minute key=ip')(_app)
    with caplog.at_level(logging.WARNING):
        assert _get(filt).status_int == 200
    assert "right of Swift's cache middleware" in caplog.text


def test_backend_failure_fail_closed_answers_503(make):
    filt = make(fail_closed='true')
    filt.backend = _Broken()
    resp = _get(filt)
    assert resp.status_int == 503
    assert resp.headers['Retry-After'] == '1'


def test_unexpected_backend_exception_fails_open(make):
    class Buggy:
        def hit(self, hits, now=None):
            raise KeyError('bug')
    filt = make()
    filt.backend = Buggy()
    assert _get(filt).status_int == 200


@pytest.mark.parametrize('conf,option', [
    ({'rules': ''}, 'rules'),
    ({'rules': 'missing'}, 'rule_missing'),
    ({'rule_per_ip': 'rates=3/fortnight key=ip'}, 'rule_per_ip'),
    ({'rule_per_ip': 'rates=3/minute key=tenant'}, 'rule_per_ip'),
    ({'override_per_ip': 'ip=1.2.3.4 1/second'}, 'override_per_ip'),
    ({'backend': 'mongodb://x'}, 'backend'),
    ({'backend': 'memcached://'}, 'backend'),
    ({'timeout': '0'}, 'timeout'),
    ({'timeout': 'fast'}, 'timeout'),
    ({'timeout': '0.001'}, 'timeout'),
    ({'timeout': '11'}, 'timeout'),
    ({'retry_interval': '0'}, 'retry_interval'),
    ({'retry_interval': '301'}, 'retry_interval'),
    ({'retry_interval': 'soon'}, 'retry_interval'),
    ({'fail_closed': 'maybe'}, 'fail_closed'),
    ({'dry_run': '2'}, 'dry_run'),
    ({'exempt_cidrs': '10.0.0.1/8'}, 'exempt_cidrs'),
    ({'trusted_proxies': 'proxy.example'}, 'trusted_proxies'),
    ({'forwarded_header': 'x-real-ip'}, 'forwarded_header'),
    ({'warn_interval': '0'}, 'warn_interval'),
    ({'rate_limit': '5'}, 'rate_limit'),
])
def test_bad_config_names_the_option(conf, option):
    full = {'rules': 'per_ip', 'rule_per_ip': 'rates=3/minute key=ip'}
    full.update(conf)
    with pytest.raises(ConfigError) as info:
        middleware.filter_factory({}, **full)
    assert info.value.option == option


def test_timeout_and_retry_interval_reach_the_backend():
    filt = middleware.filter_factory(
        {}, rules='per_ip', rule_per_ip='rates=3/minute key=ip',
        backend='memcached://127.0.0.1:1', timeout='0.25',
        retry_interval='7')(_app)
    assert filt.backend.timeout == 0.25
    assert filt.backend.retry_interval == 7


def test_default_timeout_leaves_room_for_a_loaded_machine():
    filt = middleware.filter_factory(
        {}, rules='per_ip', rule_per_ip='rates=3/minute key=ip',
        backend='redis://127.0.0.1:1')(_app)
    assert filt.backend.timeout == 0.5
    assert filt.backend.retry_interval == 1


@pytest.mark.parametrize('global_conf, backend, warned', [
    ({}, 'memory://', True),
    ({'workers': '4'}, 'memory://', True),
    ({'workers': 'auto'}, 'memory://', True),
    ({'workers': '1'}, 'memory://', False),
    ({'workers': '0'}, 'memory://', False),
    ({}, 'memcached://127.0.0.1:1', False),
])
def test_memory_backend_with_workers_warns_at_start_up(global_conf, backend,
                                                       warned, caplog):
    with caplog.at_level(logging.WARNING):
        middleware.filter_factory(
            global_conf, rules='per_ip', backend=backend,
            rule_per_ip='rates=3/minute key=ip', __name__='rl_ip')
    lines = [r.getMessage() for r in caplog.records
             if 'memory://' in r.getMessage()]
    assert bool(lines) is warned
    if warned:
        assert lines[0].startswith('ratelimit [filter:rl_ip]: ')
        assert 'times every rate' in lines[0]
