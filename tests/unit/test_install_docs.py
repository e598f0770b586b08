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

"""The install commands of the docs are ones a user can run as written."""

import os
import re

import pytest

TOP = os.path.join(os.path.dirname(__file__), '..', '..')
DOCS = ['README.md', 'devstack/README.rst', 'doc/source/install.rst',
        'doc/source/devstack.rst']


def _lines(pattern):
    for name in DOCS:
        with open(os.path.join(TOP, name), encoding='utf-8') as stream:
            for number, line in enumerate(stream, 1):
                if re.search(pattern, line):
                    yield '%s:%d' % (name, number), line.strip()


ENABLE = list(_lines(r'^\s*enable_plugin opsext '))
PIP = list(_lines(r'^\s*pip install '))


def test_the_docs_have_the_lines():
    assert len(ENABLE) >= 2 and len(PIP) >= 3


@pytest.mark.parametrize('where,line', ENABLE, ids=[w for w, _ in ENABLE])
def test_enable_plugin_gives_a_url_and_a_ref(where, line):
    # DevStack's enable_plugin defaults the ref to master, which this
    # repository does not have: stack.sh would stop on git fetch.
    words = line.split()
    assert len(words) == 4, '%s: %r needs NAME URL REF' % (where, line)
    assert re.match(r'(file|https?|ssh|git)://', words[2]), where
    assert 'example.org' not in words[2], where


@pytest.mark.parametrize('where,line', PIP, ids=[w for w, _ in PIP])
def test_pip_installs_from_a_path_not_an_index(where, line):
    # opsext is not on a package index: a bare 'opsext[swift]' fails.
    target = line.split()[-1].strip('\'"')
    assert target.startswith(('./', '/', 'dist/')), (
        '%s: %r installs opsext from an index' % (where, line))
