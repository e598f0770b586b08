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

"""A real memcached on a loopback port, for tests and demos.

Usage::

    with MemcachedServer() as memcached:
        conf = {'memcache_servers': memcached.address}

A server can be paused (SIGSTOP) and resumed, killed, and started again on
the same port, for tests of what clients do when it hangs or dies.

Each server is private to its user, so tests never see entries left behind
by another run (stale Swift account info in a shared memcached makes
account autocreate fail).  A missing ``memcached`` binary is an error, never
a reason to skip: install it with ``apt-get install memcached``.
"""

import logging
import os
import socket
import tempfile
import time
from typing import Optional

from opsext.testing import process

LOG = logging.getLogger(__name__)


def find_memcached(binary: str = 'memcached') -> str:
    """Return the path of ``binary``, or raise RuntimeError naming it."""
    return process.find_binary(binary, 'memcached')


class MemcachedServer(process.FreezableServer):
    """A memcached subprocess listening on ``host`` (TCP only)."""

    NAME = 'memcached'

    def __init__(self, host: str = '127.0.0.1', port: Optional[int] = None,
                 binary: str = 'memcached', memory_mb: int = 64,
                 log_path: Optional[str] = None,
                 start_timeout: float = 10.0,
                 tls: Optional[tuple] = None) -> None:
        """Describe the server; :meth:`start` runs it.

        :param tls: ``(certificate, key, port)``: also listen for TLS
            (``-Z``) on ``port``; ``port`` stays plain, for the harness.
        """
        self.tls = tls
        self.host = host
        self.port = port
        self.binary = binary
        self.memory_mb = memory_mb
        self.start_timeout = start_timeout
        self._log_path = log_path
        self._own_log = False
        self._process: Optional[process.ManagedProcess] = None
        self._paused = False

    @property
    def address(self) -> str:
        """``host:port``, as Swift's ``memcache_servers`` wants it."""
        if self.port is None:
            raise RuntimeError('memcached has not been started')
        return '%s:%d' % (self.host, self.port)

    @property
    def log_path(self) -> Optional[str]:
        return self._log_path

    @property
    def pid(self) -> Optional[int]:
        """The process id while running, else None."""
        return self._process.pid if self._process is not None else None

    def start(self) -> 'MemcachedServer':
        """Start memcached and wait until it answers ``version``.

        A server that was stopped starts again on the same port.
        """
        if self._process is not None:
            raise RuntimeError('memcached was already started')
        path = find_memcached(self.binary)
        if self._log_path is None:
            fd, self._log_path = tempfile.mkstemp(prefix='memcached-',
                                                  suffix='.log')
            os.close(fd)
            self._own_log = True
        self._start_on_a_port(path)
        return self

    def _start_once(self, path: str) -> None:
        argv = [path, '-l', self.host, '-p', str(self.port), '-U', '0',
                '-m', str(self.memory_mb)]
        if self.tls is not None:
            cert, key, tls_port = self.tls
            argv[1:3] = ['-l', 'notls:%s:%d' % (self.host, self.port),
                         '-l', '%s:%d' % (self.host, tls_port), '-Z', '-o',
                         'ssl_chain_cert=%s,ssl_key=%s' % (cert, key)]
        if os.geteuid() == 0:
            # memcached refuses to run as root without an explicit user.
            argv += ['-u', 'root']
        self._process = process.ManagedProcess('memcached', argv,
                                               self._log_path)
        self._process.start()
        deadline = time.monotonic() + self.start_timeout
        while True:
            if not self._process.running():
                if 'Address already in use' in self._process.log_text():
                    raise process.PortInUse()
                raise RuntimeError('memcached failed to start: %s'
                                   % self._process.describe_exit())
            try:
                version = self.version()
            except OSError:
                version = None
            if version:
                LOG.debug('memcached %s is up at %s', version, self.address)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    'memcached at %s did not answer within %.0f s; last '
                    'lines of %s:\n%s' % (self.address, self.start_timeout,
                                          self._log_path,
                                          self._process.log_tail()))
            time.sleep(0.02)

    def _command(self, command: bytes, timeout: float = 2.0) -> bytes:
        """Send one text-protocol command and return its one-line reply."""
        with socket.create_connection((self.host, self.port),
                                      timeout=timeout) as sock:
            sock.sendall(command + b'\r\n')
            reply = b''
            while not reply.endswith(b'\r\n'):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        return reply.strip()

    def version(self) -> Optional[str]:
        """The server's version string, or None if the reply is not one."""
        reply = self._command(b'version')
        if reply.startswith(b'VERSION '):
            return reply.split(b' ', 1)[1].decode('ascii', 'replace')
        return None

    def flush_all(self) -> None:
        """Invalidate every item (memcached ``flush_all``)."""
        reply = self._command(b'flush_all')
        if reply != b'OK':
            raise RuntimeError('memcached flush_all answered %r' % reply)

    def terminate(self) -> None:
        """Ask memcached to exit (SIGTERM) without waiting; see stop()."""
        if self._process is not None:
            if self._paused and self._process.running():
                # A stopped process acts on SIGTERM only once continued.
                self.resume()
            self._process.terminate()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop memcached: SIGTERM, then SIGKILL after ``timeout``.

        memcached takes about a second to act on SIGTERM (its clock ticks
        once a second); :meth:`terminate` first lets callers overlap that.
        """
        if self._process is not None:
            self.terminate()
            self._process.wait_or_kill(timeout)
            self._process = None
            self._paused = False
        if self._own_log and self._log_path:
            try:
                os.unlink(self._log_path)
            except FileNotFoundError:
                pass
            self._log_path = None
            self._own_log = False

    def __enter__(self) -> 'MemcachedServer':
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
