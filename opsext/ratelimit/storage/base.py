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


"""What a rate-limit storage backend does: count hits in time windows.

The algorithm (:mod:`opsext.ratelimit.window`) needs, per counted key, the
number of hits in the current fixed window (this hit included) and in the
previous one, and how far into the current window we are. A backend
provides exactly that, atomically per counter (an atomic increment, never
get-then-set), for all the keys of one request, in as few round trips as
the protocol allows (one on Redis; memcached's text protocol through
pymemcache needs an ``incr`` per key).

Counter names: ``<key>:<window index>`` where the index is
``floor(now / window)``; counters expire after two windows, so state is
O(1) per key.
"""

import abc
from typing import NamedTuple, Optional, Sequence


class Hit(NamedTuple):
    """One counter to increment: a namespaced key and its window."""

    key: str
    window: int  # seconds, >= 1


class WindowCount(NamedTuple):
    """The state of one key after a hit."""

    current: int    # hits in the current window, this one included
    previous: int   # hits in the previous window
    elapsed: float  # seconds since the current window began


def ttl(window: int) -> int:
    """How long a counter must live: its window and the next one."""
    return 2 * window + 1


class Storage(abc.ABC):
    """A place to count hits, shared by every worker that points at it."""

    #: True when the backend keeps time itself (``now`` is then ignored),
    #: so that the proxies' clocks do not matter.
    server_clock = False

    @abc.abstractmethod
    def hit(self, hits: Sequence[Hit],
            now: Optional[float] = None) -> list[WindowCount]:
        """Count one hit on every key; return their counts, in order.

        As few round trips as the backend allows for all of ``hits``.

        :param now: the time (epoch seconds) on the caller's clock, for
            backends without a clock of their own.
        :raises opsext.exceptions.StorageError: on any failure or timeout.
        """

    def window_problem(self, window: int) -> Optional[str]:
        """Why this backend cannot count a ``window`` (seconds), or None.

        Checked for every rate when the filter loads, so that a window the
        backend would drop or refuse is an error at start-up, not counters
        that silently never count.
        """
        return None

    def evictions(self) -> Optional[int]:
        """Items the servers evicted since they started, or None.

        An evicted counter starts again from zero: its key gets a fresh
        budget. Neither memcached nor Redis says which items went, but both
        count them (``stats`` ``evictions``, ``INFO`` ``evicted_keys``); a
        rise tells the operator counters may have been lost. None when the
        backend cannot tell (memory, or every server down).

        :raises opsext.exceptions.StorageError: on a failure.
        """
        return None

    def close(self) -> None:
        """Release connections; the backend may be used again after."""
