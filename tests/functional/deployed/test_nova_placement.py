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


"""Ops validation of a Nova with the subnet-affinity plugins.

Runs only with ``OPSEXT_TEST_TARGET=deployed`` and ``nova`` in
``OPSEXT_TEST_SERVICES`` (:mod:`opsext.testing.nova_target`); any other
run deselects it and says so. The checks are
:mod:`opsext.testing.nova_checks`, which ``tox -e nova`` runs in Nova's
in-process harness (``tests/functional/nova/test_nova_checks.py``).
"""

import pytest

from opsext.testing import nova_checks

pytestmark = pytest.mark.opsext_service('nova')


@pytest.fixture(scope='module')
def nova_client(nova_target):
    return nova_target.login()


def test_aggregate_subnet_metadata_parses(nova_client, nova_target,
                                          record_property):
    aggregates = nova_checks.check_aggregate_metadata(
        nova_client, nova_target.metadata_key)
    record_property('opsext_subnet_aggregates', ', '.join(
        '%s=%s' % (a.name, a.metadata[nova_target.metadata_key])
        for a in aggregates) or 'none')
    # The check raised on any malformed value; what it kept must parse to
    # at least one network each.
    assert all(aggregate.networks for aggregate in aggregates)


def test_boot_from_client_address_lands_as_expected(nova_client,
                                                    nova_target,
                                                    record_property):
    expectation = nova_checks.expected_placement(
        nova_client.aggregates(),
        nova_target.client_address_for(nova_client), nova_target.expect,
        nova_target.metadata_key)
    record_property('opsext_expected', expectation.describe())
    placement = nova_checks.check_boot_placement(
        nova_client, expectation, nova_target.image, nova_target.flavor,
        nova_target.network, nova_target.timeout, poll=2.0)
    record_property('opsext_placed', '%s on %s' % (placement.status,
                                                   placement.host))
    # check_boot_placement already raised on a wrong outcome; say it here
    # too, so that the test reads as what it checks.
    if nova_target.expect == 'novalidhost':
        assert placement.status == 'ERROR', placement
        assert 'No valid host' in placement.fault, placement
    else:
        assert placement.status == 'ACTIVE', placement
        assert placement.host not in expectation.outside, placement
        if expectation.inside is not None:
            assert placement.host in expectation.inside, placement
