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


"""Rate-limit storage backends, chosen by URI.

* ``memory://`` — this process only (:mod:`.memory`).
* ``memcached://host:port[,host:port...]`` — a consistent-hash ring over
  the servers (:mod:`.memcached`).
* ``redis://[:password@]host:port[/db]`` — one Redis server, counting on
  the server's clock (:mod:`.redis`).

Drivers are imported only when their scheme is used.
"""

import urllib.parse
from typing import Callable, Optional

from opsext.ratelimit.storage.base import Storage

SCHEMES = ('memory', 'memcached', 'redis')


def from_uri(uri: str, timeout: float = 0.05,
             clock: Optional[Callable[[], float]] = None) -> Storage:
    """Build the backend a URI names.

    :param timeout: the bound, in seconds, on one round trip (connecting
        included) to a shared backend.
    :raises ValueError: naming what is wrong with the URI.
    """
    scheme = urllib.parse.urlsplit(uri).scheme.lower()
    if scheme == 'memory':
        from opsext.ratelimit.storage import memory
        return memory.MemoryStorage(clock=clock)
    if scheme == 'memcached':
        from opsext.ratelimit.storage import memcached
        return memcached.MemcachedStorage.from_uri(uri, timeout=timeout)
    if scheme == 'redis':
        from opsext.ratelimit.storage import redis
        return redis.RedisStorage.from_uri(uri, timeout=timeout)
    raise ValueError('unknown scheme %r in %r: use one of %s'
                     % (scheme, uri, ', '.join(s + '://' for s in SCHEMES)))
