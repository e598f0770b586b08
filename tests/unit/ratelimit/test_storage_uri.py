"""Storage URIs: what each backend accepts, and errors naming the problem.

Building a shared backend connects to nothing, so no server is needed.
"""

import pytest
import redis as redis_py

from opsext.ratelimit import storage
from opsext.ratelimit.storage import memcached
from opsext.ratelimit.storage import memory
from opsext.ratelimit.storage import redis


def test_memory_uri():
    assert isinstance(storage.from_uri('memory://'), memory.MemoryStorage)


def test_unknown_scheme_names_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown scheme 'mongodb'.*"
                                         r"memory://, memcached://, redis://"):
        storage.from_uri('mongodb://127.0.0.1:27017')


# memcached://

def test_memcached_uri_gives_servers_in_order():
    backend = storage.from_uri(
        'memcached://10.0.0.2:11211,10.0.0.1:11212,[::1]:11213',
        timeout=0.2)
    assert isinstance(backend, memcached.MemcachedStorage)
    assert [s.name for s in backend.servers] == [
        '10.0.0.2:11211', '10.0.0.1:11212', '[::1]:11213']
    assert backend.timeout == 0.2
    assert backend.server_clock is False


def test_memcached_uri_scheme_is_case_insensitive_and_allows_a_slash():
    assert memcached.parse_uri('MEMCACHED://cache.example:11211/') == [
        ('cache.example', 11211)]


@pytest.mark.parametrize('uri, problem', [
    ('memcached://', 'empty server address'),
    ('memcached://,', 'empty server address'),
    ('memcached://h1:11211,', 'empty server address'),
    ('memcached://h1:11211,,h2:11211', 'empty server address'),
    ('memcached://h1', "server 'h1' has no port"),
    ('memcached://h1:', "bad port ''"),
    ('memcached://h1:0', "bad port '0'"),
    ('memcached://h1:65536', "bad port '65536'"),
    ('memcached://h1:-1', "bad port '-1'"),
    ('memcached://h1:11211x', "bad port '11211x'"),
    ('memcached://h1:\u0661\u0662', "bad port"),
    ('memcached://:11211', "bad host ''"),
    ('memcached://::1:11211', 'IPv6 server .* needs brackets'),
    ('memcached://[::1]', 'has no port'),
    ('memcached://h1:11211/0', 'no path allowed'),
    ('memcached://h1:11211?timeout=1', "unknown or repeated option "
     "'timeout'"),
    ('memcached://h1:11211?tls=yes', 'tls must be true or false'),
    ('memcached://h1:11211?ssl_ca_certs=/x', 'need tls=true'),
    ('memcached://h1:11211?tls=true&ssl_ca_certs=/no/such/ca.pem',
     'TLS: '),
    ('memcached://h1:11211#x', 'no fragment allowed'),
    ('memcached://user:pw@h1:11211', 'no credentials allowed'),
    ('memcached://h1:11211,h1:11211', 'server h1:11211 is listed twice'),
    ('memcache://h1:11211', 'must begin with memcached://'),
    ('h1:11211', 'must begin with memcached://'),
])
def test_memcached_uri_errors_name_the_problem(uri, problem):
    with pytest.raises(ValueError, match=problem) as caught:
        memcached.MemcachedStorage.from_uri(uri)
    assert repr(storage.redact_uri(uri)) in str(caught.value)
    assert ':pw@' not in str(caught.value)


@pytest.mark.parametrize('option, value', [
    ('timeout', 0), ('timeout', -1), ('retry_interval', -0.5)])
def test_memcached_bad_timeouts(option, value):
    with pytest.raises(ValueError, match=option):
        memcached.MemcachedStorage([('127.0.0.1', 11211)], **{option: value})


def test_memcached_needs_a_server():
    with pytest.raises(ValueError, match='no server'):
        memcached.MemcachedStorage([])


def test_memcached_counter_names_are_safe_for_memcached():
    for key in ('a b', 'x' * 5000, 'new\nline\r\n', 'nul\x00', '\u2603'):
        name = memcached.counter_name(key, 28333333)
        assert len(name) < 250
        assert name.isascii() and name.isprintable() and ' ' not in name
    assert memcached.counter_name('a', 1) != memcached.counter_name('b', 1)
    assert memcached.counter_name('a', 1) != memcached.counter_name('a', 2)


# redis://

def test_redis_uri_defaults():
    assert redis.parse_uri('redis://127.0.0.1') == {
        'kind': 'single', 'name': 'redis://127.0.0.1', 'clock': 'server',
        'client': {'host': '127.0.0.1', 'port': 6379, 'db': 0}}
    backend = storage.from_uri('redis://127.0.0.1:6380', timeout=0.3)
    assert isinstance(backend, redis.RedisStorage)
    assert backend.server_clock is True
    assert backend.timeout == 0.3
    assert backend.address == 'redis://127.0.0.1:6380'


def test_redis_uri_with_everything():
    options = redis.parse_uri('redis://:s%40cret@[::1]:6380/3?clock=client')
    assert options['client'] == {'host': '::1', 'port': 6380, 'db': 3,
                                 'password': 's@cret'}
    assert options['clock'] == 'client'
    assert options['name'] == 'redis://:***@[::1]:6380/3?clock=client'
    assert redis.parse_uri('redis://me:pw@h/0?clock=server')['client'] == {
        'host': 'h', 'port': 6379, 'password': 'pw', 'username': 'me',
        'db': 0}
    # A lone word before @ is requirepass's password, not a user.
    assert redis.parse_uri('redis://pw@h')['client']['password'] == 'pw'


def test_rediss_uri_takes_tls_options():
    client = redis.parse_uri(
        'rediss://u:p@h:6390/1?ssl_ca_certs=/etc/ca.pem&ssl_certfile=/c'
        '&ssl_keyfile=/k&ssl_cert_reqs=required&ssl_check_hostname=false'
    )['client']
    assert client == {'host': 'h', 'port': 6390, 'db': 1, 'ssl': True,
                      'username': 'u', 'password': 'p',
                      'ssl_ca_certs': '/etc/ca.pem', 'ssl_certfile': '/c',
                      'ssl_keyfile': '/k', 'ssl_cert_reqs': 'required',
                      'ssl_check_hostname': False}


def test_redis_unix_uri():
    options = redis.parse_uri('redis+unix:///run/redis/redis.sock?db=2')
    assert options['client'] == {'unix_socket_path': '/run/redis/redis.sock',
                                 'db': 2}


def test_redis_sentinel_uri():
    options = redis.parse_uri(
        'redis+sentinel://:pw@s1:26379,s2,[::1]:26380/mymaster/1'
        '?sentinel_password=spw')
    assert options['kind'] == 'sentinel'
    assert options['nodes'] == [('s1', 26379), ('s2', 26379),
                                ('::1', 26380)]
    assert options['service'] == 'mymaster'
    assert options['client'] == {'password': 'pw', 'db': 1}
    assert options['sentinel'] == {'password': 'spw'}
    assert 'spw' not in options['name'] and ':pw@' not in options['name']


def test_redis_cluster_uri():
    options = redis.parse_uri('redis+cluster://alice:pw@n1:7000,n2')
    assert options['kind'] == 'cluster'
    assert options['nodes'] == [('n1', 7000), ('n2', 6379)]
    assert options['client'] == {'username': 'alice', 'password': 'pw'}


def test_redis_client_clock_is_not_a_server_clock():
    backend = storage.from_uri('redis://127.0.0.1:6380?clock=client')
    assert backend.server_clock is False


@pytest.mark.parametrize('uri, problem', [
    ('redis://', 'no host'),
    ('redis://:6379', 'no host'),
    ('redis://h:0', 'bad port 0'),
    ('redis://h:65536', 'out of range'),
    ('redis://h:port', 'Port could not be cast'),
    ('redis://h1:6379,h2:6379', 'one server only'),
    ('redis://h:6379/x', "bad database 'x'"),
    ('redis://h:6379/-1', "bad database '-1'"),
    ('redis://h:6379/0/1', "bad database '0/1'"),
    ('redis://h:6379?clock=ntp', "bad clock 'ntp'"),
    ('redis://h:6379?clock=', "bad clock ''"),
    ('redis://h:6379?db=1', "unknown option 'db'"),
    ('redis://h:6379?ssl_ca_certs=/x', "unknown option 'ssl_ca_certs'"),
    ('redis://h:6379?clock', 'bad query'),
    ('redis://h:6379?clock=server&clock=client', 'given twice'),
    ('redis://h:6379#x', 'a fragment is not supported'),
    ('rediss://h?ssl_cert_reqs=optional', "bad ssl_cert_reqs"),
    ('rediss://h?ssl_check_hostname=1', "bad ssl_check_hostname"),
    ('redis+unix://h/run/redis.sock', 'an absolute path'),
    ('redis+unix:///', 'an absolute path'),
    ('redis+unix:///run/redis.sock?db=x', "bad database 'x'"),
    ('redis+sentinel://s1:26379', 'name the master'),
    ('redis+sentinel://s1:26379,/m', 'no host'),
    ('redis+cluster://n1:7000/0', 'a cluster has no database'),
    ('redis+cluster://n1:7000?ssl_ca_certs=x', 'unknown option'),
    ('redis+ssl://h:6379', 'must begin with one of'),
    ('unix:///run/redis.sock', 'must begin with one of'),
])
def test_redis_uri_errors_name_the_problem(uri, problem):
    with pytest.raises(ValueError, match=problem) as caught:
        redis.RedisStorage.from_uri(uri)
    assert repr(uri) in str(caught.value)


@pytest.mark.parametrize('option, value', [
    ('retry_interval', -1), ('clock', 'local')])
def test_redis_bad_options(option, value):
    with pytest.raises(ValueError, match=option):
        redis.RedisStorage(redis_py.Redis(), 'r', **{option: value})


def test_redis_bad_timeout():
    with pytest.raises(ValueError, match='timeout'):
        redis.RedisStorage.from_uri('redis://h', timeout=0)


def test_redis_counter_names_share_a_cluster_hash_tag():
    # Both counters of a key hash on the whole key, whatever it holds.
    for key in ('a', '}', '}x{', 'a}b', '%7D', '{tag}'):
        current = redis.counter_name(key, 10)
        previous = redis.counter_name(key, 9)
        tag = current[current.index('{') + 1:current.index('}')]
        assert tag and previous.startswith('opsext:{%s}:' % tag)
    assert redis.counter_name('}', 1) != redis.counter_name('%7D', 1)


@pytest.mark.parametrize('uri, shown', [
    ('redis://:s3cret@h:6379/0', 'redis://:***@h:6379/0'),
    ('redis://alice:s3cret@h:6379/0', 'redis://alice:***@h:6379/0'),
    ('redis://s3cret@h:6379', 'redis://***@h:6379'),
    ('redis://u:p/w?x#y@h:6379', 'redis://u:***@h:6379'),
    ('redis://u:p@ss@h', 'redis://u:***@h'),
    ('redis+sentinel://:s3cret@h1:26379,h2:26379/mymaster',
     'redis+sentinel://:***@h1:26379,h2:26379/mymaster'),
    ('rediss://h:6379?ssl_password=s3cret&x=1',
     'rediss://h:6379?ssl_password=***&x=1'),
    ('redis://h:6379?password=s3cret', 'redis://h:6379?password=***'),
    ('memcached://h1:11211,h2:11211', 'memcached://h1:11211,h2:11211'),
    ('memory://', 'memory://'),
])
def test_redact_uri_hides_passwords(uri, shown):
    assert storage.redact_uri(uri) == shown


def test_uri_secrets_finds_quoted_and_unquoted_passwords():
    assert set(storage.uri_secrets('redis://u:p%40ss@h?password=x')) == {
        'p%40ss', 'p@ss', 'x'}


@pytest.mark.parametrize('uri', [
    'redis://:s3cret@h:99999', 'redis://:s3cret@h:1/x',
    'redis://:s3cret@h:1?clock=moon', 'redis://:s3cret@h:1?a=b',
    'redis://:s3cret@h:1?password=s3cret&a',
    'memcached://:s3cret@h:1', 'mongodb://:s3cret@h:1',
])
def test_uri_errors_never_show_the_password(uri):
    with pytest.raises(ValueError) as caught:
        storage.from_uri(uri)
    assert 's3cret' not in str(caught.value)


@pytest.mark.parametrize('days, now, refused', [
    (14, 2_100_000_000, False),    # within 30 days: relative, any time
    (16, 1_800_000_000, False),    # absolute, well before 2038
    (2000, 1_800_000_000, False),
    (2100, 1_800_000_000, True),   # 2 windows past 2**31
    (16, 2_146_000_000, True),     # a month before the end of 2038
])
def test_memcached_window_problem(days, now, refused):
    problem = memcached.window_problem(days * 86400, now)
    assert bool(problem) is refused
    if refused:
        assert '2038' in problem and 'at most' in problem
