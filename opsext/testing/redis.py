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
Redis client library.
"""

import logging
import os
import shutil
import socket
import tempfile
import time
from typing import Optional

from opsext.testing import process

LOG = logging.getLogger(__name__)


def find_redis_server(binary: str = 'redis-server') -> str:
    """Return the path of ``binary``, or raise RuntimeError naming it."""
    return process.find_binary(binary, 'redis-server')


class RedisServer(process.FreezableServer):
    """A redis-server subprocess listening on ``host`` (TCP only)."""

    NAME = 'redis-server'

    def __init__(self, host: str = '127.0.0.1', port: Optional[int] = None,
                 binary: str = 'redis-server',
                 start_timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.binary = binary
        self.start_timeout = start_timeout
        self._workdir: Optional[str] = None
        self._process: Optional[process.ManagedProcess] = None
        self._paused = False

    @property
    def address(self) -> str:
        """``host:port``."""
        if self.port is None:
            raise RuntimeError('redis-server has not been started')
        return '%s:%d' % (self.host, self.port)

    @property
    def url(self) -> str:
        """``redis://host:port``."""
        return 'redis://%s' % self.address

    @property
    def pid(self) -> Optional[int]:
        """The process id while running, else None."""
        return self._process.pid if self._process is not None else None

    @property
    def log_path(self) -> Optional[str]:
        if self._workdir is None:
            return None
        return os.path.join(self._workdir, 'redis.log')

    def start(self) -> 'RedisServer':
        """Start redis-server and wait until it answers ``PING``.

        A server that was stopped or killed starts again on the same port,
        empty.
        """
        if self._process is not None:
            raise RuntimeError('redis-server was already started')
        path = find_redis_server(self.binary)
        if self._workdir is None:
            self._workdir = tempfile.mkdtemp(prefix='redis-')
        self._start_on_a_port(path)
        return self

    def _start_once(self, path: str) -> None:
        argv = [path, '--bind', self.host, '--port', str(self.port),
                '--save', '', '--appendonly', 'no', '--protected-mode', 'no',
                '--daemonize', 'no', '--dir', self._workdir]
        self._process = process.ManagedProcess('redis-server', argv,
                                               self.log_path)
        self._process.start()
        deadline = time.monotonic() + self.start_timeout
        while True:
            if not self._process.running():
                if 'Address already in use' in self._process.log_text():
                    raise process.PortInUse()
                raise RuntimeError('redis-server failed to start: %s'
                                   % self._process.describe_exit())
            try:
                reply = self.command(b'PING', timeout=1.0)
            except OSError:
                reply = None
            if reply == b'+PONG':
                LOG.debug('redis-server is up at %s', self.address)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    'redis-server at %s did not answer PING within %.0f s '
                    '(last reply %r); last lines of %s:\n%s'
                    % (self.address, self.start_timeout, reply,
                       self.log_path, self._process.log_tail()))
            time.sleep(0.02)

    def command(self, *args: bytes, timeout: float = 2.0) -> bytes:
        """Send one command; return the first line of its reply."""
        request = b'*%d\r\n' % len(args) + b''.join(
            b'$%d\r\n%s\r\n' % (len(arg), arg) for arg in args)
        with socket.create_connection((self.host, self.port),
                                      timeout=timeout) as sock:
            sock.sendall(request)
            reply = b''
            while not reply.endswith(b'\r\n'):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        return reply.split(b'\r\n', 1)[0]

    def flush_all(self) -> None:
        """Delete every key of every database (``FLUSHALL``)."""
        reply = self.command(b'FLUSHALL')
        if reply != b'+OK':
            raise RuntimeError('redis FLUSHALL answered %r' % reply)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop redis-server: SIGTERM, then SIGKILL after ``timeout``."""
        if self._process is not None:
            if self._paused and self._process.running():
                # A stopped process acts on SIGTERM only once continued.
                self.resume()
            self._process.stop(timeout)
            self._process = None
            self._paused = False
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> 'RedisServer':
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
