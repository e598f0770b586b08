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

"""etc/nova/api-paste.ini-sample: every mount limited, rules that count.

The sample's own opsext stanzas, built by the filter factory on a real
memcached, and its pipelines as nova's urlmap mounts them.
"""

import configparser
import os

import pytest
import webob

from opsext.ratelimit import middleware

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'nova', 'api-paste.ini-sample')


def _parser():
    parser = configparser.RawConfigParser()
    parser.optionxform = str
    parser.read(SAMPLE)
    return parser


def _api_composites(parser):
    """The composites the urlmap mounts that end in nova's API app."""
    mounts = dict(parser.items('composite:osapi_compute'))
    names = [name for prefix, name in mounts.items() if prefix.endswith('+')]
    assert sorted(mounts) == ['/', '/v2', '/v2.1', '/v2.1/+', '/v2/+',
                              'use']
    return names


def test_every_api_mount_has_both_stages():
    parser = _parser()
    names = _api_composites(parser)
    assert len(names) == 2  # /v2.1/+ and the legacy /v2/+
    for name in names:
        stages = parser.get('composite:' + name, 'keystone').split()
        assert stages[-1] == 'osapi_compute_app_v21'
        ip, project = (stages.index('opsext_ratelimit_ip'),
                       stages.index('opsext_ratelimit'))
        # client_address first: it resolves the address the ip stage
        # counts, before anything reads client headers.
        assert stages[0] == 'opsext_client_address'
        # The address stage before auth; the project stage where the
        # project is confirmed, and source_stamp after keystonecontext.
        assert ip < stages.index('http_proxy_to_wsgi')
        assert ip < stages.index('authtoken')
        assert project > stages.index('keystonecontext')
        assert (stages.index('opsext_source_stamp')
                > stages.index('keystonecontext'))


def test_version_pipelines_resolve_the_client_first():
    parser = _parser()
    for name in ('oscomputeversions', 'oscomputeversion_v2',
                 'oscomputeversion_legacy_v2'):
        stages = parser.get('pipeline:' + name, 'pipeline').split()
        assert stages[0] == 'opsext_client_address'


def test_metadata_pipeline_is_novas_own():
    # Its X-Forwarded-For comes from neutron's metadata proxy and names
    # the instance: nothing of ours belongs there.
    assert _parser().get('pipeline:meta', 'pipeline') == (
        'cors http_proxy_to_wsgi metaapp')


def _stage(parser, section, backend):
    conf = dict(parser.items('filter:' + section))
    conf.pop('use')
    conf['backend'] = backend
    return middleware.filter_factory({}, **conf)(_ok)


def _ok(environ, start_response):
    start_response('202 Accepted', [('Content-Type', 'text/plain')])
    return [b'']


def _confirmed(project, script, info):
    req = webob.Request.blank(info, method='POST', environ={
        'SCRIPT_NAME': script, 'HTTP_X_IDENTITY_STATUS': 'Confirmed',
        'keystone.token_info': {}, 'HTTP_X_PROJECT_ID': project,
        'HTTP_X_ROLES': 'member'})
    return req


@pytest.mark.parametrize('script, info', [
    ('/v2.1', '/servers'),
    ('/v2.1', '/os-volumes_boot'),
    ('/v2', '/servers'),
    ('/v2', '/PROJECT/servers'),
    ('/v2.1', '/PROJECT/os-volumes_boot'),
    ('/compute/v2.1', '/servers'),           # DevStack's mount
    ('/prefix/from/client/v2.1', '/servers'),  # X-Forwarded-Prefix
])
def test_boots_rule_counts_every_way_to_boot(memcached_server, script, info):
    parser = _parser()
    stage = _stage(parser, 'opsext_ratelimit',
                   'memcached://' + memcached_server.address)
    project = os.urandom(16).hex()
    info = info.replace('PROJECT', project)
    statuses = [_confirmed(project, script, info).get_response(stage)
                .status_int for _ in range(11)]
    # rule_boots: 10/minute.
    assert statuses == [202] * 10 + [429]


def test_ip_stage_counts_the_resolved_address_only(memcached_server):
    # client_address, before it, has put the client in REMOTE_ADDR; the
    # stage trusts no forwarded header of its own.
    parser = _parser()
    assert not parser.has_option('filter:opsext_ratelimit_ip',
                                 'trusted_proxies')
    stage = _stage(parser, 'opsext_ratelimit_ip',
                   'memcached://' + memcached_server.address)
    client = '198.51.100.%d' % (os.urandom(1)[0] % 200 + 1)

    def from_client(spoofed):
        return webob.Request.blank('/v2.1/servers', remote_addr=client,
                                   headers={'X-Forwarded-For': spoofed,
                                            'Forwarded': 'for=' + spoofed})

    statuses = [from_client('203.0.113.%d' % i).get_response(stage)
                .status_int for i in range(25)]
    # One bucket (the client's), whatever the headers say: 20/second.
    assert statuses.count(429) >= 5
