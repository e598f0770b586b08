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

"""Template of ``opsext new middleware NAME``: a Swift proxy filter.

The generated filter refuses requests from configured client networks
(``deny_cidrs``) with 403: small, but a real Swift filter in the shape of
Swift's own (``swift/common/middleware/read_only.py``): config parsed once
in ``filter_factory``, errors naming the option, ``get_logger``,
``register_swift_info``, the module docstring as the operator's manual.
Its tests run it in a real Swift with opsext's ``swift_cluster`` fixture.
"""

MODULE = '''\
"""{{title}}: refuse Swift requests from listed client networks.

A Swift proxy middleware. Put it in the proxy pipeline right after the
auth filter (tempauth or keystoneauth)::

    [pipeline:main]
    pipeline = catch_errors gatekeeper healthcheck proxy-logging cache
        ... tempauth {{name}} staticweb copy ... proxy-logging proxy-server

    [filter:{{name}}]
    use = egg:{{dist}}#{{name}}
    # Client networks whose requests get 403 Forbidden, separated by
    # commas or spaces (default: none).
    # deny_cidrs = 192.0.2.0/24, 2001:db8::/32

The client address is the connection's (``REMOTE_ADDR``); an address
that cannot be parsed is refused too (fail closed). A value of
``deny_cidrs`` that is not a network stops the proxy at start-up with an
error naming the option. ``GET /info`` lists ``{{name}}`` with the number
of networks.
"""

import ipaddress

from swift.common import swob
from swift.common.utils import get_logger
from swift.common.utils import register_swift_info


def parse_networks(value):
    """The networks of a ``deny_cidrs`` value; ValueError names it."""
    networks = []
    for item in value.replace(',', ' ').split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError('{{name}}: deny_cidrs: %r is not a network '
                             '(e.g. 192.0.2.0/24)' % (item,))
    return networks


class {{Camel}}Middleware(object):
    """Answers 403 to requests from ``deny_cidrs``."""

    def __init__(self, app, conf, logger=None):
        self.app = app
        self.logger = logger or get_logger(conf, log_route='{{name}}')
        self.networks = parse_networks(conf.get('deny_cidrs', ''))

    def _denied(self, remote_addr):
        try:
            address = ipaddress.ip_address(remote_addr or '')
        except ValueError:
            return True
        if address.version == 6 and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def __call__(self, env, start_response):
        req = swob.Request(env)
        if self._denied(req.remote_addr):
            self.logger.info('{{name}}: %s %s from %s refused',
                             req.method, req.path, req.remote_addr)
            return swob.HTTPForbidden(
                body=b'Requests from your network are refused.\\n')(
                    env, start_response)
        return self.app(env, start_response)


def filter_factory(global_conf, **local_conf):
    """paste.deploy entry point: ``use = egg:{{dist}}#{{name}}``."""
    conf = dict(global_conf, **local_conf)
    networks = parse_networks(conf.get('deny_cidrs', ''))
    register_swift_info('{{name}}', deny_networks=len(networks))

    def {{name}}_filter(app):
        return {{Camel}}Middleware(app, conf)
    return {{name}}_filter
'''

TESTS = '''\
"""{{title}} in a real Swift: opsext's swift_cluster and swift_client.

The cluster (proxy, account, container, object servers, memcached) runs
on loopback ports; requests come from chosen 127.0.0.x addresses.
"""

import json

import pytest

from {{name}} import middleware

DENIED = '127.0.0.66'


@pytest.fixture(scope='module')
def swift_pipeline():
    """Our filter, right after tempauth."""
    return ['{{name}}']


@pytest.fixture(scope='module')
def swift_filters():
    return {
        '{{name}}': {
            'use': 'egg:{{dist}}#{{name}}',
            'deny_cidrs': '127.0.0.64/30',
        },
    }


def test_other_addresses_read_and_write(swift_client):
    name = swift_client.new_container_name()
    assert swift_client.put(name).status == 201
    assert swift_client.put(name + '/o', body=b'data').status == 201
    assert swift_client.get(name + '/o').body == b'data'


def test_denied_network_gets_403(swift_client):
    denied = swift_client.from_address(DENIED)
    assert denied.get().status == 403
    assert denied.put(swift_client.new_container_name()).status == 403


def test_info_lists_the_filter(swift_client):
    resp = swift_client.get('/info', token=False)
    assert resp.status == 200
    assert json.loads(resp.body)['{{name}}'] == {'deny_networks': 1}


def test_bad_network_stops_the_start_naming_the_option():
    with pytest.raises(ValueError) as info:
        middleware.filter_factory({}, deny_cidrs='10.0.0.0/8, 10.300.0.0/16')
    assert 'deny_cidrs' in str(info.value)
    assert '10.300.0.0/16' in str(info.value)
'''

README = '''\
{{title}}
{{title_rule}}

A Swift proxy middleware that refuses requests from listed client
networks. ``{{name}}/middleware.py`` documents where it goes and its
options.

Test it in a real all-in-one Swift (needs ``memcached``)::

    tox -e py3

The tests use the ``swift_cluster`` and ``swift_client`` fixtures of
opsext's pytest plugin. ``devstack/plugin.sh`` adds the filter to a
DevStack cloud's proxy: ``enable_plugin {{dist}} <git url>``.
'''

DEVSTACK = '''\
#!/bin/bash
# DevStack plugin stub of {{dist}}: install it, put the filter into the
# Swift proxy pipeline (before the last proxy-logging). Review before use.
# local.conf: enable_plugin {{dist}} <git url>

if [[ "$1" == "stack" && "$2" == "install" ]]; then
    setup_develop ${{UPPER}}_DIR

elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
    if is_service_enabled s-proxy; then
        conf=$SWIFT_CONFIG_PROXY_SERVER
        pipeline=$(iniget $conf pipeline:main pipeline)
        tail=" proxy-logging proxy-server"
        if [[ " $pipeline " != *" {{name}} "* ]]; then
            iniset $conf pipeline:main pipeline \\
                "${pipeline/$tail/ {{name}}$tail}"
        fi
        iniset $conf filter:{{name}} use egg:{{dist}}#{{name}}
        iniset $conf filter:{{name}} deny_cidrs "${{UPPER}}_DENY_CIDRS"
    fi
fi
'''

FILES = {
    '{{name}}/__init__.py': '',
    '{{name}}/middleware.py': MODULE,
    'tests/test_{{name}}.py': TESTS,
    'README.rst': README,
    'devstack/plugin.sh': DEVSTACK,
    'devstack/settings': '{{UPPER}}_DIR=$DEST/{{dist}}\n'
                         '{{UPPER}}_DENY_CIDRS=${{{UPPER}}_DENY_CIDRS:-}\n',
}
