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


"""Where a boot must land, worked out from the compute API's aggregates."""

import pytest

from opsext.testing import nova_checks

AGGREGATES = [
    {'name': 'wide', 'hosts': ['w1'], 'metadata': {
        'opsext_subnets': '10.0.0.0/8'}},
    {'name': 'docs', 'hosts': ['doc1', 'doc2'], 'metadata': {
        'opsext_subnets': '10.1.0.0/16, 2001:db8:1::/48'}},
    {'name': 'docs-too', 'hosts': ['doc3'], 'metadata': {
        'opsext_subnets': '10.1.0.0/16', 'other': 'x'}},
    {'name': 'az', 'hosts': ['doc1', 'dev1'], 'metadata': {
        'availability_zone': 'az1'}},
]


def test_group_is_the_longest_prefix_hosts():
    found = nova_checks.expected_placement(AGGREGATES, '10.1.2.3')
    assert found.inside == {'doc1', 'doc2', 'doc3'}
    assert str(found.match.network) == '10.1.0.0/16'


def test_10_10_belongs_to_the_wide_group_only():
    found = nova_checks.expected_placement(AGGREGATES, '10.10.0.1')
    assert found.inside == {'w1'}


def test_ipv6_client_matches_its_group():
    found = nova_checks.expected_placement(AGGREGATES, '2001:db8:1::5')
    assert found.inside == {'doc1', 'doc2'}


def test_group_for_an_unmatched_client_is_a_failure():
    with pytest.raises(nova_checks.CheckFailure) as info:
        nova_checks.expected_placement(AGGREGATES, '172.16.0.1')
    assert 'OPSEXT_TEST_NOVA_EXPECT' in str(info.value)
    assert 'docs=10.1.0.0/16, 2001:db8:1::/48' in str(info.value)


def test_group_without_hosts_is_a_failure():
    aggregates = [{'name': 'empty', 'hosts': [], 'metadata': {
        'opsext_subnets': '10.1.0.0/16'}}]
    with pytest.raises(nova_checks.CheckFailure) as info:
        nova_checks.expected_placement(aggregates, '10.1.0.1')
    assert 'matches no subnet rule' in str(info.value)


def test_untagged_excludes_every_tagged_host():
    found = nova_checks.expected_placement(AGGREGATES, '172.16.0.1',
                                           'untagged')
    assert found.inside is None
    assert found.outside == {'w1', 'doc1', 'doc2', 'doc3'}


@pytest.mark.parametrize('expect', ['any', 'untagged'])
def test_unmatched_expectation_for_a_matched_client_is_a_failure(expect):
    with pytest.raises(nova_checks.CheckFailure) as info:
        nova_checks.expected_placement(AGGREGATES, '10.1.0.1', expect)
    assert 'expect group' in str(info.value)


def test_novalidhost_has_no_host_bound():
    found = nova_checks.expected_placement(AGGREGATES, '10.1.0.1',
                                           'novalidhost')
    assert (found.inside, found.outside) == (None, frozenset())
    assert 'refused (No valid host)' in found.describe()


def test_custom_metadata_key():
    aggregates = [{'name': 'mine', 'hosts': ['h1'], 'metadata': {
        'my_subnets': '10.1.0.0/16'}}]
    found = nova_checks.expected_placement(aggregates, '10.1.0.1',
                                           metadata_key='my_subnets')
    assert found.inside == {'h1'}


def test_host_of_a_malformed_aggregate_is_not_in_the_group():
    aggregates = AGGREGATES + [{'name': 'typo', 'hosts': ['doc3'],
                                'metadata': {'opsext_subnets': '10.1'}}]
    found = nova_checks.expected_placement(aggregates, '10.1.0.1')
    assert found.inside == {'doc1', 'doc2'}
