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


"""The subnet-affinity plugins in Nova's in-process functional harness.

nova-api, conductor, scheduler, placement and fake computes run in this
process (``ProviderUsageBaseTestCase``); servers are created and moved
through the REST API, with ``X-Forwarded-For`` parsed by nova's own
``http_proxy_to_wsgi``. Hosts ``doc1``/``doc2`` serve 10.1.0.0/16 and
``ops1``/``ops2`` 10.2.0.0/16 through aggregate metadata; ``dev1`` is in
no group.
"""

import os
import sys

import nova.conf
from nova.tests.functional import integrated_helpers
from oslo_middleware import http_proxy_to_wsgi

from opsext.subnet_affinity import options
from opsext.testing import nova_cloud
from tests.functional.nova import lb_model

CONF = nova.conf.CONF
DOCS = {'doc1', 'doc2'}
OPS = {'ops1', 'ops2'}
PROXY = lb_model.PROXY  # the load balancer in front of nova-api
HINT = 'opsext_source_address'
NOVA_API_PASTE = os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini')


class SubnetAffinityTestBase(integrated_helpers.ProviderUsageBaseTestCase):
    """A cloud with two subnet groups and an untagged host."""

    compute_driver = 'fake.SmallFakeDriver'
    hosts = ('doc1', 'doc2', 'ops1', 'ops2', 'dev1')
    enabled_filters = ['ComputeFilter', 'SubnetAffinityFilter']
    affinity = {'unmatched_requests': 'none', 'untagged_hosts': 'deny'}

    def setUp(self):
        self.flags(api_paste_config=self._api_paste_config(), group='wsgi')
        CONF.register_opts(http_proxy_to_wsgi.OPTS, group='oslo_middleware')
        self.flags(enable_proxy_headers_parsing=True,
                   group='oslo_middleware')
        options.register_opts(CONF)
        self.flags(available_filters=['nova.scheduler.filters.all_filters',
                                      'opsext.nova.filters.all_filters'],
                   enabled_filters=self.enabled_filters,
                   weight_classes=['nova.scheduler.weights.all_weighers',
                                   'opsext.nova.weights.all_weighers'],
                   group='filter_scheduler')
        self.flags(group=options.GROUP,
                   **dict({'trusted_proxies': [PROXY]}, **self.affinity))
        super().setUp()
        # The harness's self.api is an admin; servers are the users'.
        self.user_api = self.api_fixture.api
        self.user_api.microversion = self.microversion
        self.computes = {}
        for name in self.hosts:
            self.computes[name] = self._start_compute(name)
        self._tag('docs', '10.1.0.0/16', 'doc1', 'doc2')
        self._tag('ops', '10.2.0.0/16', 'ops1', 'ops2')

    def _api_paste_config(self):
        # The nova wheel puts api-paste.ini under the environment's prefix.
        return NOVA_API_PASTE

    def _clear_attrs(self):
        # Nova deletes the test's public attributes after each test;
        # under pytest that includes what pytest still needs.
        pass

    def _tag(self, name, subnets, *hosts):
        return nova_cloud.create_aggregate(
            self, name, [host for host in hosts if host in self.computes],
            {'opsext_subnets': subnets})

    def _boot_from(self, client, api=None, expected_state='ACTIVE',
                   hints=None):
        # Through the load balancer: it appends the client's address.
        return nova_cloud.create_server(
            self, api or self.user_api, '%s, %s' % (client, PROXY), hints,
            expected_state)

    def _host(self, server):
        return self._show_server(server)['OS-EXT-SRV-ATTR:host']

    def _act_from(self, client, server, action):
        self.admin_api.api_post(
            '/servers/%s/action' % server['id'], action,
            headers={'X-Forwarded-For': '%s, %s' % (client, PROXY)})


class TestBootsByForwardedAddress(SubnetAffinityTestBase):

    def test_boots_from_two_subnets_land_on_their_groups(self):
        docs = [self._host(self._boot_from('10.1.7.%d' % i))
                for i in (1, 2)]
        ops = [self._host(self._boot_from('10.2.7.%d' % i)) for i in (1, 2)]
        self.assertTrue(set(docs) <= DOCS, docs)
        self.assertTrue(set(ops) <= OPS, ops)

    def test_10_10_is_not_taken_for_10_1(self):
        server = self._boot_from('10.10.0.5', expected_state='ERROR')
        self.assertIn('No valid host', server['fault']['message'])

    def test_unmapped_subnet_gets_no_valid_host(self):
        server = self._boot_from('172.16.0.5', expected_state='ERROR')
        self.assertIn('No valid host', server['fault']['message'])

    def test_spoofed_forwarded_hop_is_not_believed(self):
        # The client claims 10.1.x itself; the proxy records who it saw.
        server = self.user_api.api_post('/servers', {
            'server': self._build_server(networks='none')}, headers={
                'X-Forwarded-For': '10.1.0.66, 172.16.0.5, %s' % PROXY}
        ).body['server']
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertIn('No valid host', server['fault']['message'])


class TestUnmatchedGoesAnywhere(SubnetAffinityTestBase):

    hosts = ('doc1', 'ops1')
    affinity = {'unmatched_requests': 'any', 'untagged_hosts': 'deny'}

    def test_unmapped_subnet_lands_on_any_host(self):
        server = self._boot_from('172.16.0.5')
        self.assertIn(self._host(server), {'doc1', 'ops1'})


class TestUnmatchedGoesToUntagged(SubnetAffinityTestBase):

    affinity = {'unmatched_requests': 'untagged', 'untagged_hosts': 'deny'}

    def test_unmapped_subnet_lands_on_the_untagged_host(self):
        self.assertEqual('dev1', self._host(self._boot_from('172.16.0.5')))


class TestMovesStayInTheGroup(SubnetAffinityTestBase):
    """An admin working from 10.2.x moves a server booted from 10.1.x."""

    ADMIN = '10.2.99.1'

    def _boot_on(self, host):
        # Pin the server's starting host by leaving only that doc host up
        # for the boot; the other is enabled again for the move.
        other = (DOCS - {host}).pop()
        self._set_enabled(other, False)
        server = self._boot_from('10.1.7.1')
        self.assertEqual(host, self._host(server))
        self._set_enabled(other, True)
        return server

    def _set_enabled(self, host, enabled):
        service = self.admin_api.get_services(host=host,
                                              binary='nova-compute')[0]
        self.admin_api.put_service(service['id'], {
            'status': 'enabled' if enabled else 'disabled'})

    def test_admin_cold_migrate_from_another_subnet_stays_in_group(self):
        server = self._boot_on('doc1')
        self._act_from(self.ADMIN, server, {'migrate': None})
        server = self._wait_for_state_change(server, 'VERIFY_RESIZE')
        self.assertEqual('doc2', self._host(server))

    def test_cold_migrate_with_no_other_group_host_does_not_leave(self):
        server = self._boot_on('doc1')
        self._set_enabled('doc2', False)
        self._act_from(self.ADMIN, server, {'migrate': None})
        # NoValidHost in the conductor: the migration errors, the server
        # stays where it is, on its group's host.
        self._wait_for_migration_status(server, ['error'])
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('doc1', self._host(server))

    def test_admin_live_migrate_from_another_subnet_stays_in_group(self):
        server = self._boot_on('doc1')
        self._act_from(self.ADMIN, server, {'os-migrateLive': {
            'host': None, 'block_migration': 'auto'}})
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('doc2', self._host(server))

    def test_owner_resize_from_another_subnet_stays_in_group(self):
        server = self._boot_on('doc1')
        flavor = self.api.get_flavors()[1]['id']
        self.user_api.api_post(
            '/servers/%s/action' % server['id'],
            {'resize': {'flavorRef': flavor}},
            headers={'X-Forwarded-For': '10.2.7.7, %s' % PROXY})
        server = self._wait_for_state_change(server, 'VERIFY_RESIZE')
        self.assertEqual('doc2', self._host(server))

    def test_admin_evacuate_from_another_subnet_stays_in_group(self):
        server = self._boot_on('doc1')
        self.computes['doc1'].stop()
        service = self.admin_api.get_services(host='doc1',
                                              binary='nova-compute')[0]
        self.admin_api.put_service(service['id'], {'forced_down': True})
        self._act_from(self.ADMIN, server, {'evacuate': {}})
        self._wait_for_migration_status(server, ['done'])
        self.assertEqual('doc2', self._host(server))

    def test_unshelve_by_an_admin_from_another_subnet_stays_in_group(self):
        server = self._boot_on('doc1')
        self.flags(shelved_offload_time=0)
        self.user_api.post_server_action(server['id'], {'shelve': {}})
        self._wait_for_server_parameter(server, {
            'status': 'SHELVED_OFFLOADED', 'OS-EXT-SRV-ATTR:host': None})
        self._set_enabled('doc1', False)
        self._act_from(self.ADMIN, server, {'unshelve': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('doc2', self._host(server))


class TestSourceAddressHint(SubnetAffinityTestBase):

    hosts = ('doc1', 'ops1')
    affinity = dict(SubnetAffinityTestBase.affinity,
                    source_address_hint=HINT)

    def test_admin_hint_names_the_source(self):
        server = self._boot_from('10.1.7.1', api=self.admin_api,
                                 hints={HINT: '10.2.0.8'})
        self.assertEqual('ops1', self._host(server))

    def test_user_supplied_hint_is_ignored(self):
        server = self._boot_from('10.1.7.1', hints={HINT: '10.2.0.8'})
        self.assertEqual('doc1', self._host(server))


class TestWeigherPrefersTheGroup(SubnetAffinityTestBase):
    """No subnet filter: the weigher alone turns affinity into preference."""

    enabled_filters = ['ComputeFilter']
    affinity = {'subnet_affinity_weight_multiplier': 100.0}

    def test_weigher_puts_the_requesters_group_first(self):
        for client, group in (('10.1.7.1', DOCS), ('10.2.7.1', OPS),
                              ('10.1.7.2', DOCS), ('10.2.7.2', OPS)):
            self.assertIn(self._host(self._boot_from(client)), group)


NOVA_DEFAULT_FILTERS = ['ComputeFilter', 'ComputeCapabilitiesFilter',
                        'ImagePropertiesFilter',
                        'ServerGroupAntiAffinityFilter',
                        'ServerGroupAffinityFilter']


class IdenticalHostsBase(SubnetAffinityTestBase):
    """Identical hosts, nova's default filters and weighers, ours added,
    no subnet filter: the weigher alone."""

    hosts = ('doc1', 'doc2', 'ops1', 'ops2')
    enabled_filters = NOVA_DEFAULT_FILTERS
    affinity = {}


class TestWeigherDefaultKeepsAffinity(IdenticalHostsBase):
    """With the default multiplier, four servers from 10.1.x all land on
    the two doc hosts, although each one makes them emptier than ops1 and
    ops2 (RAM, CPU, disk weighers)."""

    def test_default_multiplier_keeps_the_group_first(self):
        landed = [self._host(self._boot_from('10.1.7.%d' % i))
                  for i in range(1, 5)]
        self.assertEqual(['doc1', 'doc1', 'doc2', 'doc2'], sorted(landed))


class TestWeigherMultiplierOneIsOutweighed(IdenticalHostsBase):
    """Control: at 1.0, nova's weighers win by the third server."""

    affinity = {'subnet_affinity_weight_multiplier': 1.0}

    def test_multiplier_one_loses_to_novas_weighers(self):
        landed = [self._host(self._boot_from('10.1.7.%d' % i))
                  for i in range(1, 4)]
        self.assertEqual(DOCS, set(landed[:2]))
        self.assertIn(landed[2], OPS)
