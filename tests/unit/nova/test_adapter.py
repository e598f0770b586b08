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

from opsext.nova import _adapter


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


def test_verdicts_take_hosts_from_a_generator():
    doc = _Aggregate('doc', '10.1.0.0/16')
    states = (_state(name, doc) for name in ('doc1', 'doc2'))
    pairs = list(_adapter_for_test().verdicts(states, _spec('10.2.0.1')))
    assert [state.host for state, _ in pairs] == ['doc1', 'doc2']


def test_host_view_of_a_host_in_no_aggregate():
    assert _adapter.host_view(_state('plain1')) == ('plain1', ())
