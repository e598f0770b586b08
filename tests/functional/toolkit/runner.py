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

"""Run pytest on a project outside opsext's tree, in a subprocess."""

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
_SUMMARY = re.compile(r'(\d+) (passed|failed|error|errors|skipped)')


class Outcome(object):
    """Exit status, output and counts of one pytest run."""

    def __init__(self, proc):
        self.returncode = proc.returncode
        self.output = proc.stdout
        self.counts = {}
        for number, word in _SUMMARY.findall(self.output.splitlines()[-1]
                                             if self.output else ''):
            word = 'errors' if word.startswith('error') else word
            self.counts[word] = int(number)

    def __repr__(self):
        return '<pytest rc=%s %s>\n%s' % (self.returncode, self.counts,
                                          self.output[-6000:])


@contextlib.contextmanager
def scratch_dir():
    """A new directory, removed after the block.

    Not pytest's ``tmp_path``: nova's test fixtures (the autouse
    ``api_database`` of tests/functional/nova) point ``tempfile`` at a
    directory of their own and remove it, pytest's base directory with it.
    """
    path = tempfile.mkdtemp(prefix='opsext-toolkit-',
                            dir=os.environ.get('TMPDIR') or '/tmp')
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def copy_project(name, dest):
    """Copy the operator project ``name`` (beside this file) to ``dest``."""
    target = os.path.join(str(dest), name)
    shutil.copytree(os.path.join(HERE, name), target,
                    ignore=shutil.ignore_patterns('__pycache__'))
    return target


def run_pytest(project, *args, python=sys.executable, env=None,
               timeout=900):
    """``python -m pytest`` in ``project``; its own rootdir and conftests.

    ``--confcutdir`` keeps pytest from loading conftest.py files above
    the project, though a temporary directory has none.
    """
    environ = dict(os.environ, PYTHONDONTWRITEBYTECODE='1')
    # Nothing of the caller's tree: only what is installed.
    environ.pop('PYTHONPATH', None)
    environ.update(env or {})
    proc = subprocess.run(
        [python, '-m', 'pytest', '-p', 'no:cacheprovider', '-rfEs',
         '--rootdir', project, '--confcutdir', project] + list(args),
        cwd=project, env=environ, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout)
    return Outcome(proc)


TOP = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def fresh_venv(path):
    """A new virtualenv at ``path`` that sees this environment's packages.

    Only what the test installs into it is its own; the rest (Swift, Nova,
    pytest and their dependencies) comes from the running environment
    through a ``.pth`` file, after the venv's own site-packages, so that
    nothing is downloaded. Returns the venv's python.
    """
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', path],
                   check=True)
    python = os.path.join(path, 'bin', 'python')
    site_dir = subprocess.run(
        [python, '-c', 'import sysconfig; print(sysconfig.get_paths()'
         '["purelib"])'], check=True, stdout=subprocess.PIPE,
        universal_newlines=True).stdout.strip()
    ours = [p for p in sys.path if p.endswith('site-packages')]
    with open(os.path.join(site_dir, 'zz_parent_env.pth'), 'w') as pth:
        pth.write('import site; %s\n' % '; '.join(
            'site.addsitedir(%r)' % p for p in ours))
    return python


def opsext_source(dest):
    """A copy of this opsext checkout, to install from; returns its path.

    pip builds a local directory in place (it would leave ``build/`` in
    the checkout); the copy has no git: give pip_install a pbr_version.
    """
    target = os.path.join(str(dest), 'opsext-src')
    shutil.copytree(TOP, target, ignore=shutil.ignore_patterns(
        '.git', '.tox', '.venv', 'build', '*.egg-info', '.ci-results',
        '__pycache__', 'doc', 'releasenotes', 'tests', 'bench'))
    return target


def pip_install(python, *paths, pbr_version=None):
    """Install ``paths`` (not editable, no dependencies, offline).

    ``pbr_version`` is for a source without git (see opsext_source).
    """
    env = dict(os.environ)
    if pbr_version:
        env['PBR_VERSION'] = pbr_version
    proc = subprocess.run(
        [python, '-m', 'pip', 'install', '-q', '--no-deps', '--no-index',
         '--no-build-isolation', '--disable-pip-version-check'] +
        list(paths), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout


def scaffold(kind, name, parent):
    """Run the ``opsext`` command of this environment; return the result."""
    opsext = os.path.join(os.path.dirname(sys.executable), 'opsext')
    return subprocess.run([opsext, 'new', kind, name, '--directory', parent],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120)


def python_output(python, code):
    """What ``python -c code`` prints (run in ``/``, away from sources)."""
    return subprocess.run([python, '-c', code], check=True, cwd='/',
                          stdout=subprocess.PIPE,
                          universal_newlines=True).stdout
