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

"""Redis as production runs it: TLS, unix socket, ACL user, Sentinel,
Cluster; each a real redis-server (in sentinel or cluster mode) started
here on loopback, reached through the filter's ``backend`` URI.
"""

import logging
import os
import shutil
import tempfile
import uuid

import pytest
import redis as redis_py
import webob

from opsext.ratelimit import middleware
from opsext.ratelimit import storage
from opsext.ratelimit.storage import base
from opsext.ratelimit.storage import redis
from opsext.allinone.memcached import MemcachedServer
from opsext.allinone.process import free_port
from opsext.testing.redis import make_certificate
from opsext.testing.redis import RedisCluster
from opsext.testing.redis import RedisServer

PASSWORD = 'acl-s3cret'


def _app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']


@pytest.fixture(scope='module')
def tmpdir_short():
    # A unix socket path must stay under 108 bytes.
    path = tempfile.mkdtemp(prefix='rl-')
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope='module')
def tls(tmpdir_short):
    cert, key = make_certificate(tmpdir_short)
    port = free_port()
    with RedisServer(extra_args=[
            '--tls-port', str(port), '--tls-cert-file', cert,
            '--tls-key-file', key, '--tls-ca-cert-file', cert,
            '--tls-auth-clients', 'no']) as server:
        yield server, 'rediss://127.0.0.1:%d?ssl_ca_certs=%s' % (port, cert)


@pytest.fixture(scope='module')
def unix(tmpdir_short):
    path = os.path.join(tmpdir_short, 'redis.sock')
    with RedisServer(extra_args=['--unixsocket', path,
                                 '--unixsocketperm', '700']) as server:
        yield server, 'redis+unix://%s?db=1' % path


@pytest.fixture(scope='module')
def acl():
    with RedisServer() as server:
        # A user that may only touch the limiter's keys.
        reply = server.command(b'ACL', b'SETUSER', b'ratelimit', b'on',
                               b'>' + PASSWORD.encode(), b'~opsext:*',
                               b'+@all')
        assert reply == b'+OK'
        yield server, 'redis://ratelimit:%s@%s/0' % (PASSWORD,
                                                     server.address)


@pytest.fixture(scope='module')
def sentinel():
    with RedisServer() as master:
        with RedisServer(sentinel_monitor=('opsext-master', master.host,
                                           master.port)) as watcher:
            yield master, 'redis+sentinel://%s/opsext-master' % (
                watcher.address)


@pytest.fixture(scope='module')
def cluster():
    with RedisCluster(masters=3) as servers:
        yield servers, servers.url


DEPLOYMENTS = ['tls', 'unix', 'acl', 'sentinel', 'cluster']


@pytest.mark.parametrize('deployment', DEPLOYMENTS)
def test_workers_share_counters_through_each_deployment(deployment,
                                                        request):
    _server, uri = request.getfixturevalue(deployment)
    rule = 'r' + uuid.uuid4().hex[:8]
    conf = {'backend': uri, 'rules': '%s %s_m' % (rule, rule),
            'rule_' + rule: 'rates=2/hour key=ip',
            # A second key per request: on a cluster, in another slot.
            'rule_%s_m' % rule: 'rates=100/hour key=method',
            'fail_closed': 'true'}
    workers = [middleware.filter_factory({}, **conf)(_app)
               for _ in range(2)]
    statuses = [webob.Request.blank('/', remote_addr='192.0.2.7')
                .get_response(w).status_int for w in workers * 2]
    assert statuses == [200, 200, 429, 429]


def test_tls_certificate_is_verified(tls, caplog):
    server, uri = tls
    unverified = uri.split('?')[0]  # the system's CAs: not ours
    filt = middleware.filter_factory(
        {}, backend=unverified, rules='r', rule_r='rates=2/hour key=ip',
        fail_closed='true')(_app)
    with caplog.at_level(logging.WARNING):
        status = webob.Request.blank('/').get_response(filt).status_int
    assert status == 503
    assert any('certificate verify failed' in r.getMessage()
               for r in caplog.records)


def test_tls_server_sees_a_tls_client(tls):
    server, uri = tls
    backend = storage.from_uri(uri)
    key = 'tls-' + uuid.uuid4().hex
    assert [c.current for c in backend.hit([base.Hit(key, 60)]) +
            backend.hit([base.Hit(key, 60)])] == [1, 2]
    # The plain port holds the same counters: one server.
    client = redis_py.Redis(server.host, server.port)
    assert client.keys('opsext:{%s}:*' % key)


def test_acl_user_password_is_checked(acl, caplog):
    server, uri = acl
    wrong = uri.replace(PASSWORD, 'wrong-' + PASSWORD)
    filt = middleware.filter_factory(
        {}, backend=wrong, rules='r', rule_r='rates=2/hour key=ip',
        fail_closed='true')(_app)
    with caplog.at_level(logging.DEBUG):
        assert webob.Request.blank('/').get_response(filt).status_int == 503
    lines = [r.getMessage() for r in caplog.records]
    assert any('AuthenticationError' in line for line in lines)
    assert not any(PASSWORD in line for line in lines)


def test_cluster_counters_of_a_key_share_a_slot(cluster):
    servers, uri = cluster
    backend = storage.from_uri(uri + '?clock=client')
    client = backend.client
    now = 1_700_000_030.0
    index = int(now // 60)
    # Twelve keys with each master owning some (random keys leave one out
    # about once in fifty runs): bounded, each master takes a third.
    by_owner: dict = {}
    for i in range(300):
        key = 'k%d-%s' % (i, uuid.uuid4().hex)
        owner = client.get_node_from_key(redis.counter_name(key, index))
        by_owner.setdefault(owner.name, []).append(key)
        if len(by_owner) == 3 and i >= 11:
            break
    keys = [key for owned in by_owner.values() for key in owned]
    for at in (now - 60, now):
        backend.hit([base.Hit(key, 60) for key in keys], now=at)
    for key in keys:
        current = redis.counter_name(key, index)
        previous = redis.counter_name(key, index - 1)
        assert client.keyslot(current) == client.keyslot(previous)
        assert int(client.get(current)) == 1
        assert int(client.get(previous)) == 1
    # One call counted on all three masters, each key on its own master.
    for key in keys:
        node = client.get_node_from_key(redis.counter_name(key, index))
        direct = redis_py.Redis(node.host, node.port)
        assert int(direct.get(redis.counter_name(key, index))) == 1
    assert len(by_owner) == 3


def test_sentinel_names_the_master_it_follows(sentinel):
    master, uri = sentinel
    backend = storage.from_uri(uri)
    key = 'sentinel-' + uuid.uuid4().hex
    assert backend.hit([base.Hit(key, 60)])[0].current == 1
    # Counted on the master the Sentinel watches.
    assert redis_py.Redis(master.host, master.port).keys(
        'opsext:{%s}:*' % key)


@pytest.fixture(scope='module')
def memcached_tls(tmpdir_short):
    cert, key = make_certificate(tmpdir_short)
    port = free_port()
    with MemcachedServer(tls=(cert, key, port)) as server:
        yield server, 'memcached://127.0.0.1:%d?tls=true&ssl_ca_certs=%s' % (
            port, cert)


def test_memcached_over_tls(memcached_tls):
    server, uri = memcached_tls
    rule = 'r' + uuid.uuid4().hex[:8]
    conf = {'backend': uri, 'rules': rule, 'fail_closed': 'true',
            'rule_' + rule: 'rates=2/hour key=ip'}
    workers = [middleware.filter_factory({}, **conf)(_app)
               for _ in range(2)]
    statuses = [webob.Request.blank('/', remote_addr='192.0.2.8')
                .get_response(w).status_int for w in workers * 2]
    assert statuses == [200, 200, 429, 429]
    # Its statistics, over TLS too.
    assert workers[0].backend.evictions() is not None


def test_memcached_tls_verifies_the_certificate(memcached_tls, caplog):
    server, uri = memcached_tls
    filt = middleware.filter_factory(
        {}, backend=uri.split('&')[0], rules='r', fail_closed='true',
        rule_r='rates=2/hour key=ip')(_app)
    with caplog.at_level(logging.WARNING):
        assert webob.Request.blank('/').get_response(filt).status_int == 503
    assert any('CERTIFICATE_VERIFY_FAILED' in r.getMessage()
               or 'certificate verify failed' in r.getMessage()
               for r in caplog.records)
