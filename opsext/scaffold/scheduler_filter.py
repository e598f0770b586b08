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

"""Template of ``opsext new scheduler-filter NAME``: a Nova host filter.

The generated filter is the Operations Guide's IP-based scheduler as a
filter (custom scheduler drivers left Nova in 23.0.0): hosts of an
aggregate whose metadata lists networks take only requests from those
networks.  It has the shape of Nova's own filters
(``nova/scheduler/filters/*.py``): ``host_passes`` only,
``RUN_ON_REBUILD`` and ``run_filter_once_per_request`` set on purpose,
every rejection logged at debug with its reason, its option in its own
group with ``list_opts`` for oslo-config-generator.  Its tests use opsext's
``nova_scheduler`` and ``nova_cloud`` fixtures.
"""

MODULE = '''\
"""{{title}}: Nova hosts that take requests only from their networks.

A Nova scheduler filter. Hosts in a host aggregate whose metadata
``{{name}}_cidrs`` lists networks (commas between them) take new servers
only from clients in those networks; hosts in no such aggregate take any.
In the scheduler's nova.conf::

    [filter_scheduler]
    available_filters = nova.scheduler.filters.all_filters
    available_filters = {{name}}.filters.{{Camel}}Filter
    enabled_filters = ComputeFilter,ImagePropertiesFilter,{{Camel}}Filter

    [{{name}}]
    # Aggregate metadata key holding a host's networks.
    # metadata_key = {{name}}_cidrs

and on the aggregates::

    openstack aggregate set --property {{name}}_cidrs=10.1.0.0/16 office

The client address is the one nova-api saw (the request context's
``remote_address``); behind a load balancer, nova-api must read
X-Forwarded-For (``[oslo_middleware] enable_proxy_headers_parsing``). A
request with no usable address passes only hosts in no such aggregate;
a host whose metadata is not a list of networks fails (fail closed), with
the reason logged at debug. Rebuilds keep their host.
"""

import ipaddress
import logging

from nova.scheduler import filters
from oslo_config import cfg

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
GROUP = '{{name}}'
OPTS = [
    cfg.StrOpt('metadata_key', default='{{name}}_cidrs',
               help='Aggregate metadata key listing the client networks '
                    'whose servers the aggregate\\'s hosts take.'),
]


def list_opts():
    """Options for oslo-config-generator (entry point oslo.config.opts)."""
    return [(GROUP, OPTS)]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def _address(spec_obj):
    """The client address of the request, or None."""
    context = getattr(spec_obj, '_context', None)
    try:
        address = ipaddress.ip_address(
            getattr(context, 'remote_address', None) or '')
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


class {{Camel}}Filter(filters.BaseHostFilter):
    """Pass hosts whose aggregates' networks hold the client address."""

    RUN_ON_REBUILD = False
    # The answer depends on each host's aggregates.
    run_filter_once_per_request = False

    def __init__(self):
        super().__init__()
        register_opts(CONF)

    def host_passes(self, host_state, spec_obj):
        key = CONF[GROUP].metadata_key
        values = [agg.metadata[key] for agg in host_state.aggregates
                  if key in agg.metadata]
        if not values:
            return True
        try:
            networks = [ipaddress.ip_network(item.strip(), strict=False)
                        for value in values for item in value.split(',')
                        if item.strip()]
        except ValueError as exc:
            LOG.debug('%(host)s fails {{Camel}}Filter: malformed %(key)s: '
                      '%(error)s', {'host': host_state.host, 'key': key,
                                    'error': exc})
            return False
        address = _address(spec_obj)
        if address is not None and any(address in net for net in networks):
            return True
        LOG.debug('%(host)s fails {{Camel}}Filter: client %(address)s is '
                  'not in %(networks)s', {
                      'host': host_state.host, 'address': address,
                      'networks': ', '.join(str(n) for n in networks)})
        return False
'''

TESTS = '''\
"""{{title}} in Nova's own HostManager: opsext's nova_scheduler."""

import pytest

FILTERS = ['ComputeFilter', '{{name}}.filters.{{Camel}}Filter']
AGGREGATES = {
    'office': {'hosts': ['office1'],
               'metadata': {'{{name}}_cidrs': '10.1.0.0/16'}},
    'lab': {'hosts': ['lab1'],
            'metadata': {'{{name}}_cidrs': '10.2.0.0/16, 10.3.0.0/16'}},
}
HOSTS = ['office1', 'lab1', 'any1']


@pytest.fixture
def scheduler(nova_scheduler):
    return nova_scheduler(filters=FILTERS, hosts=HOSTS,
                          aggregates=AGGREGATES)


def test_filter_is_loaded_from_nova_config(scheduler):
    assert scheduler.enabled_filters == ['ComputeFilter', '{{Camel}}Filter']


def test_office_client_may_use_the_office_host(scheduler):
    assert scheduler.filtered(source_address='10.1.2.3') == [
        'office1', 'any1']


def test_lab_client_may_use_the_lab_host(scheduler):
    assert scheduler.filtered(source_address='10.3.0.9') == ['lab1', 'any1']


def test_10_10_is_not_taken_for_10_1(scheduler):
    assert scheduler.filtered(source_address='10.10.2.3') == ['any1']


def test_no_address_passes_only_untagged_hosts(scheduler):
    assert scheduler.filtered() == ['any1']


def test_malformed_metadata_fails_the_host(nova_scheduler):
    scheduler = nova_scheduler(filters=FILTERS, hosts=HOSTS, aggregates={
        'bad': {'hosts': ['office1'],
                'metadata': {'{{name}}_cidrs': '10.1.0.0/16, 10.999.0.0/16'}}})
    assert scheduler.filtered(source_address='10.1.2.3') == ['lab1', 'any1']


def test_metadata_key_option(nova_scheduler):
    scheduler = nova_scheduler(
        filters=FILTERS, hosts=HOSTS, conf={'{{name}}': {'metadata_key': 'x'}},
        aggregates={'office': {'hosts': ['office1'],
                               'metadata': {'x': '10.1.0.0/16'}}})
    assert scheduler.filtered(source_address='10.2.0.1') == ['lab1', 'any1']
'''

CLOUD_TESTS = '''\
"""{{title}} in Nova's in-process cloud: opsext's nova_cloud."""


def test_servers_land_on_the_hosts_of_their_network(nova_cloud):
    cloud = nova_cloud(
        filters=['ComputeFilter', '{{name}}.filters.{{Camel}}Filter'],
        hosts=['office1', 'any1'],
        aggregates={'office': {'hosts': ['office1'], 'metadata': {
            '{{name}}_cidrs': '10.1.0.0/16'}}})
    outsider = cloud.boot(source_address='172.16.0.5')
    assert cloud.host_of(outsider) == 'any1'
    cloud.admin_api.put_service(cloud.admin_api.get_services(
        host='any1', binary='nova-compute')[0]['id'], {'status': 'disabled'})
    assert cloud.host_of(cloud.boot(source_address='10.1.2.3')) == 'office1'
    refused = cloud.boot(source_address='172.16.0.5', expected_state='ERROR')
    assert 'No valid host' in refused['fault']['message']
'''

README = '''\
{{title}}
{{title_rule}}

A Nova scheduler filter: hosts of an aggregate with ``{{name}}_cidrs``
metadata take servers only from clients in those networks.
``{{name}}/filters.py`` documents its configuration.

Test it in Nova's own scheduler code and in Nova's in-process cloud::

    tox -e py3

The tests use the ``nova_scheduler`` and ``nova_cloud`` fixtures of
opsext's pytest plugin. ``devstack/plugin.sh`` enables the filter in a
DevStack cloud: ``enable_plugin {{dist}} <git url>``.
'''

DEVSTACK = '''\
#!/bin/bash
# DevStack plugin stub of {{dist}}: install it and enable the filter in
# the scheduler's nova.conf (keeping Nova's filters). Review before use.
# local.conf: enable_plugin {{dist}} <git url>

if [[ "$1" == "stack" && "$2" == "install" ]]; then
    setup_develop ${{UPPER}}_DIR

elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
    if is_service_enabled n-sch; then
        available=$(iniget $NOVA_CONF filter_scheduler available_filters)
        if [[ -z "$available" ]]; then
            iniset $NOVA_CONF filter_scheduler available_filters \\
                nova.scheduler.filters.all_filters
        fi
        iniadd $NOVA_CONF filter_scheduler available_filters \\
            {{name}}.filters.{{Camel}}Filter
        enabled=$(iniget $NOVA_CONF filter_scheduler enabled_filters)
        # Nova's default list when nova.conf has none.
        enabled=${enabled:-ComputeFilter,ComputeCapabilitiesFilter,\\
ImagePropertiesFilter,ServerGroupAntiAffinityFilter,\\
ServerGroupAffinityFilter}
        if [[ ",$enabled," != *",{{Camel}}Filter,"* ]]; then
            iniset $NOVA_CONF filter_scheduler enabled_filters \\
                "$enabled,{{Camel}}Filter"
        fi
    fi
fi
'''

FILES = {
    '{{name}}/__init__.py': '',
    '{{name}}/filters.py': MODULE,
    'tests/test_{{name}}.py': TESTS,
    'tests/test_{{name}}_cloud.py': CLOUD_TESTS,
    'README.rst': README,
    'devstack/plugin.sh': DEVSTACK,
    'devstack/settings': '{{UPPER}}_DIR=$DEST/{{dist}}\n',
}
