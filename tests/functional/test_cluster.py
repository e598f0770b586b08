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

"""The Swift test harness itself: a real cluster that really serves."""

import configparser
import json
import os
import socket
import time
import uuid

import pytest

from opsext.allinone.cluster import ClusterStartError
from opsext.allinone.cluster import SwiftCluster


def _wait_for_log(cluster, server, needle, timeout=5.0):
    """The server's log once it holds ``needle`` (proxy-logging writes
    its line when the response is finished, just after the client has
    it)."""
    deadline = time.monotonic() + timeout
    while True:
        text = cluster.log_text(server)
        if needle in text or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def _refuses_connections(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.fixture
def auth(swift_cluster):
    """(storage_url, headers with a fresh token) for test:tester."""
    storage_url, token = swift_cluster.get_token()
    return storage_url, {'X-Auth-Token': token}


@pytest.fixture
def container(swift_cluster, auth):
    """A new container holding object 'o' with body b'hello'."""
    storage_url, headers = auth
    name = 'c-' + uuid.uuid4().hex[:12]
    status, _h, body = swift_cluster.request(
        'PUT', '%s/%s' % (storage_url, name), headers)
    assert status == 201, body
    status, _h, body = swift_cluster.request(
        'PUT', '%s/%s/o' % (storage_url, name), headers, body=b'hello')
    assert status == 201, body
    return name


def test_token_is_for_the_proxy(swift_cluster):
    storage_url, token = swift_cluster.get_token()
    assert storage_url == swift_cluster.proxy_url + '/v1/AUTH_test'
    assert token.startswith('AUTH_tk')


def test_auth_url_serves_tempauth(swift_cluster):
    status, headers, _body = swift_cluster.request(
        'GET', swift_cluster.auth_url,
        {'X-Auth-User': 'test2:tester2', 'X-Auth-Key': 'testing2'})
    assert status == 200
    assert headers['x-storage-url'].endswith('/v1/AUTH_test2')


def test_wrong_key_is_refused(swift_cluster):
    status, _h, _b = swift_cluster.request(
        'GET', '/auth/v1.0', {'X-Auth-User': 'test:tester',
                              'X-Auth-Key': 'wrong'})
    assert status == 401


def test_non_admin_user_cannot_list_the_account(swift_cluster):
    storage_url, token = swift_cluster.get_token('test:tester3', 'testing3')
    status, _h, _b = swift_cluster.request('GET', storage_url,
                                           {'X-Auth-Token': token})
    assert status == 403


def test_object_round_trip(swift_cluster, auth, container):
    storage_url, headers = auth
    status, resp_headers, body = swift_cluster.request(
        'GET', '%s/%s/o' % (storage_url, container), headers)
    assert (status, body) == (200, b'hello')
    assert resp_headers['etag'] == '5d41402abc4b2a76b9719d911017c592'


def test_request_from_another_loopback_address(swift_cluster, auth,
                                               container):
    storage_url, headers = auth
    status, _h, body = swift_cluster.request(
        'GET', '%s/%s/o' % (storage_url, container), headers,
        source_ip='127.0.0.7')
    assert (status, body) == (200, b'hello')
    needle = '127.0.0.7 127.0.0.7 '
    log = _wait_for_log(swift_cluster, 'proxy', needle)
    assert any(line.split('proxy-server: ', 1)[-1].startswith(needle)
               and '/%s/o ' % container in line
               for line in log.splitlines()), log[-2000:]


def test_in_process_app_lists_the_same_container(swift_cluster, auth,
                                                 container):
    storage_url, headers = auth
    path = '/v1/AUTH_test/%s?format=json' % container
    tcp = swift_cluster.request('GET', path, headers)
    status, _h, body = swift_cluster.call_app('GET', path, headers,
                                              remote_addr='10.1.2.3')
    assert status == 200
    assert [o['name'] for o in json.loads(body)] == ['o']
    assert json.loads(body) == json.loads(tcp[2])


def test_in_process_app_reads_objects(swift_cluster, auth, container):
    _storage_url, headers = auth
    status, _h, body = swift_cluster.call_app(
        'GET', '/v1/AUTH_test/%s/o' % container, headers,
        environ={'REMOTE_ADDR': None})
    assert (status, body) == (200, b'hello')


def test_info_shows_the_standard_pipeline(swift_cluster):
    status, _h, body = swift_cluster.request('GET', '/info')
    assert status == 200
    info = json.loads(body)
    for name in ('tempauth', 'tempurl', 'formpost', 'bulk_upload', 'slo',
                 'symlink', 'staticweb', 'versioned_writes',
                 'account_quotas', 'container_quotas'):
        assert name in info, sorted(info)


def test_pipeline_filters_go_right_after_auth(swift_cluster_factory):
    cluster = swift_cluster_factory(
        pipeline_filters=['read_only'],
        filter_conf={'read_only': {'use': 'egg:swift#read_only',
                                   'read_only': 'true'}})
    parser = configparser.RawConfigParser()
    parser.read(cluster.proxy_conf_path)
    pipeline = parser.get('pipeline:main', 'pipeline').split()
    assert pipeline[pipeline.index('tempauth') + 1] == 'read_only'
    storage_url, token = cluster.get_token()
    status, _h, _b = cluster.request('PUT', storage_url + '/c',
                                     {'X-Auth-Token': token})
    assert status == 405


def test_stop_ends_servers_and_removes_workdir():
    with SwiftCluster() as cluster:
        ports = dict(cluster.layout.ports)
        workdir = cluster.workdir
        storage_url, token = cluster.get_token()
        cluster.flush_cache()
        status, _h, _b = cluster.request('HEAD', storage_url,
                                         {'X-Auth-Token': token})
        assert status == 401
    assert all(_refuses_connections(port) for port in ports.values())
    assert not os.path.exists(workdir)


def test_failed_start_reports_the_server_log(tmp_path):
    workdir = str(tmp_path / 'cluster')
    cluster = SwiftCluster(
        workdir=workdir, pipeline_filters=['broken'],
        filter_conf={'broken': {
            'paste.filter_factory': 'opsext.no_such_module:filter_factory'}})
    with pytest.raises(ClusterStartError) as caught:
        cluster.start()
    assert 'proxy-server exited' in str(caught.value)
    assert 'opsext.no_such_module' in str(caught.value)
    parser = configparser.RawConfigParser()
    for server in ('proxy', 'account', 'container', 'object'):
        parser.read(os.path.join(workdir, '%s-server.conf' % server))
        port = parser.getint('DEFAULT', 'bind_port')
        assert _refuses_connections(port), server


def test_unknown_pipeline_filter_is_refused_before_start():
    with pytest.raises(ValueError, match='no section'):
        SwiftCluster(pipeline_filters=['no_such_filter'])
