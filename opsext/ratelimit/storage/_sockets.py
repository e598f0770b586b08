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


"""Connections and server state for the memcached backend.

A connection is a socket with a read buffer and deadline-bounded reads; a
server keeps a small pool of idle connections and whether it is marked
down. The protocol itself is in :mod:`opsext.ratelimit.storage.memcached`.
"""

import os
import socket
import threading
import time

from opsext import exceptions

MAX_IDLE = 16
MAX_LINE = 4096


def format_address(host: str, port: int) -> str:
    return '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)


class Garbage(Exception):
    """An answer memcached does not give: the connection is dropped."""


class Connection(object):
    """One socket to one server, with a read buffer."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray()

    def stale(self) -> bool:
        """True if the idle socket was closed or has unread bytes."""
        if self._buf:
            return True
        try:
            self.sock.settimeout(0.0)
            # Returns b'' on EOF, or bytes nobody asked for: both stale.
            self.sock.recv(1, socket.MSG_PEEK)
            return True
        except BlockingIOError:
            return False
        except OSError:
            return True

    def send(self, data: bytes, deadline: float) -> None:
        self.sock.settimeout(remaining(deadline))
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> None:
        chunk = None
        left = deadline - time.monotonic()
        if left > 0:
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                pass
        if chunk is None:
            # Past the deadline, take what has arrived anyway: under load
            # (or eventlet) the answer may have come in time while this
            # thread waited for the CPU, not for the server.
            self.sock.settimeout(0.0)
            try:
                chunk = self.sock.recv(65536)
            except BlockingIOError:
                raise socket.timeout('timed out') from None
        if not chunk:
            raise ConnectionResetError('connection closed by the server')
        self._buf += chunk

    def readline(self, deadline: float) -> bytes:
        while True:
            end = self._buf.find(b'\r\n')
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[:end + 2]
                return line
            if len(self._buf) > MAX_LINE:
                raise Garbage('line too long: %r...' % bytes(self._buf[:80]))
            self._fill(deadline)

    def read_exact(self, size: int, deadline: float) -> bytes:
        while len(self._buf) < size:
            self._fill(deadline)
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout('timed out')
    return left


class Server(object):
    """A memcached server: its idle connections and whether it is down."""

    def __init__(self, host: str, port: int, retry_interval: float) -> None:
        self.host = host
        self.port = port
        self.name = format_address(host, port)
        self.retry_interval = retry_interval
        self.down_until = 0.0
        self.down_reason = ''
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def check_up(self) -> None:
        """Raise StorageError while down; let one caller probe after."""
        if not self.down_until:
            return
        now = time.monotonic()
        with self._lock:
            if not self.down_until:
                return
            if now < self.down_until:
                raise exceptions.StorageError(
                    'memcached %s is marked down for %.2f s more after: %s'
                    % (self.name, self.down_until - now, self.down_reason))
            # This caller probes the server; until it answers, the others
            # keep failing fast rather than all waiting for a timeout.
            self.down_until = now + self.retry_interval

    def mark_up(self) -> None:
        if self.down_until:
            self.down_until = 0.0

    def mark_down(self, reason: str) -> None:
        self.down_until = time.monotonic() + self.retry_interval
        self.down_reason = reason
        self.close()

    def acquire(self, deadline: float) -> Connection:
        """An idle connection still open, or a new one."""
        if self._pid != os.getpid():
            # A forked worker must not share its parent's sockets (answers
            # would go to whichever process reads first): close its copies.
            self._pid = os.getpid()
            self.close()
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                break
            if not conn.stale():
                return conn
            conn.close()
        sock = socket.create_connection((self.host, self.port),
                                        timeout=remaining(deadline))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return Connection(sock)

    def release(self, conn: Connection) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
