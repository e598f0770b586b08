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


"""The ini stand-ins behave as DevStack's inc/ini-config.

EXPECTED is what DevStack's own inc/ini-config (master, July 2026) prints
for SCRIPT. Set OPSEXT_DEVSTACK_DIR to a DevStack checkout to run the
script against its inc/ini-config too.
"""

import os
import subprocess

import pytest

from tests.functional.devstack import plugin_runner

SCRIPT = r'''
set -o errexit
source "$1"
f=$2
cat > $f <<'X'
[DEFAULT]
# a comment
foo = 1
#bar = 2

[pipeline:main]
pipeline = a  b   c

[filter_scheduler]
available_filters = x.y
available_filters = z.w
enabled_filters = A,B
X
echo "get: [$(iniget $f pipeline:main pipeline)]"
echo "getmulti: [$(iniget_multiline $f filter_scheduler available_filters)]"
echo "get2: [$(iniget $f filter_scheduler available_filters)]"
echo "missing: [$(iniget $f nosuch opt)]"
iniset $f DEFAULT foo "  two   words "
iniset $f DEFAULT new 'back\slash & amp'
iniset $f newsec opt v
iniuncomment $f DEFAULT bar
inicomment $f filter_scheduler enabled_filters
iniset_multiline $f filter_scheduler weight_classes p q r
iniadd $f filter_scheduler available_filters more.one more.two
iniadd_literal $f newsec rule '10.0.0.0/8 = doc*'
inidelete $f pipeline:main nothing
iniset $f pipeline:main pipeline "a b x c"
ini_has_option $f DEFAULT foo && echo has-foo
ini_has_option $f DEFAULT zzz || echo no-zzz
iniset $f filter_scheduler available_filters same
cat $f
'''

EXPECTED = r'''get: [a b c]
getmulti: [x.y z.w]
get2: [x.y available_filters = z.w]
missing: []
has-foo
no-zzz
[DEFAULT]
new = back\slash & amp
# a comment
foo = two words
bar = 2

[pipeline:main]
pipeline = a b x c

[filter_scheduler]
available_filters = same
available_filters = same
available_filters = same
available_filters = same
weight_classes = p
weight_classes = q
weight_classes = r
#enabled_filters = A,B

[newsec]
rule = 10.0.0.0/8 = doc*
opt = v
'''

IMPLEMENTATIONS = [os.path.join(plugin_runner.HERE, 'ini-config-standin.sh')]
if os.environ.get('OPSEXT_DEVSTACK_DIR'):
    IMPLEMENTATIONS.append(os.path.join(os.environ['OPSEXT_DEVSTACK_DIR'],
                                        'inc', 'ini-config'))


@pytest.mark.parametrize('implementation', IMPLEMENTATIONS)
def test_ini_helpers_behave_as_devstack_s(implementation, tmp_path):
    result = subprocess.run(
        ['bash', '-c', SCRIPT, 'ini-test', implementation,
         str(tmp_path / 'test.conf')],
        capture_output=True, text=True, check=True, cwd=str(tmp_path))
    assert result.stdout == EXPECTED
