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


"""Run the phases of ``devstack/plugin.sh`` in bash, without DevStack.

:class:`DevStack` lays out a DevStack-like tree in a temporary directory
(``etc/swift/proxy-server.conf``, ``etc/nova/nova.conf``, ``/etc/opsext``
as ``etc/opsext``), and runs ``run-plugin.sh <mode> <phase>`` with the
stand-ins of this directory: DevStack's ini helpers, the functions-common
pieces the plugin calls, and an ``openstack`` client that records its
calls. As in DevStack, no Python has opsext until the install phase put
it there: the system ``python3.X`` of ``usr/bin`` or, with
``GLOBAL_VENV=True`` (DevStack's default), the global virtualenv
``data/venv`` that stack.sh makes after reading the plugin's settings.
``installed=True`` (the default) starts as if the install phase had run.
Used by the tests here (tox env ``functional``) and by
``tests/functional/nova/test_devstack_nova.py`` (tox env ``nova``), so it
imports neither Swift nor Nova.

Swift's wheel ships no ``etc/``: ``samples/`` holds Swift 2.38.3's own
``etc/proxy-server.conf-sample``, unchanged, from its sdist on PyPI
(``pip download --no-deps --no-binary :all: swift==2.38.3``); the tests
check that it loads with the installed Swift.
"""

import os
import shutil
import subprocess
import sys
from typing import Mapping, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SWIFT_SAMPLE = os.path.join(HERE, 'samples',
                            'swift-2.38.3-proxy-server.conf-sample')

#: DevStack's NOVA_FILTERS (lib/nova).
NOVA_FILTERS = ('ComputeFilter,ComputeCapabilitiesFilter,'
                'ImagePropertiesFilter,ServerGroupAntiAffinityFilter,'
                'ServerGroupAffinityFilter,SameHostFilter,'
                'DifferentHostFilter')

#: Services of a default DevStack with Swift.
SERVICES = ('key,n-api,n-cpu,n-cond,n-sch,placement-api,g-api,s-proxy,'
            's-object,s-container,s-account,mysql,rabbit,tls-proxy')

TLS_PROXY = '192.0.2.10'

#: The interpreter under the tox virtualenv, which has no opsext: the
#: stand-in pythons run it, with opsext on PYTHONPATH once installed.
BASE_PYTHON = getattr(sys, '_base_executable', sys.executable)
PYTHON3_VERSION = '%d.%d' % sys.version_info[:2]


class PhaseError(AssertionError):
    """A phase exited non-zero; carries its output."""


class DevStack:
    """A DevStack stand-in under ``root``; settings are local.conf's."""

    def __init__(self, root: str, services: str = SERVICES,
                 installed: bool = True, **settings: str) -> None:
        self.root = root
        self.swift_conf_dir = os.path.join(root, 'etc', 'swift')
        self.nova_conf = os.path.join(root, 'etc', 'nova', 'nova.conf')
        self.test_env_file = os.path.join(root, 'etc', 'opsext',
                                          'test.env')
        self.record = os.path.join(root, 'record')
        self.openstack_state = os.path.join(root, 'openstack')
        self.pip = os.path.join(root, 'pip')
        self.devstack_venv = os.path.join(root, 'data', 'venv')
        bin_dir = os.path.join(root, 'bin')
        system_bin = os.path.join(root, 'usr', 'bin')
        for path in (self.swift_conf_dir, os.path.dirname(self.nova_conf),
                     self.openstack_state, bin_dir, system_bin, self.pip):
            os.makedirs(path, exist_ok=True)
        shutil.copy(os.path.join(HERE, 'openstack-standin'),
                    os.path.join(bin_dir, 'openstack'))
        open(self.record, 'w').close()
        self.env = {
            'PATH': os.pathsep.join([bin_dir, system_bin,
                                     _path_without_python()]),
            'HOME': root,
            'LANG': 'C.UTF-8',
            'DEST': os.path.join(root, 'opt', 'stack'),
            'OPSEXT_DIR': TOP,
            # stackrc
            'GLOBAL_VENV': 'True',
            'DEVSTACK_VENV': self.devstack_venv,
            'PYTHON3_VERSION': PYTHON3_VERSION,
            'STACK_USER': _user(),
            'SERVICE_HOST': TLS_PROXY,
            'HOST_IP': TLS_PROXY,
            'REGION_NAME': 'RegionOne',
            'SWIFT_CONF_DIR': self.swift_conf_dir,
            'SWIFT_SERVICE_PROTOCOL': 'https',
            'SWIFT_DEFAULT_BIND_PORT': '8080',
            'NOVA_CONF': self.nova_conf,
            'NOVA_FILTERS': NOVA_FILTERS,
            'SSL_BUNDLE_FILE': '/opt/stack/data/ca-bundle.pem',
            'KEYSTONE_SERVICE_URI': 'https://%s/identity' % TLS_PROXY,
            'ADMIN_PASSWORD': 'secretadmin',
            'DEFAULT_IMAGE_NAME': 'cirros-0.6.3-x86_64-disk',
            'ENABLED_SERVICES': services,
            'OPSEXT_TEST_ENV_FILE': self.test_env_file,
            'OPSEXT_DEMO_HOST': 'compute1',
            'STANDIN_RECORD': self.record,
            'STANDIN_OPENSTACK_STATE': self.openstack_state,
            'STANDIN_COMPUTE_HOSTS': 'compute1',
            'STANDIN_PIP': self.pip,
            'STANDIN_BASE_PYTHON': BASE_PYTHON,
            'STANDIN_OPSEXT_SRC': TOP,
            'STANDIN_NEUTRON_NOVA_SECONDS': '0.2',
        }
        self.env.update(settings)
        for name in ('python3', 'python' + PYTHON3_VERSION):
            self._standin('_standin_python', os.path.join(system_bin, name),
                          'system')
        if installed:
            # Where the install phase would have put it.
            if self.env['GLOBAL_VENV'] == 'True':
                self._standin('setup_devstack_virtualenv')
            self._standin('setup_develop', TOP)
            self.clear_calls()

    def _standin(self, function: str, *args: str) -> None:
        """Call one function of devstack-standin.sh."""
        subprocess.run(
            ['bash', '-c', 'source "$0"; "$@"',
             os.path.join(HERE, 'devstack-standin.sh'), function] +
            list(args), env=self.env, check=True, cwd=self.root)

    def installed_in(self) -> list:
        """Where setup_develop installed opsext: 'venv', 'system'."""
        return sorted(name[:-len('.installed')]
                      for name in os.listdir(self.pip))

    @property
    def proxy_conf(self) -> str:
        return os.path.join(self.swift_conf_dir, 'proxy-server.conf')

    def _bash(self, script: str, *args: str,
              env: Optional[Mapping[str, str]] = None
              ) -> subprocess.CompletedProcess:
        full_env = dict(self.env, **(env or {}))
        result = subprocess.run(
            ['bash', os.path.join(HERE, script)] + list(args), env=full_env,
            cwd=self.root, capture_output=True, text=True, timeout=120)
        if result.returncode:
            raise PhaseError('%s %s exited %d\nstdout:\n%s\nstderr:\n%s' % (
                script, ' '.join(args), result.returncode, result.stdout,
                result.stderr[-6000:]))
        return result

    def configure_swift(self, sample: str = SWIFT_SAMPLE,
                        **env: str) -> str:
        """proxy-server.conf as DevStack's configure_swift leaves it."""
        self._bash('configure-standin.sh', 'swift', sample, env=env)
        return self.proxy_conf

    def configure_nova(self) -> str:
        """nova.conf as DevStack's create_nova_conf leaves it."""
        self._bash('configure-standin.sh', 'nova')
        return self.nova_conf

    def post_config_without_plugin(self, **env: str) -> str:
        """nova.conf as stack.sh leaves it after post-config, with opsext
        disabled: with lib/neutron's configure_neutron_nova's edits."""
        self.run('stack', 'post-config', STANDIN_DISABLED_SERVICES='opsext',
                 **env)
        return read(self.nova_conf)

    def run(self, mode: str, phase: Optional[str] = None,
            **env: str) -> subprocess.CompletedProcess:
        """One phase of plugin.sh; :class:`PhaseError` if it fails."""
        args = [mode] + ([phase] if phase else [])
        return self._bash('run-plugin.sh', *args, env=env)

    def calls(self) -> list:
        """The recorded calls, one string each, in order."""
        with open(self.record) as record:
            return record.read().splitlines()

    def clear_calls(self) -> None:
        open(self.record, 'w').close()


def read(path: str) -> str:
    with open(path) as conf:
        return conf.read()


def _path_without_python() -> str:
    """PATH without the tox virtualenv, whose python has opsext."""
    venv_bin = os.path.dirname(sys.executable)
    return os.pathsep.join(
        path for path in os.environ['PATH'].split(os.pathsep)
        if path and os.path.abspath(path) != venv_bin)


def _user() -> str:
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name
