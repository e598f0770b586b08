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


"""Connections and server state shared by the memcached and Redis backends.

A connection is a socket with a read buffer and deadline-bounded reads; a
server keeps a small pool of idle connections and whether it is marked
down. The protocols are in :mod:`opsext.ratelimit.storage.memcached` and
:mod:`opsext.ratelimit.storage.redis`.

The hot path is kept short: an idle connection is checked for staleness
with one non-blocking ``poll`` (no exception, no change of the socket's
timeout), and the socket timeout is set once per call, when sending, then
only lowered again before a read if the deadline has come more than
:data:`TIMEOUT_SLACK` closer since.

**A timeout measures the server, not the caller.** Under load a thread
waits for the CPU (and the GIL) between any two lines; a deadline that
starts before the request is built, or a send refused because that wait
used the deadline up, blames the server for the caller's stall. So the
deadline of an answer starts once its request is handed to the kernel
(:meth:`Connection.send` returns it), connecting has a bound of its own,
and a read past the deadline still takes what has arrived.
"""

import os
import select
import socket
import ssl
import threading
import time

from opsext import exceptions

MAX_IDLE = 16
#: Timeouts in a row (no answer in between) that mark a server down. One
#: is no evidence: a loaded machine can delay one answer; a refused or
#: reset connection is, and marks it down at once.
TIMEOUTS_TO_MARK_DOWN = 3
#: How much later than the deadline a read may give up (seconds): the
#: socket's timeout is not set again before every read for less.
TIMEOUT_SLACK = 0.001

# eventlet's monkey-patching removes select.poll; a poll with a zero
# timeout never blocks, so the original one is fine when we have it.
_poll = getattr(select, 'poll', None)
_POLL_STALE = (getattr(select, 'POLLIN', 1) | getattr(select, 'POLLPRI', 2)
               | getattr(select, 'POLLERR', 8) | getattr(select, 'POLLHUP', 16)
               | getattr(select, 'POLLNVAL', 32))


def format_address(host: str, port: int) -> str:
    return '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)


class Garbage(Exception):
    """An answer the server does not give: the connection is dropped."""


class Connection(object):
    """One socket to one server, with a read buffer."""

    __slots__ = ('sock', 'buf', 'new', '_timeout', '_poll')

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        #: True until the caller has had one full answer on it (the Redis
        #: backend authenticates and selects its database on a new one).
        self.new = True
        self._timeout = sock.gettimeout()
        self._poll = None
        if _poll is not None:
            try:
                self._poll = _poll()
                self._poll.register(sock.fileno(), _POLL_STALE)
            except (OSError, ValueError, TypeError):
                self._poll = None

    def stale(self) -> bool:
        """True if the idle socket was closed or has unread bytes."""
        if self.buf:
            return True
        if self._poll is not None:
            try:
                # Anything to read (EOF or bytes nobody asked for), or an
                # error: not a connection to send a request on.
                return bool(self._poll.poll(0))
            except OSError:
                return True
        try:
            self.sock.settimeout(0.0)
            self._timeout = 0.0
            self.sock.recv(1, socket.MSG_PEEK)
            return True
        except BlockingIOError:
            return False
        except OSError:
            return True

    def send(self, data: bytes, timeout: float) -> float:
        """Send ``data``; return the deadline of its answer.

        The server has ``timeout`` seconds from the moment the request
        left: however long this thread waited before, it is not the
        server's time.
        """
        if self._timeout != timeout:
            self.sock.settimeout(timeout)
            self._timeout = timeout
        self.sock.sendall(data)
        return time.monotonic() + timeout

    def fill(self, deadline: float) -> None:
        """Read what has come, waiting until ``deadline`` at most."""
        chunk = None
        left = deadline - time.monotonic()
        if left > 0:
            if self._timeout > left + TIMEOUT_SLACK or not self._timeout:
                self.sock.settimeout(left)
                self._timeout = left
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                pass
        if chunk is None:
            # Past the deadline, take what has arrived anyway: under load
            # (or eventlet) the answer may have come in time while this
            # thread waited for the CPU, not for the server.
            self.sock.settimeout(0.0)
            self._timeout = 0.0
            try:
                chunk = self.sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError):
                raise socket.timeout('timed out') from None
        if not chunk:
            raise ConnectionResetError('connection closed by the server')
        self.buf += chunk

    def exchange(self, request: bytes, timeout: float, done) -> bytes:
        """Send ``request``; read until ``done(answer)``; return it.

        For rare calls (statistics), not the counting path.
        """
        deadline = self.send(request, timeout)
        while not done(bytes(self.buf)):
            self.fill(deadline)
            if len(self.buf) > 1 << 20:
                raise Garbage('answer too long: %r...' % bytes(self.buf[:80]))
        answer = bytes(self.buf)
        del self.buf[:]
        return answer

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class Health(object):
    """Whether a server (or a group a client speaks to) is marked down."""

    def __init__(self, kind: str, name: str, retry_interval: float) -> None:
        self.kind = kind
        self.name = name
        self.retry_interval = retry_interval
        self.down_until = 0.0
        self.down_reason = ''
        #: Calls that timed out since the last answer.
        self.timeouts = 0
        self._lock = threading.Lock()

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
                    '%s %s is marked down for %.2f s more after: %s'
                    % (self.kind, self.name, self.down_until - now,
                       self.down_reason))
            # This caller probes the server; until it answers, the others
            # keep failing fast rather than all waiting for a timeout.
            self.down_until = now + self.retry_interval

    def mark_up(self) -> None:
        """The server answered: forget its failures."""
        if self.down_until:
            self.down_until = 0.0
        if self.timeouts:
            self.timeouts = 0

    def mark_down(self, reason: str) -> None:
        self.down_until = time.monotonic() + self.retry_interval
        self.down_reason = reason
        self.close()

    def close(self) -> None:
        """Drop the connections of a server marked down (none here)."""

    def failed(self, exc: OSError, timeout: float) -> exceptions.StorageError:
        """Mark down on evidence after ``exc``; return the error to raise.

        Evidence is a connection refused, reset or closed, or
        :data:`TIMEOUTS_TO_MARK_DOWN` timeouts in a row, or a timeout of
        the call that probed a server marked down.
        """
        if isinstance(exc, socket.timeout):
            reason = 'timed out (timeout %.3f s)' % timeout
            with self._lock:
                self.timeouts += 1
                timeouts = self.timeouts
            if timeouts < TIMEOUTS_TO_MARK_DOWN and not self.down_until:
                return exceptions.StorageError(
                    '%s %s failed: %s, %d in a row (put aside after %d)'
                    % (self.kind, self.name, reason, timeouts,
                       TIMEOUTS_TO_MARK_DOWN))
        else:
            reason = '%s: %s' % (type(exc).__name__, exc)
        self.mark_down(reason)
        return exceptions.StorageError(
            '%s %s failed: %s; marked down for %.2f s'
            % (self.kind, self.name, reason, self.retry_interval))


class Server(Health):
    """A server: its idle connections and whether it is down."""

    def __init__(self, kind: str, host: str, port: int,
                 retry_interval: float, ssl_context=None) -> None:
        """:param ssl_context: an ``ssl.SSLContext`` to speak TLS with."""
        super().__init__(kind, format_address(host, port), retry_interval)
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self._idle: list[Connection] = []
        self._pid = os.getpid()

    def acquire(self, timeout: float) -> Connection:
        """An idle connection still open, or a new one.

        :param timeout: the bound, in seconds, on connecting.
        """
        if self._pid != os.getpid():
            # A forked worker must not share its parent's sockets (answers
            # would go to whichever process reads first): close its copies.
            self._pid = os.getpid()
            self.close()
        while self._idle:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                break
            if not conn.stale():
                return conn
            conn.close()
        sock = socket.create_connection((self.host, self.port),
                                        timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            try:
                # The handshake, bounded by the same timeout.
                sock = self.ssl_context.wrap_socket(
                    sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
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
