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


"""The source address of a scheduling request, from its RequestSpec.

nova-api records ``req.remote_addr`` as the request context's
``remote_address``, and the context travels with the RequestSpec over RPC
to the scheduler. Behind a load balancer with ``[oslo_middleware]
enable_proxy_headers_parsing``, nova's ``http_proxy_to_wsgi`` copies the
raw ``X-Forwarded-For`` value there, which may be a comma list: it is
walked from the right, skipping ``trusted_proxies``, by
:class:`opsext.client_ip.ClientAddressResolver` (with the ``client_address``
paste filter in nova-api it is one address already). Without trusted
proxies a list is not believed. Anything missing or unresolvable raises
:class:`~opsext.client_ip.ClientAddressError` with the reason, and the
adapter refuses the request: an unknown origin never means "any host".

On a move (resize, migrate, evacuate, unshelve) the context is the
caller's (an admin's address, or none), not the original requester's: the
adapter places moves by the server's host instead (see ``_location``).

With ``source_address_hint`` set, a scheduler hint of that name may name
the source address instead, but only in an admin's context: users write
hints.
"""

from typing import Optional

from opsext import client_ip
from opsext import net


def remote_address(spec_obj) -> Optional[str]:
    """The raw ``remote_address`` of the spec's request context, if any."""
    # The only place that reads this private attribute of RequestSpec:
    # nova offers no public accessor for the context a spec arrived with.
    context = getattr(spec_obj, '_context', None)
    value = getattr(context, 'remote_address', None)
    return value if isinstance(value, str) else None


def is_admin(spec_obj) -> bool:
    """Whether the spec's request context is an admin's."""
    context = getattr(spec_obj, '_context', None)
    return getattr(context, 'is_admin', False) is True


def hint_value(spec_obj, hint: str) -> Optional[object]:
    """The raw value of scheduler hint ``hint``, None when absent."""
    try:
        return spec_obj.get_scheduler_hint(hint)
    except Exception:  # a spec without hints, or an odd object
        return None


def parse_hint(value) -> Optional[net.IPAddress]:
    """One address, strictly; None for anything else (lists included)."""
    if not isinstance(value, str):
        return None
    try:
        return net.parse_address(value.strip())
    except net.AddressError:
        return None


def parse_source(value: Optional[str],
                 resolver: client_ip.ClientAddressResolver
                 ) -> net.IPAddress:
    """The client address in a raw ``remote_address`` value.

    :raises ClientAddressError: naming why it cannot be known.
    """
    if not isinstance(value, str) or not value.strip():
        raise client_ip.ClientAddressError(
            'the request context has no source address')
    entries = [entry.strip() for entry in value.split(',')]
    if len(entries) > 1 and not resolver.trusted_proxies:
        # Anyone can prepend to X-Forwarded-For: with no proxy to vouch
        # for the hop that wrote it, no entry is more credible than another.
        raise client_ip.ClientAddressError(
            'source address %r is a forwarded list and no trusted_proxies '
            'are configured' % value)
    # The rightmost entry was written by the proxy nova trusts to parse
    # headers; it plays REMOTE_ADDR, the rest is the chain before it.
    environ = {'REMOTE_ADDR': entries[-1]}
    if len(entries) > 1:
        environ['HTTP_X_FORWARDED_FOR'] = ', '.join(entries[:-1])
    try:
        return resolver.resolve(environ)
    except client_ip.ClientAddressError as exc:
        raise client_ip.ClientAddressError(
            'source address %r cannot be resolved: %s' % (value, exc)
        ) from None


def source_address(spec_obj, resolver: client_ip.ClientAddressResolver
                   ) -> net.IPAddress:
    """The request's source address.

    :raises ClientAddressError: when it cannot be known; the policy then
        refuses the request (fail closed), whatever unmatched_requests says.
    """
    return parse_source(remote_address(spec_obj), resolver)
