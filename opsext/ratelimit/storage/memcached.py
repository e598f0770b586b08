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

A small client for memcached's text protocol on plain sockets (eventlet's
monkey-patching makes them green in a service), with no third-party
dependency.

* **Placement**: a consistent-hash ring (md5 points per server, as Swift's
  ``MemcacheRing``) maps each caller key to one server; a key's current
  and previous counters live on the same server. There is no fail-over to
  another server: moving a key would split its count. A server that is
  down costs only the keys it holds: a call's hits on the other servers
  are counted, and :class:`~opsext.exceptions.PartialStorageError` gives
  their counts beside the lost ones (the filter counts those in memory).
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
* **Failures**: a server has ``timeout`` seconds to answer from when the
  request was sent, and connecting has as long. A server that fails makes
  the call raise :class:`~opsext.exceptions.StorageError` at once; it is
  marked down on evidence (a refused or reset connection, or timeouts in a
  row, see :mod:`._sockets`) for ``retry_interval`` seconds, during which
  calls that need it fail fast; after that, one call probes it again. An
  answer that is not memcached's raises StorageError and drops that
  connection.

The clock is the caller's (``server_clock = False``): counters are named
after ``now``, so the proxies' clocks should agree within a fraction of the
smallest window.
"""

import bisect
import hashlib
import ssl
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


# The longest answer to one hit's commands, with room to spare.
_MAX_ANSWER = 256
_PREFIX_BYTES = _PREFIX.encode('ascii')


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
            server = _sockets.Server('memcached', host, int(port),
                                     retry_interval, ssl_context)
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

    def _lookup(self, digest: bytes) -> _sockets.Server:
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
            requests.append(b'add %s 0 %d 1\r\n0\r\nincr %s 1\r\nget %s\r\n'
                            % (current, ttl, current, previous))
        server = servers[0]
        if servers.count(server) == len(servers):
            # One server for the whole call (always so with one server, or
            # one hit): no grouping, one exchange.
            counts = self._exchange(server, names, b''.join(requests))
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

    def _exchange(self, server: _sockets.Server, names: list,
                  request: bytes) -> list:
        """Send ``request`` to ``server``; return its counts."""
        server.check_up()
        conn = None
        try:
            conn = server.acquire(self.timeout)
            deadline = conn.send(request, self.timeout)
            counts = _read_counts(conn, names, deadline)
        except OSError as exc:
            if conn is not None:
                conn.close()
            raise server.failed(exc, self.timeout) from exc
        except _sockets.Garbage as exc:
            conn.close()
            raise exceptions.StorageError(
                'memcached %s answered garbage: %s'
                % (server.name, exc)) from exc
        except BaseException:
            # Answers still unread would put the connection out of step.
            if conn is not None:
                conn.close()
            raise
        server.release(conn)
        server.mark_up()
        return counts

    def _exchange_ring(self, servers: list, names: list,
                       requests: list) -> list:
        """Send each server its hits' requests at once; return the counts.

        ``servers``, ``names`` and ``requests`` are per hit, in order. A
        server that is down or fails costs only the hits it holds: the
        others are counted, and :class:`~opsext.exceptions.
        PartialStorageError` carries their counts (None for the lost ones).
        """
        # Per server: the positions of its hits, their previous windows'
        # counter names and its request.
        batches: dict[_sockets.Server, tuple[list, list, list]] = {}
        for position, server in enumerate(servers):
            batch = batches.get(server)
            if batch is None:
                batch = batches[server] = ([], [], [])
            batch[0].append(position)
            batch[1].append(names[position])
            batch[2].append(requests[position])
        counts: list = [None] * len(servers)
        errors: list = []
        sent = []
        try:
            for server, (positions, previous, request) in batches.items():
                conn = None
                try:
                    server.check_up()
                    conn = server.acquire(self.timeout)
                    deadline = conn.send(b''.join(request), self.timeout)
                except exceptions.StorageError as exc:
                    errors.append(exc)
                    continue
                except OSError as exc:
                    if conn is not None:
                        conn.close()
                    errors.append(server.failed(exc, self.timeout))
                    continue
                sent.append((server, conn, positions, previous, deadline))
            while sent:
                server, conn, positions, previous, deadline = sent[0]
                try:
                    for position, count in zip(
                            positions, _read_counts(conn, previous, deadline)):
                        counts[position] = count
                except OSError as exc:
                    errors.append(server.failed(exc, self.timeout))
                    conn.close()
                except _sockets.Garbage as exc:
                    errors.append(exceptions.StorageError(
                        'memcached %s answered garbage: %s'
                        % (server.name, exc)))
                    conn.close()
                else:
                    server.release(conn)
                    server.mark_up()
                sent.pop(0)
        finally:
            # Connections with answers still unread are out of step.
            for _, conn, _, _, _ in sent:
                conn.close()
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
            conn = None
            try:
                conn = server.acquire(self.timeout)
                answer = conn.exchange(b'stats\r\n', self.timeout,
                                       lambda data: data.endswith(b'END\r\n'))
            except (OSError, _sockets.Garbage):
                if conn is not None:
                    conn.close()
                continue
            server.release(conn)
            for line in answer.split(b'\r\n'):
                fields = line.split(b' ')
                if fields[:2] == [b'STAT', b'evictions'] and len(fields) == 3 \
                        and fields[2].isdigit():
                    total = (total or 0) + int(fields[2])
        return total

    def close(self) -> None:
        for server in self.servers:
            server.close()


_STORED = (b'STORED', b'NOT_STORED')


def _read_counts(conn: _sockets.Connection, names: list,
                 deadline: float) -> list:
    """Read the answers to the ``add``, ``incr``, ``get`` of each name.

    ``names`` are the previous windows' counters, one per hit, in order.
    """
    need = len(names)
    buf = conn.buf
    while True:
        conn.fill(deadline)
        # Every answer ends with a get's END (names are lowercase hex,
        # values digits: no END elsewhere): count them before parsing.
        if buf.count(b'END\r\n') >= need:
            break
        # Not all there yet: what has come must be right so far.
        _parse(bytes(buf), names, partial=True)
        if len(buf) > _MAX_ANSWER * need:
            raise _sockets.Garbage('answer too long: %r...'
                                   % bytes(buf[:80]))
    counts = _parse(bytes(buf), names)
    del buf[:]
    return counts


def _parse(data: bytes, names: list, partial: bool = False) -> list:
    """The ``(current, previous)`` counts in ``data``, one per name.

    :param partial: ``data`` may stop short (its complete lines are
        checked, and ``[]`` returned); otherwise it must be all the
        answers, and nothing more.
    :raises opsext.ratelimit.storage._sockets.Garbage: on anything else.
    """
    lines = data.split(b'\r\n')
    last = len(lines) - 1  # lines[last]: what follows the last CRLF
    counts = []
    i = 0
    for name in names:
        if i >= last:
            break
        line = lines[i]
        if line not in _STORED:
            raise _sockets.Garbage('add %s: %r' % (name.decode(), line[:80]))
        if i + 1 >= last:
            break
        line = lines[i + 1]
        if line == b'NOT_FOUND':
            # Evicted or flushed between our add and incr: the protocol
            # shows a lost counter; the caller counts that hit elsewhere.
            count = None
        elif not line.isdigit():
            raise _sockets.Garbage('incr %s: %r' % (name.decode(),
                                                    line[:80]))
        else:
            count = int(line)
        if i + 2 >= last:
            break
        line = lines[i + 2]
        if line == b'END':
            counts.append((count, 0))
            i += 3
            continue
        fields = line.split(b' ')
        if (len(fields) != 4 or fields[0] != b'VALUE' or fields[1] != name
                or not fields[3].isdigit() or len(fields[3]) > 3):
            raise _sockets.Garbage('get %s: %r' % (name.decode(), line[:80]))
        if i + 4 >= last:
            break
        value = lines[i + 3]
        if len(value) != int(fields[3]):
            raise _sockets.Garbage('get %s: value %r of %d bytes'
                                   % (name.decode(), value[:80],
                                      int(fields[3])))
        # memcached pads a shrunk number with spaces.
        value = value.rstrip(b' ')
        if not value.isdigit():
            raise _sockets.Garbage('get %s: value %r'
                                   % (name.decode(), value[:80]))
        if lines[i + 4] != b'END':
            raise _sockets.Garbage('get %s: %r after the value'
                                   % (name.decode(), lines[i + 4][:80]))
        counts.append((count, int(value)))
        i += 5
    if partial:
        return []
    if len(counts) != len(names) or i != last or lines[last]:
        raise _sockets.Garbage('%d answers for %d hits, then %r'
                               % (len(counts), len(names),
                                  b'\r\n'.join(lines[i:])[:80]))
    return counts


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
