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

"""``opsext new``: names, targets, what is written (and what is not)."""

import configparser
import os
import subprocess

import pytest

from opsext.cmd import main
from opsext import scaffold

BAD_NAMES = ['Bad-Name', 'ip-restrict', '1abc', 'a', 'x' * 21, 'a__b',
             'trailing_', '_x', 'class', 'swift', 'nova', 'opsext', 'os',
             'json', 'tests', '', 'ip restrict', 'ipé']


@pytest.mark.parametrize('name', BAD_NAMES)
@pytest.mark.parametrize('kind', ['middleware', 'scheduler-filter'])
def test_bad_name_is_one_line_error_and_writes_nothing(tmp_path, capsys,
                                                       kind, name):
    status = main.main(['new', kind, name, '--directory', str(tmp_path)])
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith('opsext new: error: invalid name %r' % (name,))
    assert err.count('\n') == 1
    assert os.listdir(tmp_path) == []


def test_existing_directory_is_refused_and_left_alone(tmp_path, capsys):
    (tmp_path / 'ip_restrict').mkdir()
    (tmp_path / 'ip_restrict' / 'mine.txt').write_text('keep')
    status = main.main(['new', 'middleware', 'ip_restrict', '--directory',
                        str(tmp_path)])
    assert status == 2
    err = capsys.readouterr().err
    assert 'ip_restrict already exists' in err
    assert err.count('\n') == 1
    assert sorted(os.listdir(tmp_path)) == ['ip_restrict']
    assert os.listdir(tmp_path / 'ip_restrict') == ['mine.txt']


def test_missing_parent_is_an_error(tmp_path, capsys):
    status = main.main(['new', 'middleware', 'ip_restrict', '--directory',
                        str(tmp_path / 'nowhere')])
    assert status == 2
    assert 'is not a directory' in capsys.readouterr().err


def test_unknown_kind_is_a_usage_error(tmp_path, capsys):
    status = main.main(['new', 'weigher', 'x1', '--directory',
                        str(tmp_path)])
    assert status == 2
    assert "invalid choice: 'weigher'" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_failure_while_writing_leaves_nothing(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise scaffold.ScaffoldError('git init failed: boom')
    monkeypatch.setattr(scaffold, '_init_git', broken)
    with pytest.raises(scaffold.ScaffoldError):
        scaffold.create('middleware', 'ip_restrict', str(tmp_path))
    assert os.listdir(tmp_path) == []


def _read_cfg(path):
    parser = configparser.RawConfigParser()
    parser.read(path)
    return parser


def test_middleware_package(tmp_path):
    target = scaffold.create('middleware', 'ip_restrict', str(tmp_path))
    cfg = _read_cfg(os.path.join(target, 'setup.cfg'))
    assert cfg.get('metadata', 'name') == 'ip-restrict'
    assert cfg.get('entry_points', 'paste.filter_factory').strip() == (
        'ip_restrict = ip_restrict.middleware:filter_factory')
    with open(os.path.join(target, 'ip_restrict', 'middleware.py')) as mod:
        text = mod.read()
    assert text.startswith('"""ip restrict: ')
    assert '[filter:ip_restrict]\n    use = egg:ip-restrict#ip_restrict' in (
        text)
    assert 'class IpRestrictMiddleware' in text
    assert '{{' not in text
    compile(text, 'middleware.py', 'exec')
    _common_files(target, 'ip_restrict')


def test_scheduler_filter_package(tmp_path):
    target = scaffold.create('scheduler-filter', 'ip_affinity',
                             str(tmp_path))
    cfg = _read_cfg(os.path.join(target, 'setup.cfg'))
    assert cfg.get('entry_points', 'oslo.config.opts').strip() == (
        'ip_affinity = ip_affinity.filters:list_opts')
    with open(os.path.join(target, 'ip_affinity', 'filters.py')) as mod:
        text = mod.read()
    assert 'available_filters = ip_affinity.filters.IpAffinityFilter' in (
        text)
    assert 'class IpAffinityFilter(filters.BaseHostFilter)' in text
    compile(text, 'filters.py', 'exec')
    _common_files(target, 'ip_affinity')


def _common_files(target, name):
    for path, texts in scaffold.files(
            'middleware' if name == 'ip_restrict' else 'scheduler-filter',
            name).items():
        if not path.startswith('releasenotes/'):
            assert os.path.isfile(os.path.join(target, path)), path
        assert '{{' not in texts, path
    notes = os.listdir(os.path.join(target, 'releasenotes', 'notes'))
    assert len(notes) == 1 and notes[0].startswith(name + '-')
    for test in os.listdir(os.path.join(target, 'tests')):
        with open(os.path.join(target, 'tests', test)) as source:
            compile(source.read(), test, 'exec')
    plugin = os.path.join(target, 'devstack', 'plugin.sh')
    assert os.access(plugin, os.X_OK)
    subprocess.run(['bash', '-n', plugin], check=True)
    log = subprocess.run(['git', 'log', '--format=%s'], cwd=target,
                         check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    assert log == 'Initial %s, from opsext new\n' % name
    status = subprocess.run(['git', 'status', '--porcelain'], cwd=target,
                            check=True, stdout=subprocess.PIPE,
                            universal_newlines=True).stdout
    assert status == ''
