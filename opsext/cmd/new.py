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

"""``opsext new``: start a package of your own Swift or Nova plugin.

::

    $ opsext new middleware ip_restrict
    $ opsext new scheduler-filter ip_affinity --directory ~/src

write ``./ip_restrict`` (or ``~/src/ip_affinity``): a pbr package with its
entry points, the plugin module (its docstring is the operator's manual),
tests that run it in real Swift or real Nova with opsext's pytest fixtures
and pass as generated, ``tox.ini``, a DevStack plugin stub and a release
note (:mod:`opsext.scaffold`), as a git repository with one commit (pbr
versions packages from git).  A bad name or an existing directory is an
error (exit status 2) and nothing is written.
"""

import argparse
import os

from opsext.cmd import CommandError

KINDS = ('middleware', 'scheduler-filter')


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``new`` subcommand."""
    parser = subparsers.add_parser(
        'new', help='write a new Swift middleware or Nova scheduler filter '
                    'package, with tests in real Swift or Nova',
        description='Write a package for your own plugin: a Swift proxy '
                    'middleware or a Nova scheduler filter, with pbr '
                    'packaging, tests using the opsext pytest fixtures '
                    '(they pass as generated), tox.ini, a DevStack plugin '
                    'stub and a release note.')
    parser.add_argument('kind', choices=KINDS, help='what to write')
    parser.add_argument('name', help='package and plugin name: lowercase '
                                     'letters, digits, underscores '
                                     '(e.g. ip_restrict)')
    parser.add_argument('--directory', default='.', metavar='DIR',
                        help='where the package directory NAME is created '
                             '(default: the current directory)')
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the package; print where and what to run next."""
    from opsext import scaffold

    try:
        target = scaffold.create(args.kind, args.name, args.directory)
    except scaffold.ScaffoldError as exc:
        raise CommandError(str(exc), status=2)
    print('wrote %s: cd there and run "tox -e py3" (or "pip install -e . '
          '-r test-requirements.txt && pytest")' % target)
    if not os.path.isdir(os.path.join(target, '.git')):
        print('note: git was not found; pbr takes the version from git: run '
              '"git init && git add -A && git commit" there first')
    return 0
