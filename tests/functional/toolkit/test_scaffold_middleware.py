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

import os
import shutil

import pytest

from tests.functional.toolkit import runner

NAME = 'ip_restrict'
EXAMPLES = os.path.join(runner.TOP, 'doc', 'source', 'examples')


@pytest.fixture(scope='module')
def venv():
    """(python, scratch dir) of a fresh virtualenv with opsext."""
    with runner.scratch_dir() as scratch:
        python = runner.fresh_venv(scratch + '/venv')
        runner.pip_install(python, runner.opsext_source(scratch),
                           pbr_version='0.0.0')
        yield python, scratch


def _new_package(venv, name):
    python, scratch = venv
    result = runner.scaffold('middleware', name, scratch)
    assert result.returncode == 0, result.stderr
    return scratch + '/' + name


@pytest.fixture(scope='module')
def installed(venv):
    """(venv python, package dir) of a generated, installed middleware."""
    package = _new_package(venv, NAME)
    runner.pip_install(venv[0], package)
    return venv[0], package


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


def test_tutorial_middleware_passes_its_tests(venv):
    # doc/source/toolkit.rst: the Ops Guide's container allowlist.
    package = _new_package(venv, 'office_only')
    shutil.copy(os.path.join(EXAMPLES, 'office_only_middleware.py'),
                package + '/office_only/middleware.py')
    shutil.copy(os.path.join(EXAMPLES, 'test_office_only.py'),
                package + '/tests/test_office_only.py')
    runner.pip_install(venv[0], package)
    outcome = runner.run_pytest(package, python=venv[0])
    assert outcome.returncode == 0, outcome
    assert outcome.counts == {'passed': 3}, outcome
