"""Every storage backend counts the same way, against real servers.

The first part runs once per backend (``memory``, ``memcached``,
``redis``); then come the memcached ring, the Redis clock, and what the
shared backends do when their server dies, hangs or talks nonsense.
"""

import socket
import threading
import time

import pytest

from opsext import exceptions
from opsext.ratelimit.storage import base
from opsext.ratelimit.storage import _sockets
from opsext.ratelimit.storage import memcached
from opsext.ratelimit.storage import redis
from opsext.allinone import process
from opsext.allinone.memcached import MemcachedServer
from opsext.testing.redis import RedisServer
from tests.functional.ratelimit import conftest

Hit = base.Hit
WINDOW = 60
# A time 12.25 s into a window of WINDOW seconds.
NOW = 1_700_000_040.0 + 12.25
# No call may take longer than this, whatever the server does.
BOUND = 1.0


def _sleep_until(wall_time: float) -> None:
    delay = wall_time - time.time()
    if delay > 0:
        time.sleep(delay)


def _timed_hit(storage, hits, now=NOW):
    """Call hit(); return (its result or the exception, seconds taken)."""
    start = time.monotonic()
    try:
        result = storage.hit(hits, now=now)
    except exceptions.StorageError as exc:
        result = exc
    return result, time.monotonic() - start


# The same suite for every backend.

def test_counts_increase_one_by_one(storage, key):
    counts = [storage.hit([Hit(key, WINDOW)], now=NOW)[0]
              for _ in range(10)]
    assert [c.current for c in counts] == list(range(1, 11))
    assert {c.previous for c in counts} == {0}


def test_previous_window_reported_after_rollover(storage, key):
    for _ in range(3):
        storage.hit([Hit(key, WINDOW)], now=NOW)
    assert storage.hit([Hit(key, WINDOW)], now=NOW + WINDOW)[0][:2] == (1, 3)
    storage.hit([Hit(key, WINDOW)], now=NOW + WINDOW)
    assert storage.hit([Hit(key, WINDOW)],
                       now=NOW + 2 * WINDOW)[0][:2] == (1, 2)


def test_previous_is_zero_after_a_quiet_window(storage, key):
    storage.hit([Hit(key, WINDOW)], now=NOW)
    assert storage.hit([Hit(key, WINDOW)],
                       now=NOW + 2 * WINDOW)[0][:2] == (1, 0)


def test_elapsed_is_time_since_window_start(storage, key):
    assert storage.hit([Hit(key, WINDOW)], now=NOW)[0].elapsed == \
        pytest.approx(12.25, abs=1e-5)
    assert storage.hit([Hit(key, 7)], now=700.5)[0].elapsed == \
        pytest.approx(0.5, abs=1e-5)
    window_end = NOW - 12.25 + WINDOW
    count = storage.hit([Hit(key, WINDOW)], now=window_end - 0.001)[0]
    assert count.elapsed == pytest.approx(WINDOW - 0.001, abs=1e-5)
    assert count.current == 2


def test_counters_expire_after_two_windows(backend, key):
    window = 1
    start = time.time()
    index = int(start // window)
    backend.storage.hit([Hit(key, window)], now=start)
    assert backend.counter(key, index, start) == 1
    # Still there during the next window, where it is the previous one.
    _sleep_until(start + window + 0.5)
    assert backend.counter(key, index, start + window + 0.5) == 1
    # memcached's clock ticks once a second: allow it one more.
    gone = start + base.ttl(window) + 1.1
    if backend.name != 'memory':
        _sleep_until(gone)
    assert backend.counter(key, index, gone) is None


def test_keys_are_isolated(storage, key):
    for _ in range(3):
        storage.hit([Hit(key + 'a', WINDOW)], now=NOW)
    for other in ('b', 'A', 'a:1', 'a1', 'a ', ''):
        assert storage.hit([Hit(key + other, WINDOW)], now=NOW)[0] \
            .current == 1, other
    assert storage.hit([Hit(key + 'a', WINDOW)], now=NOW)[0].current == 4


def test_several_hits_in_one_call(storage, key):
    counts = storage.hit([Hit(key + 'x', WINDOW), Hit(key + 'y', 7),
                          Hit(key + 'x', WINDOW), Hit(key + 'z', 3600)],
                         now=NOW)
    assert [c.current for c in counts] == [1, 1, 2, 1]
    assert [c.elapsed for c in counts] == pytest.approx(
        [12.25, NOW % 7, 12.25, NOW % 3600], abs=1e-5)
    counts = storage.hit([Hit(key + 'z', 3600), Hit(key + 'x', WINDOW)],
                         now=NOW)
    assert [c.current for c in counts] == [2, 3]


def test_empty_call_returns_nothing(storage):
    assert storage.hit([], now=NOW) == []


ODD_KEYS = [
    'with space', 'tab\there', 'new\nline', 'crlf\r\nflush_all\r\n',
    'nul\x00byte', '{tag}', '}', '}leading', '{', '%7D', '%', 'a:b/c=d?e#f',
    'ünïcødé ✓', '\x7f\x1b[0m', '"quoted"', "it's", '*', '\\',
]


def test_keys_with_odd_characters(storage, key):
    for odd in ODD_KEYS:
        assert storage.hit([Hit(key + odd, WINDOW)], now=NOW)[0] \
            .current == 1, odd
    # Second round: each key counted on its own, nothing leaked or mixed.
    counts = storage.hit([Hit(key + odd, WINDOW) for odd in ODD_KEYS],
                         now=NOW)
    assert [c.current for c in counts] == [2] * len(ODD_KEYS)
    assert storage.hit([Hit(key + 'flush_all', WINDOW)], now=NOW)[0] \
        .current == 1


def test_keys_of_1000_characters(storage, key):
    long_a = key + 'a' * 1000
    long_b = key + 'a' * 999 + 'b'
    assert storage.hit([Hit(long_a, WINDOW)], now=NOW)[0].current == 1
    assert storage.hit([Hit(long_a, WINDOW)], now=NOW)[0].current == 2
    assert storage.hit([Hit(long_b, WINDOW)], now=NOW)[0].current == 1
    assert storage.hit([Hit(long_a, WINDOW)],
                       now=NOW + WINDOW)[0][:2] == (1, 2)


def test_concurrent_hits_are_counted_exactly(storage, key):
    threads, hits_each = 16, 50
    currents = []
    errors = []
    barrier = threading.Barrier(threads)

    def worker():
        try:
            barrier.wait()
            for _ in range(hits_each):
                currents.append(storage.hit([Hit(key, WINDOW)],
                                            now=NOW)[0].current)
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(exc)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(60)
    assert not errors
    # No increment lost, none counted twice.
    assert sorted(currents) == list(range(1, threads * hits_each + 1))


# The memcached ring.

def _holder(servers, key):
    """The servers that hold ``key``'s counter at NOW."""
    name = memcached.counter_name(key, int(NOW // WINDOW))
    return [server.address for server in servers
            if conftest.memcached_get(server.address, name) is not None]


def test_ring_spreads_keys_over_two_servers(memcached_server,
                                            memcached_server2, key):
    servers = [memcached_server, memcached_server2]
    storage = memcached.MemcachedStorage(
        [(s.host, s.port) for s in servers], timeout=conftest.TIMEOUT)
    keys = [key + str(i) for i in range(200)]
    # One call for all keys: one request to each server.
    counts = storage.hit([Hit(k, WINDOW) for k in keys], now=NOW)
    assert {c.current for c in counts} == {1}
    placed = {k: _holder(servers, k) for k in keys}
    assert all(len(holders) == 1 for holders in placed.values())
    per_server = {s.address: sum(1 for h in placed.values()
                                 if h == [s.address]) for s in servers}
    assert min(per_server.values()) >= 40, per_server
    # Each key always goes to its server.
    counts = storage.hit([Hit(k, WINDOW) for k in keys], now=NOW)
    assert {c.current for c in counts} == {2}
    assert {k: _holder(servers, k) for k in keys} == placed
    assert all(placed[k] == [storage.server_for(k)] for k in keys)
    storage.close()


def test_ring_does_not_depend_on_server_order():
    servers = [('127.0.0.1', 11211), ('127.0.0.1', 11212),
               ('127.0.0.2', 11211)]
    one = memcached.MemcachedStorage(servers)
    other = memcached.MemcachedStorage(servers[::-1])
    keys = ['key-%d' % i for i in range(500)]
    assert [one.server_for(k) for k in keys] == \
        [other.server_for(k) for k in keys]
    assert len({one.server_for(k) for k in keys}) == 3


def test_ring_keeps_counting_on_the_server_still_up(key):
    with MemcachedServer() as alive, MemcachedServer() as dead:
        storage = memcached.MemcachedStorage(
            [(alive.host, alive.port), (dead.host, dead.port)],
            timeout=conftest.FAULT_TIMEOUT)
        keys = [key + str(i) for i in range(20)]
        on_alive = [k for k in keys if storage.server_for(k) == alive.address]
        on_dead = [k for k in keys if storage.server_for(k) == dead.address]
        assert on_alive and on_dead
        dead.kill()
        with pytest.raises(exceptions.StorageError, match=dead.address):
            storage.hit([Hit(on_dead[0], WINDOW)], now=NOW)
        # The dead server fails fast; the other one is not touched by it.
        result, took = _timed_hit(storage, [Hit(on_dead[1], WINDOW)])
        assert isinstance(result, exceptions.StorageError)
        assert 'marked down' in str(result)
        assert took < conftest.FAULT_TIMEOUT / 2
        counts = storage.hit([Hit(k, WINDOW) for k in on_alive], now=NOW)
        assert {c.current for c in counts} == {1}
        # A call needing both counts on the live one; only the dead
        # server's hit is lost.
        with pytest.raises(exceptions.PartialStorageError) as caught:
            storage.hit([Hit(on_alive[0], WINDOW), Hit(on_dead[0], WINDOW),
                         Hit(on_alive[1], WINDOW)], now=NOW)
        assert dead.address in str(caught.value)
        lost = caught.value.counts
        assert lost[1] is None
        assert (lost[0].current, lost[2].current) == (2, 2)
        assert storage.hit([Hit(on_alive[0], WINDOW)],
                           now=NOW)[0].current == 3
        # Only hits on the dead server: a plain StorageError.
        with pytest.raises(exceptions.StorageError) as caught:
            storage.hit([Hit(on_dead[0], WINDOW)], now=NOW)
        assert not isinstance(caught.value, exceptions.PartialStorageError)
        storage.close()


# The Redis clock.

def test_redis_counts_on_the_server_clock(redis_server, key):
    storage = redis.RedisStorage.from_uri(redis_server.url,
                                          timeout=conftest.TIMEOUT)
    assert storage.server_clock
    before = time.time()
    count = storage.hit([Hit(key, WINDOW)], now=0.0)[0]
    after = time.time()
    assert count.current == 1
    assert 0 <= count.elapsed < WINDOW
    # Same machine, same clock: the counter is named after the real time.
    window_start = (after - count.elapsed) // WINDOW * WINDOW
    assert before // WINDOW * WINDOW <= window_start <= after
    index = int(window_start // WINDOW)
    ttl = redis_server.command(b'PTTL', redis.counter_name(
        key, index).encode())
    assert 2 * WINDOW * 1000 < int(ttl[1:]) <= (2 * WINDOW + 1) * 1000
    storage.close()


def test_redis_script_is_loaded_again_after_a_flush(redis_server, key):
    storage = redis.RedisStorage.from_uri(redis_server.url + '?clock=client',
                                          timeout=conftest.TIMEOUT)
    assert storage.hit([Hit(key, WINDOW)], now=NOW)[0].current == 1
    assert redis_server.command(b'SCRIPT', b'FLUSH') == b'+OK'
    assert storage.hit([Hit(key, WINDOW)], now=NOW)[0].current == 2
    storage.close()


# Faults: a private server per test, killed, frozen or replaced.

def test_killed_server_fails_within_timeout(faulty, key):
    faulty.storage.hit([Hit(key, WINDOW)], now=NOW)
    faulty.server.kill()
    result, took = _timed_hit(faulty.storage, [Hit(key, WINDOW)])
    assert isinstance(result, exceptions.StorageError)
    assert faulty.server.address in str(result)
    assert took < BOUND


@pytest.mark.parametrize('warm', [True, False], ids=['pooled', 'new'])
def test_frozen_server_fails_within_timeout(faulty, key, warm):
    if warm:
        faulty.storage.hit([Hit(key, WINDOW)], now=NOW)
    faulty.server.pause()
    result, took = _timed_hit(faulty.storage, [Hit(key, WINDOW)])
    assert isinstance(result, exceptions.StorageError)
    assert 'imeout' in str(result) or 'timed out' in str(result)
    assert conftest.FAULT_TIMEOUT * 0.9 <= took < BOUND


@pytest.mark.parametrize('fault', ['kill', 'pause'])
def test_calls_fail_fast_while_server_is_down(faulty, key, fault):
    faulty.storage.hit([Hit(key, WINDOW)], now=NOW)
    getattr(faulty.server, fault)()
    # Evidence: a refused connection at once; timeouts only in a row.
    tries = 1 if fault == 'kill' else _sockets.TIMEOUTS_TO_MARK_DOWN
    for attempt in range(1, tries + 1):
        result, _ = _timed_hit(faulty.storage, [Hit(key, WINDOW)])
        assert isinstance(result, exceptions.StorageError)
        assert ('marked down' in str(result)) is (attempt == tries)
    for _ in range(20):
        result, took = _timed_hit(faulty.storage, [Hit(key, WINDOW)])
        assert isinstance(result, exceptions.StorageError)
        assert 'marked down' in str(result)
        assert took < conftest.FAULT_TIMEOUT / 2


def test_one_timeout_does_not_mark_the_server_down(faulty, key):
    faulty.storage.hit([Hit(key, WINDOW)], now=NOW)
    faulty.server.pause()
    result, _ = _timed_hit(faulty.storage, [Hit(key, WINDOW)])
    faulty.server.resume()
    assert 'timed out' in str(result) and 'marked down' not in str(result)
    # Used again at once. The command of the call that timed out waits in
    # the resumed server's socket: it may be served before this one (3)
    # or after it (2), as the server's threads take the two connections.
    assert faulty.storage.hit([Hit(key, WINDOW)], now=NOW)[0].current in (
        2, 3)


def test_recovers_after_restart(faulty, key):
    faulty.storage.hit([Hit(key, WINDOW)], now=NOW)
    faulty.server.kill()
    with pytest.raises(exceptions.StorageError):
        faulty.storage.hit([Hit(key, WINDOW)], now=NOW)
    failed_at = time.monotonic()
    faulty.server.start()  # same port, empty
    if time.monotonic() - failed_at < conftest.RETRY_INTERVAL * 0.8:
        with pytest.raises(exceptions.StorageError, match='marked down'):
            faulty.storage.hit([Hit(key, WINDOW)], now=NOW)
    time.sleep(max(0.0, failed_at + conftest.RETRY_INTERVAL
                   - time.monotonic()) + 0.05)
    assert faulty.storage.hit([Hit(key, WINDOW)], now=NOW)[0].current == 1
    assert faulty.storage.hit([Hit(key, WINDOW)], now=NOW)[0].current == 2


def test_recovers_after_resume(faulty, key):
    faulty.storage.hit([Hit(key, WINDOW)], now=NOW)
    faulty.server.pause()
    with pytest.raises(exceptions.StorageError):
        faulty.storage.hit([Hit(key, WINDOW)], now=NOW)
    failed_at = time.monotonic()
    faulty.server.resume()
    time.sleep(max(0.0, failed_at + conftest.RETRY_INTERVAL
                   - time.monotonic()) + 0.05)
    # The call that timed out was sent, so the server may have counted it
    # once it woke up: a timeout is not a guarantee that nothing counted.
    assert faulty.storage.hit([Hit(key, WINDOW)], now=NOW)[0].current in (2,
                                                                          3)


class _GarbageServer(object):
    """A TCP server that answers every connection with nonsense."""

    def __init__(self, answer: bytes = b'HELLO THERE\r\n') -> None:
        self.answer = answer
        self.port = process.free_port()
        self.accepted = 0
        self.closed = 0
        self._sock = socket.create_server(('127.0.0.1', self.port))
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._answer, args=(conn,),
                             daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    data = b''
                if not data:
                    self.closed += 1
                    return
                conn.sendall(self.reply(data))

    def reply(self, data: bytes) -> bytes:
        return self.answer

    def close(self) -> None:
        self._sock.close()


@pytest.mark.parametrize('name', conftest.SHARED_BACKENDS)
def test_garbage_answer_raises_and_drops_the_connection(name):
    server = _GarbageServer()
    try:
        if name == 'memcached':
            storage = memcached.MemcachedStorage.from_uri(
                'memcached://127.0.0.1:%d' % server.port,
                timeout=conftest.FAULT_TIMEOUT)
        else:
            storage = redis.RedisStorage.from_uri(
                'redis://127.0.0.1:%d?clock=client' % server.port,
                timeout=conftest.FAULT_TIMEOUT)
        for attempt in (1, 2):
            result, took = _timed_hit(storage, [Hit('k', WINDOW)])
            assert isinstance(result, exceptions.StorageError)
            assert took < BOUND
            # Not a dead server: the next call tries again, afresh.
            assert 'marked down' not in str(result)
            assert server.accepted == attempt
            deadline = time.monotonic() + 2
            while server.closed < attempt and time.monotonic() < deadline:
                time.sleep(0.01)
            assert server.closed == attempt
        storage.close()
    finally:
        server.close()


@pytest.mark.parametrize('server_class, package', [
    (MemcachedServer, 'memcached'), (RedisServer, 'redis-server')])
def test_missing_server_binary_is_a_clear_error(server_class, package):
    server = server_class(binary='opsext-no-such-server')
    with pytest.raises(RuntimeError, match="'opsext-no-such-server' not "
                       "found.*apt-get install %s" % package):
        server.start()


class _EvictingServer(_GarbageServer):
    """A memcached whose items are gone as soon as they are added.

    What memcached answers (proto_text.c: process_arithmetic_command,
    process_update_command, process_get_command) when the item an ``add``
    just stored was evicted or flushed before the ``incr``.
    """

    ANSWERS = {b'incr': b'NOT_FOUND\r\n', b'add': b'STORED\r\n',
               b'get': b'END\r\n'}

    def reply(self, data: bytes) -> bytes:
        answers = []
        lines = data.split(b'\r\n')
        for index, line in enumerate(lines):
            command = line.split(b' ', 1)[0]
            if command in self.ANSWERS and not (
                    index and lines[index - 1].startswith(b'add ')):
                answers.append(self.ANSWERS[command])
        return b''.join(answers)


def test_counter_lost_between_add_and_incr_is_reported(key):
    server = _EvictingServer()
    try:
        storage = memcached.MemcachedStorage(
            [('127.0.0.1', server.port)], timeout=conftest.FAULT_TIMEOUT)
        with pytest.raises(exceptions.PartialStorageError,
                           match='lost between add and incr') as caught:
            storage.hit([Hit(key, WINDOW)], now=NOW)
        assert caught.value.counts == [None]
        # The connection is still in step: the next call reads its answer.
        with pytest.raises(exceptions.PartialStorageError):
            storage.hit([Hit(key, WINDOW)], now=NOW)
        assert server.accepted == 1
        storage.close()
    finally:
        server.close()
