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


"""``backend = swift.cache``: counters through the Swift proxy's own cache.

Swift's ``cache`` middleware puts its ``MemcacheRing``
(``swift/common/memcached.py``) in every request's environ as
``swift.cache``. Counting through that object, rather than through a
client rebuilt from its server list, keeps everything the operator set up
for it in ``memcache.conf`` or ``[filter:cache]``: TLS to memcached, its
connection and I/O timeouts, its pool, its error limiting of a failing
server (and its fail-over to the next server of its ring, which splits a
key's count while a server is out: Swift's choice, made for its caches).

Per hit, ``MemcacheRing.incr`` (atomic; it ``add``\\ s the counter with its
expiry when missing) and ``MemcacheRing.get`` of the previous window's
counter: two round trips, as ``memcached://`` (through pymemcache) makes
too. Counter names and expiries are those of :mod:`.memcached`, so
``memcached://`` on the same servers counts the same keys. The timeouts
are Swift's (``io_timeout``, ``connect_timeout``), not the filter's
``timeout``. The clock is the proxy's.
"""

import time
from typing import Optional, Sequence

from opsext import exceptions
from opsext.ratelimit.storage import base
from opsext.ratelimit.storage import memcached


class SwiftCacheStorage(base.Storage):
    """Counters through a Swift ``MemcacheRing``."""

    server_clock = False

    def __init__(self, ring) -> None:
        """:param ring: the ``swift.cache`` object of a Swift request."""
        self.ring = ring

    def hit(self, hits: Sequence[base.Hit],
            now: Optional[float] = None) -> list[base.WindowCount]:
        now = time.time() if now is None else now
        counts = []
        for key, window in hits:
            index = int(now // window)
            try:
                current = self.ring.incr(
                    memcached.counter_name(key, index), 1,
                    time=base.ttl(window))
                previous = self._get(memcached.counter_name(key, index - 1))
            except Exception as exc:  # noqa: B902 (Swift's and eventlet's)
                raise exceptions.StorageError(
                    'swift.cache (the proxy\'s MemcacheRing) failed: %s: %s'
                    % (type(exc).__name__, exc)) from exc
            counts.append(base.WindowCount(int(current), previous,
                                           now - index * window))
        return counts

    def _get(self, name: str) -> int:
        try:
            value = self.ring.get(name, raise_on_error=True)
        except TypeError:  # a Swift before raise_on_error
            value = self.ring.get(name)
        if value is None:
            return 0
        if isinstance(value, bytes):
            value = value.decode('ascii', 'replace')
        # memcached pads a shrunk number with spaces.
        value = str(value).strip()
        if not value.isdigit():
            raise exceptions.StorageError('swift.cache: counter %s holds %r'
                                          % (name, value[:40]))
        return int(value)

    def window_problem(self, window: int) -> Optional[str]:
        return memcached.window_problem(window)
