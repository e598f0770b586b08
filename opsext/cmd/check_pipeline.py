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


"""``opsext check-pipeline``: find misplaced or misconfigured opsext filters.

Loads a Swift proxy config the way the proxy does (see
:mod:`opsext.swift.pipeline_check`) and prints one line per finding::

    ERROR ip_allowlist: domain_remap must be to its left: ...
    WARNING opsext_ratelimit: listed twice in the pipeline: ...

Exit status: 0 when no error was found (warnings too, with ``--strict``),
1 when one was, 2 for bad usage or a file that cannot be read.
"""

import argparse
import json

from opsext.cmd import CommandError
from opsext.cmd import FOUND
from opsext.cmd import OK
from opsext.cmd import UNUSABLE


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``check-pipeline`` subcommand."""
    parser = subparsers.add_parser(
        'check-pipeline',
        help='check the opsext filters of a Swift proxy pipeline',
        description='Load a Swift proxy-server.conf the way the proxy does '
                    'and report misplaced or misconfigured opsext filters '
                    '(ip_allowlist, ratelimit), each with the reason. Exit '
                    'status: 0 no error found, 1 errors found (or warnings, '
                    'with --strict), 2 bad usage or unreadable file.')
    parser.add_argument('config', metavar='PROXY_SERVER_CONF',
                        help='the proxy config file, e.g. '
                             '/etc/swift/proxy-server.conf')
    parser.add_argument('--format', choices=('text', 'json'),
                        default='text',
                        help='output format (default: %(default)s)')
    parser.add_argument('--strict', action='store_true',
                        help='exit with status 1 on warnings too')
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check the file, print the findings, return the exit status."""
    from opsext import paste_check
    if paste_check.is_api_paste(args.config):
        # An OpenStack API's api-paste.ini (nova's): no Swift needed.
        pipeline_check = paste_check
    else:
        try:
            from opsext.swift import pipeline_check
        except ImportError as exc:
            raise CommandError('Swift is not installed in this environment '
                               '(pip install swift): %s' % exc)
    try:
        report = pipeline_check.check_file(args.config)
    except pipeline_check.UnreadableConfig as exc:
        raise CommandError(str(exc), status=UNUSABLE)
    errors = [f for f in report.findings
              if f.severity == pipeline_check.ERROR]
    warnings = [f for f in report.findings
                if f.severity == pipeline_check.WARNING]
    if args.format == 'json':
        print(json.dumps({
            'file': args.config,
            'pipeline': [s.name for s in report.stages],
            'added_by_swift': [s.name for s in report.stages if s.added],
            'findings': [f._asdict() for f in report.findings],
            'errors': len(errors), 'warnings': len(warnings)}, indent=2))
    else:
        for finding in report.findings:
            print('%s %s: %s' % (finding.severity.upper(), finding.filter,
                                 finding.reason))
        print('%s: %s' % (args.config, _summary(errors, warnings)))
    if errors or (args.strict and warnings):
        return FOUND
    return OK


def _summary(errors: list, warnings: list) -> str:
    if not (errors or warnings):
        return 'no problems found'
    return '%d error%s, %d warning%s' % (
        len(errors), '' if len(errors) == 1 else 's',
        len(warnings), '' if len(warnings) == 1 else 's')
