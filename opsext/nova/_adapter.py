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


"""What the filter and the weigher share: the policy built from nova's
configuration, host views of ``HostState`` objects, and one match per
request: a new server by its source address, a moved one by its host."""

from typing import Callable, Iterable, Iterator, NamedTuple, Optional

from opsext import client_ip
from opsext.nova import _source
from opsext.subnet_affinity import options
from opsext.subnet_affinity import policy
from opsext.subnet_affinity import stamp


def _aggregate_view(aggregate) -> tuple:
    # Aggregate is a NovaObject: an unset field raises on access.
    try:
        name = aggregate.name
    except Exception:
        name = None
    if not name:
        name = 'id %s' % getattr(aggregate, 'id', '?')
    try:
        metadata = aggregate.metadata or {}
    except Exception:
        metadata = {}
    return name, metadata


def _aggregates_of(host_state):
    return getattr(host_state, 'aggregates', None) or ()


def _view(name: str, aggregates, seen: dict) -> policy.HostView:
    # ``seen`` (id of an aggregate -> the aggregate and its view), kept
    # for one request, reads each aggregate once: hosts share the objects.
    # An entry holds its aggregate, so that no other object can take its
    # id while ``seen`` lives.
    views = []
    for aggregate in aggregates:
        entry = seen.get(id(aggregate))
        if entry is None:
            entry = seen[id(aggregate)] = (aggregate,
                                           _aggregate_view(aggregate))
        views.append(entry[1])
    return policy.HostView(name, tuple(views))


def _read_once(spec_obj, name: str, read: Callable):
    """``read()``, kept on the request's spec for the rest of the request.

    The filter, the weigher, and the weigher again for each instance of a
    multi-create get the same RequestSpec object within one scheduling
    request; nova deserialises a new one for the next request. So what is
    read from nova's database is read once per request.
    """
    try:
        return spec_obj.__dict__[name]
    except (KeyError, AttributeError):
        pass
    value = read()
    try:
        spec_obj.__dict__[name] = value
    except AttributeError:  # an object without a __dict__: no caching
        pass
    return value


class Location(NamedTuple):
    """A new server (``host`` None), a server's host, or a failed lookup."""

    host: Optional[str] = None
    aggregates: tuple = ()  # (aggregate name, metadata) of ``host``
    error: Optional[str] = None


NEW = Location()


class PolicyAdapter:
    """The policy and the source-address resolver, built once.

    ``locate(spec_obj, aggregate_view)`` says where the server of a request
    lives (:func:`opsext.nova._location.locate` in nova; it reads nova's
    database, so it is passed in rather than imported here).
    ``all_aggregates(spec_obj, aggregate_view, metadata_key)`` gives every
    tagged aggregate (:func:`opsext.nova._location.all_aggregates`): the
    group is decided from all of them, never from the hosts that reached
    the filter, so that a full, disabled or truncated group gives no host
    rather than a wider group. None (offline use only): the candidates.

    :raises ConfigError: at start-up, naming a bad option.
    """

    def __init__(self, conf, log,
                 locate: Callable[..., Location],
                 all_aggregates: Optional[Callable[..., tuple]] = None
                 ) -> None:
        # Registered on the config object we are given, at construction:
        # never at import (registering twice is a no-op in oslo.config).
        options.register_opts(conf)
        self.conf = conf
        self.log = log
        self.policy = options.policy_from_conf(conf, warn=log.warning)
        self.resolver = client_ip.ClientAddressResolver(
            options.trusted_proxies_from_conf(conf))
        self.hint = options.source_address_hint_from_conf(conf)
        self.stamp_secret = options.source_stamp_secret_from_conf(conf)
        self.spill = options.spill_from_conf(conf)
        self._locate = locate
        self._all_aggregates = all_aggregates

    def _stamp_match(self, spec_obj, value, views) -> policy.RequestMatch:
        project_id = getattr(spec_obj, 'project_id', None)
        try:
            address = stamp.verify(self.stamp_secret, project_id, value)
        except stamp.StampError as exc:
            return self._refuse(str(exc))
        return self._match_address(spec_obj, address, views)

    def _match_address(self, spec_obj, address,
                       views) -> policy.RequestMatch:
        try:
            views = self._group_views(spec_obj, views)
        except Exception as exc:
            return self._refuse('cannot read the aggregates: %s' % exc)
        return self.policy.match(address, views)

    def _source_match(self, spec_obj, views) -> policy.RequestMatch:
        if self.stamp_secret is not None:
            return self._refuse(
                'a new server without the %s scheduler hint (is '
                'opsext_source_stamp in every nova-api pipeline?)'
                % stamp.HINT)
        if self.hint is not None:
            value = _source.hint_value(spec_obj, self.hint)
            if value is not None and not _source.is_admin(spec_obj):
                self.log.debug('ignoring scheduler hint %(hint)s: the '
                               'request context is not an admin\'s',
                               {'hint': self.hint})
            elif value is not None:
                address = _source.parse_hint(value)
                if address is None:
                    return self._refuse('scheduler hint %s=%r is not one '
                                        'address' % (self.hint, value))
                return self._match_address(spec_obj, address, views)
        try:
            address = _source.source_address(spec_obj, self.resolver)
        except client_ip.ClientAddressError as exc:
            return self._refuse(str(exc))
        except Exception as exc:  # an odd spec: never a traceback
            return self._refuse('cannot read the source address: %s' % exc)
        return self._match_address(spec_obj, address, views)

    def _refuse(self, reason: str) -> policy.RequestMatch:
        self.log.warning('subnet affinity refuses the request: %s', reason)
        return self.policy.closed(reason)

    def match(self, spec_obj, views) -> policy.RequestMatch:
        """The request's subnet group: by its stamp, else by source for a
        new server and by host for a moved one."""
        if self.stamp_secret is not None:
            value = _source.hint_value(spec_obj, stamp.HINT)
            if value is not None:
                # New or moved, the server belongs to the group of the
                # address it was created from: not its host's groups,
                # which may be several, or may have been re-tagged since.
                # Nothing else to read: one database read per request.
                return self._stamp_match(spec_obj, value, views)
        location = _read_once(spec_obj, '_opsext_location',
                              lambda: self._locate(spec_obj,
                                                   _aggregate_view))
        if location.error is not None:
            self.log.warning('subnet affinity fails closed: %s',
                             location.error)
            return self.policy.closed(location.error)
        if location.host is not None:
            # A server created before stamping began, or stamps off.
            return self.policy.match_anchor(
                policy.HostView(location.host, location.aggregates))
        return self._source_match(spec_obj, views)

    def verdicts(self, host_states: Iterable, spec_obj) -> Iterator:
        """(host state, verdict) pairs, the request matched once."""
        # Each HostState is read once, into two flat lists, and each view
        # is made twice, for the match then for the verdict, rather than
        # kept: thousands of tuples alive at once would wake the cyclic
        # garbage collector, whose full passes cost more than the views.
        states = list(host_states)
        names = [state.host for state in states]
        aggregates = [_aggregates_of(state) for state in states]
        seen: dict = {}
        match = self.match(spec_obj, (_view(name, aggs, seen)
                                      for name, aggs in zip(names,
                                                            aggregates)))
        verdicts = self._judge(names, aggregates, seen, match)
        while self.spill and not any(v.passes for v in verdicts):
            wider = self.policy.wider(match, self._group_views(
                spec_obj, [_view(n, a, seen)
                           for n, a in zip(names, aggregates)]))
            if wider is None:
                break
            self.log.info('subnet affinity: no host of %(group)s can take '
                          'the request; spill_to_wider_group: trying '
                          '%(wider)s', {'group': match.network,
                                        'wider': wider.network})
            match = wider
            verdicts = self._judge(names, aggregates, seen, match)
        return zip(states, verdicts)

    def _group_views(self, spec_obj, candidates) -> list:
        """The views the group is decided from: every tagged aggregate
        (read once per request), else the candidates."""
        if self._all_aggregates is None:
            return candidates
        return [policy.HostView('', _read_once(
            spec_obj, '_opsext_aggregates',
            lambda: tuple(self._all_aggregates(
                spec_obj, _aggregate_view, self.policy.metadata_key))))]

    def _judge(self, names, aggregates, seen, match) -> list:
        """The verdict of each host for ``match``.

        A verdict depends only on the static rules matching the host's
        name and on the host's aggregates, which hosts share (``seen``
        keeps the Aggregate objects alive, so their ids stay theirs): it
        is decided once per distinct pair, not once per host.
        """
        rules_of = self.policy.static_rules_of if self.policy.static_rules \
            else None
        by_group: dict = {}
        verdicts = []
        for name, aggs in zip(names, aggregates):
            key = (rules_of(name) if rules_of else (),
                   tuple(map(id, aggs)))
            verdict = by_group.get(key)
            if verdict is None:
                verdict = by_group[key] = self.policy.verdict(
                    _view(name, aggs, seen), match)
            verdicts.append(verdict)
        return verdicts
