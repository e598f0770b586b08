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


"""``memcached://host:port[,host:port...][?tls=true&...]``: counters in
memcached, over TLS with ``tls=true`` (:func:`parse_tls`).

The protocol is pymemcache's (``pymemcache.client.base.Client``, the
client oslo.cache's ``dogpile.cache.pymemcache`` backend builds on), one
client per server; this module keeps what a rate limiter needs on top of
it, which pymemcache's ``HashClient`` does not give:

* **Placement**: a consistent-hash ring (md5 points per server, as Swift's
  ``MemcacheRing``) maps each caller key to one server; a key's current
  and previous counters live on the same server. There is no fail-over to
  another server (``HashClient`` moves a dead server's keys to the others,
  which would split their counts): a server that is down costs only the
  keys it holds. A call's hits on the other servers are counted, and
  :class:`~opsext.exceptions.PartialStorageError` gives their counts
  beside the lost ones (the filter counts those in memory).
* **Names**: ``opsext:rl:<md5 hex of the key>:<window index>``, always
  short and free of the whitespace and control characters memcached
  forbids, whatever the caller's key holds.
* **Per hit**: ``incr <cur> 1`` (atomic; its answer is this hit's count);
  when the counter is missing, ``add <cur> 0 <ttl>`` (never overwrites,
  so a racing client's count is never reset) and ``incr`` again; then,
  per server, one ``get`` of the previous windows' counters: two round
  trips per hit in the steady state. The hand-written client this
  replaced sent one request per server; through a Swift GET the
  difference did not show (see the benchmarks page). An ``incr`` that
  finds no counter right after its ``add`` shows a counter evicted or
  flushed in between: that hit is reported lost.
* **Failures**: a server has ``timeout`` seconds to answer each command
  from when it was sent (pymemcache's socket timeout), and connecting has
  as long. A server that fails makes the call raise
  :class:`~opsext.exceptions.StorageError` at once; it is marked down on
  evidence (a refused or reset connection, or timeouts in a row, see
  :mod:`._sockets`) for ``retry_interval`` seconds, during which calls
  that need it fail fast; after that, one call probes it again. An answer
  that is not memcached's raises StorageError and drops that connection;
  a failed command is never retried (the server may have counted it).

The clock is the caller's (``server_clock = False``): counters are named
after ``now``, so the proxies' clocks should agree within a fraction of the
smallest window.
"""

import bisect
import hashlib
import os
import select
import ssl
import threading
import time
import urllib.parse
from typing import Optional, Sequence

from opsext import exceptions
from opsext.ratelimit.storage import _sockets
from opsext.ratelimit.storage import base
from opsext.ratelimit.storage import redact_uri

_PREFIX = 'opsext:rl:'
_POINTS_PER_SERVER = 100
# memcached reads an expiry beyond 30 days as an absolute Unix time, a
# 32-bit one: past 2**31 an item is born expired (or refused).
_MAX_RELATIVE_TTL = 30 * 24 * 3600
MAX_EXPIRY = 2 ** 31 - 1


def window_problem(window: int, now: Optional[float] = None) -> Optional[str]:
    """Why memcached cannot hold a ``window``'s counters, or None.

    A counter lives two windows and a second; beyond 30 days memcached
    takes that as an absolute Unix time, which must stay below 2**31
    (2038-01-19).
    """
    ttl = 2 * window + 1
    if ttl <= _MAX_RELATIVE_TTL:
        return None
    now = time.time() if now is None else now
    if now + ttl <= MAX_EXPIRY:
        return None
    longest = int((MAX_EXPIRY - now - 1) // 2)
    return ('a window of %d s is longer than memcached can hold: its '
            'counters would expire after %d s, past 2038-01-19 (memcached '
            'reads an expiry over 30 days as a 32-bit Unix time), so they '
            'would be stored already expired; use a window of at most %d s '
            '(%d days)' % (window, ttl, longest, longest // 86400))


_PREFIX_BYTES = _PREFIX.encode('ascii')
#: Idle connections kept per server and process.
MAX_IDLE = _sockets.MAX_IDLE


def _md5(text: str) -> bytes:
    """The md5 of ``text``, in lowercase hex."""
    return hashlib.md5(text.encode('utf-8', 'surrogatepass'),
                       usedforsecurity=False).hexdigest().encode('ascii')


def counter_name(key: str, index: int) -> str:
    """The memcached name of ``key``'s counter for window ``index``."""
    return '%s%s:%d' % (_PREFIX, _md5(key).decode('ascii'), index)


class MemcachedStorage(base.Storage):
    """Counters on a consistent-hash ring of memcached servers."""

    server_clock = False

    def __init__(self, servers: Sequence[tuple[str, int]],
                 timeout: float = 0.5, retry_interval: float = 1.0,
                 ssl_context: Optional[ssl.SSLContext] = None) -> None:
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
            server = _Server(host, int(port), timeout, retry_interval,
                             ssl_context)
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
    def from_uri(cls, uri: str, timeout: float = 0.5,
                 retry_interval: float = 1.0) -> 'MemcachedStorage':
        """Build from ``memcached://host:port[,host:port...]``.

        :raises ValueError: naming what is wrong with the URI.
        """
        servers = parse_uri(uri)
        return cls(servers, timeout=timeout, retry_interval=retry_interval,
                   ssl_context=parse_tls(uri))

    def window_problem(self, window: int) -> Optional[str]:
        return window_problem(window)

    def server_for(self, key: str) -> str:
        """The ``host:port`` of the server that holds ``key``'s counters."""
        return self._lookup(_md5(key)).name

    def _lookup(self, digest: bytes) -> '_Server':
        if len(self.servers) == 1:
            return self.servers[0]
        pos = bisect.bisect(self._points, int(digest[:8], 16))
        return self._ring[pos % len(self._ring)]

    def hit(self, hits: Sequence[base.Hit],
            now: Optional[float] = None) -> list[base.WindowCount]:
        now = time.time() if now is None else now
        if not hits:
            return []
        # Per hit: its server, its previous window's counter name, its
        # commands and how far into its window ``now`` is.
        servers = []
        names = []
        requests = []
        elapsed = []
        for key, window in hits:
            digest = _md5(key)
            index = int(now // window)
            elapsed.append(now - index * window)
            ttl = 2 * window + 1
            if ttl > _MAX_RELATIVE_TTL:
                ttl += int(time.time())
            current = b'%s%s:%d' % (_PREFIX_BYTES, digest, index)
            previous = b'%s%s:%d' % (_PREFIX_BYTES, digest, index - 1)
            servers.append(self._lookup(digest))
            names.append(previous)
            requests.append((current, ttl))
        server = servers[0]
        if servers.count(server) == len(servers):
            # One server for the whole call (always so with one server, or
            # one hit): no grouping.
            counts = self._exchange(server, names, requests)
        else:
            try:
                counts = self._exchange_ring(servers, names, requests)
            except exceptions.PartialStorageError as exc:
                exc.counts = [
                    None if count is None or count[0] is None else
                    base.WindowCount(count[0], count[1], elapsed[i])
                    for i, count in enumerate(exc.counts)]
                raise
        if any(current is None for current, _previous in counts):
            lost = [position for position, (current, _previous)
                    in enumerate(counts) if current is None]
            raise exceptions.PartialStorageError(
                'memcached: %d counter(s) lost between add and incr '
                '(evicted or flushed)' % len(lost), [
                    None if current is None else
                    base.WindowCount(current, previous, elapsed[i])
                    for i, (current, previous) in enumerate(counts)])
        return [base.WindowCount(current, previous, elapsed[position])
                for position, (current, previous) in enumerate(counts)]

    def _exchange(self, server: '_Server', names: list,
                  requests: list) -> list:
        """Count ``requests`` on ``server``; return their counts.

        :param names: the previous windows' counter names, one per hit.
        :param requests: ``(current counter name, ttl)``, one per hit.
        """
        server.check_up()
        client = None
        try:
            client = server.acquire()
            counts = _count(client, names, requests)
        except OSError as exc:
            if client is not None:
                client.close()
            raise server.failed(exc, self.timeout) from exc
        except server.unexpected_close as exc:
            client.close()
            raise server.failed(ConnectionResetError(
                'connection closed by the server'), self.timeout) from exc
        except Exception as exc:
            # Not memcached's answer: the connection may be out of step.
            if client is not None:
                client.close()
            raise exceptions.StorageError(
                'memcached %s answered garbage: %s: %s'
                % (server.name, type(exc).__name__, exc)) from exc
        except BaseException:
            if client is not None:
                client.close()
            raise
        server.release(client)
        server.mark_up()
        return counts

    def _exchange_ring(self, servers: list, names: list,
                       requests: list) -> list:
        """Count each server's hits on it; return the counts.

        ``servers``, ``names`` and ``requests`` are per hit, in order. A
        server that is down or fails costs only the hits it holds: the
        others are counted, and :class:`~opsext.exceptions.
        PartialStorageError` carries their counts (None for the lost ones).
        """
        batches: dict = {}
        for position, server in enumerate(servers):
            batch = batches.get(server)
            if batch is None:
                batch = batches[server] = ([], [], [])
            batch[0].append(position)
            batch[1].append(names[position])
            batch[2].append(requests[position])
        counts: list = [None] * len(servers)
        errors: list = []
        for server, (positions, previous, batch) in batches.items():
            try:
                found = self._exchange(server, previous, batch)
            except exceptions.StorageError as exc:
                errors.append(exc)
                continue
            for position, count in zip(positions, found):
                counts[position] = count
        if errors:
            message = '; '.join(str(e) for e in errors)
            if all(count is None for count in counts):
                raise exceptions.StorageError(message)
            raise exceptions.PartialStorageError(message, counts)
        return counts

    def evictions(self) -> Optional[int]:
        """The sum of ``STAT evictions`` over the servers that answer."""
        total = None
        for server in self.servers:
            try:
                server.check_up()
            except exceptions.StorageError:
                continue
            client = None
            try:
                client = server.acquire()
                stats = client.stats()
            except Exception:  # noqa: B902 (any failure: not counted)
                if client is not None:
                    client.close()
                continue
            server.release(client)
            value = stats.get(b'evictions')
            if isinstance(value, int):
                total = (total or 0) + value
        return total

    def close(self) -> None:
        for server in self.servers:
            server.close()


def _count(client, names: list, requests: list) -> list:
    """``(current, previous)`` per hit, through one pymemcache client."""
    currents = []
    for name, ttl in requests:
        current = client.incr(name, 1)
        if current is None:
            client.add(name, b'0', expire=ttl, noreply=False)
            # None again: evicted or flushed since the add; reported lost.
            current = client.incr(name, 1)
        currents.append(current)
    found = client.get_many(names)
    counts = []
    for current, name in zip(currents, names):
        value = found.get(name)
        if value is None:
            counts.append((current, 0))
            continue
        # memcached pads a shrunk number with spaces.
        value = value.rstrip(b' ')
        if not value.isdigit() or len(value) > 20:
            raise ValueError('get %s: value %r'
                             % (name.decode(), value[:80]))
        counts.append((current, int(value)))
    return counts


# eventlet's monkey-patching removes select.poll; a poll with a zero
# timeout never blocks, so the original one is fine when we have it.
_poll = getattr(select, 'poll', None)


def _stale(client) -> bool:
    """True if an idle client's socket was closed or has unread bytes."""
    sock = client.sock
    if sock is None or _poll is None:
        return sock is None
    try:
        poller = _poll()
        poller.register(sock.fileno(), select.POLLIN | select.POLLPRI
                        | select.POLLERR | select.POLLHUP | select.POLLNVAL)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


class _Server(_sockets.Health):
    """A memcached server: idle pymemcache clients and whether it is down.

    pymemcache's own ``PooledClient`` knows neither forks nor stale idle
    connections; this pool does, as the Redis backend's does.
    """

    def __init__(self, host: str, port: int, timeout: float,
                 retry_interval: float, ssl_context=None) -> None:
        super().__init__('memcached', _sockets.format_address(host, port),
                         retry_interval)
        self.host = host
        self.port = port
        self.timeout = timeout
        self.ssl_context = ssl_context
        self._idle: list = []
        self._pid = os.getpid()
        self._pool_lock = threading.Lock()
        # The driver is imported when a memcached:// backend is built.
        from pymemcache.client import base as pymemcache_base
        from pymemcache import exceptions as pymemcache_exceptions
        self._client_class = pymemcache_base.Client
        #: pymemcache's error for a connection the server closed.
        self.unexpected_close = (
            pymemcache_exceptions.MemcacheUnexpectedCloseError)

    def acquire(self):
        """An idle client still connected, or a new one."""
        if self._pid != os.getpid():
            # A forked worker must not share its parent's sockets (answers
            # would go to whichever process reads first): drop its copies.
            self._pid = os.getpid()
            self.close()
        while self._idle:
            with self._pool_lock:
                client = self._idle.pop() if self._idle else None
            if client is None:
                break
            if not _stale(client):
                return client
            client.close()
        # Connected on its first command, within connect_timeout.
        return self._client_class(
            (self.host, self.port), connect_timeout=self.timeout,
            timeout=self.timeout, no_delay=True, default_noreply=False,
            tls_context=self.ssl_context)

    def release(self, client) -> None:
        with self._pool_lock:
            if len(self._idle) < MAX_IDLE:
                self._idle.append(client)
                return
        client.close()

    def close(self) -> None:
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for client in idle:
            client.close()


TLS_OPTIONS = ('tls', 'ssl_ca_certs', 'ssl_certfile', 'ssl_keyfile',
               'ssl_check_hostname')


def parse_tls(uri: str) -> Optional[ssl.SSLContext]:
    """The TLS context a ``memcached://...?tls=true&...`` URI asks for.

    ``tls=true`` (memcached 1.6 ``-Z``), with ``ssl_ca_certs`` (else the
    system's CAs), ``ssl_certfile`` and ``ssl_keyfile`` (a client
    certificate), ``ssl_check_hostname`` (``true`` by default). None
    without ``tls=true``.

    :raises ValueError: naming what is wrong with the URI.
    """
    shown = redact_uri(uri)
    query = uri.partition('?')[2].partition('#')[0]
    try:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True,
                                       strict_parsing=bool(query))
    except ValueError:
        raise ValueError('memcached URI %r: bad query' % (shown,)) from None
    options = dict(pairs)
    unknown = sorted(set(options) - set(TLS_OPTIONS))
    if unknown or len(options) != len(pairs):
        raise ValueError('memcached URI %r: unknown or repeated option %r; '
                         'the options are %s' % (shown, (unknown or [
                             pairs[0][0]])[0], ', '.join(TLS_OPTIONS)))
    for name in ('tls', 'ssl_check_hostname'):
        if options.get(name, 'true') not in ('true', 'false'):
            raise ValueError('memcached URI %r: %s must be true or false'
                             % (shown, name))
    if options.get('tls') != 'true':
        if len(options) > ('tls' in options):
            raise ValueError('memcached URI %r: ssl_* options need tls=true'
                             % (shown,))
        return None
    try:
        context = ssl.create_default_context(
            cafile=options.get('ssl_ca_certs'))
        if 'ssl_certfile' in options:
            context.load_cert_chain(options['ssl_certfile'],
                                    options.get('ssl_keyfile'))
    except (OSError, ssl.SSLError) as exc:
        raise ValueError('memcached URI %r: TLS: %s' % (shown, exc)) \
            from None
    context.check_hostname = options.get('ssl_check_hostname') != 'false'
    return context


def parse_uri(uri: str) -> list[tuple[str, int]]:
    """The ``(host, port)`` pairs of a ``memcached://`` URI.

    The query, if any, holds the TLS options (:func:`parse_tls`).

    :raises ValueError: naming what is wrong with the URI.
    """
    shown = redact_uri(uri)
    scheme, sep, rest = uri.partition('://')
    if not sep or scheme.lower() != 'memcached':
        raise ValueError('memcached URI %r: must begin with memcached://'
                         % (shown,))
    netloc = rest.partition('?')[0]
    if '#' in rest:
        raise ValueError('memcached URI %r: no fragment allowed; give '
                         'host:port[,host:port...] only' % (shown,))
    for char, part in (('#', 'fragment'), ('/', 'path'),
                       ('@', 'credentials')):
        netloc, found, extra = netloc.partition(char)
        if found and (extra or char != '/'):
            raise ValueError('memcached URI %r: no %s allowed; give '
                             'host:port[,host:port...] only' % (shown, part))
    servers = []
    for item in netloc.split(','):
        host, port = _parse_address(item.strip(), shown)
        if (host, port) in servers:
            raise ValueError('memcached URI %r: server %s is listed twice'
                             % (shown, _sockets.format_address(host, port)))
        servers.append((host, port))
    return servers


def _parse_address(item: str, shown: str) -> tuple[str, int]:
    if not item:
        raise ValueError('memcached URI %r: empty server address; give '
                         'host:port[,host:port...]' % (shown,))
    if item.startswith('['):
        host, _, port = item[1:].partition(']')
        if not port.startswith(':'):
            raise ValueError('memcached URI %r: server %r has no port; '
                             'give [address]:port' % (shown, item))
        port = port[1:]
    else:
        host, sep, port = item.rpartition(':')
        if not sep:
            raise ValueError('memcached URI %r: server %r has no port; '
                             'give host:port' % (shown, item))
        if ':' in host:
            raise ValueError('memcached URI %r: IPv6 server %r needs '
                             'brackets: [address]:port' % (shown, item))
    if not host or any(c.isspace() or c in '[]/' for c in host):
        raise ValueError('memcached URI %r: bad host %r in %r'
                         % (shown, host, item))
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError('memcached URI %r: bad port %r in %r: give a '
                         'number from 1 to 65535' % (shown, port, item))
    return host, int(port)
