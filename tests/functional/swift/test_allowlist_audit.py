"""``opsext allowlist-audit`` against the real cluster.

Metadata is written with Swift's internal client, bypassing the filter,
as a cluster holds it before the operator enables the allowlist.
"""

import json
import os
import subprocess
import sys
import uuid

import pytest


@pytest.fixture(scope='module')
def ic_conf(wl_cluster):
    path = os.path.join(wl_cluster.workdir, 'internal-client.conf')
    with open(path, 'w') as fp:
        fp.write('\n'.join([
            '[DEFAULT]', 'swift_dir = %s' % wl_cluster.workdir, '',
            '[pipeline:main]',
            'pipeline = catch_errors proxy-logging cache proxy-server', '',
            '[app:proxy-server]', 'use = egg:swift#proxy',
            'account_autocreate = true', '',
            '[filter:cache]', 'use = egg:swift#memcache',
            'memcache_servers = %s' % wl_cluster.layout.memcache_servers, '',
            '[filter:proxy-logging]', 'use = egg:swift#proxy_logging', '',
            '[filter:catch_errors]', 'use = egg:swift#catch_errors', '']))
    return path


@pytest.fixture(scope='module')
def internal(wl_cluster, ic_conf):
    from swift.common.internal_client import InternalClient
    wl_cluster.activate()
    return InternalClient(ic_conf, 'opsext-test', 1)


def _account(internal, account_list=None, containers=()):
    account = 'AUTH_audit' + uuid.uuid4().hex[:8]
    for name, allow in containers:
        internal.create_container(account, name)
        if allow is not None:
            internal.set_container_metadata(
                account, name, {'X-Container-Meta-Allow-Office': allow})
    if account_list is not None:
        internal.set_account_metadata(
            account, {'X-Account-Meta-Allow': account_list})
    return account


def _audit(ic_conf, *args):
    proc = subprocess.run(
        [sys.executable, '-m', 'opsext.cmd.main', 'allowlist-audit',
         '--internal-client-conf', ic_conf] + list(args),
        capture_output=True, text=True, timeout=120)
    return proc


def test_audit_reports_locks_defaults_and_malformed_lists(ic_conf,
                                                          internal):
    account = _account(internal, '192.0.2.0/24, 198.51.100.7', [
        ('locked', '203.0.113.0/24'), ('bad', '10.1'), ('plain', None),
        ('plain2', None)])
    proc = _audit(ic_conf, '--account', account, '--format', 'json')
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    by_scope = {f['scope']: f for f in report['findings']}
    assert set(by_scope) == {'account ' + account,
                             'container %s/locked' % account,
                             'container %s/bad' % account}
    assert by_scope['account ' + account]['networks'] == 2
    assert by_scope['account ' + account]['default_for'] == 2
    assert by_scope['container %s/locked' % account]['error'] is None
    bad = by_scope['container %s/bad' % account]
    assert "'10.1'" in bad['error']
    assert 'every client but operator_cidrs' in bad['verdict']
    assert report['malformed'] == 1


def test_audit_of_well_formed_lists_exits_0(ic_conf, internal):
    account = _account(internal, None, [('locked', '203.0.113.9'),
                                        ('open', None)])
    proc = _audit(ic_conf, '--account', account)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        'LOCKS container %s/locked: locks it to 1 network' % account,
        '1 account audited: 1 list, 0 malformed']


def test_audit_of_missing_account_is_a_usage_error(ic_conf):
    proc = _audit(ic_conf, '--account', 'AUTH_nosuch' + uuid.uuid4().hex)
    assert proc.returncode == 2
    assert proc.stderr.startswith('opsext allowlist-audit: error: account '
                                  'AUTH_nosuch')
    assert 'Traceback' not in proc.stderr


def test_audit_finds_accounts_on_an_account_server_devices(
        wl_cluster, ic_conf, internal):
    account = _account(internal, None, [('locked', '203.0.113.9')])
    proc = _audit(ic_conf, '--devices', wl_cluster.layout.devices,
                  '--format', 'json')
    report = json.loads(proc.stdout)
    assert account in report['accounts']
    assert 'container %s/locked' % account in [
        f['scope'] for f in report['findings']]


def test_audit_needs_accounts(ic_conf):
    proc = _audit(ic_conf)
    assert proc.returncode == 2
    assert 'name the accounts' in proc.stderr
