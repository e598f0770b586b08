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

"""Evicted counters: a server short of memory drops them silently.

memcached under memory pressure and Redis with an ``allkeys-*`` policy
evict counters; the key then starts from zero with a fresh budget. Neither
says which items went, but both count them: the filter reads that count
once per ``warn_interval``, warns, and adds it to its ``evictions``
counter.
"""

import logging
import socket
import time

import pytest
import webob

from opsext.ratelimit import middleware
from opsext.allinone.memcached import MemcachedServer
from opsext.testing.redis import RedisServer
from opsext.testing.statsd import StatsdListener

LIMIT = 3


def _app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']


def _fill(host, port, request, count, last, answer):
    """Send ``count`` junk writes (``request % i``), then ``last``; wait
    for the reply to ``last`` to end with ``answer``."""
    with socket.create_connection((host, port), timeout=30) as sock:
        for start in range(0, count, 1000):
            sock.sendall(b''.join(request % i for i in range(
                start, min(count, start + 1000))))
        sock.sendall(last)
        reply = b''
        while not reply.endswith(answer):
            chunk = sock.recv(1 << 20)
            assert chunk, 'server closed the connection'
            reply = reply[-64:] + chunk


@pytest.fixture(params=['memcached', 'redis'])
def small_server(request):
    if request.param == 'memcached':
        with MemcachedServer(memory_mb=2) as server:
            junk = b'x' * 40

            def fill():
                _fill(server.host, server.port,
                      b'set junk%%d 0 0 %d noreply\r\n%s\r\n'
                      % (len(junk), junk), 200000, b'version\r\n',
                      b'\r\n')
            yield 'memcached://' + server.address, fill
    else:
        with RedisServer() as server:
            used = int([line for line in _info(server).split('\r\n')
                        if line.startswith('used_memory:')][0][12:])
            server.command(b'CONFIG', b'SET', b'maxmemory',
                           b'%d' % (used + (1 << 20)))
            server.command(b'CONFIG', b'SET', b'maxmemory-policy',
                           b'allkeys-lru')
            junk = b'x' * 100

            def fill():
                _fill(server.host, server.port,
                      b'*3\r\n$3\r\nSET\r\n$10\r\njunk%%06d\r\n$%d\r\n%s\r\n'
                      % (len(junk), junk), 100000,
                      b'*1\r\n$4\r\nPING\r\n', b'+PONG\r\n')
            yield server.url, fill


def _info(server):
    with socket.create_connection((server.host, server.port), 5) as sock:
        sock.sendall(b'*2\r\n$4\r\nINFO\r\n$6\r\nmemory\r\n')
        data = b''
        while b'used_memory:' not in data or not data.endswith(b'\r\n'):
            data += sock.recv(65536)
    return data.decode()


def test_evictions_are_warned_and_counted(small_server, caplog):
    uri, fill = small_server
    with StatsdListener() as statsd:
        filt = middleware.filter_factory(
            {}, backend=uri, rules='per_ip', warn_interval='1',
            rule_per_ip='rates=%d/hour key=ip' % LIMIT, __name__='rl',
            log_statsd_host='127.0.0.1', log_statsd_port=str(statsd.port))(
                _app)

        def status():
            return webob.Request.blank('/', remote_addr='192.0.2.1') \
                .get_response(filt).status_int

        with caplog.at_level(logging.WARNING):
            assert [status() for _ in range(LIMIT + 1)] == \
                [200] * LIMIT + [429]
            fill()
            time.sleep(1.1)
            after = status()
        warnings = [r.getMessage() for r in caplog.records
                    if 'evicted' in r.getMessage()]
        assert len(warnings) == 1, warnings
        assert warnings[0].startswith('ratelimit [filter:rl]: ')
        assert 'fresh budget' in warnings[0]
        assert 'rl.evictions' in statsd.collect({'rl.evictions'})
        # The counter went with the rest: the key starts again.
        assert after == 200
