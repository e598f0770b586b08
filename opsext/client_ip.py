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


"""Which address a request really comes from, trusting only known proxies.

``REMOTE_ADDR`` is the peer of the TCP connection and the only address a
client cannot forge. Behind a load balancer or TLS terminator the peer is
that proxy, which names the client in ``X-Forwarded-For`` or ``Forwarded``
(RFC 7239). Those headers are written by whoever sent the request, so they
are believed only as far as they were written by proxies the operator
listed in ``trusted_proxies``: the chain is walked from the right (the hop
closest to us), each trusted hop giving way to the address it reports,
until the first address that is not a trusted proxy. Entries further left
were written by the client and are never read.

``X-Cluster-Client-Ip`` is never read. Swift's own ``get_remote_client``
trusts it and the leftmost ``X-Forwarded-For`` from anyone; it is fine for
logs and wrong for access decisions.

Any doubt is an error (:class:`ClientAddressError`), never a guess: a
missing, empty, listed or garbage ``REMOTE_ADDR``; a trusted hop that
reports ``unknown``, an obfuscated id or garbage; a chain of trusted hops
longer than ``max_hops``. Callers deny on it.

This module imports neither swift nor nova.
"""

import re
from typing import Mapping, Optional

from opsext import net

#: Values of the ``forwarded_header`` option.
X_FORWARDED_FOR = 'x-forwarded-for'
FORWARDED = 'forwarded'
FORWARDED_HEADERS = (X_FORWARDED_FOR, FORWARDED)

_ENVIRON_KEYS = {
    X_FORWARDED_FOR: 'HTTP_X_FORWARDED_FOR',
    FORWARDED: 'HTTP_FORWARDED',
}
_PORT = re.compile(r'\A[0-9]{1,5}\Z')
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_FORWARDED_PAIR = re.compile(
    r'\s*(%s)\s*=\s*(%s|%s)\s*' % (_TOKEN, _TOKEN, _QUOTED))


class ClientAddressError(ValueError):
    """The client address cannot be known with certainty."""


def parse_node(node: str) -> Optional[net.IPAddress]:
    """Parse one forwarded node: an address, optionally with a port.

    Accepts ``192.0.2.1``, ``192.0.2.1:8080``, ``2001:db8::1``,
    ``[2001:db8::1]`` and ``[2001:db8::1]:4711``. Returns None for the
    RFC 7239 ``unknown`` and obfuscated (``_hidden``) identifiers.

    :raises ClientAddressError: for anything else.
    """
    if node == 'unknown' or node.startswith('_'):
        return None
    host = node
    if node.startswith('['):
        host, bracket, rest = node[1:].partition(']')
        if not bracket or (rest and not (
                rest.startswith(':') and _PORT.match(rest[1:]))):
            raise ClientAddressError('malformed forwarded node %r' % node)
    elif node.count(':') == 1:
        host, _, port = node.partition(':')
        if not _PORT.match(port):
            raise ClientAddressError('malformed forwarded node %r' % node)
    try:
        return net.parse_address(host)
    except net.AddressError as exc:
        raise ClientAddressError(
            'forwarded node %r is not an address: %s' % (node, exc.reason)
        ) from None


def _unquote(value: str) -> str:
    if value.startswith('"'):
        return re.sub(r'\\(.)', r'\1', value[1:-1])
    return value


def forwarded_for_nodes(value: str) -> list[Optional[str]]:
    """The ``for`` parameter of each element of a ``Forwarded`` header.

    Elements without ``for`` give None (an unknown hop).

    :raises ClientAddressError: when the header is not valid RFC 7239.
    """
    nodes: list[Optional[str]] = []
    position = 0
    length = len(value)
    while position <= length:
        node = None
        while True:
            match = _FORWARDED_PAIR.match(value, position)
            if not match:
                raise ClientAddressError('malformed Forwarded header')
            if match.group(1).lower() == 'for':
                node = _unquote(match.group(2))
            position = match.end()
            if position < length and value[position] == ';':
                position += 1
                continue
            break
        nodes.append(node)
        if position == length:
            break
        if value[position] != ',':
            raise ClientAddressError('malformed Forwarded header')
        position += 1
    return nodes


def x_forwarded_for_nodes(value: str) -> list[Optional[str]]:
    """The entries of an ``X-Forwarded-For`` header, left to right."""
    return [entry.strip() for entry in value.split(',')]


class ClientAddressResolver:
    """Resolve the client address of a WSGI request.

    :param trusted_proxies: peers whose forwarded header is believed.
    :param forwarded_header: ``x-forwarded-for`` or ``forwarded``: the one
        header the trusted proxies write. Only one is read, so a client
        cannot slip a forged ``Forwarded`` past a proxy that only appends
        ``X-Forwarded-For``.
    :param max_hops: the longest chain of trusted proxies walked.
    """

    def __init__(self, trusted_proxies: Optional[net.NetworkSet] = None,
                 forwarded_header: str = X_FORWARDED_FOR,
                 max_hops: int = 10) -> None:
        if forwarded_header not in FORWARDED_HEADERS:
            raise ValueError('forwarded_header must be one of %s, not %r'
                             % (', '.join(FORWARDED_HEADERS),
                                forwarded_header))
        self.trusted_proxies = trusted_proxies or net.NetworkSet()
        self.forwarded_header = forwarded_header
        self.max_hops = max_hops
        self._environ_key = _ENVIRON_KEYS[forwarded_header]
        self._split = (forwarded_for_nodes if forwarded_header == FORWARDED
                       else x_forwarded_for_nodes)

    def resolve(self, environ: Mapping[str, str]) -> net.IPAddress:
        """Return the client address of the request.

        :raises ClientAddressError: when it cannot be known with certainty.
        """
        remote = environ.get('REMOTE_ADDR')
        if not remote:
            raise ClientAddressError('no REMOTE_ADDR')
        try:
            current = net.parse_address(remote, allow_zone=True)
        except net.AddressError as exc:
            raise ClientAddressError(
                'REMOTE_ADDR is not an address: %s' % exc) from None
        if current not in self.trusted_proxies:
            return current
        header = environ.get(self._environ_key)
        if not header:
            return current
        nodes = self._split(header)
        for hops, node in enumerate(reversed(nodes)):
            if current not in self.trusted_proxies:
                return current
            if hops >= self.max_hops:
                raise ClientAddressError(
                    'more than %d trusted proxies in %s'
                    % (self.max_hops, self.forwarded_header))
            address = parse_node(node) if node else None
            if address is None:
                raise ClientAddressError(
                    'trusted proxy %s forwarded an unknown client (%r)'
                    % (current, node))
            current = address
        return current
