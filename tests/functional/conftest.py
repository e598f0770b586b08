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

"""Fixtures for functional tests: real Swift clusters, shared per session.

``swift_cluster_factory(pipeline_filters=..., filter_conf=...,
proxy_conf=...)`` returns a started :class:`SwiftCluster`; a second call
with the same configuration returns the same cluster, and every cluster is
stopped at the end of the session.  ``swift_cluster`` is the plain one,
with no filter after auth.  Clusters are shared: use fresh container names
and do not flush their memcached.

A missing memcached or Swift makes these tests fail, never skip.  Set
``OPSEXT_KEEP_CLUSTERS=1`` to keep the clusters' directories (configs and
server logs) after the session; their paths are printed.

``OPSEXT_TEST_TARGET=deployed`` (see :mod:`opsext.testing.target`) runs
only the ops-validation suite, ``tests/functional/deployed``, against a
deployed Swift: every other test needs powers only a local cluster gives
(distinct source addresses, its config and logs) and is deselected, as the
report says. A missing variable stops the run with an error naming it.
The target is in the report header and in the JUnit property
``opsext_test_target``.
"""

import json
import os
from typing import (Callable, Iterator, Mapping, Optional, Sequence,
                    TYPE_CHECKING)

import pytest

from opsext.testing import target as target_mod

if TYPE_CHECKING:
    from opsext.testing.swift_cluster import SwiftCluster

# Swift is imported only when a cluster is started, so that tests without
# Swift installed (tests/functional/nova in the nova environment) collect.
ClusterFactory = Callable[..., 'SwiftCluster']
DEPLOYED_SUITE = os.path.join(os.path.dirname(__file__), 'deployed')
_TARGET_KEY = pytest.StashKey[Optional[target_mod.Target]]()


def pytest_configure(config: pytest.Config) -> None:
    try:
        name = target_mod.target_name()
        deployed = (target_mod.Target.from_environ()
                    if name == target_mod.DEPLOYED else None)
    except target_mod.TargetConfigError as exc:
        # An error, not a skip: the run would validate nothing.
        raise pytest.UsageError(str(exc))
    config.stash[_TARGET_KEY] = deployed


def _deployed(config: pytest.Config) -> Optional[target_mod.Target]:
    return config.stash.get(_TARGET_KEY, None)


@pytest.fixture(scope='session')
def deployed_target(request: pytest.FixtureRequest
                    ) -> Optional[target_mod.Target]:
    """The deployed target of this run, or None for the local one."""
    return _deployed(request.config)


def pytest_report_header(config: pytest.Config) -> str:
    deployed = _deployed(config)
    if deployed is None:
        return ('opsext test target: local (Swift clusters started on '
                '127.0.0.1 by the tests)')
    return ('opsext test target: %s\n  only tests/functional/deployed runs; '
            'the rest needs a local cluster' % deployed.describe())


def pytest_collection_modifyitems(config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    if _deployed(config) is None:
        return
    keep, drop = [], []
    for item in items:
        inside = os.path.commonpath(
            [str(item.path), DEPLOYED_SUITE]) == DEPLOYED_SUITE
        (keep if inside else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
        reporter = config.pluginmanager.get_plugin('terminalreporter')
        if reporter is not None:
            reporter.write_line(
                'opsext: %d tests deselected: they need a local cluster, and '
                'OPSEXT_TEST_TARGET=deployed' % len(drop))


@pytest.fixture(scope='session', autouse=True)
def _record_target(request: pytest.FixtureRequest,
                   record_testsuite_property: Callable[[str, object], None]
                   ) -> None:
    deployed = _deployed(request.config)
    record_testsuite_property(
        'opsext_test_target',
        deployed.describe() if deployed else target_mod.LOCAL)


@pytest.fixture(scope='session')
def swift_cluster_factory() -> Iterator[ClusterFactory]:
    from opsext.testing.swift_cluster import SwiftCluster

    keep = os.environ.get('OPSEXT_KEEP_CLUSTERS', '') not in ('', '0')
    clusters: dict[str, SwiftCluster] = {}
    failures: dict[str, Exception] = {}

    def factory(pipeline_filters: Optional[Sequence[str]] = None,
                filter_conf: Optional[Mapping[str, Mapping[str, str]]] = None,
                proxy_conf: Optional[Mapping[str, str]] = None
                ) -> 'SwiftCluster':
        key = json.dumps([list(pipeline_filters or []), filter_conf or {},
                          proxy_conf or {}], sort_keys=True)
        if key in failures:
            # Do not spend another start timeout on a known failure.
            raise failures[key]
        if key not in clusters:
            cluster = SwiftCluster(pipeline_filters=pipeline_filters,
                                   filter_conf=filter_conf,
                                   proxy_conf=proxy_conf, keep=keep)
            try:
                cluster.start()
            except Exception as exc:
                failures[key] = exc
                raise
            clusters[key] = cluster
        cluster = clusters[key]
        # Lets tests load copies of proxy_conf_path with plain loadapp.
        cluster.activate()
        return cluster

    yield factory
    for cluster in clusters.values():
        workdir = cluster.workdir
        cluster.stop()
        if keep:
            print('kept Swift cluster directory %s' % workdir)


@pytest.fixture(scope='session')
def swift_cluster(swift_cluster_factory: ClusterFactory) -> 'SwiftCluster':
    """The shared cluster with Swift's standard pipeline only."""
    return swift_cluster_factory()
