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

"""Bad input to the filter: refused at load, naming the option."""

import uuid

import pytest
import webob

from opsext.exceptions import ConfigError
from opsext.ratelimit import middleware


def _app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']


def _filter(backend, rule, **conf):
    return middleware.filter_factory(
        {}, backend=backend, rules='r', rule_r=rule, timeout='2',
        __name__='rl', **conf)(_app)


def _statuses(filt, count, method='GET'):
    addr = '198.51.100.%d' % (uuid.uuid4().int % 250 + 1)
    return [webob.Request.blank('/', method=method, remote_addr=addr)
            .get_response(filt).status_int for _ in range(count)]


@pytest.mark.parametrize('option, conf', [
    ('rule_r', {'rule_r': 'rates=1/2100day key=ip'}),
    ('rule_r', {'rule_r': 'rates=1/minute;1/9999day key=ip'}),
    ('override_r', {'rule_r': 'rates=1/minute key=ip',
                    'override_r': 'ip=192.0.2.1: 5/3000day'}),
])
def test_memcached_refuses_a_window_it_cannot_hold(memcached_server, option,
                                                   conf):
    rule = conf.pop('rule_r')
    with pytest.raises(ConfigError) as caught:
        _filter('memcached://' + memcached_server.address, rule, **conf)
    assert caught.value.option == option
    assert str(caught.value).startswith('ratelimit [filter:rl]: ')
    assert '2038' in str(caught.value)


def test_swift_cache_refuses_a_window_memcached_cannot_hold():
    with pytest.raises(ConfigError, match="'rule_r'.*2038"):
        _filter('swift.cache', 'rates=1/2100day key=ip')


def test_memcached_counts_the_longest_windows_it_accepts(memcached_server):
    # Beyond 30 days: an absolute expiry, still before 2038.
    filt = _filter('memcached://' + memcached_server.address,
                   'rates=2/1000day key=ip')
    assert _statuses(filt, 3) == [200, 200, 429]


def test_redis_counts_a_window_memcached_cannot_hold(redis_server):
    filt = _filter(redis_server.url, 'rates=2/2100day key=ip')
    assert _statuses(filt, 3) == [200, 200, 429]


@pytest.mark.parametrize('backend', ['memcached', 'redis'])
def test_methods_match_case_sensitively(backend, request):
    if backend == 'memcached':
        uri = 'memcached://' + request.getfixturevalue(
            'memcached_server').address
    else:
        uri = request.getfixturevalue('redis_server').url
    filt = _filter(uri, 'rates=1/hour key=ip methods=PUT,purge')
    assert _statuses(filt, 3, 'put') == [200] * 3
    assert _statuses(filt, 2, 'PUT') == [200, 429]
    assert _statuses(filt, 2, 'purge') == [200, 429]
    assert _statuses(filt, 3, 'PURGE') == [200] * 3


def test_lowercase_standard_method_is_refused_naming_the_rule():
    with pytest.raises(ConfigError) as caught:
        _filter('memory://', 'rates=1/hour key=ip methods=put')
    assert caught.value.option == 'rule_r'
    assert 'case-sensitive' in str(caught.value)
