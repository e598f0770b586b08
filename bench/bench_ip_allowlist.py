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


"""Benchmark ip_allowlist; every figure is a ratio to a baseline of the run.

1. Decision cost per request, in microseconds, with allowlists of 1 and 90
   networks (container metadata) and 10,000 networks (operator_cidrs), the
   container info already in the request's infocache as the proxy leaves
   it. Baseline: a naive linear scan of the same list with ipaddress
   objects, measured in the same run (goal: flat, <= 5 us at 10,000 and
   >= 50x faster than the scan there). The matcher alone (NetworkSet) is
   reported too.
2. Requests per second through the real proxy pipeline (a real all-in-one
   Swift cluster; the pipeline loaded in-process, object GETs on a locked
   container from an allowed address, container info cached) with and
   without the filter, one request to each in turn (goal: >= 0.97). The
   plain pipeline loaded a second time is an A/A control: its ratio shows
   the noise of the measurement.
3. Requests that are refused, through the same real pipeline: 1,100
   containers (more than the parse cache holds), each with an allowlist
   near Swift's 4 KiB metadata limit (about 480 entries), requests cycling
   through all of them. Anonymous requests (refused by tempauth; goal:
   <= 1.2x the pipeline without the filter), and requests with a valid
   token from a denied address: refused by the filter after it parsed the
   list, against the same requests without the filter (which reach the
   object servers). An A/A control again.

Run it with ``tox -e bench``; ``--quick`` for a short run.
"""

import argparse
import ipaddress
import random
import sys
import time

import _common  # bench/_common.py, beside this script
from swift.common import swob

from opsext import net
from opsext.swift import ip_allowlist
from opsext.allinone.cluster import SwiftCluster


def _random_networks(count, rng):
    networks = set()
    while len(networks) < count:
        prefix = rng.randint(16, 30)
        address = rng.getrandbits(32) & ~((1 << (32 - prefix)) - 1)
        networks.add(ipaddress.IPv4Network((address, prefix)))
    return sorted(networks)


class _NoBackend:
    """The app right of the filter; never reached (info is cached)."""

    def __call__(self, env, start_response):
        raise AssertionError('benchmark reached the backend')


def _decision_env(container_meta):
    path = '/v1/AUTH_bench/c/o'
    env = swob.Request.blank(path, environ={
        'REMOTE_ADDR': '198.51.100.7'}).environ
    env['swift.infocache'] = {
        'account/AUTH_bench': {'status': 204, 'meta': {}},
        'container/AUTH_bench/c': {'status': 204, 'meta': container_meta,
                                   'storage_policy': '0'},
    }
    return env


def bench_decision(quick):
    rng = random.Random(42)
    number = 2000 if quick else 20000
    client = ipaddress.ip_address('198.51.100.7')
    rows = []
    for size, where in ((1, 'container'), (90, 'container'),
                        (10000, 'operator_cidrs')):
        networks = _random_networks(size, rng)
        networks = [n for n in networks if client not in n]
        networks[-1] = ipaddress.ip_network('198.51.100.7/32')
        text = ' '.join(str(n) for n in networks)
        if where == 'container':
            per_key = max(1, len(networks) // 90)
            meta = {'allow-%02d' % (i // per_key): ' '.join(
                str(n) for n in networks[i:i + per_key])
                for i in range(0, len(networks), per_key)}
            conf = {}
        else:
            meta = {'allow-x': '192.0.2.1'}
            conf = {'operator_cidrs': text}
        filt = ip_allowlist.IPAllowlistMiddleware(_NoBackend(), conf)
        env = _decision_env(meta)
        assert filt.check(env, client, None) is None

        def decide():
            filt.check(env, client, None)

        def scan():
            return any(client in n for n in networks)

        netset = net.NetworkSet(networks)
        decision = _common.per_call_us(decide, number)
        matcher = _common.per_call_us(lambda: client in netset, number * 5)
        naive = _common.per_call_us(
            scan, max(10, number // max(1, size // 10)))
        rows.append((size, where, decision, matcher, naive))
    print('\n1. Decision cost (us per request; lower is better)')
    print('%8s %-15s %10s %10s %12s %10s' % (
        'networks', 'where', 'decision', 'matcher', 'linear scan',
        'scan/dec.'))
    for size, where, decision, matcher, naive in rows:
        print('%8d %-15s %10.2f %10.2f %12.2f %9.1fx' % (
            size, where, decision, matcher, naive, naive / decision))
    return rows


def bench_pipeline(quick):
    requests = 300 if quick else 3000
    with SwiftCluster(pipeline_filters=['ip_allowlist'], filter_conf={
            'ip_allowlist': {'use': 'egg:opsext#ip_allowlist'}}) as cluster:
        base = _common.object_to_get(cluster, {
            'X-Container-Meta-Allow-Bench': '127.0.0.7'})
        with_filter = cluster.load_proxy_app()
        plain_path = _common.proxy_conf_variant(
            cluster, 'plain', ' ip_allowlist ', ' ')
        plain = cluster.load_proxy_app(plain_path)
        control = cluster.load_proxy_app(plain_path)
        _common.interleaved([plain, control, with_filter], base, 50)
        rps_plain, rps_control, rps_with = _common.interleaved(
            [plain, control, with_filter], base, requests)
    print('\n2. Object GETs through the real proxy pipeline, info cached'
          ' (req/s, %d each, interleaved)' % requests)
    print('   without filter %8.1f' % rps_plain)
    print('   with filter    %8.1f' % rps_with)
    print('   ratio          %8.3f  (goal >= 0.97)' % (rps_with / rps_plain))
    print('   A/A control    %8.3f  (the same plain pipeline loaded twice:'
          ' the noise)' % (rps_control / rps_plain))
    return rps_with / rps_plain


def _big_allowlist(rng):
    """Allowlist metadata near the 4 KiB limit: 15 items of ~250 bytes,
    short addresses (``1.2.3.4``), so about 480 entries."""
    headers = {}
    for item in range(15):
        entries = []
        while len(','.join(entries)) < 240:
            entries.append('.'.join(str(rng.randint(1, 9))
                                    for _ in range(4)))
        headers['X-Container-Meta-Allow-%02d' % item] = ','.join(entries)
    return headers


def _cycle(apps, paths, headers, remote_addr, expect, rounds):
    """Seconds per request of each app, over every path, interleaved."""
    elapsed = [0.0] * len(apps)
    for _ in range(rounds):
        for path in paths:
            for index, app in enumerate(apps):
                req = swob.Request.blank(path, headers=headers, environ={
                    'REMOTE_ADDR': remote_addr})
                start = time.perf_counter()
                resp = req.get_response(app)
                resp.body
                elapsed[index] += time.perf_counter() - start
                if resp.status_int != expect:
                    raise RuntimeError('app %d: %s for %s, expected %d'
                                       % (index, resp.status, path, expect))
    count = rounds * len(paths)
    return [total / count * 1e6 for total in elapsed]


def bench_refused(quick):
    count = 110 if quick else 1100
    rng = random.Random(9)
    with SwiftCluster(pipeline_filters=['ip_allowlist'], filter_conf={
            'ip_allowlist': {'use': 'egg:opsext#ip_allowlist'}}) as cluster:
        storage_url, token = cluster.get_token()
        account_path = storage_url.split(cluster.proxy_url, 1)[1]
        auth = {'X-Auth-Token': token}
        entries = 0
        for index in range(count):
            meta = _big_allowlist(rng)
            entries = sum(len(v.split(',')) for v in meta.values())
            headers = dict(auth, **meta)
            status, _, _ = cluster.request(
                'PUT', '%s/c%04d' % (account_path, index), headers)
            if status // 100 != 2:
                raise RuntimeError('container PUT: %s' % status)
        paths = ['%s/c%04d/obj' % (account_path, i) for i in range(count)]
        with_filter = cluster.load_proxy_app()
        plain_path = _common.proxy_conf_variant(
            cluster, 'plain', ' ip_allowlist ', ' ')
        plain = cluster.load_proxy_app(plain_path)
        control = cluster.load_proxy_app(plain_path)
        apps = [plain, control, with_filter]
        _cycle(apps, paths, {}, '192.0.2.1', 401, 1)    # fill the caches
        anonymous = _cycle(apps, paths, {}, '192.0.2.1', 401, 1 if quick
                           else 3)
        # The same requests with a valid token: without the filter they
        # reach the object servers (404, no such object); with it they
        # are refused after the list is parsed (the parse cache holds
        # fewer lists than there are containers).
        _cycle(apps[2:], paths, auth, '192.0.2.1', 403, 1)
        served = _cycle(apps[:1], paths, auth, '192.0.2.1', 404, 1)[0]
        denied = _cycle(apps[2:], paths, auth, '192.0.2.1', 403, 1)[0]
    print('\n3. Refused requests, %d containers with ~4 KiB allowlists '
          '(%d entries each), cycled (us per request)' % (count, entries))
    print('   anonymous, without filter %8.1f' % anonymous[0])
    print('   anonymous, with filter    %8.1f' % anonymous[2])
    print('   ratio                     %8.3f  (goal <= 1.2)'
          % (anonymous[2] / anonymous[0]))
    print('   A/A control               %8.3f'
          % (anonymous[1] / anonymous[0]))
    print('   token, without filter     %8.1f  (404 from the object '
          'server)' % served)
    print('   token, denied by filter   %8.1f  ratio %.3f (the list parsed '
          'each time)' % (denied, denied / served))
    return anonymous[2] / anonymous[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true',
                        help='fewer iterations (a smoke run)')
    args = parser.parse_args(argv)
    print('ip_allowlist benchmark (Python %s)' % sys.version.split()[0])
    bench_decision(args.quick)
    bench_pipeline(args.quick)
    bench_refused(args.quick)
    return 0


if __name__ == '__main__':
    sys.exit(main())
