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

"""Each plugin page's "Log messages" section lists the plugin's messages.

Every info, warning or error call of a plugin module whose message is a
string literal is found in the module's source, and the message's fixed
words (its text with the ``%`` fields cut out) must appear in the "Log
messages" section of the plugin's page, so that a new or reworded message
fails here until the catalogue shows it.
"""

import ast
import os
import re

import pytest

TOP = os.path.join(os.path.dirname(__file__), '..', '..')

#: module -> the page whose catalogue lists its messages
PAGES = {
    'opsext/swift/ip_allowlist.py': 'doc/source/ip_allowlist.rst',
    'opsext/ratelimit/middleware.py': 'doc/source/ratelimit.rst',
    'opsext/ratelimit/reporting.py': 'doc/source/ratelimit.rst',
    'opsext/nova/filters.py': 'doc/source/placement.rst',
    'opsext/nova/weights.py': 'doc/source/placement.rst',
    'opsext/nova/_adapter.py': 'doc/source/placement.rst',
    'opsext/nova/source_stamp.py': 'doc/source/placement.rst',
    'opsext/subnet_affinity/policy.py': 'doc/source/placement.rst',
    'opsext/client_address.py': 'doc/source/placement.rst',
}

LEVELS = {'info', 'warning', 'error', 'critical', 'exception', '_warn'}


def _messages(path):
    """(line, message) of the module's log calls at info and above."""
    with open(os.path.join(TOP, path), encoding='utf-8') as stream:
        tree = ast.parse(stream.read())
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and node.args
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LEVELS
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            yield node.lineno, node.args[0].value


def _fragments(message):
    """The fixed words of a %-format message, in runs of 3 words or more."""
    parts = re.split(r'%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrifx%]',
                     message)
    for part in parts:
        words = part.split()
        if len(words) >= 3:
            yield ' '.join(words)


def _catalogue(page):
    with open(os.path.join(TOP, page), encoding='utf-8') as stream:
        text = stream.read()
    match = re.search(r'^Log messages\n-+\n(.*?)(?=^\S[^\n]*\n-+\n|\Z)',
                      text, re.M | re.S)
    assert match, '%s has no "Log messages" section' % page
    return ' '.join(match.group(1).split())


CASES = [(path, line, message) for path in sorted(PAGES)
         for line, message in _messages(path)]


def test_the_walk_finds_the_messages():
    # A walk that found nothing would make the test below vacuous.
    found = {path for path, _, _ in CASES}
    assert 'opsext/swift/ip_allowlist.py' in found
    assert 'opsext/ratelimit/reporting.py' in found
    assert 'opsext/nova/_adapter.py' in found
    assert len(CASES) >= 15


@pytest.mark.parametrize('path,line,message', CASES,
                         ids=['%s:%d' % (p, n) for p, n, _ in CASES])
def test_message_is_in_the_catalogue(path, line, message):
    page = PAGES[path]
    catalogue = _catalogue(page)
    missing = [fragment for fragment in _fragments(message)
               if fragment not in catalogue]
    assert not missing, ('%s:%d logs %r: %s, section "Log messages", does '
                         'not show %s' % (path, line, message, page,
                                          ' / '.join(missing)))
