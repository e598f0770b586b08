"""The filter when its backend dies or freezes mid-run, and comes back.

Every request must answer within the backend timeout (plus slack for a
busy machine), never hang; traffic flows per worker (fail open) or gets
503 (fail closed); one warning per interval; shared counting resumes when
the backend returns.
"""

import logging
import time
import uuid

import pytest
import webob

from opsext.ratelimit import middleware
from opsext.ratelimit.storage import memcached
from opsext.allinone.memcached import MemcachedServer
from tests.functional.ratelimit.conftest import memcached_get
from tests.functional.ratelimit.conftest import FAULT_TIMEOUT
from tests.functional.ratelimit.conftest import RETRY_INTERVAL

#: What a request may take while the backend is down: its timeout, and
#: room for a loaded two-core machine.
BOUND = FAULT_TIMEOUT + 0.8
LIMIT = 3


def _app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']


def _filter(faulty, name, **conf):
    conf.setdefault('rules', name)
    conf.setdefault('rule_' + name, 'rates=%d/hour key=ip' % LIMIT)
    filt = middleware.filter_factory({}, **conf)(_app)
    filt.backend = faulty.storage
    return filt


def _timed(filt, addr):
    start = time.monotonic()
    resp = webob.Request.blank('/', remote_addr=addr).get_response(filt)
    return resp.status_int, time.monotonic() - start


def _warnings(caplog):
    return [r for r in caplog.records if r.levelno == logging.WARNING
            and 'ratelimit backend' in r.getMessage()]


@pytest.fixture
def name():
    return 't' + uuid.uuid4().hex[:12]


def _outage(faulty, how):
    if how == 'killed':
        faulty.server.stop()
    else:
        faulty.server.pause()


def _recover(faulty, how):
    if how == 'killed':
        faulty.server.start()
    else:
        faulty.server.resume()
    time.sleep(RETRY_INTERVAL + 0.1)


@pytest.mark.parametrize('how', ['killed', 'frozen'])
def test_backend_outage_fails_open_within_bound(faulty, name, how, caplog):
    filt = _filter(faulty, name)
    assert [_timed(filt, '192.0.2.1')[0] for _ in range(2)] == [200, 200]
    _outage(faulty, how)
    with caplog.at_level(logging.WARNING):
        results = [_timed(filt, '192.0.2.%d' % (i % 3 + 2))
                   for i in range(15)]
    _recover(faulty, how)
    assert max(elapsed for _status, elapsed in results) < BOUND
    # Per worker, in memory: each of the three addresses gets LIMIT.
    assert [status for status, _ in results].count(200) == 3 * LIMIT
    assert len(_warnings(caplog)) == 1


@pytest.mark.parametrize('how', ['killed', 'frozen'])
def test_backend_outage_fail_closed_answers_503(faulty, name, how):
    filt = _filter(faulty, name, fail_closed='true')
    assert _timed(filt, '192.0.2.1')[0] == 200
    _outage(faulty, how)
    results = [_timed(filt, '192.0.2.1') for _ in range(5)]
    _recover(faulty, how)
    assert [status for status, _ in results] == [503] * 5
    assert max(elapsed for _status, elapsed in results) < BOUND
    # Another client: the frozen server may have counted the requests
    # that timed out once it woke up (they were sent).
    assert _timed(filt, '192.0.2.2')[0] == 200


@pytest.mark.parametrize('how', ['killed', 'frozen'])
def test_shared_counting_resumes_after_outage(faulty, name, how):
    worker_a = _filter(faulty, name)
    worker_b = _filter(faulty, name)
    _outage(faulty, how)
    # Apart, each worker lets LIMIT through.
    assert [_timed(w, '192.0.2.1')[0] for w in (worker_a, worker_b)
            for _ in range(LIMIT)] == [200] * (2 * LIMIT)
    _recover(faulty, how)
    addr = '192.0.2.77'
    statuses = [_timed(w, addr)[0] for w in (worker_a, worker_b) * LIMIT]
    assert statuses == [200] * LIMIT + [429] * LIMIT


def test_warning_repeats_once_per_interval(faulty, name, caplog):
    filt = _filter(faulty, name, warn_interval='1')
    faulty.server.stop()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            _timed(filt, '192.0.2.1')
        time.sleep(1.1)
        for _ in range(3):
            _timed(filt, '192.0.2.1')
    faulty.server.start()
    assert len(_warnings(caplog)) == 2


def test_dead_server_in_a_ring_costs_only_its_keys(caplog):
    """One rule key on each of two memcached servers, one of them dead.

    The live server's key is still counted there, shared by every worker;
    only the dead server's key is counted per worker in memory.
    """
    with MemcachedServer() as alive, MemcachedServer() as dead:
        uri = 'memcached://%s,%s' % (alive.address, dead.address)
        conf = {'backend': uri, 'timeout': str(FAULT_TIMEOUT),
                'retry_interval': str(RETRY_INTERVAL)}
        # Two rules, keyed on ip and on method, with prefixes chosen so
        # that for this address one key is on each server.
        ring = memcached.MemcachedStorage.from_uri(uri)
        addr = '192.0.2.50'
        for attempt in range(1000):
            a, b = 'ra%d' % attempt, 'rb%d' % attempt
            key_a = '%s|ip=%s|60' % (a, addr)
            key_b = '%s|method=GET|60' % b
            if (ring.server_for(key_a), ring.server_for(key_b)) == (
                    alive.address, dead.address):
                break
        conf.update({'rules': '%s %s' % (a, b),
                     'rule_' + a: 'rates=%d/minute key=ip' % LIMIT,
                     'rule_' + b: 'rates=100/minute key=method'})
        worker_a = middleware.filter_factory({}, **conf)(_app)
        worker_b = middleware.filter_factory({}, **conf)(_app)
        dead.kill()
        with caplog.at_level(logging.WARNING):
            statuses = [_timed(w, addr)[0]
                        for w in (worker_a, worker_b) * LIMIT]
        # Shared on the live server: LIMIT in all, not LIMIT per worker.
        assert statuses == [200] * LIMIT + [429] * LIMIT
        index = int(time.time() // 60)
        stored = [memcached_get(alive.address,
                                memcached.counter_name(key_a, i))
                  for i in (index - 1, index)]
        assert sum(c or 0 for c in stored) == 2 * LIMIT
        assert len(_warnings(caplog)) == 2  # once per worker
        assert dead.address in _warnings(caplog)[0].getMessage()
