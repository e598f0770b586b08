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

"""Options of subnet-affinity placement: bad values name the option."""

from oslo_config import cfg
import pytest

from opsext.exceptions import ConfigError
from opsext.subnet_affinity import options


@pytest.fixture
def conf():
    conf = cfg.ConfigOpts()
    options.register_opts(conf)
    conf([], project='opsext-test')
    return conf


def test_source_address_hint_is_off_by_default(conf):
    assert options.source_address_hint_from_conf(conf) is None


def test_source_address_hint_is_read(conf):
    conf.set_override('source_address_hint', ' opsext_source ',
                      group=options.GROUP)
    assert options.source_address_hint_from_conf(conf) == 'opsext_source'


@pytest.mark.parametrize('value', ['two words', 'a=b', 'x' * 256])
def test_bad_source_address_hint_names_the_option(conf, value):
    conf.set_override('source_address_hint', value, group=options.GROUP)
    with pytest.raises(ConfigError) as info:
        options.source_address_hint_from_conf(conf)
    assert 'opsext_subnet_affinity.source_address_hint' in str(info.value)
