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


"""IP allowlist for Swift containers and accounts, driven by metadata.

A tenant locks a container to a set of addresses by setting metadata::

    swift post -m 'allow-office:192.0.2.0/24, 2001:db8:1::/48' mycontainer

Every request for that container or its objects, from any other address,
gets ``403 Forbidden``. Account metadata of the same form
(``X-Account-Meta-Allow-*``) is the default for containers that set none
and also guards account requests. A container and account with no list
are open. The operator's own ``operator_cidrs`` are always let in (the way
back in for a tenant who locked themselves out), and so are ResellerAdmin
requests when ``allow_reseller = true``.

Security model, in short (the admin guide has the long form):

* The client address is ``REMOTE_ADDR``; forwarded headers are believed
  only from ``trusted_proxies`` (see :mod:`opsext.client_ip`). The proxy's
  own address is never allowed implicitly.
* The check is made when the proxy, or a middleware to its left, calls
  ``swift.authorize``, after the auth middleware's own verdict: the proxy
  calls it for every request, and sub-requests (copy, symlink, SLO and DLO
  segments, versioning) carry it, so an open container cannot be used to
  reach a locked one. A request auth refuses costs no allowlist work.
* The allowlist protects data, not a path: a container's hidden versions
  container, its s3api ``+segments`` container, its legacy versions
  location and an SLO's segments reached by an async delete are guarded
  by the lists of the containers they belong to (:mod:`._routes`).
* Whatever cannot be decided is refused: bad stored metadata or an unknown
  client address (403), an object of a container whose info says it does
  not exist while Swift may still serve it (404), a container or account
  info error (503 with ``Retry-After``).
* Clients writing allowlist metadata get ``400`` for any entry that is not
  a strictly valid address or network, and nothing is stored.

Place it right after the auth middleware, so that path rewriters
(domain_remap, cname_lookup, s3api), ``cache`` and auth have run, and
before ``copy``, ``slo``, ``dlo``, ``versioned_writes`` and ``symlink``::

    [pipeline:main]
    pipeline = catch_errors gatekeeper healthcheck proxy-logging cache
        listing_formats container_sync bulk tempurl formpost tempauth
        ip_allowlist staticweb copy container-quotas account-quotas slo dlo
        versioned_writes symlink proxy-logging proxy-server

    [filter:ip_allowlist]
    use = egg:opsext#ip_allowlist
    # operator_cidrs =
    # trusted_proxies =
    # forwarded_header = x-forwarded-for
    # allow_reseller = false
    # enforce = true
    # deny_message = Access denied by the IP allowlist.
    # cache_size = 1024
    # max_proxy_hops = 10

``etc/swift/proxy-server.conf-sample`` explains every option.
"""

from typing import Callable, Mapping, NamedTuple

from swift.common import registry
from swift.common import swob
from swift.common import utils
from swift.common import wsgi
from swift.common.http import is_success
from swift.proxy.controllers.base import get_account_info
from swift.proxy.controllers.base import get_container_info

from opsext import client_ip
from opsext import pasteconf
from opsext.swift import _allowlist
from opsext.swift import _options
from opsext.swift import _routes

NAME = 'ip_allowlist'
DEPRECATED_NAME = 'ip_whitelist'
SWIFT_SOURCE = 'IPAL'  # the allowlist's sub-requests in the access log
_CONTAINER_PREFIX = 'x-container-meta-'
_ACCOUNT_PREFIX = 'x-account-meta-'
_MISSING = (404, 410)
#: Seconds a client is asked to wait when a backend the decision needs
#: failed; Swift's own info caches are rechecked on this order of time.
RETRY_AFTER = 10
OPTS = _options.OPTS


class _Refused(Exception):
    """A request the filter will not let through; the reason is logged."""

    counter = 'denied'


class _Denied(_Refused):
    """The client is not in a list that applies: 403."""


class _Missing(_Refused):
    """An object request for a container whose info says it does not
    exist: its list, if the objects are still served, is unknown: 404."""

    counter = 'missing_container'


class _Unavailable(_Refused):
    """A backend the decision needs failed: 503 with Retry-After."""

    counter = 'unavailable'


class Settings(NamedTuple):
    """The filter's options, parsed and validated once at start-up."""

    operator_cidrs: object
    allow_reseller: bool
    enforce: bool
    deny_message: str
    cache_size: int
    resolver: client_ip.ClientAddressResolver


class _Authorize:
    """``swift.authorize`` wrapped with the allowlist check.

    The proxy calls ``swift.authorize`` for every request it serves, and
    sub-requests copy it but not ``REMOTE_ADDR``: the wrapper carries the
    client address of the request it was made for, so every container a
    request or its sub-requests touch is checked for that client.

    The auth middleware's own verdict comes first: a request auth refuses
    (anonymous, a bad token) costs no allowlist work. A request already
    allowed is not decided again (unless a header the decision reads
    changed in between): the proxy and the middlewares to its left call
    ``swift.authorize`` several times for one request. The proxy also asks
    again after a denial it delays (``delay_denial`` in
    swift/proxy/server.py, ``handle_request``), the container controller
    with a query of its own: ``reported`` keeps each outcome of a method
    and path logged and counted once.
    """

    __slots__ = ('owner', 'client', 'client_error', 'wrapped', 'allowed',
                 'reported')

    def __init__(self, owner, client, client_error, wrapped):
        self.owner = owner
        self.client = client
        self.client_error = client_error
        self.wrapped = wrapped
        self.allowed = set()
        self.reported = set()

    def __call__(self, req):
        if self.wrapped is not None:
            denied = self.wrapped(req)
            if denied:
                return denied
        env = req.environ
        key = (env.get('REQUEST_METHOD'), _raw_path(env),
               env.get('QUERY_STRING')) + tuple(
                   env.get(name) for name in _routes.DECISION_HEADERS)
        if key in self.allowed:
            return None
        denied = self.owner.check(env, self.client, self.client_error,
                                  self.reported)
        if denied is None:
            self.allowed.add(key)
        return denied


def _raw_path(env) -> str:
    return env.get('SCRIPT_NAME', '') + env.get('PATH_INFO', '')


def _first(reported, env, outcome: str) -> bool:
    """Whether ``outcome`` of this method and path is not yet reported
    for the client's request (always, without a ``reported`` set)."""
    if reported is None:
        return True
    event = (env.get('REQUEST_METHOD'), _raw_path(env), outcome)
    if event in reported:
        return False
    reported.add(event)
    return True


class IPAllowlistMiddleware(pasteconf.PasteFilter):
    """Deny requests for allowlisted containers from other addresses."""

    NAME = NAME
    OPTS = OPTS

    def __init__(self, app, conf: dict, logger=None,
                 settings: 'Settings | None' = None) -> None:
        super().__init__(app, conf, logger, settings)
        self._parsed = _allowlist.ParsedCache(self.settings.cache_size)
        self._warned = _allowlist.OnceLog(self.settings.cache_size)

    @classmethod
    def load_settings(cls, label: str, values: dict,
                      conf: Mapping) -> Settings:
        return Settings(values['operator_cidrs'], values['allow_reseller'],
                        values['enforce'], values['deny_message'],
                        values['cache_size'],
                        pasteconf.client_resolver(values))

    def make_logger(self, app, conf):
        return utils.get_logger(conf, log_route=self.NAME,
                                statsd_tail_prefix=self.NAME)

    def __call__(self, env, start_response):
        authorize = env.get('swift.authorize')
        if isinstance(authorize, _Authorize) and authorize.owner is self:
            # A sub-request of a request we have seen: same client.
            client, client_error = authorize.client, authorize.client_error
            authorize = authorize.wrapped
        else:
            client, client_error = self._client(env)
        if env.get('REQUEST_METHOD') in ('PUT', 'POST'):
            denied = self._validate_writes(swob.Request(env))
            if denied is not None:
                return denied(env, start_response)
        # The decision is made when the proxy (or a middleware to its
        # left) calls swift.authorize, which it does for every request
        # before it touches a backend.
        env['swift.authorize'] = _Authorize(self, client, client_error,
                                            authorize)
        return self.app(env, start_response)

    def _client(self, env):
        try:
            return self.settings.resolver.resolve(env), None
        except client_ip.ClientAddressError as exc:
            if env.get('swift.source') and not env.get('REMOTE_ADDR'):
                return None, ('sub-request by %s carries no client address'
                              % env['swift.source'])
            return None, str(exc)

    def check(self, env, client, client_error, reported=None):
        """Decide one request; return a response to refuse it, else None.

        ``reported``: the (method, path, outcome) already logged and
        counted for the client's request (see :class:`_Authorize`).
        """
        path = swob.wsgi_to_str(_raw_path(env))
        if path == '/info':
            return None
        try:
            version, account, container, obj = utils.split_path(
                path, 1, 4, True)
        except ValueError:
            # The proxy answers such a path with 404 before it calls
            # swift.authorize; a path we cannot read is never let through.
            return self._refuse(swob.Request(env), client, None, None,
                                _Denied("path %r cannot be split" % path),
                                reported)
        if not account:
            return None
        if obj and _routes.writes_pre_authorized_link(env, account,
                                                      container, obj):
            # Whatever its lists: such a link is a way around every check.
            if _first(reported, env, 'denied'):
                self.logger.increment('denied')
                self.logger.warning(
                    'refused %s %s from %s: it would store a link followed '
                    'without authorization to something other than this '
                    'object\'s own old versions',
                    env.get('REQUEST_METHOD'), path, client)
            return swob.HTTPForbidden(
                request=swob.Request(env), content_type='text/plain',
                body="Object versioning's internal links cannot be copied; "
                     "copy the object without ?symlink=get.")
        try:
            reason = self._decide(env, client, client_error, version,
                                  account, container, obj)
        except _Refused as exc:
            return self._refuse(swob.Request(env), client, account,
                                container, exc, reported)
        if _first(reported, env, 'allowed'):
            self.logger.increment('allowed')
        self.logger.debug('allow %s %s from %s: %s',
                          env.get('REQUEST_METHOD'), path, client, reason)
        return None

    def _decide(self, env, client, client_error, version, account,
                container, obj):
        settings = self.settings
        if client is not None and client in settings.operator_cidrs:
            return 'operator_cidrs'
        if settings.allow_reseller and env.get('reseller_request'):
            self.logger.info('allow ResellerAdmin request from %s for %s/%s',
                             client, account, container or '')
            return 'reseller request'
        scopes = []
        for scope, allowlist in self._lists(env, version, account, container,
                                            obj):
            if allowlist.error:
                self.logger.increment('bad_metadata')
                if self._warned.first((scope, allowlist.error)):
                    self.logger.warning(
                        'denying all but operator_cidrs to %s: bad '
                        'allowlist metadata (%s)', scope, allowlist.error)
                raise _Denied('bad allowlist metadata on %s' % scope)
            if client is None:
                raise _Denied('client address unknown: %s' % client_error)
            if client not in allowlist.networks:
                raise _Denied('%s is not in the allowlist of %s'
                              % (client, scope))
            scopes.append(scope)
        if not scopes:
            return 'no allowlist'
        return 'in the allowlist of %s' % ' and '.join(scopes)

    def _lists(self, env, version, account, container, obj):
        """Yield (scope, AllowList) for every list that guards the request.

        A container's list, or its account's when it has none; for the
        routes of :mod:`opsext.swift._routes`, the lists of the containers
        that own or are reached through the target too.
        """
        if not container:
            yield from self._account_lists(env, version, account, False)
            return
        try:
            owners = _routes.owners(container)
        except _routes.UnknownRoute as exc:
            raise _Denied(str(exc)) from None
        primary = owners[0]
        info = self._container_info(env, version, account, primary)
        yield from self._container_lists(env, version, account, primary,
                                         info, required=bool(obj))
        others = owners[1:]
        if obj and _routes.writes_to_versions(env):
            others.append(_routes.versions_location(info))
        if not obj and env.get('REQUEST_METHOD') in ('PUT', 'POST'):
            others.append(_routes.named_versions_location(env))
        if obj and _routes.is_slo_async_delete(env):
            others.extend(self._segment_containers(env))
        seen = {primary}
        for other in others:
            if other is None or other in seen:
                continue
            seen.add(other)
            try:
                names = _routes.owners(other)
            except _routes.UnknownRoute as exc:
                raise _Denied(str(exc)) from None
            for name in names:
                yield from self._container_lists(
                    env, version, account, name,
                    self._container_info(env, version, account, name),
                    required=False)

    def _container_lists(self, env, version, account, container, info,
                         required):
        status = info.get('status') or 0
        scope = 'container %s/%s' % (account, container)
        if is_success(status):
            items = _allowlist.allow_items(info.get('meta') or {})
            if items:
                yield scope, self._parsed.get(items)
            else:
                yield from self._account_lists(env, version, account, True)
            return
        if status == 0:
            # get_container_info answers 0 when the account's info is not a
            # success: the account's status tells a missing container from
            # an outage.
            status = self._account_status(env, version, account)
        if status not in _MISSING:
            raise _Unavailable('container info error %s for %s'
                               % (status, scope))
        if required:
            # Swift still serves objects whose container info is missing
            # (a ring change, replication lag, a lost container DB): its
            # list is unknown, so none of its objects is served.
            raise _Missing('no container info for %s' % scope)
        # A container being created, or a route's container that is gone:
        # the account's list is the default.
        yield from self._account_lists(env, version, account, False)

    def _account_lists(self, env, version, account, container_exists):
        info = self._account_info(env, version, account)
        status = info.get('status') or 0
        if is_success(status):
            items = _allowlist.allow_items(info.get('meta') or {})
            if items:
                yield 'account %s' % account, self._parsed.get(items)
        elif status not in _MISSING:
            raise _Unavailable('account info error %s for account %s'
                               % (status, account))
        elif container_exists:
            # A container exists, so its account does; the account's list
            # (the container's default) cannot be read.
            raise _Unavailable('no account info for account %s, which has '
                               'containers' % account)

    def _account_status(self, env, version, account):
        return self._account_info(env, version, account).get('status') or 0

    def _container_info(self, env, version, account, container):
        return get_container_info(
            self._env_for(env, version, account, container), self.app,
            swift_source=SWIFT_SOURCE)

    def _account_info(self, env, version, account):
        return get_account_info(
            self._env_for(env, version, account), self.app,
            swift_source=SWIFT_SOURCE)

    @staticmethod
    def _env_for(env, version, account, container=None):
        path = '/%s/%s' % (version, account)
        if container:
            path += '/' + container
        # make_env shares this request's infocache: what is read here is
        # read once for the whole request.
        return wsgi.make_env(env, method='HEAD', path=swob.str_to_wsgi(path),
                             query_string='', swift_source=SWIFT_SOURCE)

    def _segment_containers(self, env):
        """The segment containers of the manifest an async delete names.

        SLO authorizes an async delete with the manifest's path only, then
        queues its segments for deletion: read the manifest the way SLO
        does (``?multipart-manifest=get``) to know which containers the
        request reaches.
        """
        sub = wsgi.make_pre_authed_env(
            env, method='GET', path=env['PATH_INFO'],
            query_string='multipart-manifest=get',
            swift_source=SWIFT_SOURCE)
        sub['SCRIPT_NAME'] = env.get('SCRIPT_NAME', '')
        resp = swob.Request(sub).get_response(self.app)
        if not (resp.is_success and utils.config_true_value(
                resp.headers.get('X-Static-Large-Object'))):
            # Not read: for a plain object this is its whole data.
            utils.close_if_possible(resp.app_iter)
            if resp.status_int in _MISSING or resp.is_success:
                return []   # SLO answers 404, or refuses a non-manifest
            raise _Unavailable('manifest read for an async delete failed '
                               'with %s' % resp.status_int)
        try:
            return sorted(_routes.manifest_containers(resp.body))
        except ValueError as exc:
            raise _Unavailable('unreadable manifest for an async delete: %s'
                               % exc) from None

    def _refuse(self, req, client, account, container, refusal, reported):
        reason = str(refusal)
        if isinstance(refusal, _Unavailable):
            if _first(reported, req.environ, refusal.counter):
                self.logger.increment(refusal.counter)
                self.logger.warning(
                    'cannot check %s %s from %s (account %s, container %s): '
                    '%s%s', req.method, req.path, client, account, container,
                    reason, '' if self.settings.enforce else
                    ' (enforce=false: let through)')
            if not self.settings.enforce:
                return None
            return swob.HTTPServiceUnavailable(
                request=req, content_type='text/plain',
                headers={'Retry-After': str(RETRY_AFTER)},
                body='The IP allowlist cannot be checked now; retry later.')
        if not self.settings.enforce:
            if _first(reported, req.environ, 'would_deny'):
                self.logger.increment('would_deny')
                self.logger.info('enforce=false: would deny %s %s from %s '
                                 '(account %s, container %s): %s',
                                 req.method, req.path, client, account,
                                 container, reason)
            return None
        if _first(reported, req.environ, refusal.counter):
            self.logger.increment(refusal.counter)
            self.logger.info('denied %s %s from %s (account %s, container '
                             '%s): %s', req.method, req.path, client,
                             account, container, reason)
        if isinstance(refusal, _Missing):
            return swob.HTTPNotFound(request=req, content_type='text/plain',
                                     body='Container not found.')
        return swob.HTTPForbidden(request=req, body=self.settings.deny_message,
                                  content_type='text/plain')

    def _validate_writes(self, req):
        """400 for a client writing an invalid allowlist entry."""
        try:
            _ver, account, container, obj = req.split_path(1, 4, True)
        except ValueError:
            return None
        if obj or not account:
            return None
        prefix = _CONTAINER_PREFIX if container else _ACCOUNT_PREFIX
        for header, value in req.headers.items():
            name = header.lower()
            if not (name.startswith(prefix) and
                    _allowlist.is_allow_key(name[len(prefix):])):
                continue
            error = _allowlist.validate_value(header, value)
            if error:
                self.logger.info('rejected allowlist metadata from %s: %s',
                                 req.remote_addr, error)
                return swob.HTTPBadRequest(request=req, body=error,
                                           content_type='text/plain')
        return None


class _LoadedByDeprecatedName(IPAllowlistMiddleware):
    """The filter loaded as ``egg:opsext#ip_whitelist``: the same filter,
    under the names a deployment that loads it so already sees (log route,
    statsd prefix, ``/info`` key, error labels) until its operator switches
    to ``egg:opsext#ip_allowlist``."""

    NAME = DEPRECATED_NAME


def _factory(cls, global_conf: Mapping, local_conf: Mapping) -> Callable:
    make_filter = cls.factory(global_conf, local_conf)
    registry.register_swift_info(
        cls.NAME, metadata_prefix='allow', account_default=True,
        max_value_length=_allowlist.MAX_VALUE_LENGTH)
    return make_filter


def filter_factory(global_conf: Mapping, **local_conf) -> Callable:
    """paste.deploy entry point ``ip_allowlist``: check options, return the
    filter."""
    return _factory(IPAllowlistMiddleware, global_conf, local_conf)


def deprecated_filter_factory(global_conf: Mapping,
                              **local_conf) -> Callable:
    """paste.deploy entry point ``ip_whitelist``: deprecated, the same
    filter as ``ip_allowlist``, with a warning when the proxy loads it."""
    label = pasteconf.section_label(DEPRECATED_NAME, local_conf)
    pasteconf.LOG.warning('%s: use = egg:opsext#ip_whitelist is deprecated '
                          'and will be removed in a future release: use '
                          'egg:opsext#ip_allowlist (the same filter; its log '
                          'route, statsd metrics and /info key are then '
                          'named ip_allowlist)', label)
    return _factory(_LoadedByDeprecatedName, global_conf, local_conf)
