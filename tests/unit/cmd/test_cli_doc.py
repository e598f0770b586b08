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

"""doc/source/cli.rst documents every ``opsext`` subcommand and option.

The subcommands are found by walking the argparse parser that ``opsext``
itself builds, so a new subcommand or option fails here until it has its
section (a title ``opsext <subcommand>``) and its options are named there.
"""

import argparse
import os
import re

import pytest

from opsext.cmd import main as cmd_main

CLI_RST = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'doc',
                       'source', 'cli.rst')


def _subcommands(parser, path=()):
    """Yield (path, parser) for every leaf subcommand of ``parser``."""
    children = [action for action in parser._actions
                if isinstance(action, argparse._SubParsersAction)]
    if not children and path:
        yield path, parser
    for action in children:
        for name, child in action.choices.items():
            yield from _subcommands(child, path + (name,))


def _sections():
    """{title: body} of cli.rst's sections titled ``opsext ...``."""
    with open(CLI_RST, encoding='utf-8') as stream:
        text = stream.read()
    titles = list(re.finditer(r'^``(opsext [^`]+)``\n-+\n', text, re.M))
    return {match.group(1): text[match.end():following.start()
                                 if following else len(text)]
            for match, following in zip(titles, titles[1:] + [None])}


LEAVES = sorted(_subcommands(cmd_main.build_parser()))


def test_walk_finds_the_nested_subcommands():
    # A walk that missed nested parsers would make the tests below vacuous.
    paths = [' '.join(path) for path, _ in LEAVES]
    assert 'placement explain' in paths
    assert 'check-pipeline' in paths
    assert len(paths) >= 6


@pytest.mark.parametrize('path,parser', LEAVES,
                         ids=[' '.join(path) for path, _ in LEAVES])
def test_subcommand_has_a_section_naming_its_options(path, parser):
    title = 'opsext ' + ' '.join(path)
    sections = _sections()
    assert title in sections, (
        'doc/source/cli.rst has no section titled ``%s``' % title)
    body = sections[title]
    missing = sorted(
        option for action in parser._actions
        for option in action.option_strings
        if option.startswith('--') and option != '--help'
        and option not in body)
    assert not missing, ('doc/source/cli.rst, section ``%s``, does not name '
                         '%s' % (title, ', '.join(missing)))


def test_overview_lists_every_subcommand():
    with open(CLI_RST, encoding='utf-8') as stream:
        text = stream.read()
    overview = text[:re.search(r'^``opsext [^`]+``\n-+\n', text, re.M).start()]
    top = [path[0] for path, _ in LEAVES]
    missing = sorted({name for name in top
                      if not re.search(r'^\s+%s\s' % re.escape(name),
                                       overview, re.M)})
    assert not missing, ('the overview of doc/source/cli.rst does not list '
                         '%s' % ', '.join(missing))
