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

"""Real Swift clusters shared by every test that asks for the same one.

A cluster takes a second or two to start, so a test run starts one per
configuration and hands it to every test (or module) that asks for that
configuration again::

    pool = ClusterPool()
    cluster = pool.get(pipeline_filters=['myfilter'],
                       filter_conf={'myfilter': 'egg:mypkg#myfilter'})
    ...
    pool.stop_all()

A configuration that failed to start fails again at once, without spending
another start timeout.  Swift is imported only when a cluster starts.
"""

import json
from typing import Mapping, Optional, Sequence, TYPE_CHECKING

if TYPE_CHECKING:
    from opsext.allinone.cluster import SwiftCluster

#: The environment variable that keeps the clusters' directories.
KEEP_VARIABLE = 'OPSEXT_KEEP_CLUSTERS'


class ClusterPool(object):
    """Started clusters, keyed by their configuration.

    :param keep: keep each cluster's directory (configs, server logs)
        after it stops; :meth:`stop_all` returns their paths.
    :param pythonpath: directories every cluster's servers import from
        first (see :class:`~opsext.allinone.cluster.SwiftCluster`).
    """

    def __init__(self, keep: bool = False,
                 pythonpath: Sequence[str] = ()) -> None:
        self.keep = keep
        self.pythonpath = list(pythonpath)
        self._clusters: dict[str, 'SwiftCluster'] = {}
        self._failures: dict[str, Exception] = {}

    @staticmethod
    def key(pipeline_filters: Optional[Sequence[str]] = None,
            filter_conf: Optional[Mapping[str, object]] = None,
            proxy_conf: Optional[Mapping[str, str]] = None) -> str:
        """The pool's key for one configuration."""
        return json.dumps([list(pipeline_filters or []), filter_conf or {},
                           proxy_conf or {}], sort_keys=True)

    def get(self, pipeline_filters: Optional[Sequence[str]] = None,
            filter_conf: Optional[Mapping[str, object]] = None,
            proxy_conf: Optional[Mapping[str, str]] = None
            ) -> 'SwiftCluster':
        """The started cluster of this configuration; start it if need be.

        :raises ValueError: for a configuration that cannot be written.
        :raises ClusterStartError: when the cluster does not become healthy
            (and again, at once, on every later call).
        """
        from opsext.allinone.cluster import SwiftCluster

        key = self.key(pipeline_filters, filter_conf, proxy_conf)
        if key in self._failures:
            raise self._failures[key]
        if key not in self._clusters:
            cluster = SwiftCluster(pipeline_filters=pipeline_filters,
                                   filter_conf=filter_conf,
                                   proxy_conf=proxy_conf, keep=self.keep,
                                   pythonpath=self.pythonpath)
            try:
                cluster.start()
            except Exception as exc:
                self._failures[key] = exc
                raise
            self._clusters[key] = cluster
        cluster = self._clusters[key]
        # Lets tests load copies of proxy_conf_path with plain loadapp.
        cluster.activate()
        return cluster

    def stop(self, key: str) -> Optional[str]:
        """Stop the cluster of ``key`` if it runs; return a kept workdir."""
        cluster = self._clusters.pop(key, None)
        if cluster is None:
            return None
        workdir = cluster.workdir
        cluster.stop()
        return workdir if self.keep else None

    def stop_all(self) -> list[str]:
        """Stop every cluster; return the directories kept."""
        kept = [self.stop(key) for key in list(self._clusters)]
        return [path for path in kept if path]
