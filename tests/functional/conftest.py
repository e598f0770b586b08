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
"""

import json
import os
from typing import (Callable, Iterator, Mapping, Optional, Sequence,
                    TYPE_CHECKING)

import pytest

if TYPE_CHECKING:
    from opsext.testing.swift_cluster import SwiftCluster

# Swift is imported only when a cluster is started, so that tests without
# Swift installed (tests/functional/nova in the nova environment) collect.
ClusterFactory = Callable[..., 'SwiftCluster']


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
