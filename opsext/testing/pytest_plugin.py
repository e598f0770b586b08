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

"""pytest fixtures to test operators' own Swift and Nova plugins for real.

Installed with opsext and loaded by pytest through the ``pytest11`` entry
point ``opsext``, in any test run of the environment (``-p no:opsext``
turns it off).  This is a stable API: the fixtures, their parameters and
the ini options below change only with a deprecation period.

Swift (``pip install opsext[swift,test]`` and Debian's ``memcached``):

``swift_cluster``
    a real all-in-one Swift (proxy, account, container and object servers,
    rings, memcached) on free loopback ports, with the filters of the
    module-scoped fixtures ``swift_pipeline`` (names placed right after
    ``tempauth``), ``swift_filters`` (``{name: options}``, or ``{name:
    'egg:dist#entry'}``, or ``{name: 'package.module:filter_factory'}``)
    and ``swift_proxy_conf`` (options of ``[app:proxy-server]``), which a
    test module or conftest.py overrides.  One cluster per configuration:
    with the ini option ``opsext_swift_cluster_scope = session`` (default)
    modules asking for the same configuration share it; with ``module``
    each module gets its own, stopped after the module.
``swift_client``
    a :class:`~opsext.testing.swift_client.SwiftClient`: tempauth user
    ``test:tester``, sending from 127.0.0.1; ``.from_address('127.0.0.7')``
    and ``.as_user('test:tester3')`` give others.
``swift_cluster_factory``
    session-scoped: ``swift_cluster_factory(pipeline_filters=...,
    filter_conf=..., proxy_conf=...)`` returns the started cluster of any
    other configuration.

Nova (nova and its test requirements installed, see the docs):

``nova_scheduler``
    ``nova_scheduler(filters=[...], weighers=[...], hosts={...},
    aggregates={...}, conf={...})`` returns a
    :class:`~opsext.testing.nova_scheduler.Scheduler`: Nova's own
    ``HostManager`` with those filters and weighers enabled through
    ``[filter_scheduler]``, over real ``HostState`` objects built from
    ``ComputeNode`` records, and real ``RequestSpec`` objects that went
    through Nova's RPC serializers.
``nova_cloud``
    ``nova_cloud(filters=[...], weighers=[...], hosts=[...],
    aggregates={...}, conf={...})`` starts Nova's in-process functional
    harness (API, conductor, scheduler, placement, fake computes) with the
    plugins enabled and returns a :class:`~opsext.testing.nova_cloud.
    NovaCloud` whose ``boot(source_address=...)`` creates a server from
    that address through the REST API.

Nothing here imports Swift or Nova until a fixture runs, so the plugin
loads in every pytest run, with or without them.
"""

import os
from typing import (Any, Callable, Iterator, Mapping, Optional, Sequence,
                    TYPE_CHECKING)

import pytest

if TYPE_CHECKING:
    from opsext.testing.nova_cloud import NovaCloud
    from opsext.testing.nova_scheduler import Scheduler
    from opsext.testing.swift_client import SwiftClient
    from opsext.allinone.cluster import SwiftCluster

SCOPE_OPTION = 'opsext_swift_cluster_scope'
SCOPES = ('session', 'module')

ClusterFactory = Callable[..., 'SwiftCluster']


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        SCOPE_OPTION,
        'opsext: "session" (default) shares a Swift cluster between the '
        'modules that ask for the same configuration; "module" starts one '
        'per module and stops it after the module',
        default='session')


def _cluster_scope(config: pytest.Config) -> str:
    scope = (config.getini(SCOPE_OPTION) or 'session').strip()
    if scope not in SCOPES:
        raise pytest.UsageError('%s = %r: use one of %s' % (
            SCOPE_OPTION, scope, ', '.join(SCOPES)))
    return scope


def pytest_configure(config: pytest.Config) -> None:
    # A bad value stops the run at once, naming the option.
    _cluster_scope(config)


# -- Swift ---------------------------------------------------------------

@pytest.fixture(scope='session')
def _opsext_cluster_pool(request: pytest.FixtureRequest) -> Iterator[Any]:
    from opsext.testing import cluster_pool

    keep = os.environ.get(cluster_pool.KEEP_VARIABLE, '') not in ('', '0')
    # Filters given as module:factory may live in the project's tree
    # without being installed: the servers import from its root too.
    pool = cluster_pool.ClusterPool(
        keep=keep, pythonpath=[str(request.config.rootpath)])
    yield pool
    for path in pool.stop_all():
        print('kept Swift cluster directory %s' % path)


@pytest.fixture(scope='session')
def swift_cluster_factory(_opsext_cluster_pool: Any) -> ClusterFactory:
    """Start (or reuse) the cluster of any configuration.

    ``swift_cluster_factory(pipeline_filters=None, filter_conf=None,
    proxy_conf=None)``: the same configuration gives the same cluster for
    the rest of the session; every cluster stops at its end.
    """
    return _opsext_cluster_pool.get


@pytest.fixture(scope='module')
def swift_pipeline() -> Sequence[str]:
    """Filters placed right after tempauth; override it in your tests."""
    return []


@pytest.fixture(scope='module')
def swift_filters() -> Mapping[str, Any]:
    """``[filter:NAME]`` sections: ``{name: options or 'egg:...'}``."""
    return {}


@pytest.fixture(scope='module')
def swift_proxy_conf() -> Mapping[str, str]:
    """Options added to the proxy's ``[app:proxy-server]``."""
    return {}


@pytest.fixture(scope='module')
def swift_cluster(request: pytest.FixtureRequest, _opsext_cluster_pool: Any,
                  swift_pipeline: Sequence[str],
                  swift_filters: Mapping[str, Any],
                  swift_proxy_conf: Mapping[str, str]
                  ) -> Iterator['SwiftCluster']:
    """A real Swift cluster with ``swift_pipeline`` after tempauth."""
    pool = _opsext_cluster_pool
    cluster = pool.get(swift_pipeline, swift_filters, swift_proxy_conf)
    yield cluster
    if _cluster_scope(request.config) == 'module':
        path = pool.stop(pool.key(swift_pipeline, swift_filters,
                                  swift_proxy_conf))
        if path:
            print('kept Swift cluster directory %s' % path)


@pytest.fixture
def swift_client(swift_cluster: 'SwiftCluster') -> 'SwiftClient':
    """User ``test:tester`` of ``swift_cluster``, sending from 127.0.0.1."""
    from opsext.testing.swift_client import SwiftClient

    return SwiftClient(swift_cluster)


# -- Nova ----------------------------------------------------------------

@pytest.fixture
def nova_scheduler() -> Iterator[Callable[..., 'Scheduler']]:
    """Build Nova's HostManager with your filters over described hosts.

    Nova's configuration is restored after the test.
    """
    from opsext.testing import nova_scheduler as scheduler_mod

    with scheduler_mod.SchedulerFactory() as factory:
        yield factory


@pytest.fixture
def nova_cloud() -> Iterator[Callable[..., 'NovaCloud']]:
    """Start Nova's in-process cloud with your scheduler plugins.

    One cloud per call; everything is stopped after the test.
    """
    from opsext.testing import nova_cloud as cloud_mod

    clouds: list['NovaCloud'] = []

    def start(**kwargs: Any) -> 'NovaCloud':
        cloud = cloud_mod.NovaCloud(**kwargs)
        clouds.append(cloud)
        return cloud.start()

    yield start
    errors: list[Optional[BaseException]] = []
    for cloud in reversed(clouds):
        errors.extend(cloud.stop())
    if errors:
        raise errors[0]
