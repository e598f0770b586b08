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


"""``opsext pipeline``: put opsext filters into a Swift proxy pipeline.

Takes the value of ``[pipeline:main] pipeline`` and prints the new value;
reading and writing the file is left to the caller (the DevStack plugin
does it with DevStack's ``iniget``/``iniset``)::

    $ opsext pipeline insert --pipeline "catch_errors cache tempauth \\
          copy proxy-logging proxy-server" ip_allowlist opsext_ratelimit
    catch_errors cache tempauth ip_allowlist opsext_ratelimit copy \\
    proxy-logging proxy-server
    $ opsext pipeline remove --pipeline "..." ip_allowlist opsext_ratelimit

``insert`` puts the missing filters, in the order given, right after the
rightmost of the filters they must follow (:data:`AFTER`: cache, the path
rewriters, auth) and the given filters already present; a filter already
in the pipeline stays where it is, so a second run changes nothing and an
operator's own placement is kept. It refuses, naming the culprit, when one
of the filters that must stay to the right (:data:`BEFORE`) is left of that
point. ``remove`` drops every occurrence of the given filters and nothing
else. The positions are those of ``doc/source/ip_allowlist.rst`` and
``doc/source/ratelimit.rst``.

With ``--keep-blanks`` the pipeline's own blanks are kept (DevStack's
``configure_swift`` leaves double spaces in it): an inserted filter goes
in with one space before it, a removed one leaves with the blank before
it, so that ``remove`` gives back exactly what ``insert`` was given.
"""

import argparse
import re
from typing import Callable, Sequence

from opsext.cmd import CommandError
from opsext.swift import pipeline_check

#: Filters ours go to the right of: cache (container and account info come
#: from memcache), the path rewriters (we must see the path Swift serves)
#: and auth (we wrap the ``swift.authorize`` it installs). The same rules
#: as ``opsext check-pipeline``, from the same lists (neither imports
#: swift).
AFTER = (('cache',) + pipeline_check.PATH_REWRITERS +
         ('s3token', pipeline_check.AUTHTOKEN) + pipeline_check.AUTHORIZERS)

#: Filters that must stay to our right: their sub-requests copy
#: ``swift.authorize``, which carries our check into them.
BEFORE = pipeline_check.SUB_REQUESTERS


def _check_names(names: Sequence[str]) -> None:
    if not names:
        raise CommandError('name at least one filter')
    for name in names:
        if not name or name != name.strip() or len(name.split()) != 1:
            raise CommandError('bad filter name %r' % name)


def _split(pipeline: str) -> list:
    items = pipeline.split()
    if not items:
        raise CommandError('the pipeline is empty')
    return items


def insert(pipeline: str, names: Sequence[str]) -> str:
    """``pipeline`` with the missing ``names`` at their documented place.

    :raises CommandError: when no place satisfies every rule.
    """
    _check_names(names)
    items = _split(pipeline)
    for position, name in enumerate(names):
        if name in items:
            continue
        # Our own order (the allowlist denies before the rate limiter
        # counts) gives way when an operator put an earlier one of ours
        # right of a filter that must stay to our right.
        try:
            index = _place(items, name, set(AFTER) | set(names[:position]))
        except CommandError:
            index = _place(items, name, set(AFTER))
        items.insert(index, name)
    return ' '.join(items)


def _place(items: list, name: str, anchors: set) -> int:
    after = [i for i, item in enumerate(items) if item in anchors]
    # Without cache or auth, right before the final proxy-logging and the
    # app (the last item).
    index = after[-1] + 1 if after else len(items) - 1
    if not after and len(items) > 1 and items[-2] == 'proxy-logging':
        index -= 1
    if index >= len(items):
        raise CommandError('%s is the app, the last item of the pipeline: '
                           '%s cannot go after it' % (items[-1], name))
    blockers = [item for item in items[:index] if item in BEFORE]
    if blockers:
        raise CommandError(
            '%s must be right of %s, and left of %s; fix the pipeline: %s'
            % (name, items[index - 1], blockers[0], ' '.join(items)))
    return index


def remove(pipeline: str, names: Sequence[str]) -> str:
    """``pipeline`` without any of ``names``.

    :raises CommandError: when asked to remove the app.
    """
    _check_names(names)
    items = _split(pipeline)
    if items[-1] in names:
        raise CommandError('%s is the app, the last item of the pipeline; '
                           'it cannot be removed' % items[-1])
    return ' '.join(item for item in items if item not in names)


def keeping_blanks(edit: Callable[[str, Sequence[str]], str]
                   ) -> Callable[[str, Sequence[str]], str]:
    """``edit`` (:func:`insert` or :func:`remove`), keeping the blanks of
    the pipeline it is given."""
    def edited(pipeline: str, names: Sequence[str]) -> str:
        tokens = _split(pipeline)
        # blanks[i] is what precedes tokens[i]; blanks[-1] what trails.
        blanks = re.split(r'\S+', pipeline)
        new = edit(pipeline, names).split()
        out = []
        index = 0
        for item in new:
            while index < len(tokens) and tokens[index] != item and \
                    tokens[index] in names:
                index += 1  # removed, with the blank before it
            if index < len(tokens) and tokens[index] == item:
                out.append((blanks[index] if out else blanks[0]) + item)
                index += 1
            else:
                out.append((' ' if out else blanks[0]) + item)
        return ''.join(out) + blanks[-1]
    return edited


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pipeline insert`` and ``pipeline remove``."""
    parser = subparsers.add_parser(
        'pipeline', help='add or remove filters in a Swift proxy pipeline',
        description='Print a Swift proxy pipeline with opsext filters '
                    'inserted at their documented place, or removed.')
    commands = parser.add_subparsers(dest='pipeline_command',
                                     metavar='SUBCOMMAND')
    commands.required = True
    for name, func, text in (
            ('insert', insert, 'insert the filters that are missing'),
            ('remove', remove, 'remove the filters')):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument('--pipeline', required=True,
                             help='the value of [pipeline:main] pipeline')
        command.add_argument('--keep-blanks', action='store_true',
                             help="keep the pipeline's own blanks (default: "
                                  'one space between items)')
        command.add_argument('filters', nargs='+', metavar='FILTER',
                             help='filter section names, without "filter:"')
        command.set_defaults(func=_runner(func))


def _runner(edit):
    def run(args: argparse.Namespace) -> int:
        chosen = keeping_blanks(edit) if args.keep_blanks else edit
        print(chosen(args.pipeline, args.filters))
        return 0
    return run
