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


"""Nova scheduler weigher: prefer the hosts of the request's subnet group.

Weighs 1.0 the hosts that serve the longest-prefix network containing the
request's source address, 0.0 the others: with the filter off (or with
``untagged_hosts = allow``), it turns the subnet affinity into a
preference.

Unlike the filter, which decides the request's group from every tagged
aggregate of the cloud (a full group gives no host, never a wider one),
the weigher takes the longest match among the hosts it weighs: a
preference for the nearest group that has a candidate (the next-wider
group when the request's own has none), which is also the group the
filter lets through with ``spill_to_wider_group``. It reads nothing from
nova's database for a stamped request.

The multiplier is ``[opsext_subnet_affinity]
subnet_affinity_weight_multiplier``, overridden per aggregate by metadata
of the same name (the lowest wins across a host's aggregates).

Sample ``nova.conf`` of the scheduler::

    [filter_scheduler]
    # the default, nova.scheduler.weights.all_weighers, and ours:
    weight_classes = nova.scheduler.weights.all_weighers,
        opsext.nova.weights.all_weighers

    [opsext_subnet_affinity]
    # the default, 10.0, outweighs nova's default weighers
    subnet_affinity_weight_multiplier = 10.0
"""

import nova.conf
from nova.scheduler import utils
from nova.scheduler import weights
from oslo_log import log as logging

from opsext.nova import _adapter
from opsext.nova import _location
from opsext.subnet_affinity import options

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF
MULTIPLIER = 'subnet_affinity_weight_multiplier'


class SubnetAffinityWeigher(weights.BaseHostWeigher):
    """Weigh 1.0 the hosts of the request's subnet group, 0.0 the rest."""

    def __init__(self) -> None:
        super().__init__()
        # No all_aggregates: the match is over the hosts being weighed.
        self._adapter = _adapter.PolicyAdapter(CONF, LOG, _location.locate)
        # Read once, as every option of ours (it is not a mutable option):
        # nova asks for it once per host and request.
        self._multiplier = getattr(CONF[options.GROUP], MULTIPLIER)

    def weight_multiplier(self, host_state) -> float:
        """The configured multiplier, or the aggregates' override."""
        return utils.get_weight_multiplier(host_state, MULTIPLIER,
                                           self._multiplier)

    def weigh_objects(self, weighed_obj_list, weight_properties) -> list:
        """Weights of all hosts, the request matched once."""
        return [verdict.weight for _, verdict in self._adapter.verdicts(
            [weighed.obj for weighed in weighed_obj_list], weight_properties)]

    def _weigh_object(self, host_state, weight_properties) -> float:
        return next(self._adapter.verdicts([host_state],
                                           weight_properties))[1].weight


def all_weighers() -> list:
    """Weigher classes for ``[filter_scheduler] weight_classes``."""
    return [SubnetAffinityWeigher]
