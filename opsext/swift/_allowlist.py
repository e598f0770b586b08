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


"""Allowlists stored in Swift metadata: reading, caching and validating.

A container's allowlist is the union of its metadata items named ``allow``
or ``allow-<anything>`` (``X-Container-Meta-Allow-Office: 192.0.2.0/24``);
an account's items of the same names are the default for containers that
set none. Each value holds addresses or CIDR networks separated by commas or
white space, in the strict syntax of :mod:`opsext.net`.

Nothing here imports swift: the middleware hands in plain dicts.
"""

import collections
import functools
from typing import Iterable, Mapping, NamedTuple, Optional

from opsext import net

#: Swift's limit on one metadata value (``MAX_META_VALUE_LENGTH``).
MAX_VALUE_LENGTH = 256
_META_NAME = 'allow'


class AllowList(NamedTuple):
    """A parsed allowlist; ``error`` is set when stored metadata is bad."""

    networks: net.NetworkSet
    error: Optional[str] = None


def is_allow_key(key: str) -> bool:
    """True for a (lower-case) metadata key that holds allowlist entries."""
    return key == _META_NAME or key.startswith(_META_NAME + '-')


def allow_items(meta: Mapping[str, str]) -> tuple:
    """The allowlist items of Swift ``info['meta']``, as a hashable key.

    Empty values are skipped: Swift deletes a metadata item set to ''.
    The same metadata in another order is merely another cache entry.
    """
    return tuple((key, value) for key, value in meta.items()
                 if value and is_allow_key(key.lower()))


def parse_items(items: Iterable[tuple[str, str]]) -> AllowList:
    """Parse stored allowlist items; never raises.

    A bad entry does not drop out silently: the whole list is marked bad
    (``error`` names the key and entry), and the caller denies everyone
    that its operator ranges do not let in.
    """
    ranges = []
    for key, value in items:
        try:
            ranges.extend(net.parse_range_list(value))
        except net.AddressError as exc:
            return AllowList(net.NetworkSet(), '%s: %s' % (key, exc))
    return AllowList(net.NetworkSet.from_ranges(ranges))


def validate_value(header: str, value: str) -> Optional[str]:
    """Check one allowlist header a client writes.

    Exactly what :func:`parse_items` reads without error is accepted: a
    value the read side would find malformed is never stored.

    :returns: None when the value is acceptable (the empty value deletes
        the item), else a message naming the header and the bad entry.
    """
    if value == '':
        return None
    if len(value.encode('utf-8')) > MAX_VALUE_LENGTH:
        return '%s: value longer than %d bytes' % (header, MAX_VALUE_LENGTH)
    try:
        net.parse_range_list(value)     # what parse_items reads
    except net.AddressError as exc:
        return '%s: invalid entry %r: %s' % (header, exc.entry, exc.reason)
    return None


class ParsedCache:
    """A bounded cache of parsed allowlists, keyed by their raw items.

    Lists are parsed once per distinct metadata, not once per request; a
    changed list is a different key, so a stale parse is never served.
    It shows through the proxy: a list near Swift's 4 KiB metadata limit
    takes milliseconds to parse (see :mod:`opsext.net`), a cached one a
    lookup of microseconds.
    """

    def __init__(self, size: int) -> None:
        self.get = functools.lru_cache(maxsize=size)(parse_items)


class OnceLog:
    """Remembers the last ``size`` keys seen, to log a condition once."""

    def __init__(self, size: int) -> None:
        self._seen: collections.OrderedDict = collections.OrderedDict()
        self._size = size

    def first(self, key: object) -> bool:
        """True the first time ``key`` is seen (within the window)."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = True
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True
