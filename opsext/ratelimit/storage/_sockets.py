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


"""Server health shared by the memcached and Redis backends.

Whether a server is marked down, and on what evidence. The protocols are
the client libraries' (pymemcache in :mod:`opsext.ratelimit.storage.
memcached`, redis-py in :mod:`opsext.ratelimit.storage.redis`).

**A timeout measures the server, not the caller.** Under load a thread
waits for the CPU (and the GIL) between any two lines; one timeout is no
evidence that the server is gone, so a server is marked down on a refused,
reset or closed connection, or on :data:`TIMEOUTS_TO_MARK_DOWN` timeouts
in a row, never on one.
"""

import socket
import threading
import time

from opsext import exceptions

#: Idle connections a backend keeps per server and process.
MAX_IDLE = 16
#: Timeouts in a row (no answer in between) that mark a server down. One
#: is no evidence: a loaded machine can delay one answer; a refused or
#: reset connection is, and marks it down at once.
TIMEOUTS_TO_MARK_DOWN = 3


def format_address(host: str, port: int) -> str:
    return '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)


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
