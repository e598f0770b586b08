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
