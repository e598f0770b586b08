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


"""The adapters' walk over a request's hosts (no nova needed)."""

import logging
import types

from oslo_config import cfg
import pytest

from opsext import net
from opsext.nova import _adapter
from opsext.subnet_affinity import options
from opsext.subnet_affinity import stamp


class _Aggregate:
    """An aggregate that counts the reads of its metadata."""

    def __init__(self, name, subnets):
        self.name = name
        self._metadata = {'opsext_subnets': subnets}
        self.reads = 0

    @property
    def metadata(self):
        self.reads += 1
        return self._metadata


def _state(name, *aggregates):
    return types.SimpleNamespace(host=name, aggregates=list(aggregates))


def _spec(remote_address):
    context = types.SimpleNamespace(remote_address=remote_address)
    return types.SimpleNamespace(_context=context)


def _adapter_for_test():
    # Every request is a new server's: where moved servers live is
    # nova's database, tested in the nova environment.
    return _adapter.PolicyAdapter(cfg.ConfigOpts(), logging.getLogger(
        __name__), lambda spec_obj, aggregate_view: _adapter.NEW)


def test_verdicts_pair_each_host_in_order():
    doc, ops = _Aggregate('doc', '10.1.0.0/16'), _Aggregate('ops',
                                                            '10.2.0.0/16')
    states = [_state('ops1', ops), _state('doc1', doc), _state('plain1')]
    pairs = list(_adapter_for_test().verdicts(states, _spec('10.1.2.3')))
    assert [(state.host, verdict.passes) for state, verdict in pairs] == [
        ('ops1', False), ('doc1', True), ('plain1', True)]


def test_hosts_sharing_an_aggregate_read_it_once_per_request():
    doc = _Aggregate('doc', '10.1.0.0/16')
    states = [_state('doc%d' % i, doc) for i in range(50)]
    pairs = list(_adapter_for_test().verdicts(states, _spec('10.1.2.3')))
    assert all(verdict.passes for _, verdict in pairs)
    assert doc.reads == 1


def test_hosts_of_one_group_are_judged_once_per_request():
    doc, ops = _Aggregate('doc', '10.1.0.0/16'), _Aggregate('ops',
                                                            '10.2.0.0/16')
    states = [_state('doc%d' % i, doc) for i in range(20)] + [
        _state('ops%d' % i, ops) for i in range(20)]
    adapter = _adapter_for_test()
    judged = []
    verdict = adapter.policy.verdict
    adapter.policy.verdict = lambda host, match: judged.append(
        host.name) or verdict(host, match)
    pairs = list(adapter.verdicts(states, _spec('10.1.2.3')))
    assert judged == ['doc0', 'ops0']
    assert [v.passes for _, v in pairs] == [True] * 20 + [False] * 20


def test_static_rules_group_hosts_by_the_rules_their_names_match():
    conf = cfg.ConfigOpts()
    options.register_opts(conf)
    conf.set_override('static_rules', ['10.1.0.0/16 = doc*',
                                       '10.0.0.0/8 = doc*, ops*'],
                      group=options.GROUP)
    adapter = _adapter.PolicyAdapter(
        conf, logging.getLogger(__name__),
        lambda spec_obj, aggregate_view: _adapter.NEW)
    states = [_state(name) for name in ('doc1', 'ops1', 'doc2', 'dev1',
                                        'ops2')]
    pairs = list(adapter.verdicts(states, _spec('10.1.2.3')))
    assert [(s.host, v.passes) for s, v in pairs] == [
        ('doc1', True), ('ops1', False), ('doc2', True), ('dev1', True),
        ('ops2', False)]
    assert pairs[0][1] is pairs[2][1] and pairs[1][1] is pairs[4][1]


def test_verdicts_take_hosts_from_a_generator():
    doc = _Aggregate('doc', '10.1.0.0/16')
    states = (_state(name, doc) for name in ('doc1', 'doc2'))
    pairs = list(_adapter_for_test().verdicts(states, _spec('10.2.0.1')))
    assert [state.host for state, _ in pairs] == ['doc1', 'doc2']


HINT = 'opsext_source_address'


class _HintedSpec:
    """A spec from ``remote_address``, with scheduler hints."""

    def __init__(self, remote_address, hints, is_admin):
        self._context = types.SimpleNamespace(
            remote_address=remote_address, is_admin=is_admin)
        self._hints = hints

    def get_scheduler_hint(self, name, default=None):
        return self._hints.get(name, default)


def _conf(**overrides):
    conf = cfg.ConfigOpts()
    options.register_opts(conf)
    for name, value in overrides.items():
        conf.set_override(name, value, group=options.GROUP)
    return conf


def _adapter_with(locate=None, **overrides):
    return _adapter.PolicyAdapter(
        _conf(**overrides), logging.getLogger('opsext.test.adapter'),
        locate or (lambda spec_obj, aggregate_view: _adapter.NEW))


DOC = _Aggregate('doc', '10.1.0.0/16')
OPS = _Aggregate('ops', '10.2.0.0/16')


def _passing(adapter, spec):
    states = [_state('doc1', DOC), _state('ops1', OPS)]
    return [state.host for state, verdict in adapter.verdicts(states, spec)
            if verdict.passes]


def test_admin_hint_names_the_source():
    adapter = _adapter_with(source_address_hint=HINT,
                            untagged_hosts='deny')
    spec = _HintedSpec('10.1.0.5', {HINT: '10.2.0.8'}, True)
    assert _passing(adapter, spec) == ['ops1']


def test_user_hint_is_ignored_and_logged_at_debug(caplog):
    adapter = _adapter_with(source_address_hint=HINT)
    spec = _HintedSpec('10.1.0.5', {HINT: '10.2.0.8'}, False)
    with caplog.at_level(logging.DEBUG, logger='opsext.test.adapter'):
        assert _passing(adapter, spec) == ['doc1']
    assert 'ignoring scheduler hint' in caplog.text


def test_hint_is_not_read_unless_configured():
    adapter = _adapter_with()
    spec = _HintedSpec('10.1.0.5', {HINT: '10.2.0.8'}, True)
    assert _passing(adapter, spec) == ['doc1']


def test_admins_malformed_hint_is_refused_with_a_warning(caplog):
    adapter = _adapter_with(source_address_hint=HINT,
                            unmatched_requests='any')
    spec = _HintedSpec('10.1.0.5', {HINT: '10.2.0.8/24'}, True)
    with caplog.at_level(logging.WARNING, logger='opsext.test.adapter'):
        assert _passing(adapter, spec) == []
    assert 'not one address' in caplog.text


@pytest.mark.parametrize('remote', [None, '', 'bogus',
                                    '10.1.0.5, unknown, 192.0.2.7'])
def test_unresolvable_source_is_refused_even_with_unmatched_any(
        caplog, remote):
    adapter = _adapter_with(unmatched_requests='any',
                            trusted_proxies=['192.0.2.7'])
    with caplog.at_level(logging.WARNING, logger='opsext.test.adapter'):
        assert _passing(adapter, _spec(remote)) == []
    assert 'refuses the request' in caplog.text


def test_forwarded_list_without_trusted_proxies_is_refused(caplog):
    adapter = _adapter_with(unmatched_requests='any')
    remote = '10.2.0.66, 10.1.0.5'
    with caplog.at_level(logging.WARNING, logger='opsext.test.adapter'):
        assert _passing(adapter, _spec(remote)) == []
    assert 'refuses the request' in caplog.text


def test_unmatched_resolved_source_follows_unmatched_any():
    adapter = _adapter_with(unmatched_requests='any')
    assert _passing(adapter, _spec('172.16.0.5')) == ['doc1', 'ops1']


def test_move_is_matched_by_the_servers_host_not_the_caller():
    def locate(spec_obj, aggregate_view):
        return _adapter.Location('doc9', (aggregate_view(DOC),))
    adapter = _adapter_with(locate, untagged_hosts='deny')
    assert _passing(adapter, _spec('10.2.0.8')) == ['doc1']


def test_move_ignores_the_persisted_hint():
    def locate(spec_obj, aggregate_view):
        return _adapter.Location('doc9', (aggregate_view(DOC),))
    adapter = _adapter_with(locate, source_address_hint=HINT)
    spec = _HintedSpec('10.2.0.5', {HINT: '10.2.0.8'}, True)
    assert _passing(adapter, spec) == ['doc1']


def test_failed_lookup_fails_closed_with_a_warning(caplog):
    def locate(spec_obj, aggregate_view):
        return _adapter.Location(error='cannot look up server x: db down')
    adapter = _adapter_with(locate, unmatched_requests='any')
    with caplog.at_level(logging.WARNING, logger='opsext.test.adapter'):
        assert _passing(adapter, _spec('10.1.0.5')) == []
    assert 'fails closed' in caplog.text and 'db down' in caplog.text


SECRET = 'k' * 32


def _stamp(address):
    return {stamp.HINT: stamp.sign(SECRET, '', net.parse_address(address))}


def _on_doc1_in_two_groups(spec_obj, aggregate_view):
    return _adapter.Location('doc1', (aggregate_view(DOC),
                                      aggregate_view(OPS)))


def test_new_server_is_placed_by_its_stamp_not_the_context():
    adapter = _adapter_with(source_stamp_secret=SECRET)
    spec = _HintedSpec('10.2.0.5', _stamp('10.1.0.9'), False)
    assert _passing(adapter, spec) == ['doc1']


def test_new_server_without_a_stamp_is_refused(caplog):
    adapter = _adapter_with(source_stamp_secret=SECRET)
    with caplog.at_level(logging.WARNING, logger='opsext.test.adapter'):
        assert _passing(adapter, _HintedSpec('10.1.0.5', {}, False)) == []
    assert 'without the opsext_source_stamp' in caplog.text


def test_forged_stamp_is_refused(caplog):
    adapter = _adapter_with(source_stamp_secret=SECRET)
    forged = {stamp.HINT: stamp.sign('f' * 32, '',
                                     net.parse_address('10.1.0.9'))}
    with caplog.at_level(logging.WARNING, logger='opsext.test.adapter'):
        assert _passing(adapter, _HintedSpec('10.1.0.5', forged,
                                             False)) == []
    assert 'bad signature' in caplog.text


def test_move_from_a_host_in_two_groups_keeps_the_stamped_group():
    adapter = _adapter_with(_on_doc1_in_two_groups,
                            source_stamp_secret=SECRET)
    spec = _HintedSpec('10.2.0.5', _stamp('10.1.0.9'), True)
    assert _passing(adapter, spec) == ['doc1']


def test_move_without_a_stamp_falls_back_to_the_host_groups():
    adapter = _adapter_with(_on_doc1_in_two_groups,
                            source_stamp_secret=SECRET)
    spec = _HintedSpec('10.2.0.5', {}, True)
    assert _passing(adapter, spec) == ['doc1', 'ops1']


def test_group_is_decided_from_all_aggregates_not_the_candidates():
    # Only ops1 reached the filter; the request's group (doc) is full.
    adapter = _adapter.PolicyAdapter(
        _conf(unmatched_requests='any'), logging.getLogger('t'),
        lambda spec_obj, view: _adapter.NEW,
        lambda spec_obj, view, key: (view(DOC), view(OPS)))
    states = [_state('ops1', OPS)]
    verdicts = [v for _, v in adapter.verdicts(states, _spec('10.1.0.5'))]
    assert not verdicts[0].passes


def test_unreadable_aggregates_are_refused():
    def broken(spec_obj, view, key):
        raise RuntimeError('db down')
    adapter = _adapter.PolicyAdapter(
        _conf(unmatched_requests='any'), logging.getLogger('t'),
        lambda spec_obj, view: _adapter.NEW, broken)
    assert _passing(adapter, _spec('10.1.0.5')) == []


WIDE = _Aggregate('wide', '10.0.0.0/8')


def _spill_adapter(spill):
    return _adapter.PolicyAdapter(
        _conf(spill_to_wider_group=spill, untagged_hosts='deny'),
        logging.getLogger('opsext.test.adapter'),
        lambda spec_obj, view: _adapter.NEW,
        lambda spec_obj, view, key: (view(DOC), view(OPS), view(WIDE)))


def test_full_group_does_not_spill_by_default():
    states = [_state('ops1', OPS, WIDE)]
    verdicts = [v for _, v in _spill_adapter(False).verdicts(
        states, _spec('10.1.0.5'))]
    assert not verdicts[0].passes


def test_full_group_spills_to_the_wider_group_when_asked(caplog):
    states = [_state('ops1', OPS, WIDE), _state('ops2', OPS)]
    with caplog.at_level(logging.INFO, logger='opsext.test.adapter'):
        verdicts = [v for _, v in _spill_adapter(True).verdicts(
            states, _spec('10.1.0.5'))]
    assert [v.passes for v in verdicts] == [True, False]
    assert 'spill_to_wider_group: trying 10.0.0.0/8' in caplog.text
