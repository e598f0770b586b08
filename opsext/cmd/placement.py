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
    explain.add_argument('--inventory', required=True, metavar='FILE',
                         help='hosts and aggregates, YAML or JSON')
    explain.add_argument('--config', metavar='FILE', action='append',
                         default=[],
                         help='nova.conf with an [opsext_subnet_affinity] '
                              'section (repeatable; default: the defaults)')
    source = explain.add_mutually_exclusive_group(required=True)
    source.add_argument('--address',
                        help='the source address of a new server')
    source.add_argument('--moved-from', metavar='HOST',
                        help='explain a move (resize, migration, '
                             'evacuation, unshelve) of a server on HOST: '
                             'moves keep the subnet group of the host')
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
    from opsext.placement import policy
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


def explain(views: list, policy_obj, address) -> tuple:
    """The request match and a (host, verdict) list, as the filter sees."""
    match = policy_obj.match(address, views)
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


def run_explain(args: argparse.Namespace) -> int:
    from oslo_config import cfg

    from opsext.exceptions import ConfigError
    from opsext import net
    from opsext.placement import options

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
    try:
        policy_obj = options.policy_from_conf(
            conf, warn=lambda msg, values: warnings.append(msg % values))
        multiplier = conf[options.GROUP].subnet_affinity_weight_multiplier
    except ConfigError as exc:
        raise CommandError(str(exc))
    views = _host_views(_load_inventory(args.inventory), args.inventory)
    if address is None:
        match, verdicts = explain_move(views, policy_obj, args.moved_from)
        heading = 'Move of a server on %s: %s' % (args.moved_from,
                                                  match.reason)
    else:
        match, verdicts = explain(views, policy_obj, address)
        heading = 'Request from %s: %s' % (address, 'longest match %s'
                                           % match.network if match.network
                                           else match.reason)
    passing = [v for _h, v in verdicts if v.passes]
    if args.format == 'json':
        print(json.dumps({
            'address': str(address) if address is not None else None,
            'moved_from': args.moved_from,
            'network': str(match.network) if match.network else None,
            'match': match.reason, 'warnings': warnings,
            'hosts': [{'host': h.name, 'passes': v.passes,
                       'weight': v.weight * multiplier, 'reason': v.reason}
                      for h, v in verdicts]}, indent=2))
        return 0 if passing else 3
    for warning in warnings:
        print('warning: %s' % warning)
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
