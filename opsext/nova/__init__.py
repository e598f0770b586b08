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


"""Nova scheduler adapters for subnet-affinity placement.

``nova`` is imported only under this package: the decision itself lives in
:mod:`opsext.subnet_affinity.policy`, which imports nothing of nova. Enable the
filter and the weigher in ``nova.conf`` of the scheduler::

    [filter_scheduler]
    available_filters = nova.scheduler.filters.all_filters
    available_filters = opsext.nova.filters.all_filters
    enabled_filters = ...,SubnetAffinityFilter
    # the default, nova.scheduler.weights.all_weighers, and ours:
    weight_classes = nova.scheduler.weights.all_weighers,
        opsext.nova.weights.all_weighers

    [opsext_subnet_affinity]
    trusted_proxies = 192.0.2.10

Hosts are tagged with aggregate metadata ``opsext_subnets``; see
:mod:`opsext.subnet_affinity.options` for every option.
"""
