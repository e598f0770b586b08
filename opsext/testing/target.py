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

"""The Swift that functional tests validate: a local cluster or a cloud.

``OPSEXT_TEST_TARGET=deployed`` points the ops-validation suite
(``tests/functional/deployed``) at a deployed cloud; ``local`` (the
default) runs its Swift part against a
:class:`~opsext.allinone.cluster.SwiftCluster` on 127.0.0.1.
``OPSEXT_TEST_SERVICES`` (deployed only) says what the run validates:
``swift`` (the default), ``nova`` or ``swift,nova``; Nova is described by
the variables of :mod:`opsext.testing.nova_target`, Swift by these:

=============================  ==============================================
``OPSEXT_TEST_AUTH_URL``       tempauth (``http://h:8080/auth/v1.0``) or
                               Keystone (``https://h/identity/v3``) URL
``OPSEXT_TEST_USER``           v1: ``account:user``; v3: the user name
``OPSEXT_TEST_KEY``            the key or password
``OPSEXT_TEST_AUTH_VERSION``   ``1`` (default) or ``3``
``OPSEXT_TEST_PROJECT``        v3 only, required: the project to scope to
``OPSEXT_TEST_USER_DOMAIN``    v3: default ``Default``
``OPSEXT_TEST_PROJECT_DOMAIN`` v3: default ``Default``
``OPSEXT_TEST_REGION``         v3: the catalog region (default: any)
``OPSEXT_TEST_SWIFT_URL``      the storage URL, overriding the one auth gives
``OPSEXT_TEST_CACERT``         CA bundle for https
``OPSEXT_TEST_CLIENT_ADDRESS`` the address the proxy sees for this client
                               (default: the local address of the
                               connection; set it behind NAT)
``OPSEXT_TEST_RATELIMIT_WRITES``  N: the deployment refuses the PUT after N
                               PUTs to one new container in a window (unset:
                               the rate limiter is not tested, and the run
                               says so)
=============================  ==============================================

A missing or bad variable is a :class:`TargetConfigError` naming it: a
validation run never quietly tests less than asked.
"""

import dataclasses
import http.client
import json
import os
import ssl
from typing import Mapping, Optional
import urllib.parse

TARGET = 'OPSEXT_TEST_TARGET'
LOCAL, DEPLOYED = 'local', 'deployed'
SERVICES = 'OPSEXT_TEST_SERVICES'
SWIFT, NOVA = 'swift', 'nova'
# More would hammer a real cloud to find a limit that high.
MAX_RATELIMIT_WRITES = 1000

Response = tuple[int, dict[str, str], bytes]


class TargetConfigError(ValueError):
    """A variable describing the target is missing or invalid."""


def target_name(environ: Mapping[str, str] = os.environ) -> str:
    """``local`` or ``deployed``; TargetConfigError for anything else."""
    name = environ.get(TARGET, '').strip().lower() or LOCAL
    if name not in (LOCAL, DEPLOYED):
        raise TargetConfigError('%s=%r: use "local" or "deployed"'
                                % (TARGET, environ[TARGET]))
    return name


def services(environ: Mapping[str, str] = os.environ) -> frozenset:
    """What a deployed run validates: ``OPSEXT_TEST_SERVICES``.

    A comma separated subset of ``swift`` and ``nova``; ``swift`` when
    unset. Set for a local run it is an error: a local run validates no
    deployment.
    """
    value = environ.get(SERVICES, '').strip()
    if value and target_name(environ) == LOCAL:
        raise TargetConfigError('%s=%r is for %s=deployed' % (
            SERVICES, value, TARGET))
    names = frozenset(n.strip().lower() for n in (value or SWIFT).split(','))
    if not names <= {SWIFT, NOVA} or '' in names:
        raise TargetConfigError('%s=%r: a comma separated list of %s, %s'
                                % (SERVICES, value, SWIFT, NOVA))
    return names


def required(environ: Mapping[str, str], name: str, why: str,
             needed_by: str = '%s=deployed' % TARGET) -> str:
    """The value of variable ``name``; TargetConfigError if unset."""
    value = environ.get(name, '').strip()
    if not value:
        raise TargetConfigError('%s needs %s (%s)' % (needed_by, name, why))
    return value


def http_url(name: str, value: str) -> str:
    """The value of variable ``name``, checked to be an http(s) URL."""
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise TargetConfigError('%s=%r is not an http(s) URL'
                                % (name, value))
    return value.rstrip('/')


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServiceTarget:
    """What every service under validation has: a login, a way in.

    :class:`Target` (Swift) and
    :class:`~opsext.testing.nova_target.NovaTarget` add their own.
    """

    auth_url: str
    user: str
    key: str
    project: str = ''
    user_domain: str = 'Default'
    project_domain: str = 'Default'
    region: str = ''
    cacert: str = ''
    client_address: str = ''

    @staticmethod
    def shared_from_environ(environ: Mapping[str, str],
                            domain_prefix: str) -> dict:
        """The fields read alike for every service: the Keystone domains
        (``<domain_prefix>USER_DOMAIN``, ``..PROJECT_DOMAIN``) and the
        shared ``OPSEXT_TEST_REGION``, ``_CACERT``, ``_CLIENT_ADDRESS``."""
        cacert = environ.get('OPSEXT_TEST_CACERT', '').strip()
        if cacert and not os.path.isfile(cacert):
            raise TargetConfigError('OPSEXT_TEST_CACERT=%r is not a file'
                                    % cacert)
        return dict(
            user_domain=environ.get(domain_prefix + 'USER_DOMAIN',
                                    '').strip() or 'Default',
            project_domain=environ.get(domain_prefix + 'PROJECT_DOMAIN',
                                       '').strip() or 'Default',
            region=environ.get('OPSEXT_TEST_REGION', '').strip(),
            cacert=cacert,
            client_address=environ.get('OPSEXT_TEST_CLIENT_ADDRESS',
                                       '').strip())

    def keystone_endpoint(self, service_type: str, override: str,
                          override_variable: str) -> tuple[str, str]:
        """Log in to Keystone v3: (endpoint URL, token).

        The URL is ``override`` if given, else the catalog's public
        endpoint of ``service_type`` (in :attr:`region`, if set).
        """
        token, catalog = keystone_login(
            self.auth_url, self.user, self.key, self.project,
            self.user_domain, self.project_domain, self.cacert)
        url = override or catalog_url(catalog, service_type, self.region)
        if not url:
            raise RuntimeError(
                'no public %s endpoint%s in the catalog; set %s' % (
                    service_type,
                    ' in region %s' % self.region if self.region else '',
                    override_variable))
        return url, token

    def client_address_at(self, url: str) -> str:
        """The address a server at ``url`` sees for this client."""
        if self.client_address:
            return self.client_address
        return request(url, 'GET', cacert=self.cacert,
                       local_address=True)[3]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Target(ServiceTarget):
    """Where the Swift under validation is, and how to log in to it."""

    name: str
    auth_version: str = '1'
    swift_url: str = ''
    ratelimit_writes: Optional[int] = None
    #: local only: a source address in the cluster's operator_cidrs, to
    #: clean up containers the tests locked.
    operator_source: str = ''

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ
                     ) -> 'Target':
        """The deployed target the ``OPSEXT_TEST_*`` variables describe."""
        auth_url = http_url('OPSEXT_TEST_AUTH_URL', required(
            environ, 'OPSEXT_TEST_AUTH_URL', 'the tempauth or Keystone URL'))
        user = required(environ, 'OPSEXT_TEST_USER',
                        'v1: account:user; v3: user name')
        key = required(environ, 'OPSEXT_TEST_KEY', 'the key or password')
        version = environ.get('OPSEXT_TEST_AUTH_VERSION', '').strip() or '1'
        if version not in ('1', '3'):
            raise TargetConfigError(
                'OPSEXT_TEST_AUTH_VERSION=%r: use 1 or 3' % version)
        project = ''
        if version == '3':
            project = required(environ, 'OPSEXT_TEST_PROJECT',
                               'Keystone v3 scopes the token to it')
        swift_url = environ.get('OPSEXT_TEST_SWIFT_URL', '').strip()
        if swift_url:
            swift_url = http_url('OPSEXT_TEST_SWIFT_URL', swift_url)
        writes = environ.get('OPSEXT_TEST_RATELIMIT_WRITES', '').strip()
        ratelimit_writes = None
        if writes:
            if not writes.isdigit() or not (
                    1 <= int(writes) <= MAX_RATELIMIT_WRITES):
                raise TargetConfigError(
                    'OPSEXT_TEST_RATELIMIT_WRITES=%r: a whole number from 1 '
                    'to %d' % (writes, MAX_RATELIMIT_WRITES))
            ratelimit_writes = int(writes)
        return cls(
            name=DEPLOYED, auth_url=auth_url, user=user, key=key,
            auth_version=version, project=project, swift_url=swift_url,
            ratelimit_writes=ratelimit_writes,
            **cls.shared_from_environ(environ, 'OPSEXT_TEST_'))

    def describe(self) -> str:
        """One line for the test report: what was validated."""
        limit = ('refuses PUT %d+1 to a new container' % self.ratelimit_writes
                 if self.ratelimit_writes else
                 'not tested (OPSEXT_TEST_RATELIMIT_WRITES unset)')
        return 'auth v%s %s as %s%s; rate limit: %s' % (
            self.auth_version, self.auth_url, self.user,
            ' (project %s)' % self.project if self.project else '', limit)

    def login(self) -> 'Session':
        """Authenticate; a Session holds the storage URL and token."""
        if self.auth_version == '1':
            status, headers, body = request(
                self.auth_url, 'GET', {'X-Auth-User': self.user,
                                       'X-Auth-Key': self.key},
                cacert=self.cacert)
            if status // 100 != 2:
                raise RuntimeError('tempauth %s refused %s: %d %r' % (
                    self.auth_url, self.user, status, body[:200]))
            storage_url = headers.get('x-storage-url', '')
            token = headers.get('x-auth-token', '')
        else:
            storage_url, token = self.keystone_endpoint(
                'object-store', self.swift_url, 'OPSEXT_TEST_SWIFT_URL')
        storage_url = self.swift_url or storage_url
        if not storage_url or not token:
            raise RuntimeError('auth at %s gave no storage URL or token'
                               % self.auth_url)
        return Session(self, storage_url.rstrip('/'), token)


@dataclasses.dataclass
class Session:
    """A logged-in client of the target's Swift."""

    target: Target
    storage_url: str
    token: str

    @property
    def proxy_url(self) -> str:
        """Scheme and host of the storage URL: where ``/info`` is."""
        parts = urllib.parse.urlsplit(self.storage_url)
        return '%s://%s' % (parts.scheme, parts.netloc)

    def client_address(self) -> str:
        """The address the proxy sees for this client."""
        return self.target.client_address_at(self.proxy_url + '/info')

    def request(self, method: str, path: str = '',
                headers: Optional[Mapping[str, str]] = None,
                body: bytes = b'', source_ip: str = '',
                token: bool = True) -> Response:
        """One request to ``<storage URL>/<path>`` (path already quoted)."""
        headers = dict(headers or {})
        if token:
            headers.setdefault('X-Auth-Token', self.token)
        url = self.storage_url + ('/' + path if path else '')
        return request(url, method, headers, body, cacert=self.target.cacert,
                       source_ip=source_ip)[:3]


def request(url: str, method: str,
            headers: Optional[Mapping[str, str]] = None, body: bytes = b'',
            cacert: str = '', source_ip: str = '', timeout: float = 30.0,
            local_address: bool = False) -> tuple:
    """One HTTP(S) request: (status, lower-cased headers, body[, address]).

    With ``local_address`` a fourth item is the local address of the
    connection: the client address a proxy with no NAT in between sees.
    """
    parts = urllib.parse.urlsplit(url)
    source = (source_ip, 0) if source_ip else None
    if parts.scheme == 'https':
        context = ssl.create_default_context(cafile=cacert or None)
        conn = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout,
            source_address=source, context=context)
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port,
                                          timeout=timeout,
                                          source_address=source)
    try:
        target = parts.path or '/'
        if parts.query:
            target += '?' + parts.query
        conn.request(method, target, body=body or None,
                     headers=dict(headers or {}))
        # Asked only when wanted: an intercepted connection (wsgi-intercept,
        # in Nova's test harness) has no real socket.
        address = conn.sock.getsockname()[0] if local_address else None
        resp = conn.getresponse()
        data = resp.read()
        result = (resp.status, {k.lower(): v for k, v in resp.getheaders()},
                  data)
        return result + (address,) if local_address else result
    finally:
        conn.close()


def keystone_login(auth_url: str, user: str, key: str, project: str,
                   user_domain: str = 'Default',
                   project_domain: str = 'Default', cacert: str = ''
                   ) -> tuple[str, list]:
    """A project-scoped Keystone v3 password login: (token, catalog)."""
    body = json.dumps({'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'name': user, 'password': key,
            'domain': {'name': user_domain}}}},
        'scope': {'project': {'name': project, 'domain': {
            'name': project_domain}}}}}).encode()
    status, headers, data = request(
        auth_url + '/auth/tokens', 'POST',
        {'Content-Type': 'application/json'}, body, cacert=cacert)
    if status != 201:
        raise RuntimeError('Keystone %s refused %s: %d %r' % (
            auth_url, user, status, data[:200]))
    catalog = json.loads(data)['token'].get('catalog', [])
    return headers.get('x-subject-token', ''), catalog


def catalog_url(catalog: list, service_type: str, region: str = '') -> str:
    """The first public endpoint of a service type ('' if none)."""
    urls = [endpoint['url'] for service in catalog
            if service.get('type') == service_type
            for endpoint in service.get('endpoints', [])
            if endpoint.get('interface') == 'public' and (
                not region or endpoint.get('region') == region)]
    return urls[0] if urls else ''
