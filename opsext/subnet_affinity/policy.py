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


"""Subnet-affinity policy: which hosts serve a request, and why.

Hosts are grouped by the subnets they serve, from two sources:

* host aggregate metadata, ``opsext_subnets=10.1.0.0/16,2001:db8:1::/48``
  on the aggregates a host belongs to;
* static rules from configuration, ``10.1.0.0/16 = doc*``: hosts whose
  name matches a pattern serve that network (the Operations Guide's
  example: 10.1/16 to ``doc*``, 10.2/16 to ``ops*``, everything else,
  ``0.0.0.0/0``, to ``dev*``).

A request is matched to the **longest prefix** among all those networks
that contains its source address (the guide's ``startswith('10.1')`` also
matched 10.10.x). Hosts serving that network pass; hosts serving other
networks fail; hosts in no group pass or fail by ``untagged_hosts``.
Requests whose address matches no network go to any host, to untagged
hosts only, or nowhere, by ``unmatched_requests``; a request without an
address is refused (fail closed).

A server being moved is matched by the host it lives on instead
(:meth:`Policy.match_anchor`): it keeps every network that host serves,
whoever moves it and from wherever.

A host whose aggregate metadata does not parse fails every request (which
subnet it serves cannot be known), with a warning naming the aggregate and
the value. Nothing here raises while scheduling.
"""

import fnmatch
import functools
import re
from typing import Callable, Iterable, Mapping, NamedTuple, Optional

from opsext import net

UNMATCHED_REQUESTS = ('any', 'untagged', 'none')
UNTAGGED_HOSTS = ('allow', 'deny')
DEFAULT_METADATA_KEY = 'opsext_subnets'
_PATTERN = re.compile(r'\A[A-Za-z0-9*?\[\]._-]{1,255}\Z')


class StaticRule(NamedTuple):
    network: net.IPNetwork
    patterns: tuple  # shell patterns on host names


class HostView(NamedTuple):
    """What the policy knows of a host."""

    name: str
    aggregates: tuple = ()  # (aggregate name, metadata mapping) pairs


class RequestMatch(NamedTuple):
    """The subnet group a request was matched to, once per request.

    A new instance is matched by its source address to one network. An
    instance being moved is matched to the networks its current host
    serves (``anchor`` names that host). ``closed`` means no host may pass:
    the group could not be known and the policy fails closed.
    """

    address: Optional[net.IPAddress]
    network: Optional[net.IPNetwork]
    reason: str
    networks: frozenset = frozenset()
    anchor: Optional[str] = None
    closed: bool = False


class Verdict(NamedTuple):
    """Whether a host may take a request, its weight, and why.

    The reason is written only when it is read (a debug line, the
    explainer): a request's verdicts are decided for every group of hosts,
    and ``str()`` of a network costs more than the decision.
    """

    passes: bool
    weight: float  # 1.0 on a host of the request's group, else 0.0
    why: str  # the reason, or its %-template when ``details`` is given
    details: tuple = ()

    @property
    def reason(self) -> str:
        if not self.details:
            return self.why
        return self.why % tuple(map(_text, self.details))


def parse_static_rule(text: str) -> StaticRule:
    """Parse ``<network> = <pattern>[, <pattern>...]``.

    :raises ValueError: naming the bad part.
    """
    network_text, sep, patterns_text = text.partition('=')
    if not sep:
        raise ValueError('%r: write <network> = <host pattern>, ...' % text)
    try:
        network = net.parse_network(network_text.strip())
    except net.AddressError as exc:
        raise ValueError('%r: %s' % (text, exc)) from None
    patterns = tuple(p.strip() for p in patterns_text.split(','))
    bad = [p for p in patterns if not _PATTERN.match(p)]
    if bad or not patterns:
        raise ValueError('%r: bad host pattern %r' % (text, bad[0] if bad
                                                      else patterns_text))
    return StaticRule(network, patterns)


class Policy:
    """The subnet-affinity decision, shared by filter, weigher, explain."""

    def __init__(self, static_rules: Iterable[StaticRule] = (),
                 metadata_key: str = DEFAULT_METADATA_KEY,
                 unmatched_requests: str = 'any',
                 untagged_hosts: str = 'allow',
                 warn: Optional[Callable[..., None]] = None) -> None:
        if unmatched_requests not in UNMATCHED_REQUESTS:
            raise ValueError('unmatched_requests must be one of %s'
                             % ', '.join(UNMATCHED_REQUESTS))
        if untagged_hosts not in UNTAGGED_HOSTS:
            raise ValueError('untagged_hosts must be one of %s'
                             % ', '.join(UNTAGGED_HOSTS))
        self.static_rules = tuple(static_rules)
        self.metadata_key = metadata_key
        self.unmatched_requests = unmatched_requests
        self.untagged_hosts = untagged_hosts
        self._warn = warn
        self._warned: set = set()
        # Pure functions of values that repeat across hosts and requests
        # (a cloud has few distinct metadata values; its host names are
        # fixed): each is worked out once, in a bounded cache.
        self._parse = functools.lru_cache(maxsize=4096)(_parse_networks)
        self._rules_of = functools.lru_cache(maxsize=65536)(
            self._match_rules)

    def _aggregate_networks(self, aggregate: str, metadata: Mapping):
        """Networks an aggregate tags its hosts with; None if malformed."""
        raw = metadata.get(self.metadata_key) if metadata else None
        if raw is None:
            return ()
        networks = self._parse(raw)
        if networks is None and (aggregate, raw) not in self._warned:
            self._warned.add((aggregate, raw))
            if self._warn is not None:
                self._warn('aggregate %(aggregate)s has malformed %(key)s '
                           'metadata %(value)r: its hosts fail every request',
                           {'aggregate': aggregate, 'key': self.metadata_key,
                            'value': raw})
        return networks

    def _match_rules(self, name: str) -> tuple:
        return tuple(index for index, rule in enumerate(self.static_rules)
                     if any(fnmatch.fnmatchcase(name, pattern)
                            for pattern in rule.patterns))

    def static_rules_of(self, name: str) -> tuple:
        """Indices of the static rules whose patterns match host ``name``.

        Hosts with the same indices and aggregates are in the same group.
        """
        return self._rules_of(name)

    def host_networks(self, host: HostView):
        """(networks the host serves, names of malformed aggregates).

        A frozenset and a tuple.
        """
        networks = {self.static_rules[index].network
                    for index in self._rules_of(host.name)}
        malformed = []
        for aggregate, metadata in host.aggregates:
            parsed = self._aggregate_networks(aggregate, metadata)
            if parsed is None:
                malformed.append(aggregate)
            else:
                networks.update(parsed)
        return frozenset(networks), tuple(malformed)

    def match(self, address: Optional[net.IPAddress],
              hosts: Iterable[HostView] = ()) -> RequestMatch:
        """Match a source address to its longest-prefix network.

        ``hosts`` supplies the aggregate networks; done once per request.
        """
        if address is None:
            # An unknown origin is refused, never "unmatched".
            return self.closed('no usable source address')
        best = None
        for network in self._networks(hosts):
            if network.version == address.version and address in network \
                    and (best is None or network.prefixlen > best.prefixlen):
                best = network
        if best is None:
            return RequestMatch(address, None,
                                '%s matches no subnet rule' % address)
        return RequestMatch(address, best, '%s matches %s' % (address, best),
                            frozenset((best,)))

    def _networks(self, hosts: Iterable[HostView]) -> list:
        """Every network of the static rules and of ``hosts``' aggregates."""
        candidates = [rule.network for rule in self.static_rules]
        seen = set()
        for host in hosts:
            for aggregate, metadata in host.aggregates:
                raw = metadata.get(self.metadata_key) if metadata else None
                if raw is None or (aggregate, raw) in seen:
                    continue
                seen.add((aggregate, raw))
                candidates.extend(
                    self._aggregate_networks(aggregate, metadata) or ())
        return candidates

    def wider(self, match: RequestMatch,
              hosts: Iterable[HostView] = ()) -> Optional[RequestMatch]:
        """The match of the next-wider network holding the address.

        For ``spill_to_wider_group``: None when there is none, or when
        ``match`` is not a source address's match (a move by its host, an
        unmatched or a refused request).
        """
        if match.network is None or match.anchor is not None \
                or match.closed or match.address is None:
            return None
        address, best = match.address, None
        for network in self._networks(hosts):
            if network.version == address.version and address in network \
                    and network.prefixlen < match.network.prefixlen \
                    and (best is None or network.prefixlen > best.prefixlen):
                best = network
        if best is None:
            return None
        return RequestMatch(address, best, '%s matches %s (wider: no host '
                            'of %s could take it)' % (address, best,
                                                      match.network),
                            frozenset((best,)))

    def match_anchor(self, anchor: HostView) -> RequestMatch:
        """Match a move to the subnet group of the instance's host.

        An instance being migrated, evacuated or unshelved keeps the group
        it was placed in, whoever moves it: its group is every network its
        current (or, shelved, its last) host serves. An instance on a host
        in no group is an unmatched request; one on a host whose aggregate
        metadata is malformed cannot be placed (fail closed).
        """
        networks, malformed = self.host_networks(anchor)
        if malformed:
            return RequestMatch(
                None, None, "the instance's host %s is in aggregate %s with "
                "malformed %s metadata" % (anchor.name, ', '.join(malformed),
                                           self.metadata_key),
                anchor=anchor.name, closed=True)
        if not networks:
            return RequestMatch(None, None, "the instance's host %s is in "
                                "no subnet group" % anchor.name,
                                anchor=anchor.name)
        return RequestMatch(None, None, "the instance's host %s serves %s"
                            % (anchor.name, _names(networks)),
                            frozenset(networks), anchor.name)

    @staticmethod
    def closed(reason: str) -> RequestMatch:
        """A match that no host passes: the request's group is unknown."""
        return RequestMatch(None, None, reason, closed=True)

    def verdict(self, host: HostView, match: RequestMatch) -> Verdict:
        """Whether ``host`` may take the request, its weight, and why."""
        if match.closed:
            return Verdict(False, 0.0, match.reason)
        networks, malformed = self.host_networks(host)
        return self._verdict(networks, malformed, match)

    def _verdict(self, networks: frozenset, malformed: tuple,
                 match: RequestMatch) -> Verdict:
        if malformed:
            return Verdict(False, 0.0, 'aggregate %s has malformed %s '
                           'metadata', (', '.join(malformed),
                                        self.metadata_key))
        if not match.networks:
            if self.unmatched_requests == 'any':
                return Verdict(True, 0.0, '%s; unmatched_requests=any',
                               (match.reason,))
            if self.unmatched_requests == 'untagged' and not networks:
                return Verdict(True, 0.0, '%s; host is in no subnet group',
                               (match.reason,))
            if networks:
                return Verdict(False, 0.0, '%s; unmatched_requests=%s and '
                               'the host serves %s', (
                                   match.reason, self.unmatched_requests,
                                   networks))
            return Verdict(False, 0.0, '%s; unmatched_requests=%s',
                           (match.reason, self.unmatched_requests))
        shared = match.networks & networks
        if shared and match.anchor is not None:
            return Verdict(True, 1.0, 'serves %s, as %s does',
                           (shared, match.anchor))
        if shared:
            return Verdict(True, 1.0, 'serves %s, the longest match for %s',
                           (match.network, match.address))
        if not networks:
            if self.untagged_hosts == 'allow':
                return Verdict(True, 0.0, 'host is in no subnet group; '
                               'untagged_hosts=allow')
            return Verdict(False, 0.0, 'host is in no subnet group; '
                           'untagged_hosts=deny')
        if match.anchor is not None:
            return Verdict(False, 0.0, "serves %s; the instance's host %s "
                           "serves %s", (networks, match.anchor,
                                         match.networks))
        return Verdict(False, 0.0, 'serves %s; the request from %s is for '
                       '%s', (networks, match.address, match.network))


def _parse_networks(raw) -> Optional[tuple]:
    """The networks of a metadata value; None if malformed."""
    try:
        return tuple(net.parse_network_list(raw))
    except (net.AddressError, TypeError, AttributeError):
        return None


def _names(networks) -> str:
    return ', '.join(sorted(str(n) for n in networks))


def _text(detail) -> str:
    if isinstance(detail, frozenset):
        return _names(detail)
    return str(detail)
