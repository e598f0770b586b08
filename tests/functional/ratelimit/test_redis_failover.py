# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Redis Sentinel fail-over under the filter, with real servers.

A master, its replica and a Sentinel (``down-after-milliseconds`` 300) are
redis-server processes started here on loopback. The filter counts through
``redis+sentinel://``; the master is stopped; the Sentinel promotes the
replica. Meanwhile the filter fails open with a warning, and once the new
master answers it counts there, on the counters the replica had copied.
Every wait is a poll with a deadline.
"""

import logging
import time
import uuid

import pytest
import redis as redis_py
import webob

from opsext.ratelimit import middleware
from opsext.testing.redis import RedisServer

SERVICE = 'opsext-master'
DEADLINE = 30.0  # seconds; fail-over here takes about 1-2 s
RATE = 8


def _app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']


def _until(what, check, deadline=DEADLINE, interval=0.05):
    """Poll ``check`` until it returns a true value; fail at the deadline."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail('%s: not within %.0f s' % (what, deadline))
        time.sleep(interval)


def _replica_in_sync(replica):
    info = redis_py.Redis(replica.host, replica.port).info('replication')
    return info.get('master_link_status') == 'up'


@pytest.fixture
def failover():
    """``(master, replica, sentinel)``, the replica known to the Sentinel."""
    with RedisServer() as master:
        with RedisServer(extra_args=['--replicaof', master.host,
                                     str(master.port)]) as replica:
            _until('replica linked', lambda: _replica_in_sync(replica))
            with RedisServer(sentinel_monitor=(SERVICE, master.host,
                                               master.port),
                             sentinel_settings={
                                 'down-after-milliseconds': 300,
                                 'failover-timeout': 5000}) as sentinel:
                watcher = redis_py.Redis(sentinel.host, sentinel.port)

                def knows_replica():
                    return [r for r in watcher.sentinel_slaves(SERVICE)
                            if r['port'] == replica.port
                            and not r['is_disconnected']]
                _until('sentinel sees the replica', knows_replica)
                yield master, replica, sentinel


def _status(filt, address):
    return webob.Request.blank('/', remote_addr=address).get_response(
        filt).status_int


def _warnings(caplog):
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING]


def test_failover_fails_open_then_counts_on_the_new_master(failover,
                                                           caplog):
    master, replica, sentinel = failover
    uri = 'redis+sentinel://%s/%s' % (sentinel.address, SERVICE)
    rule = 'r' + uuid.uuid4().hex[:8]
    filt = middleware.filter_factory(
        {}, backend=uri, rules=rule, timeout='0.2', retry_interval='0.2',
        warn_interval='60', **{'rule_' + rule: 'rates=%d/hour key=ip'
                               % RATE})(_app)
    client, probe = '192.0.2.7', '192.0.2.99'
    with caplog.at_level(logging.WARNING):
        assert [_status(filt, client) for _ in range(5)] == [200] * 5
        assert _warnings(caplog) == []
        # The five counts reached the replica before the master goes.
        old = redis_py.Redis(master.host, master.port)
        assert old.wait(1, 2000) == 1
        master.stop()

        # No master: the probe's requests fail open, with a warning.
        watcher = redis_py.Redis(sentinel.host, sentinel.port)

        def promoted():
            _status(filt, probe)
            host, port = watcher.sentinel_get_master_addr_by_name(SERVICE)
            return port == replica.port
        _until('sentinel promotes the replica', promoted)
        outage = _warnings(caplog)
        assert len(outage) == 1, outage
        assert 'fail open' in outage[0]
        assert SERVICE in outage[0] or sentinel.address in outage[0]

        # The filter finds the new master and says so.
        _until('filter counts on the new master',
               lambda: _status(filt, probe) == 200
               and any('answers again' in w for w in _warnings(caplog)))
        assert redis_py.Redis(replica.host, replica.port).info(
            'replication')['role'] == 'master'

        # The client's budget carried over: 5 spent before, RATE in all.
        statuses = [_status(filt, client) for _ in range(RATE - 5)]
        new = redis_py.Redis(replica.host, replica.port)
        counted = [int(new.get(name)) for name in new.keys('opsext:*')]
        statuses.append(_status(filt, client))
    assert statuses == [200] * (RATE - 5) + [429]
    # Counted there: the five copied and the three since.
    assert RATE in counted, counted
