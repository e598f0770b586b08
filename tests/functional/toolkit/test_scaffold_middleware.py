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

"""``opsext new middleware``: the generated package, installed into a
fresh virtualenv with opsext, passes its own tests in a real Swift; with
its filter broken, they fail."""

import pytest

from tests.functional.toolkit import runner

NAME = 'ip_restrict'


@pytest.fixture(scope='module')
def installed():
    """(venv python, package dir) of a generated, installed middleware."""
    with runner.scratch_dir() as scratch:
        result = runner.scaffold('middleware', NAME, scratch)
        assert result.returncode == 0, result.stderr
        package = scratch + '/' + NAME
        python = runner.fresh_venv(scratch + '/venv')
        runner.pip_install(python, runner.opsext_source(scratch),
                           pbr_version='0.0.0')
        runner.pip_install(python, package)
        yield python, package


def test_installed_from_the_venv(installed):
    python, _package = installed
    where = runner.python_output(python, 'import opsext, ip_restrict; '
                                 'print(opsext.__file__, '
                                 'ip_restrict.__file__)')
    venv = python.rsplit('/bin/', 1)[0]
    assert all(path.startswith(venv + '/') for path in where.split()), where


def test_generated_tests_pass(installed):
    python, package = installed
    outcome = runner.run_pytest(package, python=python)
    assert outcome.returncode == 0, outcome
    assert outcome.counts == {'passed': 4}, outcome
    assert 'plugins: opsext' in outcome.output


def test_generated_tests_fail_when_the_filter_lets_all_in(installed):
    python, package = installed
    with open(package + '/ip_restrict/middleware.py', 'a') as module:
        module.write('\n\nIpRestrictMiddleware._denied = '
                     'lambda self, remote_addr: False\n')
    runner.pip_install(python, '--force-reinstall', package)
    outcome = runner.run_pytest(package, python=python)
    assert outcome.returncode == 1, outcome
    assert outcome.counts == {'failed': 1, 'passed': 3}, outcome
    assert ('FAILED tests/test_ip_restrict.py::test_denied_network_gets_403'
            in outcome.output), outcome
