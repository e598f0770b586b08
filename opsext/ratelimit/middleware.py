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

import dataclasses
import json
import time
from typing import Callable, Mapping, Optional

from oslo_config import cfg
from oslo_log import log as logging
import webob
import webob.exc

from opsext import client_ip
from opsext.exceptions import ConfigError
from opsext.exceptions import PartialStorageError
from opsext.exceptions import StorageError
from opsext import net
from opsext import pasteconf
from opsext.ratelimit import reporting
from opsext.ratelimit import rules as rules_mod
from opsext.ratelimit import storage
from opsext.ratelimit.storage import base
from opsext.ratelimit.storage import memory
from opsext.ratelimit import window

NAME = 'ratelimit'
LOG = logging.getLogger(__name__)
_LABEL = NAME + ' [filter:%s]'
#: ``backend = swift.cache``: the MemcacheRing of Swift's cache filter.
SWIFT_CACHE = 'swift.cache'

OPTS = [
    cfg.StrOpt('backend', default='memory://',
               help='Where counters live: memory:// (per worker process: '
                    'with N workers a client gets N times the limit), '
                    'swift.cache (the Swift proxy\'s own MemcacheRing, set '
                    'by Swift\'s cache filter, which must be to the left), '
                    'memcached://host:port[,host:port...] (?tls=true&'
                    'ssl_ca_certs=... for TLS), or Redis, counting on the '
                    'server\'s clock: redis://[[user]:password@]host:port'
                    '[/db], rediss://...?ssl_ca_certs=..., redis+unix:///'
                    'path, redis+sentinel://host:port[,...]/master, '
                    'redis+cluster://host:port[,...]. memory:// warns at '
                    'start-up unless [DEFAULT] workers is 0 or 1.'),
    cfg.FloatOpt('timeout', default=0.5, min=0.01, max=10.0,
                 help='Bound, in seconds, on memcached\'s or Redis\'s '
                      'answer, counted from when the request was sent, and '
                      'on connecting.'),
    cfg.FloatOpt('retry_interval', default=1.0, min=0.1, max=300.0,
                 help='Seconds a server marked down (a refused or dropped '
                      'connection, or 3 timeouts in a row) is left alone '
                      'before one request tries it again.'),
    cfg.StrOpt('rules', default='',
               help='The rules, by name, comma or space separated; each is '
                    'defined by an option rule_<name> = rates=<n>/<period>'
                    '[;<n>/<period>...] key=<parts> [methods=<M,...>] '
                    '[paths=</pattern*,...>], and may have other rates for '
                    'some keys in override_<name> (one <part>=<value>: '
                    '<rates> per line). Required.'),
    cfg.Opt('exempt_cidrs', type=pasteconf.Networks(), default='',
            help='Client networks never limited, comma or space '
                 'separated.'),
    cfg.StrOpt('exempt_roles', default='',
               help='Roles never limited (keystone roles; ResellerAdmin '
                    'requests count as role reselleradmin), comma or space '
                    'separated.'),
] + pasteconf.client_address_opts() + [
    cfg.Opt('fail_closed', type=pasteconf.Boolean(), default=False,
            help='When the backend fails or exceeds timeout: false counts '
                 'per worker in memory (fail open), true answers 503.'),
    cfg.FloatOpt('warn_interval', default=60.0, min=1, max=86400,
                 help='Seconds between warnings of a failing backend, and '
                      'between summaries of limited requests.'),
    cfg.Opt('dry_run', type=pasteconf.Boolean(), default=False,
            help='true: log what would have been limited, limit nothing.'),
    cfg.Opt('headers_on_success', type=pasteconf.Boolean(), default=True,
            help='RateLimit-Policy and RateLimit headers on every counted '
                 'response (429s always carry them).'),
    cfg.Opt('x_ratelimit_headers', type=pasteconf.Boolean(), default=False,
            help='X-RateLimit-Limit, -Remaining and -Reset headers as '
                 'well.'),
]


def stage_name(local_conf) -> str:
    """The filter's paste section, for its log lines, errors and metrics.

    Swift's loader puts the section's name in ``__name__``; paste.deploy
    alone tells a filter nothing of it, so elsewhere ``log_name`` (Swift's
    option for the same purpose) names it, else ``ratelimit``.
    """
    name = str(local_conf.get('__name__') or local_conf.get('log_name')
               or NAME).strip()
    return reporting.escape(name, 64)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Options of one filter stage, parsed and validated once."""

    stage: str
    #: How the filter is named in log lines and errors.
    label: str
    backend_uri: str
    #: The backend URI as logs and errors show it: no password.
    backend_shown: str
    timeout: float
    retry_interval: float
    warn_interval: float
    rules: tuple
    statsd: Optional[reporting.StatsdClient]
    exempt_cidrs: net.NetworkSet
    exempt_roles: frozenset
    resolver: client_ip.ClientAddressResolver
    fail_closed: bool
    dry_run: bool
    x_ratelimit_headers: bool
    headers_on_success: bool
    secrets: tuple = ()

    def scrub(self, text: str) -> str:
        """``text`` without the backend's password, for a log line."""
        for secret in self.secrets:
            text = text.replace(secret, storage.REDACTED)
        return text


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


def _check_windows(settings: Settings, backend, conf: Mapping) -> None:
    """Refuse a rate whose window the backend cannot hold."""
    if backend is not None:
        problem = backend.window_problem
    else:  # swift.cache: Swift's memcached servers
        from opsext.ratelimit.storage import memcached
        problem = memcached.window_problem
    for rule in settings.rules:
        options = [('rule_' + rule.name, rule.rates)]
        options += [('override_' + rule.name, rates)
                    for rates in rule.overrides.values()]
        for option, rates in options:
            for rate in rates:
                reason = problem(rate.window)
                if reason:
                    raise ConfigError(settings.label, option,
                                      conf.get(option), 'backend %s: %s' % (
                                          settings.backend_shown, reason))


def backend_from_settings(settings: Settings):
    """The live backend ``backend`` names; None for ``swift.cache``.

    :raises ConfigError: naming ``backend`` (without its password).
    """
    if settings.backend_uri == SWIFT_CACHE:
        return None
    try:
        return storage.from_uri(settings.backend_uri, settings.timeout,
                                retry_interval=settings.retry_interval)
    except ValueError as exc:
        raise ConfigError(settings.label, 'backend', settings.backend_shown,
                          str(exc)) from None


def _in_swift_proxy(app) -> bool:
    """Whether ``app`` leads, through wrapped apps, to Swift's proxy."""
    for _hop in range(100):
        if type(app).__module__.startswith('swift.proxy.'):
            return True
        app = getattr(app, 'app', None) or getattr(app, '_app', None)
        if app is None:
            return False
    return False


class RateLimitMiddleware(pasteconf.PasteFilter):
    """Count requests by rules; answer 429 once a rate is spent."""

    NAME = NAME
    OPTS = OPTS
    EXTRA_PREFIXES = ('rule_', 'override_')

    def __init__(self, app, conf: Mapping, logger=None,
                 settings: Optional[Settings] = None, backend=None) -> None:
        super().__init__(app, conf, logger, settings)
        settings = self.settings
        #: The live backend; None for swift.cache (the proxy's own ring).
        self.backend = (backend if backend is not None
                        else backend_from_settings(settings))
        stage, interval = settings.stage, settings.warn_interval
        # Inside a Swift proxy, counters go through Swift's logger and its
        # statsd client; elsewhere through the log_statsd_* options.
        self.counters = reporting.Counters(
            stage, interval, self.logger if self.logger is not LOG
            else settings.statsd)
        self.limited_log = reporting.LimitedLog(settings.label, interval)
        self.health = reporting.BackendHealth(
            settings.label, settings.backend_shown, interval,
            settings.fail_closed)
        # The time for backends without a clock of their own; tests set it.
        self.clock = time.time
        self._fallback = memory.MemoryStorage()
        self._swift_cache = None
        # The backend's eviction count, read once per warn_interval.
        self._evictions: Optional[int] = None
        self._evictions_due = 0.0

    @classmethod
    def label(cls, local_conf: Mapping) -> str:
        return _LABEL % stage_name(local_conf)

    @classmethod
    def load_settings(cls, label: str, values: dict,
                      conf: Mapping) -> Settings:
        stage = label.partition(' [filter:')[2][:-1]
        uri = values['backend'].strip()
        try:
            statsd = reporting.statsd_from_conf(conf, stage)
        except ValueError as exc:
            option, _, reason = str(exc).partition(': ')
            raise ConfigError(label, option, conf.get(option), reason) \
                from None
        return Settings(
            stage=stage, label=label, backend_uri=uri,
            backend_shown=storage.redact_uri(uri),
            timeout=values['timeout'],
            retry_interval=values['retry_interval'],
            warn_interval=values['warn_interval'],
            rules=_rules(conf, label), statsd=statsd,
            exempt_cidrs=values['exempt_cidrs'],
            exempt_roles=frozenset(
                r.strip().lower() for r in
                values['exempt_roles'].replace(',', ' ').split()),
            resolver=pasteconf.client_resolver(values),
            fail_closed=values['fail_closed'], dry_run=values['dry_run'],
            x_ratelimit_headers=values['x_ratelimit_headers'],
            headers_on_success=values['headers_on_success'],
            secrets=tuple(storage.uri_secrets(uri)))

    @classmethod
    def factory(cls, global_conf: Mapping, local_conf: Mapping) -> Callable:
        conf = dict(global_conf)
        conf.update(local_conf)
        settings = cls.read_settings(conf, local_conf)
        backend = backend_from_settings(settings)
        _check_windows(settings, backend, conf)
        warn_per_worker(settings, conf)

        def ratelimit_filter(app):
            return cls(app, conf, settings=settings, backend=backend)
        return ratelimit_filter

    def make_logger(self, app, conf):
        """Swift's logger in a Swift proxy, oslo.log elsewhere.

        Chosen when the pipeline is loaded: in a Swift proxy the filter
        wraps, through the filters to its right, Swift's proxy server.
        """
        if not _in_swift_proxy(app):
            return LOG
        from swift.common import utils
        return utils.get_logger(conf, log_route='opsext_ratelimit',
                                statsd_tail_prefix=self.settings.stage)

    def __call__(self, environ, start_response):
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
            backend = self.backend
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


def filter_factory(global_conf: Mapping, **local_conf) -> Callable:
    """paste.deploy entry point: validate options and return the filter."""
    return RateLimitMiddleware.factory(global_conf, local_conf)
