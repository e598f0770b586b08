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


"""nova-api paste filter: stamp each new server with its source address.

On ``POST /servers`` it removes any ``opsext_source_stamp`` scheduler hint
the client sent and writes its own: the request's address (``REMOTE_ADDR``
as ``client_address`` resolved it), signed with ``secret`` and bound to
the project (:mod:`opsext.subnet_affinity.stamp`). Nova stores the hint
with the server's RequestSpec; the subnet-affinity filter and weigher,
given the same secret (``[opsext_subnet_affinity] source_stamp_secret``),
place the server and every later move of it by that address: a server
keeps the group it was created for, whoever moves it, from wherever, and
however its hosts' aggregates change.

An admin's create request may name the address instead, with the
scheduler hint ``source_address_hint`` (``opsext_source_address`` by
default): for portals creating servers on behalf of users. From anyone
else that hint is removed. A malformed one is ``400 Bad Request``.

It needs ``nova.context`` (set by ``keystonecontext``): put it after
``keystonecontext``, before the application. Sample ``api-paste.ini``::

    keystone = opsext_client_address cors http_proxy_to_wsgi ...
        authtoken keystonecontext opsext_source_stamp osapi_compute_app_v21

    [filter:opsext_source_stamp]
    use = egg:opsext#source_stamp
    # The same value as [opsext_subnet_affinity] source_stamp_secret in
    # the schedulers' nova.conf.
    secret = <a long random string>
    # source_address_hint = opsext_source_address

This module does not import nova: it reads the context's attributes.
"""

import json
import re
from typing import Callable, Iterable, Mapping, NamedTuple

from oslo_config import cfg
from oslo_log import log as logging
import webob
import webob.exc

from opsext.exceptions import ConfigError
from opsext import net
from opsext import pasteconf
from opsext.subnet_affinity import options
from opsext.subnet_affinity import stamp

LOG = logging.getLogger(__name__)
NAME = 'source_stamp'
_CREATE = re.compile(r'\A(/[^/]+)?/servers/?\Z')
_HINT_KEYS = ('os:scheduler_hints', 'OS-SCH-HNT:scheduler_hints')


class Settings(NamedTuple):
    """The filter's options, checked once at start-up."""

    secret: str
    admin_hint: str


class SourceStampMiddleware(pasteconf.PasteFilter):
    """Rewrite the scheduler hints of server create requests."""

    NAME = NAME
    OPTS = [
        cfg.Opt('secret', type=options.StampSecret(), secret=True,
                help='Secret that signs each new server\'s source address, '
                     'at least 16 characters: the same value as '
                     '``[opsext_subnet_affinity] source_stamp_secret`` in '
                     'the schedulers\' nova.conf. Required.'),
        cfg.Opt('source_address_hint', type=options.HintName(),
                default='opsext_source_address',
                help='Scheduler hint by which an admin\'s create request '
                     'names the source address instead (letters, digits, '
                     '"_", "-" and ":"). Removed from anyone else\'s '
                     'request.'),
    ]

    @classmethod
    def load_settings(cls, label: str, values: dict,
                      conf: Mapping) -> Settings:
        secret = values['secret']
        if secret is None:
            raise ConfigError(label, 'secret', None, 'required')
        hint = values['source_address_hint']
        if hint == stamp.HINT:
            raise ConfigError(label, 'source_address_hint', hint,
                              'the filter\'s own hint')
        return Settings(secret, hint)

    @property
    def secret(self) -> str:
        return self.settings.secret

    @property
    def admin_hint(self) -> str:
        return self.settings.admin_hint

    def __call__(self, environ: dict, start_response: Callable) -> Iterable:
        if environ.get('REQUEST_METHOD') == 'POST' and _CREATE.match(
                environ.get('PATH_INFO', '')):
            req = webob.Request(environ)
            try:
                body = json.loads(req.body)
            except ValueError:
                body = None  # nova answers 400 for it
            if isinstance(body, dict):
                try:
                    self._stamp(body, environ)
                except ValueError as exc:
                    return webob.exc.HTTPBadRequest(explanation=str(exc))(
                        environ, start_response)
                req.body = json.dumps(body).encode('utf-8')
        return self.app(environ, start_response)

    def _stamp(self, body: dict, environ: Mapping) -> None:
        context = environ.get('nova.context')
        is_admin = getattr(context, 'is_admin', False) is True
        project_id = getattr(context, 'project_id', None) or ''
        address = environ.get('REMOTE_ADDR')
        override = None
        found = [body[key] for key in _HINT_KEYS
                 if isinstance(body.get(key), dict)]
        for hints in found:
            hints.pop(stamp.HINT, None)
            value = hints.pop(self.admin_hint, None)
            if value is not None and is_admin:
                override = value
        if override is not None:
            try:
                address = net.parse_address(str(override).strip())
            except net.AddressError as exc:
                raise ValueError('scheduler hint %s is not one address: %s'
                                 % (self.admin_hint, exc)) from None
        else:
            try:
                address = net.parse_address(address or '')
            except net.AddressError:
                # No stamp: the scheduler refuses the server, naming why.
                LOG.warning('no source stamp for a server: REMOTE_ADDR %r '
                            'is not one address (is opsext_client_address '
                            'first in the pipeline?)', address)
                return
        # nova reads os:scheduler_hints first, then the legacy key.
        target = next((body[key] for key in _HINT_KEYS
                       if isinstance(body.get(key), dict)), None)
        if target is None:
            target = body['os:scheduler_hints'] = {}
        target[stamp.HINT] = stamp.sign(self.secret, project_id, address)


def filter_factory(global_conf: Mapping, **local_conf) -> Callable:
    """paste.deploy entry point: validate options and return the filter."""
    return SourceStampMiddleware.factory(global_conf, local_conf)
