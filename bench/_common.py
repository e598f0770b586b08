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


"""What the benchmarks share: timing loops and a Swift cluster to GET from.

Every loop here measures several things in turn, in the same run, so that
each benchmark can report ratios to a baseline rather than absolute times
(the backend servers share the machine's cores with the benchmark, and
with whatever else runs on it).
"""

import time
import timeit

from swift.common import swob


def per_call_us(func, number, repeat=5):
    """Microseconds per call of ``func``: the best of ``repeat`` runs."""
    best = min(timeit.repeat(func, number=number, repeat=repeat))
    return best / number * 1e6


def interleaved_us(funcs, number, rounds, setups=None):
    """Microseconds per call of each of ``funcs``, measured in turn.

    ``rounds`` times, a block of ``number`` calls of each function, one
    function after the other (each round starting one function further on,
    so that none always follows the same one); each gets the time of its
    best block. A burst of load elsewhere on the machine spoils a block of
    every function rather than all the blocks of one, so the ratios hold.
    ``setups``, if given, holds for each function None or a callable run
    (untimed) before each of its blocks.
    """
    setups = setups or [None] * len(funcs)
    best = [float('inf')] * len(funcs)
    for turn in range(rounds):
        for step in range(len(funcs)):
            index = (turn + step) % len(funcs)
            func, setup = funcs[index], setups[index]
            if setup is not None:
                setup()
            start = time.perf_counter()
            for _ in range(number):
                func()
            best[index] = min(best[index], time.perf_counter() - start)
    return [elapsed / number * 1e6 for elapsed in best]


def interleaved(apps, base, requests, remote_addr='127.0.0.7',
                expect=b'x', errors=None):
    """Requests per second of each app, requests sent round-robin.

    One request to each app in turn, so that whatever else the machine does
    (the backend servers share its cores) falls on all of them alike.

    :param errors: a list, one count per app, to tolerate a rare ``500``
        (Swift's own backends time out now and then on a loaded machine,
        with or without the filter): such a request is sent again, its
        time left out, and counted there. Without it, a 500 stops the run.
    """
    elapsed = [0.0] * len(apps)
    for _ in range(requests):
        for index, app in enumerate(apps):
            for _attempt in range(3):
                req = swob.Request.blank(base['path'], environ={
                    'REMOTE_ADDR': remote_addr}, headers=base['headers'])
                start = time.perf_counter()
                resp = req.get_response(app)
                body = resp.body
                took = time.perf_counter() - start
                if (errors is None or resp.status_int != 500
                        or sum(errors) >= max(3, requests // 500)):
                    break
                errors[index] += 1
            elapsed[index] += took
            if resp.status_int != 200 or body != expect:
                raise RuntimeError('app %d: unexpected %s: %r' % (
                    index, resp.status, body[:200]))
    return [requests / total for total in elapsed]


def object_to_get(cluster, container_headers=None):
    """Create container ``bench`` with object ``obj`` (body ``x``).

    :returns: ``{'path': ..., 'headers': ...}`` for a GET of the object
        with a tempauth token, as :func:`interleaved` takes it.
    """
    storage_url, token = cluster.get_token()
    account_path = storage_url.split(cluster.proxy_url, 1)[1]
    headers = {'X-Auth-Token': token}
    steps = [('PUT', '/bench', {}, b''), ('PUT', '/bench/obj', {}, b'x')]
    if container_headers:
        steps.append(('POST', '/bench', container_headers, b''))
    for method, path, extra, body in steps:
        status, _, _ = cluster.request(
            method, account_path + path, dict(headers, **extra), body)
        if status // 100 != 2:
            raise RuntimeError('%s %s: %s' % (method, path, status))
    return {'path': account_path + '/bench/obj', 'headers': headers}


def proxy_conf_variant(cluster, suffix, old, new):
    """A copy of the cluster's proxy config with ``old`` replaced by ``new``.

    :returns: its path, for ``cluster.load_proxy_app``.
    """
    with open(cluster.proxy_conf_path) as fp:
        conf = fp.read()
    if old not in conf:
        raise RuntimeError('%r is not in %s' % (old, cluster.proxy_conf_path))
    path = '%s.%s' % (cluster.proxy_conf_path, suffix)
    with open(path, 'w') as fp:
        fp.write(conf.replace(old, new))
    return path
