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

"""Exact under load, with default settings, against real servers.

8 worker processes x 32 threads, 4 requests each (1024 in all, a bounded
loop), one client address, so one key, limit 100: the shared backend must
let exactly 100 through. On a two-core machine the workers' threads wait
for the CPU far longer than the servers take to answer; before the
timeout measured the server, those waits were taken for server timeouts,
the server was marked down and each worker counted alone in memory
(120-900 accepted).
"""

import uuid

import pytest

from opsext.testing import ratelimit_load as load

PROCESSES, THREADS, PER_THREAD, LIMIT = 8, 32, 4, 100


@pytest.mark.parametrize('name', ['memcached', 'redis'])
def test_exact_under_load_with_default_settings(name, request):
    if name == 'memcached':
        uri = 'memcached://' + request.getfixturevalue(
            'memcached_server').address
    else:
        uri = request.getfixturevalue('redis_server').url
    rule = 'r' + uuid.uuid4().hex[:10]
    statuses, took = load.run(
        {'backend': uri, 'rules': rule,
         'rule_' + rule: 'rates=%d/hour key=ip' % LIMIT},
        PROCESSES, THREADS, PER_THREAD)
    assert sum(statuses.values()) == PROCESSES * THREADS * PER_THREAD
    assert statuses[200] == LIMIT, statuses
    assert statuses[429] == PROCESSES * THREADS * PER_THREAD - LIMIT
    assert took < 60
