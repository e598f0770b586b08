"""Fixtures: every rate-limit storage backend, against real servers.

``backend`` is parametrized over ``memory``, ``memcached`` and ``redis``
(``?clock=client``, so that tests set the time); it carries the storage and
a way to read a counter straight from where the backend keeps it. The
memcached and redis servers are shared by the module: tests use ``key``,
a prefix unique to the test. Tests that kill or freeze a server get a
private one (``faulty``).

A missing memcached or redis-server makes these tests fail, never skip.
"""

import socket
import uuid
from typing import Callable, Iterator, NamedTuple, Optional

import pytest
import redis as redis_py

from opsext.ratelimit import storage as storage_mod
from opsext.ratelimit.storage import base
from opsext.ratelimit.storage import memcached
from opsext.ratelimit.storage import memory
from opsext.ratelimit.storage import redis
from opsext.allinone.memcached import MemcachedServer
from opsext.testing.redis import RedisServer

BACKENDS = ('memory', 'memcached', 'redis')
SHARED_BACKENDS = ('memcached', 'redis')
# Generous: these tests check counting, not speed, on a busy machine.
TIMEOUT = 2.0
# Fault tests: short enough to measure, long enough for a loaded machine.
FAULT_TIMEOUT = 0.2
RETRY_INTERVAL = 0.5


class Backend(NamedTuple):
    name: str
    storage: base.Storage
    #: counter(key, window index, now) -> its value in the store, or None
    #: when it is not there (never created, expired or evicted).
    counter: Callable[[str, int, float], Optional[int]]


def memcached_get(address: str, name: str) -> Optional[int]:
    """Read one item from memcached with a raw ``get``."""
    host, port = address.rsplit(':', 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b'get %s\r\n' % name.encode('ascii'))
        reply = b''
        while not reply.endswith(b'END\r\n'):
            chunk = sock.recv(4096)
            assert chunk, 'memcached closed the connection: %r' % reply
            reply += chunk
    if reply == b'END\r\n':
        return None
    return int(reply.split(b'\r\n')[1])


@pytest.fixture(scope='module')
def memcached_server() -> Iterator[MemcachedServer]:
    with MemcachedServer() as server:
        yield server


@pytest.fixture(scope='module')
def memcached_server2() -> Iterator[MemcachedServer]:
    """A second memcached, for tests of the ring."""
    with MemcachedServer() as server:
        yield server


@pytest.fixture(scope='module')
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def key(request: pytest.FixtureRequest) -> str:
    """A key prefix no other test (or run) uses."""
    return 'test:%s:%s:' % (request.node.name, uuid.uuid4().hex)


def _memory_backend() -> Backend:
    storage = memory.MemoryStorage()

    def counter(key: str, index: int, now: float) -> Optional[int]:
        # The memory backend expires lazily, by the caller's clock.
        found = storage._counters.get((key, index))
        return found[0] if found and found[1] > now else None

    return Backend('memory', storage, counter)


def _memcached_backend(server: MemcachedServer) -> Backend:
    storage = storage_mod.from_uri('memcached://%s' % server.address,
                                   timeout=TIMEOUT)

    def counter(key: str, index: int, now: float) -> Optional[int]:
        return memcached_get(server.address,
                             memcached.counter_name(key, index))

    return Backend('memcached', storage, counter)


def _redis_backend(server: RedisServer) -> Backend:
    storage = storage_mod.from_uri(server.url + '?clock=client',
                                   timeout=TIMEOUT)
    client = redis_py.Redis(server.host, server.port, socket_timeout=5)

    def counter(key: str, index: int, now: float) -> Optional[int]:
        value = client.get(redis.counter_name(key, index))
        return None if value is None else int(value)

    return Backend('redis', storage, counter)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == 'memory':
        made = _memory_backend()
    elif request.param == 'memcached':
        made = _memcached_backend(request.getfixturevalue('memcached_server'))
    else:
        made = _redis_backend(request.getfixturevalue('redis_server'))
    yield made
    made.storage.close()


@pytest.fixture
def storage(backend: Backend) -> base.Storage:
    return backend.storage


class Faulty(NamedTuple):
    """A private server to kill or freeze, and a storage using it."""

    name: str
    server: object  # MemcachedServer or RedisServer: start, stop, pause...
    storage: base.Storage


@pytest.fixture(params=SHARED_BACKENDS)
def faulty(request: pytest.FixtureRequest) -> Iterator[Faulty]:
    if request.param == 'memcached':
        server = MemcachedServer()
    else:
        server = RedisServer()
    with server:
        if request.param == 'memcached':
            storage = memcached.MemcachedStorage.from_uri(
                'memcached://%s' % server.address, timeout=FAULT_TIMEOUT,
                retry_interval=RETRY_INTERVAL)
        else:
            storage = redis.RedisStorage.from_uri(
                server.url + '?clock=client', timeout=FAULT_TIMEOUT,
                retry_interval=RETRY_INTERVAL)
        try:
            yield Faulty(request.param, server, storage)
        finally:
            storage.close()
