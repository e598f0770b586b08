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


"""``opsext placement explain --os-cloud`` against Nova's in-process API.

openstacksdk reads a clouds.yaml whose compute endpoint is the harness's
nova-api (wsgi-intercept serves it in this process), behind the same
modelled load balancer as the other tests.
"""

import contextlib
import io
import json
import os

import fixtures
import yaml

from opsext.cmd import main
from tests.functional.nova import test_client_address_in_nova as base

CONFIG = """[opsext_subnet_affinity]
trusted_proxies = 192.0.2.10
untagged_hosts = deny
unmatched_requests = none
source_stamp_secret = %s
""" % base.SAMPLE_SECRET


class TestLiveExplainer(base.BehindBalancerBase):

    hosts = ('doc1', 'doc2', 'ops1', 'ops2')

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.clouds = os.path.join(tmp, 'clouds.yaml')
        endpoint = self.api_fixture.api.base_url
        with open(self.clouds, 'w') as fp:
            yaml.safe_dump({'clouds': {'harness': {
                'auth_type': 'none',
                'auth': {'endpoint': endpoint},
                'compute_endpoint_override': endpoint}}}, fp)
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE', self.clouds))
        self.conf = os.path.join(tmp, 'nova.conf')
        with open(self.conf, 'w') as fp:
            fp.write(CONFIG)
        self.tmp = tmp

    def _explain(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(
                err):
            code = main.main(['placement', 'explain', '--os-cloud',
                              'harness', '--config', self.conf,
                              '--format', 'json'] + list(argv))
        self.assertEqual('', err.getvalue())
        return code, json.loads(out.getvalue())

    def _passing(self, result):
        return sorted(h['host'] for h in result['hosts'] if h['passes'])

    def test_live_cloud_address(self):
        code, result = self._explain('--address', '10.1.0.5')
        self.assertEqual(0, code)
        self.assertEqual(['doc1', 'doc2'], self._passing(result))
        self.assertEqual('10.1.0.0/16', result['network'])

    def test_remote_address_list_is_resolved_with_trusted_proxies(self):
        code, result = self._explain(
            '--remote-address', '10.2.0.66, 10.1.0.5, 192.0.2.10')
        self.assertEqual('10.1.0.5', result['address'])
        self.assertIn('the client is 10.1.0.5', result['steps'][0])
        self.assertEqual(['doc1', 'doc2'], self._passing(result))

    def test_forwarded_spoof_is_explained(self):
        code, result = self._explain('--remote-address', '192.0.2.10',
                                     '--forwarded', 'for=10.2.0.66, '
                                     'for=10.1.0.5')
        self.assertEqual(['doc1', 'doc2'], self._passing(result))
        self.assertIn('first for= (10.2.0.66)', ' '.join(result['steps']))

    def test_server_shows_its_stamped_group_and_move_targets(self):
        server = self._boot_via_lb('10.1.7.1')
        host = self._host(server)
        code, result = self._explain('--server', server['id'])
        self.assertEqual(0, code)
        self.assertIn('created from 10.1.7.1 (verified stamp)',
                      ' '.join(result['steps']))
        self.assertEqual(sorted({'doc1', 'doc2'} - {host}),
                         self._passing(result))
        self.assertNotIn(host, [h['host'] for h in result['hosts']])

    def test_inventory_written_from_the_cloud_explains_the_same(self):
        path = os.path.join(self.tmp, 'inventory.yaml')
        code, live = self._explain('--address', '10.2.0.5',
                                   '--write-inventory', path)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            main.main(['placement', 'explain', '--inventory', path,
                       '--config', self.conf, '--format', 'json',
                       '--address', '10.2.0.5'])
        offline = json.loads(out.getvalue())
        self.assertEqual(live['hosts'], offline['hosts'])
        self.assertEqual(['ops1', 'ops2'], self._passing(offline))
