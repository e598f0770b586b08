"""The rate limiter inside a real Swift cluster.

The filter sits right after tempauth; its counters live in a memcached of
its own, shared by every proxy of a test.
"""

import concurrent.futures
import configparser
import http.client
import io
import urllib.parse
import uuid

import pytest
from swift.common import swob
from swiftclient import client as swiftclient

from opsext.allinone.memcached import MemcachedServer
from opsext.testing.statsd import StatsdListener
from opsext.allinone import transport as swift_http
from tests.functional.ratelimit.swift_proxies import extra_proxy

SECTION = 'filter:opsext_ratelimit'
LIMIT = 5


@pytest.fixture(scope='session')
def swift_rl_memcached():
    with MemcachedServer() as server:
        yield server


@pytest.fixture(scope='session')
def rl_cluster(swift_cluster_factory, swift_rl_memcached):
    return swift_cluster_factory(
        pipeline_filters=['opsext_ratelimit'],
        filter_conf={'opsext_ratelimit': {
            'use': 'egg:opsext#ratelimit',
            'backend': 'memcached://' + swift_rl_memcached.address,
            'rules': 'writes',
            'rule_writes': 'rates=%d/hour key=account,container '
                           'methods=PUT,POST,DELETE' % LIMIT,
            'x_ratelimit_headers': 'true',
        }})


@pytest.fixture(scope='session')
def auth(rl_cluster):
    storage_url, token = rl_cluster.get_token()
    return storage_url.split(rl_cluster.proxy_url, 1)[1], {
        'X-Auth-Token': token}


def _container(rl_cluster, auth):
    """A fresh container; creating it is the first counted write."""
    account_path, headers = auth
    path = '%s/rl-%s' % (account_path, uuid.uuid4().hex[:10])
    assert rl_cluster.request('PUT', path, headers)[0] == 201
    return path


def test_swift_client_gets_429_with_headers(rl_cluster, auth):
    path = _container(rl_cluster, auth)
    statuses = [rl_cluster.request('PUT', '%s/o%d' % (path, i), auth[1],
                                   b'x')[0] for i in range(LIMIT)]
    assert statuses == [201] * (LIMIT - 1) + [429]
    status, headers, body = rl_cluster.request('PUT', path + '/late',
                                               auth[1], b'x')
    assert status == 429
    assert int(headers['Retry-After']) > 0
    assert headers['RateLimit-Policy'] == '"writes-3600";q=%d;w=3600' % LIMIT
    assert headers['RateLimit'].startswith('"writes-3600";r=0;t=')
    assert headers['X-RateLimit-Limit'] == str(LIMIT)
    assert b'Rate limit exceeded' in body
    assert rl_cluster.request('HEAD', path + '/late', auth[1])[0] == 404


def test_swift_success_carries_remaining(rl_cluster, auth):
    path = _container(rl_cluster, auth)
    status, headers, _ = rl_cluster.request('PUT', path + '/o', auth[1],
                                            b'x')
    assert status == 201
    assert headers['RateLimit'].startswith('"writes-3600";r=%d;'
                                           % (LIMIT - 2))


def test_swift_reads_are_not_counted(rl_cluster, auth):
    path = _container(rl_cluster, auth)
    for _ in range(LIMIT * 2):
        assert rl_cluster.request('GET', path, auth[1])[0] in (200, 204)
    assert rl_cluster.request('PUT', path + '/o', auth[1], b'x')[0] == 201


def _swiftclient(rl_cluster, **kwargs):
    return swiftclient.Connection(authurl=rl_cluster.auth_url,
                                  user='test:tester', key='testing',
                                  **kwargs)


def test_swiftclient_without_retries_raises_429(rl_cluster, auth):
    container = _container(rl_cluster, auth).rsplit('/', 1)[1]
    conn = _swiftclient(rl_cluster, retries=0)
    for i in range(LIMIT - 1):
        conn.put_object(container, 'o%d' % i, b'x')
    with pytest.raises(swiftclient.ClientException) as info:
        conn.put_object(container, 'over', b'x')
    assert info.value.http_status == 429
    assert int(info.value.http_response_headers['Retry-After']) > 0


def test_swiftclient_retries_429_on_its_own_backoff(rl_cluster, auth):
    # python-swiftclient retries 429 (retry_on_ratelimit) with its own
    # exponential backoff, ignoring Retry-After; every retry is counted and
    # refused too, and it gives up after `retries`.
    container = _container(rl_cluster, auth).rsplit('/', 1)[1]
    conn = _swiftclient(rl_cluster, retries=2, starting_backoff=0.01)
    for i in range(LIMIT - 1):
        conn.put_object(container, 'o%d' % i, b'x')
    with pytest.raises(swiftclient.ClientException) as info:
        # A seekable body, so that swiftclient can send it again.
        conn.put_object(container, 'over', io.BytesIO(b'x'))
    assert info.value.http_status == 429
    assert conn.attempts == 3


def test_swiftclient_retry_on_ratelimit_off(rl_cluster, auth):
    container = _container(rl_cluster, auth).rsplit('/', 1)[1]
    conn = _swiftclient(rl_cluster, retries=5, retry_on_ratelimit=False)
    for i in range(LIMIT - 1):
        conn.put_object(container, 'o%d' % i, b'x')
    with pytest.raises(swiftclient.ClientException):
        conn.put_object(container, 'over', b'x')
    assert conn.attempts == 1


def test_unauthenticated_requests_cannot_spend_account_writes(rl_cluster,
                                                              auth):
    # tempauth refuses a request without a token only when the proxy calls
    # swift.authorize, after this filter ran: account and container rules
    # are counted then, so only requests auth lets through spend them.
    path = _container(rl_cluster, auth)
    for _ in range(LIMIT * 2):
        assert rl_cluster.request('PUT', path + '/x', {}, b'x')[0] == 401
    assert rl_cluster.request('PUT', path + '/o', auth[1], b'x')[0] == 201


def test_other_accounts_user_cannot_spend_account_writes(rl_cluster, auth):
    path = _container(rl_cluster, auth)
    _url, other = rl_cluster.get_token('test2:tester2', 'testing2')
    for _ in range(LIMIT * 2):
        status = rl_cluster.request('PUT', path + '/x',
                                    {'X-Auth-Token': other}, b'x')[0]
        assert status == 403
    assert rl_cluster.request('PUT', path + '/o', auth[1], b'x')[0] == 201


def _put(url, path, headers):
    """One PUT to the proxy at ``url``; its status."""
    parsed = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port,
                                      timeout=30)
    try:
        conn.request('PUT', path, b'x', headers)
        return conn.getresponse().status
    finally:
        conn.close()


def _hammer(urls, path, headers, total):
    """PUT ``total`` objects, spread over the proxies and 8 threads."""
    def put(index):
        return _put(urls[index % len(urls)], '%s/o%d' % (path, index),
                    headers)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(put, range(total)))


@pytest.mark.parametrize('backend', ['memcached', 'redis', 'swift.cache'])
def test_two_proxies_share_one_limit_exactly(rl_cluster, auth, backend,
                                             swift_rl_memcached, request):
    if backend == 'memcached':
        uri = 'memcached://' + swift_rl_memcached.address
    elif backend == 'redis':
        uri = request.getfixturevalue('swift_rl_redis').url
    else:
        # The memcached servers of the proxies' own cache filter.
        uri = 'swift.cache'
    limit = 40
    updates = {SECTION: {
        'backend': uri,
        'rule_writes': 'rates=%d/hour key=account,container '
                       'methods=PUT' % limit}}
    path = '%s/rl-%s' % (auth[0], uuid.uuid4().hex[:10])
    with extra_proxy(rl_cluster, backend + '-a', updates) as url_a, \
            extra_proxy(rl_cluster, backend + '-b', updates) as url_b:
        # The container PUT is the first counted write.
        assert _put(url_a, path, auth[1]) == 201
        statuses = _hammer([url_a, url_b], path, auth[1], 120)
    assert statuses.count(201) == limit - 1
    assert statuses.count(429) == 120 - (limit - 1)


@pytest.fixture(scope='session')
def swift_rl_redis():
    from opsext.testing.redis import RedisServer
    with RedisServer() as server:
        yield server


def test_swift_statsd_counters(rl_cluster, auth, tmp_path):
    wanted = {'opsext_ratelimit.allowed', 'opsext_ratelimit.limited'}
    with StatsdListener() as statsd:
        parser = configparser.RawConfigParser()
        parser.optionxform = str
        parser.read(rl_cluster.proxy_conf_path)
        parser.set(SECTION, 'backend', 'memory://')
        parser.set(SECTION, 'rule_writes', 'rates=1/hour '
                   'key=account,container methods=PUT')
        parser.set(SECTION, 'log_statsd_host', '127.0.0.1')
        parser.set(SECTION, 'log_statsd_port', str(statsd.port))
        path = str(tmp_path / 'proxy-statsd.conf')
        with open(path, 'w') as fp:
            parser.write(fp)
        app = rl_cluster.load_proxy_app(path)
        container = '%s/rl-%s' % (auth[0], uuid.uuid4().hex[:10])
        url = rl_cluster.proxy_url + container
        assert swift_http.wsgi_request(app, url, 'PUT', auth[1], b'',
                                       None, '127.0.0.1')[0] == 201
        assert swift_http.wsgi_request(app, url + '/o', 'PUT', auth[1], b'x',
                                       None, '127.0.0.1')[0] == 429
        assert wanted <= statsd.collect(wanted)


def test_swift_429_has_one_set_of_headers_for_all_rules(rl_cluster, auth,
                                                        tmp_path):
    # An ip rule is counted on arrival, the account rule once Swift
    # authorizes: the answer still carries one RateLimit-Policy with both.
    parser = configparser.RawConfigParser()
    parser.optionxform = str
    parser.read(rl_cluster.proxy_conf_path)
    parser.set(SECTION, 'backend', 'memory://')
    parser.set(SECTION, 'rules', 'writes per_ip')
    parser.set(SECTION, 'rule_writes', 'rates=1/hour key=account,container '
               'methods=PUT')
    parser.set(SECTION, 'rule_per_ip', 'rates=100/minute key=ip')
    path = str(tmp_path / 'proxy-two-rules.conf')
    with open(path, 'w') as fp:
        parser.write(fp)
    app = rl_cluster.load_proxy_app(path)
    container = '%s/rl-%s' % (auth[0], uuid.uuid4().hex[:10])

    def put(sub):
        captured = {}

        def start_response(status, headers, exc_info=None):
            captured['status'], captured['headers'] = status, headers
        environ = swob.Request.blank(container + sub, environ={
            'REQUEST_METHOD': 'PUT', 'REMOTE_ADDR': '127.0.0.1'},
            headers=auth[1], body=b'x').environ
        b''.join(app(environ, start_response))
        return captured['status'], captured['headers']
    put('')
    status, headers = put('/o')
    assert status.startswith('429')
    policies = [v for k, v in headers if k.lower() == 'ratelimit-policy']
    assert policies == ['"writes-3600";q=1;w=3600,"per_ip-60";q=100;w=60'] \
        or policies == ['"per_ip-60";q=100;w=60,"writes-3600";q=1;w=3600']
    limits = [v for k, v in headers if k.lower() == 'ratelimit']
    assert len(limits) == 1 and limits[0].startswith('"writes-3600";r=0;')
