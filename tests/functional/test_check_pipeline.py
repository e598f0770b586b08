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


"""``opsext check-pipeline`` run as a command on real proxy configs."""

import json
import os
import subprocess
import sys

from opsext.cmd import demo
from opsext.allinone import config as swift_config

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', 'etc', 'swift',
                      'proxy-server.conf-sample')


def _run(*args):
    return subprocess.run(
        [sys.executable, '-m', 'opsext.cmd.main', 'check-pipeline'] +
        list(args), capture_output=True, text=True, timeout=60)


def _sample_with(tmp_path, old, new):
    with open(SAMPLE) as fp:
        text = fp.read()
    assert old in text
    path = tmp_path / 'proxy-server.conf'
    path.write_text(text.replace(old, new, 1))
    return str(path)


def test_sample_config_is_clean():
    result = _run(SAMPLE)
    assert (result.returncode, result.stderr) == (0, '')
    assert result.stdout == '%s: no problems found\n' % SAMPLE


def test_sample_config_is_clean_in_json():
    result = _run('--format', 'json', SAMPLE)
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert (report['errors'], report['warnings'], report['findings']) == (
        0, 0, [])
    assert report['pipeline'][-1] == 'proxy-server'
    assert report['added_by_swift'] == []


def test_demo_pipeline_is_clean(tmp_path):
    filters = list(demo.FILTERS)
    sections = {
        'pipeline:main': {
            'pipeline': ' '.join(swift_config.proxy_pipeline(filters))},
        'app:proxy-server': {'use': 'egg:swift#proxy'}}
    sections.update(swift_config.filter_sections(filters, demo.FILTERS))
    conf = str(tmp_path / 'proxy-server.conf')
    swift_config.write_ini(conf, sections)
    result = _run(conf)
    assert (result.returncode, result.stdout) == (
        0, '%s: no problems found\n' % conf)


def test_ip_allowlist_before_auth_exits_1(tmp_path):
    conf = _sample_with(tmp_path, 'tempauth ip_allowlist',
                        'ip_allowlist tempauth')
    result = _run(conf)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith(
        'ERROR ip_allowlist: tempauth must be to its left')
    assert result.stdout.splitlines()[-1] == '%s: 1 error, 0 warnings' % conf


def test_domain_remap_after_ip_allowlist_exits_1(tmp_path):
    conf = _sample_with(tmp_path, 'ip_allowlist opsext_ratelimit',
                        'ip_allowlist domain_remap opsext_ratelimit')
    with open(conf, 'a') as fp:
        fp.write('\n[filter:domain_remap]\nuse = egg:swift#domain_remap\n')
    result = _run(conf)
    assert result.returncode == 1
    assert result.stdout.startswith(
        'ERROR ip_allowlist: domain_remap must be to its left')


def test_bad_option_value_exits_1_in_json(tmp_path):
    conf = _sample_with(tmp_path, '# operator_cidrs =',
                        'operator_cidrs = 10.0.0.0/33')
    result = _run('--format', 'json', conf)
    assert result.returncode == 1
    [finding] = json.loads(result.stdout)['findings']
    assert finding['severity'] == 'error'
    assert finding['filter'] == 'ip_allowlist'
    assert 'operator_cidrs' in finding['reason']


def test_unknown_option_exits_1(tmp_path):
    conf = _sample_with(tmp_path, '# deny_message =', 'deny_mesage =')
    result = _run(conf)
    assert result.returncode == 1
    assert result.stdout.startswith(
        'ERROR ip_allowlist: the proxy would not start: ')
    assert "'deny_mesage'" in result.stdout.splitlines()[0]


def test_warning_exits_0_and_1_with_strict(tmp_path):
    conf = _sample_with(tmp_path, 'tempauth ip_allowlist opsext_ratelimit '
                        'staticweb copy', 'tempauth staticweb ip_allowlist '
                        'opsext_ratelimit copy')
    result = _run(conf)
    assert result.returncode == 0
    assert result.stdout.startswith(
        'WARNING ip_allowlist: staticweb must be to its right')
    assert _run('--strict', conf).returncode == 1


def test_missing_file_exits_2(tmp_path):
    missing = str(tmp_path / 'proxy-server.conf')
    result = _run(missing)
    assert result.returncode == 2
    assert result.stdout == ''
    assert result.stderr == ('opsext check-pipeline: error: %s: No such file '
                             'or directory\n' % missing)


def test_missing_pipeline_main_exits_1(tmp_path):
    conf = _sample_with(tmp_path, '[pipeline:main]', '[pipeline:other]')
    result = _run(conf)
    assert result.returncode == 1
    assert result.stdout.startswith(
        'ERROR pipeline: no [pipeline:main] section')


def test_console_script_help():
    script = os.path.join(os.path.dirname(sys.executable), 'opsext')
    result = subprocess.run([script, 'check-pipeline', '--help'],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.startswith('usage: opsext check-pipeline')
