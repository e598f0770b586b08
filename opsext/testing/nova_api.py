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

"""The few calls of Nova's compute API that placement checks make.

Plain HTTP through :func:`opsext.testing.target.request` (``http.client``),
as the Swift validation does: no novaclient, no nova import. Who the
client is comes as request headers, so the same code serves both places
the checks run: a deployed cloud (``X-Auth-Token`` from Keystone) and
Nova's in-process functional harness (its no-auth ``X-Auth-User`` and
``X-Roles`` headers, and ``X-Forwarded-For`` through a trusted proxy;
wsgi-intercept's ``http.client`` interceptor routes the calls there).
The checks need an admin: only admins see a server's host
(``OS-EXT-SRV-ATTR:host``) and the aggregates.
"""

import json
import re
from typing import Mapping, Optional
import urllib.parse

from opsext.testing import target as target_mod

#: ``networks: "none"`` needs 2.37; admins see a server's host in every
#: microversion.
MICROVERSION = '2.37'
#: The image API proxy (``GET /images``) answers up to 2.35 only.
IMAGES_MICROVERSION = '2.35'
_UUID = re.compile(r'\A[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}'
                   r'[0-9a-fA-F]{12}\Z')


class NovaError(RuntimeError):
    """Nova answered a call with an unexpected status."""


class NovaClient:
    """An admin client of one compute endpoint (``.../v2.1``)."""

    def __init__(self, url: str, headers: Mapping[str, str],
                 cacert: str = '') -> None:
        self.url = url.rstrip('/')
        self.headers = dict(headers)
        self.cacert = cacert

    def call(self, method: str, path: str, body: Optional[dict] = None,
             ok: tuple = (200,), microversion: str = MICROVERSION
             ) -> tuple[int, dict]:
        """One call: (status, decoded JSON body or {}).

        :raises NovaError: for a status not in ``ok``, with Nova's message.
        """
        headers = dict(self.headers)
        headers['OpenStack-API-Version'] = 'compute ' + microversion
        headers['X-OpenStack-Nova-API-Version'] = microversion
        headers['Accept'] = 'application/json'
        data = b''
        if body is not None:
            headers['Content-Type'] = 'application/json'
            data = json.dumps(body).encode()
        status, _headers, answer = target_mod.request(
            self.url + path, method, headers, data, cacert=self.cacert)
        if status not in ok:
            raise NovaError('%s %s%s answered %d: %s' % (
                method, self.url, path, status,
                answer[:300].decode('utf-8', 'replace')))
        try:
            return status, json.loads(answer) if answer.strip() else {}
        except ValueError:
            raise NovaError('%s %s%s answered %d with no JSON: %r' % (
                method, self.url, path, status, answer[:100])) from None

    def aggregates(self) -> list[dict]:
        """Every host aggregate, with its hosts and metadata."""
        return self.call('GET', '/os-aggregates')[1]['aggregates']

    def flavor_id(self, flavor: str) -> str:
        """The ID of a flavor given by ID or name (private ones too)."""
        status, found = self.call('GET', '/flavors/' + _quote(flavor),
                                  ok=(200, 404))
        if status == 200:
            return found['flavor']['id']
        flavors = self.call('GET', '/flavors?is_public=none')[1]['flavors']
        ids = [f['id'] for f in flavors if f.get('name') == flavor]
        if len(ids) != 1:
            raise NovaError('%d flavors have the ID or name %r' % (
                len(ids), flavor))
        return ids[0]

    def image_id(self, image: str) -> str:
        """The ID of an image given by ID (used as is) or name."""
        if _UUID.match(image):
            return image
        # Nova's image proxy, not Glance: the checks know one endpoint.
        images = self.call(
            'GET', '/images?name=' + urllib.parse.quote(image),
            microversion=IMAGES_MICROVERSION)[1]['images']
        ids = [i['id'] for i in images if i.get('name') == image]
        if len(ids) != 1:
            raise NovaError('%d images are named %r: give its ID' % (
                len(ids), image))
        return ids[0]

    def create_server(self, name: str, image_id: str, flavor_id: str,
                      network: str) -> str:
        """Boot a server; its ID. ``network``: none, auto or an ID."""
        networks = (network if network in ('none', 'auto')
                    else [{'uuid': network}])
        return self.call('POST', '/servers', {'server': {
            'name': name, 'imageRef': image_id, 'flavorRef': flavor_id,
            'networks': networks}}, ok=(202,))[1]['server']['id']

    def server(self, server_id: str) -> Optional[dict]:
        """The server's details as an admin sees them; None once gone."""
        status, found = self.call('GET', '/servers/' + _quote(server_id),
                                  ok=(200, 404))
        return found['server'] if status == 200 else None

    def delete_server(self, server_id: str) -> None:
        """Ask for the server's deletion (gone already is fine)."""
        self.call('DELETE', '/servers/' + _quote(server_id),
                  ok=(204, 404))


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe='')
