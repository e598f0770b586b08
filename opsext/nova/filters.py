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


"""Nova scheduler filter: hosts of the request's subnet group only.

Passes the hosts that serve the longest-prefix network containing the
request's source address (aggregate metadata ``opsext_subnets`` and the
``[opsext_subnet_affinity] static_rules``); see
:mod:`opsext.subnet_affinity.policy` for hosts in no group and for
requests that match no network. Every rejection is logged at debug with
its reason, so "No valid host was found" can be explained from the
scheduler log.

Sample ``nova.conf`` of the scheduler::

    [filter_scheduler]
    available_filters = nova.scheduler.filters.all_filters
    available_filters = opsext.nova.filters.all_filters
    enabled_filters = ComputeFilter,...,SubnetAffinityFilter
"""

import nova.conf
from nova.scheduler import filters
from nova.scheduler import utils
from oslo_log import log as logging

from opsext.nova import _adapter
from opsext.nova import _location

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF


class SubnetAffinityFilter(filters.BaseHostFilter):
    """Pass the hosts of the subnet group the request comes from."""

    # A rebuild stays on its host: the instance already lives there, and
    # the caller of a rebuild may not be the original requester, so its
    # address says nothing about where the instance belongs.
    RUN_ON_REBUILD = False

    # The decision depends only on the request's source address and the
    # hosts' aggregates, both fixed for the whole request; and nova feeds
    # the hosts that passed for the first instance to the next ones, so
    # running again for each instance would only repeat the same answer.
    run_filter_once_per_request = True

    def __init__(self) -> None:
        super().__init__()
        self._adapter = _adapter.PolicyAdapter(
            CONF, LOG, _location.locate, _location.all_aggregates)

    def filter_all(self, filter_obj_list, spec_obj):
        """Yield the passing hosts, matching the request once."""
        # BaseHostFilter skips rebuilds in _filter_one, which filter_all
        # of our own bypasses: do the same here.
        if not self.RUN_ON_REBUILD and utils.request_is_rebuild(spec_obj):
            yield from filter_obj_list
            return
        # The level is checked once per request rather than in a debug
        # call per refused host: at 10,000 hosts those calls alone cost
        # about a fifth of the filter (bench/bench_placement.py).
        debug = LOG.isEnabledFor(logging.DEBUG)
        for host_state, verdict in self._adapter.verdicts(filter_obj_list,
                                                          spec_obj):
            if verdict.passes:
                yield host_state
            elif debug:
                LOG.debug("%(host)s fails subnet affinity: %(reason)s",
                          {'host': host_state, 'reason': verdict.reason})

    def host_passes(self, host_state, spec_obj) -> bool:
        """Whether one host passes (it alone supplies aggregate networks)."""
        return any(True for _ in self.filter_all([host_state], spec_obj))


def all_filters() -> list:
    """Filter classes for ``[filter_scheduler] available_filters``."""
    return [SubnetAffinityFilter]
