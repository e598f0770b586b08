"""Container info errors and cache staleness, with real Swift backends.

Each case loads the cluster's proxy pipeline in-process with its own
memcached, so what it caches (or fails to read) is its own.
"""

import os
import shutil
import sqlite3
import time

import pytest

from opsext.allinone import process
from opsext.allinone import config as swift_config
from opsext.allinone.memcached import MemcachedServer
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
                            '127.0.0.1', process.free_port())
    # swift_dir is a [DEFAULT] option: paste.deploy lets it win over a
    # value set in [app:proxy-server].
    path = write_variant(wl_cluster, 'dead-container', sections={
        'DEFAULT': {'swift_dir': swift_dir},
        'filter:cache': {'memcache_servers': private_memcached.address}})
    return wl_cluster.load_proxy_app(path)


@pytest.fixture(scope='module')
def dead_container_ring_raw(wl_cluster, private_memcached):
    """The same outage, without ip_allowlist."""
    swift_dir = os.path.join(wl_cluster.workdir, 'dead-container-ring')
    path = write_variant(wl_cluster, 'dead-container-raw', sections={
        'DEFAULT': {'swift_dir': swift_dir},
        'filter:cache': {'memcache_servers': private_memcached.address}},
        without_filter=True)
    return wl_cluster.load_proxy_app(path)


def test_container_server_outage_is_503_as_without_the_filter(
        client, locked, dead_container_ring_app, dead_container_ring_raw):
    path = client.path(locked + '/secret')
    for source in (ALLOWED, DENIED):
        resp = client.call(dead_container_ring_app, 'GET', path,
                           {'REMOTE_ADDR': source},
                           _token(client, dead_container_ring_app))
        assert resp.status == 503, resp
        assert SECRET not in resp.body
    # Control: plain Swift answers the same outage with 503 too.
    resp = client.call(dead_container_ring_raw, 'GET', path,
                       {'REMOTE_ADDR': DENIED},
                       _token(client, dead_container_ring_raw))
    assert resp.status == 503


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


def _fresh_proxy(wl_cluster, name, swift_dir=None, without_filter=False,
                 **options):
    """An in-process proxy with its own, empty memcached: nothing cached."""
    server = MemcachedServer()
    server.start()
    sections = {'filter:cache': {'memcache_servers': server.address}}
    if swift_dir:
        sections['DEFAULT'] = {'swift_dir': swift_dir}
    path = write_variant(wl_cluster, name, sections=sections,
                         without_filter=without_filter, **options)
    return server, wl_cluster.load_proxy_app(path)


@pytest.fixture(scope='module')
def dead_account_ring(wl_cluster):
    """Proxies (with and without the filter) whose account servers are
    gone, each with an empty memcached."""
    swift_dir = os.path.join(wl_cluster.workdir, 'dead-account-ring')
    os.makedirs(swift_dir, exist_ok=True)
    for name in ('swift.conf', 'container.ring.gz', 'object.ring.gz'):
        shutil.copy(os.path.join(wl_cluster.workdir, name), swift_dir)
    swift_config.build_ring(os.path.join(swift_dir, 'account.ring.gz'),
                            '127.0.0.1', process.free_port())
    servers = []
    apps = {}
    for raw in (False, True):
        server, apps[raw] = _fresh_proxy(
            wl_cluster, 'dead-account-%s' % raw, swift_dir, raw)
        servers.append(server)
    server, apps['log-only'] = _fresh_proxy(
        wl_cluster, 'dead-account-log-only', swift_dir, enforce='false')
    servers.append(server)
    yield apps
    for server in servers:
        server.stop()


def test_account_server_outage_is_503_with_retry_after(
        client, open_container, dead_account_ring):
    path = client.path(open_container + '/secret')
    app = dead_account_ring[False]
    token = _token(client, app)
    # No cached info: the account's list (this container's default)
    # cannot be read, so the request cannot be decided.
    resp = client.call(app, 'GET', path, {'REMOTE_ADDR': DENIED}, token)
    assert resp.status == 503, resp
    assert resp.headers['retry-after'] == '10'
    assert b'allowlist cannot be checked' in resp.body
    assert SECRET not in resp.body
    # Control: plain Swift still serves it, so it is not a 403 (the
    # tenant is not blocked) and not silently served either.
    resp = client.call(dead_account_ring[True], 'GET', path,
                       {'REMOTE_ADDR': DENIED},
                       _token(client, dead_account_ring[True]))
    assert resp.status == 200
    # The operator is let in without a decision.
    resp = client.call(app, 'GET', path, {'REMOTE_ADDR': OPERATOR}, token)
    assert resp.status == 200


def test_account_server_outage_in_log_only_mode_lets_through(
        client, open_container, dead_account_ring):
    app = dead_account_ring['log-only']
    resp = client.call(app, 'GET', client.path(open_container + '/secret'),
                       {'REMOTE_ADDR': DENIED}, _token(client, app))
    assert resp.status == 200 and resp.body == SECRET


def _drop_container_db(wl_cluster, account, container):
    """Remove a container's DB, as a lost disk or a ring change would."""
    found = []
    root = os.path.join(wl_cluster.workdir, 'node')
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if not name.endswith('.db') or '/containers/' not in dirpath:
                continue
            db = sqlite3.connect(os.path.join(dirpath, name))
            try:
                row = db.execute('SELECT account, container '
                                 'FROM container_stat').fetchone()
            finally:
                db.close()
            if row == (account, container):
                found.append(dirpath)
    assert found, 'no DB for %s/%s' % (account, container)
    for dirpath in found:
        shutil.rmtree(dirpath)


@pytest.fixture
def lost_db(client, wl_cluster):
    """A locked container whose DB is gone while its object is served."""
    container = client.new_container(allow=ALLOWED)
    _drop_container_db(wl_cluster, client.account, container)
    servers = []
    apps = {}
    for raw in (False, True):
        server, apps[raw] = _fresh_proxy(
            wl_cluster, 'lost-db-%s-%s' % (container, raw),
            without_filter=raw)
        servers.append(server)
    yield container, apps
    for server in servers:
        server.stop()


def test_object_of_container_with_no_info_is_not_served(client, lost_db):
    container, apps = lost_db
    path = client.path(container + '/secret')
    token = _token(client, apps[False])
    # Control: plain Swift serves the object of the lost container.
    resp = client.call(apps[True], 'GET', path, {'REMOTE_ADDR': DENIED},
                       _token(client, apps[True]))
    assert resp.status == 200 and resp.body == SECRET
    # With the filter its list is unknown: nobody but the operator.
    for source in (DENIED, ALLOWED):
        resp = client.call(apps[False], 'GET', path,
                           {'REMOTE_ADDR': source}, token)
        assert resp.status == 404, resp
        assert SECRET not in resp.body
    resp = client.call(apps[False], 'GET', path, {'REMOTE_ADDR': OPERATOR},
                       token)
    assert resp.status == 200 and resp.body == SECRET
