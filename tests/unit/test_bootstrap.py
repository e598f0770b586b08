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

"""tools/bootstrap.sh: one line per step, the noise in a log, failures fail.

The real script runs under bash in a scratch tree whose ``.venv/bin/python``
and ``opsext`` are stand-ins (a real install is what ``tools/demo.sh`` and
CI do); memcached, redis-server and openssl are stand-ins on ``PATH`` so
that the system step finds them.
"""

import os
import shutil
import stat
import subprocess

import pytest

TOP = os.path.join(os.path.dirname(__file__), '..', '..')

PIP_NOISE = 'WARNING: Location ignored; setuptools says: !!'


def _script(path, body):
    with open(path, 'w') as stream:
        stream.write('#!/bin/sh\n' + body)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)


@pytest.fixture
def tree(tmp_path):
    """A checkout with a venv whose pip fails when PIP_FAILS is set."""
    (tmp_path / 'tools').mkdir()
    shutil.copy(os.path.join(TOP, 'tools', 'bootstrap.sh'),
                tmp_path / 'tools')
    for name in ('setup.cfg', 'requirements.txt'):
        (tmp_path / name).write_text('# %s\n' % name)
    bin_dir = tmp_path / '.venv' / 'bin'
    bin_dir.mkdir(parents=True)
    _script(bin_dir / 'python',
            'if [ "$1 $2" = "-m pip" ]; then\n'
            '  echo "%s"; echo "Collecting tox"\n'
            '  if [ -n "$PIP_FAILS" ]; then\n'
            '    echo "ERROR: No matching distribution found for pbr" >&2\n'
            '    exit 1\n'
            '  fi\n'
            '  touch "$(dirname "$0")/tox" "$(dirname "$0")/opsext"\n'
            '  chmod +x "$(dirname "$0")/tox" "$(dirname "$0")/opsext"\n'
            '  exit 0\n'
            'fi\n'
            'echo 1.2.3\n' % PIP_NOISE)
    tools = tmp_path / 'path'
    tools.mkdir()
    for name in ('memcached', 'redis-server', 'openssl'):
        _script(tools / name, 'exit 0\n')
    return tmp_path


def _run(tree, **env):
    environ = dict(os.environ)
    environ['PATH'] = '%s:%s' % (tree / 'path', os.environ['PATH'])
    environ.pop('PIP_FAILS', None)
    environ.update(env)
    return subprocess.run(['bash', str(tree / 'tools' / 'bootstrap.sh')],
                          capture_output=True, text=True, env=environ,
                          timeout=120)


def test_a_first_run_prints_one_line_per_step(tree):
    done = _run(tree)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith('bootstrap: system packages (1/4)')
    assert lines[1].startswith('bootstrap: virtualenv (2/4)')
    assert lines[2].startswith('bootstrap: installing tox, Swift and opsext '
                               'into .venv (3/4) ... done in ')
    assert lines[3].startswith('bootstrap: checking the opsext command (4/4)')
    assert lines[4].startswith('bootstrap: ready in ')
    assert 'opsext 1.2.3' in lines[4]
    assert len(lines) == 5
    assert PIP_NOISE not in done.stdout + done.stderr
    assert PIP_NOISE in (tree / '.bootstrap.log').read_text()


def test_a_second_run_skips_the_install(tree):
    assert _run(tree).returncode == 0
    done = _run(tree)
    assert done.returncode == 0
    assert 'bootstrap: tox, Swift and opsext (3/4): up to date in .venv' \
        in done.stdout
    assert 'Collecting' not in (tree / '.bootstrap.log').read_text()


def test_a_changed_requirement_installs_again(tree):
    assert _run(tree).returncode == 0
    (tree / 'requirements.txt').write_text('redis>=5\n')
    done = _run(tree)
    assert 'installing tox, Swift and opsext into .venv (3/4) ... done' \
        in done.stdout


def test_a_failed_install_fails_and_names_the_log(tree):
    done = _run(tree, PIP_FAILS='1')
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[-1] == 'bootstrap: failed; full log: %s' % (
        tree / '.bootstrap.log')
    assert 'FAILED after' in done.stdout
    # The end of the log is shown, indented, above the last line.
    assert '    ERROR: No matching distribution found for pbr' in lines
    assert 'ERROR: No matching distribution found for pbr' in (
        tree / '.bootstrap.log').read_text()


def test_a_failed_install_is_tried_again(tree):
    assert _run(tree, PIP_FAILS='1').returncode == 1
    done = _run(tree)
    assert done.returncode == 0
    assert 'up to date' not in done.stdout
