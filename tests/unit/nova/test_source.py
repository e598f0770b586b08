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


"""The source address of a scheduling request (no nova needed)."""

import ipaddress
import types

import pytest

from opsext import client_ip
from opsext import net
from opsext.nova import _source


def _resolver(trusted=''):
    return client_ip.ClientAddressResolver(net.NetworkSet.from_string(trusted))


def _spec(remote_address):
    context = types.SimpleNamespace(remote_address=remote_address)
    return types.SimpleNamespace(_context=context)


def test_single_address():
    assert _source.source_address(_spec('10.1.2.3'), _resolver()) == \
        ipaddress.ip_address('10.1.2.3')


def test_ipv4_mapped_ipv6_is_normalised():
    assert _source.source_address(_spec('::ffff:10.1.2.3'), _resolver()) \
        == ipaddress.ip_address('10.1.2.3')


@pytest.mark.parametrize('value', [None, '', '10.1.2', 'bogus', 42,
                                   '10.1.2.3, , 192.0.2.7'])
def test_unusable_values_raise_with_the_reason(value):
    with pytest.raises(client_ip.ClientAddressError):
        _source.source_address(_spec(value), _resolver('192.0.2.7'))


def test_list_without_trusted_proxies_raises():
    with pytest.raises(client_ip.ClientAddressError,
                       match='no trusted_proxies'):
        _source.source_address(_spec('10.1.2.3, 10.2.0.9'), _resolver())


def test_list_walked_from_the_right_past_trusted_proxies():
    spec = _spec('10.9.9.9, 10.1.2.3, 192.0.2.7')
    assert _source.source_address(spec, _resolver('192.0.2.0/24')) == \
        ipaddress.ip_address('10.1.2.3')


def test_no_context_raises():
    with pytest.raises(client_ip.ClientAddressError, match='no source'):
        _source.source_address(object(), _resolver())


class _HintedSpec:
    def __init__(self, hints, is_admin):
        self._context = types.SimpleNamespace(is_admin=is_admin)
        self._hints = hints

    def get_scheduler_hint(self, name, default=None):
        value = self._hints.get(name, default)
        return value[0] if isinstance(value, list) and len(value) == 1 \
            else value


def test_admin_context_is_admin():
    assert _source.is_admin(_HintedSpec({}, True))


@pytest.mark.parametrize('flag', [False, None, 'yes', 1])
def test_anything_but_true_is_not_admin(flag):
    assert not _source.is_admin(_HintedSpec({}, flag))


def test_hint_value_read_through_the_spec():
    spec = _HintedSpec({'src': ['10.2.0.8']}, True)
    assert _source.hint_value(spec, 'src') == '10.2.0.8'
    assert _source.hint_value(spec, 'other') is None


def test_hint_value_of_a_spec_without_hints_is_none():
    assert _source.hint_value(object(), 'src') is None


@pytest.mark.parametrize('value', [['10.2.0.8', '10.1.0.1'], '10.2.0.8/24',
                                   '10.2.0.8, 10.1.0.1', 'fe80::1%eth0',
                                   '', 7])
def test_hint_must_be_exactly_one_address(value):
    assert _source.parse_hint(value) is None


def test_hint_address_is_normalised():
    assert _source.parse_hint(' ::ffff:10.2.0.8 ') == \
        ipaddress.ip_address('10.2.0.8')
