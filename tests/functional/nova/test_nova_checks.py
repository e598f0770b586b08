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


"""The deployed-cloud placement checks, run against Nova's harness.

:mod:`opsext.testing.nova_checks` is what
``tests/functional/deployed/test_nova_placement.py`` runs against a
deployed Nova; here it runs, unchanged, against the in-process cloud of
``test_in_nova`` (``docs``: doc1, doc2 serve 10.1.0.0/16; ``ops``: ops1,
ops2 serve 10.2.0.0/16; dev1 is in no group). Its ``http.client`` calls
reach nova-api through wsgi-intercept's ``http.client`` interceptor; it
authenticates with the harness's admin headers instead of a token, and
comes "through the load balancer" with ``X-Forwarded-For``, so the client
address is the test's choice. The checks must pass where placement is
right and fail where it is not.
"""

from wsgi_intercept import http_client_intercept

from opsext.testing import nova_api
from opsext.testing import nova_checks
from tests.functional.nova import test_in_nova

IMAGE = '155d900f-4e14-4e4c-a73d-069cbf4541e6'
FLAVOR = '1'


class ChecksTestBase(test_in_nova.SubnetAffinityTestBase):

    def setUp(self):
        super().setUp()
        # The OSAPIFixture intercepts `requests`; the checks use
        # http.client, whose interceptor finds the same registered app.
        http_client_intercept.install()
        self.addCleanup(http_client_intercept.uninstall)

    def _client(self, address):
        admin = self.admin_api
        return nova_api.NovaClient(admin.base_url, {
            'X-Auth-User': admin.auth_user, 'X-User-Id': admin.auth_user,
            'X-Auth-Project-Id': admin.project_id,
            'X-Roles': ','.join(admin.roles),
            'X-Forwarded-For': '%s, %s' % (address, test_in_nova.PROXY)})

    def _check_boot(self, address, expect='group', image=IMAGE,
                    flavor=FLAVOR):
        client = self._client(address)
        expectation = nova_checks.expected_placement(
            client.aggregates(), address, expect)
        return expectation, nova_checks.check_boot_placement(
            client, expectation, image, flavor, 'none', timeout=60,
            poll=0.1)

    def _assert_no_servers_left(self):
        self.assertEqual([], self.admin_api.get_servers())


class TestMetadataCheck(ChecksTestBase):

    hosts = ('doc1', 'ops1')

    def test_lists_the_tagged_aggregates_parsed(self):
        found = nova_checks.check_aggregate_metadata(self._client('10.1.0.1'))
        self.assertEqual(
            {'docs': (('doc1',), '10.1.0.0/16'),
             'ops': (('ops1',), '10.2.0.0/16')},
            {a.name: (a.hosts, ','.join(str(n) for n in a.networks))
             for a in found})

    def test_names_the_aggregate_with_a_malformed_value(self):
        self._tag('typo', '10.1')
        error = self.assertRaises(
            nova_checks.CheckFailure, nova_checks.check_aggregate_metadata,
            self._client('10.1.0.1'))
        self.assertIn("aggregate typo: opsext_subnets='10.1'", str(error))


class TestBootChecksWithTheFilter(ChecksTestBase):

    def test_boot_from_a_group_lands_in_it_and_is_deleted(self):
        expectation, placement = self._check_boot('10.1.7.1')
        self.assertEqual(test_in_nova.DOCS, expectation.inside)
        self.assertEqual('ACTIVE', placement.status)
        self.assertIn(placement.host, test_in_nova.DOCS)
        self._assert_no_servers_left()

    def test_flavor_and_image_given_by_name(self):
        _expectation, placement = self._check_boot(
            '10.2.7.1', image='fakeimage7', flavor='m1.tiny')
        self.assertIn(placement.host, test_in_nova.OPS)

    def test_ambiguous_image_name_is_refused_before_booting(self):
        error = self.assertRaises(nova_api.NovaError, self._check_boot,
                                  '10.2.7.1', image='fakeimage123456')
        self.assertIn("images are named 'fakeimage123456'", str(error))
        self._assert_no_servers_left()

    def test_unmatched_client_refused_as_expected(self):
        _expectation, placement = self._check_boot('172.16.0.5',
                                                   'novalidhost')
        self.assertEqual('ERROR', placement.status)
        self._assert_no_servers_left()

    def test_expect_group_for_an_unmatched_client_fails_before_booting(self):
        error = self.assertRaises(nova_checks.CheckFailure, self._check_boot,
                                  '172.16.0.5')
        self.assertIn('172.16.0.5 matches no subnet rule', str(error))
        self.assertIn('OPSEXT_TEST_NOVA_EXPECT', str(error))
        self._assert_no_servers_left()

    def test_expect_novalidhost_fails_when_the_boot_succeeds(self):
        error = self.assertRaises(nova_checks.CheckFailure, self._check_boot,
                                  '10.1.7.1', 'novalidhost')
        self.assertIn('got server', str(error))
        self.assertIn(': ACTIVE on doc', str(error))
        self._assert_no_servers_left()


class TestBootCheckWithoutTheFilter(ChecksTestBase):
    """A cloud whose scheduler ignores the groups: the check must fail."""

    hosts = ('doc1', 'ops1')
    enabled_filters = ['ComputeFilter']

    def test_server_outside_the_group_fails_the_check(self):
        service = self.admin_api.get_services(host='doc1',
                                              binary='nova-compute')[0]
        self.admin_api.put_service(service['id'], {'status': 'disabled'})
        error = self.assertRaises(nova_checks.CheckFailure, self._check_boot,
                                  '10.1.7.1')
        self.assertIn('expected a boot from 10.1.7.1 lands on doc1',
                      str(error))
        self.assertIn(': ACTIVE on ops1', str(error))
        self._assert_no_servers_left()


class TestBootCheckUntagged(ChecksTestBase):

    hosts = ('doc1', 'dev1')
    affinity = {'unmatched_requests': 'untagged', 'untagged_hosts': 'deny'}

    def test_unmatched_client_lands_on_the_untagged_host(self):
        expectation, placement = self._check_boot('172.16.0.5', 'untagged')
        self.assertEqual({'doc1'}, expectation.outside)
        self.assertEqual('dev1', placement.host)
        self._assert_no_servers_left()
