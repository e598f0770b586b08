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


"""Every oslo.config option group of opsext, for oslo-config-generator.

The ``oslo.config.opts`` entry point ``opsext`` points at
:func:`list_opts`; ``tox -e genconfig`` writes
``etc/opsext/opsext.conf.sample`` from it, and the docs show the options
with ``oslo_config.sphinxext``. The Swift and rate-limit filters take
paste.deploy options instead (see ``etc/swift/proxy-server.conf-sample``).

Only plain-Python option modules are imported here: no Swift, no Nova.
"""

import copy

from opsext.subnet_affinity import options as placement_options


def list_opts() -> list:
    """[(group name, [options])] for every oslo.config group of opsext.

    The options are deep copies, so that the generator's tools can never
    change the ones the plugins register.
    """
    return [(placement_options.GROUP, copy.deepcopy(placement_options.OPTS))]
