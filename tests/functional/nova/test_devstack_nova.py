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


"""The DevStack plugin's nova.conf, loaded by Nova's HostManager.

The plugin's post-config and unstack phases run in bash (see
``tests/functional/devstack/plugin_runner.py``) on Nova's own sample
nova.conf, made by ``oslo-config-generator --namespace nova.conf`` from
the installed Nova, and on the nova.conf DevStack writes. The result is
loaded into Nova's CONF and given to Nova's HostManager, which loads the
filters and weighers as the scheduler does (unknown names raise).
"""

import os
import shutil
import subprocess
import sys

import nova.conf
from nova import exception
from nova.scheduler import host_manager
from oslo_middleware import http_proxy_to_wsgi
import pytest

from opsext.nova import filters as opsext_filters
from opsext.nova import weights as opsext_weights
from tests.functional.devstack import plugin_runner

CONF = nova.conf.CONF
NO_SWIFT = ','.join(s for s in plugin_runner.SERVICES.split(',')
                    if not s.startswith('s-'))


class HostManager(host_manager.HostManager):
    """Nova's HostManager without its database: cells and aggregates."""

    def refresh_cells_caches(self):
        self.cells = {}

    def _init_aggregates(self):
        pass


@pytest.fixture(scope='session')
def nova_sample(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('nova-sample') / 'nova.conf.sample')
    generator = os.path.join(os.path.dirname(sys.executable),
                             'oslo-config-generator')
    subprocess.run([generator, '--namespace', 'nova.conf',
                    '--output-file', path], check=True,
                   capture_output=True)
    return path


@pytest.fixture
def loaded():
    """Load a nova.conf into Nova's CONF; forget it after the test."""
    def load(path):
        CONF(args=[], default_config_files=[path], project='nova')
        CONF.set_override('track_instance_changes', False,
                          group='filter_scheduler')
        return HostManager()
    yield load
    CONF.clear_override('track_instance_changes', group='filter_scheduler')
    CONF.reset()
    CONF.clear()


def stack_from(tmp_path, source, **settings):
    stack = plugin_runner.DevStack(str(tmp_path), services=NO_SWIFT,
                                   **settings)
    if source is None:
        stack.configure_nova()
    else:
        shutil.copy(source, stack.nova_conf)
    return stack


def filter_names(manager):
    return [type(f).__name__ for f in manager.enabled_filters]


def weigher_classes(manager):
    return [type(w) for w in manager.weighers]


def test_plugin_default_filters_are_nova_s(nova_sample):
    # What the plugin falls back to when nova.conf sets no enabled_filters.
    lib = os.path.join(plugin_runner.TOP, 'devstack', 'lib', 'opsext')
    with open(lib) as text:
        line = [x for x in text if x.startswith(
            'OPSEXT_NOVA_DEFAULT_FILTERS=')][0]
    assert line.split('=', 1)[1].strip().split(',') == (
        CONF.filter_scheduler.enabled_filters)


def test_nova_sample_post_config_loads_in_host_manager(
        tmp_path, nova_sample, loaded):
    stack = stack_from(tmp_path, nova_sample,
                       OPSEXT_SUBNET_RULES='10.1.0.0/16 = doc*')
    stack.run('stack', 'post-config')
    manager = loaded(stack.nova_conf)
    assert filter_names(manager) == [
        'ComputeFilter', 'ComputeCapabilitiesFilter',
        'ImagePropertiesFilter', 'ServerGroupAntiAffinityFilter',
        'ServerGroupAffinityFilter', 'SubnetAffinityFilter']
    assert isinstance(manager.enabled_filters[-1],
                      opsext_filters.SubnetAffinityFilter)
    classes = weigher_classes(manager)
    assert opsext_weights.SubnetAffinityWeigher in classes
    assert len(classes) > 1  # nova's own weighers are kept
    assert 'RAMWeigher' in [c.__name__ for c in classes]
    assert CONF.opsext_subnet_affinity.static_rules == ['10.1.0.0/16 = doc*']
    # nova-api's http_proxy_to_wsgi registers its options when loaded.
    CONF.register_opts(http_proxy_to_wsgi.OPTS, group='oslo_middleware')
    assert CONF.oslo_middleware.enable_proxy_headers_parsing


def test_nova_sample_twice_then_unstack_gives_the_file_back(
        tmp_path, nova_sample, loaded):
    stack = stack_from(tmp_path, nova_sample)
    before = stack.post_config_without_plugin()
    stack.run('stack', 'post-config', ENABLED_SERVICES=NO_SWIFT.replace(
        ',tls-proxy', ''))
    once = plugin_runner.read(stack.nova_conf)
    stack.run('stack', 'post-config', ENABLED_SERVICES=NO_SWIFT.replace(
        ',tls-proxy', ''))
    assert plugin_runner.read(stack.nova_conf) == once
    stack.run('unstack')
    assert plugin_runner.read(stack.nova_conf) == before
    manager = loaded(stack.nova_conf)
    assert 'SubnetAffinityFilter' not in filter_names(manager)
    assert opsext_weights.SubnetAffinityWeigher not in weigher_classes(
        manager)


def test_devstack_nova_conf_loads_in_host_manager(tmp_path, loaded):
    stack = stack_from(tmp_path, None)
    stack.run('stack', 'post-config')
    manager = loaded(stack.nova_conf)
    assert filter_names(manager) == (
        plugin_runner.NOVA_FILTERS.split(',') + ['SubnetAffinityFilter'])
    assert opsext_weights.SubnetAffinityWeigher in weigher_classes(manager)
    assert CONF.opsext_subnet_affinity.trusted_proxies == [
        plugin_runner.TLS_PROXY]


def test_devstack_nova_conf_after_unstack(tmp_path, loaded):
    stack = stack_from(tmp_path, None)
    before = stack.post_config_without_plugin()
    stack.run('stack', 'post-config')
    stack.run('unstack')
    assert plugin_runner.read(stack.nova_conf) == before
    assert filter_names(loaded(stack.nova_conf)) == (
        plugin_runner.NOVA_FILTERS.split(','))


def test_our_filter_without_our_available_filters_is_refused(
        tmp_path, loaded):
    # What the plugin prevents: enabling the filter alone.
    stack = stack_from(tmp_path, None)
    stack.run('stack', 'post-config')
    text = plugin_runner.read(stack.nova_conf).replace(
        'available_filters = opsext.nova.filters.all_filters\n', '')
    with open(stack.nova_conf, 'w') as out:
        out.write(text)
    with pytest.raises(exception.SchedulerHostFilterNotFound):
        loaded(stack.nova_conf)
