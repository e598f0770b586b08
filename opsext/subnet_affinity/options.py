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


"""Options of subnet-affinity placement, in group ``[opsext_subnet_affinity]``.

Registered on the configuration object they are given (nova's ``CONF`` in
the scheduler, a fresh one in ``opsext placement explain``), never at
import. ``list_opts`` feeds ``oslo-config-generator`` through the
``oslo.config.opts`` entry point ``opsext.placement``.
"""

import re

from oslo_config import cfg
from oslo_config import types

from opsext.exceptions import ConfigError
from opsext import net
from opsext import pasteconf
from opsext.subnet_affinity import policy

GROUP = 'opsext_subnet_affinity'
_HINT_NAME = re.compile(r'\A[A-Za-z0-9_:-]{1,255}\Z')
PLUGIN = 'opsext subnet affinity'
#: Shortest secret that signs source stamps.
MIN_SECRET_LENGTH = 16


class HintName(types.String):
    """A scheduler hint name: letters, digits, "_", "-" and ":".

    The type of nova-api's ``source_stamp`` filter option and the check
    of ``source_address_hint`` here: one rule for both.
    """

    def __init__(self) -> None:
        super().__init__(type_name='hint name')

    def __call__(self, value) -> str:
        value = super().__call__(value).strip()
        if not _HINT_NAME.match(value):
            raise ValueError('a hint name is letters, digits, "_", "-" and '
                             '":"')
        return value


class StampSecret(types.String):
    """The secret shared by the source_stamp filter and the scheduler."""

    def __init__(self) -> None:
        super().__init__(type_name='secret')

    def __call__(self, value) -> str:
        value = super().__call__(value)
        if len(value) < MIN_SECRET_LENGTH:
            raise ValueError('at least %d characters' % MIN_SECRET_LENGTH)
        return value


OPTS = [
    cfg.MultiStrOpt(
        'static_rules', default=[],
        help="""
Static mapping of source networks to host name patterns.

Each value is ``<network> = <pattern>[, <pattern>...]``: hosts whose name
matches a pattern (shell style) serve requests whose source address is in
the network. Repeat the option for more rules. Together with aggregate
metadata (see ``metadata_key``), the longest matching prefix wins.

Possible values:

* ``10.1.0.0/16 = doc*``
* ``0.0.0.0/0 = dev*`` (every other IPv4 source)

Related options:

* ``metadata_key``
"""),
    cfg.StrOpt(
        'metadata_key', default=policy.DEFAULT_METADATA_KEY,
        help="""
Host aggregate metadata key listing the networks the aggregate's hosts
serve, comma or space separated (``10.1.0.0/16,2001:db8:1::/48``).

A host whose aggregate holds a malformed value fails every request, and a
warning names the aggregate and the value.
"""),
    cfg.StrOpt(
        'unmatched_requests', default='any',
        choices=[('any', 'any host may take the request'),
                 ('untagged', 'only hosts in no subnet group'),
                 ('none', 'no host: the request fails with NoValidHost')],
        help="""
Where a request goes whose source address is known but matches no
network (and a moved server whose host is in no subnet group).

A request whose source address cannot be known (none, not an address, a
forwarded list without ``trusted_proxies``, an admin's malformed
``source_address_hint``) is never "unmatched": it is refused
(NoValidHost) whatever this option says, with a warning giving the reason.

Related options:

* ``untagged_hosts``
* ``trusted_proxies``
"""),
    cfg.StrOpt(
        'untagged_hosts', default='allow',
        choices=[('allow', 'hosts in no subnet group take any request'),
                 ('deny', 'hosts in no subnet group take only unmatched '
                          'requests (see unmatched_requests)')],
        help="""
Whether hosts that serve no network take requests matched to a network.
"""),
    cfg.BoolOpt(
        'spill_to_wider_group', default=False,
        help="""
Whether a new server whose subnet group has no room may go to the
next-wider group holding its address.

The group is the longest-prefix network holding the source address,
decided from every tagged aggregate and static rule, not from the hosts
that reached the filter. False (the default): when none of that group's
hosts can take the server (full, disabled, removed by an earlier filter,
or cut off by ``[scheduler] max_placement_results``), it gets "No valid
host was found". True: the next-wider network holding the address is
tried, then the next, logged at info; never an unrelated group, and
never for a move placed by its host.

Related options:

* ``unmatched_requests``
* ``untagged_hosts``
"""),
    cfg.ListOpt(
        'trusted_proxies', default=[],
        help="""
Addresses or networks of the proxies in front of nova-api.

With ``[oslo_middleware] enable_proxy_headers_parsing``, nova records the
raw ``X-Forwarded-For`` list as the request's address; it is walked from
the right, skipping these proxies. Without them, a list is not trusted and
the request is refused. Better: put the ``client_address`` paste filter
first in nova-api's pipeline, so that the scheduler gets one address.
"""),
    cfg.StrOpt(
        'source_address_hint', default=None,
        help="""
Name of a scheduler hint that carries the source address of a new server,
instead of the address the API request came from. Unset (the default):
no hint is read.

For tooling that creates servers on behalf of users (a portal, an
orchestrator) and knows the user's real address. Users control scheduler
hints, so the hint is read only when the request context is an admin's
and only when a new server is placed: hints persist with the server, and
a move is placed by the server's current host instead. A hint from any
other context is ignored (logged at debug); a malformed hint is refused
(NoValidHost), with a warning.

Possible values:

* unset: hints are never read
* a hint name, such as ``opsext_source_address``

Related options:

* ``unmatched_requests``
"""),
    cfg.StrOpt(
        'source_stamp_secret', default=None, secret=True,
        help="""
Secret shared with nova-api's ``opsext_source_stamp`` paste filter (its
``secret`` option), which signs each new server's source address into the
scheduler hint ``opsext_source_stamp``. Nova keeps the hint with the
server, so moves (migration, evacuation, unshelve) keep the group the
server was created for.

Unset (the default): no stamp is read; a new server is placed by the
request's address, a move by the groups of the server's current host.
Set: a new server needs a valid stamp (else it is refused, naming why);
a move is placed by its stamp, or, for a server created before stamping
began, by its current host; a stamp that does not verify is refused.
``source_address_hint`` is then not read by the scheduler: the filter
stamps an admin's hint instead.

Related options:

* ``source_address_hint``
"""),
    cfg.FloatOpt(
        'subnet_affinity_weight_multiplier', default=10.0,
        help="""
Multiplier for the subnet-affinity weigher.

Positive values prefer the hosts of the request's subnet group; 0 turns
the weigher off. Overridable per aggregate with metadata of the same name.

Nova normalises each weigher's weights to 0..1 and adds them up, each
times its multiplier, so a host outside the group can gain at most the sum
of the other multipliers over a host of the group. Nova's defaults that
can tell identical hosts apart add up to 9 (RAM, CPU, disk, I/O ops,
hypervisor version, PCI, metrics, soft affinity, soft anti-affinity:
1 each), leaving aside the build-failure and cross-cell weighers
(1000000: those are meant to win). The default, 10, keeps the preference
against all of them; 1 is outweighed as soon as a group host has one
server more than a host outside it.

Related options:

* ``[filter_scheduler] *_weight_multiplier`` of nova
"""),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list:
    return [(GROUP, OPTS)]


def _value(conf: cfg.ConfigOpts, name: str):
    try:
        return getattr(conf[GROUP], name)
    except cfg.ConfigFileValueError as exc:
        raise ConfigError(PLUGIN, '%s.%s' % (GROUP, name), None,
                          str(exc)) from None


def policy_from_conf(conf: cfg.ConfigOpts, warn=None) -> policy.Policy:
    """Build the policy from registered options.

    :raises ConfigError: naming the option with a bad value.
    """
    rules = []
    for text in _value(conf, 'static_rules'):
        try:
            rules.append(policy.parse_static_rule(text))
        except ValueError as exc:
            raise ConfigError(PLUGIN, GROUP + '.static_rules', text,
                              str(exc)) from None
    key = _value(conf, 'metadata_key')
    if not key or not key.strip():
        raise ConfigError(PLUGIN, GROUP + '.metadata_key', key, 'empty')
    return policy.Policy(rules, key.strip(),
                         _value(conf, 'unmatched_requests'),
                         _value(conf, 'untagged_hosts'), warn=warn)


def source_address_hint_from_conf(conf: cfg.ConfigOpts):
    """The ``source_address_hint`` option: a hint name, or None.

    :raises ConfigError: when set to something that is no hint name.
    """
    value = _value(conf, 'source_address_hint')
    if value is None or not value.strip():
        return None
    try:
        return HintName()(value)
    except ValueError as exc:
        raise ConfigError(PLUGIN, GROUP + '.source_address_hint',
                          value.strip(), str(exc)) from None


def trusted_proxies_from_conf(conf: cfg.ConfigOpts) -> net.NetworkSet:
    """The ``trusted_proxies`` option, parsed strictly.

    :raises ConfigError: naming the bad entry.
    """
    value = _value(conf, 'trusted_proxies')
    try:
        return pasteconf.Networks()(value)
    except net.AddressError as exc:
        raise ConfigError(PLUGIN, GROUP + '.trusted_proxies',
                          ','.join(value), str(exc)) from None


def spill_from_conf(conf: cfg.ConfigOpts) -> bool:
    """The ``spill_to_wider_group`` option."""
    return bool(_value(conf, 'spill_to_wider_group'))


def source_stamp_secret_from_conf(conf: cfg.ConfigOpts):
    """The ``source_stamp_secret`` option: a secret, or None.

    :raises ConfigError: when set but shorter than 16 characters.
    """
    value = _value(conf, 'source_stamp_secret')
    if not value:
        return None
    try:
        return StampSecret()(value)
    except ValueError as exc:
        raise ConfigError(PLUGIN, GROUP + '.source_stamp_secret', '***',
                          str(exc)) from None
