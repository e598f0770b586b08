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


"""What ``opsext placement explain --os-cloud`` reads from a running cloud.

With openstacksdk and ``clouds.yaml`` (admin credentials: aggregates,
services and server hosts are admin-only in nova's default policy), it
reads the compute services, the aggregates with their hosts and metadata,
and for ``--server`` one server, and returns them in the offline
inventory's format (see :mod:`opsext.cmd.placement`), so that both are
explained by the same code and a live cloud can be saved as an inventory.
openstacksdk is imported only here, and only when asked for.
"""

from typing import Optional

from opsext.cmd import CommandError

#: Nova's microversion that shows a server's scheduler hints.
HINTS_MICROVERSION = '2.100'


def connect(cloud: str):
    """An openstacksdk connection to ``cloud`` of clouds.yaml."""
    try:
        import openstack
        from openstack import exceptions
    except ImportError:
        raise CommandError('--os-cloud needs openstacksdk: pip install '
                           '"opsext[cloud]"') from None
    try:
        return openstack.connect(cloud=cloud)
    except exceptions.SDKException as exc:
        raise CommandError('--os-cloud %s: %s' % (cloud, exc)) from None


def _get(conn, path: str, microversion: Optional[str] = None) -> dict:
    from openstack import exceptions
    try:
        response = conn.compute.get(path, microversion=microversion)
    except exceptions.SDKException as exc:
        raise CommandError('GET %s: %s' % (path, exc)) from None
    if response.status_code != 200:
        raise CommandError('GET %s: HTTP %s %s' % (
            path, response.status_code, response.text[:200]))
    return response.json()


def inventory(conn) -> dict:
    """Compute hosts and aggregates, in the inventory format."""
    services = _get(conn, '/os-services?binary=nova-compute')['services']
    aggregates = _get(conn, '/os-aggregates')['aggregates']
    by_host: dict = {}
    for aggregate in aggregates:
        for host in aggregate.get('hosts') or ():
            by_host.setdefault(host, []).append(aggregate['name'])
    hosts = []
    for service in sorted(services, key=lambda s: s['host']):
        hosts.append({'name': service['host'],
                      'aggregates': by_host.get(service['host'], []),
                      'status': service.get('status'),
                      'state': service.get('state')})
    return {'aggregates': [{'name': a['name'],
                            'metadata': a.get('metadata') or {}}
                           for a in aggregates],
            'hosts': hosts}


def server(conn, uuid: str) -> dict:
    """A server's host, project and scheduler hints."""
    found = _get(conn, '/servers/%s' % uuid,
                 microversion=HINTS_MICROVERSION)['server']
    return {'id': found['id'],
            'host': found.get('OS-EXT-SRV-ATTR:host'),
            'project_id': found.get('tenant_id'),
            'status': found.get('status'),
            'scheduler_hints': found.get('scheduler_hints') or {}}
