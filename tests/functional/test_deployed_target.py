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


def _run_suite(tmp_path, *args, **variables):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('OPSEXT_TEST_')}
    env.update(variables)
    report = tmp_path / 'report.xml'
    result = subprocess.run(
        [sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', '-rs',
         '--junitxml=%s' % report] + list(args or (
             'tests/functional', '--ignore=tests/functional/nova')),
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
    assert 'opsext test target: deployed\n  swift: auth v1 %s' % (
        cluster.auth_url) in out
    assert ('nova placement: not validated: OPSEXT_TEST_SERVICES=swift does '
            'not name it') in out
    assert 'tests deselected: they need a local cluster' in out
    assert ('2 tests deselected: they check nova, which '
            'OPSEXT_TEST_SERVICES=swift does not name') in out
    root = ElementTree.parse(report).getroot()
    cases = list(root.iter('testcase'))
    assert cases and all(
        c.get('classname').startswith('tests.functional.deployed.')
        for c in cases)
    assert not [c for c in cases if c.find('skipped') is not None]
    properties = {p.get('name'): p.get('value')
                  for p in root.iter('property')}
    assert properties['opsext_test_target'] == 'deployed'
    assert properties['opsext_test_swift'].startswith('auth v1 ')
    assert properties['opsext_test_nova'].startswith('not validated: ')


def test_deployed_target_without_rules_says_the_limit_was_not_tested(
        swift_cluster_factory, tmp_path):
    env = _deployed_env(_validated_cluster(swift_cluster_factory))
    del env['OPSEXT_TEST_RATELIMIT_WRITES']
    result, _report = _run_suite(tmp_path, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ('rate limit: not tested (OPSEXT_TEST_RATELIMIT_WRITES unset)'
            in result.stdout)
    # Deselected with its reason, never skipped: CI fails on any skip.
    assert 'SKIPPED' not in result.stdout
    assert 'skipped' not in result.stdout.strip().splitlines()[-1]
    assert "rate-limit rules are unknown" in result.stdout
    # The reporter's own line: "1 deselected" alone also matched "421
    # deselected" in pytest's summary.
    assert ('opsext: 1 tests deselected: OPSEXT_TEST_RATELIMIT_WRITES is '
            'not set') in result.stdout


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


def _nova_env(**overrides):
    env = {'OPSEXT_TEST_TARGET': 'deployed',
           'OPSEXT_TEST_SERVICES': 'nova',
           'OPSEXT_TEST_NOVA_AUTH_URL': 'http://127.0.0.1:9/identity/v3',
           'OPSEXT_TEST_NOVA_USER': 'admin',
           'OPSEXT_TEST_NOVA_KEY': 'secret',
           'OPSEXT_TEST_NOVA_PROJECT': 'admin',
           'OPSEXT_TEST_NOVA_FLAVOR': 'm1.tiny',
           'OPSEXT_TEST_NOVA_IMAGE': 'cirros'}
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def test_nova_only_target_selects_only_the_nova_checks(tmp_path):
    # Collection only: no Nova answers here (tox -e nova runs the checks
    # in Nova's harness).
    result, _report = _run_suite(
        tmp_path, 'tests/functional', '--ignore=tests/functional/nova',
        '--collect-only', **_nova_env())
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert ('swift: not validated: OPSEXT_TEST_SERVICES=nova does not name '
            'it') in out
    assert ('nova placement: Keystone v3 http://127.0.0.1:9/identity/v3 as '
            'admin (project admin), compute from the catalog; boots cirros '
            'on flavor m1.tiny, network none; expects group') in out
    assert 'which OPSEXT_TEST_SERVICES=nova does not name' in out
    collected = [line.strip() for line in out.splitlines()
                 if line.strip().startswith(('<Module', '<Function'))]
    assert collected == [
        '<Module test_nova_placement.py>',
        '<Function test_aggregate_subnet_metadata_parses>',
        '<Function test_boot_from_client_address_lands_as_expected>']


def test_local_run_deselects_the_nova_checks_saying_why(tmp_path):
    result, report = _run_suite(tmp_path, 'tests/functional/deployed')
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert ('opsext: 2 tests deselected: the Nova checks need '
            'OPSEXT_TEST_TARGET=deployed and nova in OPSEXT_TEST_SERVICES; '
            "tox -e nova runs them in Nova's in-process harness") in out
    assert "nova placement: not validated here: tox -e nova" in out
    cases = list(ElementTree.parse(report).getroot().iter('testcase'))
    assert cases and not [c for c in cases
                          if 'nova' in c.get('classname')]


def test_nova_target_missing_variable_fails_naming_it(tmp_path):
    result, _report = _run_suite(
        tmp_path, **_nova_env(OPSEXT_TEST_NOVA_IMAGE=None))
    assert result.returncode == 4, result.stdout + result.stderr
    assert ('OPSEXT_TEST_SERVICES names nova: it needs OPSEXT_TEST_NOVA_IMAGE'
            in result.stderr)


def test_services_in_a_local_run_fail_naming_the_variable(tmp_path):
    result, _report = _run_suite(tmp_path, OPSEXT_TEST_SERVICES='nova')
    assert result.returncode == 4, result.stdout + result.stderr
    assert ("OPSEXT_TEST_SERVICES='nova' is for OPSEXT_TEST_TARGET=deployed"
            in result.stderr)


def test_unknown_service_fails_naming_the_variable(tmp_path):
    result, _report = _run_suite(tmp_path, **_nova_env(
        OPSEXT_TEST_SERVICES='nova,glance'))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "OPSEXT_TEST_SERVICES='nova,glance'" in result.stderr
