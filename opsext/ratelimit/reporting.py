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


"""What the rate-limit filter tells operators: log lines and counters.

The log must stay readable under a flood, so nothing here writes a line
per request:

* **Limited requests**: the first 429 (or dry-run "would limit") of an
  interval is logged in full; the ones after it are summed per rule, and
  the sums are logged when the interval is over.
* **Backend failures**: one warning per interval with the number of
  failures since the last one, and one line when the backend answers
  again, saying how long it was out and how many requests were counted in
  memory or refused meanwhile.
* **Evictions**: once per interval the backend's own count of evicted
  items is read; a rise is warned about (counters may have been reset)
  and added to the ``evictions`` counter.
* **Counters**: ``allowed``, ``limited``, ``dry_run_limited``,
  ``backend_errors``, ``fallback`` and ``evictions``, sent to statsd
  (through Swift's logger inside a Swift proxy, or through
  :class:`StatsdClient` with Swift's ``log_statsd_*`` options in any
  other paste pipeline), else summed into one log line per interval.

Every line begins with the filter's stage (its paste section), and text
that comes from a request (path, method, key) is escaped by
:func:`escape`, so a client cannot write a line of its own into the log.
"""

import socket
import threading
import time
from typing import Mapping, Optional

from oslo_log import log as logging

LOG = logging.getLogger(__name__)
#: The longest request-derived text put in a log line.
MAX_LOGGED = 200
COUNTERS = ('allowed', 'limited', 'dry_run_limited', 'backend_errors',
            'fallback', 'evictions')


def escape(text: str, limit: int = MAX_LOGGED) -> str:
    """``text`` safe for one log line: no line breaks, no control bytes.

    Backslashes, control and non-printable characters are written as
    Python escapes (``\\n``, ``\\x1b``...), and the text is cut at
    ``limit`` characters (``...`` marks the cut).
    """
    if text.isprintable() and '\\' not in text and len(text) <= limit:
        return text
    escaped = text.encode('unicode_escape').decode('ascii')
    if len(escaped) > limit:
        escaped = escaped[:limit] + '...'
    return escaped


class StatsdClient:
    """Counters to a statsd server over UDP, as Swift's StatsdClient sends.

    Models ``swift/common/statsd_client.py`` (``StatsdClient.increment``:
    ``<prefix>.<metric>:1|c``), for paste pipelines outside Swift, with
    the same ``log_statsd_host``, ``log_statsd_port`` and
    ``log_statsd_metric_prefix`` options. The address is resolved once;
    a send that fails is dropped, as statsd's are.
    """

    def __init__(self, host: str, port: int, prefix: str) -> None:
        info = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0]
        self._family, self._address = info[0], info[4]
        self._prefix = prefix.strip('.') + '.' if prefix.strip('.') else ''
        self._sock: Optional[socket.socket] = None

    def increment(self, metric: str) -> None:
        self.update_stats(metric, 1)

    def update_stats(self, metric: str, amount: int) -> None:
        if self._sock is None:
            self._sock = socket.socket(self._family, socket.SOCK_DGRAM)
        try:
            self._sock.sendto(('%s%s:%d|c' % (self._prefix, metric, amount)
                               ).encode('utf-8'), self._address)
        except OSError:
            pass


def statsd_from_conf(conf: Mapping, stage: str) -> Optional[StatsdClient]:
    """The statsd client Swift's ``log_statsd_*`` options ask for, if any.

    Metric names are ``[<log_statsd_metric_prefix>.]<stage>.<counter>``,
    so two stages of one pipeline never share a name.

    :raises ValueError: naming the bad option.
    """
    host = str(conf.get('log_statsd_host', '')).strip()
    if not host:
        return None
    port = conf.get('log_statsd_port', 8125)
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise ValueError('log_statsd_port: not a number: %r' % (port,)) \
            from None
    if not 1 <= port <= 65535:
        raise ValueError('log_statsd_port: must be from 1 to 65535, got %d'
                         % port)
    prefix = str(conf.get('log_statsd_metric_prefix', '')).strip('.')
    try:
        return StatsdClient(host, port, '.'.join(p for p in (prefix, stage)
                                                 if p))
    except OSError as exc:
        raise ValueError('log_statsd_host: cannot resolve %r: %s'
                         % (host, exc)) from None


class Counters:
    """The filter's counters: to statsd when there is one, else the log."""

    def __init__(self, stage: str, interval: float, statsd=None) -> None:
        self._stage = stage
        self._interval = interval
        self._statsd = statsd
        self._counts: dict = {}
        self._next = time.monotonic() + interval

    def increment(self, name: str, logger=LOG, amount: int = 1) -> None:
        if self._statsd is not None:
            if amount == 1:
                self._statsd.increment(name)
            else:
                self._statsd.update_stats(name, amount)
            return
        self._counts[name] = self._counts.get(name, 0) + amount
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self._interval
            counts, self._counts = self._counts, {}
            logger.info('%s: ratelimit counters for the last %ds: %s',
                        self._stage, self._interval, ', '.join(
                            '%s=%d' % item for item in sorted(counts.items())))


class LimitedLog:
    """The log of limited requests: one in full, then sums, per interval."""

    def __init__(self, stage: str, interval: float) -> None:
        self._stage = stage
        self._interval = interval
        self._next = 0.0
        self._counts: dict = {}

    def record(self, logger, what: str, rule: str, rate: str, key: str,
               method: str, path: str, retry_after: int) -> None:
        """Log one limited request, or add it to this interval's sums.

        :param what: ``limited`` or ``dry_run, would limit``.
        """
        now = time.monotonic()
        if now < self._next:
            name = (what, rule)
            self._counts[name] = self._counts.get(name, 0) + 1
            return
        self.flush(logger)
        self._next = now + self._interval
        logger.info('%s: %s: rule %s rate %s exceeded for %s (%s %s); retry '
                    'after %ds; more in the next %ds are summed',
                    self._stage, what, rule, rate, escape(key),
                    escape(method, 32), escape(path), retry_after,
                    self._interval)

    def tick(self, logger) -> None:
        """Log the sums of an interval that is over."""
        if self._counts and time.monotonic() >= self._next:
            self.flush(logger)

    def flush(self, logger) -> None:
        if not self._counts:
            return
        counts, self._counts = self._counts, {}
        logger.info('%s: %d more requests over a rate in the last %ds: %s',
                    self._stage, sum(counts.values()), self._interval,
                    ', '.join('rule %s %s=%d' % (rule, what, count)
                              for (what, rule), count
                              in sorted(counts.items())))


class BackendHealth:
    """Warnings about the backend: once per interval, and on recovery."""

    def __init__(self, stage: str, backend: str, interval: float,
                 fail_closed: bool) -> None:
        self._stage = stage
        self._backend = backend  # already redacted
        self._interval = interval
        self._outcome = ('answered 503 (fail_closed)' if fail_closed
                         else 'counted per worker in memory (fail open)')
        self._since: Optional[float] = None
        self._failures = 0
        self._unreported = 0
        self._next_warning = 0.0
        # Threads of one worker fail and recover together: one line each.
        self._lock = threading.Lock()

    @property
    def failing(self) -> bool:
        return self._since is not None

    def failed(self, logger, reason: str) -> None:
        """Count one failed call; warn if none was this interval."""
        now = time.monotonic()
        with self._lock:
            if self._since is None:
                self._since = now
            self._failures += 1
            self._unreported += 1
            if now < self._next_warning:
                return
            self._next_warning = now + self._interval
            unreported, self._unreported = self._unreported, 0
        logger.warning('%s: ratelimit backend %s failed %d time(s) since the '
                       'last warning, last: %s; requests are %s (this '
                       'warning repeats at most every %ds)', self._stage,
                       self._backend, unreported, reason,
                       self._outcome, self._interval)

    def recovered(self, logger) -> None:
        """The backend answered: say so once after a failure."""
        with self._lock:
            since, failures = self._since, self._failures
            if since is None:
                return
            self._since = None
            self._failures = 0
            self._unreported = 0
            self._next_warning = 0.0
        logger.warning('%s: ratelimit backend %s answers again after %.1f s; '
                       '%d request(s) were %s meanwhile', self._stage,
                       self._backend, time.monotonic() - since, failures,
                       self._outcome)
