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


"""The plugin in DevStack's order of things (stack.sh, unstack.sh, clean.sh).

Which Python has opsext (stack.sh reads the settings before it switches
PYTHON to its global virtualenv; unstack.sh and clean.sh never set PYTHON),
and nova.conf edits against lib/neutron's configure_neutron_nova, which
stack.sh runs in the background across the post-config phase.
"""

import os
import shutil

import pytest

from tests.functional.devstack import plugin_runner
from tests.functional.devstack.plugin_runner import DevStack
from tests.functional.devstack.plugin_runner import read


def _stack(tmp_path, **settings):
    stack = DevStack(str(tmp_path), installed=False, **settings)
    stack.configure_swift()
    stack.configure_nova()
    return stack


@pytest.mark.parametrize('global_venv, where', [
    ('True', 'venv'), ('False', 'system')])
def test_post_config_finds_opsext_where_install_put_it(tmp_path, global_venv,
                                                       where):
    stack = _stack(tmp_path, GLOBAL_VENV=global_venv)
    stack.run('stack', 'install')
    assert stack.installed_in() == [where]
    stack.run('stack', 'post-config')
    assert 'ip_allowlist' in read(stack.proxy_conf)
    assert 'SubnetAffinityFilter' in read(stack.nova_conf)


def test_the_python_of_settings_time_has_no_opsext(tmp_path):
    # What the settings saw as PYTHON (inc/python's install_python) before
    # stack.sh switched to the global virtualenv: opsext is not there.
    stack = _stack(tmp_path)
    stack.run('stack', 'install')
    system_python = os.path.join(stack.root, 'usr', 'bin',
                                 'python' + plugin_runner.PYTHON3_VERSION)
    with pytest.raises(plugin_runner.PhaseError) as info:
        stack.run('stack', 'post-config', OPSEXT_PYTHON=system_python)
    assert "No module named 'opsext'" in str(info.value)
    assert 'cannot insert ip_allowlist opsext_ratelimit' in str(info.value)


@pytest.mark.parametrize('global_venv', ['True', 'False'])
def test_unstack_and_clean_without_python_restore_both_files(tmp_path,
                                                             global_venv):
    stack = _stack(tmp_path, GLOBAL_VENV=global_venv)
    proxy = read(stack.proxy_conf)
    nova = stack.post_config_without_plugin()
    for phase in ('install', 'post-config', 'extra', 'test-config'):
        stack.run('stack', phase)
    for mode in ('unstack', 'clean'):
        stack.run(mode)
        assert read(stack.proxy_conf) == proxy
        assert read(stack.nova_conf) == nova


def test_clean_with_the_virtualenv_gone_restores_the_proxy_conf(tmp_path):
    # clean.sh after a stack.sh that failed, or after the venv was removed:
    # undoing needs no Python.
    stack = _stack(tmp_path)
    proxy = read(stack.proxy_conf)
    stack.run('stack', 'install')
    stack.run('stack', 'post-config')
    shutil.rmtree(stack.devstack_venv)
    stack.run('clean')
    assert read(stack.proxy_conf) == proxy


def test_nova_conf_edits_wait_for_configure_neutron_nova(tmp_path):
    # The stand-in of configure_neutron_nova rewrites nova.conf from what it
    # read 2 s before: an edit made meanwhile would be lost.
    stack = _stack(tmp_path)
    stack.run('stack', 'install')
    stack.run('stack', 'post-config', STANDIN_NEUTRON_NOVA_SECONDS='2')
    nova = read(stack.nova_conf)
    assert 'SubnetAffinityFilter' in nova
    assert '[opsext_subnet_affinity]' in nova
    assert '[neutron]' in nova


def test_nova_conf_edits_without_parallel_jobs(tmp_path):
    # DEVSTACK_PARALLEL=False: async_runfunc ran the job at once.
    stack = _stack(tmp_path, DEVSTACK_PARALLEL='False')
    stack.run('stack', 'install')
    result = stack.run('stack', 'post-config')
    assert 'SubnetAffinityFilter' in read(stack.nova_conf)
    assert 'Not waiting for async task configure_neutron_nova' in (
        result.stdout)
