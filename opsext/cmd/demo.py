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

"""``opsext demo``: a throwaway service with the opsext plugins enabled.

``opsext demo swift`` (or just ``opsext demo``) starts a real all-in-one
Swift cluster on loopback with the ``ip_allowlist`` filter right after
``tempauth``, prints its endpoint, credentials and ``swift`` commands to try
it, and runs until Ctrl-C or SIGTERM (or for ``--for SECONDS``).
``--no-filters`` runs the same cluster without the filter, to compare with
plain Swift.  Configs and server logs are in the work directory.
"""

import argparse
import contextlib
import importlib.metadata
import signal
import time
from typing import Iterator, Optional, TYPE_CHECKING

from opsext.cmd import CommandError

if TYPE_CHECKING:
    from opsext.allinone.cluster import SwiftCluster

USER, KEY = 'test:tester', 'testing'
#: The opsext filters right after tempauth: section name -> its options.
FILTERS = {
    'ip_allowlist': {'use': 'egg:opsext#ip_allowlist'},
    'opsext_ratelimit': {
        'use': 'egg:opsext#ratelimit',
        # Counters in the demo's own memcached, through Swift's cache.
        'backend': 'swift.cache',
        'rules': 'writes per_ip',
        'rule_writes': 'rates=20/minute key=account,container '
                       'methods=PUT,POST,DELETE',
        'rule_per_ip': 'rates=50/second key=ip',
        'x_ratelimit_headers': 'true',
    },
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        'demo', help='run a demo service with the opsext plugins',
        description='Start a real all-in-one Swift cluster on loopback with '
                    'the opsext filters (ip_allowlist, opsext_ratelimit) '
                    'right after tempauth, print how to use it, and run '
                    'until Ctrl-C or SIGTERM.')
    parser.add_argument('target', nargs='?', default='swift',
                        choices=('swift',),
                        help='the service to run (default: %(default)s)')
    parser.add_argument('--for', dest='duration', type=_seconds,
                        metavar='SECONDS',
                        help='stop by itself after SECONDS (default: run '
                             'until Ctrl-C or SIGTERM)')
    parser.add_argument('--workdir', metavar='DIR',
                        help='put configs, logs and data in DIR and keep '
                             'them (default: a temporary directory, '
                             'removed on exit)')
    parser.add_argument('--no-filters', action='store_true',
                        help='leave the opsext filters out of the pipeline '
                             '(plain Swift, for comparison)')
    parser.set_defaults(func=run)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float('inf'):
        raise argparse.ArgumentTypeError(
            'expected a positive number of seconds, got %r' % text)
    return value


def run(args: argparse.Namespace) -> int:
    """Start the demo cluster, print how to use it, wait, stop."""
    try:
        from opsext.allinone.cluster import SwiftCluster
    except ImportError as exc:
        raise CommandError('Swift is not installed in this environment '
                           '(pip install swift): %s' % exc)
    filters, filter_conf = [], {}
    if not args.no_filters:
        for options in FILTERS.values():
            _check_entry_point(options['use'].split('#', 1)[1])
        filters, filter_conf = list(FILTERS), dict(FILTERS)
    cluster = SwiftCluster(pipeline_filters=filters, filter_conf=filter_conf,
                           workdir=args.workdir)
    with _sigterm_as_interrupt():
        try:
            with cluster:
                _print_banner(cluster, filters, args)
                _serve(cluster, args.duration)
        except KeyboardInterrupt:
            pass
    print('Swift demo stopped.', flush=True)
    return 0


def _check_entry_point(name: str) -> None:
    """Fail early, and clearly, when the filter cannot be loaded."""
    found = importlib.metadata.entry_points(
        group='paste.filter_factory', name=name)
    matches = [ep for ep in found if ep.value.startswith('opsext.')]
    if not matches:
        raise CommandError(
            'the paste filter egg:opsext#%s is not registered: install '
            'opsext into this environment (pip install -e .)' % name)
    try:
        matches[0].load()
    except Exception as exc:
        raise CommandError('the paste filter egg:opsext#%s (%s) cannot be '
                           'loaded: %s: %s' % (name, matches[0].value,
                                               type(exc).__name__, exc))


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Let SIGTERM stop the demo the way Ctrl-C does."""
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve(cluster: 'SwiftCluster', duration: Optional[float]) -> None:
    """Wait for Ctrl-C, SIGTERM or the end of ``duration``."""
    deadline = None if duration is None else time.monotonic() + duration
    while True:
        cluster.check_running()
        if deadline is None:
            time.sleep(0.5)
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.5))


def _print_banner(cluster: 'SwiftCluster', filters: list,
                  args: argparse.Namespace) -> None:
    cli = 'swift -A %s -U %s -K %s' % (cluster.auth_url, USER, KEY)
    where = cluster.workdir + ('' if args.workdir else ' (removed on exit)')
    lines = [
        'Swift demo cluster ready in %.1f s, %s.' % (
            cluster.start_seconds,
            'with %s right after tempauth' % ', '.join(filters)
            if filters else 'plain Swift (no opsext filter)'),
        '',
        '  Endpoint:     %s' % cluster.proxy_url,
        '  Auth URL:     %s  (tempauth v1.0)' % cluster.auth_url,
        '  Credentials:  %s / %s  (also test2:tester2 / testing2)'
        % (USER, KEY),
        '  Work dir:     %s; logs in log/' % where,
        '',
        'Try it:',
        '',
        '  %s stat' % cli,
    ]
    if filters:
        lines += [
            '  %s post -m allow-office:127.0.0.1 demo' % cli,
            '  # now only 127.0.0.1 may use container "demo"; from another '
            'address:',
            '  eval "$(%s auth)"' % cli,
            '  curl -i --interface 127.0.0.2 -H "X-Auth-Token: '
            '$OS_AUTH_TOKEN" "$OS_STORAGE_URL/demo"   # 403',
            '  # writes are limited to 20 a minute per container:',
            '  for i in $(seq 21); do curl -s -o /dev/null -w "%{http_code} " '
            '-X PUT -d x -H "X-Auth-Token: $OS_AUTH_TOKEN" '
            '"$OS_STORAGE_URL/demo/o$i"; done; echo   # ... 201 429',
        ]
    lines += [
        '',
        'Stop with Ctrl-C%s.' % (
            '' if args.duration is None
            else ' (stops by itself after %g s)' % args.duration),
    ]
    print('\n'.join(lines), flush=True)
