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

"""Nova's own HostManager over hosts and aggregates described in a test.

:class:`Scheduler` is what the ``nova_scheduler`` fixture returns: a real
``nova.scheduler.host_manager.HostManager`` (its filter and weigher
loading from ``[filter_scheduler]``, ``get_filtered_hosts``,
``get_weighed_hosts``, ``_get_host_states``), whose only change is where
cells, aggregates and instances come from: the description instead of
Nova's databases (:class:`DescribedHostManager`)::

    with SchedulerFactory() as make:
        scheduler = make(
            filters=['ComputeFilter', 'mypkg.filters.IPFilter'],
            hosts={'h1': {'host_ip': '10.0.0.5'}, 'h2': {'up': False}},
            aggregates={'rack1': {'hosts': ['h1'],
                                  'metadata': {'ip_cidrs': '10.1.0.0/16'}}},
            conf={'mypkg': {'strict': True}})
        assert scheduler.select(source_address='10.1.2.3') == ['h1']

``filters`` are names of Nova's filters or dotted paths of yours (added to
``available_filters``, enabled by class name); ``weighers`` are dotted
paths for ``weight_classes`` (default: Nova's ``all_weighers``); ``conf`` sets
options, those of your plugin's group too when its distribution declares
them with an ``oslo.config.opts`` entry point.  Request
specs go through Nova's RPC serializers and JSON, as the scheduler
receives them, so ``spec_obj._context.remote_address`` is what a filter
in a real scheduler reads.  Nova is imported by this module: import it
only where Nova is installed.
"""

import datetime
from importlib import metadata
from typing import Any, Mapping, Optional, Sequence, Union

import nova.conf
from nova import context as nova_context
from nova import objects
from nova.objects import base as objects_base
from nova import rpc
from nova.scheduler import filters as nova_filters
from nova.scheduler import host_manager
from nova.scheduler import weights
from oslo_config import fixture as config_fixture
from oslo_serialization import jsonutils
from oslo_utils import timeutils
from oslo_utils import uuidutils

CONF = nova.conf.CONF
NOVA_FILTERS = 'nova.scheduler.filters.all_filters'
NOVA_WEIGHERS = 'nova.scheduler.weights.all_weighers'
CELL_UUID = '8d5f1f0a-6f0e-4c39-9bd3-0b1c2f7e0c11'

#: ComputeNode fields of a described host, unless the description says.
HOST_DEFAULTS = {
    'vcpus': 8, 'vcpus_used': 0, 'memory_mb': 16384, 'free_ram_mb': 16384,
    'local_gb': 200, 'free_disk_gb': 200, 'local_gb_used': 0,
    'disk_available_least': None, 'host_ip': '192.0.2.1',
    'hypervisor_type': 'fake', 'hypervisor_version': 1000,
    'cpu_info': '', 'supported_hv_specs': [], 'numa_topology': None,
    'pci_device_pools': None, 'stats': None, 'metrics': None,
    'cpu_allocation_ratio': 16.0, 'ram_allocation_ratio': 1.5,
    'disk_allocation_ratio': 1.0,
}
#: Keys of a host's description that are about its compute service.
SERVICE_KEYS = ('up', 'disabled')

HostsSpec = Union[Sequence[str], Mapping[str, Mapping[str, Any]]]


class DescriptionError(ValueError):
    """A description of hosts, aggregates or plugins is not usable."""


def request_spec(source_address: Optional[str] = None,
                 scheduler_hints: Optional[Mapping[str, Any]] = None,
                 project_id: str = 'demo', user_id: str = 'demo',
                 is_admin: bool = False, flavor: Optional[Any] = None,
                 instance_uuid: Optional[str] = None,
                 availability_zone: Optional[str] = None) -> Any:
    """A RequestSpec as the scheduler receives it: after an RPC hop.

    The request context carries ``source_address`` as ``remote_address``,
    as nova-api sets it from the client's address; context and spec go
    through Nova's serializers and JSON, as on the wire.  Hint values are
    lists, as the API stores them (a single value is wrapped); the flavor
    is :func:`default_flavor` unless one is given.
    """
    ctxt = nova_context.RequestContext(
        user_id=user_id, project_id=project_id, is_admin=is_admin,
        remote_address=source_address)
    # How conductor builds it for a boot (nova/objects/request_spec.py,
    # RequestSpec.from_components), every field set.
    spec = objects.RequestSpec.from_components(
        ctxt, instance_uuid or uuidutils.generate_uuid(), image={},
        flavor=flavor if flavor is not None else default_flavor(),
        numa_topology=None, pci_requests=None,
        filter_properties={'scheduler_hints': {
            k: v if isinstance(v, list) else [v]
            for k, v in (scheduler_hints or {}).items()}},
        instance_group=None, availability_zone=availability_zone,
        project_id=project_id, user_id=user_id)
    serializer = rpc.RequestContextSerializer(
        objects_base.NovaObjectSerializer())
    wire_ctxt = jsonutils.loads(jsonutils.dumps(
        serializer.serialize_context(ctxt)))
    wire_spec = jsonutils.loads(jsonutils.dumps(
        serializer.serialize_entity(ctxt, spec)))
    received = serializer.deserialize_context(wire_ctxt)
    return serializer.deserialize_entity(received, wire_spec)


def default_flavor() -> Any:
    """A small flavor, for filters that read the request's resources."""
    return objects.Flavor(
        id=1, flavorid='1', name='m1.tiny', memory_mb=512, vcpus=1,
        root_gb=1, ephemeral_gb=0, swap=0, extra_specs={})


class DescribedHostManager(host_manager.HostManager):
    """HostManager with cells, aggregates and instances from a description.

    Everything else, filter and weigher loading above all, is Nova's
    (``nova/scheduler/host_manager.py``, class ``HostManager``): this
    subclass replaces only its three database reads,
    ``refresh_cells_caches``, ``_init_aggregates`` and
    ``_init_instance_info``.
    """

    def __init__(self, aggregates: Sequence[Any],
                 host_names: Sequence[str]) -> None:
        self._described_aggregates = list(aggregates)
        self._described_hosts = list(host_names)
        super().__init__()

    def refresh_cells_caches(self) -> None:
        cell = objects.CellMapping(uuid=CELL_UUID, name='cell1',
                                   disabled=False)
        self.cells = {CELL_UUID: cell}
        self.enabled_cells = [cell]

    def _init_aggregates(self) -> None:
        # Nova's own bookkeeping, as aggregate notifications update it.
        self.update_aggregates(self._described_aggregates)

    def _init_instance_info(self, computes_by_cell: Any = None) -> None:
        # No instances; "updated" spares the per-host database read.
        self._instance_info = {
            name: {'instances': {}, 'updated': True}
            for name in self._described_hosts}


class Scheduler(object):
    """Described hosts and Nova's HostManager with the plugins enabled."""

    def __init__(self, hosts: HostsSpec,
                 aggregates: Optional[Mapping[str, Mapping[str, Any]]] = None
                 ) -> None:
        self.hosts = _host_descriptions(hosts)
        self.aggregates = _aggregates(aggregates or {}, self.hosts)
        self.host_manager = DescribedHostManager(self.aggregates,
                                                 list(self.hosts))
        # HostManager calls it only with track_instance_changes on; the
        # host states need it either way (no instance database here).
        self.host_manager._init_instance_info()
        self.host_states = self._host_states()

    def _host_states(self) -> list:
        now = timeutils.utcnow()
        computes, services = [], {}
        for index, (name, description) in enumerate(self.hosts.items(), 1):
            fields = dict(HOST_DEFAULTS, **{
                k: v for k, v in description.items()
                if k not in SERVICE_KEYS})
            computes.append(objects.ComputeNode(
                id=index, uuid=uuidutils.generate_uuid(), host=name,
                hypervisor_hostname=fields.pop('nodename', name),
                updated_at=now, **fields))
            seen = now if description.get('up', True) else (
                now - datetime.timedelta(days=1))
            services[name] = {
                'host': name, 'binary': 'nova-compute', 'topic': 'compute',
                'disabled': bool(description.get('disabled', False)),
                'disabled_reason': None, 'forced_down': False,
                'created_at': seen, 'updated_at': seen, 'last_seen_up': seen}
        ctxt = nova_context.get_admin_context()
        states = self.host_manager._get_host_states(
            ctxt, {CELL_UUID: computes}, services)
        order = {name: i for i, name in enumerate(self.hosts)}
        return sorted(states, key=lambda state: order[state.host])

    def request_spec(self, source_address: Optional[str] = None,
                     **kwargs: Any) -> Any:
        """A new RequestSpec: see :func:`request_spec`."""
        return request_spec(source_address, **kwargs)

    def _spec(self, spec: Any, kwargs: Mapping[str, Any]) -> Any:
        return spec if spec is not None else self.request_spec(**kwargs)

    def filtered(self, spec: Any = None, **kwargs: Any) -> list[str]:
        """Names of the hosts that pass every enabled filter, in order.

        Give a RequestSpec, or the keyword arguments of
        :meth:`request_spec` (``source_address=``, ``scheduler_hints=``).
        """
        passed = self.host_manager.get_filtered_hosts(
            list(self.host_states), self._spec(spec, kwargs))
        return [state.host for state in passed]

    def select(self, spec: Any = None, **kwargs: Any) -> list[str]:
        """Names of the passing hosts, best first, as Nova weighs them."""
        spec = self._spec(spec, kwargs)
        passed = self.host_manager.get_filtered_hosts(
            list(self.host_states), spec)
        weighed = self.host_manager.get_weighed_hosts(list(passed), spec)
        return [w.obj.host for w in weighed]

    def host_state(self, name: str) -> Any:
        """The HostState of host ``name``."""
        for state in self.host_states:
            if state.host == name:
                return state
        raise KeyError(name)

    @property
    def enabled_filters(self) -> list[str]:
        return [type(f).__name__ for f in self.host_manager.enabled_filters]

    @property
    def weighers(self) -> list[str]:
        return [type(w).__name__ for w in self.host_manager.weighers]


def _host_descriptions(hosts: HostsSpec) -> dict[str, dict[str, Any]]:
    if isinstance(hosts, str):
        raise DescriptionError('hosts: give a list of names or a dict, not '
                               'the string %r' % (hosts,))
    if not isinstance(hosts, Mapping):
        hosts = {name: {} for name in hosts}
    if not hosts:
        raise DescriptionError('hosts: describe at least one host')
    described = {}
    known = set(HOST_DEFAULTS) | set(SERVICE_KEYS) | {'nodename'}
    for name, description in hosts.items():
        unknown = sorted(set(description or {}) - known)
        if unknown:
            raise DescriptionError(
                'host %r: unknown field(s) %s; known: %s' % (
                    name, ', '.join(unknown), ', '.join(sorted(known))))
        described[name] = dict(description or {})
    return described


def _aggregates(aggregates: Mapping[str, Mapping[str, Any]],
                hosts: Mapping[str, Any]) -> list:
    found = []
    for agg_id, (name, description) in enumerate(aggregates.items(), 1):
        unknown = sorted(set(description) - {'hosts', 'metadata'})
        if unknown:
            raise DescriptionError('aggregate %r: unknown field(s) %s; '
                                   'known: hosts, metadata'
                                   % (name, ', '.join(unknown)))
        members = list(description.get('hosts', []))
        strangers = [h for h in members if h not in hosts]
        if strangers:
            raise DescriptionError('aggregate %r: host(s) %s are not among '
                                   'the hosts' % (name, ', '.join(strangers)))
        metadata = {str(k): str(v) for k, v in
                    description.get('metadata', {}).items()}
        found.append(objects.Aggregate(
            id=agg_id, uuid=uuidutils.generate_uuid(), name=name,
            hosts=members, metadata=metadata))
    return found


def plugin_options(filters: Sequence[str],
                   weighers: Optional[Sequence[str]] = None
                   ) -> dict[str, list[str]]:
    """``[filter_scheduler]`` options that enable these filters/weighers.

    A filter with a dot is a class path of yours: it joins Nova's
    ``available_filters`` and is enabled by its class name; one without is
    one of Nova's, by name.  ``weighers`` are class paths or functions
    returning classes (``None``: Nova's ``all_weighers``).
    """
    if isinstance(filters, str) or isinstance(weighers, str):
        raise DescriptionError('filters and weighers are lists of names')
    available, enabled = [NOVA_FILTERS], []
    for name in filters:
        if '.' in name:
            available.append(name)
            name = name.rsplit('.', 1)[1]
        enabled.append(name)
    return {'available_filters': available, 'enabled_filters': enabled,
            'weight_classes': list([NOVA_WEIGHERS] if weighers is None
                                   else weighers)}


def register_plugin_opts(conf: Any, paths: Sequence[str]) -> list[str]:
    """Register the options the plugins' distributions declare.

    Every ``oslo.config.opts`` entry point (the one oslo-config-generator
    reads) of the top-level packages of ``paths`` (not Nova's) lists
    ``(group, options)``; they are registered on ``conf``, so a test can
    set them before the plugin registers them itself.  Returns the groups.
    """
    packages = {path.split('.')[0] for path in paths if '.' in path}
    packages.discard('nova')
    groups = []
    for entry_point in metadata.entry_points(group='oslo.config.opts'):
        if entry_point.value.split(':')[0].split('.')[0] not in packages:
            continue
        for group, opts in entry_point.load()():
            name = getattr(group, 'name', group)
            conf.register_opts(
                opts, group=None if name in (None, 'DEFAULT') else group)
            groups.append(name or 'DEFAULT')
    return groups


def configure(fixture: Any, options: Mapping[str, Mapping[str, Any]]
              ) -> None:
    """Set ``{group: {option: value}}`` on Nova's CONF through ``fixture``.

    Options of groups Nova does not have must be registered first: by the
    plugin's module when it is imported, by :func:`register_plugin_opts`,
    or by the test.
    """
    for group, values in options.items():
        fixture.config(group=None if group == 'DEFAULT' else group,
                       **dict(values))


class SchedulerFactory(object):
    """Builds :class:`Scheduler` objects; undoes its config on exit."""

    def __enter__(self) -> 'SchedulerFactory':
        objects.register_all()
        self._config = config_fixture.Config(CONF)
        self._config.setUp()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._config.cleanUp()

    def __call__(self, filters: Sequence[str] = (),
                 weighers: Optional[Sequence[str]] = None,
                 hosts: HostsSpec = ('host1', 'host2', 'host3'),
                 aggregates: Optional[Mapping[str, Mapping[str, Any]]] = None,
                 conf: Optional[Mapping[str, Mapping[str, Any]]] = None
                 ) -> Scheduler:
        """A new :class:`Scheduler` (see the module docstring)."""
        options = plugin_options(filters, weighers)
        configure(self._config, {'filter_scheduler': options})
        # Import the plugins first and register their declared options:
        # both can then be set before HostManager makes the filters.
        nova_filters.HostFilterHandler().get_matching_classes(
            options['available_filters'])
        weights.HostWeightHandler().get_matching_classes(
            options['weight_classes'])
        register_plugin_opts(CONF, options['available_filters'] +
                             options['weight_classes'])
        configure(self._config, conf or {})
        return Scheduler(hosts, aggregates)
