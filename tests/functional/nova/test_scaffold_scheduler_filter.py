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

"""``opsext new scheduler-filter``: the generated package, installed into
a fresh virtualenv with opsext (and the nova of this environment), passes
its own tests in Nova's HostManager and in Nova's in-process cloud; with
its filter broken, they fail."""

import pytest

from tests.functional.toolkit import runner

NAME = 'ip_affinity'


@pytest.fixture(scope='module')
def installed():
    """(venv python, package dir) of a generated, installed filter."""
    with runner.scratch_dir() as scratch:
        result = runner.scaffold('scheduler-filter', NAME, scratch)
        assert result.returncode == 0, result.stderr
        package = scratch + '/' + NAME
        python = runner.fresh_venv(scratch + '/venv')
        runner.pip_install(python, runner.opsext_source(scratch),
                           pbr_version='0.0.0')
        runner.pip_install(python, package)
        yield python, package


def test_generated_tests_pass(installed):
    python, package = installed
    outcome = runner.run_pytest(package, python=python)
    assert outcome.returncode == 0, outcome
    assert outcome.counts == {'passed': 8}, outcome


def test_generated_tests_fail_when_the_filter_passes_every_host(installed):
    python, package = installed
    with open(package + '/ip_affinity/filters.py', 'a') as module:
        module.write('\n\nIpAffinityFilter.host_passes = '
                     'lambda self, host_state, spec_obj: True\n')
    runner.pip_install(python, '--force-reinstall', package)
    outcome = runner.run_pytest(package, python=python)
    assert outcome.returncode == 1, outcome
    assert outcome.counts == {'failed': 7, 'passed': 1}, outcome
    assert ('FAILED tests/test_ip_affinity_cloud.py::'
            'test_servers_land_on_the_hosts_of_their_network'
            in outcome.output), outcome
