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

"""swift_cluster, swift_client and swift_cluster_factory, as operators use
them: the tests of ``operator_swift/`` run in a copy outside opsext."""

import json

import pytest

from tests.functional.toolkit import runner


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    return runner.copy_project('operator_swift',
                               tmp_path_factory.mktemp('operator'))


def _workdirs(path):
    with open(path) as records:
        return dict(json.loads(line) for line in records)


def test_operator_tests_pass_and_share_one_cluster(project, tmp_path):
    record = str(tmp_path / 'record')
    outcome = runner.run_pytest(project, env={'TOOLKIT_RECORD': record})
    assert outcome.returncode == 0, outcome
    assert outcome.counts == {'passed': 7}, outcome
    workdirs = _workdirs(record)
    assert len(workdirs) == 2
    assert len(set(workdirs.values())) == 1, workdirs


def test_module_scope_gives_each_module_its_cluster(project, tmp_path):
    record = str(tmp_path / 'record')
    outcome = runner.run_pytest(
        project, '-o', 'opsext_swift_cluster_scope=module',
        'tests/test_by_factory.py::test_the_filter_is_in_the_pipeline',
        'tests/test_by_entry_point.py::test_same_configuration',
        env={'TOOLKIT_RECORD': record})
    assert outcome.returncode == 0, outcome
    assert len(set(_workdirs(record).values())) == 2


def test_bad_scope_stops_the_run_naming_the_option(project):
    outcome = runner.run_pytest(project, '-o',
                                'opsext_swift_cluster_scope=forever')
    assert outcome.returncode == 4, outcome
    assert "opsext_swift_cluster_scope = 'forever'" in outcome.output


def test_broken_filter_fails_the_operator_tests(tmp_path):
    project = runner.copy_project('operator_swift', tmp_path)
    with open(project + '/ipdeny.py', 'a') as module:
        # The filter lets everything through now.
        module.write('\n\ndef filter_factory(global_conf, **local_conf):\n'
                     '    return lambda app: app\n')
    outcome = runner.run_pytest(project, 'tests/test_by_factory.py')
    assert outcome.returncode == 1, outcome
    assert outcome.counts == {'failed': 1, 'passed': 4}, outcome
    assert ('FAILED tests/test_by_factory.py::test_denied_address_gets_403'
            in outcome.output), outcome
