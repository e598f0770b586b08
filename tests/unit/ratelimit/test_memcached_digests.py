"""The memcached backend's remembered md5s of keys: right, and bounded.

Building the backend connects to nothing, so no server is needed.
"""

import hashlib

from opsext.ratelimit.storage import memcached


def _backend():
    return memcached.MemcachedStorage([('127.0.0.1', 11211)])


def test_remembered_digest_is_the_md5_of_the_key():
    backend = _backend()
    key = 'per_ip|ip=198.51.100.7|60'
    expected = hashlib.md5(key.encode()).hexdigest().encode()
    assert backend._new_digest(key) == expected
    assert backend._digests[key] == expected
    assert memcached.counter_name(key, 7) == \
        'opsext:rl:%s:7' % expected.decode()


def test_remembered_digests_are_bounded():
    backend = _backend()
    for i in range(memcached._MAX_DIGESTS * 2 + 1):
        backend._new_digest('key-%d' % i)
        assert len(backend._digests) <= memcached._MAX_DIGESTS
    assert len(backend._digests) >= 1


def test_long_keys_are_not_remembered():
    backend = _backend()
    key = 'k' * (memcached._MAX_DIGEST_KEY + 1)
    assert backend._new_digest(key) == memcached._md5(key)
    assert key not in backend._digests
