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

"""An all-in-one Swift on loopback: the product behind ``opsext demo``.

:class:`~opsext.allinone.cluster.SwiftCluster` runs Swift's own proxy,
account, container and object servers as subprocesses on free 127.0.0.1
ports, with rings of one directory device and a memcached of its own, in a
temporary directory (nothing is read from ``/etc/swift``); your filters go
right after ``tempauth``. It serves ``opsext demo``, the benchmarks, and the
test toolkit (:mod:`opsext.testing`), which is built on it.

Modules: :mod:`.cluster` (start, stop, requests, the in-process pipeline),
:mod:`.config` (configs and rings), :mod:`.servers` (Swift's server
scripts), :mod:`.memcached`, :mod:`.process` (subprocesses and free ports)
and :mod:`.transport` (one request over TCP or through a WSGI app).
Nothing here imports the test harness; importing this package starts
nothing.
"""
