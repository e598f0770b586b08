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

"""The toolkit's small pieces: filter specs, pool keys, tempauth users."""

import pytest

from opsext.testing import cluster_pool
from opsext.testing import swift_client
from opsext.allinone import config as swift_config


def test_entry_point_string_becomes_use():
    assert swift_config.filter_options('f', 'egg:mypkg#f') == {
        'use': 'egg:mypkg#f'}


def test_factory_string_becomes_paste_filter_factory():
    assert swift_config.filter_options('f', 'my_pkg.mw:filter_factory') == {
        'paste.filter_factory': 'my_pkg.mw:filter_factory'}


def test_factory_in_use_option_keeps_the_other_options():
    assert swift_config.filter_options(
        'f', {'use': 'mw:make', 'deny': '10.0.0.1'}) == {
            'paste.filter_factory': 'mw:make', 'deny': '10.0.0.1'}


@pytest.mark.parametrize('spec', ['mypkg', 'my-pkg:factory', 'mod:',
                                  ':factory', 'mod:fac tory', 'a..b:f'])
def test_neither_entry_point_nor_factory_is_an_error_naming_the_filter(
        spec):
    with pytest.raises(ValueError) as info:
        swift_config.filter_options('myfilter', spec)
    assert "filter 'myfilter'" in str(info.value)
    assert repr(spec) in str(info.value)


def test_filter_sections_take_string_specs():
    sections = swift_config.filter_sections(
        ['a', 'b'], {'a': 'egg:x#a', 'b': 'x.b:factory'})
    assert sections['filter:a'] == {'use': 'egg:x#a'}
    assert sections['filter:b'] == {'paste.filter_factory': 'x.b:factory'}


def test_pool_key_ignores_dict_order_and_empty_defaults():
    key = cluster_pool.ClusterPool.key
    assert key(['a'], {'a': {'x': '1', 'y': '2'}}) == key(
        ['a'], {'a': {'y': '2', 'x': '1'}}, {})
    assert key() == key([], {}, {})
    assert key(['a']) != key(['b'])


def test_tempauth_users_and_keys():
    users = swift_client.tempauth_users()
    assert users['test:tester'] == 'testing'
    assert users['test:tester3'] == 'testing3'
    assert users['test2:tester2'] == 'testing2'


def test_unknown_user_without_key_is_refused():
    with pytest.raises(ValueError) as info:
        swift_client.SwiftClient(object(), user='nobody:x')
    assert "'nobody:x'" in str(info.value)
    assert 'test:tester' in str(info.value)


def test_client_paths_are_quoted_and_absolute_ones_kept():
    client = swift_client.SwiftClient(object())
    client._auth = ('http://127.0.0.1:1/v1/AUTH_test', 'tok')
    assert client.path() == '/v1/AUTH_test'
    assert client.path('c d/o') == '/v1/AUTH_test/c%20d/o'
    assert client.path('/info') == '/info'
    other = client.from_address('127.0.0.9')
    assert (other.source_ip, other.token) == ('127.0.0.9', 'tok')
