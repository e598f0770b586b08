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


"""``opsext placement explain``: why each host would take a request or not.

The answer to an opaque "No valid host was found": given a host inventory
(hosts, their aggregates and the aggregates' metadata, in YAML or JSON),
the subnet-affinity options (a nova.conf) and a source address, it prints
for every host pass or fail, its weight and the reason, with the very
policy code the Nova filter and weigher run.

Inventory format::

    aggregates:
      - name: doc-rack
        metadata: {opsext_subnets: "10.1.0.0/16"}
    hosts:
      - name: doc1
        host_ip: 192.168.10.11
        aggregates: [doc-rack]
"""

import argparse
import json

from opsext.cmd import CommandError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``placement explain``."""
    parser = subparsers.add_parser(
        'placement', help='explain subnet-affinity placement',
        description='Tools for the subnet-affinity scheduler filter.')
    commands = parser.add_subparsers(dest='placement_command',
                                     metavar='SUBCOMMAND')
    commands.required = True
    explain = commands.add_parser(
        'explain', help='show which hosts pass for a source address, and why',
        description='For a source address, print every host of an '
                    'inventory with pass or fail, its weight and the reason, '
                    'using the subnet-affinity options of a nova.conf.')
    hosts = explain.add_mutually_exclusive_group(required=True)
    hosts.add_argument('--inventory', metavar='FILE',
                       help='hosts and aggregates, YAML or JSON (offline)')
    hosts.add_argument('--os-cloud', metavar='NAME',
                       help='read hosts and aggregates from cloud NAME of '
                            'clouds.yaml (openstacksdk; admin credentials)')
    explain.add_argument('--config', metavar='FILE', action='append',
                         default=[],
                         help='nova.conf with an [opsext_subnet_affinity] '
                              'section (repeatable; default: the defaults)')
    source = explain.add_mutually_exclusive_group(required=True)
    source.add_argument('--address',
                        help='the source address of a new server')
    source.add_argument('--remote-address', metavar='VALUE',
                        help='the address nova-api recorded for a new '
                             'server, possibly an X-Forwarded-For list '
                             '("a, b"): shows how it is resolved with the '
                             'configured trusted_proxies; with --forwarded, '
                             'the TCP peer of nova-api')
    source.add_argument('--moved-from', metavar='HOST',
                        help='explain a move (resize, migration, '
                             'evacuation, unshelve) of an unstamped server '
                             'on HOST: it keeps the subnet groups of HOST')
    source.add_argument('--server', metavar='UUID',
                        help='with --os-cloud: an existing server\'s group '
                             '(by its source stamp, else by its host) and '
                             'the hosts a move could take')
    explain.add_argument('--forwarded', metavar='VALUE',
                         help='with --remote-address PEER: a Forwarded '
                              'header received from PEER, resolved as the '
                              'client_address filter does')
    explain.add_argument('--write-inventory', metavar='FILE',
                         help='with --os-cloud: also save what was read as '
                              'an inventory for offline use')
    explain.add_argument('--format', choices=('table', 'json'),
                         default='table', help='output format')
    explain.set_defaults(func=run_explain, prog=explain.prog)


def _load_inventory(path: str) -> dict:
    import yaml
    try:
        with open(path) as fp:
            data = yaml.safe_load(fp)  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise CommandError('%s: not YAML or JSON: %s' % (path, exc))
    if not isinstance(data, dict) or not isinstance(data.get('hosts'),
                                                    list):
        raise CommandError('%s: expected a mapping with a "hosts" list'
                           % path)
    return data


def _host_views(data: dict, path: str) -> list:
    from opsext.subnet_affinity import policy
    aggregates = {}
    for index, aggregate in enumerate(data.get('aggregates') or []):
        if not isinstance(aggregate, dict) or not aggregate.get('name'):
            raise CommandError('%s: aggregate #%d has no name'
                               % (path, index + 1))
        metadata = aggregate.get('metadata') or {}
        if not isinstance(metadata, dict):
            raise CommandError('%s: metadata of aggregate %s is not a '
                               'mapping' % (path, aggregate['name']))
        aggregates[aggregate['name']] = {
            str(k): str(v) for k, v in metadata.items()}
    views = []
    for index, host in enumerate(data['hosts']):
        if not isinstance(host, dict) or not host.get('name'):
            raise CommandError('%s: host #%d has no name' % (path,
                                                             index + 1))
        names = host.get('aggregates') or []
        unknown = [n for n in names if n not in aggregates]
        if unknown:
            raise CommandError('%s: host %s is in unknown aggregate(s) %s'
                               % (path, host['name'], ', '.join(
                                   map(str, unknown))))
        views.append(policy.HostView(str(host['name']), tuple(
            (name, aggregates[name]) for name in names)))
    return views


def _all_aggregates(data: dict) -> tuple:
    return tuple((str(a['name']), {str(k): str(v) for k, v in
                                   (a.get('metadata') or {}).items()})
                 for a in data.get('aggregates') or ()
                 if isinstance(a, dict) and a.get('name'))


def explain(views: list, policy_obj, address, aggregates=None) -> tuple:
    """The request match and a (host, verdict) list, as the filter sees.

    The network is decided from ``aggregates`` (every aggregate, as the
    scheduler decides it; default: those of ``views``).
    """
    from opsext.subnet_affinity import policy
    groups = views if aggregates is None else [
        policy.HostView('', aggregates)]
    match = policy_obj.match(address, groups)
    return match, [(view, policy_obj.verdict(view, match))
                   for view in views]


def explain_move(views: list, policy_obj, host: str) -> tuple:
    """The same for a move of a server on ``host``, to the other hosts."""
    anchors = [view for view in views if view.name == host]
    if not anchors:
        raise CommandError('--moved-from: %s is not a host of the inventory'
                           % host)
    match = policy_obj.match_anchor(anchors[0])
    return match, [(view, policy_obj.verdict(view, match))
                   for view in views if view.name != host]


def _resolve(args, conf, notes: list):
    """The source address from --remote-address [--forwarded], or None
    with the reason the scheduler would refuse it."""
    from opsext import client_ip
    from opsext.nova import _source
    from opsext.subnet_affinity import options
    try:
        trusted = options.trusted_proxies_from_conf(conf)
    except Exception as exc:
        raise CommandError(str(exc))
    names = ', '.join(conf[options.GROUP].trusted_proxies) or 'none'
    if args.forwarded is not None:
        resolver = client_ip.ClientAddressResolver(trusted,
                                                   client_ip.FORWARDED)
        environ = {'REMOTE_ADDR': args.remote_address,
                   'HTTP_FORWARDED': args.forwarded}
        try:
            first = client_ip.forwarded_for_nodes(args.forwarded)[0]
        except client_ip.ClientAddressError:
            first = None
        notes.append('without opsext_client_address, http_proxy_to_wsgi '
                     'would record the first for= (%s), which the client '
                     'wrote' % first)
        what = 'peer %s, Forwarded %r' % (args.remote_address,
                                          args.forwarded)
        resolve = lambda: resolver.resolve(environ)  # noqa: E731
    else:
        resolver = client_ip.ClientAddressResolver(trusted)
        what = 'remote_address %r' % args.remote_address
        resolve = lambda: _source.parse_source(  # noqa: E731
            args.remote_address, resolver)
    try:
        address = resolve()
    except client_ip.ClientAddressError as exc:
        notes.append('%s, trusted proxies %s: refused: %s'
                     % (what, names, exc))
        return None
    notes.append('%s, trusted proxies %s: walked from the right, the '
                 'client is %s' % (what, names, address))
    return address


def _server_match(conn, args, conf, views, aggregates, policy_obj, notes):
    from opsext.cmd import placement_live
    from opsext.subnet_affinity import options
    from opsext.subnet_affinity import stamp
    found = placement_live.server(conn, args.server)
    notes.append('server %s (%s) on host %s, project %s' % (
        found['id'], found['status'], found['host'], found['project_id']))
    others = [view for view in views if view.name != found['host']]
    value = found['scheduler_hints'].get(stamp.HINT)
    if value is None:
        notes.append('no %s hint: a move keeps the groups of its host'
                     % stamp.HINT)
        if not found['host']:
            raise CommandError('server %s has no host and no stamp: its '
                               'group cannot be shown' % args.server)
        match, _ = explain_move(views, policy_obj, found['host'])
        return match, [(v, policy_obj.verdict(v, match)) for v in others]
    secret = options.source_stamp_secret_from_conf(conf)
    if secret is None:
        text = (value[0] if isinstance(value, list) else str(value))
        address = text.partition(' ')[0]
        notes.append('stamp %s not verified (no source_stamp_secret in '
                     '--config)' % address)
        from opsext import net
        try:
            address = net.parse_address(address)
        except net.AddressError as exc:
            raise CommandError('stamp: %s' % exc)
    else:
        try:
            address = stamp.verify(secret, found['project_id'], value)
        except stamp.StampError as exc:
            notes.append('refused: %s' % exc)
            return policy_obj.closed(str(exc)), [
                (v, policy_obj.verdict(v, policy_obj.closed(str(exc))))
                for v in others]
        notes.append('created from %s (verified stamp)' % address)
    match = policy_obj.match(address, [_host_view('', aggregates)])
    return match, [(v, policy_obj.verdict(v, match)) for v in others]


def _host_view(name, aggregates):
    from opsext.subnet_affinity import policy
    return policy.HostView(name, aggregates)


def run_explain(args: argparse.Namespace) -> int:
    from oslo_config import cfg

    from opsext.exceptions import ConfigError
    from opsext import net
    from opsext.subnet_affinity import options

    if args.server and not args.os_cloud:
        raise CommandError('--server needs --os-cloud')
    if args.write_inventory and not args.os_cloud:
        raise CommandError('--write-inventory needs --os-cloud')
    if args.forwarded is not None and args.remote_address is None:
        raise CommandError('--forwarded needs --remote-address PEER')
    address = None
    if args.address is not None:
        try:
            address = net.parse_address(args.address, allow_zone=True)
        except net.AddressError as exc:
            raise CommandError('--address: %s' % exc)
    conf = cfg.ConfigOpts()
    options.register_opts(conf)
    try:
        conf(args=[], default_config_files=args.config, project='opsext')
    except cfg.Error as exc:
        raise CommandError('--config: %s' % exc)
    warnings = []
    notes: list = []
    try:
        policy_obj = options.policy_from_conf(
            conf, warn=lambda msg, values: warnings.append(msg % values))
        multiplier = conf[options.GROUP].subnet_affinity_weight_multiplier
    except ConfigError as exc:
        raise CommandError(str(exc))
    conn = None
    if args.os_cloud:
        from opsext.cmd import placement_live
        conn = placement_live.connect(args.os_cloud)
        data = placement_live.inventory(conn)
        source = 'cloud %s' % args.os_cloud
        if args.write_inventory:
            import yaml
            with open(args.write_inventory, 'w') as fp:
                yaml.safe_dump(data, fp, sort_keys=False)
    else:
        data = _load_inventory(args.inventory)
        source = args.inventory
    views = _host_views(data, source)
    aggregates = _all_aggregates(data)
    if args.server:
        match, verdicts = _server_match(conn, args, conf, views, aggregates,
                                        policy_obj, notes)
        heading = 'Move of server %s: %s' % (args.server, match.reason)
    elif args.moved_from is not None:
        match, verdicts = explain_move(views, policy_obj, args.moved_from)
        heading = 'Move of a server on %s: %s' % (args.moved_from,
                                                  match.reason)
    else:
        if args.remote_address is not None:
            address = _resolve(args, conf, notes)
        if address is None and args.remote_address is not None:
            match = policy_obj.closed('the source address cannot be known')
            verdicts = [(v, policy_obj.verdict(v, match)) for v in views]
        else:
            match, verdicts = explain(views, policy_obj, address, aggregates)
        heading = 'Request from %s: %s' % (
            address if address is not None else 'an unknown address',
            'longest match %s' % match.network if match.network
            else match.reason)
    passing = [v for _h, v in verdicts if v.passes]
    if args.format == 'json':
        print(json.dumps({
            'address': str(address) if address is not None else None,
            'moved_from': args.moved_from, 'server': args.server,
            'network': str(match.network) if match.network else None,
            'match': match.reason, 'warnings': warnings, 'steps': notes,
            'hosts': [{'host': h.name, 'passes': v.passes,
                       'weight': v.weight * multiplier, 'reason': v.reason}
                      for h, v in verdicts]}, indent=2))
        return 0 if passing else 3
    for warning in warnings:
        print('warning: %s' % warning)
    for note in notes:
        print('Source: %s' % note)
    print(heading)
    width = max([len(h.name) for h, _v in verdicts] + [4])
    print('%-*s  %-6s  %6s  %s' % (width, 'HOST', 'RESULT', 'WEIGHT',
                                   'REASON'))
    for host, verdict in verdicts:
        print('%-*s  %-6s  %6.2f  %s' % (
            width, host.name, 'pass' if verdict.passes else 'FAIL',
            verdict.weight * multiplier, verdict.reason))
    if passing:
        print('%d of %d hosts pass.' % (len(passing), len(verdicts)))
        return 0
    print('No host passes: Nova would answer "No valid host was found".')
    return 3
