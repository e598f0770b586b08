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


"""The ``opsext`` command: help for every subcommand, one-line errors."""

import pytest

from opsext.cmd import pipeline as pipeline_cmd
from opsext.cmd import main as cmd_main

SUBCOMMANDS = [
    ([], 'usage: opsext [-h]'),
    (['demo'], 'usage: opsext demo [-h]'),
    (['placement'], 'usage: opsext placement [-h]'),
    (['placement', 'explain'], 'usage: opsext placement explain [-h]'),
    (['check-pipeline'], 'usage: opsext check-pipeline [-h]'),
]


@pytest.mark.parametrize('argv,usage', SUBCOMMANDS,
                         ids=lambda v: ' '.join(v) if isinstance(v, list)
                         else None)
def test_help(capsys, argv, usage):
    assert cmd_main.main(argv + ['--help']) == 0
    out, err = capsys.readouterr()
    assert out.startswith(usage)
    assert '--help' in out
    assert err == ''


def test_help_lists_every_subcommand(capsys):
    cmd_main.main(['--help'])
    out = capsys.readouterr().out
    for name in ('demo', 'placement', 'check-pipeline'):
        assert '\n    %s ' % name in out or '\n    %s\n' % name in out


def _error(capsys, argv):
    status = cmd_main.main(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert 'Traceback' not in err
    return status, lines[-1]


def test_no_subcommand_is_a_usage_error(capsys):
    assert _error(capsys, []) == (
        2, 'opsext: error: the following arguments are required: COMMAND')


def test_unknown_subcommand_is_a_usage_error(capsys):
    status, line = _error(capsys, ['frobnicate'])
    assert status == 2
    assert line.startswith("opsext: error: argument COMMAND: invalid "
                           "choice: 'frobnicate'")


def test_demo_bad_duration_is_a_usage_error(capsys):
    assert _error(capsys, ['demo', '--for', '-1']) == (
        2, "opsext demo: error: argument --for: expected a positive number "
           "of seconds, got '-1'")


def test_placement_without_subcommand_is_a_usage_error(capsys):
    status, line = _error(capsys, ['placement'])
    assert status == 2
    assert line.startswith('opsext placement: error: the following '
                           'arguments are required')


def test_placement_explain_bad_address_names_the_option(capsys, tmp_path):
    inventory = tmp_path / 'inventory.yaml'
    inventory.write_text('hosts: []\n')
    assert _error(capsys, ['placement', 'explain', '--inventory',
                           str(inventory), '--address', 'nope']) == (
        1, "opsext placement explain: error: --address: 'nope': not an "
           "IPv4 or IPv6 address")


def test_placement_explain_missing_inventory(capsys, tmp_path):
    status, line = _error(capsys, [
        'placement', 'explain', '--inventory', str(tmp_path / 'none.yaml'),
        '--address', '10.1.2.3'])
    assert status == 1
    assert line.startswith('opsext placement explain: error: ')
    assert 'No such file or directory' in line


def test_check_pipeline_without_file_is_a_usage_error(capsys):
    status, line = _error(capsys, ['check-pipeline'])
    assert status == 2
    assert line == ('opsext check-pipeline: error: the following arguments '
                    'are required: PROXY_SERVER_CONF')


def test_check_pipeline_missing_file_exits_2(capsys, tmp_path):
    missing = str(tmp_path / 'proxy-server.conf')
    assert _error(capsys, ['check-pipeline', missing]) == (
        2, 'opsext check-pipeline: error: %s: No such file or directory'
        % missing)


def test_check_pipeline_bad_format_is_a_usage_error(capsys, tmp_path):
    status, line = _error(capsys, ['check-pipeline', '--format', 'xml',
                                   str(tmp_path)])
    assert status == 2
    assert line.startswith('opsext check-pipeline: error: argument --format')


def test_unexpected_error_is_one_line(capsys, monkeypatch):
    def broken(args):
        raise KeyError('surprise')
    monkeypatch.setattr(pipeline_cmd, 'check', broken)
    assert _error(capsys, ['check-pipeline', 'x']) == (
        1, "opsext check-pipeline: error: unexpected KeyError: 'surprise' "
           "(--debug shows where)")


def test_debug_logs_the_traceback(capsys, caplog, monkeypatch):
    def broken(args):
        raise KeyError('surprise')
    monkeypatch.setattr(pipeline_cmd, 'check', broken)
    assert cmd_main.main(['--debug', 'check-pipeline', 'x']) == 1
    [record] = caplog.records
    assert record.exc_info[0] is KeyError
    assert capsys.readouterr().err.rstrip().endswith('(--debug shows where)')
