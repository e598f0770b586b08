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

"""Many API workers on one key: processes x threads through the filter.

Used by ``tests/functional/ratelimit/test_load.py`` and
``bench/bench_ratelimit.py``.

Each process is a worker with its own filter (as paste builds one per
worker), each thread a concurrent request; all send a bounded number of
requests under the same client address, so under one key.
"""

import collections
import multiprocessing
import threading
import time

import webob

from opsext.ratelimit import middleware


def _app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']


def _worker(conf, threads, per_thread, ready, start, results):
    filt = middleware.filter_factory({}, **conf)(_app)
    statuses = collections.Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def client():
        barrier.wait()
        mine = collections.Counter()
        for _ in range(per_thread):
            req = webob.Request.blank('/', remote_addr='203.0.113.7')
            mine[req.get_response(filt).status_int] += 1
        with lock:
            statuses.update(mine)

    pool = [threading.Thread(target=client) for _ in range(threads)]
    ready.put(True)
    start.wait(120)
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(120)
    results.put(dict(statuses))


def run(conf: dict, processes: int = 8, threads: int = 32,
        per_thread: int = 4) -> tuple:
    """Statuses of ``processes * threads * per_thread`` requests, summed.

    Returns ``(Counter of statuses, seconds taken)``.
    """
    # spawn: forking a process that has threads (or eventlet) is unsafe.
    ctx = multiprocessing.get_context('spawn')
    ready, start, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(
        conf, threads, per_thread, ready, start, results))
        for _ in range(processes)]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:  # each has built its filter
            ready.get(timeout=120)
    except BaseException:
        for worker in workers:
            worker.kill()
        raise
    began = time.monotonic()
    start.set()
    total = collections.Counter()
    try:
        for _ in workers:
            total.update(results.get(timeout=180))
    finally:
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()
    return total, time.monotonic() - began
