"""Subnet-affinity policy edge cases (no Nova)."""

import pytest

from opsext import net
from opsext.subnet_affinity import policy


def _rules(*texts):
    return [policy.parse_static_rule(t) for t in texts]


GUIDE = ('10.1.0.0/16 = doc*', '10.2.0.0/16 = ops*', '0.0.0.0/0 = dev*')


def _host(name, *aggregates):
    return policy.HostView(name, tuple(
        ('agg-%d' % i, {'opsext_subnets': value})
        for i, value in enumerate(aggregates)))


def _decide(pol, address, hosts):
    match = pol.match(net.parse_address(address, allow_zone=True)
                      if address else None, hosts)
    return {h.name: pol.verdict(h, match).passes for h in hosts}


@pytest.fixture
def guide():
    return policy.Policy(_rules(*GUIDE))


def test_guide_example(guide):
    hosts = [_host('doc1'), _host('ops1'), _host('dev1')]
    assert _decide(guide, '10.1.5.5', hosts) == {
        'doc1': True, 'ops1': False, 'dev1': False}
    assert _decide(guide, '10.2.5.5', hosts) == {
        'doc1': False, 'ops1': True, 'dev1': False}
    assert _decide(guide, '192.0.2.1', hosts) == {
        'doc1': False, 'ops1': False, 'dev1': True}


def test_ten_one_does_not_match_ten_ten(guide):
    # The Operations Guide's startswith('10.1') sent 10.10.x to doc*.
    hosts = [_host('doc1'), _host('dev1')]
    assert _decide(guide, '10.10.0.1', hosts) == {'doc1': False,
                                                  'dev1': True}


def test_longest_prefix_wins_over_aggregates():
    pol = policy.Policy()
    hosts = [_host('a', '10.1.0.0/16'), _host('b', '10.1.2.0/24')]
    assert _decide(pol, '10.1.2.3', hosts) == {'a': False, 'b': True}
    assert _decide(pol, '10.1.3.3', hosts) == {'a': True, 'b': False}


def test_overlapping_static_and_aggregate():
    pol = policy.Policy(_rules('10.0.0.0/8 = big*'))
    hosts = [_host('big1'), _host('x', '10.9.0.0/16')]
    assert _decide(pol, '10.9.1.1', hosts) == {'big1': False, 'x': True}
    assert _decide(pol, '10.8.1.1', hosts) == {'big1': True, 'x': False}


def test_ipv6_network():
    pol = policy.Policy()
    hosts = [_host('v6', '2001:db8:1::/48'), _host('v4', '10.0.0.0/8')]
    assert _decide(pol, '2001:db8:1::5', hosts) == {'v6': True, 'v4': False}


def test_mapped_address_matches_ipv4_network():
    pol = policy.Policy()
    hosts = [_host('v4', '10.0.0.0/8'), _host('other', '192.0.2.0/24')]
    assert _decide(pol, '::ffff:10.1.1.1', hosts) == {'v4': True,
                                                      'other': False}


def test_ipv4_request_never_matches_ipv6_group():
    pol = policy.Policy(unmatched_requests='none')
    hosts = [_host('v6', '::/0')]
    assert _decide(pol, '10.0.0.1', hosts) == {'v6': False}


@pytest.mark.parametrize('value', ['10.0.0.1/8', '10.0.0.0/255.0.0.0',
                                   '010.0.0.0/8', 'ten', '10.0.0.0/8,,'])
def test_malformed_aggregate_fails_host_and_warns_once(value):
    warnings = []
    pol = policy.Policy(warn=lambda msg, values: warnings.append(
        msg % values))
    hosts = [_host('bad', value), _host('good', '10.0.0.0/8')]
    for _ in range(3):
        assert _decide(pol, '10.1.1.1', hosts) == {'bad': False,
                                                   'good': True}
    assert len(warnings) == 1
    assert 'agg-0' in warnings[0] and repr(value) in warnings[0]


def test_empty_metadata_value_is_malformed():
    pol = policy.Policy()
    assert _decide(pol, '10.1.1.1', [_host('x', '')]) == {'x': False}


def test_aggregate_without_the_key_is_untagged():
    pol = policy.Policy(untagged_hosts='deny', unmatched_requests='untagged')
    host = policy.HostView('x', (('agg', {'other': 'y'}),))
    assert _decide(pol, '10.1.1.1', [host]) == {'x': True}


def test_no_address_is_unmatched():
    pol = policy.Policy(unmatched_requests='none')
    assert _decide(pol, None, [_host('a', '10.0.0.0/8')]) == {'a': False}


@pytest.mark.parametrize('mode,expected', [
    ('any', {'tagged': True, 'untagged': True}),
    ('untagged', {'tagged': False, 'untagged': True}),
    ('none', {'tagged': False, 'untagged': False}),
])
def test_unmatched_requests(mode, expected):
    pol = policy.Policy(unmatched_requests=mode)
    hosts = [_host('tagged', '10.0.0.0/8'), _host('untagged')]
    assert _decide(pol, '192.0.2.1', hosts) == expected


@pytest.mark.parametrize('mode,expected', [('allow', True), ('deny', False)])
def test_untagged_hosts_for_matched_requests(mode, expected):
    pol = policy.Policy(untagged_hosts=mode)
    hosts = [_host('tagged', '10.0.0.0/8'), _host('untagged')]
    assert _decide(pol, '10.0.0.1', hosts)['untagged'] is expected


def test_weight_prefers_the_group():
    pol = policy.Policy()
    hosts = [_host('in', '10.0.0.0/8'), _host('untagged')]
    match = pol.match(net.parse_address('10.0.0.1'), hosts)
    assert [pol.verdict(h, match).weight for h in hosts] == [1.0, 0.0]


def test_every_rejection_has_a_reason(guide):
    hosts = [_host('doc1'), _host('ops1')]
    match = guide.match(net.parse_address('10.2.0.1'), hosts)
    reason = guide.verdict(hosts[0], match).reason
    assert '10.1.0.0/16' in reason and '10.2.0.0/16' in reason


@pytest.mark.parametrize('text', ['10.1.0.0/16 doc*', '10.1.0.1/16 = doc*',
                                  'ten = doc*', '10.1.0.0/16 = ',
                                  '10.1.0.0/16 = doc host'])
def test_bad_static_rule(text):
    with pytest.raises(ValueError):
        policy.parse_static_rule(text)


def test_bad_modes_refused():
    with pytest.raises(ValueError, match='unmatched_requests'):
        policy.Policy(unmatched_requests='some')
    with pytest.raises(ValueError, match='untagged_hosts'):
        policy.Policy(untagged_hosts='maybe')


def _anchor(pol, anchor, hosts):
    match = pol.match_anchor(anchor)
    return {h.name: pol.verdict(h, match).passes for h in hosts}


def test_move_keeps_the_group_of_the_instances_host():
    pol = policy.Policy(untagged_hosts='deny')
    hosts = [_host('doc2', '10.1.0.0/16'), _host('ops1', '10.2.0.0/16'),
             _host('dev1')]
    assert _anchor(pol, _host('doc1', '10.1.0.0/16'), hosts) == {
        'doc2': True, 'ops1': False, 'dev1': False}


def test_move_from_a_host_in_two_groups_may_go_to_either():
    pol = policy.Policy(untagged_hosts='deny')
    hosts = [_host('doc2', '10.1.0.0/16'), _host('ops1', '10.2.0.0/16'),
             _host('lab1', '10.3.0.0/16')]
    anchor = _host('edge1', '10.1.0.0/16', '10.2.0.0/16')
    assert _anchor(pol, anchor, hosts) == {
        'doc2': True, 'ops1': True, 'lab1': False}


def test_move_from_static_rule_host_uses_the_rules(guide):
    hosts = [_host('doc2'), _host('ops1')]
    assert _anchor(guide, _host('doc1'), hosts) == {
        'doc2': True, 'ops1': False}


def test_move_from_an_untagged_host_is_unmatched():
    hosts = [_host('doc2', '10.1.0.0/16'), _host('dev2')]
    pol = policy.Policy(unmatched_requests='untagged')
    assert _anchor(pol, _host('dev1'), hosts) == {
        'doc2': False, 'dev2': True}


def test_move_from_a_host_with_malformed_metadata_fails_closed():
    pol = policy.Policy(unmatched_requests='any')
    hosts = [_host('doc2', '10.1.0.0/16'), _host('dev2')]
    assert _anchor(pol, _host('doc1', '10.1.0.0/16x'), hosts) == {
        'doc2': False, 'dev2': False}


def test_move_verdicts_name_the_instances_host():
    pol = policy.Policy(untagged_hosts='deny')
    match = pol.match_anchor(_host('doc1', '10.1.0.0/16'))
    assert 'doc1' in pol.verdict(_host('ops1', '10.2.0.0/16'), match).reason
    assert pol.verdict(_host('doc2', '10.1.0.0/16'), match).weight == 1.0


def test_closed_match_fails_every_host_with_its_reason():
    pol = policy.Policy(unmatched_requests='any')
    match = pol.closed('cannot look up server x')
    verdict = pol.verdict(_host('dev1'), match)
    assert not verdict.passes and verdict.reason == 'cannot look up server x'


def test_no_address_is_refused_even_with_unmatched_any():
    pol = policy.Policy(unmatched_requests='any')
    match = pol.match(None, [_host('doc1', '10.1.0.0/16')])
    assert match.closed
    assert not pol.verdict(_host('dev1'), match).passes


def test_a_reason_is_written_only_when_read():
    pol = policy.Policy()
    hosts = [_host('a', '10.1.0.0/16'), _host('b', '10.2.0.0/16')]
    match = pol.match(net.parse_address('10.2.0.1'), hosts)
    verdict = pol.verdict(hosts[0], match)
    assert verdict.details  # kept as objects, not yet text
    assert verdict.reason == ('serves 10.1.0.0/16; the request from '
                              '10.2.0.1 is for 10.2.0.0/16')


def test_a_reason_with_a_percent_sign_is_kept_verbatim():
    pol = policy.Policy()
    match = pol.closed('cannot read the aggregates: 100% broken')
    verdict = pol.verdict(_host('a', '10.1.0.0/16'), match)
    assert verdict.reason == 'cannot read the aggregates: 100% broken'


def test_changed_aggregate_metadata_is_seen_at_once():
    pol = policy.Policy()
    before = [_host('a', '10.1.0.0/16')]
    after = [_host('a', '10.2.0.0/16')]  # same aggregate, new value
    assert _decide(pol, '10.1.0.1', before) == {'a': True}
    assert _decide(pol, '10.1.0.1', after + [_host('b', '10.1.0.0/16')]) \
        == {'a': False, 'b': True}


def test_same_group_other_request_gets_its_own_verdict():
    pol = policy.Policy()
    hosts = [_host('a', '10.1.0.0/16'), _host('b', '10.2.0.0/16')]
    assert _decide(pol, '10.1.0.1', hosts) == {'a': True, 'b': False}
    assert _decide(pol, '10.2.0.1', hosts) == {'a': False, 'b': True}


def test_wider_gives_the_next_shorter_prefix_holding_the_address():
    pol = policy.Policy()
    hosts = [_host('lab1', '10.1.5.0/24'), _host('doc1', '10.1.0.0/16'),
             _host('any1', '10.0.0.0/8'), _host('ops1', '10.2.0.0/16')]
    match = pol.match(net.parse_address('10.1.5.9'), hosts)
    assert str(match.network) == '10.1.5.0/24'
    wider = pol.wider(match, hosts)
    assert str(wider.network) == '10.1.0.0/16'
    assert str(pol.wider(wider, hosts).network) == '10.0.0.0/8'
    assert pol.wider(pol.wider(wider, hosts), hosts) is None


def test_wider_never_applies_to_moves_or_refusals():
    pol = policy.Policy()
    assert pol.wider(pol.closed('x')) is None
    assert pol.wider(pol.match_anchor(_host('doc1', '10.1.0.0/16')),
                     [_host('any1', '10.0.0.0/8')]) is None
