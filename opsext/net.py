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


"""Strict IP address and network parsing, and a fast network matcher.

Everything that decides on an address in opsext goes through this module, so
the whole project accepts exactly one spelling of an address:

* IPv4 in dotted-quad form only: no leading zeros (``010.0.0.1``), no hex or
  octal (``0x0a.0.0.1``), no short forms (``10.1``) and no integers
  (``167772161``). Python's :mod:`ipaddress` already refuses these; we refuse
  anything outside a small alphabet first so that no other parser's quirks
  can leak in.
* Networks in CIDR form with a decimal prefix length; host bits must be zero
  (``10.0.0.1/8`` is an error, not ``10.0.0.0/8``) and netmask forms
  (``10.0.0.0/255.0.0.0``) are refused.
* IPv4-mapped IPv6 (``::ffff:10.0.0.1``) is normalised to IPv4, for addresses
  and for networks inside ``::ffff:0:0/96``, so a v4 rule matches a client
  that a dual-stack socket reports in mapped form.
* IPv6 zone ids (``fe80::1%eth0``) are refused in networks; a client
  address may carry one, which is dropped before matching.

This module imports neither swift nor nova: every opsext plugin uses it.
"""

import bisect
import ipaddress
import re
from typing import Iterable, Union

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

#: Longest network entry we parse: a full IPv6 network with prefix is 43
#: characters; anything much longer is garbage and refused before parsing.
MAX_ENTRY_LENGTH = 64

_ADDRESS_CHARS = re.compile(r'\A[0-9A-Fa-f:.]+\Z')
_PREFIX = re.compile(r'\A(?:0|[1-9][0-9]{0,2})\Z')
_ZONE = re.compile(r'\A[0-9A-Za-z_.~-]{1,32}\Z')
_SEPARATORS = re.compile(r'[\s,]+')
_MAPPED_V4 = ipaddress.IPv6Network('::ffff:0:0/96')
# Built from (int, prefix): 6x cheaper than from an address object, which
# ipaddress converts through its string form.
_NETWORK_CLASS = {4: ipaddress.IPv4Network, 6: ipaddress.IPv6Network}
# The common entry, an IPv4 address or network in its one strict spelling,
# matched in one expression and built from integers: about 5x cheaper than
# the general path, and what a request refused by the Swift allowlist pays
# per entry when its list is not in the parse cache. It shows through the
# proxy: a request refused after parsing a ~480-entry list (Swift's 4 KiB
# metadata limit) took 6.0 ms with it and 10.4 ms with the general path
# alone (the setup of bench_ip_allowlist.py section 3, both in one run,
# 2026-11). Anything else takes the general path, which decides.
_OCTET = r'(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
_IPV4_ENTRY = re.compile(r'\A%s\.%s\.%s\.%s(?:/(3[0-2]|[12][0-9]|[0-9]))?\Z'
                         % ((_OCTET,) * 4), re.ASCII)


class AddressError(ValueError):
    """An address or network that opsext refuses to parse.

    ``entry`` is the offending text, for error messages that name it.
    """

    def __init__(self, entry: str, reason: str) -> None:
        self.entry = entry
        self.reason = reason
        super().__init__('%r: %s' % (entry, reason))


def _check_text(text: str) -> None:
    if not isinstance(text, str):
        raise AddressError(repr(text), 'not a string')
    if not text:
        raise AddressError(text, 'empty entry')
    if len(text) > MAX_ENTRY_LENGTH:
        raise AddressError(text[:MAX_ENTRY_LENGTH] + '...', 'too long')


def _parse_plain_address(text: str) -> IPAddress:
    if not _ADDRESS_CHARS.match(text):
        raise AddressError(text, 'not an IPv4 or IPv6 address')
    try:
        if ':' in text:
            address = ipaddress.IPv6Address(text)
        else:
            address = ipaddress.IPv4Address(text)
    except ValueError:
        raise AddressError(
            text, 'not an IPv4 dotted quad or IPv6 address') from None
    return normalize_address(address)


def normalize_address(address: IPAddress) -> IPAddress:
    """Return IPv4 for an IPv4-mapped IPv6 address, else the address."""
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_address(text: str, allow_zone: bool = False) -> IPAddress:
    """Parse one address strictly.

    :param text: the address, e.g. ``192.0.2.1`` or ``2001:db8::1``.
    :param allow_zone: accept and drop an IPv6 zone id (``fe80::1%eth0``).
    :raises AddressError: naming the entry when it is not a valid address.
    """
    _check_text(text)
    if '%' in text:
        address_text, _, zone = text.partition('%')
        if not allow_zone:
            raise AddressError(text, 'zone ids are not allowed here')
        if ':' not in address_text or not _ZONE.match(zone):
            raise AddressError(text, 'malformed zone id')
        text = address_text
    return _parse_plain_address(text)


def parse_network(text: str) -> IPNetwork:
    """Parse one address or CIDR network strictly.

    A bare address is a network of one host (/32 or /128).

    :raises AddressError: naming the entry when it is not valid.
    """
    ipv4 = _parse_ipv4_entry(text)
    if ipv4 is not None:
        return ipaddress.IPv4Network(ipv4)
    return _parse_network_general(text)


#: What :class:`NetworkSet` keeps of a network: (version, first, last).
Range = tuple[int, int, int]


def parse_range(text: str) -> Range:
    """:func:`parse_network`, as the integer range a set keeps.

    The same entries are accepted and refused, with the same reasons; no
    :mod:`ipaddress` object is built for the common IPv4 entry.
    """
    ipv4 = _parse_ipv4_entry(text)
    if ipv4 is not None:
        value, prefix = ipv4
        return 4, value, value | ((1 << (32 - prefix)) - 1)
    network = _parse_network_general(text)
    return (network.version, int(network.network_address),
            int(network.broadcast_address))


def _parse_ipv4_entry(text: str):
    """(value, prefix) of an IPv4 entry in its one strict spelling, None
    for any other text (the general parser decides those)."""
    match = _IPV4_ENTRY.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    a, b, c, d, prefix_text = match.groups()
    value = (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)
    prefix = 32 if prefix_text is None else int(prefix_text)
    if value & ((1 << (32 - prefix)) - 1):
        raise AddressError(text, 'host bits set')
    return value, prefix


def _parse_network_general(text: str) -> IPNetwork:
    """:func:`parse_network` for any entry: the reference the fast path
    for IPv4 is tested against."""
    _check_text(text)
    address_text, slash, prefix_text = text.partition('/')
    try:
        address = parse_address(address_text)
    except AddressError as exc:
        raise AddressError(text, exc.reason) from None
    network_class = _NETWORK_CLASS[address.version]
    if not slash:
        return network_class((int(address), address.max_prefixlen))
    if not _PREFIX.match(prefix_text):
        raise AddressError(
            text, 'prefix length must be a decimal number (no netmasks)')
    prefix = int(prefix_text)
    if ':' in address_text and address.version == 4:
        # IPv4-mapped IPv6 network: keep it only if it is entirely inside
        # ::ffff:0:0/96, then express it as the IPv4 network it stands for.
        if prefix > 128:
            raise AddressError(text, 'prefix length out of range')
        if prefix < 96:
            raise AddressError(
                text, 'IPv4-mapped network wider than ::ffff:0:0/96')
        prefix -= 96
    if prefix > address.max_prefixlen:
        raise AddressError(text, 'prefix length out of range')
    try:
        return network_class((int(address), prefix), strict=True)
    except ValueError:
        raise AddressError(text, 'host bits set') from None


def split_entries(value: str) -> list[str]:
    """Split a list value on commas and white space.

    Empty entries (``a,,b`` or a trailing comma) are errors: they are more
    often a typo than an intent, and an allowlist is no place to guess.

    :raises AddressError: for an empty entry.
    """
    parts = [p.strip() for p in value.split(',')]
    entries = []
    for part in parts:
        if not part:
            raise AddressError(value, 'empty entry in list')
        entries.extend(_SEPARATORS.split(part))
    return entries


def parse_network_list(value: Union[str, Iterable[str]]) -> list[IPNetwork]:
    """Parse a comma or space separated list of networks strictly.

    :raises AddressError: naming the first bad entry.
    """
    entries = split_entries(value) if isinstance(value, str) else value
    return [parse_network(entry) for entry in entries]


def parse_range_list(value: str) -> list[Range]:
    """:func:`parse_network_list`, as integer ranges (see
    :func:`parse_range`)."""
    return [parse_range(entry) for entry in split_entries(value)]


class NetworkSet:
    """An immutable set of networks with O(log n) membership tests.

    Networks are collapsed into disjoint, sorted integer ranges per address
    family, so a lookup is one bisection whatever the number or overlap of
    the networks. ``address in netset`` takes an :mod:`ipaddress` address.
    """

    __slots__ = ('_starts', '_ends', '_count')

    def __init__(self, networks: Iterable[IPNetwork] = ()) -> None:
        self._build([(network.version, int(network.network_address),
                      int(network.broadcast_address))
                     for network in networks])

    @classmethod
    def from_ranges(cls, ranges: Iterable[Range]) -> 'NetworkSet':
        """Build a set from :func:`parse_range` results."""
        netset = cls.__new__(cls)
        netset._build(list(ranges))
        return netset

    def _build(self, ranges: list) -> None:
        self._count = len(ranges)
        self._starts: dict[int, list[int]] = {4: [], 6: []}
        self._ends: dict[int, list[int]] = {4: [], 6: []}
        # Merge overlapping and adjacent ranges as integers: an order of
        # magnitude cheaper than ipaddress.collapse_addresses, which builds
        # supernet objects (bench_ip_allowlist.py, section 3: a list near
        # Swift's 4 KiB metadata limit).
        for version, first, last in sorted(ranges):
            starts, ends = self._starts[version], self._ends[version]
            if ends and first <= ends[-1] + 1:
                if last > ends[-1]:
                    ends[-1] = last
            else:
                starts.append(first)
                ends.append(last)

    @classmethod
    def from_string(cls, value: str) -> 'NetworkSet':
        """Build a set from a comma or space separated list.

        :raises AddressError: naming the first bad entry.
        """
        return cls(parse_network_list(value) if value.strip() else ())

    def __contains__(self, address: IPAddress) -> bool:
        starts = self._starts[address.version]
        index = bisect.bisect_right(starts, int(address)) - 1
        return index >= 0 and int(address) <= self._ends[address.version][
            index]

    def __len__(self) -> int:
        """The number of networks given (before collapsing)."""
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __repr__(self) -> str:
        return '<NetworkSet of %d networks>' % self._count
