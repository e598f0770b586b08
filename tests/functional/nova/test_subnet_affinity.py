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


"""SubnetAffinityFilter and SubnetAffinityWeigher inside real Nova."""

import logging

import pytest

from opsext.exceptions import ConfigError
from tests.functional.nova.conftest import aggregate
from tests.functional.nova.conftest import GROUP
from tests.functional.nova.conftest import host
from tests.functional.nova.conftest import load_filters
from tests.functional.nova.conftest import load_weighers
from tests.functional.nova.conftest import request_spec


def doc():
    return aggregate(1, 'doc', opsext_subnets='10.1.0.0/16')


def ops():
    return aggregate(2, 'ops', opsext_subnets='10.2.0.0/16')


def doc_lab():
    return aggregate(3, 'doc-lab', opsext_subnets='10.1.5.0/24')


def hosts():
    return [host('doc1', doc()), host('doc2', doc()), host('ops1', ops()),
            host('lab1', doc_lab()), host('plain1')]


def passing(spec, states=None):
    handler, enabled = load_filters()
    result = handler.get_filtered_objects(
        enabled, hosts() if states is None else states, spec)
    return sorted(state.host for state in result)


def test_filters_are_loaded_from_nova_config(conf):
    _, enabled = load_filters()
    assert [type(f).__name__ for f in enabled] == [
        'AllHostsFilter', 'SubnetAffinityFilter']


@pytest.mark.parametrize('option,value', [
    ('static_rules', ['10.1.0.1/16 = doc*']),
    ('trusted_proxies', ['not-a-network']),
    ('source_address_hint', 'two words'),
])
def test_bad_option_stops_the_filter_loading_naming_it(conf, option, value):
    # HostManager builds its filters at start-up: the scheduler does not
    # start on a policy it could not read.
    conf.config(group=GROUP, **{option: value})
    with pytest.raises(ConfigError) as info:
        load_filters()
    assert '%s.%s' % (GROUP, option) in str(info.value)


def test_remote_address_survives_the_rpc_hop(conf):
    spec = request_spec('10.1.2.3')
    assert spec._context.remote_address == '10.1.2.3'


def test_request_from_10_1_lands_on_the_10_1_group(conf):
    # untagged plain1 passes: untagged_hosts = allow by default.
    assert passing(request_spec('10.1.2.3')) == ['doc1', 'doc2', 'plain1']


def test_request_from_10_10_is_not_taken_for_10_1(conf):
    conf.config(group=GROUP, unmatched_requests='untagged')
    assert passing(request_spec('10.10.2.3')) == ['plain1']


def test_longest_prefix_wins(conf):
    assert passing(request_spec('10.1.5.7')) == ['lab1', 'plain1']


def test_untagged_hosts_deny(conf):
    conf.config(group=GROUP, untagged_hosts='deny')
    assert passing(request_spec('10.2.0.9')) == ['ops1']


def test_static_rules_from_config(conf):
    conf.config(group=GROUP, static_rules=['10.3.0.0/16 = plain*'],
                untagged_hosts='deny')
    assert passing(request_spec('10.3.1.1')) == ['plain1']


def test_comma_list_without_trusted_proxies_is_refused(conf):
    conf.config(group=GROUP, unmatched_requests='any')
    assert passing(request_spec('10.1.2.3, 10.2.0.9')) == []


def test_comma_list_walked_from_the_right_past_trusted_proxies(conf):
    conf.config(group=GROUP, trusted_proxies=['192.0.2.0/24'])
    # The client forged 10.2.0.1; the trusted proxy saw 10.1.2.3.
    spec = request_spec('10.2.0.1, 10.1.2.3, 192.0.2.7')
    assert passing(spec) == ['doc1', 'doc2', 'plain1']


def test_comma_list_stops_at_the_first_untrusted_hop(conf):
    conf.config(group=GROUP, trusted_proxies=['192.0.2.7'])
    assert passing(request_spec('10.1.2.3, 10.2.0.9')) == ['ops1', 'plain1']


def test_garbage_in_a_trusted_chain_is_unmatched(conf):
    conf.config(group=GROUP, trusted_proxies=['192.0.2.7'],
                unmatched_requests='none')
    assert passing(request_spec('10.1.2.3, bogus, 192.0.2.7'),
                   hosts()) == []


def test_no_address_is_refused_by_default(conf):
    assert passing(request_spec(None)) == []


def test_unmatched_address_goes_anywhere_by_default(conf):
    assert passing(request_spec('172.16.0.5')) == [
        'doc1', 'doc2', 'lab1', 'ops1', 'plain1']


def test_no_address_with_unmatched_none_finds_no_host(conf):
    conf.config(group=GROUP, unmatched_requests='none')
    assert passing(request_spec(None)) == []


def test_malformed_aggregate_metadata_fails_its_hosts(conf, caplog):
    bad = aggregate(9, 'broken', opsext_subnets='10.1.0.0/16,10.999.0.0/16')
    states = hosts() + [host('broken1', bad)]
    with caplog.at_level(logging.DEBUG):
        result = passing(request_spec('10.1.2.3'), states)
    assert result == ['doc1', 'doc2', 'plain1']
    warnings = [r.getMessage() for r in caplog.records
                if r.levelno == logging.WARNING]
    assert any('broken' in m and '10.999.0.0/16' in m for m in warnings)
    assert any(r.levelno == logging.DEBUG and 'broken1' in r.getMessage()
               and 'fails subnet affinity' in r.getMessage()
               and 'malformed' in r.getMessage() for r in caplog.records)


def test_every_rejection_is_logged_with_its_reason(conf, caplog):
    with caplog.at_level(logging.DEBUG, logger='opsext.nova.filters'):
        passing(request_spec('10.1.2.3'))
    messages = [r.getMessage() for r in caplog.records
                if r.name == 'opsext.nova.filters']
    assert len(messages) == 2  # ops1 and lab1
    assert any('ops1' in m and '10.2.0.0/16' in m and '10.1.0.0/16' in m
               for m in messages)


def test_rebuild_keeps_its_host(conf):
    conf.config(group=GROUP, unmatched_requests='none')
    spec = request_spec('10.9.9.9',
                        scheduler_hints={'_nova_check_type': ['rebuild']})
    assert passing(spec, [host('ops1', ops())]) == ['ops1']


def test_host_passes_for_a_single_host(conf):
    # Alone, a host supplies the only aggregate networks: 10.2.3.4 matches
    # nothing when doc1 is asked about, so it is an unmatched request.
    conf.config(group=GROUP, unmatched_requests='untagged')
    _, enabled = load_filters()
    affinity = enabled[1]
    spec = request_spec('10.2.3.4')
    assert affinity.host_passes(host('ops1', ops()), spec)
    assert not affinity.host_passes(host('doc1', doc()), spec)


def weighed(spec, states):
    handler, weighers = load_weighers()
    return [w.obj.host for w in handler.get_weighed_objects(
        weighers, states, spec)]


def test_weigher_puts_the_group_hosts_first(conf):
    conf.config(group=GROUP, subnet_affinity_weight_multiplier=2.0)
    # RAM prefers ops1 (more free RAM) by 1.0; affinity outweighs it.
    states = [host('ops1', ops(), free_ram_mb=4096),
              host('doc1', doc(), free_ram_mb=1024)]
    assert weighed(request_spec('10.1.2.3'), states) == ['doc1', 'ops1']


def test_weigher_via_all_weighers(conf):
    conf.config(group='filter_scheduler',
                weight_classes=['opsext.nova.weights.all_weighers'])
    states = [host('ops1', ops()), host('plain1'), host('doc1', doc())]
    assert weighed(request_spec('10.1.2.3'), states)[0] == 'doc1'
    assert weighed(request_spec('10.2.2.3'), states)[0] == 'ops1'


@pytest.mark.parametrize('override, first', [('0', 'ops1'), ('3', 'doc1')])
def test_aggregate_metadata_overrides_the_multiplier(conf, override, first):
    conf.config(group=GROUP, subnet_affinity_weight_multiplier=2.0)
    doc = aggregate(4, 'doc-tuned', opsext_subnets='10.1.0.0/16',
                    subnet_affinity_weight_multiplier=override)
    states = [host('ops1', ops(), free_ram_mb=4096),
              host('doc1', doc, free_ram_mb=1024)]
    assert weighed(request_spec('10.1.2.3'), states) == [first, 'ops1'
                                                         if first == 'doc1'
                                                         else 'doc1']


def test_weigher_prefers_the_nearest_group_with_a_candidate(conf):
    # No 10.1/16 host is a candidate (full, say): the weigher, a
    # preference, puts the 10.0.0.0/8 host first, not any host.
    wide = aggregate(5, 'wide', opsext_subnets='10.0.0.0/8')
    states = [host('ops1', ops(), free_ram_mb=4096),
              host('wide1', wide, free_ram_mb=1024),
              host('plain1', free_ram_mb=4096)]
    assert weighed(request_spec('10.1.2.3'), states)[0] == 'wide1'
    # With a 10.1/16 candidate, that one.
    states.append(host('doc1', doc(), free_ram_mb=1024))
    assert weighed(request_spec('10.1.2.3'), states)[0] == 'doc1'
