"""Container info errors and cache staleness, with real Swift backends.

Each case loads the cluster's proxy pipeline in-process with its own
memcached, so what it caches (or fails to read) is its own.
"""

import os
import shutil
import time

import pytest

from opsext.testing import ports
from opsext.testing import swift_config
from opsext.testing.memcached import MemcachedServer
from tests.functional.swift.conftest import ALLOWED
from tests.functional.swift.conftest import DENIED
from tests.functional.swift.conftest import OPERATOR
from tests.functional.swift.conftest import SECRET
from tests.functional.swift.conftest import write_variant

RECHECK = 2


def _token(client, app):
    """A tempauth token stored in this proxy's own memcached."""
    resp = client.call(app, 'GET', '/auth/v1.0', {'REMOTE_ADDR': OPERATOR},
                       {'X-Auth-User': 'test:tester',
                        'X-Auth-Key': 'testing'}, token=False)
    assert resp.status == 200, resp
    return {'X-Auth-Token': resp.headers['x-auth-token']}


@pytest.fixture(scope='module')
def private_memcached():
    with MemcachedServer() as server:
        yield server


@pytest.fixture(scope='module')
def dead_container_ring_app(wl_cluster, private_memcached):
    """A proxy whose container ring points at a port nobody serves."""
    swift_dir = os.path.join(wl_cluster.workdir, 'dead-container-ring')
    os.makedirs(swift_dir, exist_ok=True)
    for name in ('swift.conf', 'account.ring.gz', 'object.ring.gz'):
        shutil.copy(os.path.join(wl_cluster.workdir, name), swift_dir)
    swift_config.build_ring(os.path.join(swift_dir, 'container.ring.gz'),
                            '127.0.0.1', ports.free_port())
    # swift_dir is a [DEFAULT] option: paste.deploy lets it win over a
    # value set in [app:proxy-server].
    path = write_variant(wl_cluster, 'dead-container', sections={
        'DEFAULT': {'swift_dir': swift_dir},
        'filter:cache': {'memcache_servers': private_memcached.address}})
    return wl_cluster.load_proxy_app(path)


def test_container_info_error_denies_allowed_address(client, locked,
                                                     dead_container_ring_app):
    resp = client.call(dead_container_ring_app, 'GET',
                       client.path(locked + '/secret'),
                       {'REMOTE_ADDR': ALLOWED},
                       _token(client, dead_container_ring_app))
    assert resp.status == 403
    assert SECRET not in resp.body


def test_container_info_error_denies_denied_address(client, locked,
                                                    dead_container_ring_app):
    resp = client.call(dead_container_ring_app, 'GET',
                       client.path(locked + '/secret'),
                       {'REMOTE_ADDR': DENIED},
                       _token(client, dead_container_ring_app))
    assert resp.status == 403


def test_container_info_error_operator_still_allowed_through(
        client, locked, dead_container_ring_app):
    # The operator is let in; Swift itself then fails to find the
    # container servers.
    resp = client.call(dead_container_ring_app, 'HEAD',
                       client.path(locked), {'REMOTE_ADDR': OPERATOR},
                       _token(client, dead_container_ring_app))
    assert resp.status == 503


@pytest.fixture(scope='module')
def other_proxy(wl_cluster, private_memcached):
    """A second proxy with its own memcached and a short recheck."""
    path = write_variant(wl_cluster, 'other-proxy', sections={
        'app:proxy-server': {
            'recheck_container_existence': str(RECHECK),
            'recheck_account_existence': str(RECHECK)},
        'filter:cache': {'memcache_servers': private_memcached.address}})
    return wl_cluster.load_proxy_app(path)


def test_stale_list_on_other_proxy_bounded_by_recheck(client, locked,
                                                      other_proxy):
    path = client.path(locked + '/secret')
    token = _token(client, other_proxy)
    assert client.call(other_proxy, 'GET', path, {'REMOTE_ADDR': DENIED},
                       token).status == 403
    resp = client.req('POST', locked, ALLOWED,
                      {'X-Container-Meta-Allow-Office': DENIED})
    assert resp.status == 204
    # The other proxy's memcache still holds the old list ...
    assert client.call(other_proxy, 'GET', path, {'REMOTE_ADDR': DENIED},
                       token).status == 403
    # ... until recheck_container_existence has passed.
    time.sleep(RECHECK + 1)
    resp = client.call(other_proxy, 'GET', path, {'REMOTE_ADDR': DENIED},
                       token)
    assert resp.status == 200
    assert resp.body == SECRET
