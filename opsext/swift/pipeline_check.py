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


"""Checks of a Swift proxy pipeline for misplaced or misconfigured opsext
filters; the engine of ``opsext check-pipeline``.

The proxy config is loaded the way the proxy loads it at start-up: Swift's
paste.deploy loader reads ``[pipeline:main]`` and resolves every filter
(``use = egg:...`` or ``paste.filter_factory = module:function``), then
the filters Swift adds by itself when they are missing (``catch_errors``,
``gatekeeper``, ``listing_formats``, ``copy``, ``dlo``,
``versioned_writes``) are inserted where the proxy would insert them.
Filters are told apart by the code they run, not by their section names.

Each opsext filter's options are then read by the filter's own factory,
so a value the proxy would refuse at start-up is reported with the same
message. Nothing is started and nothing is sent over the network.
"""

import configparser
import os
from typing import List, NamedTuple, Optional

from opsext.exceptions import ConfigError
from opsext.swift import _pipeline
from opsext.swift._pipeline import AUTHTOKEN
from opsext.swift._pipeline import IP_ALLOWLIST
from opsext.swift._pipeline import RATELIMIT
from opsext.swift._pipeline import Stage
from opsext.swift._pipeline import UnreadableConfig

ERROR = 'error'
WARNING = 'warning'

#: They rewrite the path: a filter reading the path goes to their right.
PATH_REWRITERS = ('domain_remap', 'cname_lookup', 's3api')
#: They install ``swift.authorize`` (and mark ResellerAdmin requests).
AUTHORIZERS = ('tempauth', 'keystoneauth')
#: Their sub-requests copy ``swift.authorize`` but not the client address.
SUB_REQUESTERS = ('copy', 'slo', 'dlo', 'versioned_writes', 'symlink',
                  'staticweb')
#: Left of the filter, they reach other containers' data with requests
#: that never pass it: SLO's async delete queues the segments' deletion
#: after authorizing the manifest's path only.
ESCAPING_SUB_REQUESTERS = ('slo',)


class Finding(NamedTuple):
    """One problem: how bad, which filter section, and why."""

    severity: str
    filter: str
    reason: str


class Report(NamedTuple):
    """What ``check_file`` found: the pipeline as loaded, and findings."""

    stages: tuple
    findings: tuple


def _precheck(parser: configparser.RawConfigParser) -> List[Finding]:
    """Problems that stop paste.deploy before it says anything useful."""
    if not parser.has_section('pipeline:main'):
        return [Finding(ERROR, 'pipeline', 'no [pipeline:main] section: the '
                        'proxy loads its pipeline from it')]
    names = parser.get('pipeline:main', 'pipeline', fallback='').split()
    if not names:
        return [Finding(ERROR, 'pipeline', '[pipeline:main] has no '
                        '"pipeline" list')]
    apps = [i for i, name in enumerate(names)
            if parser.has_section('app:' + name)]
    if apps and apps[0] < len(names) - 1:
        app = names[apps[0]]
        return [Finding(ERROR, name, 'it is to the right of %s, an app: no '
                        'request reaches it; the pipeline must end with the '
                        'app' % app) for name in names[apps[0] + 1:]]
    findings = [Finding(ERROR, name, 'no [filter:%s] section' % name)
                for name in names[:-1]
                if not parser.has_section('filter:' + name)]
    if not apps:
        findings.append(Finding(ERROR, names[-1], 'last in the pipeline but '
                                'no [app:%s] section: the pipeline must end '
                                'with the app (proxy-server)' % names[-1]))
    return findings


def check_file(path: str) -> Report:
    """Load ``path`` as the proxy would and check its opsext filters.

    :raises UnreadableConfig: the file is missing or unreadable.
    """
    if os.path.isdir(path):
        raise UnreadableConfig('%s: is a directory; give the proxy config '
                               'file' % path)
    try:
        parser = _pipeline.raw_sections(path)
    except configparser.Error as exc:
        return Report((), (Finding(ERROR, 'pipeline', 'the file does not '
                                   'parse: %s' % _one_line(exc)),))
    findings = _precheck(parser)
    if findings:
        return Report((), tuple(findings))
    try:
        stages = _pipeline.load_pipeline(os.path.abspath(path))
    except (LookupError, ImportError, ValueError,
            configparser.Error) as exc:
        return Report((), (Finding(ERROR, 'pipeline', 'the proxy cannot load '
                                   'it: %s' % _one_line(exc)),))
    return Report(tuple(stages), tuple(check_stages(stages)))


def _one_line(exc: Exception) -> str:
    return ' '.join(str(exc).split()) or type(exc).__name__


def check_stages(stages: List[Stage]) -> List[Finding]:
    """Every finding for the opsext filters of a loaded pipeline."""
    findings: List[Finding] = []
    seen: dict = {}
    ours = [s for s in stages if s.kind in (IP_ALLOWLIST, RATELIMIT)]
    if not ours:
        findings.append(Finding(WARNING, 'pipeline', 'no opsext filter in '
                                'the pipeline'))
    for index, stage in enumerate(stages):
        if stage.kind not in (IP_ALLOWLIST, RATELIMIT):
            continue
        left, right = stages[:index], stages[index + 1:]
        findings.extend(_duplicates(stage, seen))
        built = _build(stage, findings)
        if stage.kind == IP_ALLOWLIST:
            findings.extend(_ip_allowlist_position(stage, left, right))
        elif built is not None:
            findings.extend(_ratelimit_position(stage, built.settings, left,
                                                right))
    return findings


def _duplicates(stage: Stage, seen: dict) -> List[Finding]:
    first = seen.setdefault(stage.kind if stage.kind == IP_ALLOWLIST
                            else stage.name, stage)
    if first is stage:
        return []
    if stage.kind == IP_ALLOWLIST:
        return [Finding(WARNING, stage.name, 'a second ip_allowlist filter '
                        '(the first is %s): each request is checked twice'
                        % first.name)]
    return [Finding(WARNING, stage.name, 'listed twice in the pipeline: '
                    'every request it counts is counted twice')]


def _build(stage: Stage, findings: List[Finding]):
    """Run the filter's factory on its options, as the proxy does.

    The rate limiter's middleware is built too (it starts nothing) for its
    parsed rules; the allowlist's is not (it would open a syslog handler).
    Returns the middleware, or None.
    """
    context = stage.context
    try:
        factory = context.object(context.global_conf, **context.local_conf)
        return factory(_no_app) if stage.kind == RATELIMIT else None
    except ConfigError as exc:
        findings.append(Finding(ERROR, stage.name, 'the proxy would not '
                                'start: %s' % exc))
    except Exception as exc:  # noqa: B902 (report whatever the proxy hits)
        findings.append(Finding(ERROR, stage.name, 'the filter cannot be '
                                'built: %s: %s' % (type(exc).__name__,
                                                   _one_line(exc))))
    return None


def _no_app(environ, start_response):  # the app the filters wrap here
    raise AssertionError('check-pipeline serves no request')


def _first(stages: List[Stage], kinds) -> Optional[Stage]:
    return next((s for s in stages if s.kind in kinds), None)


def _ip_allowlist_position(stage: Stage, left: List[Stage],
                           right: List[Stage]) -> List[Finding]:
    found = []

    def add(severity, reason):
        found.append(Finding(severity, stage.name, reason))

    for other in right:
        if other.kind in PATH_REWRITERS:
            add(ERROR, '%s must be to its left: it rewrites the path, so '
                'the filter would check another container than the one '
                'Swift serves' % other.label())
        elif other.kind in AUTHORIZERS + (AUTHTOKEN,):
            add(ERROR, '%s must be to its left: auth replaces the '
                'swift.authorize callback the filter wraps, so sub-requests '
                '(copy, symlink, SLO and DLO segments) would go unchecked, '
                'and ResellerAdmin requests are marked by auth'
                % other.label())
        elif other.kind == 'gatekeeper':
            add(WARNING, '%s must be to its left: until it runs, the '
                'request still carries the backend and sysmeta headers '
                'clients sent' % other.label())
    if _first(left, ('memcache',)) is None:
        cache = _first(right, ('memcache',))
        add(WARNING, '%s: container and account info are read from the '
            'backend, not memcache, on every request' % (
                '%s must be to its left' % cache.label() if cache
                else 'no cache filter in the pipeline'))
    if _first(left + right, ('gatekeeper',)) is None:
        add(WARNING, 'no gatekeeper in the pipeline: client-sent backend '
            'and sysmeta headers reach the filter')
    for other in left:
        if other.kind in ESCAPING_SUB_REQUESTERS:
            severity, why = ERROR, (
                'its async deletes (?multipart-manifest=delete&async=yes) '
                'delete segments in other containers without the filter '
                'checking them')
        elif other.kind in SUB_REQUESTERS:
            severity, why = WARNING, (
                'its sub-requests reach the filter without the client '
                'address, so they are refused in every container that has '
                'an allowlist')
        else:
            continue
        add(severity, '%s must be to its right: %s%s' % (
            other.label(), why, '; list %s in the pipeline after %s'
            % (other.name, stage.name) if other.added else ''))
    return found


def _ratelimit_position(stage: Stage, settings, left: List[Stage],
                        right: List[Stage]) -> List[Finding]:
    found = []
    authtoken_left = _first(left, (AUTHTOKEN,)) is not None
    authorizer_left = _first(left, AUTHORIZERS)
    authorizer_right = _first(right, AUTHORIZERS)
    for rule in settings.rules:
        if 'project' in rule.key and not authtoken_left:
            found.append(Finding(ERROR, stage.name, 'rule %s keys on project '
                                 'but authtoken is not to its left: the '
                                 'project is unknown here, so the rule never '
                                 'counts a request' % rule.name))
        if 'user' in rule.key and not (authtoken_left or authorizer_left):
            found.append(Finding(ERROR, stage.name, 'rule %s keys on user '
                                 'but no auth (authtoken, tempauth, '
                                 'keystoneauth) is to its left: the user is '
                                 'unknown here, so the rule never counts a '
                                 'request' % rule.name))
        if (rule.needs_authorization and authorizer_left is None
                and authorizer_right is not None):
            found.append(Finding(ERROR, stage.name, 'rule %s keys on %s but '
                                 '%s is to its right: requests are counted '
                                 'before auth refuses them, so anyone can '
                                 'spend an account\'s budget; move the rule '
                                 'to a stage after %s' % (
                                     rule.name, ','.join(rule.key),
                                     authorizer_right.label(),
                                     authorizer_right.name)))
    if settings.backend_uri == 'swift.cache' and _first(
            left, ('memcache',)) is None:
        found.append(Finding(ERROR, stage.name, 'backend = swift.cache needs '
                             'the cache filter to its left: without it every '
                             'request falls back to per-worker counting (or '
                             '503 with fail_closed)'))
    return found
