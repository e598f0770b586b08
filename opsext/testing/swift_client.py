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

"""A tempauth user of a test Swift cluster, sending from any 127.0.0.x.

Every request is a real HTTP request on a fresh TCP connection to the
cluster's proxy, from the client's source address (any address of
127.0.0.0/8 is local on Linux, so the proxy sees ``REMOTE_ADDR``
127.0.0.7 for a client made with ``source_ip='127.0.0.7'``)::

    client = SwiftClient(cluster)                  # test:tester
    office = client.from_address('127.0.0.7')      # same user and token
    reader = client.as_user('test:tester3')        # a non-admin user
    assert office.put('reports').status == 201
    assert office.put('reports/q3', body=b'...').status == 201
    resp = reader.get('reports/q3')
    resp.status, resp.headers['Etag'], resp.body

Paths are relative to the user's account (``''`` is the account,
``'c'`` a container, ``'c/o'`` an object); a path starting with ``/`` is
sent as it is (``/info``, ``/v1/AUTH_test2/c``).  Names are quoted.
"""

import itertools
from typing import Any, Mapping, NamedTuple, Optional
import urllib.parse
import uuid

from opsext.allinone import config as swift_config

_NAMES = itertools.count(1)


class Response(NamedTuple):
    """One HTTP response: status, headers (case-insensitive), body."""

    status: int
    headers: Any  # swift's HeaderKeyDict
    body: bytes


def tempauth_users() -> dict[str, str]:
    """``{'account:user': key}`` of every tempauth user of the clusters."""
    users = {}
    for option, value in swift_config.TEMPAUTH_USERS.items():
        account, user = option[len('user_'):].split('_', 1)
        users['%s:%s' % (account, user)] = value.split()[0]
    return users


class SwiftClient(object):
    """A tempauth user sending from one loopback address.

    :param cluster: a started :class:`~opsext.allinone.cluster.
        SwiftCluster`.
    :param user: ``account:user`` of tempauth (:func:`tempauth_users`).
    :param key: the user's key; by default the cluster's own.
    :param source_ip: the address requests come from, in 127.0.0.0/8.
    """

    def __init__(self, cluster: Any, user: str = 'test:tester',
                 key: Optional[str] = None,
                 source_ip: str = '127.0.0.1') -> None:
        users = tempauth_users()
        if key is None and user not in users:
            raise ValueError('unknown tempauth user %r; the clusters have %s'
                             % (user, ', '.join(sorted(users))))
        self.cluster = cluster
        self.user = user
        self.key = users[user] if key is None else key
        self.source_ip = source_ip
        self._auth: Optional[tuple[str, str]] = None

    def _authenticate(self) -> tuple[str, str]:
        if self._auth is None:
            self._auth = self.cluster.get_token(self.user, self.key)
        return self._auth

    @property
    def storage_url(self) -> str:
        """The user's storage URL, as tempauth gives it."""
        return self._authenticate()[0]

    @property
    def token(self) -> str:
        """A valid token of the user."""
        return self._authenticate()[1]

    @property
    def account_path(self) -> str:
        """``/v1/AUTH_<account>``."""
        return urllib.parse.urlsplit(self.storage_url).path

    def from_address(self, source_ip: str) -> 'SwiftClient':
        """The same user (and token), sending from ``source_ip``."""
        other = SwiftClient(self.cluster, self.user, self.key, source_ip)
        other._auth = self._auth
        return other

    def as_user(self, user: str, key: Optional[str] = None
                ) -> 'SwiftClient':
        """Another tempauth user, sending from the same address."""
        return SwiftClient(self.cluster, user, key, self.source_ip)

    def path(self, sub: str = '') -> str:
        """The quoted request path of ``sub`` (see the module docstring)."""
        if sub.startswith('/'):
            return sub
        return self.account_path + (
            '/' + urllib.parse.quote(sub) if sub else '')

    def request(self, method: str, sub: str = '',
                headers: Optional[Mapping[str, str]] = None,
                body: bytes = b'', token: bool = True) -> Response:
        """Send one request; ``token=False`` sends it anonymously."""
        headers = dict(headers or {})
        if token:
            headers.setdefault('X-Auth-Token', self.token)
        status, resp_headers, data = self.cluster.request(
            method, self.path(sub), headers, body, source_ip=self.source_ip)
        return Response(status, resp_headers, data)

    def get(self, sub: str = '', **kwargs: Any) -> Response:
        return self.request('GET', sub, **kwargs)

    def head(self, sub: str = '', **kwargs: Any) -> Response:
        return self.request('HEAD', sub, **kwargs)

    def put(self, sub: str, **kwargs: Any) -> Response:
        return self.request('PUT', sub, **kwargs)

    def post(self, sub: str, **kwargs: Any) -> Response:
        return self.request('POST', sub, **kwargs)

    def delete(self, sub: str, **kwargs: Any) -> Response:
        return self.request('DELETE', sub, **kwargs)

    def new_container_name(self, prefix: str = 'c') -> str:
        """A container name no other test of this run uses."""
        return '%s-%d-%s' % (prefix, next(_NAMES), uuid.uuid4().hex[:8])

    def __repr__(self) -> str:
        return '<SwiftClient %s from %s>' % (self.user, self.source_ip)
