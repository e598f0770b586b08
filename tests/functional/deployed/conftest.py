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


"""Fixtures of the ops-validation suite: the target and its containers.

With ``OPSEXT_TEST_TARGET=deployed`` the target is the deployed Swift the
``OPSEXT_TEST_*`` variables describe (:mod:`opsext.testing.target`);
otherwise a local :class:`~opsext.allinone.cluster.SwiftCluster`
with ip_allowlist and the rate limiter right after tempauth, reached over
TCP exactly as a deployed one is, so CI runs this suite too.

Every container the suite creates is deleted at the end. A container the
suite locked to a network it is not on cannot be deleted from the
client's own address (no self-unlock): on the local target the cleanup
comes from an address in ``operator_cidrs``; on a deployed one such
containers are left, empty, and listed at the end of the report.
"""

import json
import urllib.parse
import uuid

import pytest

from opsext.testing import target as target_mod

OPERATOR = '127.0.0.200'
LOCAL_WRITES = 10
LOCAL_FILTERS = ['ip_allowlist', 'opsext_ratelimit']
LOCAL_FILTER_CONF = {
    'ip_allowlist': {'use': 'egg:opsext#ip_allowlist',
                     'operator_cidrs': OPERATOR + '/32'},
    'opsext_ratelimit': {
        'use': 'egg:opsext#ratelimit',
        'rules': 'validate_writes',
        'rule_validate_writes': 'rates=%d/hour key=account,container '
                                'methods=PUT' % LOCAL_WRITES},
}
_LEFTOVERS = pytest.StashKey[list]()


@pytest.fixture(scope='session')
def target(deployed_target, swift_cluster_factory):
    """The Swift under validation (a :class:`Target`)."""
    if deployed_target is not None:
        return deployed_target
    cluster = swift_cluster_factory(pipeline_filters=LOCAL_FILTERS,
                                    filter_conf=LOCAL_FILTER_CONF)
    return target_mod.Target(
        name=target_mod.LOCAL, auth_url=cluster.auth_url,
        user='test:tester', key='testing', ratelimit_writes=LOCAL_WRITES,
        operator_source=OPERATOR)


@pytest.fixture(scope='session')
def session(target):
    """A logged-in client of the target."""
    return target.login()


class Containers:
    """Creates uniquely named containers; deletes them all at the end."""

    def __init__(self, session):
        self.session = session
        self.created = []

    def new(self, purpose):
        name = 'opsext-validate-%s-%s' % (purpose, uuid.uuid4().hex[:10])
        status, _headers, body = self.session.request('PUT', name)
        assert status in (201, 202), (status, body)
        self.created.append(name)
        return name

    def cleanup(self):
        """Delete every container; return those that could not be."""
        source = self.session.target.operator_source
        left = []
        for name in self.created:
            status, _h, body = self.session.request(
                'GET', name + '?format=json', source_ip=source)
            if status == 200:
                for obj in _json_names(body):
                    self.session.request('DELETE', '%s/%s' % (name, obj),
                                         source_ip=source)
            status, _h, _b = self.session.request('DELETE', name,
                                                  source_ip=source)
            if status not in (204, 404):
                left.append('%s (DELETE answered %d)' % (name, status))
        return left


def _json_names(body):
    return [urllib.parse.quote(item['name']) for item in json.loads(body)]


@pytest.fixture(scope='session')
def containers(session, request):
    helper = Containers(session)
    yield helper
    request.config.stash[_LEFTOVERS] = helper.cleanup()


def pytest_terminal_summary(terminalreporter, config):
    left = config.stash.get(_LEFTOVERS, [])
    if left:
        terminalreporter.section('containers left on the target')
        terminalreporter.write_line(
            'Locked to networks this client is not on, so only an address '
            'in operator_cidrs can delete them:')
        for line in left:
            terminalreporter.write_line('  ' + line)
