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


"""Counters in Redis, through redis-py, however Redis is run.

URIs (the schemes the ``limits`` library uses)::

    redis://[[user]:password@]host[:port][/db]
    rediss://[[user]:password@]host[:port][/db][?ssl_ca_certs=...]
    redis+unix://[[user]:password@]/path/to/redis.sock[?db=N]
    redis+sentinel://[[user]:password@]host:port[,host:port...]/service[/db]
    redis+cluster://[[user]:password@]host:port[,host:port...]

Every form takes ``?clock=server|client`` too. ``rediss://`` takes
``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``, ``ssl_cert_reqs``
(``required``, the default, or ``none``) and ``ssl_check_hostname``;
``redis+sentinel://`` takes ``sentinel_username`` and
``sentinel_password`` for the Sentinels (the URI's own credentials are the
master's). ``user`` and ``password`` are an ACL user's (Redis 6+), or the
``requirepass`` password alone.

* **One round trip per call** (per key on a cluster): a Lua script, sent
  with ``EVALSHA`` (redis-py loads it again after a ``NOSCRIPT``, which
  ran nothing), counts every hit of the call: ``INCR`` of the current
  window's counter, ``EXPIRE`` when that created it, ``GET`` of the
  previous window's. A script runs atomically.
* **Names**: ``opsext:{<key>}:<window index>``. The caller's key is a Redis
  Cluster hash tag, so both counters of a key are in one slot and a key is
  one script call on a cluster; ``}`` and ``%`` in the key are written
  ``%7D`` and ``%25`` so that the tag is always the whole key. On a
  cluster each key is its own call, routed to the key's master.
* **Clock**: by default (``clock=server``) the script reads the server's
  ``TIME``, so the proxies' clocks do not matter. ``clock=client`` uses the
  caller's ``now`` instead; tests use it to control time.
* **Failures**: redis-py's socket timeout bounds the server's answer (a
  read's timeout starts when the read does, after the request was sent)
  and connecting. redis-py retries nothing here: a retried script could
  count twice. A refused or dropped connection marks the backend down at
  once, three timeouts in a row do (:mod:`._sockets`), for
  ``retry_interval`` seconds during which calls fail fast. An error answer
  (a wrong password, say) raises StorageError without marking it down.
"""

import math
import socket
import time
import urllib.parse
from typing import Optional, Sequence

from opsext import exceptions
from opsext.ratelimit.storage import _sockets
from opsext.ratelimit.storage import base
from opsext.ratelimit.storage import redact_uri

CLOCKS = ('server', 'client')
SCHEMES = ('redis', 'rediss', 'redis+unix', 'redis+sentinel',
           'redis+cluster')
_SSL_OPTIONS = ('ssl_ca_certs', 'ssl_certfile', 'ssl_keyfile',
                'ssl_cert_reqs', 'ssl_check_hostname')
_CERT_REQS = ('required', 'none')

# KEYS[i]: the counter name prefix of hit i, 'opsext:{<key>}:'.
# ARGV[1]: the caller's time, or '' for the server's; ARGV[i + 1]: the
# window of hit i, in seconds. Returns {seconds, microseconds} of the
# server's TIME (zeros on the caller's clock), then {current, previous}
# per hit: integers only.
SCRIPT = """
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


def _escape(key: str) -> str:
    return key.replace('%', '%25').replace('}', '%7D')


def counter_name(key: str, index: int) -> str:
    """The Redis name of ``key``'s counter for window ``index``."""
    return 'opsext:{%s}:%d' % (_escape(key), index)


class RedisStorage(base.Storage):
    """Counters in Redis (one server, Sentinel or Cluster), by a script."""

    def __init__(self, client, name: str, timeout: float = 0.5,
                 retry_interval: float = 1.0, clock: str = 'server',
                 cluster: bool = False) -> None:
        """Count through a redis-py client.

        :param client: a ``redis.Redis`` or ``redis.cluster.RedisCluster``.
        :param name: how logs and errors name the backend (no password).
        :param clock: ``server`` to count on the server's clock, ``client``
            to use the ``now`` given to :meth:`hit`.
        :param cluster: one script call per key (a cluster's keys of one
            call are in different slots).
        """
        if clock not in CLOCKS:
            raise ValueError('redis: clock must be one of %s, got %r'
                             % (', '.join(CLOCKS), clock))
        if not retry_interval >= 0:
            raise ValueError('redis: retry_interval must be >= 0, got %r'
                             % (retry_interval,))
        self.client = client
        self.address = name
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.server_clock = clock == 'server'
        self.cluster = cluster
        self._health = _sockets.Health('redis', name, retry_interval)
        self._script = client.register_script(SCRIPT)

    @classmethod
    def from_uri(cls, uri: str, timeout: float = 0.5,
                 retry_interval: float = 1.0) -> 'RedisStorage':
        """Build from any of the URIs in this module's docstring.

        :raises ValueError: naming what is wrong with the URI.
        """
        if not timeout > 0:
            raise ValueError('redis: timeout must be > 0, got %r'
                             % (timeout,))
        options = parse_uri(uri)
        client = make_client(options, timeout)
        return cls(client, options['name'], timeout=timeout,
                   retry_interval=retry_interval, clock=options['clock'],
                   cluster=options['kind'] == 'cluster')

    def hit(self, hits: Sequence[base.Hit],
            now: Optional[float] = None) -> list[base.WindowCount]:
        if not hits:
            return []
        self._health.check_up()
        if self.server_clock:
            clock = ''
        else:
            clock = repr(float(time.time() if now is None else now))
        prefixes = ['opsext:{%s}:' % _escape(key) for key, _window in hits]
        windows = [int(window) for _key, window in hits]
        if self.cluster:
            replies = [self._call([prefix], [clock, window])
                       for prefix, window in zip(prefixes, windows)]
        else:
            replies = [self._call(prefixes, [clock] + windows)]
        counts = []
        for position, window in enumerate(windows):
            reply = replies[position] if self.cluster else replies[0]
            at = 2 if self.cluster else 2 * position + 2
            if self.server_clock:
                now = reply[0] + reply[1] / 1000000
            index = math.floor(now / window)
            counts.append(base.WindowCount(reply[at], reply[at + 1],
                                           now - index * window))
        self._health.mark_up()
        return counts

    def _call(self, keys: list, args: list) -> list:
        """Run the script once; its flat array of integers."""
        import redis
        health = self._health
        try:
            reply = self._script(keys=keys, args=args)
        except redis.exceptions.TimeoutError as exc:
            raise health.failed(socket.timeout(str(exc)),
                                self.timeout) from exc
        except (redis.exceptions.AuthenticationError,
                redis.exceptions.AuthorizationError) as exc:
            raise exceptions.StorageError('redis %s: %s: %s' % (
                self.address, type(exc).__name__, exc)) from exc
        except (redis.exceptions.ConnectionError, OSError) as exc:
            raise health.failed(ConnectionError(
                '%s: %s' % (type(exc).__name__, exc)), self.timeout) from exc
        except redis.exceptions.RedisError as exc:
            raise exceptions.StorageError('redis %s: error: %s: %s' % (
                self.address, type(exc).__name__, exc)) from exc
        if not (isinstance(reply, list) and
                len(reply) == 2 * (len(keys) + 1) and
                all(isinstance(v, int) for v in reply)):
            raise exceptions.StorageError('redis %s answered garbage: %s'
                                          % (self.address,
                                             repr(reply)[:200]))
        return reply

    def evictions(self) -> Optional[int]:
        """``evicted_keys`` from ``INFO stats``, summed over masters."""
        import redis
        try:
            if self.cluster:
                infos = self.client.info('stats', target_nodes='primaries')
                if isinstance(infos, dict) and 'evicted_keys' not in infos:
                    infos = list(infos.values())
                else:
                    infos = [infos]
            else:
                infos = [self.client.info('stats')]
        except (redis.exceptions.RedisError, OSError) as exc:
            raise exceptions.StorageError('redis %s: INFO stats: %s'
                                          % (self.address, exc)) from exc
        total = None
        for info in infos:
            if isinstance(info, dict) and isinstance(
                    info.get('evicted_keys'), int):
                total = (total or 0) + info['evicted_keys']
        return total

    def close(self) -> None:
        self.client.close()


def make_client(options: dict, timeout: float):
    """The redis-py client :func:`parse_uri`'s options describe."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
    common = dict(options['client'])
    common.update(socket_timeout=timeout, socket_connect_timeout=timeout,
                  # A script retried after a timeout may count twice.
                  retry=Retry(NoBackoff(), 0))
    if options['kind'] == 'sentinel':
        from redis.sentinel import Sentinel
        sentinel_kwargs = dict(options['sentinel'])
        sentinel_kwargs.update(socket_timeout=timeout,
                               socket_connect_timeout=timeout)
        sentinel = Sentinel(options['nodes'], sentinel_kwargs=sentinel_kwargs,
                            **common)
        return sentinel.master_for(options['service'])
    if options['kind'] == 'cluster':
        from redis.cluster import ClusterNode
        from redis.cluster import RedisCluster
        common.pop('db', None)
        return RedisCluster(
            startup_nodes=[ClusterNode(h, p) for h, p in options['nodes']],
            **common)
    return redis.Redis(**common)


def parse_uri(uri: str) -> dict:
    """What a Redis URI asks for, checked strictly.

    Returns ``kind`` (``single``, ``sentinel`` or ``cluster``), ``name``
    (for messages: the URI without password), ``clock``, ``client`` (the
    redis-py connection arguments), and for Sentinel and Cluster ``nodes``,
    ``service`` and ``sentinel`` (the Sentinels' own arguments).

    :raises ValueError: naming what is wrong with the URI.
    """
    shown = redact_uri(uri)
    scheme, sep, _rest = uri.partition('://')
    scheme = scheme.lower()
    if not sep or scheme not in SCHEMES:
        raise ValueError('redis URI %r: must begin with one of %s'
                         % (shown, ', '.join(s + '://' for s in SCHEMES)))
    try:
        parts = urllib.parse.urlsplit(uri)
        username, password = parts.username, parts.password
    except ValueError as exc:
        raise ValueError('redis URI %r: %s' % (shown, exc)) from None
    if parts.fragment:
        raise ValueError('redis URI %r: a fragment is not supported'
                         % (shown,))
    client: dict = {}
    if password is not None or username is not None:
        if password is None:
            # redis://secret@host: the lone word is requirepass's password.
            username, password = None, username
        client['password'] = urllib.parse.unquote(password)
        if username:
            client['username'] = urllib.parse.unquote(username)
    options = {'kind': 'single', 'name': shown, 'clock': 'server',
               'client': client}
    query = _query(parts.query, shown)
    clock = query.pop('clock', 'server')
    if clock not in CLOCKS:
        raise ValueError('redis URI %r: bad clock %r: give clock=server or '
                         'clock=client' % (shown, clock))
    options['clock'] = clock
    netloc = parts.netloc.rpartition('@')[2]
    path = parts.path
    if scheme == 'redis+unix':
        if netloc or not path.startswith('/') or path == '/':
            raise ValueError('redis URI %r: give redis+unix:///path/to/'
                             'socket (an absolute path)' % (shown,))
        client['unix_socket_path'] = urllib.parse.unquote(path)
        db = query.pop('db', '0')
        client['db'] = _db(db, shown)
    elif scheme in ('redis', 'rediss'):
        host, port = _address(netloc, shown, 6379, single=True)
        client.update(host=host, port=port, db=_db(path[1:], shown))
        if scheme == 'rediss':
            client['ssl'] = True
            for name in _SSL_OPTIONS:
                if name in query:
                    client[name] = query.pop(name)
            reqs = client.get('ssl_cert_reqs', 'required')
            if reqs not in _CERT_REQS:
                raise ValueError('redis URI %r: bad ssl_cert_reqs %r: give '
                                 'required or none' % (shown, reqs))
            check = client.get('ssl_check_hostname', 'true')
            if check not in ('true', 'false'):
                raise ValueError('redis URI %r: bad ssl_check_hostname %r: '
                                 'give true or false' % (shown, check))
            client['ssl_check_hostname'] = check == 'true'
    else:
        cluster = scheme == 'redis+cluster'
        options['nodes'] = [_address(item, shown, 6379 if cluster else 26379)
                            for item in netloc.split(',')]
        if cluster:
            options['kind'] = 'cluster'
            if path not in ('', '/'):
                raise ValueError('redis URI %r: a cluster has no database: '
                                 'give no path' % (shown,))
        else:
            options['kind'] = 'sentinel'
            service, _, db = path[1:].partition('/')
            if not service:
                raise ValueError('redis URI %r: name the master: '
                                 'redis+sentinel://host:port[,...]/service'
                                 % (shown,))
            options['service'] = urllib.parse.unquote(service)
            client['db'] = _db(db, shown)
            sentinel = {}
            for name in ('sentinel_username', 'sentinel_password'):
                if name in query:
                    sentinel[name[9:]] = query.pop(name)
            options['sentinel'] = sentinel
    if query:
        raise ValueError('redis URI %r: unknown option %r for %s://'
                         % (shown, sorted(query)[0], scheme))
    return options


def _query(text: str, shown: str) -> dict:
    try:
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True,
                                       strict_parsing=bool(text))
    except ValueError:
        raise ValueError('redis URI %r: bad query %r'
                         % (shown, redact_uri(text))) from None
    query = {}
    for name, value in pairs:
        if name in query:
            raise ValueError('redis URI %r: %r given twice' % (shown, name))
        query[name] = value
    return query


def _db(text: str, shown: str) -> int:
    if not text:
        return 0
    if not (text.isascii() and text.isdigit()):
        raise ValueError('redis URI %r: bad database %r: give /N with N a '
                         'number >= 0' % (shown, text))
    return int(text)


def _address(item: str, shown: str, default_port: int,
             single: bool = False) -> tuple:
    if not item:
        raise ValueError('redis URI %r: no host; give host:port' % (shown,))
    if single and ',' in item:
        raise ValueError('redis URI %r: one server only; for several use '
                         'redis+sentinel:// or redis+cluster://' % (shown,))
    try:
        parts = urllib.parse.urlsplit('//' + item)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ValueError('redis URI %r: bad address %r: %s'
                         % (shown, item, exc)) from None
    if not host:
        raise ValueError('redis URI %r: no host in %r; give host:port'
                         % (shown, item))
    if port == 0:
        raise ValueError('redis URI %r: bad port 0 in %r: give a number '
                         'from 1 to 65535' % (shown, item))
    return host, port or default_port
