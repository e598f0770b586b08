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


"""The rate limiter in nova-api's real pipeline, with real keystone auth.

nova-api is built by paste.deploy (nova's own ``wsgi.Loader``, through
nova's ``OSAPIFixture`` with ``stub_keystone=False``) from the shipped
``etc/nova/api-paste.ini-sample``, behind the load balancer model of
:mod:`tests.functional.nova.lb_model`. keystonemiddleware's real
``auth_token`` validates the tokens, which
``keystonemiddleware.fixture.AuthTokenFixture`` hands out in place of a
Keystone server; nova's real ``NovaKeystoneContext`` reads what it
confirms. Both opsext stages count in a real memcached. Only the IP rule's
rates are changed (to 30 a minute), so that a test can spend it slowly
enough not to depend on the machine's speed; every other line is the
sample's.

A boot is a ``POST`` with an empty body: nova refuses it (400) after both
stages counted it, so no server is created and no compute is needed.
"""

import os
import uuid

import fixtures
from keystonemiddleware import fixture as ksm_fixture
import nova.conf
from nova import test
from nova.tests import fixtures as nova_fixtures
from oslo_middleware import http_proxy_to_wsgi
import requests

from opsext.allinone import memcached
from tests.functional.nova import test_client_address_in_nova as sample

CONF = nova.conf.CONF
IP_RATES = 'rates=30/minute'
BOOTS_PER_MINUTE = 10  # the sample's rule_boots


class TestRateLimitInNovaPipeline(test.TestCase):

    def setUp(self):
        server = memcached.MemcachedServer().start()
        self.addCleanup(server.stop)
        self.flags(api_paste_config=self._paste(server), group='wsgi')
        CONF.register_opts(http_proxy_to_wsgi.OPTS, group='oslo_middleware')
        self.flags(enable_proxy_headers_parsing=True,
                   group='oslo_middleware')
        super().setUp()
        # The Keystone a refusal names (WWW-Authenticate); nothing is sent
        # to it: the fixture answers for it.
        self.flags(www_authenticate_uri='http://127.0.0.1:5000/v3',
                   group='keystone_authtoken')
        self.tokens = self.useFixture(ksm_fixture.AuthTokenFixture())
        api = self.useFixture(nova_fixtures.OSAPIFixture(
            api_version='v2.1', stub_keystone=False))
        # http://<host>:80/v2.1 -> http://<host>:80
        self.root = api.api.base_url.rsplit('/', 1)[0]

    def _clear_attrs(self):
        # Nova deletes the test's public attributes after each test;
        # under pytest that includes what pytest still needs.
        pass

    def _paste(self, server):
        with open(sample.SAMPLE) as source:
            text = sample._with_balancer(
                source.read(), 'opsext_client_address',
                backend='memcached://' + server.address)
        text = text.replace('rule_per_ip = rates=20/second;1000/minute',
                            'rule_per_ip = ' + IP_RATES)
        self.assertIn(IP_RATES, text)
        self.assertIn('opsext_test_lb opsext_client_address '
                      'opsext_ratelimit_ip', text)
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'api-paste.ini')
        with open(path, 'w') as target:
            target.write(text)
        return path

    def _user(self, project=None):
        """A token of a member of ``project`` (a new one by default)."""
        token = uuid.uuid4().hex
        self.tokens.add_token_data(
            token_id=token, user_id=uuid.uuid4().hex,
            project_id=project or uuid.uuid4().hex, role_list=['member'])
        return token

    def _call(self, token, path, client='10.1.7.1', method='POST',
              **headers):
        headers.update({'X-Auth-Token': token, 'X-Test-Client': client,
                        'Content-Type': 'application/json'})
        return requests.request(method, self.root + path, data='{}',
                                headers=headers)

    def _statuses(self, token, path, count, **kwargs):
        return [self._call(token, path, **kwargs).status_code
                for _ in range(count)]

    def _assert_allowed(self, statuses):
        # Through both stages and auth: nova's own answer to an empty boot.
        self.assertNotIn(429, statuses)
        self.assertNotIn(401, statuses)

    def _assert_limited(self, response):
        self.assertEqual(429, response.status_code, response.text)
        self.assertIn('Retry-After', response.headers)

    def test_token_is_checked_by_real_auth_token(self):
        # Control: a token the fixture did not issue is refused by
        # keystonemiddleware, so the budgets below are real identities.
        self.assertEqual(401, self._call('not-a-token',
                                         '/v2.1/servers').status_code)
        self.assertEqual(400, self._call(self._user(),
                                         '/v2.1/servers').status_code)

    def test_two_users_at_one_address_have_separate_budgets(self):
        alice, bob = self._user(), self._user()
        self._assert_allowed(self._statuses(alice, '/v2.1/servers',
                                            BOOTS_PER_MINUTE))
        self._assert_limited(self._call(alice, '/v2.1/servers'))
        # Same address, another project: a budget of its own.
        self._assert_allowed(self._statuses(bob, '/v2.1/servers',
                                            BOOTS_PER_MINUTE))
        self._assert_limited(self._call(bob, '/v2.1/servers'))

    def test_one_user_from_two_addresses_shares_one_budget(self):
        alice = self._user()
        half = BOOTS_PER_MINUTE // 2
        self._assert_allowed(
            self._statuses(alice, '/v2.1/servers', half, client='10.1.7.1')
            + self._statuses(alice, '/v2.1/servers', half,
                             client='10.2.7.1'))
        self._assert_limited(self._call(alice, '/v2.1/servers',
                                        client='10.3.7.1'))

    def test_two_users_of_one_project_share_its_budget(self):
        project = uuid.uuid4().hex
        alice, bob = self._user(project), self._user(project)
        half = BOOTS_PER_MINUTE // 2
        self._assert_allowed(self._statuses(alice, '/v2.1/servers', half)
                             + self._statuses(bob, '/v2.1/servers', half))
        self._assert_limited(self._call(alice, '/v2.1/servers'))

    def test_client_forwarded_headers_do_not_pick_the_ip_bucket(self):
        token = self._user()
        spoofs = [self._call(
            token, '/v2.1/servers', method='GET', client='10.1.7.1',
            **{'X-Forwarded-For': '203.0.113.%d' % i,
               'Forwarded': 'for=198.51.100.%d' % i}).status_code
            for i in range(30)]
        self._assert_allowed(spoofs)
        # One bucket, the address the balancer saw, whatever was written.
        self._assert_limited(self._call(
            token, '/v2.1/servers', method='GET', client='10.1.7.1',
            **{'X-Forwarded-For': '203.0.113.99'}))
        # Control: another client's bucket is its own.
        self._assert_allowed(self._statuses(token, '/v2.1/servers', 1,
                                            method='GET', client='10.1.7.2'))

    def test_client_forwarded_headers_do_not_spend_a_victims_budget(self):
        token = self._user()
        victim = '10.2.7.9'
        spent = [self._call(
            token, '/v2.1/servers', method='GET', client='10.1.7.3',
            **{'X-Forwarded-For': victim,
               'Forwarded': 'for=%s' % victim}).status_code
            for _ in range(31)]
        self.assertEqual(429, spent[-1])  # the attacker's own bucket
        self._assert_allowed(self._statuses(token, '/v2.1/servers', 1,
                                            method='GET', client=victim))

    def test_legacy_v2_mount_is_limited(self):
        token = self._user()
        self._assert_allowed(self._statuses(token, '/v2/servers',
                                            BOOTS_PER_MINUTE))
        self._assert_limited(self._call(token, '/v2/servers'))

    def test_legacy_v2_with_the_project_in_the_path_is_limited(self):
        project = uuid.uuid4().hex
        token = self._user(project)
        path = '/v2/%s/servers' % project
        self._assert_allowed(self._statuses(token, path, BOOTS_PER_MINUTE))
        self._assert_limited(self._call(token, path))

    def test_both_mounts_share_one_boot_budget(self):
        token = self._user()
        half = BOOTS_PER_MINUTE // 2
        self._assert_allowed(self._statuses(token, '/v2.1/servers', half)
                             + self._statuses(token, '/v2/servers', half))
        self._assert_limited(self._call(token, '/v2/servers'))

    def test_os_volumes_boot_counts_as_a_boot(self):
        token = self._user()
        half = BOOTS_PER_MINUTE // 2
        self._assert_allowed(
            self._statuses(token, '/v2.1/os-volumes_boot', half)
            + self._statuses(token, '/v2.1/servers', half))
        self._assert_limited(self._call(token, '/v2.1/os-volumes_boot'))

    def test_compute_mount_prefix_does_not_walk_around_the_rule(self):
        token = self._user()
        self._assert_allowed(self._statuses(
            token, '/v2.1/servers', BOOTS_PER_MINUTE,
            **{'X-Test-Mount': '/compute'}))
        self._assert_limited(self._call(token, '/v2.1/servers',
                                        **{'X-Test-Mount': '/compute'}))

    def test_client_forwarded_prefix_does_not_walk_around_the_rule(self):
        token = self._user()
        statuses = [self._call(
            token, '/v2.1/servers',
            **{'X-Forwarded-Prefix': '/p%d/x' % i}).status_code
            for i in range(BOOTS_PER_MINUTE)]
        self._assert_allowed(statuses)
        self._assert_limited(self._call(
            token, '/v2.1/servers', **{'X-Forwarded-Prefix': '/other'}))

    def test_other_posts_are_not_boots(self):
        # Control for the path rule: a non-boot POST spends only the
        # writes budget (20/second), not the 10 boots a minute.
        token = self._user()
        self._assert_allowed(self._statuses(token, '/v2.1/os-keypairs',
                                            BOOTS_PER_MINUTE + 1))
        self._assert_allowed(self._statuses(token, '/v2.1/servers', 1))
