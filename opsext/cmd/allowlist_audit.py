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

"""``opsext allowlist-audit``: the allowlists a cluster already holds.

Read-only: lists every account and container that holds ``allow-*``
metadata, what each will lock once ``ip_allowlist`` is in the pipeline,
and which are malformed (see :mod:`opsext.swift.allowlist_audit`)::

    opsext allowlist-audit --internal-client-conf \\
        /etc/swift/internal-client.conf --devices /srv/node

Exit status: 0 nothing malformed, 1 malformed lists found, 2 bad usage,
an unreadable config or an account that does not exist.
"""

import argparse
import json

from opsext.cmd import CommandError
from opsext.cmd import FOUND
from opsext.cmd import OK
from opsext.cmd import UNUSABLE


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``allowlist-audit`` subcommand."""
    parser = subparsers.add_parser(
        'allowlist-audit',
        help='list the allowlists a Swift cluster already holds (read-only)',
        description='Before enabling ip_allowlist: list every account and '
                    'container that holds allow-* metadata, what each will '
                    'lock, and which are malformed. Reads through Swift\'s '
                    'internal client (HEAD and GET only). Exit status: 0 '
                    'nothing malformed, 1 malformed lists found, 2 bad '
                    'usage or unusable input.')
    parser.add_argument('--internal-client-conf', required=True,
                        metavar='PATH',
                        help='an internal client config, e.g. '
                             '/etc/swift/internal-client.conf')
    parser.add_argument('--account', action='append', default=[],
                        metavar='NAME', help='an account to audit, e.g. '
                        'AUTH_<project id> (repeatable)')
    parser.add_argument('--accounts-file', metavar='PATH',
                        help='a file of account names, one per line')
    parser.add_argument('--devices', metavar='DIR',
                        help='audit every account whose DB is under this '
                             'account server devices directory, e.g. '
                             '/srv/node (run it on each account server, or '
                             'one server per replica set)')
    parser.add_argument('--format', choices=('text', 'json'),
                        default='text',
                        help='output format (default: %(default)s)')
    parser.set_defaults(func=run)


def _accounts(args: argparse.Namespace) -> list:
    from opsext.swift import allowlist_audit
    accounts = list(args.account)
    if args.accounts_file:
        with open(args.accounts_file) as fp:
            accounts += [line.strip() for line in fp
                         if line.strip() and not line.startswith('#')]
    if args.devices:
        accounts += allowlist_audit.accounts_on_devices(args.devices)
    if not accounts:
        raise CommandError('name the accounts: --account, --accounts-file '
                           'or --devices', status=UNUSABLE)
    return list(dict.fromkeys(accounts))


def _use_swift_dir(conf_path: str) -> None:
    """Read swift.conf from the config's ``swift_dir``, as Swift's own
    servers do (``swift.common.wsgi._initrp``)."""
    from swift.common import storage_policy
    from swift.common import utils
    from swift.common import wsgi
    swift_dir = wsgi.appconfig(conf_path).get('swift_dir')
    if swift_dir and utils.set_swift_dir(swift_dir):
        storage_policy.reload_storage_policies()


def run(args: argparse.Namespace) -> int:
    """Audit the accounts, print the findings, return the exit status."""
    try:
        from swift.common import internal_client
        from opsext.swift import allowlist_audit
    except ImportError as exc:
        raise CommandError('Swift is not installed in this environment '
                           '(pip install swift): %s' % exc)
    accounts = _accounts(args)
    try:
        _use_swift_dir(args.internal_client_conf)
        client = internal_client.InternalClient(
            args.internal_client_conf, 'opsext-allowlist-audit', 3)
    except (OSError, LookupError, ValueError) as exc:
        raise CommandError('cannot load %s: %s'
                           % (args.internal_client_conf, exc),
                           status=UNUSABLE)
    findings = []
    try:
        for account in accounts:
            findings.extend(allowlist_audit.audit_account(client, account))
    except allowlist_audit.AccountMissing as exc:
        raise CommandError(str(exc), status=UNUSABLE)
    except internal_client.UnexpectedResponse as exc:
        raise CommandError('the cluster answered %s' % exc)
    malformed = [f for f in findings if f.error]
    if args.format == 'json':
        print(json.dumps({
            'accounts': accounts,
            'findings': [dict(f._asdict(), scope=f.scope, verdict=f.verdict)
                         for f in findings],
            'malformed': len(malformed)}, indent=2))
    else:
        for finding in findings:
            print('%s %s: %s' % ('MALFORMED' if finding.error else 'LOCKS',
                                 finding.scope, finding.verdict))
        print('%d account%s audited: %d list%s, %d malformed' % (
            len(accounts), '' if len(accounts) == 1 else 's', len(findings),
            '' if len(findings) == 1 else 's', len(malformed)))
    return FOUND if malformed else OK
