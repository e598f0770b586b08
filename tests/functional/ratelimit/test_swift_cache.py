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

"""``backend = swift.cache`` counts through the proxy's own MemcacheRing.

A real Swift ``MemcacheRing`` on a real memcached, put in the environ as
Swift's ``cache`` middleware does: the filter uses that very object (its
TLS, timeouts and error limiting), never a client of its own.
"""

import logging
import uuid

import webob
from swift.common import memcached as swift_memcached
from swift.common import utils

from opsext.ratelimit import middleware
from opsext.ratelimit.storage import swift_cache


def _app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']


class _CountingRing(swift_memcached.MemcacheRing):
    """Swift's ring, remembering which of its methods were called."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def incr(self, key, *args, **kwargs):
        self.calls.append('incr')
        return super().incr(key, *args, **kwargs)

    def get(self, key, *args, **kwargs):
        self.calls.append('get')
        return super().get(key, *args, **kwargs)


def _filter(rule):
    return middleware.filter_factory(
        {}, backend='swift.cache', rules=rule,
        **{'rule_' + rule: 'rates=2/hour key=ip'})(_app)


def _ring(ring_class, servers):
    # As Swift's cache middleware builds it: with a Swift logger.
    return ring_class(servers, logger=utils.get_logger({}, 'memcache'))


def _status(filt, ring):
    req = webob.Request.blank('/v1/AUTH_a/c', remote_addr='192.0.2.3')
    req.environ['swift.cache'] = ring
    return req.get_response(filt).status_int


def test_counts_through_the_proxys_memcache_ring(memcached_server):
    ring = _ring(_CountingRing, [memcached_server.address])
    rule = 'r' + uuid.uuid4().hex[:8]
    workers = [_filter(rule), _filter(rule)]
    statuses = [_status(w, ring) for w in workers * 2]
    assert statuses == [200, 200, 429, 429]
    assert ring.calls[:2] == ['incr', 'get']
    assert isinstance(workers[0]._swift_cache, swift_cache.SwiftCacheStorage)
    assert workers[0]._swift_cache.ring is ring


def test_the_rings_failure_fails_open_with_a_warning(caplog):
    # Nothing listens there: Swift's ring gives up, as configured.
    from opsext.allinone.process import free_port
    ring = _ring(swift_memcached.MemcacheRing,
                 ['127.0.0.1:%d' % free_port()])
    filt = _filter('r' + uuid.uuid4().hex[:8])
    with caplog.at_level(logging.WARNING):
        assert [_status(filt, ring) for _ in range(3)] == [200, 200, 429]
    warnings = [r.getMessage() for r in caplog.records
                if 'ratelimit backend swift.cache failed' in r.getMessage()]
    assert len(warnings) == 1
    assert "MemcacheRing" in warnings[0]
