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


"""Rate-limit rules: which requests a rule counts, and under which key.

A rule is written on one line of ``name=value`` words::

    rule_writes = rates=100/minute;5000/hour key=project methods=PUT,POST
        paths=/v1/*

* ``rates`` (required): one or more rates, ``;`` separated.
* ``key`` (required): what a counter is kept per, any of ``ip`` (the
  client address, trusted-proxy aware), ``account`` and ``container``
  (Swift paths ``/v1/<account>/<container>``), ``project``, ``user`` (from
  the auth middleware), ``method``, ``path`` (the pattern that matched).
* ``methods``, ``paths`` (optional): which requests the rule counts;
  ``paths`` are shell-style patterns (``*`` also matches ``/``), matched
  against the path the application routes on whatever is mounted in front
  of it: ``SCRIPT_NAME + PATH_INFO`` and each of its tails that drops
  leading ``SCRIPT_NAME`` segments. So ``/v2.1/servers`` also counts
  ``/compute/v2.1/servers`` (DevStack mounts nova at ``/compute``), and a
  prefix a client sends in ``X-Forwarded-Prefix`` (which
  ``http_proxy_to_wsgi`` prepends to ``SCRIPT_NAME``) cannot walk around
  a rule. Methods
  are compared as HTTP defines them, case-sensitively: ``PUT`` is not
  ``put`` (which Swift and nova answer 405), so ``methods=put`` is refused
  rather than read as a rule that never counts.

A rule counts a request only when every part of its key is known: a
``project`` rule does not count unauthenticated requests (they cannot
spend a project's budget), so protect those with an ``ip`` rule. Project,
user and roles are read only from what keystonemiddleware's auth_token
confirmed (``X-Identity-Status: Confirmed`` beside ``keystone.token_info``,
which no client can set), or, inside Swift, from tempauth's and
keystoneauth's own environ entries.

Overrides give some keys other rates::

    override_writes =
        project=0123abc: 1000/minute;50000/hour
"""

import fnmatch
import re
from typing import Mapping, NamedTuple, Optional

from opsext import client_ip
from opsext import net
from opsext.ratelimit import window

KEY_PARTS = ('ip', 'account', 'container', 'project', 'user', 'method',
             'path')
_NAME = re.compile(r'\A[A-Za-z0-9_.-]{1,64}\Z')
# RFC 9110 section 9.1: a method is a token, and case-sensitive.
_METHOD = re.compile(r"\A[-!#$%&'*+.^_`|~0-9A-Za-z]{1,32}\Z")
#: Methods defined by RFC 9110 and 5789 (and WebDAV's that APIs route).
STANDARD_METHODS = frozenset((
    'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE',
    'PATCH', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'PROPFIND', 'MKCOL'))
_VERSION = re.compile(r'\Av[0-9]+(?:\.[0-9]+)?\Z')
UNKNOWN_IP = 'unknown'


class RequestFacts:
    """What rules may key on, read lazily from one WSGI environ."""

    def __init__(self, environ: Mapping, resolver: client_ip.
                 ClientAddressResolver) -> None:
        self.environ = environ
        self._resolver = resolver
        self._cache: dict = {}
        self.request_method = environ.get('REQUEST_METHOD', '')
        self.path = environ.get('SCRIPT_NAME', '') + environ.get(
            'PATH_INFO', '')

    def routed_paths(self) -> list:
        """The full path, then it without each leading mount segment."""
        paths = self._cache.get('paths')
        if paths is None:
            script = self.environ.get('SCRIPT_NAME', '')
            info = self.environ.get('PATH_INFO', '')
            paths = [script + info]
            segments = script.split('/')[1:]
            for i in range(1, len(segments) + 1):
                paths.append(''.join('/' + s for s in segments[i:]) + info)
            self._cache['paths'] = paths
        return paths

    def address(self) -> Optional[net.IPAddress]:
        if 'address' not in self._cache:
            try:
                self._cache['address'] = self._resolver.resolve(self.environ)
            except client_ip.ClientAddressError:
                self._cache['address'] = None
        return self._cache['address']

    def method(self) -> str:
        return self.request_method

    def ip(self) -> str:
        # Clients whose address cannot be known share one bucket rather
        # than escape the rule.
        address = self.address()
        return str(address) if address is not None else UNKNOWN_IP

    def _segments(self) -> list:
        if 'segments' not in self._cache:
            parts = self.environ.get('PATH_INFO', '').split('/', 4)
            if len(parts) > 2 and _VERSION.match(parts[1]) and parts[2]:
                self._cache['segments'] = parts[2:4]
            else:
                self._cache['segments'] = []
        return self._cache['segments']

    def account(self) -> Optional[str]:
        segments = self._segments()
        return segments[0] if segments else None

    def container(self) -> Optional[str]:
        segments = self._segments()
        return segments[1] if len(segments) > 1 and segments[1] else None

    def _confirmed(self) -> bool:
        env = self.environ
        return (env.get('HTTP_X_IDENTITY_STATUS') == 'Confirmed'
                and 'keystone.token_info' in env)

    def project(self) -> Optional[str]:
        if self._confirmed():
            return self.environ.get('HTTP_X_PROJECT_ID') or None
        return None

    def user(self) -> Optional[str]:
        if self._confirmed():
            return self.environ.get('HTTP_X_USER_ID') or None
        logging_info = self.environ.get('swift.access_logging') or {}
        return logging_info.get('user_id') or None

    def roles(self) -> frozenset:
        if 'roles' not in self._cache:
            roles = set()
            if self._confirmed():
                roles.update(r.strip().lower() for r in self.environ.get(
                    'HTTP_X_ROLES', '').split(',') if r.strip())
            if self.environ.get('reseller_request'):
                roles.add('reselleradmin')
            self._cache['roles'] = frozenset(roles)
        return self._cache['roles']


class Rule(NamedTuple):
    """One parsed rule; ``match`` gives its key and rates for a request."""

    name: str
    rates: tuple
    key: tuple
    methods: Optional[frozenset]
    paths: tuple          # (pattern, compiled regex) pairs
    overrides: Mapping    # (part, value) -> rates

    @property
    def needs_authorization(self) -> bool:
        """True when the key names a target that auth must vouch for."""
        return 'account' in self.key or 'container' in self.key

    def match(self, facts: RequestFacts) -> Optional[tuple]:
        """(counter key, rates) for a request the rule counts, else None."""
        methods = self.methods
        if methods is not None and facts.request_method not in methods:
            return None
        matched = None
        if self.paths:
            for pattern, regex in self.paths:
                if any(regex.match(p) for p in facts.routed_paths()):
                    matched = pattern
                    break
            else:
                return None
        values = []
        for part in self.key:
            value = matched if part == 'path' else getattr(facts, part)()
            if value is None:
                return None
            values.append(value)
        rates = self.rates
        if self.overrides:
            for part, value in zip(self.key, values):
                rates = self.overrides.get((part, value), rates)
        key = '%s|%s' % (self.name, '|'.join(
            '%s=%s' % pair for pair in zip(self.key, values)))
        return key, rates


def _words(text: str) -> dict[str, str]:
    words = {}
    for word in text.split():
        name, sep, value = word.partition('=')
        if not sep or not value:
            raise ValueError('%r is not a name=value word' % word)
        if name in words:
            raise ValueError('%r given twice' % name)
        words[name] = value
    return words


def parse_rule(name: str, text: str, overrides_text: str = '') -> Rule:
    """Parse a rule's definition and its overrides.

    :raises ValueError: naming the bad part.
    """
    if not _NAME.match(name):
        raise ValueError('rule name %r: use letters, digits, _ . -' % name)
    words = _words(text)
    unknown = set(words) - {'rates', 'key', 'methods', 'paths'}
    if unknown:
        raise ValueError('unknown word(s) %s; a rule takes rates, key, '
                         'methods and paths' % ', '.join(sorted(unknown)))
    if 'rates' not in words or 'key' not in words:
        raise ValueError('a rule needs rates= and key=')
    rates = window.parse_rates(words['rates'])
    key = tuple(p.strip() for p in words['key'].split(','))
    bad = [p for p in key if p not in KEY_PARTS]
    if bad or not key or len(set(key)) != len(key):
        raise ValueError('key %r: use distinct parts among %s'
                         % (words['key'], ', '.join(KEY_PARTS)))
    methods = None
    if 'methods' in words:
        methods = frozenset(m.strip() for m in words['methods'].split(','))
        for method in sorted(methods):
            if not _METHOD.match(method):
                raise ValueError('methods %r: %r is not an HTTP method name '
                                 '(a token); give names, comma separated'
                                 % (words['methods'], method))
            if method not in STANDARD_METHODS and \
                    method.upper() in STANDARD_METHODS:
                raise ValueError(
                    'methods %r: HTTP methods are case-sensitive and %r is '
                    'not %s; write %s' % (words['methods'], method,
                                          method.upper(), method.upper()))
    paths = ()
    if 'paths' in words:
        patterns = [p for p in words['paths'].split(',') if p]
        if not patterns or not all(p.startswith('/') for p in patterns):
            raise ValueError('paths %r: patterns starting with /'
                             % words['paths'])
        paths = tuple((p, re.compile(fnmatch.translate(p)))
                      for p in patterns)
    if 'path' in key and not paths:
        raise ValueError('key part path needs paths=')
    return Rule(name, rates, key, methods, paths,
                parse_overrides(overrides_text, key))


def parse_overrides(text: str, key: tuple) -> dict:
    """Parse ``part=value: rates`` lines into {(part, value): rates}."""
    overrides = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        target, sep, rates = line.partition(': ')
        part, eq, value = target.partition('=')
        if not sep or not eq or not value:
            raise ValueError('override %r: write part=value: rates' % line)
        if part not in key or part == 'path':
            raise ValueError('override %r: %r is not a part of the rule key'
                             % (line, part))
        overrides[(part, value)] = window.parse_rates(rates)
    return overrides
