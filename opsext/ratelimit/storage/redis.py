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


"""``redis://[[user]:password@]host[:port][/db][?clock=server|client]``.

Counters in one Redis server, through redis-py (``pip install
opsext[redis]``).

* **One round trip per call**: a Lua script, registered once and run with
  ``EVALSHA`` (redis-py loads it again by itself after a server restart),
  counts every hit of the call: ``INCR`` of the current window's counter,
  ``EXPIRE`` when that created it, ``GET`` of the previous window's. A
  script runs atomically, so no other client can come in between.
* **Clock**: by default (``clock=server``) the script reads the server's
  ``TIME``, so the proxies' clocks do not matter (``server_clock = True``
  and the caller's ``now`` is ignored). ``clock=client`` uses the caller's
  ``now`` instead, as memcached does; tests use it to control time.
* **Names**: ``opsext:{<key>}:<window index>``. The caller's key is a Redis
  Cluster hash tag, so both counters of a key share a slot; ``}`` and ``%``
  in the key are written ``%7D`` and ``%25`` so that the tag is always the
  whole key. Cluster mode is not supported yet: one call sends all its keys
  to one server, and the script builds the counter names itself (the
  window index depends on the server's clock).
* **Failures**: ``timeout`` bounds connecting and each read (redis-py's
  ``socket_connect_timeout`` and ``socket_timeout``), so a call takes at
  most twice ``timeout`` (four times when it reconnects to a restarted
  server and loads the script again); redis-py's own retries are off, and
  every redis-py error is raised as
  :class:`~opsext.exceptions.StorageError`. After a connection failure or
  a timeout the server is marked down for ``retry_interval`` seconds,
  during which calls fail at once; after that, one call probes it again.
"""

import inspect
import threading
import time
import urllib.parse
from typing import Optional, Sequence

from opsext import exceptions
from opsext.ratelimit.storage import base

CLOCKS = ('server', 'client')

# KEYS[i]: the counter name prefix of hit i, 'opsext:{<key>}:'.
# ARGV[1]: the caller's time, or '' for the server's; ARGV[i + 1]: the
# window of hit i, in seconds. Returns {current, previous, elapsed} per
# hit, elapsed as a string since Redis truncates Lua numbers to integers.
_SCRIPT = """
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[1])
end
local result = {}
for i, prefix in ipairs(KEYS) do
  local window = tonumber(ARGV[i + 1])
  local index = math.floor(now / window)
  local current = prefix .. string.format('%d', index)
  local count = redis.call('INCR', current)
  if count == 1 then
    redis.call('EXPIRE', current, 2 * window + 1)
  end
  local previous = redis.call(
    'GET', prefix .. string.format('%d', index - 1))
  result[i] = {count, tonumber(previous) or 0,
               string.format('%.6f', now - index * window)}
end
return result
"""


def _escape(key: str) -> str:
    return key.replace('%', '%25').replace('}', '%7D')


def counter_name(key: str, index: int) -> str:
    """The Redis name of ``key``'s counter for window ``index``."""
    return 'opsext:{%s}:%d' % (_escape(key), index)


class RedisStorage(base.Storage):
    """Counters in one Redis server, counted by a Lua script."""

    def __init__(self, host: str = '127.0.0.1', port: int = 6379,
                 db: int = 0, password: Optional[str] = None,
                 username: Optional[str] = None, timeout: float = 0.05,
                 retry_interval: float = 1.0, clock: str = 'server') -> None:
        """Set the client up; it connects when first needed.

        :param timeout: the bound, in seconds, on connecting and on each
            read.
        :param retry_interval: how long, in seconds, the server is left
            alone after it failed: calls fail at once meanwhile.
        :param clock: ``server`` to count on the server's clock, ``client``
            to use the ``now`` given to :meth:`hit`.
        """
        # Absolute imports (this module's own name is "redis"), here so that
        # parse_uri works without redis-py.
        try:
            import redis
            import redis.backoff
            import redis.retry
        except ImportError as exc:
            raise ImportError('redis:// needs redis-py: pip install '
                              '"opsext[redis]" (%s)' % exc) from exc

        if clock not in CLOCKS:
            raise ValueError('redis: clock must be one of %s, got %r'
                             % (', '.join(CLOCKS), clock))
        if not timeout > 0:
            raise ValueError('redis: timeout must be > 0, got %r'
                             % (timeout,))
        if not retry_interval >= 0:
            raise ValueError('redis: retry_interval must be >= 0, got %r'
                             % (retry_interval,))
        self.address = '[%s]:%d' % (host, port) if ':' in host else \
            '%s:%d' % (host, port)
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.server_clock = clock == 'server'
        options = dict(
            host=host, port=port, db=db, password=password,
            username=username, socket_timeout=timeout,
            socket_connect_timeout=timeout,
            # A retry would multiply the time a dead server costs.
            retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0))
        # redis-py >= 5 sends CLIENT SETINFO twice on each connect: two
        # more round trips, each of them one more timeout. Turn it off.
        parameters = inspect.signature(redis.Redis).parameters
        if 'driver_info' in parameters:
            options.update(driver_info=None)
        elif 'lib_name' in parameters:
            options.update(lib_name=None, lib_version=None)
        self._errors = (redis.exceptions.ConnectionError,
                        redis.exceptions.TimeoutError, OSError)
        self._redis_error = redis.exceptions.RedisError
        self._client = redis.Redis(**options)
        self._script = self._client.register_script(_SCRIPT)
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._down_reason = ''

    @classmethod
    def from_uri(cls, uri: str, timeout: float = 0.05,
                 retry_interval: float = 1.0) -> 'RedisStorage':
        """Build from ``redis://[:password@]host[:port][/db][?clock=...]``.

        :raises ValueError: naming what is wrong with the URI.
        """
        return cls(timeout=timeout, retry_interval=retry_interval,
                   **parse_uri(uri))

    def hit(self, hits: Sequence[base.Hit],
            now: Optional[float] = None) -> list[base.WindowCount]:
        if not hits:
            return []
        self._check_up()
        if self.server_clock:
            args = ['']
        else:
            args = [repr(float(time.time() if now is None else now))]
        args += [int(window) for _, window in hits]
        keys = ['opsext:{%s}:' % _escape(key) for key, _ in hits]
        try:
            reply = self._script(keys=keys, args=args)
        except self._errors as exc:
            reason = '%s: %s' % (type(exc).__name__, exc)
            with self._lock:
                self._down_until = time.monotonic() + self.retry_interval
                self._down_reason = reason
            raise exceptions.StorageError(
                'redis %s failed: %s; marked down for %.2f s'
                % (self.address, reason, self.retry_interval)) from exc
        except self._redis_error as exc:
            raise exceptions.StorageError('redis %s: %s: %s' % (
                self.address, type(exc).__name__, exc)) from exc
        self._down_until = 0.0
        try:
            if len(reply) != len(hits):
                raise ValueError('%d answers for %d hits'
                                 % (len(reply), len(hits)))
            return [base.WindowCount(int(current), int(previous),
                                     float(elapsed))
                    for current, previous, elapsed in reply]
        except (TypeError, ValueError) as exc:
            raise exceptions.StorageError(
                'redis %s answered garbage: %s: %r'
                % (self.address, exc, reply)) from exc

    def _check_up(self) -> None:
        """Raise StorageError while down; let one caller probe after."""
        if not self._down_until:
            return
        now = time.monotonic()
        with self._lock:
            if not self._down_until:
                return
            if now < self._down_until:
                raise exceptions.StorageError(
                    'redis %s is marked down for %.2f s more after: %s'
                    % (self.address, self._down_until - now,
                       self._down_reason))
            # This caller probes the server; until it answers, the others
            # keep failing fast rather than all waiting for a timeout.
            self._down_until = now + self.retry_interval

    def close(self) -> None:
        self._client.connection_pool.disconnect()


def parse_uri(uri: str) -> dict:
    """The :class:`RedisStorage` arguments a ``redis://`` URI gives.

    :raises ValueError: naming what is wrong with the URI.
    """
    try:
        parts = urllib.parse.urlsplit(uri)
    except ValueError as exc:
        raise ValueError('redis URI %r: %s' % (uri, exc)) from None
    if parts.scheme.lower() != 'redis':
        raise ValueError('redis URI %r: must begin with redis://' % (uri,))
    if ',' in parts.netloc:
        raise ValueError('redis URI %r: one server only (cluster and '
                         'sentinel are not supported)' % (uri,))
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError('redis URI %r: bad port: %s' % (uri, exc)) from None
    if not parts.hostname:
        raise ValueError('redis URI %r: no host; give redis://host:port'
                         % (uri,))
    if port == 0:
        raise ValueError('redis URI %r: bad port 0: give a number from 1 '
                         'to 65535' % (uri,))
    if parts.fragment:
        raise ValueError('redis URI %r: a fragment is not supported'
                         % (uri,))
    options = {'host': parts.hostname, 'port': port or 6379,
               'password': _unquote(parts.password),
               'username': _unquote(parts.username)}
    db = parts.path[1:]
    if db:
        if not (db.isascii() and db.isdigit()):
            raise ValueError('redis URI %r: bad database %r: give /N with '
                             'N a number >= 0' % (uri, db))
        options['db'] = int(db)
    try:
        query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True,
                                       strict_parsing=bool(parts.query))
    except ValueError:
        raise ValueError('redis URI %r: bad query %r' % (uri, parts.query)
                         ) from None
    for name, value in query:
        if name != 'clock':
            raise ValueError('redis URI %r: unknown option %r; the only '
                             'one is clock=server|client' % (uri, name))
        if value not in CLOCKS:
            raise ValueError('redis URI %r: bad clock %r: give clock=server '
                             'or clock=client' % (uri, value))
        options['clock'] = value
    return options


def _unquote(value: Optional[str]) -> Optional[str]:
    return urllib.parse.unquote(value) if value else None
