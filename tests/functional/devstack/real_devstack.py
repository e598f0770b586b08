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


"""The plugin's phases run by DevStack's own code (``real-devstack.sh``).

Only when ``OPSEXT_DEVSTACK_DIR`` names a DevStack tree (openstack/devstack
on GitHub: CI cannot fetch it, and DevStack is on no package registry);
otherwise the tests marked :data:`MARKER` are deselected, never skipped,
and the run says so. ``OPSEXT_SWIFT_SRC`` may name Swift's unpacked source
(else the sdist of the installed Swift is fetched from the package index
with pip); DevStack needs GNU awk: ``gawk`` on PATH or ``OPSEXT_GAWK``.

Each scenario is README.rst's local.conf plus a few lines. :func:`run`
stacks it twice in the same directory, first with ``disable_service
opsext`` (the files as DevStack alone leaves them), then as it is, then
runs unstack and clean, and keeps each file at each step. Imports neither
Swift nor Nova: the Swift checks run in tox env ``functional``
(``test_real_devstack.py``), the Nova ones in ``nova``
(``tests/functional/nova/test_real_devstack_nova.py``).
"""

import os
import shutil
import subprocess
import sys
from typing import Dict, List, NamedTuple, Optional

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, 'real-devstack.sh')
ENV = 'OPSEXT_DEVSTACK_DIR'
MARKER = 'opsext_real_devstack'
WHY = ('they run the plugin under DevStack\'s own code, and %s does not '
       'name a DevStack tree' % ENV)

#: Scenario: the lines added at the end of README's [[local|localrc]].
SCENARIOS: Dict[str, List[str]] = {
    'readme': [],
    'tls-proxy': ['enable_service tls-proxy'],
    'disabled': ['disable_service opsext'],
    'fake-virt': ['VIRT_DRIVER=fake', 'NUMBER_FAKE_NOVA_COMPUTE=2',
                  'OPSEXT_DEMO_AGGREGATES='],
    'no-global-venv': ['GLOBAL_VENV=False'],
}
FILES = {'proxy': os.path.join('etc', 'swift', 'proxy-server.conf'),
         'nova': os.path.join('etc', 'nova', 'nova.conf')}


class Step(NamedTuple):
    """One run of the driver: its output and the two files after it."""

    output: str
    files: Dict[str, str]


class Result(NamedTuple):
    """A scenario: DevStack alone, stacked with the plugin, undone."""

    work: str
    alone: Step
    stacked: Step
    unstacked: Step
    cleaned: Step

    def aggregates(self) -> Dict[str, List[str]]:
        """{name: hosts} as the openstack stand-in kept them."""
        state = os.path.join(self.work, 'openstack')
        result = {}
        for name in sorted(os.listdir(state)):
            with open(os.path.join(state, name, 'hosts')) as hosts:
                result[name] = hosts.read().split()
        return result


def configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        'markers', '%s: needs %s (deselected, saying so, without it)'
        % (MARKER, ENV))


def deselect(config: pytest.Config, items: list) -> None:
    """Deselect the marked tests when there is no DevStack tree."""
    if os.environ.get(ENV):
        return
    drop = [item for item in items if item.get_closest_marker(MARKER)]
    if not drop:
        return
    config.hook.pytest_deselected(items=drop)
    items[:] = [item for item in items if item not in drop]
    reporter = config.pluginmanager.get_plugin('terminalreporter')
    if reporter is not None:
        reporter.write_line('opsext: %d tests deselected: %s'
                            % (len(drop), WHY))


def swift_source(directory: str) -> str:
    """Swift's source tree: OPSEXT_SWIFT_SRC, or the installed version's
    sdist fetched with pip into ``directory``."""
    if os.environ.get('OPSEXT_SWIFT_SRC'):
        return os.environ['OPSEXT_SWIFT_SRC']
    from importlib import metadata
    try:
        version = metadata.version('swift')
    except metadata.PackageNotFoundError:  # tox env nova: the sample's
        version = '2.38.3'
    subprocess.run([sys.executable, '-m', 'pip', 'download', '-q',
                    '--disable-pip-version-check', '--no-deps',
                    '--no-binary', ':all:', '-d', directory,
                    'swift==%s' % version], check=True)
    shutil.unpack_archive(
        os.path.join(directory, 'swift-%s.tar.gz' % version), directory)
    return os.path.join(directory, 'swift-%s' % version)


def _step(work: str, swift_src: str, mode: str, *lines: str) -> Step:
    env = dict(os.environ, OPSEXT_SWIFT_SRC=swift_src)
    result = subprocess.run(['bash', DRIVER, work, mode] + list(lines),
                            env=env, capture_output=True, text=True,
                            timeout=900)
    output = result.stdout + result.stderr
    if result.returncode:
        raise AssertionError('real-devstack.sh %s %s exited %d:\n%s' % (
            mode, ' '.join(lines), result.returncode, output[-8000:]))
    files = {}
    for name, path in FILES.items():
        full = os.path.join(work, path)
        if os.path.exists(full):
            with open(full) as conf:
                files[name] = conf.read()
    return Step(output, files)


def run(work: str, swift_src: str, scenario: str,
        undo: bool = True) -> Result:
    """Run a scenario in ``work``; see the module docstring."""
    lines = SCENARIOS[scenario]
    alone = _step(work, swift_src, 'stack', *(lines + [
        'disable_service opsext']))
    shutil.rmtree(os.path.join(work, 'openstack'), ignore_errors=True)
    stacked = _step(work, swift_src, 'stack', *lines)
    unstacked = cleaned = Step('', {})
    if undo:
        unstacked = _step(work, swift_src, 'unstack')
        cleaned = _step(work, swift_src, 'clean')
    return Result(work, alone, stacked, unstacked, cleaned)


def stack_only(work: str, swift_src: str, scenario: str) -> Step:
    return _step(work, swift_src, 'stack', *SCENARIOS[scenario])


def env_file(result: Result) -> Optional[str]:
    path = os.path.join(result.work, 'etc', 'opsext', 'test.env')
    return path if os.path.exists(path) else None
