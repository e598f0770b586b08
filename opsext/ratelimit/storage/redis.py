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

Counters in one Redis server, through a small RESP2 client on plain
sockets (eventlet's monkey-patching makes them green in a service), with
no third-party dependency. Connections, their pool and the marking down
of a failed server are shared with the memcached backend
(:mod:`opsext.ratelimit.storage._sockets`).

* **One round trip per call**: a Lua script, sent with ``EVALSHA``, counts
  every hit of the call: ``INCR`` of the current window's counter,
  ``EXPIRE`` when that created it, ``GET`` of the previous window's. A
  script runs atomically, so no other client can come in between. When
  Redis answers ``NOSCRIPT`` (restarted, or ``SCRIPT FLUSH``), the call is
  sent once more with ``EVAL`` and the whole script, which loads it again:
  Redis refused the first one without running anything, so nothing is
  counted twice. On a new connection, ``AUTH`` (when the URI has a
  password) and ``SELECT`` (when it names a database other than 0) go in
  the same write as the script.
* **A flat answer**: the script returns one array of integers: the
  server's time (seconds, microseconds; zeros with ``clock=client``), then
  the current and previous counts of each hit. The window index and the
  time elapsed in the window are computed here with the same floating-point
  operations as in the script, so they agree with the counter names. The
  answer is parsed strictly: anything else raises
  :class:`~opsext.exceptions.StorageError` and drops the connection.
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
* **Failures**: the server has ``timeout`` seconds to answer from when
  the request was sent (and again for the ``EVAL`` after a ``NOSCRIPT``),
  and connecting has as long. A server that fails makes the call raise
  :class:`~opsext.exceptions.StorageError` at once; it is marked down on
  evidence (a refused or reset connection, or timeouts in a row, see
  :mod:`._sockets`) for ``retry_interval`` seconds, during which calls
  fail fast; after that, one call probes it again. An error answer from
  Redis (a wrong password, say) raises StorageError and drops the
  connection, without marking the server down.
"""

import hashlib
import math
import time
import urllib.parse
from typing import Optional, Sequence

from opsext import exceptions
from opsext.ratelimit.storage import _sockets
from opsext.ratelimit.storage import base
from opsext.ratelimit.storage import redact_uri

CLOCKS = ('server', 'client')

# KEYS[i]: the counter name prefix of hit i, 'opsext:{<key>}:'.
# ARGV[1]: the caller's time, or '' for the server's; ARGV[i + 1]: the
# window of hit i, in seconds. Returns {seconds, microseconds} of the
# server's TIME (zeros on the caller's clock), then {current, previous}
# per hit: integers only, cheap to read.
_SCRIPT = """
local now
local result = {0, 0}
if ARGV[1] == '' then
  local t = redis.call('TIME')
  result[1] = tonumber(t[1])
  result[2] = tonumber(t[2])
  now = result[1] + result[2] / 1000000
else
  now = tonumber(ARGV[1])
end
for i, prefix in ipairs(KEYS) do
  local window = tonumber(ARGV[i + 1])
  local index = math.floor(now / window)
  local current = prefix .. string.format('%d', index)
  local count = redis.call('INCR', current)
  if count == 1 then
    redis.call('EXPIRE', current, 2 * window + 1)
  end
  result[2 * i + 1] = count
  result[2 * i + 2] = tonumber(
    redis.call('GET', prefix .. string.format('%d', index - 1))) or 0
end
return result
"""
_SCRIPT_BYTES = _SCRIPT.encode('ascii')
_SHA = hashlib.sha1(_SCRIPT_BYTES).hexdigest().encode('ascii')
_EVALSHA = b'$7\r\nEVALSHA\r\n$40\r\n%s\r\n' % _SHA
_EVAL = b'$4\r\nEVAL\r\n$%d\r\n%s\r\n' % (
    len(_SCRIPT_BYTES), _SCRIPT_BYTES)
_floor = math.floor


class _ErrorReply(Exception):
    """Redis answered an error (``-...``): the text of it."""


def _escape(key: str) -> str:
    return key.replace('%', '%25').replace('}', '%7D')


def counter_name(key: str, index: int) -> str:
    """The Redis name of ``key``'s counter for window ``index``."""
    return 'opsext:{%s}:%d' % (_escape(key), index)


def _bulk(value: bytes) -> bytes:
    return b'$%d\r\n%s\r\n' % (len(value), value)


def command(*args: bytes) -> bytes:
    """One Redis command in RESP."""
    return b'*%d\r\n%s' % (len(args), b''.join(_bulk(a) for a in args))


class RedisStorage(base.Storage):
    """Counters in one Redis server, counted by a Lua script."""

    def __init__(self, host: str = '127.0.0.1', port: int = 6379,
                 db: int = 0, password: Optional[str] = None,
                 username: Optional[str] = None, timeout: float = 0.5,
                 retry_interval: float = 1.0, clock: str = 'server') -> None:
        """Set the client up; it connects when first needed.

        :param timeout: the bound, in seconds, on one call (connecting
            included).
        :param retry_interval: how long, in seconds, the server is left
            alone after it failed: calls fail at once meanwhile.
        :param clock: ``server`` to count on the server's clock, ``client``
            to use the ``now`` given to :meth:`hit`.
        """
        if clock not in CLOCKS:
            raise ValueError('redis: clock must be one of %s, got %r'
                             % (', '.join(CLOCKS), clock))
        if not timeout > 0:
            raise ValueError('redis: timeout must be > 0, got %r'
                             % (timeout,))
        if not retry_interval >= 0:
            raise ValueError('redis: retry_interval must be >= 0, got %r'
                             % (retry_interval,))
        if not (isinstance(db, int) and db >= 0):
            raise ValueError('redis: db must be an integer >= 0, got %r'
                             % (db,))
        self._server = _sockets.Server('redis', host, int(port),
                                       retry_interval)
        self.address = self._server.name
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.server_clock = clock == 'server'
        # Sent ahead of the first script on each new connection; each
        # answers +OK.
        prelude = []
        if password is not None or username is not None:
            auth = [b'AUTH']
            if username is not None:
                auth.append(username.encode('utf-8'))
            auth.append((password or '').encode('utf-8'))
            prelude.append(command(*auth))
        if db:
            prelude.append(command(b'SELECT', b'%d' % db))
        self._prelude = b''.join(prelude)
        self._prelude_replies = len(prelude)

    @classmethod
    def from_uri(cls, uri: str, timeout: float = 0.5,
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
        server = self._server
        server.check_up()
        # The arguments after the script: numkeys, the keys, then ARGV.
        if self.server_clock:
            clock = b'$0\r\n\r\n'
        else:
            now = float(time.time() if now is None else now)
            clock = _bulk(repr(now).encode('ascii'))
        windows = []
        parts = [b'$%d\r\n%d\r\n' % (len(str(len(hits))), len(hits))]
        for key, window in hits:
            if '%' in key or '}' in key:
                key = _escape(key)
            name = b'opsext:{%s}:' % key.encode('utf-8', 'surrogatepass')
            parts.append(b'$%d\r\n%s\r\n' % (len(name), name))
            windows.append(int(window))
        parts.append(clock)
        for window in windows:
            parts.append(_bulk(b'%d' % window))
        head = b'*%d\r\n' % (2 * len(hits) + 4)
        args = b''.join(parts)
        conn = None
        try:
            try:
                conn = server.acquire(self.timeout)
                prelude = conn.new
                deadline = conn.send(b'%s%s%s%s' % (
                    self._prelude if prelude else b'', head, _EVALSHA, args),
                    self.timeout)
                try:
                    reply = _read_reply(conn, len(hits), deadline,
                                        self._prelude_replies
                                        if prelude else 0)
                except _ErrorReply as exc:
                    if not str(exc).startswith('NOSCRIPT'):
                        raise
                    # Refused before running anything: send it again with
                    # the script itself, which loads it for the next calls.
                    deadline = conn.send(b'%s%s%s' % (head, _EVAL, args),
                                         self.timeout)
                    reply = _read_reply(conn, len(hits), deadline, 0)
            except OSError as exc:
                raise server.failed(exc, self.timeout) from exc
        except _sockets.Garbage as exc:
            conn.close()
            raise exceptions.StorageError('redis %s answered garbage: %s'
                                          % (self.address, exc)) from exc
        except _ErrorReply as exc:
            conn.close()
            raise exceptions.StorageError('redis %s: error: %s'
                                          % (self.address, exc)) from exc
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        conn.new = False
        server.release(conn)
        server.mark_up()
        if self.server_clock:
            now = reply[0] + reply[1] / 1000000
        counts = []
        for position, window in enumerate(windows):
            index = _floor(now / window)
            counts.append(base.WindowCount(reply[2 * position + 2],
                                           reply[2 * position + 3],
                                           now - index * window))
        return counts

    def evictions(self) -> Optional[int]:
        """``evicted_keys`` from the server's ``INFO stats``."""
        server = self._server
        server.check_up()
        conn = None
        prelude = 0
        try:
            conn = server.acquire(self.timeout)
            prelude = self._prelude_replies if conn.new else 0
            answer = conn.exchange(
                (self._prelude if prelude else b'')
                + command(b'INFO', b'stats'), self.timeout,
                lambda data: _info_complete(data, prelude))
        except (OSError, _sockets.Garbage) as exc:
            if conn is not None:
                conn.close()
            raise exceptions.StorageError('redis %s: INFO stats: %s'
                                          % (self.address, exc)) from exc
        lines = answer.split(b'\r\n')
        if any(line != b'+OK' for line in lines[:prelude]):
            conn.close()
            raise exceptions.StorageError('redis %s: INFO stats: %r'
                                          % (self.address, lines[:prelude]))
        conn.new = False
        server.release(conn)
        for line in lines[prelude:]:
            name, _, value = line.partition(b':')
            if name == b'evicted_keys' and value.isdigit():
                return int(value)
        return None

    def close(self) -> None:
        self._server.close()


def _read_reply(conn: _sockets.Connection, hits: int, deadline: float,
                prelude: int) -> list[int]:
    """Read ``prelude`` answers +OK, then the script's flat array.

    :raises _ErrorReply: when Redis answered an error; the answers were
        all read, the connection is in step.
    :raises opsext.ratelimit.storage._sockets.Garbage: on anything that is
        not the expected answer.
    """
    size = 2 * hits + 2
    head = b'*%d' % size
    buf = conn.buf
    while True:
        conn.fill(deadline)
        lines = bytes(buf).split(b'\r\n')
        last = len(lines) - 1  # lines[last]: what follows the last CRLF
        error = None
        for i in range(prelude):
            if i >= last:
                break
            if lines[i] != b'+OK':
                if lines[i][:1] != b'-':
                    raise _sockets.Garbage('%r' % lines[i][:80])
                error = error or lines[i]
        else:
            i = prelude
            if i < last:
                line = lines[i]
                if line[:1] == b'-':
                    error = error or line
                    end = i + 1
                elif line != head:
                    raise _sockets.Garbage('%r, not an array of %d'
                                           % (line[:80], size))
                else:
                    end = i + 1 + size
                if end <= last:
                    if end != last or lines[last]:
                        raise _sockets.Garbage(
                            '%r after the answer'
                            % b'\r\n'.join(lines[end:])[:80])
                    del buf[:]
                    if error is not None:
                        raise _ErrorReply(error[1:].decode('utf-8',
                                                           'replace'))
                    values = []
                    for item in lines[i + 1:end]:
                        digits = item[1:]
                        if item[:1] != b':' or not (
                                digits.isdigit() or digits[:1] == b'-'
                                and digits[1:].isdigit()):
                            raise _sockets.Garbage(
                                '%r in an array of integers' % item[:80])
                        values.append(int(digits))
                    return values
        if len(buf) > 64 * size + 4096:
            raise _sockets.Garbage('answer too long: %r...'
                                   % bytes(buf[:80]))


def _info_complete(data: bytes, prelude: int) -> bool:
    """True once ``data`` holds ``prelude`` short answers and a bulk one."""
    parts = data.split(b'\r\n', prelude + 1)
    if len(parts) < prelude + 2:
        return False
    if any(line[:1] == b'-' for line in parts[:prelude + 1]):
        raise _sockets.Garbage('error: %r' % data[:120])
    head, body = parts[prelude], parts[prelude + 1]
    if head[:1] != b'$' or not head[1:].isdigit():
        raise _sockets.Garbage('%r, not a bulk string' % head[:80])
    return len(body) >= int(head[1:]) + 2


def parse_uri(uri: str) -> dict:
    """The :class:`RedisStorage` arguments a ``redis://`` URI gives.

    :raises ValueError: naming what is wrong with the URI.
    """
    shown = redact_uri(uri)
    try:
        parts = urllib.parse.urlsplit(uri)
    except ValueError as exc:
        raise ValueError('redis URI %r: %s' % (shown, exc)) from None
    if parts.scheme.lower() != 'redis':
        raise ValueError('redis URI %r: must begin with redis://' % (shown,))
    if ',' in parts.netloc:
        raise ValueError('redis URI %r: one server only (cluster and '
                         'sentinel are not supported)' % (shown,))
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError('redis URI %r: bad port: %s' % (shown, exc)) from None
    if not parts.hostname:
        raise ValueError('redis URI %r: no host; give redis://host:port'
                         % (shown,))
    if port == 0:
        raise ValueError('redis URI %r: bad port 0: give a number from 1 '
                         'to 65535' % (shown,))
    if parts.fragment:
        raise ValueError('redis URI %r: a fragment is not supported'
                         % (shown,))
    options = {'host': parts.hostname, 'port': port or 6379,
               'password': _unquote(parts.password),
               'username': _unquote(parts.username)}
    db = parts.path[1:]
    if db:
        if not (db.isascii() and db.isdigit()):
            raise ValueError('redis URI %r: bad database %r: give /N with '
                             'N a number >= 0' % (shown, db))
        options['db'] = int(db)
    try:
        query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True,
                                       strict_parsing=bool(parts.query))
    except ValueError:
        raise ValueError('redis URI %r: bad query %r'
                         % (shown, redact_uri(parts.query))) from None
    for name, value in query:
        if name != 'clock':
            raise ValueError('redis URI %r: unknown option %r; the only '
                             'one is clock=server|client' % (shown, name))
        if value not in CLOCKS:
            raise ValueError('redis URI %r: bad clock %r: give clock=server '
                             'or clock=client' % (shown, value))
        options['clock'] = value
    return options


def _unquote(value: Optional[str]) -> Optional[str]:
    return urllib.parse.unquote(value) if value else None
