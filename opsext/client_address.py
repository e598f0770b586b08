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


"""Paste filter: the client address as the trusted proxy chain saw it.

For any OpenStack API behind load balancers (nova-api, glance, cinder,
keystone: any paste pipeline). It walks ``X-Forwarded-For`` (or
``Forwarded``, one of the two, by ``forwarded_header``) from the right
through ``trusted_proxies`` with :mod:`opsext.client_ip`, sets
``REMOTE_ADDR`` to the client address found, and rewrites the forwarded
headers so that nothing after it can be steered by what the client wrote:

* ``Forwarded`` is removed, whichever header is read: oslo.middleware's
  ``http_proxy_to_wsgi`` (``oslo_middleware/http_proxy_to_wsgi.py``,
  ``HTTPProxyToWSGI.process_request``) takes the *first* ``for=`` of a
  ``Forwarded`` header as ``REMOTE_ADDR``, and the first element is the
  one the client wrote.
* ``X-Forwarded-For`` becomes the one resolved address, so that
  ``http_proxy_to_wsgi``, which copies its whole value into
  ``REMOTE_ADDR`` when there is no ``Forwarded``, copies the same address.

Everything downstream (``http_proxy_to_wsgi`` with ``[oslo_middleware]
enable_proxy_headers_parsing`` on or off, keystone's context, nova's
``RequestContext.remote_address`` and so the scheduler) then sees the true
client address. ``X-Forwarded-Proto``, ``-Host`` and ``-Prefix`` are left
alone: they do not name the client.

Fail closed: a request whose address cannot be known with certainty (a
trusted proxy that forwarded ``unknown``, garbage, too many trusted hops)
gets ``400 Bad Request`` naming the reason; it is never passed on with a
guess.

It must run before ``http_proxy_to_wsgi``, which overwrites the real
peer address: put it first in the pipeline. Sample ``api-paste.ini``::

    [composite:openstack_compute_api_v21]
    use = call:nova.api.auth:pipeline_factory_v21
    keystone = opsext_client_address cors http_proxy_to_wsgi ...

    [filter:opsext_client_address]
    use = egg:opsext#client_address
    # The load balancers in front of the API (addresses or networks).
    trusted_proxies = 192.0.2.10
    # forwarded_header = x-forwarded-for
    # max_proxy_hops = 10
"""

from typing import Callable, Iterable, Mapping

from oslo_log import log as logging
import webob.exc

from opsext import client_ip
from opsext import pasteconf

LOG = logging.getLogger(__name__)
NAME = 'client_address'


class ClientAddressMiddleware(pasteconf.PasteFilter):
    """Set ``REMOTE_ADDR`` to the resolved client and rewrite the headers.

    ``settings`` is the :class:`~opsext.client_ip.ClientAddressResolver`
    the options describe.
    """

    NAME = NAME
    OPTS = pasteconf.client_address_opts()

    @classmethod
    def load_settings(cls, label: str, values: dict, conf: Mapping
                      ) -> client_ip.ClientAddressResolver:
        return pasteconf.client_resolver(values)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable:
        try:
            address = self.settings.resolve(environ)
        except client_ip.ClientAddressError as exc:
            LOG.info('refusing a request from %s: the client address is '
                     'not known: %s', environ.get('REMOTE_ADDR'), exc)
            return webob.exc.HTTPBadRequest(
                explanation='The client address cannot be determined: %s.'
                % exc)(environ, start_response)
        client = str(address)
        environ['REMOTE_ADDR'] = client
        environ['HTTP_X_FORWARDED_FOR'] = client
        environ.pop('HTTP_FORWARDED', None)
        return self.app(environ, start_response)


def settings(conf: Mapping, local_keys: Iterable[str] = ()
             ) -> client_ip.ClientAddressResolver:
    """Validate the options once.

    :raises ConfigError: naming an unknown option or a bad value.
    """
    return ClientAddressMiddleware.read_settings(conf, local_keys)


def filter_factory(global_conf: Mapping, **local_conf) -> Callable:
    """paste.deploy entry point: validate options and return the filter."""
    return ClientAddressMiddleware.factory(global_conf, local_conf)
