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


"""``OPSEXT_TEST_TARGET=deployed``, tested against a local cluster.

The ops-validation suite runs in a pytest subprocess that knows the
cluster only through the ``OPSEXT_TEST_*`` variables, as it would know a
deployed cloud.
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

from tests.functional.deployed import conftest as deployed_conftest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _run_suite(tmp_path, **variables):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('OPSEXT_TEST_')}
    env.update(variables)
    report = tmp_path / 'report.xml'
    result = subprocess.run(
        [sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', '-rs',
         'tests/functional', '--ignore=tests/functional/nova',
         '--junitxml=%s' % report],
        cwd=TOP, env=env, capture_output=True, text=True, timeout=300)
    return result, report


def _deployed_env(cluster):
    return {'OPSEXT_TEST_TARGET': 'deployed',
            'OPSEXT_TEST_AUTH_URL': cluster.auth_url,
            'OPSEXT_TEST_USER': 'test:tester',
            'OPSEXT_TEST_KEY': 'testing',
            'OPSEXT_TEST_RATELIMIT_WRITES':
                str(deployed_conftest.LOCAL_WRITES)}


def _validated_cluster(swift_cluster_factory):
    return swift_cluster_factory(
        pipeline_filters=deployed_conftest.LOCAL_FILTERS,
        filter_conf=deployed_conftest.LOCAL_FILTER_CONF)


def test_deployed_target_runs_only_the_validation_suite(
        swift_cluster_factory, tmp_path):
    cluster = _validated_cluster(swift_cluster_factory)
    result, report = _run_suite(tmp_path, **_deployed_env(cluster))
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert 'opsext test target: deployed: auth v1 %s' % cluster.auth_url in out
    assert 'tests deselected: they need a local cluster' in out
    root = ElementTree.parse(report).getroot()
    cases = list(root.iter('testcase'))
    assert cases and all(
        c.get('classname').startswith('tests.functional.deployed.')
        for c in cases)
    assert not [c for c in cases if c.find('skipped') is not None]
    properties = {p.get('name'): p.get('value')
                  for p in root.iter('property')}
    assert properties['opsext_test_target'].startswith('deployed: ')


def test_deployed_target_without_rules_says_the_limit_was_not_tested(
        swift_cluster_factory, tmp_path):
    env = _deployed_env(_validated_cluster(swift_cluster_factory))
    del env['OPSEXT_TEST_RATELIMIT_WRITES']
    result, _report = _run_suite(tmp_path, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ('rate limit: not tested (OPSEXT_TEST_RATELIMIT_WRITES unset)'
            in result.stdout)
    assert 'SKIPPED' in result.stdout
    assert "rate-limit rules are unknown" in result.stdout


def test_deployed_target_missing_variable_fails_naming_it(tmp_path):
    result, _report = _run_suite(
        tmp_path, OPSEXT_TEST_TARGET='deployed',
        OPSEXT_TEST_AUTH_URL='http://127.0.0.1:9/auth/v1.0',
        OPSEXT_TEST_USER='test:tester')
    assert result.returncode == 4, result.stdout + result.stderr
    assert ('OPSEXT_TEST_TARGET=deployed needs OPSEXT_TEST_KEY'
            in result.stderr)


def test_unknown_target_fails_naming_the_variable(tmp_path):
    result, _report = _run_suite(tmp_path, OPSEXT_TEST_TARGET='staging')
    assert result.returncode == 4, result.stdout + result.stderr
    assert "OPSEXT_TEST_TARGET='staging'" in result.stderr
