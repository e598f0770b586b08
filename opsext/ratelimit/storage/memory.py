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


"""``memory://``: counters in this process.

Each worker process counts on its own: with N API workers a client gets N
times the limit. Use it for a single-process service, for tests, and as the
local fallback while a shared backend is down.
"""

import threading
import time
from typing import Optional, Sequence

from opsext.ratelimit.storage import base


class MemoryStorage(base.Storage):
    """Counters in a dict, guarded by a lock; expired ones are swept."""

    def __init__(self, clock=None) -> None:
        self._clock = clock or time.time
        self._lock = threading.Lock()
        # (key, window index) -> [count, expires]
        self._counters: dict[tuple, list] = {}
        self._next_sweep = 0.0

    def hit(self, hits: Sequence[base.Hit],
            now: Optional[float] = None) -> list[base.WindowCount]:
        now = self._clock() if now is None else now
        counters = self._counters
        results = []
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            for key, window in hits:
                index = int(now // window)
                counter = counters.get((key, index))
                if counter is None or counter[1] <= now:
                    counter = counters[key, index] = [0, now + 2 * window + 1]
                current = counter[0] = counter[0] + 1
                previous = counters.get((key, index - 1))
                results.append(base.WindowCount(
                    current,
                    previous[0] if previous and previous[1] > now else 0,
                    now - index * window))
        return results

    def _sweep(self, now: float) -> None:
        expired = [name for name, (_, expires) in self._counters.items()
                   if expires <= now]
        for name in expired:
            del self._counters[name]
        self._next_sweep = now + 60

    def __len__(self) -> int:
        return len(self._counters)
