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


"""The shipped nova.conf sample, read by nova's own options and loaders."""

import os

from nova.conf import scheduler
from nova.scheduler import filters
from nova.scheduler import weights
from oslo_config import cfg
import pytest

from opsext.subnet_affinity import options

SAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                      os.pardir, 'etc', 'placement', 'nova.conf-sample')


@pytest.fixture
def sample_conf():
    conf = cfg.ConfigOpts()
    scheduler.register_opts(conf)
    options.register_opts(conf)
    conf(['--config-file', SAMPLE], project='nova')
    return conf


def test_sample_keeps_novas_weighers_and_adds_ours(sample_conf):
    classes = weights.HostWeightHandler().get_matching_classes(
        sample_conf.filter_scheduler.weight_classes)
    names = {cls.__name__ for cls in classes}
    assert {'RAMWeigher', 'CPUWeigher', 'SubnetAffinityWeigher'} <= names


def test_sample_enabled_filters_are_all_available(sample_conf):
    classes = filters.HostFilterHandler().get_matching_classes(
        sample_conf.filter_scheduler.available_filters)
    names = {cls.__name__ for cls in classes}
    enabled = set(sample_conf.filter_scheduler.enabled_filters)
    assert 'SubnetAffinityFilter' in enabled
    assert enabled <= names


def test_sample_affinity_options_parse(sample_conf):
    policy = options.policy_from_conf(sample_conf)
    assert len(policy.static_rules) == 3
    assert options.source_address_hint_from_conf(sample_conf) is None


def test_sample_keeps_novas_default_filters(sample_conf):
    novas = cfg.ConfigOpts()
    scheduler.register_opts(novas)
    novas([], project='nova')
    enabled = sample_conf.filter_scheduler.enabled_filters
    assert enabled[:-1] == novas.filter_scheduler.enabled_filters
    assert enabled[-1] == 'SubnetAffinityFilter'
