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

"""Placement checks of a Nova with the subnet-affinity plugins.

What an admin client can prove through the compute API alone (which
filters the scheduler runs is not visible there):

* :func:`check_aggregate_metadata`: every aggregate's subnet metadata
  parses, by the same strict parser the filter uses;
* :func:`expected_placement`: where a server booted from the client's
  address must land, worked out by
  :class:`opsext.subnet_affinity.policy.Policy` (longest prefix) from
  the aggregates, for an expected outcome the operator states:
  ``group`` (a host serving the matched network), ``any`` or
  ``untagged`` (the address matches no network, and
  ``unmatched_requests`` sends it anywhere or to a host in no group), or
  ``novalidhost`` (the boot is refused);
* :func:`check_boot_placement`: boot a server, wait for it (bounded), and
  assert the outcome; the server is always deleted, and a failed deletion
  is reported.

Static rules in nova.conf are not visible through the API: the checks
know the groups that aggregate metadata makes. Every failure is a
:class:`CheckFailure` that says what was expected and what happened.
"""

import dataclasses
import time
from typing import Optional
import uuid

from opsext import net
from opsext.subnet_affinity import policy as policy_mod
from opsext.testing import nova_api

EXPECTATIONS = ('group', 'any', 'untagged', 'novalidhost')
NAME_PREFIX = 'opsext-validate-'


class CheckFailure(AssertionError):
    """A placement check failed; the message says how."""


@dataclasses.dataclass(frozen=True)
class Aggregate:
    """An aggregate and the networks its metadata gives its hosts."""

    name: str
    hosts: tuple
    networks: tuple
    metadata: dict


@dataclasses.dataclass(frozen=True)
class Expectation:
    """Where a server booted from ``address`` must (not) end up."""

    expect: str
    address: net.IPAddress
    match: policy_mod.RequestMatch
    #: the server's host must be one of these (None: no such bound)
    inside: Optional[frozenset] = None
    #: the server's host must be none of these
    outside: frozenset = frozenset()

    def describe(self) -> str:
        if self.expect == 'novalidhost':
            return 'a boot from %s is refused (No valid host): %s' % (
                self.address, self.match.reason)
        if self.inside is not None:
            return 'a boot from %s lands on %s: %s' % (
                self.address, _names(self.inside), self.match.reason)
        if self.outside:
            return 'a boot from %s lands on a host in no group, not on ' \
                '%s: %s' % (self.address, _names(self.outside),
                            self.match.reason)
        return 'a boot from %s lands on any host: %s' % (
            self.address, self.match.reason)


@dataclasses.dataclass(frozen=True)
class Placement:
    """What happened to the server a boot check made."""

    server_id: str
    status: str
    host: Optional[str]
    fault: str


def check_aggregate_metadata(client: nova_api.NovaClient,
                             metadata_key: str = 'opsext_subnets'
                             ) -> list[Aggregate]:
    """The aggregates carrying ``metadata_key``, their values parsed.

    :raises CheckFailure: naming every aggregate whose value does not
        parse (its hosts fail every request).
    """
    found, bad = [], []
    for aggregate in client.aggregates():
        metadata = aggregate.get('metadata') or {}
        if metadata_key not in metadata:
            continue
        value = metadata[metadata_key]
        try:
            networks = tuple(net.parse_network_list(value))
        except (net.AddressError, TypeError, AttributeError) as exc:
            bad.append('aggregate %s: %s=%r: %s' % (
                aggregate['name'], metadata_key, value, exc))
            continue
        found.append(Aggregate(aggregate['name'],
                               tuple(aggregate.get('hosts') or ()),
                               networks, dict(metadata)))
    if bad:
        raise CheckFailure(
            'malformed %s metadata; the hosts of these aggregates fail '
            'every request: %s' % (metadata_key, '; '.join(bad)))
    return found


def _host_views(aggregates: list[dict]) -> list[policy_mod.HostView]:
    by_host: dict = {}
    for aggregate in aggregates:
        for host in aggregate.get('hosts') or ():
            by_host.setdefault(host, []).append(
                (aggregate['name'], aggregate.get('metadata') or {}))
    return [policy_mod.HostView(host, tuple(aggs))
            for host, aggs in sorted(by_host.items())]


def expected_placement(aggregates: list[dict], client_address: str,
                       expect: str = 'group',
                       metadata_key: str = 'opsext_subnets'
                       ) -> Expectation:
    """Where a boot from ``client_address`` must land, for ``expect``.

    ``aggregates`` are the compute API's (``NovaClient.aggregates()``).

    :raises CheckFailure: when the aggregates contradict ``expect``
        (``group`` for an address that matches no network; ``any`` or
        ``untagged`` for one that does).
    """
    if expect not in EXPECTATIONS:
        raise ValueError('expect must be one of %s' % ', '.join(EXPECTATIONS))
    address = net.parse_address(client_address)
    policy = policy_mod.Policy(metadata_key=metadata_key)
    hosts = _host_views(aggregates)
    match = policy.match(address, hosts)
    grouped = {host.name: policy.host_networks(host) for host in hosts}
    if expect == 'group':
        if match.network is None:
            raise CheckFailure(
                '%s (%s): expected a subnet group; tag an aggregate with '
                '%s, or set OPSEXT_TEST_NOVA_EXPECT to what '
                'unmatched_requests does (any, untagged or novalidhost)'
                % (match.reason, _aggregate_names(aggregates, metadata_key),
                   metadata_key))
        inside = frozenset(name for name, (networks, malformed)
                           in grouped.items()
                           if not malformed and match.network in networks)
        if not inside:
            raise CheckFailure('%s, but no host serves it: add hosts to '
                               'its aggregate' % match.reason)
        return Expectation(expect, address, match, inside=inside)
    if expect in ('any', 'untagged') and match.network is not None:
        raise CheckFailure(
            '%s, a subnet group: OPSEXT_TEST_NOVA_EXPECT=%s is for a client '
            'in no group; expect group' % (match.reason, expect))
    if expect == 'untagged':
        tagged = frozenset(name for name, (networks, malformed)
                           in grouped.items() if networks or malformed)
        return Expectation(expect, address, match, outside=tagged)
    return Expectation(expect, address, match)


def check_boot_placement(client: nova_api.NovaClient,
                         expectation: Expectation, image: str, flavor: str,
                         network: str = 'none', timeout: float = 300.0,
                         poll: float = 2.0) -> Placement:
    """Boot a server, check where it went, delete it.

    ``image`` and ``flavor`` are IDs or names; ``network`` is ``none``,
    ``auto`` or a network ID. The server is deleted whatever happens; a
    deletion that fails or does not finish within ``timeout`` is a
    CheckFailure too (noted on the first failure if there was one).

    :raises CheckFailure: when the outcome is not the expected one.
    """
    image_id = client.image_id(image)
    flavor_id = client.flavor_id(flavor)
    name = '%snova-%s' % (NAME_PREFIX, uuid.uuid4().hex[:10])
    server_id = client.create_server(name, image_id, flavor_id, network)
    try:
        placement = _wait_for_boot(client, server_id, timeout, poll)
        _assert_outcome(expectation, placement)
    except BaseException as exc:
        problem = _delete(client, server_id, timeout, poll)
        if problem:
            exc.add_note('cleanup: ' + problem)
        raise
    problem = _delete(client, server_id, timeout, poll)
    if problem:
        raise CheckFailure('the check passed, but cleanup failed: '
                           + problem)
    return placement


def _wait_for_boot(client: nova_api.NovaClient, server_id: str,
                   timeout: float, poll: float) -> Placement:
    deadline = time.monotonic() + timeout
    while True:
        server = client.server(server_id)
        if server is None:
            raise CheckFailure('server %s vanished while booting'
                               % server_id)
        status = server.get('status', '')
        if status in ('ACTIVE', 'ERROR'):
            return Placement(server_id, status,
                             server.get('OS-EXT-SRV-ATTR:host'),
                             (server.get('fault') or {}).get('message', ''))
        if time.monotonic() > deadline:
            raise CheckFailure('server %s still %s after %.0f s (task %s)' % (
                server_id, status, timeout,
                server.get('OS-EXT-STS:task_state')))
        time.sleep(poll)


def _assert_outcome(expectation: Expectation, placement: Placement) -> None:
    where = 'server %s: %s on %s%s' % (
        placement.server_id, placement.status, placement.host,
        ' (%s)' % placement.fault if placement.fault else '')
    if expectation.expect == 'novalidhost':
        if placement.status != 'ERROR' or \
                'No valid host' not in placement.fault:
            raise CheckFailure('expected %s; got %s' % (
                expectation.describe(), where))
        return
    if placement.status != 'ACTIVE':
        raise CheckFailure('expected %s; got %s' % (expectation.describe(),
                                                    where))
    if placement.host is None:
        raise CheckFailure('%s: no OS-EXT-SRV-ATTR:host in the answer; the '
                           'checks need an admin' % where)
    if (expectation.inside is not None
            and placement.host not in expectation.inside) or \
            placement.host in expectation.outside:
        raise CheckFailure('expected %s; got %s' % (expectation.describe(),
                                                    where))


def _delete(client: nova_api.NovaClient, server_id: str, timeout: float,
            poll: float) -> str:
    """Delete the server and wait for it to go; '' or what went wrong."""
    deadline = time.monotonic() + timeout
    try:
        client.delete_server(server_id)
        while client.server(server_id) is not None:
            if time.monotonic() > deadline:
                return ('server %s still there %.0f s after DELETE: delete '
                        'it by hand' % (server_id, timeout))
            time.sleep(poll)
    except nova_api.NovaError as exc:
        return 'server %s not deleted (%s): delete it by hand' % (
            server_id, exc)
    return ''


def _aggregate_names(aggregates: list[dict], metadata_key: str) -> str:
    tagged = ['%s=%s' % (a['name'], a['metadata'][metadata_key])
              for a in aggregates
              if metadata_key in (a.get('metadata') or {})]
    return ('aggregates: ' + ', '.join(tagged)) if tagged else \
        'no aggregate has %s' % metadata_key


def _names(hosts: frozenset) -> str:
    return ', '.join(sorted(hosts))
