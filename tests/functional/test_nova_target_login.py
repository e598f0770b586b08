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


"""NovaTarget's Keystone v3 login, against a stand-in on 127.0.0.1.

The stand-in answers ``POST /v3/auth/tokens`` as Keystone does (201, the
token in ``X-Subject-Token``, the catalog in the body) for one password,
and ``GET /compute/v2.1`` as nova-api's version document.
"""

import http.server
import json
import threading

import pytest

from opsext.testing import nova_target

PASSWORD = 'secret'


class _Keystone(http.server.BaseHTTPRequestHandler):

    def do_POST(self):
        body = json.loads(self.rfile.read(
            int(self.headers['Content-Length'])))
        self.server.logins.append(body)
        user = body['auth']['identity']['password']['user']
        if user['password'] != PASSWORD:
            self._answer(401, {'error': {'code': 401}})
            return
        base = 'http://127.0.0.1:%d' % self.server.server_port
        self._answer(201, {'token': {'catalog': [
            {'type': 'identity', 'endpoints': [
                {'interface': 'public', 'region': 'RegionOne',
                 'url': base + '/v3'}]},
            {'type': 'compute', 'endpoints': [
                {'interface': 'internal', 'region': 'RegionOne',
                 'url': base + '/internal/v2.1'},
                {'interface': 'public', 'region': 'RegionOne',
                 'url': base + '/compute/v2.1'},
                {'interface': 'public', 'region': 'RegionTwo',
                 'url': base + '/two/v2.1'}]}]}},
            {'X-Subject-Token': 'token-1'})

    def do_GET(self):
        self._answer(200, {'version': {'id': 'v2.1'}})

    def _answer(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def keystone():
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Keystone)
    server.logins = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _target(keystone, **changes):
    fields = dict(auth_url='http://127.0.0.1:%d/v3' % keystone.server_port,
                  user='admin', key=PASSWORD, project='admin',
                  flavor='1', image='cirros')
    fields.update(changes)
    return nova_target.NovaTarget(**fields)


def test_login_takes_the_public_compute_endpoint(keystone):
    client = _target(keystone).login()
    assert client.url == 'http://127.0.0.1:%d/compute/v2.1' % (
        keystone.server_port)
    assert client.headers == {'X-Auth-Token': 'token-1'}
    scope = keystone.logins[0]['auth']['scope']['project']
    assert scope == {'name': 'admin', 'domain': {'name': 'Default'}}


def test_login_in_a_region(keystone):
    client = _target(keystone, region='RegionTwo').login()
    assert client.url.endswith('/two/v2.1')


def test_nova_url_overrides_the_catalog(keystone):
    client = _target(keystone, nova_url='http://127.0.0.1:1/v2.1').login()
    assert client.url == 'http://127.0.0.1:1/v2.1'


def test_region_without_compute_names_the_variable(keystone):
    with pytest.raises(RuntimeError) as info:
        _target(keystone, region='RegionNine').login()
    assert 'in region RegionNine' in str(info.value)
    assert 'OPSEXT_TEST_NOVA_URL' in str(info.value)


def test_refused_password_says_who(keystone):
    with pytest.raises(RuntimeError) as info:
        _target(keystone, key='wrong').login()
    assert 'refused admin: 401' in str(info.value)


def test_client_address_is_the_connection_s_local_address(keystone):
    target = _target(keystone)
    assert target.client_address_for(target.login()) == '127.0.0.1'


def test_given_client_address_wins(keystone):
    target = _target(keystone, client_address='192.0.2.7')
    assert target.client_address_for(target.login()) == '192.0.2.7'
