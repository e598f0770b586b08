"""The filter's behaviour, the same for every backend.

Each test runs against memory, memcached and redis (the real servers,
redis counting on the caller's clock), with a clock the test moves.
"""

import uuid

import pytest
import webob

from opsext.ratelimit import middleware


class Clock:
    def __init__(self):
        self.now = 60.0 * 28_000_000  # the start of a window, for any window

    def __call__(self):
        return self.now


def _app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def make(backend, clock):
    def make(rule='rates=3/minute key=ip', **conf):
        name = 't' + uuid.uuid4().hex[:12]
        conf.setdefault('rules', name)
        conf.setdefault('rule_' + name, rule)
        for option in list(conf):
            if option.endswith('_SELF'):
                conf[option.replace('SELF', name)] = conf.pop(option)
        filt = middleware.filter_factory({}, **conf)(_app)
        filt.backend = backend.storage
        filt.clock = clock
        return filt
    return make


def _statuses(filt, count, addr='192.0.2.1', **kw):
    return [webob.Request.blank('/v1/AUTH_a/c', remote_addr=addr, **kw)
            .get_response(filt).status_int for _ in range(count)]


def test_limit_then_429(make):
    assert _statuses(make(), 5) == [200, 200, 200, 429, 429]


def test_window_slides_with_time(make, clock):
    filt = make()
    assert _statuses(filt, 4) == [200, 200, 200, 429]
    clock.now += 60 + 45  # the previous window weighs 1/4: 4 * 0.25 = 1
    assert _statuses(filt, 3) == [200, 200, 429]


def test_full_window_later_everything_is_forgotten(make, clock):
    filt = make()
    _statuses(filt, 10)
    clock.now += 120
    assert _statuses(filt, 4) == [200, 200, 200, 429]


def test_retry_after_is_honoured(make, clock):
    filt = make()
    _statuses(filt, 3)
    resp = webob.Request.blank('/', remote_addr='192.0.2.1').get_response(
        filt)
    assert resp.status_int == 429
    clock.now += int(resp.headers['Retry-After'])
    assert _statuses(filt, 1) == [200]


def test_burst_up_to_the_limit_at_once(make):
    assert _statuses(make('rates=20/minute key=ip'), 21) == [200] * 20 + [429]


def test_short_rate_caps_bursts(make, clock):
    filt = make('rates=2/second;5/minute key=ip')
    assert _statuses(filt, 3) == [200, 200, 429]
    # Two seconds on, the second rate has forgotten the burst; the minute
    # rate has counted 3 of 5 (the refused request counts too).
    clock.now += 2
    assert _statuses(filt, 3) == [200, 200, 429]
    clock.now += 2
    assert _statuses(filt, 1) == [429]


def test_keys_are_isolated(make):
    filt = make()
    _statuses(filt, 5)
    assert _statuses(filt, 1, addr='192.0.2.2') == [200]


def test_multi_rule_most_restrictive_wins(make):
    filt = make(rules='a b', rule_a='rates=5/minute key=ip',
                rule_b='rates=2/minute key=method')
    assert _statuses(filt, 3) == [200, 200, 429]


def test_override(make):
    filt = make('rates=1/minute key=ip', override_SELF='ip=192.0.2.9: '
                '4/minute')
    assert _statuses(filt, 2) == [200, 429]
    assert _statuses(filt, 5, addr='192.0.2.9') == [200] * 4 + [429]


def test_exempt_cidr(make):
    filt = make(exempt_cidrs='192.0.2.0/28')
    assert _statuses(filt, 5) == [200] * 5
    assert _statuses(filt, 4, addr='192.0.2.200') == [200, 200, 200, 429]


def test_exempt_role(make):
    filt = make(exempt_roles='service')
    env = {'HTTP_X_IDENTITY_STATUS': 'Confirmed', 'HTTP_X_ROLES': 'service',
           'keystone.token_info': {}}
    assert _statuses(filt, 5, environ=env) == [200] * 5


def test_dry_run_never_refuses(make):
    assert _statuses(make(dry_run='true'), 5) == [200] * 5
