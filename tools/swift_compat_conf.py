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


"""Write the proxy config of one run of tools/swift_compat.sh.

Swift's in-process functional tests read ``proxy-server.conf`` from the
directory named by ``SWIFT_TEST_IN_PROCESS_CONF_DIR`` (else the sdist's
``etc/proxy-server.conf-sample``) and then edit its pipeline themselves
(s3api before tempauth, staticweb right after it). This writes a copy of
the sample into that directory, either unchanged (``without``) or with the
opsext filters right after ``tempauth`` in permissive settings (``with``):
no allowlist anywhere, rate-limit rules that count every request and
never refuse one, in memory (the in-process cluster has no memcached).

Usage: swift_compat_conf.py with|without SAMPLE OUTDIR
"""

import configparser
import os
import sys

# The opsext filters and their sections; names as in
# etc/swift/proxy-server.conf-sample.
OPSEXT_FILTERS = ('ip_allowlist', 'opsext_ratelimit')
# The rule names also mark the responses (RateLimit-Policy), which the
# probe plugin looks for.
RULE_NAMES = ('compat_ip', 'compat_account')
OPSEXT_SECTIONS = {
    'filter:ip_allowlist': {'use': 'egg:opsext#ip_allowlist'},
    'filter:opsext_ratelimit': {
        'use': 'egg:opsext#ratelimit',
        'backend': 'memory://',
        'rules': ' '.join(RULE_NAMES),
        # Far above anything the suite sends, yet every request is counted
        # (ip on arrival, account when tempauth authorizes it).
        'rule_compat_ip': 'rates=1000000/minute key=ip',
        'rule_compat_account': 'rates=1000000/minute key=account',
    },
}
AFTER = 'tempauth'


def add_opsext(parser: configparser.RawConfigParser) -> None:
    """Put the opsext filters right after tempauth, as documented."""
    pipeline = parser.get('pipeline:main', 'pipeline').split()
    if AFTER not in pipeline:
        raise ValueError('the sample pipeline has no %s: %s'
                         % (AFTER, ' '.join(pipeline)))
    if any(name in pipeline for name in OPSEXT_FILTERS):
        raise ValueError('the sample pipeline already has an opsext filter')
    at = pipeline.index(AFTER) + 1
    pipeline[at:at] = list(OPSEXT_FILTERS)
    parser.set('pipeline:main', 'pipeline', ' '.join(pipeline))
    for section, options in OPSEXT_SECTIONS.items():
        parser.add_section(section)
        for key, value in options.items():
            parser.set(section, key, value)


def write_conf(mode: str, sample: str, outdir: str) -> str:
    """Write OUTDIR/proxy-server.conf for ``mode``; return its path."""
    if mode not in ('with', 'without'):
        raise ValueError('mode must be "with" or "without", not %r' % mode)
    # Raw: the sample is copied as it is; Swift interpolates on reading.
    parser = configparser.RawConfigParser()
    parser.optionxform = str
    if not parser.read(sample):
        raise ValueError('cannot read %s' % sample)
    if mode == 'with':
        add_opsext(parser)
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, 'proxy-server.conf')
    with open(path, 'w') as conf:
        parser.write(conf)
    return path


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        path = write_conf(*argv)
    except (ValueError, configparser.Error) as exc:
        print('swift_compat_conf: %s' % exc, file=sys.stderr)
        return 1
    print('%s pipeline (before Swift adds s3api and staticweb): %s' % (
        path, _pipeline(path)))
    return 0


def _pipeline(path: str) -> str:
    parser = configparser.RawConfigParser()
    parser.read(path)
    return parser.get('pipeline:main', 'pipeline')


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
