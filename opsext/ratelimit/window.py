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


"""The sliding-window counter: one decision from two fixed-window counts.

For a rate of ``limit`` requests per ``window`` seconds, the backend keeps
one counter per fixed window; the number of requests in the sliding window
that ends now is estimated as::

    previous * (1 - elapsed / window) + current

(Cloudflare's estimate: exact when traffic in the previous window was
even, never more than ``limit`` accepted within any single fixed window).
State is two integers per key whatever the limit, and the counters only
ever grow by atomic increments, so any number of workers sharing a
backend never accept more than ``limit`` in a fixed window between them.

Requests over the limit are counted too: a client that keeps sending while
limited stays limited; one that waits ``Retry-After`` seconds gets in.
"""

import math
import re
from typing import NamedTuple

from opsext.ratelimit.storage.base import WindowCount

PERIODS = {'second': 1, 'minute': 60, 'hour': 3600, 'day': 86400}
_RATE = re.compile(r'\A\s*([1-9][0-9]{0,9})\s*/\s*([1-9][0-9]{0,5})?\s*'
                   r'(second|minute|hour|day)s?\s*\Z', re.IGNORECASE)


class Rate(NamedTuple):
    """``limit`` requests per ``window`` seconds."""

    limit: int
    window: int

    def __str__(self) -> str:
        for name, seconds in sorted(PERIODS.items(), key=lambda i: -i[1]):
            if self.window % seconds == 0:
                count = self.window // seconds
                return '%d/%s%s' % (self.limit, count if count > 1 else '',
                                    name)
        return '%d/%dsecond' % (self.limit, self.window)


def parse_rate(text: str) -> Rate:
    """Parse ``20/second``, ``100/minute``, ``5000/hour``, ``1000/10minute``.

    :raises ValueError: naming the bad rate.
    """
    match = _RATE.match(text)
    if not match:
        raise ValueError('%r is not a rate such as 20/second or '
                         '100/10minute' % text)
    count = int(match.group(2) or 1)
    return Rate(int(match.group(1)), count * PERIODS[match.group(3).lower()])


def parse_rates(text: str) -> tuple[Rate, ...]:
    """Parse ``100/minute;5000/hour`` (``;`` or ``,`` separated).

    :raises ValueError: naming the bad rate.
    """
    parts = [p for p in re.split(r'[;,]', text) if p.strip()]
    if not parts:
        raise ValueError('no rate given')
    rates = tuple(parse_rate(p) for p in parts)
    windows = [r.window for r in rates]
    if len(set(windows)) != len(windows):
        raise ValueError('two rates with the same window in %r' % text)
    return rates


class Decision(NamedTuple):
    """The outcome of one rate for one request."""

    allowed: bool
    remaining: int     # requests left in the sliding window, after this one
    reset: int         # seconds until the window has fully slid past
    retry_after: int   # seconds to wait when not allowed, else 0


def decide(count: WindowCount, rate: Rate) -> Decision:
    """Decide one request from the counts its hit left in the backend."""
    limit, window = rate
    current, previous, elapsed = count
    if elapsed < 0.0:
        elapsed = 0.0
    elif elapsed > window:
        elapsed = float(window)
    estimate = previous * (1.0 - elapsed / window) + current
    reset = math.ceil(window - elapsed) or 1
    if estimate <= limit:
        return Decision(True, math.floor(limit - estimate), reset, 0)
    return Decision(False, 0, reset,
                    _retry_after(count, limit, window, elapsed))


def _retry_after(count: WindowCount, limit: int, window: int,
                 elapsed: float) -> int:
    """Seconds until one more request would be allowed, if none is sent."""
    previous, current = count.previous, count.current
    if current + 1 <= limit and previous > 0:
        # Still in this window, once the previous one has faded enough.
        wait = window * (previous - (limit - current - 1)) / previous \
            - elapsed
    else:
        # In the next window, where this window's count fades instead.
        offset = 0.0
        if current > limit - 1:
            offset = window * (current - (limit - 1)) / current
        wait = window - elapsed + offset
    # Integer numerators keep exact quotients exact (3600 * 2 / 3 is 2400,
    # 3600 * (1 - 1/3) is 2400.0000000000005); the tolerance absorbs the
    # rounding left in elapsed, so a whole-second wait is not rounded up.
    return max(1, int(math.ceil(wait - 1e-9)))
