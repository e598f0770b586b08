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


"""``memcached://host:port[,host:port...]``: counters in memcached.

A small client for memcached's text protocol on plain sockets (eventlet's
monkey-patching makes them green in a service), with no third-party
dependency.

* **Placement**: a consistent-hash ring (md5 points per server, as Swift's
  ``MemcacheRing``) maps each caller key to one server; a key's current
  and previous counters live on the same server. There is no fail-over to
  another server: moving a key would split its count.
* **Names**: ``opsext:rl:<md5 hex of the key>:<window index>``, always
  short and free of the whitespace and control characters memcached
  forbids, whatever the caller's key holds.
* **One round trip per server per call**: for each hit the request is ::

      add <cur> 0 <ttl> 1        # create the counter at 0 if missing
      0
      incr <cur> 1               # atomic; the answer is this hit's count
      get <prev>                 # the previous window, if still there

  written in one ``sendall`` per server and all answers read after. ``add``
  never overwrites, so a counter is never reset by a racing client, and the
  increment is atomic on the server. ``add`` is sent *with* its reply
  (``STORED``/``NOT_STORED``, a few bytes) rather than ``noreply``: when
  memcached rejects an ``add ... noreply``, its data line is read as a
  command of its own and answered ``ERROR``, and answers stop lining up
  with commands. With one answer per command, each is checked for what it
  must be; anything else drops the connection.
* **Failures**: every call has one deadline, ``timeout`` seconds, connect
  included. A server that fails (refused, reset, timed out) makes the call
  raise :class:`~opsext.exceptions.StorageError` at once and is marked down
  for ``retry_interval`` seconds, during which calls that need it fail fast;
  after that, one call probes it again. An answer that is not memcached's
  raises StorageError and drops that connection.

The clock is the caller's (``server_clock = False``): counters are named
after ``now``, so the proxies' clocks should agree within a fraction of the
smallest window.
"""

import bisect
import hashlib
import socket
import time
from typing import Optional, Sequence

from opsext import exceptions
from opsext.ratelimit.storage import _sockets as _conn
from opsext.ratelimit.storage import base

_PREFIX = 'opsext:rl:'
_POINTS_PER_SERVER = 100
# memcached reads an expiry beyond 30 days as an absolute Unix time.
_MAX_RELATIVE_TTL = 30 * 24 * 3600


def _md5(text: str) -> str:
    return hashlib.md5(text.encode('utf-8', 'surrogatepass'),
                       usedforsecurity=False).hexdigest()


def counter_name(key: str, index: int) -> str:
    """The memcached name of ``key``'s counter for window ``index``."""
    return '%s%s:%d' % (_PREFIX, _md5(key), index)


class MemcachedStorage(base.Storage):
    """Counters on a consistent-hash ring of memcached servers."""

    server_clock = False

    def __init__(self, servers: Sequence[tuple[str, int]],
                 timeout: float = 0.05, retry_interval: float = 1.0) -> None:
        """Build the ring; connections are opened when first needed.

        :param servers: ``(host, port)`` pairs, at least one.
        :param timeout: the bound, in seconds, on one call (connecting
            included).
        :param retry_interval: how long, in seconds, a server that failed
            is left alone: calls that need it fail at once meanwhile.
        """
        if not servers:
            raise ValueError('memcached: no server given')
        if not timeout > 0:
            raise ValueError('memcached: timeout must be > 0, got %r'
                             % (timeout,))
        if not retry_interval >= 0:
            raise ValueError('memcached: retry_interval must be >= 0, got %r'
                             % (retry_interval,))
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.servers = []
        for host, port in servers:
            server = _conn.Server(host, int(port), retry_interval)
            if any(s.name == server.name for s in self.servers):
                raise ValueError('memcached: server %s listed twice'
                                 % server.name)
            self.servers.append(server)
        points = sorted(
            (int(_md5('%s-%d' % (server.name, i))[:8], 16), server.name,
             server)
            for server in self.servers for i in range(_POINTS_PER_SERVER))
        self._points = [point for point, _, _ in points]
        self._ring = [server for _, _, server in points]

    @classmethod
    def from_uri(cls, uri: str, timeout: float = 0.05,
                 retry_interval: float = 1.0) -> 'MemcachedStorage':
        """Build from ``memcached://host:port[,host:port...]``.

        :raises ValueError: naming what is wrong with the URI.
        """
        return cls(parse_uri(uri), timeout=timeout,
                   retry_interval=retry_interval)

    def server_for(self, key: str) -> str:
        """The ``host:port`` of the server that holds ``key``'s counters."""
        return self._lookup(_md5(key)).name

    def _lookup(self, digest: str) -> _conn.Server:
        if len(self.servers) == 1:
            return self.servers[0]
        pos = bisect.bisect(self._points, int(digest[:8], 16))
        return self._ring[pos % len(self._ring)]

    def hit(self, hits: Sequence[base.Hit],
            now: Optional[float] = None) -> list[base.WindowCount]:
        now = time.time() if now is None else now
        deadline = time.monotonic() + self.timeout
        # Per server: the positions of its hits and its request.
        batches: dict[_conn.Server, tuple[list, list]] = {}
        elapsed = []
        for position, (key, window) in enumerate(hits):
            digest = _md5(key)
            index = int(now // window)
            elapsed.append(now - index * window)
            current = '%s%s:%d' % (_PREFIX, digest, index)
            previous = '%s%s:%d' % (_PREFIX, digest, index - 1)
            ttl = base.ttl(window)
            if ttl > _MAX_RELATIVE_TTL:
                ttl += int(time.time())
            server = self._lookup(digest)
            positions, request = batches.setdefault(server, ([], []))
            positions.append((position, current.encode('ascii'),
                              previous.encode('ascii')))
            request.append('add %s 0 %d 1\r\n0\r\nincr %s 1\r\nget %s\r\n'
                           % (current, ttl, current, previous))
        # Before sending anything: a call needing a server that is down
        # fails without counting on the others.
        for server in batches:
            server.check_up()
        counts: list = [None] * len(hits)
        sent = []
        try:
            for server, (positions, request) in batches.items():
                conn = None
                try:
                    conn = server.acquire(deadline)
                    sent.append((server, conn, positions))
                    conn.send(''.join(request).encode('ascii'), deadline)
                except OSError as exc:
                    raise self._failed(server, exc) from exc
            while sent:
                server, conn, positions = sent[0]
                try:
                    for position, current, previous in positions:
                        counts[position] = _read_counts(
                            conn, current, previous, deadline)
                except OSError as exc:
                    raise self._failed(server, exc) from exc
                except _conn.Garbage as exc:
                    raise exceptions.StorageError(
                        'memcached %s answered garbage: %s'
                        % (server.name, exc)) from exc
                sent.pop(0)
                server.release(conn)
                server.mark_up()
        finally:
            # Connections with answers still unread are out of step.
            for _, conn, _ in sent:
                conn.close()
        return [base.WindowCount(current, previous, elapsed[position])
                for position, (current, previous) in enumerate(counts)]

    def _failed(self, server: _conn.Server,
                exc: OSError) -> exceptions.StorageError:
        """Mark ``server`` down; return the error to raise."""
        if isinstance(exc, socket.timeout):
            reason = 'timed out (timeout %.3f s)' % self.timeout
        else:
            reason = '%s: %s' % (type(exc).__name__, exc)
        server.mark_down(reason)
        return exceptions.StorageError(
            'memcached %s failed: %s; marked down for %.2f s'
            % (server.name, reason, self.retry_interval))

    def close(self) -> None:
        for server in self.servers:
            server.close()


def _read_counts(conn: _conn.Connection, current: bytes, previous: bytes,
                 deadline: float) -> tuple[int, int]:
    """Read the answers to one hit's ``add``, ``incr`` and ``get``."""
    line = conn.readline(deadline)
    if line != b'STORED' and line != b'NOT_STORED':
        raise _conn.Garbage('add %s: %r' % (current.decode(), line[:80]))
    line = conn.readline(deadline)
    if not line.isdigit():
        # NOT_FOUND: evicted or flushed between our add and incr.
        raise _conn.Garbage('incr %s: %r' % (current.decode(), line[:80]))
    count = int(line)
    line = conn.readline(deadline)
    if line == b'END':
        return count, 0
    fields = line.split(b' ')
    if (len(fields) != 4 or fields[0] != b'VALUE' or fields[1] != previous
            or not fields[3].isdigit() or len(fields[3]) > 3):
        raise _conn.Garbage('get %s: %r' % (previous.decode(), line[:80]))
    data = conn.read_exact(int(fields[3]) + 2, deadline)
    # memcached pads a shrunk number with spaces.
    value = data[:-2].rstrip(b' ')
    if data[-2:] != b'\r\n' or not value.isdigit():
        raise _conn.Garbage('get %s: value %r'
                            % (previous.decode(), data[:80]))
    line = conn.readline(deadline)
    if line != b'END':
        raise _conn.Garbage('get %s: %r after the value'
                            % (previous.decode(), line[:80]))
    return count, int(value)


def parse_uri(uri: str) -> list[tuple[str, int]]:
    """The ``(host, port)`` pairs of a ``memcached://`` URI.

    :raises ValueError: naming what is wrong with the URI.
    """
    scheme, sep, rest = uri.partition('://')
    if not sep or scheme.lower() != 'memcached':
        raise ValueError('memcached URI %r: must begin with memcached://'
                         % (uri,))
    netloc = rest
    for char, part in (('#', 'fragment'), ('?', 'query'), ('/', 'path'),
                       ('@', 'credentials')):
        netloc, found, extra = netloc.partition(char)
        if found and (extra or char != '/'):
            raise ValueError('memcached URI %r: no %s allowed; give '
                             'host:port[,host:port...] only' % (uri, part))
    servers = []
    for item in netloc.split(','):
        host, port = _parse_address(item.strip(), uri)
        if (host, port) in servers:
            raise ValueError('memcached URI %r: server %s is listed twice'
                             % (uri, _conn.format_address(host, port)))
        servers.append((host, port))
    return servers


def _parse_address(item: str, uri: str) -> tuple[str, int]:
    if not item:
        raise ValueError('memcached URI %r: empty server address; give '
                         'host:port[,host:port...]' % (uri,))
    if item.startswith('['):
        host, _, port = item[1:].partition(']')
        if not port.startswith(':'):
            raise ValueError('memcached URI %r: server %r has no port; '
                             'give [address]:port' % (uri, item))
        port = port[1:]
    else:
        host, sep, port = item.rpartition(':')
        if not sep:
            raise ValueError('memcached URI %r: server %r has no port; '
                             'give host:port' % (uri, item))
        if ':' in host:
            raise ValueError('memcached URI %r: IPv6 server %r needs '
                             'brackets: [address]:port' % (uri, item))
    if not host or any(c.isspace() or c in '[]/' for c in host):
        raise ValueError('memcached URI %r: bad host %r in %r'
                         % (uri, host, item))
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError('memcached URI %r: bad port %r in %r: give a '
                         'number from 1 to 65535' % (uri, port, item))
    return host, int(port)
