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


"""The plugin under DevStack's own code, Nova side (see real_devstack).

Run with ``OPSEXT_DEVSTACK_DIR=<devstack tree> tox -e nova``; deselected
otherwise. Per scenario, the nova.conf that DevStack's create_nova_conf,
configure_neutron_nova and the plugin's post-config wrote loads in Nova's
HostManager, whose filter and weight handlers load the subnet-affinity
filter and weigher (none with ``disable_service opsext``).
"""

import pytest

from opsext.nova import weights as opsext_weights
from tests.functional.devstack import real_devstack
from tests.functional.nova.test_devstack_nova import CONF
from tests.functional.nova.test_devstack_nova import filter_names
from tests.functional.nova.test_devstack_nova import loaded  # noqa: F401
from tests.functional.nova.test_devstack_nova import weigher_classes

pytestmark = pytest.mark.opsext_real_devstack


@pytest.fixture(scope='session')
def swift_src(tmp_path_factory):
    return real_devstack.swift_source(str(tmp_path_factory.mktemp('swift')))


@pytest.mark.parametrize('scenario', sorted(real_devstack.SCENARIOS))
def test_nova_loads_the_filter_and_weigher(tmp_path, swift_src, loaded,  # noqa: F811,E501
                                           scenario):
    step = real_devstack.stack_only(str(tmp_path), swift_src, scenario)
    path = str(tmp_path / 'etc' / 'nova' / 'nova.conf')
    manager = loaded(path)
    names = filter_names(manager)
    weighers = weigher_classes(manager)
    assert names[:2] == ['ComputeFilter', 'ComputeCapabilitiesFilter']
    if scenario == 'disabled':
        assert 'SubnetAffinityFilter' not in names
        assert opsext_weights.SubnetAffinityWeigher not in weighers
        return
    assert names[-1] == 'SubnetAffinityFilter'
    assert opsext_weights.SubnetAffinityWeigher in weighers
    assert len(weighers) > 1  # nova's all_weighers kept
    assert CONF.opsext_subnet_affinity.metadata_key == 'opsext_subnets'
    assert '[neutron]' in step.files['nova']
