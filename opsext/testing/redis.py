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

"""A real Redis on a loopback port, for tests and demos.

Usage::

    with RedisServer() as redis:
        storage = from_uri(redis.url)

The server keeps nothing on disk (``--save '' --appendonly no``); its log
and working directory are a temporary directory removed by :meth:`stop`.
A server can be paused (SIGSTOP) and resumed, killed, and started again on
the same port, for tests of what clients do when it hangs or dies.  A
missing ``redis-server`` binary is an error, never a reason to skip:
install it with ``apt-get install redis-server``.

The harness speaks RESP itself (``PING``, ``FLUSHALL``), so it needs no
Redis client library. ``extra_args`` add redis-server options (TLS, a unix
socket, cluster mode); ``sentinel_monitor`` runs a Sentinel instead, and
:class:`RedisCluster` starts masters that share the 16384 slots;
:func:`make_certificate` makes a self-signed certificate for TLS.
"""

import logging
import os
import shutil
import tempfile
import subprocess
import time
from typing import Optional, Sequence

from opsext.allinone import process

LOG = logging.getLogger(__name__)


class RedisServer(process.LoopbackServer):
    """A redis-server subprocess listening on ``host`` (TCP only)."""

    NAME = 'redis-server'
    PACKAGE = 'redis-server'

    def __init__(self, host: str = '127.0.0.1', port: Optional[int] = None,
                 binary: str = 'redis-server',
                 start_timeout: float = 10.0, extra_args: Sequence[str] = (),
                 sentinel_monitor: Optional[tuple] = None,
                 sentinel_settings: Optional[dict] = None) -> None:
        """Describe the server; :meth:`start` runs it.

        :param extra_args: more redis-server options, e.g.
            ``['--unixsocket', path]``.
        :param sentinel_monitor: ``(service, host, port)``: run a Sentinel
            (``--sentinel``) watching that master, quorum 1.
        :param sentinel_settings: per-master Sentinel settings for that
            service, e.g. ``{'down-after-milliseconds': 300}`` (written as
            ``sentinel down-after-milliseconds <service> 300``).
        """
        super().__init__(host, port, binary, start_timeout)
        self.extra_args = list(extra_args)
        self.sentinel_monitor = sentinel_monitor
        self.sentinel_settings = dict(sentinel_settings or {})
        self._workdir: Optional[str] = None

    @property
    def url(self) -> str:
        """``redis://host:port``."""
        return 'redis://%s' % self.address

    @property
    def log_path(self) -> Optional[str]:
        if self._workdir is None:
            return None
        return os.path.join(self._workdir, 'redis.log')

    def _prepare(self) -> None:
        # A server that was stopped or killed starts again empty.
        if self._workdir is None:
            self._workdir = tempfile.mkdtemp(prefix='redis-')

    def _argv(self, path: str) -> list[str]:
        if self.sentinel_monitor is not None:
            # A Sentinel needs a configuration file it can rewrite.
            conf = os.path.join(self._workdir, 'sentinel.conf')
            with open(conf, 'w') as fp:
                fp.write('port %d\nbind %s\ndir %s\nprotected-mode no\n'
                         'sentinel monitor %s %s %d 1\n'
                         % ((self.port, self.host, self._workdir)
                            + tuple(self.sentinel_monitor)))
                for name, value in sorted(self.sentinel_settings.items()):
                    fp.write('sentinel %s %s %s\n'
                             % (name, self.sentinel_monitor[0], value))
            return [path, conf, '--sentinel']
        return [path, '--bind', self.host, '--port', str(self.port),
                '--save', '', '--appendonly', 'no', '--protected-mode', 'no',
                '--daemonize', 'no', '--dir', self._workdir
                ] + self.extra_args

    def _answers(self) -> bool:
        return self.command(b'PING', timeout=1.0) == b'+PONG'

    @staticmethod
    def _request(args) -> bytes:
        return b'*%d\r\n' % len(args) + b''.join(
            b'$%d\r\n%s\r\n' % (len(arg), arg) for arg in args)

    def command(self, *args: bytes, timeout: float = 2.0) -> bytes:
        """Send one command; return the first line of its reply."""
        reply = self._exchange(self._request(args),
                               lambda reply: reply.endswith(b'\r\n'),
                               timeout)
        return reply.split(b'\r\n', 1)[0]

    def bulk(self, *args: bytes, timeout: float = 2.0) -> str:
        """Send one command answered by a bulk string; return its text."""
        reply = self._exchange(self._request(args), _bulk_read, timeout)
        head, _, body = reply.partition(b'\r\n')
        if head[:1] == b'-':
            raise RuntimeError('redis answered %r' % head)
        if not _bulk_read(reply):
            raise RuntimeError('redis closed: %r' % reply[:200])
        return body[:int(head[1:])].decode()

    def flush_all(self) -> None:
        """Delete every key of every database (``FLUSHALL``)."""
        reply = self.command(b'FLUSHALL')
        if reply != b'+OK':
            raise RuntimeError('redis FLUSHALL answered %r' % reply)

    def _cleanup(self) -> None:
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None


def _bulk_read(reply: bytes) -> bool:
    """True once ``reply`` holds an error line or a whole bulk string."""
    head, separator, body = reply.partition(b'\r\n')
    if not separator:
        return False
    return head[:1] == b'-' or (
        head[:1] == b'$' and len(body) >= int(head[1:]) + 2)


class RedisCluster(object):
    """``masters`` redis-server in cluster mode sharing the 16384 slots."""

    SLOTS = 16384

    def __init__(self, masters: int = 3, host: str = '127.0.0.1',
                 start_timeout: float = 20.0) -> None:
        self.host = host
        self.start_timeout = start_timeout
        # The bus port is chosen too: by default it is the port + 10000,
        # and a free port above 55535 would not do.
        self.bus_ports = process.free_ports(masters, host)
        self.servers = [RedisServer(host, extra_args=[
            '--cluster-enabled', 'yes', '--cluster-node-timeout', '5000',
            '--cluster-port', str(port)]) for port in self.bus_ports]

    @property
    def url(self) -> str:
        """``redis+cluster://host:port,...``."""
        return 'redis+cluster://' + ','.join(s.address for s in self.servers)

    def start(self) -> 'RedisCluster':
        """Start the masters, give each a range of slots, join them."""
        try:
            for server in self.servers:
                server.start()
            count = len(self.servers)
            for i, server in enumerate(self.servers):
                first = self.SLOTS * i // count
                last = self.SLOTS * (i + 1) // count - 1
                reply = server.command(b'CLUSTER', b'ADDSLOTSRANGE',
                                       b'%d' % first, b'%d' % last)
                if reply != b'+OK':
                    raise RuntimeError('CLUSTER ADDSLOTSRANGE: %r' % reply)
            for server, bus in zip(self.servers[1:], self.bus_ports[1:]):
                reply = self.servers[0].command(
                    b'CLUSTER', b'MEET', server.host.encode(),
                    b'%d' % server.port, b'%d' % bus)
                if reply != b'+OK':
                    raise RuntimeError('CLUSTER MEET: %r' % reply)
            self._wait_ok()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ok(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            states = [server.bulk(b'CLUSTER', b'INFO')
                      for server in self.servers]
            if all('cluster_state:ok' in s and 'cluster_known_nodes:%d'
                   % len(self.servers) in s for s in states):
                return
            if time.monotonic() > deadline:
                raise RuntimeError('redis cluster not ready in %.0f s: %s'
                                   % (self.start_timeout, states[0]))
            time.sleep(0.05)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def __enter__(self) -> 'RedisCluster':
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def make_certificate(directory: str, host: str = '127.0.0.1') -> tuple:
    """A self-signed certificate for ``host`` (an IP address), by openssl.

    Returns ``(certificate path, key path)``; the certificate is its own
    CA, so clients verify it with ``ssl_ca_certs`` = the certificate.
    """
    cert = os.path.join(directory, 'redis.crt')
    key = os.path.join(directory, 'redis.key')
    openssl = process.find_binary('openssl', 'openssl')
    subprocess.run(
        [openssl, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
         '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=' + host,
         '-addext', 'subjectAltName=IP:' + host,
         '-addext', 'basicConstraints=critical,CA:TRUE'],
        check=True, capture_output=True, timeout=60)
    return cert, key
