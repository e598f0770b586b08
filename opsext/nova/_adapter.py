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

from typing import Iterable

from opsext import client_ip
from opsext.nova import _location
from opsext.nova import _source
from opsext.placement import options
from opsext.placement import policy


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


def host_view(host_state) -> policy.HostView:
    """The policy's view of a nova ``HostState``."""
    aggregates = getattr(host_state, 'aggregates', None) or ()
    return policy.HostView(host_state.host,
                           tuple(_aggregate_view(a) for a in aggregates))


class PolicyAdapter:
    """The policy and the source-address resolver, built once.

    :raises ConfigError: at start-up, naming a bad option.
    """

    def __init__(self, conf, log) -> None:
        # Registered on the config object we are given, at construction:
        # never at import (registering twice is a no-op in oslo.config).
        options.register_opts(conf)
        self.conf = conf
        self.log = log
        self.policy = options.policy_from_conf(conf, warn=log.warning)
        self.resolver = client_ip.ClientAddressResolver(
            options.trusted_proxies_from_conf(conf))
        self.hint = options.source_address_hint_from_conf(conf)

    def _source_match(self, spec_obj, views) -> policy.RequestMatch:
        if self.hint is not None:
            value = _source.hint_value(spec_obj, self.hint)
            if value is not None and not _source.is_admin(spec_obj):
                self.log.debug('ignoring scheduler hint %(hint)s: the '
                               'request context is not an admin\'s',
                               {'hint': self.hint})
            elif value is not None:
                address = _source.parse_hint(value)
                if address is None:
                    self.log.warning('scheduler hint %(hint)s=%(value)r is '
                                     'not one address: the request is '
                                     'unmatched',
                                     {'hint': self.hint, 'value': value})
                return self.policy.match(address, views)
        return self.policy.match(
            _source.source_address(spec_obj, self.resolver), views)

    def match(self, spec_obj, views) -> policy.RequestMatch:
        """The request's subnet group: by source for a new server, by
        host for a moved one."""
        location = _location.locate(spec_obj, _aggregate_view)
        if location.error is not None:
            self.log.warning('subnet affinity fails closed: %s',
                             location.error)
            return self.policy.closed(location.error)
        if location.host is not None:
            return self.policy.match_anchor(
                policy.HostView(location.host, location.aggregates))
        return self._source_match(spec_obj, views)

    def verdicts(self, host_states: Iterable, spec_obj) -> list:
        """(host state, verdict) pairs, the request matched once."""
        views = [(state, host_view(state)) for state in host_states]
        match = self.match(spec_obj, [view for _, view in views])
        return [(state, self.policy.verdict(view, match))
                for state, view in views]
