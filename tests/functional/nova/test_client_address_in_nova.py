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


"""The client_address filter in nova-api, behind a modelled load balancer.

nova-api is loaded from the shipped ``etc/placement/api-paste.ini-sample``
(nova's own file with ``opsext_client_address`` first), with the load
balancer model of :mod:`tests.functional.nova.lb_model` in front of it,
and ``[oslo_middleware] enable_proxy_headers_parsing = true``. Each cloud
has exactly one host per subnet group, so every placement is determined:
a server in the wrong group lands on the other group's one host, never on
the right one by chance.
"""

import os

import fixtures
from nova.tests.functional.api import client as api_client

from tests.functional.nova import test_in_nova

SAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                      os.pardir, 'etc', 'placement', 'api-paste.ini-sample')
LB_SECTION = """
[filter:opsext_test_lb]
paste.filter_factory = tests.functional.nova.lb_model:filter_factory
"""


def _with_balancer(paste_text, filter_name):
    """``paste_text`` with the balancer model before ``filter_name``."""
    lines = []
    for line in paste_text.splitlines():
        if line.startswith(('keystone = ', 'pipeline = ')):
            key, _, pipeline = line.partition(' = ')
            if pipeline.startswith(filter_name):
                line = '%s = opsext_test_lb %s' % (key, pipeline)
        lines.append(line)
    return '\n'.join(lines) + LB_SECTION


class BehindBalancerBase(test_in_nova.SubnetAffinityTestBase):
    """doc1 serves 10.1.0.0/16 and 2001:db8:1::/48, ops1 10.2.0.0/16."""

    hosts = ('doc1', 'ops1')
    # The strictest options: only the client's own group may take it.
    affinity = {'unmatched_requests': 'none', 'untagged_hosts': 'deny'}
    paste_source = SAMPLE
    first_filter = 'opsext_client_address'

    def _api_paste_config(self):
        with open(self.paste_source) as source:
            text = _with_balancer(source.read(), self.first_filter)
        self.assertIn('opsext_test_lb', text)
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'api-paste.ini')
        with open(path, 'w') as target:
            target.write(text)
        return path

    def setUp(self):
        super().setUp()
        self._tag('docs6', '2001:db8:1::/48', 'doc1')

    def _boot_via_lb(self, client, expected_state='ACTIVE', **headers):
        headers['X-Test-Client'] = client
        server = self.user_api.api_post('/servers', {
            'server': self._build_server(networks='none')},
            headers=headers).body['server']
        return self._wait_for_state_change(server, expected_state)


class TestClientAddressFilter(BehindBalancerBase):

    def test_forwarded_spoof_does_not_change_the_group(self):
        server = self._boot_via_lb('10.1.7.1', Forwarded='for=10.2.0.66')
        self.assertEqual('doc1', self._host(server))

    def test_extra_x_forwarded_for_entry_does_not_change_the_group(self):
        server = self._boot_via_lb(
            '10.1.7.1', **{'X-Forwarded-For': '10.2.0.66'})
        self.assertEqual('doc1', self._host(server))

    def test_extra_entry_from_an_unmapped_client_is_not_any_host(self):
        server = self._boot_via_lb(
            '172.16.0.5', expected_state='ERROR',
            **{'X-Forwarded-For': '10.1.0.66'})
        self.assertIn('No valid host', server['fault']['message'])

    def test_ipv4_client_lands_in_its_group(self):
        self.assertEqual('doc1', self._host(self._boot_via_lb('10.1.7.1')))
        self.assertEqual('ops1', self._host(self._boot_via_lb('10.2.7.1')))

    def test_ipv6_client_lands_in_its_group(self):
        self.assertEqual('doc1',
                         self._host(self._boot_via_lb('2001:db8:1::7')))

    def test_ipv4_mapped_client_lands_in_its_ipv4_group(self):
        self.assertEqual('ops1',
                         self._host(self._boot_via_lb('::ffff:10.2.7.1')))

    def test_unknown_client_from_the_balancer_is_a_400(self):
        exc = self.assertRaises(
            api_client.OpenStackApiException, self.user_api.api_post,
            '/servers', {'server': self._build_server(networks='none')},
            headers={'X-Test-Client': 'unknown'})
        self.assertEqual(400, exc.response.status_code)
        self.assertIn('client address cannot be determined',
                      exc.response.text)


class TestWithoutClientAddressFilter(BehindBalancerBase):
    """Control: nova's own api-paste.ini behind the same balancer.

    Shows that the tests above would catch the spoof: without the filter,
    http_proxy_to_wsgi believes the client's Forwarded header.
    """

    paste_source = test_in_nova.NOVA_API_PASTE
    first_filter = 'cors http_proxy_to_wsgi compute_req_id'

    def test_forwarded_spoof_steers_nova_without_the_filter(self):
        server = self._boot_via_lb('10.1.7.1', Forwarded='for=10.2.0.66')
        self.assertEqual('ops1', self._host(server))


class TestUnresolvableWithDefaultOptions(BehindBalancerBase):
    """nova's own pipeline, default options: no trusted_proxies, any."""

    paste_source = test_in_nova.NOVA_API_PASTE
    first_filter = 'cors http_proxy_to_wsgi compute_req_id'
    affinity = {'trusted_proxies': []}

    def test_extra_x_forwarded_for_entry_is_refused_not_any_host(self):
        # nova records "10.2.0.66, 10.1.7.1"; nothing vouches for either.
        server = self._boot_via_lb('10.1.7.1', expected_state='ERROR',
                                   **{'X-Forwarded-For': '10.2.0.66'})
        self.assertIn('No valid host', server['fault']['message'])
        self.assertIn('subnet affinity refuses the request',
                      self.stdlog.logger.output)
        self.assertIn('no trusted_proxies', self.stdlog.logger.output)

    def test_unmatched_but_resolved_address_goes_anywhere(self):
        # Control: unmatched_requests=any still serves a known address.
        server = self._boot_via_lb('172.16.0.5')
        self.assertIn(self._host(server), {'doc1', 'ops1'})
