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

import os
import tempfile
from typing import Optional

from opsext.allinone import process


class MemcachedServer(process.LoopbackServer):
    """A memcached subprocess listening on ``host`` (TCP only).

    ``address`` is ``host:port``, as Swift's ``memcache_servers`` wants it.
    memcached takes about a second to act on SIGTERM (its clock ticks once
    a second): :meth:`terminate` several servers, then :meth:`stop` them.
    """

    NAME = 'memcached'
    PACKAGE = 'memcached'

    def __init__(self, host: str = '127.0.0.1', port: Optional[int] = None,
                 binary: str = 'memcached', memory_mb: int = 64,
                 log_path: Optional[str] = None,
                 start_timeout: float = 10.0,
                 tls: Optional[tuple] = None) -> None:
        """Describe the server; :meth:`start` runs it.

        :param tls: ``(certificate, key, port)``: also listen for TLS
            (``-Z``) on ``port``; ``port`` stays plain, for the harness.
        """
        super().__init__(host, port, binary, start_timeout)
        self.tls = tls
        self.memory_mb = memory_mb
        self._log_path = log_path
        self._own_log = False

    @property
    def log_path(self) -> Optional[str]:
        return self._log_path

    def _prepare(self) -> None:
        if self._log_path is None:
            fd, self._log_path = tempfile.mkstemp(prefix='memcached-',
                                                  suffix='.log')
            os.close(fd)
            self._own_log = True

    def _argv(self, path: str) -> list[str]:
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
        return argv

    def _answers(self) -> bool:
        return bool(self.version())

    def _command(self, command: bytes, timeout: float = 2.0) -> bytes:
        """Send one text-protocol command and return its one-line reply."""
        return self._exchange(command + b'\r\n',
                              lambda reply: reply.endswith(b'\r\n'),
                              timeout).strip()

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

    def _cleanup(self) -> None:
        if self._own_log and self._log_path:
            try:
                os.unlink(self._log_path)
            except FileNotFoundError:
                pass
            self._log_path = None
            self._own_log = False
