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

"""Swift's server scripts, run as subprocesses of this Python.

The servers are the real ``swift-<server>-server`` scripts installed next
to ``sys.executable`` (or their entry points, see :func:`server_command`),
run as ``[sys.executable, script, conf, --verbose]``:
``--verbose`` adds a console handler, so each server's log lines land in
its log file (there is usually no syslog socket on a test machine, and
Swift then sends syslog over UDP to localhost, where nobody listens).
"""

from importlib import metadata
import logging
import os
import sys
import sysconfig
from typing import Sequence

import opsext
from opsext.allinone import process
from opsext.allinone import config as swift_config

LOG = logging.getLogger(__name__)

HOST_SWIFT_CONF = '/etc/swift/swift.conf'


def find_server_script(server: str) -> str:
    """Path of ``swift-<server>-server`` in this Python's environment."""
    name = 'swift-%s-server' % server
    dirs = [os.path.dirname(sys.executable), sysconfig.get_path('scripts')]
    for directory in dirs:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    raise RuntimeError('%s not found in %s; install swift into the '
                       'environment of %s (pip install swift)'
                       % (name, ' or '.join(dirs), sys.executable))


def server_command(server: str) -> list[str]:
    """The argv (before the config path) that runs ``server``.

    The ``swift-<server>-server`` script of this environment, or, where
    Swift comes from another environment (a virtualenv that sees a parent
    environment's packages), the script's console_scripts entry point run
    by this Python.
    """
    try:
        return [sys.executable, find_server_script(server)]
    except RuntimeError:
        name = 'swift-%s-server' % server
        found = [ep for ep in metadata.entry_points(group='console_scripts')
                 if ep.name == name]
        if not found:
            raise
        module, _sep, function = found[0].value.partition(':')
        return [sys.executable, '-c', 'import sys; from %s import %s; '
                'sys.exit(%s())' % (module, function, function)]


def warn_about_host_config() -> None:
    """Warn when the host's swift.conf will leak into the cluster."""
    if os.path.exists(HOST_SWIFT_CONF):
        LOG.warning('%s exists: Swift servers read storage policies and '
                    'constraints from it whatever their swift_dir says',
                    HOST_SWIFT_CONF)


def server_env(pythonpath: Sequence[str] = ()) -> dict[str, str]:
    """Environment for the servers: unbuffered, and our opsext first.

    ``pythonpath`` goes first of all: directories of modules a test names
    as ``module:factory`` filters without installing them.
    """
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    paths = list(pythonpath)
    source_root = os.path.dirname(os.path.dirname(
        os.path.abspath(opsext.__file__)))
    if os.path.isfile(os.path.join(source_root, 'setup.cfg')):
        # Running from a source tree: the servers import the same opsext
        # code as this process (entry points still come from the install).
        paths.append(source_root)
    if paths:
        env['PYTHONPATH'] = os.pathsep.join(
            paths + [p for p in [env.get('PYTHONPATH')] if p])
    return env


def server_process(server: str, command: Sequence[str],
                   layout: swift_config.ClusterLayout,
                   env: dict[str, str]) -> process.ManagedProcess:
    """A not yet started process for ``server`` of the cluster ``layout``.

    ``command`` comes from :func:`server_command`.
    """
    return process.ManagedProcess(
        '%s-server' % server,
        list(command) + [layout.conf_path(server), '--verbose'],
        layout.log_path(server), env=env)
