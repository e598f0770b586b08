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


"""Which proxy did Swift's functional tests talk to? A pytest plugin.

tools/swift_compat.sh loads it (``-p swift_compat_probe``) into both runs
of Swift's in-process functional tests. Once per test module, when Swift's
``setUpModule`` has started that module's in-process cluster, it asks the
proxy ``GET /info`` and, as ``test:tester``, ``HEAD`` the account; it
records whether ``ip_allowlist`` is in ``/info`` and the
``RateLimit-Policy`` of the answer, and writes the records as JSON to
``OPSEXT_SWIFT_COMPAT_PROBE``. A gate that silently ran without the
filters would be worthless: ``swift_compat_probe.py check with|without
FILE`` fails unless every module saw both filters (``with``) or neither
(``without``).
"""

import configparser
import http.client
import json
import os
import sys
import urllib.parse

import pytest

ENV = 'OPSEXT_SWIFT_COMPAT_PROBE'
# Rule names written by tools/swift_compat_conf.py.
RULE_MARKERS = ('compat_ip', 'compat_account')


def _request(url, method, headers=None):
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port,
                                      timeout=10)
    try:
        conn.request(method, parsed.path or '/', headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def probe(tf) -> dict:
    """Ask the in-process proxy of ``test.functional`` what it runs."""
    if not getattr(tf, 'in_process', False):
        return {'error': 'Swift did not run in-process'}
    auth_uri = tf.config.get('auth_uri')
    if not auth_uri:
        return {'error': 'no auth_uri in the test config'}
    root = urllib.parse.urlunsplit(
        urllib.parse.urlsplit(auth_uri)[:2] + ('', '', ''))
    status, _headers, body = _request(root + '/info', 'GET')
    if status != 200:
        return {'error': 'GET /info answered %d' % status}
    info = json.loads(body)
    status, headers, _body = _request(auth_uri, 'GET', {
        'X-Auth-User': '%s:%s' % (tf.config['account'],
                                  tf.config['username']),
        'X-Auth-Key': tf.config['password']})
    if status // 100 != 2:
        return {'error': 'tempauth answered %d' % status}
    status, account_headers, _body = _request(
        headers['X-Storage-Url'], 'HEAD',
        {'X-Auth-Token': headers['X-Auth-Token']})
    return {
        'proxy': root,
        'pipeline': _pipeline(tf),
        'ip_allowlist_in_info': 'ip_allowlist' in info,
        'account_head_status': status,
        'ratelimit_policy': account_headers.get('RateLimit-Policy', ''),
    }


def _pipeline(tf) -> str:
    """The pipeline Swift's setup wrote for the running proxy."""
    parser = configparser.RawConfigParser()
    parser.read(os.path.join(tf._testdir, 'proxy-server.conf'))
    return parser.get('pipeline:main', 'pipeline', fallback='unknown')


class Probe:
    """Probes each test module's cluster once; writes the records."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.records: dict[str, dict] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item):
        module = item.nodeid.split('::')[0]
        if module in self.records:
            return
        tf = sys.modules.get('test.functional')
        try:
            self.records[module] = probe(tf) if tf else {
                'error': 'test.functional was not imported'}
        except (OSError, ValueError, KeyError,
                http.client.HTTPException) as exc:
            self.records[module] = {'error': 'probe failed: %r' % (exc,)}

    def pytest_sessionfinish(self, session):
        with open(self.path, 'w') as out:
            json.dump(self.records, out, indent=1, sort_keys=True)

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.section('opsext probe of the proxy under test')
        for module, record in sorted(self.records.items()):
            terminalreporter.write_line('%s: %s' % (module, record))


def pytest_configure(config):
    path = os.environ.get(ENV)
    if path:
        config.pluginmanager.register(Probe(path), 'swift_compat_probe_obj')


def pytest_report_header(config):
    return 'opsext swift-compat probe: %s' % (
        os.environ.get(ENV) or 'off (%s not set)' % ENV)


def has_opsext(record: dict) -> tuple[bool, bool]:
    """(ip_allowlist seen, opsext rate limiter seen) in one record."""
    policy = record.get('ratelimit_policy', '')
    return (bool(record.get('ip_allowlist_in_info')),
            all(marker in policy for marker in RULE_MARKERS))


def check(mode: str, path: str) -> list[str]:
    """Problems with the records of a ``with`` or ``without`` run."""
    try:
        with open(path) as records_file:
            records = json.load(records_file)
    except (OSError, ValueError) as exc:
        return ['no probe records in %s: %s' % (path, exc)]
    if not records:
        return ['%s: no test module was probed' % path]
    problems = []
    for module, record in sorted(records.items()):
        if 'error' in record:
            problems.append('%s: %s' % (module, record['error']))
            continue
        seen = has_opsext(record)
        want = (mode == 'with',) * 2
        if seen != want:
            problems.append(
                '%s: expected %s opsext, but ip_allowlist in /info: %s, '
                'opsext RateLimit-Policy: %r' % (
                    module, mode, seen[0], record['ratelimit_policy']))
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] != 'check' or argv[1] not in (
            'with', 'without'):
        print('usage: swift_compat_probe.py check with|without FILE',
              file=sys.stderr)
        return 2
    problems = check(argv[1], argv[2])
    for problem in problems:
        print('probe: %s' % problem)
    if not problems:
        print('probe: every module ran %s the opsext filters (%s)'
              % (argv[1], argv[2]))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
