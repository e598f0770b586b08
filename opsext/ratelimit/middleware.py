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


"""Rate-limiting paste filter for the Swift proxy and any OpenStack API.

It counts requests by rules, in a backend shared by all workers and
proxies, and answers ``429 Too Many Requests`` with ``Retry-After`` and
the IETF ``RateLimit-Policy`` / ``RateLimit`` header fields once a rule's
rate is spent. It never delays a request.

Place an ``ip`` stage before auth to protect auth itself, and a stage with
``project`` or ``user`` keys after auth (keystonemiddleware's
``authtoken`` in an OpenStack API, ``tempauth``/``keystoneauth`` in
Swift): before auth, nothing tells who the user is::

    [filter:opsext_ratelimit]
    use = egg:opsext#ratelimit
    backend = memcached://10.0.0.5:11211,10.0.0.6:11211
    rules = per_ip writes
    rule_per_ip = rates=50/second;2000/minute key=ip
    rule_writes = rates=100/minute key=project methods=PUT,POST,DELETE

Backends: ``memory://`` (per worker process), ``memcached://...``,
``redis://...``. When the backend fails or does not answer within
``timeout`` (0.5 s from when the request was sent), the filter fails open:
the same rules are counted per worker in memory and a warning is logged at
most once per ``warn_interval``; with ``fail_closed = true`` it answers
``503`` instead. Logging and counters: :mod:`opsext.ratelimit.reporting`.
``etc/`` has commented samples for the Swift proxy and nova's
``api-paste.ini``.
"""

import json
import time
from typing import Optional

from oslo_log import log as logging
import webob
import webob.exc

from opsext import client_ip
from opsext.exceptions import ConfigError
from opsext.exceptions import PartialStorageError
from opsext.exceptions import StorageError
from opsext import pasteconf
from opsext.ratelimit import reporting
from opsext.ratelimit import rules as rules_mod
from opsext.ratelimit import storage
from opsext.ratelimit.storage import base
from opsext.ratelimit.storage import memory
from opsext.ratelimit import window

NAME = 'ratelimit'
LOG = logging.getLogger(__name__)

OPTIONS = {
    'backend': 'memory://',
    'timeout': '0.5',
    'retry_interval': '1',
    'rules': '',
    'exempt_cidrs': '',
    'exempt_roles': '',
    'trusted_proxies': '',
    'forwarded_header': client_ip.X_FORWARDED_FOR,
    'max_proxy_hops': '10',
    'fail_closed': 'false',
    'dry_run': 'false',
    'x_ratelimit_headers': 'false',
    'headers_on_success': 'true',
    'warn_interval': '60',
}
#: ``backend = swift.cache``: the MemcacheRing of Swift's cache filter.
SWIFT_CACHE = 'swift.cache'
_PREFIXES = ('rule_', 'override_', 'log_', 'set ', '__')


def stage_name(local_conf) -> str:
    """The filter's paste section, for its log lines, errors and metrics.

    Swift's loader puts the section's name in ``__name__``; paste.deploy
    alone tells a filter nothing of it, so elsewhere ``log_name`` (Swift's
    option for the same purpose) names it, else ``ratelimit``.
    """
    name = str(local_conf.get('__name__') or local_conf.get('log_name')
               or NAME).strip()
    return reporting.escape(name, 64)


class Settings:
    """Options of one filter stage, parsed and validated once."""

    def __init__(self, conf: dict, local_keys=(), stage: str = NAME) -> None:
        self.stage = stage
        #: How the filter is named in log lines and errors.
        self.label = '%s [filter:%s]' % (NAME, stage)
        label = self.label
        unknown = [k for k in local_keys
                   if k not in OPTIONS and not k.startswith(_PREFIXES)]
        if unknown:
            raise ConfigError(label, unknown[0], conf[unknown[0]],
                              'unknown option')
        options = pasteconf.PasteOptions(label, conf, OPTIONS)
        self.timeout = options.number('timeout', float, 0.01, 10.0)
        self.retry_interval = options.number('retry_interval', float, 0.1,
                                             300.0)
        self.warn_interval = options.number('warn_interval', float, 1, 86400)
        self.backend_uri = options.text('backend').strip()
        #: The backend URI as logs and errors show it: no password.
        self.backend_shown = storage.redact_uri(self.backend_uri)
        self.backend = None
        if self.backend_uri != SWIFT_CACHE:
            try:
                self.backend = storage.from_uri(
                    self.backend_uri, self.timeout,
                    retry_interval=self.retry_interval)
            except ValueError as exc:
                raise ConfigError(label, 'backend', self.backend_shown,
                                  str(exc)) from None
        self.rules = self._rules(conf, label)
        self._check_windows(conf, label)
        self._secrets = storage.uri_secrets(self.backend_uri)
        try:
            self.statsd = reporting.statsd_from_conf(conf, stage)
        except ValueError as exc:
            option, _, reason = str(exc).partition(': ')
            raise ConfigError(label, option, conf.get(option), reason) \
                from None
        self.exempt_cidrs = options.networks('exempt_cidrs')
        self.exempt_roles = frozenset(
            r.strip().lower() for r in options.text(
                'exempt_roles').replace(',', ' ').split())
        self.resolver = options.client_resolver()
        self.fail_closed = options.boolean('fail_closed')
        self.dry_run = options.boolean('dry_run')
        self.x_ratelimit_headers = options.boolean('x_ratelimit_headers')
        self.headers_on_success = options.boolean('headers_on_success')

    def _check_windows(self, conf, label):
        """Refuse a rate whose window the backend cannot hold."""
        if self.backend is not None:
            problem = self.backend.window_problem
        else:  # swift.cache: Swift's memcached servers
            from opsext.ratelimit.storage import memcached
            problem = memcached.window_problem
        for rule in self.rules:
            options = [('rule_' + rule.name, rule.rates)]
            options += [('override_' + rule.name, rates)
                        for rates in rule.overrides.values()]
            for option, rates in options:
                for rate in rates:
                    reason = problem(rate.window)
                    if reason:
                        raise ConfigError(label, option, conf.get(option),
                                          'backend %s: %s' % (
                                              self.backend_shown, reason))

    def scrub(self, text: str) -> str:
        """``text`` without the backend's password, for a log line."""
        for secret in self._secrets:
            text = text.replace(secret, storage.REDACTED)
        return text

    @staticmethod
    def _rules(conf, label):
        names = conf.get('rules', '').replace(',', ' ').split()
        if not names:
            raise ConfigError(label, 'rules', conf.get('rules', ''),
                              'name at least one rule')
        parsed = []
        for name in names:
            option = 'rule_' + name
            if option not in conf:
                raise ConfigError(label, option, None, 'rule %r is listed in '
                                  'rules but not defined' % name)
            try:
                parsed.append(rules_mod.parse_rule(
                    name, conf[option], conf.get('override_' + name, '')))
            except ValueError as exc:
                bad = ('override_' + name if 'override' in str(exc)
                       else option)
                raise ConfigError(label, bad, conf.get(bad), str(exc)) \
                    from None
        return tuple(parsed)


def _swift_logger(conf, stage):
    """Swift's logger, with its statsd client, for a Swift proxy."""
    from swift.common import utils
    return utils.get_logger(conf, log_route='opsext_ratelimit',
                            statsd_tail_prefix=stage)


class RateLimitMiddleware:
    """Count requests by rules; answer 429 once a rate is spent."""

    def __init__(self, app, settings: Settings, conf=None) -> None:
        self.app = app
        self.settings = settings
        self._conf = conf or {}
        self.logger = LOG
        stage, interval = settings.stage, settings.warn_interval
        self.counters = reporting.Counters(stage, interval, settings.statsd)
        self.limited_log = reporting.LimitedLog(settings.label, interval)
        self.health = reporting.BackendHealth(
            settings.label, settings.backend_shown, interval,
            settings.fail_closed)
        self._logging_chosen = False
        # The time for backends without a clock of their own; tests set it.
        self.clock = time.time
        self._fallback = memory.MemoryStorage()
        self._swift_cache = None
        # The backend's eviction count, read once per warn_interval.
        self._evictions: Optional[int] = None
        self._evictions_due = 0.0

    def _choose_logging(self, environ):
        """Log and count through Swift's logger inside a Swift proxy.

        Swift's catch_errors marks every request with ``swift.trans_id``;
        elsewhere (nova-api, glance...) oslo.log is the way.
        """
        self._logging_chosen = True
        if 'swift.trans_id' in environ:
            self.logger = _swift_logger(self._conf, self.settings.stage)
            self.counters = reporting.Counters(
                self.settings.stage, self.settings.warn_interval,
                self.logger)

    def __call__(self, environ, start_response):
        if not self._logging_chosen:
            self._choose_logging(environ)
        facts = rules_mod.RequestFacts(environ, self.settings.resolver)
        if self._exempt(facts):
            return self.app(environ, start_response)
        now_plans, later_plans = self._plans(
            facts, defer='swift.authorize' in environ)
        # Every rate counted for this request, now or once authorized, and
        # its decision: the headers speak of them all.
        counted: list = []
        if now_plans:
            denied = self._check(environ, facts, now_plans, counted)
            if denied is not None:
                return denied(environ, start_response)
        if later_plans:
            environ['swift.authorize'] = _CountWhenAuthorized(
                self, facts, later_plans, counted, environ['swift.authorize'])
        if not (now_plans or later_plans) or \
                not self.settings.headers_on_success:
            return self.app(environ, start_response)

        def add_headers(status, response_headers, exc_info=None):
            # Counted by now, or by a check made when Swift authorized.
            names = {name.lower() for name, _value in response_headers}
            extra = [h for h in self._headers(counted)
                     if h[0].lower() not in names] if counted else []
            return start_response(status, response_headers + extra,
                                  exc_info)
        return self.app(environ, add_headers)

    def _plans(self, facts, defer):
        """(rule, key, rate) to count now, and to count once authorized.

        In Swift, tempauth and keystoneauth refuse a request only when the
        proxy calls ``swift.authorize``, after this filter has run; a rule
        keyed on the account or container of the path is counted then, so
        that requests auth refuses never spend an account's budget.
        """
        now, later = [], []
        for rule in self.settings.rules:
            matched = rule.match(facts)
            if matched is None:
                continue
            key, rates = matched
            plans = later if defer and rule.needs_authorization else now
            plans.extend((rule, key, rate) for rate in rates)
        return now, later

    def _check(self, environ, facts, plans, counted):
        """Count the plans; return a response to refuse with, or None.

        Each plan and its decision are appended to ``counted``.
        """
        hits = [base.Hit('%s|%d' % (key, rate.window), rate.window)
                for _rule, key, rate in plans]
        counts = self._count(hits, environ)
        if counts is None:
            return self._error(environ, webob.exc.HTTPServiceUnavailable,
                               'Rate limiting is unavailable; retry later.',
                               1)
        decisions = [window.decide(count, plan[2])
                     for count, plan in zip(counts, plans)]
        counted.extend(zip(plans, decisions))
        limited = [(plan, decision) for plan, decision
                   in zip(plans, decisions) if not decision.allowed]
        if not limited:
            self.counters.increment('allowed', self.logger)
            self.limited_log.tick(self.logger)
            return None
        self._log_limited(facts, limited)
        if self.settings.dry_run:
            self.counters.increment('dry_run_limited', self.logger)
            return None
        self.counters.increment('limited', self.logger)
        return self._too_many(environ, counted, limited)

    def _exempt(self, facts):
        settings = self.settings
        if settings.exempt_cidrs:
            address = facts.address()
            if address is not None and address in settings.exempt_cidrs:
                return True
        return bool(settings.exempt_roles and
                    settings.exempt_roles & facts.roles())

    def _swift_cache_backend(self, environ):
        """The proxy's own MemcacheRing, which Swift's cache filter set."""
        cache = environ.get('swift.cache')
        if cache is None or not hasattr(cache, 'incr'):
            raise StorageError('backend = swift.cache needs the filter to '
                               'the right of Swift\'s cache middleware')
        backend = self._swift_cache
        if backend is None or backend.ring is not cache:
            from opsext.ratelimit.storage import swift_cache
            backend = self._swift_cache = swift_cache.SwiftCacheStorage(cache)
        return backend

    def _count(self, hits, environ):
        """Counts from the backend; on failure, local counts or None."""
        now = self.clock()
        try:
            backend = self.settings.backend
            if backend is None:
                backend = self._swift_cache_backend(environ)
            counts = backend.hit(hits, now)
        except Exception as exc:  # noqa: B902 (any failure fails open)
            self.counters.increment('backend_errors', self.logger)
            reason = '%s: %s' % (type(exc).__name__,
                                 self.settings.scrub(str(exc)))
            self.health.failed(self.logger, reason)
            if not isinstance(exc, StorageError):
                # A bug, not an outage: the traceback helps, at debug.
                self.logger.debug('%s: unexpected ratelimit backend error',
                                  self.settings.label, exc_info=True)
            if self.settings.fail_closed:
                return None
            self.counters.increment('fallback', self.logger)
            if isinstance(exc, PartialStorageError):
                # One server of a ring lost: only its keys count locally.
                lost = [i for i, c in enumerate(exc.counts) if c is None]
                local = self._fallback.hit([hits[i] for i in lost], now)
                counts = list(exc.counts)
                for position, count in zip(lost, local):
                    counts[position] = count
                return counts
            return self._fallback.hit(hits, now)
        if self.health.failing:
            self.health.recovered(self.logger)
        if time.monotonic() >= self._evictions_due:
            self._check_evictions(backend)
        return counts

    def _check_evictions(self, backend):
        """Warn when the backend evicted items since the last look."""
        interval = self.settings.warn_interval
        self._evictions_due = time.monotonic() + interval
        try:
            seen = backend.evictions()
        except StorageError:
            return  # the next counting call reports the failure
        if seen is None:
            return
        last, self._evictions = self._evictions, seen
        if last is None or seen <= last:  # first look, or a restart
            return
        self.counters.increment('evictions', self.logger, seen - last)
        self.logger.warning(
            '%s: ratelimit backend %s evicted %d item(s) in the last %ds: '
            'rate-limit counters may have been lost, giving their keys a '
            'fresh budget; give it more memory (memcached -m, Redis '
            'maxmemory) or a Redis of its own with maxmemory-policy '
            'noeviction', self.settings.label, self.settings.backend_shown,
            seen - last, interval)

    def _log_limited(self, facts, limited):
        what = ('dry_run, would limit' if self.settings.dry_run
                else 'limited')
        for (rule, key, rate), decision in limited:
            self.limited_log.record(
                self.logger, what, rule.name, str(rate), key,
                facts.request_method, facts.path, decision.retry_after)

    @staticmethod
    def _policy_header(counted):
        """``RateLimit-Policy`` for the counted rates."""
        return ','.join('"%s-%d";q=%d;w=%d' % (rule.name, rate.window,
                                               rate.limit, rate.window)
                        for (rule, _key, rate), _decision in counted)

    def _headers(self, counted):
        """The rate-limit header fields for the counted rates.

        ``RateLimit`` describes the most limiting one: the fewest requests
        left, then the longest wait.
        """
        (rule, _key, rate), decision = min(
            counted, key=lambda item: (item[1].remaining,
                                       -item[1].retry_after))
        reset = decision.retry_after or decision.reset
        headers = [('RateLimit-Policy', self._policy_header(counted)),
                   ('RateLimit', '"%s-%d";r=%d;t=%d' % (
                       rule.name, rate.window, decision.remaining, reset))]
        if self.settings.x_ratelimit_headers:
            headers += [('X-RateLimit-Limit', str(rate.limit)),
                        ('X-RateLimit-Remaining', str(decision.remaining)),
                        ('X-RateLimit-Reset', str(reset))]
        return headers

    def _too_many(self, environ, counted, limited):
        retry_after = max(d.retry_after for _plan, d in limited)
        (rule, _key, rate), _decision = max(limited,
                                            key=lambda i: i[1].retry_after)
        message = ('Rate limit exceeded: rule %s allows %s. Retry after %d '
                   'seconds.' % (rule.name, rate, retry_after))
        resp = self._error(environ, webob.exc.HTTPTooManyRequests, message,
                           retry_after)
        resp.headers.extend(self._headers(counted))
        return resp

    @staticmethod
    def _error(environ, kind, message, retry_after):
        offers = webob.Request(environ).accept.acceptable_offers(
            ['text/plain', 'application/json'])
        resp = webob.Response(status=kind.code)
        resp.headers['Retry-After'] = str(retry_after)
        if offers and offers[0][0] == 'application/json':
            resp.content_type = 'application/json'
            resp.charset = None
            resp.body = json.dumps({'error': {
                'code': kind.code, 'title': kind.title, 'message': message,
                'retry_after': retry_after}}).encode()
        else:
            resp.content_type = 'text/plain'
            resp.text = message + '\n'
        return resp


class _CountWhenAuthorized:
    """``swift.authorize`` that counts the deferred rules once allowed.

    Counted once, for the request's own path; the sub-requests Swift makes
    for it (copy, SLO segments...) are the same request. The proxy may ask
    again for the same request (``delay_denial`` handlers): the answer is
    the one given the first time.
    """

    _NOT_YET = object()

    def __init__(self, owner, facts, plans, counted, wrapped):
        self.owner = owner
        self.facts = facts
        self.plans = plans
        self.counted = counted
        self.wrapped = wrapped
        self.result = self._NOT_YET

    def __call__(self, req):
        denied = self.wrapped(req) if self.wrapped is not None else None
        environ = req.environ
        if denied is not None or (
                environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
                != self.facts.path):
            return denied
        if self.result is self._NOT_YET:
            self.result = self.owner._check(environ, self.facts, self.plans,
                                            self.counted)
        return self.result


def warn_per_worker(settings: Settings, conf) -> None:
    """Warn at start-up that ``memory://`` multiplies every rate.

    Swift's ``workers`` (``[DEFAULT]``) says how many processes share the
    port; ``0`` or ``1`` is one process. Elsewhere the filter cannot know,
    and API services run several workers by default: it warns.
    """
    if not settings.backend_uri.lower().startswith('memory:'):
        return
    workers = str(conf.get('workers', '')).strip()
    if workers in ('0', '1'):
        return
    LOG.warning('%s: backend memory:// counts in each worker process: with '
                '%s workers (and on each node) a client gets that many '
                'times every rate; use memcached://, redis:// or, in Swift, '
                'swift.cache to share counters', settings.label,
                workers if workers else 'several')


def filter_factory(global_conf, **local_conf):
    """paste.deploy entry point: validate options and return the filter."""
    conf = dict(global_conf)
    conf.update(local_conf)
    settings = Settings(conf, local_conf, stage_name(local_conf))
    warn_per_worker(settings, conf)

    def ratelimit_filter(app):
        return RateLimitMiddleware(app, settings, conf)
    return ratelimit_filter
