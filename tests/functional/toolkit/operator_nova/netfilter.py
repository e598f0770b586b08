"""An operator's Nova filter and weigher, as the Ops Guide's IP scheduler.

Hosts in an aggregate with metadata ``source_cidrs`` take only requests
from those networks; other hosts take any. Hosts in an aggregate with
``preferred = true`` weigh 1, others 0.
"""

import ipaddress

from nova.scheduler import filters
from nova.scheduler import weights


class SourceNetworkFilter(filters.BaseHostFilter):

    RUN_ON_REBUILD = False
    run_filter_once_per_request = True

    def host_passes(self, host_state, spec_obj):
        address = getattr(spec_obj._context, 'remote_address', None)
        networks = [ipaddress.ip_network(n.strip())
                    for agg in host_state.aggregates
                    for n in agg.metadata.get('source_cidrs', '').split(',')
                    if n.strip()]
        if not networks:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in networks)


class PreferredWeigher(weights.BaseHostWeigher):

    def _weigh_object(self, host_state, weight_properties):
        return float(any(agg.metadata.get('preferred') == 'true'
                         for agg in host_state.aggregates))
