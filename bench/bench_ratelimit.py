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


"""Benchmark ratelimit; every figure is a ratio to a baseline of the run.

The baseline is the ``limits`` library (the comparison anchor) or a raw
round trip to the same server, measured in the same run, in turn with ours
(blocks of checks round-robin; each gets its best block).

1. Per-check cost with the memory backend, in microseconds: our check for
   one rule with one rate (``storage.hit`` then ``window.decide``: what the
   filter does per request, WSGI aside) against limits' fixed window,
   moving window and sliding window counter on its ``MemoryStorage``
   (goal: ours <= 0.7x of limits' fixed window). Also the whole filter per
   request through webob against the bare app, so that the WSGI cost shows.
2. Per-check cost with memcached and with Redis (real servers on
   loopback): our backends against limits (fixed window, sliding window
   counter) on the same server and against one raw round trip measured the
   same way: memcached ``incr`` on a raw socket, Redis ``INCR`` with
   redis-py on a connection made once (goals: within 1.3x of the raw round
   trip, faster than limits). Redis's own time per check (``INFO
   commandstats``) is shown beside.
3. Cost at limits of 100/minute and 10,000/minute, ours against limits'
   moving window (a log of timestamps): checks from an empty key up to the
   limit (the log filling), then checks at the limit with the log full
   (goal: ours flat, ratio ~1.0).
4. Requests per second through the real proxy pipeline (a real all-in-one
   Swift cluster; the pipeline loaded in-process, object GETs) with the
   filter on the memory backend, on a memcached of its own
   (``memcached://``: pymemcache clients on our ring), on ``swift.cache``
   (Swift's own MemcacheRing), on the same
   memcached through pymemcache's ``HashClient`` (the client oslo.cache's
   ``dogpile.cache.pymemcache`` backend builds, what a non-Swift pipeline
   such as nova-api has at hand) and on Redis (redis-py), and without it,
   one request to each in turn. The plain pipeline loaded a second time is
   an A/A control: its ratio shows the noise of the measurement.
   ``--only pipeline`` runs this section alone, ``--requests N`` sets its
   size.
5. Under load: 8 worker processes x 32 threads on one key, limit 100, with
   default settings: how many were accepted on memcached and Redis.
6. Redis through redis-py: our check against the registered script's call
   alone, ``EVALSHA`` by hand and a non-transactional pipeline of the
   same commands, and a raw ``INCR`` (``--only redis-calls``).

Run it with ``tox -e bench``; ``--quick`` for a short run.
"""

import argparse
import logging
import socket
import sys
import time

import _common  # bench/_common.py, beside this script
import limits
import limits.storage
import limits.strategies
import redis
import webob

from opsext.ratelimit import middleware
from opsext.ratelimit import storage
from opsext.ratelimit.storage import base
from opsext.ratelimit.storage import memory
from opsext.ratelimit.storage import redis as redis_storage
from opsext.ratelimit import window
from opsext.testing import ratelimit_load
from opsext.allinone.memcached import MemcachedServer
from opsext.testing.redis import RedisServer
from opsext.allinone.cluster import SwiftCluster

CLIENT = '198.51.100.7'
RULE = 'rates=1000000/hour key=ip'
RATE = window.parse_rate('1000000/hour')
# A shared backend's time limit per call; generous, so that a burst of load
# elsewhere on the machine cannot make the filter fail open mid-benchmark
# (the timeout costs nothing per call).
TIMEOUT = 0.5
SIZES = (100, 10000)
OURS = 'ours: storage.hit + window.decide'
# Checks per sample when filling keys up to their limit, whatever the limit.
FILL_CHECKS = 10000
STRATEGIES = (('fixed window', 'FixedWindowRateLimiter'),
              ('moving window', 'MovingWindowRateLimiter'),
              ('sliding window counter', 'SlidingWindowCounterRateLimiter'))


def _our_check(backend, rate, key='per_ip|ip=' + CLIENT):
    """The filter's per-request work for one rule with one rate."""
    def check():
        counts = backend.hit([base.Hit('%s|%d' % (key, rate.window),
                                       rate.window)], time.time())
        return window.decide(counts[0], rate)
    return check


def _limiters(backend, names=('fixed window', 'moving window',
                              'sliding window counter')):
    """limits' limiters that this version has and ``backend`` supports."""
    found = []
    for name, cls_name in STRATEGIES:
        cls = getattr(limits.strategies, cls_name, None)
        if name not in names or cls is None:
            continue
        try:
            found.append((name, cls(backend)))
        except NotImplementedError:
            continue
    return found


def _limits_check(limiter, item, *identifiers):
    """One of limits' checks, as a middleware on limits would make it."""
    def check():
        return limiter.hit(item, *identifiers)
    return check


def _print_rows(title, rows, baseline, baseline_name):
    print(title)
    print('   %-52s %9s %9s' % ('', 'us/check', 'x ' + baseline_name))
    for name, value in rows:
        print('   %-52s %9.2f %8.2fx' % (name, value, value / baseline))


def bench_memory(quick):
    number, rounds = (500, 10) if quick else (1000, 50)
    ours = storage.from_uri('memory://')
    check = _our_check(ours, RATE)
    sample = ours.hit([base.Hit('sample', RATE.window)])[0]
    ours_hit = [base.Hit('per_ip|ip=%s|%d' % (CLIENT, RATE.window),
                         RATE.window)]
    theirs = limits.storage.MemoryStorage()
    item = limits.parse('1000000/hour')
    funcs = [check, lambda: ours.hit(ours_hit, time.time()),
             lambda: window.decide(sample, RATE)]
    names = [OURS,
             '  of which storage.hit', '  of which window.decide']
    setups = [None, None, None]
    for name, limiter in _limiters(theirs):
        ids = ('per_ip', CLIENT, name.replace(' ', '-'))
        funcs.append(_limits_check(limiter, item, *ids))
        if name == 'moving window':
            # It keeps a timestamp per hit; a log of up to 10^6 would
            # measure the log (section 3 does), not the check.
            names.append('limits moving window (log <= %d)' % number)
            setups.append(lambda lim=limiter, i=ids: lim.clear(item, *i))
        else:
            names.append('limits %s' % name)
            setups.append(None)
        if name == 'fixed window':
            funcs.append(lambda lim=limiter: (
                lim.hit(item, 'stats', CLIENT),
                lim.get_window_stats(item, 'stats', CLIENT)))
            names.append('limits fixed window + get_window_stats')
            setups.append(None)
    times = _common.interleaved_us(funcs, number, rounds, setups)
    baseline = times[names.index('limits fixed window')]
    _print_rows('\n1. Per-check cost, memory backend, rate 1000000/hour '
                '(lower is better)', list(zip(names, times)), baseline,
                'limits fixed')
    ours_ratio = times[0] / baseline
    print('   ours / limits fixed window %.2fx  (goal <= 0.7x)'
          % ours_ratio)
    print('   ours / limits fixed window + get_window_stats %.2fx  (both '
          'give remaining and reset)'
          % (times[0] / times[names.index(
              'limits fixed window + get_window_stats')]))
    wsgi = _bench_wsgi(quick)
    return {'ours': times[0], 'ratio': ours_ratio, 'wsgi': wsgi}


def _bare_app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', '1')])
    return [b'x']


class _Warnings(logging.Handler):
    """What the filter logs at WARNING and above (it should log nothing)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _filter_of(app):
    """The RateLimitMiddleware in a pipeline of apps with an ``app``."""
    while not isinstance(app, middleware.RateLimitMiddleware):
        app = app.app
    return app


def _fail_open_note(filt, warnings=None):
    """A note if a filter set up with memory:// did not count there."""
    backend = filt.backend
    problem = None
    if not isinstance(backend, memory.MemoryStorage):
        problem = 'counted in %s instead' % type(backend).__name__
    elif len(backend) == 0:
        problem = 'counted nothing: every request took the fail-open path'
    if problem is None:
        return None
    return ('   NOTE: the filter\'s memory:// backend %s%s' % (
        problem, ' (%d warning(s): %s)' % (len(warnings), warnings[0])
        if warnings else ''))


def _bench_wsgi(quick):
    number, rounds = (200, 10) if quick else (500, 40)
    warnings = _Warnings()
    logging.getLogger(middleware.__name__).addHandler(warnings)
    filt = middleware.filter_factory(
        {}, backend='memory://', rules='per_ip', rule_per_ip=RULE)(_bare_app)

    def through(app):
        def call():
            return webob.Request.blank('/v1/AUTH_bench/c/o', environ={
                'REMOTE_ADDR': CLIENT}).get_response(app)
        return call
    resp = through(filt)()
    if resp.status_int != 200 or 'RateLimit' not in resp.headers:
        raise RuntimeError('the filter did not count: %s %s'
                           % (resp.status, resp.headers))
    check = _our_check(storage.from_uri('memory://'), RATE)
    bare, with_filter, alone = _common.interleaved_us(
        [through(_bare_app), through(filt), check], number, rounds)
    logging.getLogger(middleware.__name__).removeHandler(warnings)
    cost = with_filter - bare
    print('\n   The whole filter per request through webob (webob.Request.'
          'blank(...).get_response)')
    print('   bare app          %8.2f us' % bare)
    print('   filter + bare app %8.2f us' % with_filter)
    print('   the filter        %8.2f us  (%.1fx our check alone, %.2f us:'
          ' WSGI, rules, headers)' % (cost, cost / alone, alone))
    note = _fail_open_note(filt, warnings.messages)
    if note:
        print(note)
    return {'bare': bare, 'filter': cost, 'check': alone, 'note': note}


def _raw_socket(address):
    """A socket to ``host:port`` and a function for one round trip on it."""
    host, port = address.rsplit(':', 1)
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def round_trip(request, end=b'\r\n'):
        sock.sendall(request)
        reply = sock.recv(4096)
        while not reply.endswith(end):
            reply += sock.recv(4096)
        return reply
    return sock, round_trip


def _redis_server_us(client, func, number):
    """Redis's own time per call of ``func`` (``INFO commandstats``)."""
    client.config_resetstat()
    for _ in range(number):
        func()
    stats = client.info('commandstats')
    # Commands a script runs are counted in its EVALSHA too.
    if 'cmdstat_evalsha' in stats:
        usec = stats['cmdstat_evalsha']['usec']
    else:
        usec = sum(value['usec'] for name, value in stats.items()
                   if name not in ('cmdstat_config', 'cmdstat_info'))
    return usec / number


def _limits_rows(backend, item, tag):
    return [('limits %s' % name, _limits_check(
        limiter, item, tag, name.replace(' ', '-')))
        for name, limiter in _limiters(
            backend, ('fixed window', 'sliding window counter'))]


def _print_shared(title, rows, times, extra=None):
    """One backend's table; the first row is the baseline."""
    baseline = times[0]
    print(title)
    print('   %-52s %9s %9s %9s'
          % ('', 'us/check', 'x raw', extra[0] if extra else ''))
    for index, ((name, _), value) in enumerate(zip(rows, times)):
        print('   %-52s %9.2f %8.2fx %9s' % (
            name, value, value / baseline,
            '%.2f' % extra[1][index] if extra else ''))
    by_name = dict(zip([name for name, _ in rows], times))
    ours = by_name[OURS]
    print('   ours / raw %.2fx  (goal <= 1.3x); ours / limits fixed window '
          '%.2fx  (goal < 1)' % (ours / baseline,
                                 ours / by_name['limits fixed window']))
    return by_name


def bench_shared(quick, memcached_server, redis_server):
    number, rounds = (50, 10) if quick else (100, 40)
    item = limits.parse('1000000/hour')
    print('\n2. Per-check cost, shared backends on loopback, rate '
          '1000000/hour (lower is better)')

    uri = 'memcached://' + memcached_server.address
    mc_sock, round_trip = _raw_socket(memcached_server.address)
    round_trip(b'set opsext-bench 0 0 1\r\n0\r\n')
    ours = storage.from_uri(uri, timeout=TIMEOUT)
    rows = [
        ('raw incr, one round trip (baseline)',
         lambda: round_trip(b'incr opsext-bench 1\r\n')),
        ('raw add+incr+get, one round trip (former client)',
         lambda: round_trip(b'add opsext-bench-2 0 60 1\r\n0\r\n'
                            b'incr opsext-bench-2 1\r\n'
                            b'get opsext-bench\r\n', b'END\r\n')),
        ('raw incr then get, two round trips (what ours sends)',
         lambda: (round_trip(b'incr opsext-bench 1\r\n'),
                  round_trip(b'get opsext-bench\r\n', b'END\r\n'))),
        (OURS, _our_check(ours, RATE))]
    rows += _limits_rows(limits.storage.storage_from_string(uri), item, 'mc')
    times = _common.interleaved_us([f for _, f in rows], number, rounds)
    results = {'memcached': _print_shared(
        '   memcached %s' % memcached_server.version(), rows, times)}
    mc_sock.close()
    ours.close()

    host, port = redis_server.host, redis_server.port
    client = redis.Redis(host=host, port=port, single_connection_client=True)
    pooled = redis.Redis(host=host, port=port)
    rd_sock, round_trip = _raw_socket(redis_server.address)
    ours = storage.from_uri(redis_server.url, timeout=TIMEOUT)
    rows = [
        ('raw INCR with redis-py, one connection (baseline)',
         lambda: client.incr('opsext-bench')),
        ('raw INCR on a socket (RESP, no client library)',
         lambda: round_trip(b'*2\r\n$4\r\nINCR\r\n$12\r\nopsext-bench\r\n')),
        # Ours and limits take a connection from redis-py's pool per call.
        ('INCR with redis-py through its connection pool',
         lambda: pooled.incr('opsext-bench')),
        (OURS, _our_check(ours, RATE))]
    rows += _limits_rows(limits.storage.storage_from_string(
        redis_server.url), item, 'rd')
    times = _common.interleaved_us([f for _, f in rows], number, rounds)
    server = [_redis_server_us(client, f, number * 5) for _, f in rows]
    results['redis'] = _print_shared(
        '   redis %s' % client.info('server')['redis_version'], rows, times,
        ('server us', server))
    results['redis server'] = dict(zip([name for name, _ in rows], server))
    rd_sock.close()
    client.close()
    pooled.close()
    ours.close()
    return results


def _size_cases(backend_name, ours, theirs):
    """(limiter, limit, make) for each limiter and limit of section 3.

    ``make(n)`` sets up the ``n``-th fresh key: its check, for limits the
    check with ``get_window_stats`` and a function to delete the key.
    """
    moving = None
    if theirs is not None:
        moving = dict(_limiters(theirs, ('moving window',))).get(
            'moving window')
    cases = []
    for limit in SIZES:
        prefix = 'bench3-%s-%d' % (backend_name, limit)

        def make_ours(n, rate=window.Rate(limit, 60), prefix=prefix):
            key = '%s-%d' % (prefix, n)
            return {'check': _our_check(ours, rate, key),
                    'key': '%s|%d' % (key, rate.window)}
        cases.append(('ours', limit, make_ours))
        if moving is None:
            continue

        def make_moving(n, item=limits.parse('%d/minute' % limit),
                        prefix=prefix):
            ids = (prefix, str(n))
            return {'check': _limits_check(moving, item, *ids),
                    'stats': lambda: (moving.hit(item, *ids),
                                      moving.get_window_stats(item, *ids)),
                    'clear': lambda: moving.clear(item, *ids),
                    'key': item.key_for(*ids)}
        cases.append(('limits moving window', limit, make_moving))
    return cases


def _fill_us(cases, repeats):
    """Per check, from empty keys up to the limit (every check allowed).

    Each case makes FILL_CHECKS checks per repeat, on fresh keys filled to
    their limit one after the other, in chunks of the smallest limit: the
    cases take turns chunk by chunk, so that load elsewhere on the machine
    falls on all alike. Each case gets its best repeat. Returns the
    figures and, for each case, its last key, full.
    """
    chunk = min(limit for _, limit, _ in cases)
    best = [float('inf')] * len(cases)
    current = [None] * len(cases)
    used = [0] * len(cases)
    serial = 0
    for _ in range(repeats):
        elapsed = [0.0] * len(cases)
        for _ in range(FILL_CHECKS // chunk):
            for index, (_, limit, make) in enumerate(cases):
                if current[index] is None or used[index] >= limit:
                    if current[index] is not None and 'clear' in \
                            current[index]:
                        # Only the last key is needed full; limits' memory
                        # storage sweeps every log every 10 ms.
                        current[index]['clear']()
                    serial += 1
                    current[index] = make(serial)
                    used[index] = 0
                check = current[index]['check']
                start = time.perf_counter()
                for _ in range(chunk):
                    check()
                elapsed[index] += time.perf_counter() - start
                used[index] += chunk
        best = [min(pair) for pair in zip(best, elapsed)]
    return [total / FILL_CHECKS * 1e6 for total in best], current


def _denied(result):
    """True if a check's result says the request would be refused."""
    if isinstance(result, tuple) and not isinstance(result, window.Decision):
        result = result[0]
    return result is False or getattr(result, 'allowed', True) is False


def bench_sizes(quick, memcached_server, redis_server):
    repeats = 1 if quick else 2
    number, rounds = (50, 10) if quick else (100, 20)
    backends = [
        ('memory', storage.from_uri('memory://'),
         limits.storage.MemoryStorage()),
        ('memcached', storage.from_uri(
            'memcached://' + memcached_server.address, timeout=TIMEOUT),
         None),
        ('redis', storage.from_uri(redis_server.url, timeout=TIMEOUT),
         limits.storage.storage_from_string(redis_server.url))]
    rows = []
    state = None
    for backend_name, ours, theirs in backends:
        cases = _size_cases(backend_name, ours, theirs)
        fill, last = _fill_us(cases, repeats)
        figures = {}
        funcs = []
        for (name, limit, _), filled, made in zip(cases, fill, last):
            figures.setdefault((name, 'filling, 0 -> limit'), {})[
                limit] = filled
            phases = [('at the limit' if name == 'ours' else
                       'at the limit (log full)', made['check'])]
            if 'stats' in made:
                phases.append(('  + get_window_stats', made['stats']))
            for phase, func in phases:
                # Past a window boundary since it was filled, ours needs a
                # few more checks to be refused again.
                if not any(_denied(func()) for _ in range(limit + 1)):
                    raise RuntimeError('%s %s: checks past the limit of %d '
                                       'were allowed' % (backend_name, name,
                                                         limit))
                funcs.append(((name, phase), limit, func))
                figures.setdefault((name, phase), {})
        times = _common.interleaved_us(
            [f for _, _, f in funcs],
            number * 10 if backend_name == 'memory' else number, rounds)
        for (row, limit, _), value in zip(funcs, times):
            figures.setdefault(row, {})[limit] = value
        for (name, phase), values in figures.items():
            rows.append((backend_name, name, phase, values[SIZES[0]],
                         values[SIZES[-1]]))
        if backend_name == 'redis':
            keys = {name: made['key'] for (name, limit, _), made
                    in zip(cases, last) if limit == SIZES[-1]}
            state = _redis_state_bytes(redis_server, theirs, keys)
        ours.close()
    print('\n3. Cost at a limit of 100/minute and of 10,000/minute (us per '
          'check; filling: from empty keys up to the limit; at the limit: '
          'every check refused)')
    print('   %-9s %-20s %-24s %9s %10s %7s' % (
        'backend', 'limiter', 'phase', '100/min', '10000/min', 'ratio'))
    for backend_name, limiter, phase, small, large in rows:
        print('   %-9s %-20s %-24s %9.2f %10.2f %6.2fx' % (
            backend_name, limiter, phase, small, large, large / small))
    print('   (goal: ours flat, ratio ~1.0)')
    if state:
        print('   Redis memory for one key at 10,000/minute, full: ours %d '
              'bytes (its counters), limits moving window %d bytes (the '
              'log)' % state)
    return rows, state


def _redis_state_bytes(redis_server, theirs, keys):
    """Bytes Redis holds for one key of ours and one of limits'."""
    client = redis.Redis(host=redis_server.host, port=redis_server.port)
    try:
        names = client.keys(redis_storage.counter_name(keys['ours'], 0)[:-1]
                            + '*')
        ours = sum(client.memory_usage(name) or 0 for name in names)
        log = client.memory_usage(theirs.prefixed_key(
            keys['limits moving window'])) or 0
    finally:
        client.close()
    return ours, log


class PymemcacheStorage(base.Storage):
    """The filter's counters through pymemcache's ``HashClient``.

    A benchmark stand-in for "the ecosystem's client": the calls a backend
    on pymemcache would make, with the client as oslo.cache builds it
    (``dogpile/cache/backends/memcached.py``, ``PyMemcacheBackend.
    _create_client``: ``pymemcache.client.hash.HashClient`` with its
    defaults, rendezvous hashing) plus ``use_pooling`` for a threaded
    service. Per hit, as ``SwiftCacheStorage`` does through Swift's
    MemcacheRing: ``incr`` (with ``add`` when the counter is missing) and
    ``get`` of the previous window: two round trips, where ``memcached://``
    needs one per server per request. Counter names are ours.
    """

    def __init__(self, address):
        from pymemcache.client import hash as pymemcache_hash
        host, port = address.rsplit(':', 1)
        self.client = pymemcache_hash.HashClient(
            [(host, int(port))], connect_timeout=TIMEOUT, timeout=TIMEOUT,
            use_pooling=True, default_noreply=False)

    def hit(self, hits, now=None):
        from opsext.ratelimit.storage import memcached
        now = time.time() if now is None else now
        counts = []
        for key, window_s in hits:
            index = int(now // window_s)
            name = memcached.counter_name(key, index)
            current = self.client.incr(name, 1)
            if current is None:
                self.client.add(name, b'0', expire=base.ttl(window_s))
                current = self.client.incr(name, 1)
            previous = self.client.get(
                memcached.counter_name(key, index - 1))
            counts.append(base.WindowCount(
                int(current), int(previous or 0), now - index * window_s))
        return counts


def bench_pipeline(quick, redis_server, requests=None):
    requests = requests or (300 if quick else 2500)
    filter_conf = {'use': 'egg:opsext#ratelimit', 'backend': 'memory://',
                   'rules': 'per_ip', 'rule_per_ip': RULE}
    with SwiftCluster(pipeline_filters=['opsext_ratelimit'], filter_conf={
            'opsext_ratelimit': filter_conf}) as cluster, \
            MemcachedServer() as backend:
        base_req = _common.object_to_get(cluster)
        with_memory = cluster.load_proxy_app()
        plain_path = _common.proxy_conf_variant(
            cluster, 'plain', ' opsext_ratelimit ', ' ')
        memcached_path = _common.proxy_conf_variant(
            cluster, 'memcached', 'backend = memory://',
            'backend = memcached://%s' % backend.address)
        swift_cache_path = _common.proxy_conf_variant(
            cluster, 'swift_cache', 'backend = memory://',
            'backend = swift.cache')
        redis_path = _common.proxy_conf_variant(
            cluster, 'redis', 'backend = memory://',
            'backend = ' + redis_server.url)
        plain = cluster.load_proxy_app(plain_path)
        control = cluster.load_proxy_app(plain_path)
        with_memcached = cluster.load_proxy_app(memcached_path)
        with_swift_cache = cluster.load_proxy_app(swift_cache_path)
        with_redis = cluster.load_proxy_app(redis_path)
        with_pymemcache = cluster.load_proxy_app(memcached_path)
        _filter_of(with_pymemcache).backend = PymemcacheStorage(
            backend.address)
        apps = [plain, control, with_memory, with_memcached,
                with_swift_cache, with_pymemcache, with_redis]
        for app, counts in zip(apps, (False, False, True, True, True,
                                      True, True)):
            resp = webob.Request.blank(base_req['path'], environ={
                'REMOTE_ADDR': '127.0.0.7'}, headers=base_req[
                    'headers']).get_response(app)
            if ('RateLimit' in resp.headers) != counts:
                raise RuntimeError('RateLimit header %s where the filter '
                                   'is %s' % ('present' if not counts else
                                              'missing', counts))
        _common.interleaved(apps, base_req, 50)
        errors = [0] * len(apps)
        rps = _common.interleaved(apps, base_req, requests, errors=errors)
        note = _fail_open_note(_filter_of(with_memory))
    (rps_plain, rps_control, rps_memory, rps_memcached, rps_swift_cache,
     rps_pymemcache, rps_redis) = rps
    print('\n4. Object GETs through the real proxy pipeline (req/s, %d '
          'each, interleaved)' % requests)
    print('   without filter          %8.1f' % rps_plain)
    print('   with filter, memory     %8.1f  ratio %.3f  (%+.0f us per '
          'request)' % (rps_memory, rps_memory / rps_plain,
                        (1 / rps_memory - 1 / rps_plain) * 1e6))
    print('   with filter, memcached  %8.1f  ratio %.3f  (%+.0f us per '
          'request)' % (rps_memcached, rps_memcached / rps_plain,
                        (1 / rps_memcached - 1 / rps_plain) * 1e6))
    print('   with filter, swift.cache %7.1f  ratio %.3f  (%+.0f us per '
          'request; Swift\'s MemcacheRing, 2 round trips)' % (
              rps_swift_cache, rps_swift_cache / rps_plain,
              (1 / rps_swift_cache - 1 / rps_plain) * 1e6))
    print('   with filter, pymemcache %8.1f  ratio %.3f  (%+.0f us per '
          'request; pymemcache HashClient, 2 round trips)' % (
              rps_pymemcache, rps_pymemcache / rps_plain,
              (1 / rps_pymemcache - 1 / rps_plain) * 1e6))
    print('   with filter, redis      %8.1f  ratio %.3f  (%+.0f us per '
          'request; redis-py, 1 round trip)' % (
              rps_redis, rps_redis / rps_plain,
              (1 / rps_redis - 1 / rps_plain) * 1e6))
    print('   memcached:// (ours) / swift.cache: %.3f; / HashClient:'
          ' %.3f' % (rps_memcached / rps_swift_cache,
                     rps_memcached / rps_pymemcache))
    print('   A/A control                       ratio %.3f  (the same plain'
          ' pipeline loaded twice: the noise)' % (rps_control / rps_plain))
    if any(errors):
        print('   500s sent again and left out, per pipeline in the order '
              'above (plain, A/A, memory, memcached, swift.cache, '
              'pymemcache, redis): %s' % errors)
    if note:
        print(note)
    return rps


def bench_redis_calls(quick, redis_server):
    """Cheaper ways through redis-py than the registered script's call?"""
    number, rounds = (200, 5) if quick else (1000, 15)
    backend = storage.from_uri(redis_server.url, TIMEOUT)
    hits = [base.Hit('calls-' + CLIENT, 60)]
    backend.hit(hits)
    client = backend.client
    script = backend._script
    prefix = 'opsext:{calls-%s}:' % CLIENT
    raw = redis.Redis(redis_server.host, redis_server.port)

    def pipelined():
        # What a script-free check would send: the server's time, the
        # increment, the expiry and the previous window, one round trip.
        pipe = client.pipeline(transaction=False)
        pipe.time()
        pipe.incr(prefix + '1')
        pipe.expire(prefix + '1', 121, nx=True)
        pipe.get(prefix + '0')
        pipe.execute()

    rows = [('raw INCR, redis-py on one connection', lambda: raw.incr('x')),
            ('ours: storage.hit (registered script)',
             lambda: backend.hit(hits)),
            ('the registered script\'s call alone',
             lambda: script(keys=[prefix], args=['', 60])),
            ('EVALSHA by hand (client.evalsha)',
             lambda: client.evalsha(script.sha, 1, prefix, '', 60)),
            ('pipeline, no transaction: TIME INCR EXPIRE NX GET', pipelined)]
    times = _common.interleaved_us([f for _n, f in rows], number, rounds)
    print('\n6. Redis through redis-py, ways to make one check (us/check, '
          'best block of %d, %d rounds interleaved)' % (number, rounds))
    for (name, _f), took in zip(rows, times):
        print('   %-52s %6.1f  %.2fx' % (name, took, took / times[0]))
    raw.close()
    backend.close()
    return times


def bench_load(memcached_server, redis_server):
    """8 worker processes x 32 threads, one key, limit 100, defaults."""
    print('\n5. Under load: 8 processes x 32 threads, 4 requests each, one '
          'key, limit 100, default settings (goal: exactly 100 accepted)')
    for name, uri in (('memcached', 'memcached://' + memcached_server.address),
                      ('redis', redis_server.url)):
        rule = 'load%d' % int(time.time() * 1000)
        statuses, took = ratelimit_load.run(
            {'backend': uri, 'rules': rule,
             'rule_' + rule: 'rates=100/hour key=ip'})
        print('   %-10s accepted %4d of %d  (%.2f s)' % (
            name, statuses[200], sum(statuses.values()), took))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true',
                        help='fewer iterations (a smoke run)')
    parser.add_argument('--only', choices=('pipeline', 'redis-calls'),
                        help='run one section only')
    parser.add_argument('--requests', type=int, default=None,
                        help='requests per variant in the pipeline section')
    args = parser.parse_args(argv)
    print('ratelimit benchmark (Python %s, limits %s, redis-py %s)' % (
        sys.version.split()[0], limits.__version__, redis.__version__))
    started = time.monotonic()
    if args.only:
        with RedisServer() as redis_server:
            if args.only == 'pipeline':
                bench_pipeline(args.quick, redis_server, args.requests)
            else:
                bench_redis_calls(args.quick, redis_server)
        print('\n(%.0f s)' % (time.monotonic() - started))
        return 0
    bench_memory(args.quick)
    with MemcachedServer() as memcached_server, \
            RedisServer() as redis_server:
        bench_shared(args.quick, memcached_server, redis_server)
        bench_sizes(args.quick, memcached_server, redis_server)
        bench_pipeline(args.quick, redis_server)
        bench_load(memcached_server, redis_server)
        bench_redis_calls(args.quick, redis_server)
    print('\n(%.0f s)' % (time.monotonic() - started))
    return 0


if __name__ == '__main__':
    sys.exit(main())
