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


"""The functions-common and inc/async stand-ins behave as DevStack's.

EXPECTED is what DevStack's own ``functions`` (master, July 2026) prints
for the scripts below: ``warn`` returns the previous exit status (so
``cmd || warn ...`` still fails under errexit), ``die`` exits with it (1
after success), ``async_runfunc`` runs in the background unless
``DEVSTACK_PARALLEL=False``, and a second ``async_wait`` of a job returns 0
at once. Set OPSEXT_DEVSTACK_DIR to a DevStack tree to run the scripts
against its ``functions`` too.
"""

import os
import subprocess

import pytest

from tests.functional.devstack import plugin_runner

WARN_AND_DIE = r'''
source "$1"
set +e
false
warn $LINENO "x" > /dev/null
echo "warn after false: $?"
true
warn $LINENO "x" > /dev/null
echo "warn after true: $?"
( false; die $LINENO "boom" ) > /dev/null 2>&1
echo "die after false: $?"
( (exit 3); die $LINENO "boom" ) > /dev/null 2>&1
echo "die after 3: $?"
( true; die $LINENO "boom" ) > /dev/null 2>&1
echo "die after true: $?"
'''

WARN_AND_DIE_EXPECTED = '''warn after false: 1
warn after true: 0
die after false: 1
die after 3: 3
die after true: 1
'''

ASYNC = r'''
source "$1"
DEST=$2
mkdir -p "$DEST/async"
function job { sleep 0.5; echo done > "$DEST/job.out"; }
async_runfunc job > /dev/null
if [[ -e "$DEST/job.out" ]]; then echo "ran at once"; else echo "later"; fi
async_wait job > /dev/null
echo "wait: $? $(cat "$DEST/job.out")"
out=$(async_wait job)
echo "second wait: $? ${out:0:11}"
'''

ASYNC_EXPECTED = {
    'True': 'later\nwait: 0 done\nsecond wait: 0 Not waiting\n',
    'False': 'ran at once\nwait: 0 done\nsecond wait: 0 Not waiting\n'}

IMPLEMENTATIONS = [os.path.join(plugin_runner.HERE, 'devstack-standin.sh')]
if os.environ.get('OPSEXT_DEVSTACK_DIR'):
    IMPLEMENTATIONS.append(os.path.join(os.environ['OPSEXT_DEVSTACK_DIR'],
                                        'functions'))


def _run(script, implementation, tmp_path, **env):
    top = os.path.dirname(implementation)
    return subprocess.run(
        ['bash', '-c', script, 'standin-test', implementation,
         str(tmp_path)], env=dict(os.environ, TOP_DIR=top, **env),
        capture_output=True, text=True, check=True, cwd=str(tmp_path),
        timeout=60).stdout


@pytest.mark.parametrize('implementation', IMPLEMENTATIONS)
def test_warn_and_die_return_as_devstack_s(implementation, tmp_path):
    assert _run(WARN_AND_DIE, implementation, tmp_path) == (
        WARN_AND_DIE_EXPECTED)


@pytest.mark.parametrize('parallel', ['True', 'False'])
@pytest.mark.parametrize('implementation', IMPLEMENTATIONS)
def test_async_jobs_as_devstack_s(implementation, parallel, tmp_path):
    assert _run(ASYNC, implementation, tmp_path,
                DEVSTACK_PARALLEL=parallel) == ASYNC_EXPECTED[parallel]
