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

"""``opsext demo``: starts a real cluster, prints how to use it, stops."""

import os
import re
import subprocess
import sys

import pytest

from opsext.cmd import main as cmd_main


def _run_demo(*args, timeout=60):
    result = subprocess.run(
        [sys.executable, '-m', 'opsext.cmd.main', 'demo'] + list(args),
        capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, 'stdout:\n%s\nstderr:\n%s' % (
        result.stdout, result.stderr)
    return result


def _banner_value(out, label):
    match = re.search(r'^  %s:\s+(\S+)' % label, out, re.MULTILINE)
    assert match, out
    return match.group(1)


def test_demo_with_ip_allowlist_stops_by_itself():
    result = _run_demo('swift', '--for', '1')
    assert ('with ip_allowlist, opsext_ratelimit right after tempauth'
            in result.stdout)
    auth_url = _banner_value(result.stdout, 'Auth URL')
    assert ('swift -A %s -U test:tester -K testing stat' % auth_url
            in result.stdout)
    assert 'post -m allow-office:127.0.0.1 demo' in result.stdout
    assert result.stdout.rstrip().endswith('Swift demo stopped.')
    assert not os.path.exists(_banner_value(result.stdout, 'Work dir'))


def test_demo_without_filters_keeps_a_given_workdir(tmp_path):
    workdir = str(tmp_path / 'demo')
    result = _run_demo('--no-filters', '--for', '0.5', '--workdir', workdir)
    assert 'plain Swift (no opsext filter)' in result.stdout
    with open(os.path.join(workdir, 'proxy-server.conf')) as conf:
        assert 'ip_allowlist' not in conf.read()
    assert os.path.exists(os.path.join(workdir, 'log', 'proxy.log'))


@pytest.mark.parametrize('argv', [
    ['demo', 'nova'],
    ['demo', '--for', 'soon'],
    ['demo', '--for', '-1'],
    ['no-such-command'],
    [],
])
def test_bad_arguments_exit_2_with_usage(argv, capsys):
    assert cmd_main.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith('usage: opsext')
    assert 'Traceback' not in err
