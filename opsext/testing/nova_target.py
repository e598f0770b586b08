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

"""The deployed Nova whose placement the ops-validation suite checks.

With ``OPSEXT_TEST_TARGET=deployed`` and ``nova`` in
``OPSEXT_TEST_SERVICES`` (see :mod:`opsext.testing.target`),
``tests/functional/deployed/test_nova_placement.py`` runs the checks of
:mod:`opsext.testing.nova_checks` against the Nova these variables
describe. The checks need an admin (to see a server's host and the
aggregates), through Keystone v3:

===================================  ========================================
``OPSEXT_TEST_NOVA_AUTH_URL``        required: Keystone v3 URL
                                     (``https://h/identity/v3``)
``OPSEXT_TEST_NOVA_USER``            required: an admin user
``OPSEXT_TEST_NOVA_KEY``             required: its password
``OPSEXT_TEST_NOVA_PROJECT``         required: the project to scope to
``OPSEXT_TEST_NOVA_USER_DOMAIN``     default ``Default``
``OPSEXT_TEST_NOVA_PROJECT_DOMAIN``  default ``Default``
``OPSEXT_TEST_NOVA_URL``             the compute endpoint (``.../v2.1``),
                                     overriding the catalog's
``OPSEXT_TEST_NOVA_FLAVOR``          required: flavor ID or name
``OPSEXT_TEST_NOVA_IMAGE``           required: image ID or name
``OPSEXT_TEST_NOVA_NETWORK``         ``none`` (default), ``auto`` or a
                                     network ID
``OPSEXT_TEST_NOVA_EXPECT``          ``group`` (default), ``any``,
                                     ``untagged`` or ``novalidhost``
``OPSEXT_TEST_NOVA_METADATA_KEY``    default ``opsext_subnets``
``OPSEXT_TEST_NOVA_TIMEOUT``         seconds a boot or a deletion may take
                                     (default 300)
===================================  ========================================

Shared with the Swift part: ``OPSEXT_TEST_REGION`` (catalog region),
``OPSEXT_TEST_CACERT`` (CA bundle) and ``OPSEXT_TEST_CLIENT_ADDRESS`` (the
address nova-api sees for this client; default: the local address of a
connection to the compute endpoint). A missing or bad variable is a
:class:`~opsext.testing.target.TargetConfigError` naming it.
"""

import dataclasses
import os
from typing import Mapping

from opsext import net
from opsext.testing import nova_api
from opsext.testing import nova_checks
from opsext.testing import target as target_mod

MAX_TIMEOUT = 3600


def _required(environ: Mapping[str, str], name: str, why: str) -> str:
    return target_mod.required(environ, name, why, '%s names %s: it' % (
        target_mod.SERVICES, target_mod.NOVA))


def _choice(environ: Mapping[str, str], name: str, default: str,
            choices: tuple) -> str:
    value = environ.get(name, '').strip().lower() or default
    if value not in choices:
        raise target_mod.TargetConfigError('%s=%r: use one of %s' % (
            name, environ[name], ', '.join(choices)))
    return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class NovaTarget(target_mod.ServiceTarget):
    """Where the Nova under validation is, and what to check."""

    flavor: str
    image: str
    nova_url: str = ''
    network: str = 'none'
    expect: str = 'group'
    metadata_key: str = 'opsext_subnets'
    timeout: float = 300.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ
                     ) -> 'NovaTarget':
        """The Nova the ``OPSEXT_TEST_NOVA_*`` variables describe."""
        auth_url = target_mod.http_url('OPSEXT_TEST_NOVA_AUTH_URL', _required(
            environ, 'OPSEXT_TEST_NOVA_AUTH_URL', 'the Keystone v3 URL'))
        found = {name: _required(environ, 'OPSEXT_TEST_NOVA_' + name.upper(),
                                 why)
                 for name, why in (
                     ('user', 'an admin: only admins see hosts'),
                     ('key', 'its password'),
                     ('project', 'Keystone scopes the token to it'),
                     ('flavor', 'of the server the check boots'),
                     ('image', 'of the server the check boots'))}
        nova_url = environ.get('OPSEXT_TEST_NOVA_URL', '').strip()
        if nova_url:
            nova_url = target_mod.http_url('OPSEXT_TEST_NOVA_URL', nova_url)
        timeout = environ.get('OPSEXT_TEST_NOVA_TIMEOUT', '').strip() or '300'
        if not timeout.isdigit() or not 1 <= int(timeout) <= MAX_TIMEOUT:
            raise target_mod.TargetConfigError(
                'OPSEXT_TEST_NOVA_TIMEOUT=%r: whole seconds from 1 to %d'
                % (timeout, MAX_TIMEOUT))
        shared = cls.shared_from_environ(environ, 'OPSEXT_TEST_NOVA_')
        if shared['client_address']:
            try:
                net.parse_address(shared['client_address'])
            except net.AddressError as exc:
                raise target_mod.TargetConfigError(
                    'OPSEXT_TEST_CLIENT_ADDRESS=%r: %s'
                    % (shared['client_address'], exc.reason)) from None
        return cls(
            auth_url=auth_url, nova_url=nova_url,
            network=environ.get('OPSEXT_TEST_NOVA_NETWORK', '').strip()
            or 'none',
            expect=_choice(environ, 'OPSEXT_TEST_NOVA_EXPECT', 'group',
                           nova_checks.EXPECTATIONS),
            metadata_key=environ.get('OPSEXT_TEST_NOVA_METADATA_KEY',
                                     '').strip() or 'opsext_subnets',
            timeout=float(timeout), **shared, **found)

    def describe(self) -> str:
        """One line for the test report: what is validated, and how."""
        return ('Keystone v3 %s as %s (project %s), compute %s; boots %s '
                'on flavor %s, network %s; expects %s from %s' % (
                    self.auth_url, self.user, self.project,
                    self.nova_url or 'from the catalog', self.image,
                    self.flavor, self.network, self.expect,
                    self.client_address or 'the connection\'s address'))

    def login(self) -> nova_api.NovaClient:
        """An admin client of the compute endpoint."""
        url, token = self.keystone_endpoint('compute', self.nova_url,
                                            'OPSEXT_TEST_NOVA_URL')
        return nova_api.NovaClient(url, {'X-Auth-Token': token},
                                   cacert=self.cacert)

    def client_address_for(self, client: nova_api.NovaClient) -> str:
        """The address nova-api sees for this client."""
        return self.client_address_at(client.url)
