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


"""Fixtures running the opsext filter and weigher inside real Nova.

Nova's ``HostFilterHandler`` and ``HostWeightHandler`` load the plugins by
dotted path from ``[filter_scheduler]``, as ``HostManager`` does, and run
them over real ``HostState`` objects with real ``Aggregate`` objects, for
a real ``RequestSpec`` whose context went through nova's RPC serializers.
Configuration goes through ``oslo_config.fixture.Config`` on nova's
``CONF`` and is reset after each test.
"""

import nova.conf
from nova import context as nova_context
from nova import objects
from nova.objects import aggregate as aggregate_db
from nova.scheduler import filters
from nova.scheduler import host_manager
from nova.scheduler import weights
from nova.tests import fixtures as nova_fixtures
from oslo_config import fixture as config_fixture
from oslo_utils import uuidutils
import pytest

from opsext.subnet_affinity import options
from opsext.testing import nova_scheduler
from tests.functional.devstack import real_devstack

CONF = nova.conf.CONF
GROUP = options.GROUP


def pytest_configure(config: pytest.Config) -> None:
    real_devstack.configure(config)


def pytest_collection_modifyitems(config: pytest.Config,
                                  items: list) -> None:
    # test_real_devstack_nova.py needs OPSEXT_DEVSTACK_DIR.
    real_devstack.deselect(config, items)


@pytest.fixture(scope='session', autouse=True)
def _nova_objects():
    objects.register_all()


@pytest.fixture(autouse=True)
def api_database():
    """Nova's API database, empty: specs of new servers have no mapping.

    The filter reads a server's instance mapping to tell a new server from
    a moved one.
    """
    settings = config_fixture.Config(CONF)
    settings.setUp()
    settings.config(group='api_database', connection='sqlite://')
    database = nova_fixtures.Database(database='api')
    database.setUp()
    yield database
    database.cleanUp()
    settings.cleanUp()


@pytest.fixture
def conf():
    """Nova's CONF with the opsext group; every override undone after."""
    options.register_opts(CONF)
    fixture = config_fixture.Config(CONF)
    fixture.setUp()
    fixture.config(group='filter_scheduler', available_filters=[
        'nova.scheduler.filters.all_filters',
        'opsext.nova.filters.all_filters'])
    fixture.config(group='filter_scheduler',
                   enabled_filters=['AllHostsFilter', 'SubnetAffinityFilter'])
    fixture.config(group='filter_scheduler', weight_classes=[
        'nova.scheduler.weights.ram.RAMWeigher',
        'opsext.nova.weights.SubnetAffinityWeigher'])
    yield fixture
    fixture.cleanUp()


def load_filters():
    """The enabled filters, loaded the way HostManager loads them."""
    handler = filters.HostFilterHandler()
    classes = handler.get_matching_classes(
        CONF.filter_scheduler.available_filters)
    by_name = {cls.__name__: cls for cls in classes}
    return handler, [by_name[name]()
                     for name in CONF.filter_scheduler.enabled_filters]


def load_weighers():
    handler = weights.HostWeightHandler()
    classes = handler.get_matching_classes(
        CONF.filter_scheduler.weight_classes)
    return handler, [cls() for cls in classes]


def aggregate(agg_id, name, **metadata):
    """An aggregate, kept in the API database as nova keeps it.

    The filter decides a request's network from every aggregate in the
    database, not only those of the hosts it is given. ``agg_id`` is
    nova's to choose; the same name gives the same aggregate, its
    metadata set to ``metadata``.
    """
    # Written with nova's own DB helpers: Aggregate.create() would also
    # send a notification, and there is no notifier here.
    ctxt = nova_context.get_admin_context()
    for found in objects.AggregateList.get_all(ctxt):
        if found.name == name:
            aggregate_db._metadata_add_to_db(ctxt, found.id, metadata,
                                             set_delete=True)
            return objects.Aggregate.get_by_id(ctxt, found.id)
    created = aggregate_db._aggregate_create_in_db(
        ctxt, {'name': name, 'uuid': uuidutils.generate_uuid()},
        metadata=metadata)
    return objects.Aggregate.get_by_id(ctxt, created.id)


def host(name, *aggregates, free_ram_mb=1024):
    state = host_manager.HostState(name, name + '-node',
                                   uuidutils.generate_uuid())
    state.aggregates = list(aggregates)
    state.free_ram_mb = free_ram_mb
    return state


def request_spec(remote_address, scheduler_hints=None):
    """A RequestSpec as the scheduler receives it: after an RPC hop."""
    return nova_scheduler.request_spec(remote_address, scheduler_hints)
