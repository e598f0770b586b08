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


"""A server's creation-time source address, signed, kept with the server.

nova-api's ``opsext_source_stamp`` filter writes the scheduler hint
``opsext_source_stamp`` into every create request, replacing whatever the
client sent: ``<address> <HMAC-SHA256 hex>``, keyed with a secret shared
with the scheduler and bound to the server's project. Nova persists
scheduler hints with the RequestSpec, so every later move (migration,
evacuation, unshelve) carries the address the server was created from,
and the scheduler places it in the same group; the signature tells a
stamp the filter wrote from one a user wrote where the filter is missing.

This module imports neither swift nor nova.
"""

import hashlib
import hmac
from typing import Optional

from opsext import net

HINT = 'opsext_source_stamp'
_CONTEXT = b'opsext-source-stamp-v1'


class StampError(ValueError):
    """A stamp is malformed or its signature does not verify."""


def _digest(secret: str, project_id: str, address: str) -> str:
    message = b'\n'.join((_CONTEXT, project_id.encode('utf-8'),
                          address.encode('ascii')))
    return hmac.new(secret.encode('utf-8'), message,
                    hashlib.sha256).hexdigest()


def sign(secret: str, project_id: str, address: net.IPAddress) -> str:
    """The stamp of ``address`` for a server of ``project_id``."""
    text = str(address)
    return '%s %s' % (text, _digest(secret, project_id or '', text))


def verify(secret: str, project_id: Optional[str], value) -> net.IPAddress:
    """The address of a stamp whose signature verifies.

    :raises StampError: naming what is wrong.
    """
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str):
        raise StampError('%s is not a string: %r' % (HINT, value))
    text, _, digest = value.partition(' ')
    try:
        address = net.parse_address(text)
    except net.AddressError as exc:
        raise StampError('%s holds no address: %s' % (HINT, exc)) from None
    if str(address) != text or not hmac.compare_digest(
            digest, _digest(secret, project_id or '', text)):
        raise StampError('%s %r has a bad signature (not written by '
                         'nova-api\'s opsext_source_stamp filter, or the '
                         'secrets differ)' % (HINT, text))
    return address
