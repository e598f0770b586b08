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
* The check is made on the incoming request and, by wrapping
  ``swift.authorize``, on every sub-request the middlewares to our right
  make for it (copy, symlink, SLO and DLO segments, versioning), so an open
  container cannot be used to reach a locked one.
* Whatever cannot be decided is denied: bad stored metadata, container or
  account info errors, an unknown client address.
* Clients writing allowlist metadata get ``400`` for any entry that is not
  a strictly valid address or network, and nothing is stored.

Place it right after the auth middleware, so that path rewriters
(domain_remap, cname_lookup, s3api), ``cache`` and auth have run, and
before ``copy``, ``slo``, ``dlo``, ``versioned_writes`` and ``symlink``::

    [pipeline:main]
    pipeline = catch_errors gatekeeper healthcheck proxy-logging cache
        listing_formats container_sync bulk tempurl formpost tempauth
        ip_whitelist staticweb copy container-quotas account-quotas slo dlo
        versioned_writes symlink proxy-logging proxy-server

    [filter:ip_whitelist]
    use = egg:opsext#ip_whitelist
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

import logging

from swift.common import constraints
from swift.common import registry
from swift.common import swob
from swift.common import utils
from swift.common.http import is_success
from swift.proxy.controllers.base import get_account_info
from swift.proxy.controllers.base import get_cache_key
from swift.proxy.controllers.base import get_container_info

from opsext import client_ip
from opsext import pasteconf
from opsext.swift import _allowlist

NAME = 'ip_whitelist'
SWIFT_SOURCE = 'IPWL'
_CONTAINER_PREFIX = 'x-container-meta-'
_ACCOUNT_PREFIX = 'x-account-meta-'
_MISSING = (404, 410)

OPTIONS = {
    'operator_cidrs': '',
    'trusted_proxies': '',
    'forwarded_header': client_ip.X_FORWARDED_FOR,
    'allow_reseller': 'false',
    'enforce': 'true',
    'deny_message': 'Access denied by the IP allowlist.',
    'cache_size': '1024',
    'max_proxy_hops': '10',
}


class _Denied(Exception):
    """A decision to deny, with the reason for the log."""


class Settings:
    """The filter's options, parsed and validated once at start-up."""

    def __init__(self, conf: dict) -> None:
        options = pasteconf.PasteOptions(NAME, conf, OPTIONS)
        self.operator_cidrs = options.networks('operator_cidrs')
        self.allow_reseller = options.boolean('allow_reseller')
        self.enforce = options.boolean('enforce')
        self.deny_message = options.text('deny_message')
        self.cache_size = options.number('cache_size', int, 1)
        self.resolver = options.client_resolver()


class _Authorize:
    """``swift.authorize`` wrapped with the allowlist check.

    Sub-requests copy ``swift.authorize`` but not ``REMOTE_ADDR``: the
    wrapper carries the client address of the request it was made for, so
    every container a sub-request touches is checked for that client.
    Paths already allowed for this client are not decided again: the proxy
    calls ``swift.authorize`` for the very path the filter just checked.
    """

    __slots__ = ('owner', 'client', 'client_error', 'wrapped', 'allowed')

    def __init__(self, owner, client, client_error, wrapped, allowed_path):
        self.owner = owner
        self.client = client
        self.client_error = client_error
        self.wrapped = wrapped
        self.allowed = {allowed_path}

    def __call__(self, req):
        path = _raw_path(req.environ)
        if path not in self.allowed:
            denied = self.owner.check(req.environ, self.client,
                                      self.client_error)
            if denied is not None:
                return denied
            self.allowed.add(path)
        if self.wrapped is not None:
            return self.wrapped(req)
        return None


def _raw_path(env) -> str:
    return env.get('SCRIPT_NAME', '') + env.get('PATH_INFO', '')


class IPWhitelistMiddleware:
    """Deny requests for allowlisted containers from other addresses."""

    def __init__(self, app, conf: dict, logger=None,
                 settings: 'Settings | None' = None) -> None:
        self.app = app
        self.settings = settings or Settings(conf)
        self.logger = logger or utils.get_logger(
            conf, log_route=NAME, statsd_tail_prefix=NAME)
        self._parsed = _allowlist.ParsedCache(self.settings.cache_size)
        self._warned = _allowlist.OnceLog(self.settings.cache_size)

    def __call__(self, env, start_response):
        authorize = env.get('swift.authorize')
        if isinstance(authorize, _Authorize) and authorize.owner is self:
            # A sub-request of a request we have seen: same client.
            client, client_error = authorize.client, authorize.client_error
            authorize = authorize.wrapped
        else:
            client, client_error = self._client(env)
        denied = self.check(env, client, client_error)
        if denied is None and env.get('REQUEST_METHOD') in ('PUT', 'POST'):
            denied = self._validate_writes(swob.Request(env))
        if denied is not None:
            return denied(env, start_response)
        env['swift.authorize'] = _Authorize(self, client, client_error,
                                            authorize, _raw_path(env))
        return self.app(env, start_response)

    def _client(self, env):
        try:
            return self.settings.resolver.resolve(env), None
        except client_ip.ClientAddressError as exc:
            if env.get('swift.source') and not env.get('REMOTE_ADDR'):
                return None, ('sub-request by %s carries no client address'
                              % env['swift.source'])
            return None, str(exc)

    def check(self, env, client, client_error):
        """Decide one request; return a response to deny it, else None."""
        # The proxy splits swob's req.path, which is SCRIPT_NAME + PATH_INFO
        # quoted. Quoting neither adds nor removes a '/', so splitting the
        # raw path gives the same segments, unquoted, as Swift's infocache
        # keys them, without building a Request on the allowed path.
        path = swob.wsgi_to_str(_raw_path(env))
        if path == '/info':
            return None
        try:
            version, account, container, obj = utils.split_path(
                path, 1, 4, True)
        except ValueError:
            # The proxy answers this path with 404; answer it here so that
            # no path we cannot parse goes on unchecked.
            return swob.HTTPNotFound(request=swob.Request(env))
        if not account:
            return None
        if not constraints.valid_api_version(version):
            # The proxy refuses it with 400 before any controller runs.
            return swob.HTTPBadRequest(request=swob.Request(env),
                                       body='Invalid path')
        # The header swob's Request.allow_reserved_names reads, read
        # without building a Request on the allowed path; gatekeeper, left
        # of us, strips it from clients.
        if not constraints.check_utf8(path, internal=utils.config_true_value(
                env.get('HTTP_X_BACKEND_ALLOW_RESERVED_NAMES'))):
            # The proxy refuses it with 412 before any controller runs;
            # container info for such a name is an error (Swift's own
            # functional test_null_name caught the 403 this gave).
            return swob.HTTPPreconditionFailed(
                request=swob.Request(env),
                body='Invalid UTF8 or contains NULL')
        try:
            reason = self._decide(env, client, client_error, account,
                                  container)
        except _Denied as exc:
            return self._deny(swob.Request(env), client, account, container,
                              str(exc))
        self.logger.increment('allowed')
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug('allow %s %s from %s: %s',
                              env.get('REQUEST_METHOD'), path, client, reason)
        return None

    def _decide(self, env, client, client_error, account, container):
        settings = self.settings
        if client is not None and client in settings.operator_cidrs:
            return 'operator_cidrs'
        if settings.allow_reseller and env.get('reseller_request'):
            self.logger.info('allow ResellerAdmin request from %s for %s/%s',
                             client, account, container or '')
            return 'reseller request'
        scope, allowlist = self._allowlist(env, account, container)
        if allowlist is None:
            return 'no allowlist'
        if allowlist.error:
            self.logger.increment('bad_metadata')
            if self._warned.first((scope, allowlist.error)):
                self.logger.warning(
                    'denying all but operator_cidrs to %s: bad allowlist '
                    'metadata (%s)', scope, allowlist.error)
            raise _Denied('bad allowlist metadata on %s' % scope)
        if client is None:
            raise _Denied('client address unknown: %s' % client_error)
        if client not in allowlist.networks:
            raise _Denied('%s is not in the allowlist of %s'
                          % (client, scope))
        return 'in the allowlist of %s' % scope

    def _allowlist(self, env, account, container):
        """Return (scope, AllowList or None) for the request's target."""
        if container:
            info = self._info(env, account, container) or get_container_info(
                env, self.app, swift_source=SWIFT_SOURCE)
            status = info.get('status') or 0
            if is_success(status):
                items = _allowlist.allow_items(info.get('meta') or {})
                if items:
                    return ('container %s/%s' % (account, container),
                            self._parsed.get(items))
            elif status not in _MISSING and status != 0:
                # 0 is "no such account" here; get_account_info tells.
                raise _Denied('container info error %s' % status)
        info = self._info(env, account) or get_account_info(
            env, self.app, swift_source=SWIFT_SOURCE)
        status = info.get('status') or 0
        if is_success(status):
            items = _allowlist.allow_items(info.get('meta') or {})
            if items:
                return 'account %s' % account, self._parsed.get(items)
        elif status not in _MISSING:
            raise _Denied('account info error %s' % status)
        return 'account %s' % account, None

    @staticmethod
    def _info(env, account, container=None):
        """Info already in this request's infocache, without a copy.

        get_container_info deep-copies what it returns; we only read it.
        The proxy fills the infocache for every request it routes, so this
        is the common case after the first request on a container.
        """
        infocache = env.get('swift.infocache')
        if not infocache:
            return None
        return infocache.get(get_cache_key(account, container))

    def _deny(self, req, client, account, container, reason):
        if not self.settings.enforce:
            self.logger.increment('would_deny')
            self.logger.info('enforce=false: would deny %s %s from %s '
                             '(account %s, container %s): %s', req.method,
                             req.path, client, account, container, reason)
            return None
        self.logger.increment('denied')
        self.logger.info('denied %s %s from %s (account %s, container %s): '
                         '%s', req.method, req.path, client, account,
                         container, reason)
        return swob.HTTPForbidden(request=req, body=self.settings.deny_message,
                                  content_type='text/plain')

    def _validate_writes(self, req):
        """400 for a client writing an invalid allowlist entry."""
        if req.method not in ('PUT', 'POST'):
            return None
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


def filter_factory(global_conf, **local_conf):
    """paste.deploy entry point: validate options and return the filter."""
    conf = global_conf.copy()
    conf.update(local_conf)
    settings = Settings(conf)  # fails at start-up, naming the bad option
    registry.register_swift_info(
        NAME, metadata_prefix='allow', account_default=True,
        max_value_length=_allowlist.MAX_VALUE_LENGTH)

    def ip_whitelist_filter(app):
        return IPWhitelistMiddleware(app, conf, settings=settings)
    return ip_whitelist_filter
