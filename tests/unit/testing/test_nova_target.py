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


"""The OPSEXT_TEST_SERVICES and OPSEXT_TEST_NOVA_* variables."""

import pytest

from opsext.testing import nova_target
from opsext.testing import target

ENV = {'OPSEXT_TEST_TARGET': 'deployed',
       'OPSEXT_TEST_SERVICES': 'nova',
       'OPSEXT_TEST_NOVA_AUTH_URL': 'https://keystone.example/identity/v3/',
       'OPSEXT_TEST_NOVA_USER': 'admin',
       'OPSEXT_TEST_NOVA_KEY': 'secret',
       'OPSEXT_TEST_NOVA_PROJECT': 'admin',
       'OPSEXT_TEST_NOVA_FLAVOR': 'm1.tiny',
       'OPSEXT_TEST_NOVA_IMAGE': 'cirros'}


def _from(**changes):
    env = dict(ENV, **changes)
    return nova_target.NovaTarget.from_environ(
        {k: v for k, v in env.items() if v is not None})


def test_defaults():
    found = _from()
    assert found.auth_url == 'https://keystone.example/identity/v3'
    assert (found.network, found.expect, found.metadata_key,
            found.timeout, found.user_domain, found.nova_url) == (
        'none', 'group', 'opsext_subnets', 300.0, 'Default', '')


def test_shared_variables_are_read():
    found = _from(OPSEXT_TEST_CLIENT_ADDRESS='2001:db8::5',
                  OPSEXT_TEST_REGION='RegionTwo',
                  OPSEXT_TEST_NOVA_EXPECT='NoValidHost')
    assert (found.client_address, found.region, found.expect) == (
        '2001:db8::5', 'RegionTwo', 'novalidhost')


@pytest.mark.parametrize('name', [
    'OPSEXT_TEST_NOVA_AUTH_URL', 'OPSEXT_TEST_NOVA_USER',
    'OPSEXT_TEST_NOVA_KEY', 'OPSEXT_TEST_NOVA_PROJECT',
    'OPSEXT_TEST_NOVA_FLAVOR', 'OPSEXT_TEST_NOVA_IMAGE'])
def test_missing_variable_is_named(name):
    with pytest.raises(target.TargetConfigError) as info:
        _from(**{name: None})
    assert str(info.value).startswith(
        'OPSEXT_TEST_SERVICES names nova: it needs %s (' % name)


@pytest.mark.parametrize('name, value', [
    ('OPSEXT_TEST_NOVA_AUTH_URL', 'keystone:5000'),
    ('OPSEXT_TEST_NOVA_URL', 'ftp://nova/v2.1'),
    ('OPSEXT_TEST_NOVA_EXPECT', 'somewhere'),
    ('OPSEXT_TEST_NOVA_TIMEOUT', '0'),
    ('OPSEXT_TEST_NOVA_TIMEOUT', '5m'),
    ('OPSEXT_TEST_CLIENT_ADDRESS', '010.0.0.1'),
    ('OPSEXT_TEST_CACERT', '/nonexistent/ca.pem')])
def test_bad_value_is_named(name, value):
    with pytest.raises(target.TargetConfigError) as info:
        _from(**{name: value})
    assert str(info.value).startswith(name + '=')


@pytest.mark.parametrize('value, expected', [
    (None, {'swift'}), ('', {'swift'}), ('nova', {'nova'}),
    ('Swift, nova', {'swift', 'nova'})])
def test_services(value, expected):
    env = {'OPSEXT_TEST_TARGET': 'deployed'}
    if value is not None:
        env['OPSEXT_TEST_SERVICES'] = value
    assert target.services(env) == expected


@pytest.mark.parametrize('value', ['nova,', 'glance', 'swift nova'])
def test_bad_services_are_refused(value):
    env = {'OPSEXT_TEST_TARGET': 'deployed', 'OPSEXT_TEST_SERVICES': value}
    with pytest.raises(target.TargetConfigError) as info:
        target.services(env)
    assert str(info.value).startswith('OPSEXT_TEST_SERVICES=')


def test_services_of_a_local_run_are_refused():
    with pytest.raises(target.TargetConfigError) as info:
        target.services({'OPSEXT_TEST_SERVICES': 'nova'})
    assert 'is for OPSEXT_TEST_TARGET=deployed' in str(info.value)
