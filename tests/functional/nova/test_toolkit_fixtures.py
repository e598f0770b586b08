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

"""nova_scheduler and nova_cloud, as operators use them: the tests of
``tests/functional/toolkit/operator_nova/`` (a filter and a weigher of
its own) run in a copy outside opsext, with only the installed plugin."""

import pytest

from tests.functional.toolkit import runner


@pytest.fixture
def project():
    with runner.scratch_dir() as scratch:
        yield runner.copy_project('operator_nova', scratch)


def test_operator_tests_pass(project):
    outcome = runner.run_pytest(project)
    assert outcome.returncode == 0, outcome
    assert outcome.counts == {'passed': 11}, outcome


def test_broken_filter_fails_the_operator_tests(project):
    with open(project + '/netfilter.py', 'a') as module:
        module.write('\n\nSourceNetworkFilter.host_passes = '
                     'lambda self, host_state, spec_obj: True\n')
    outcome = runner.run_pytest(project, 'tests/test_scheduler.py')
    assert outcome.returncode == 1, outcome
    assert outcome.counts == {'failed': 2, 'passed': 7}, outcome
    for name in ('test_other_address_is_kept_off_the_office_host',
                 'test_no_address_is_kept_off_the_office_host'):
        assert 'FAILED tests/test_scheduler.py::' + name in outcome.output


def test_unknown_filter_is_nova_s_error(project):
    with open(project + '/tests/test_typo.py', 'w') as test:
        test.write('def test_typo(nova_scheduler):\n'
                   '    nova_scheduler(filters=["netfilter.NoSuchFilter"])\n')
    outcome = runner.run_pytest(project, 'tests/test_typo.py')
    assert outcome.returncode == 1, outcome
    assert 'NoSuchFilter' in outcome.output


def test_host_description_errors_name_the_field(project):
    with open(project + '/tests/test_typo.py', 'w') as test:
        test.write('def test_typo(nova_scheduler):\n'
                   '    nova_scheduler(hosts={"h1": {"ram": 1}})\n')
    outcome = runner.run_pytest(project, 'tests/test_typo.py')
    assert outcome.returncode == 1, outcome
    assert "DescriptionError: host 'h1': unknown field(s) ram" in (
        outcome.output)
