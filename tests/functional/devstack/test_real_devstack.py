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


"""The plugin under DevStack's own code, Swift side (see real_devstack).

Run with ``OPSEXT_DEVSTACK_DIR=<devstack tree> tox -e devstack-real``;
deselected otherwise. Per scenario: stack.sh's steps succeed, the proxy
pipeline holds our filters after auth, Swift's ``loadapp`` loads the
resulting proxy-server.conf (keystonemiddleware's authtoken included),
and unstack and clean give both files back byte for byte.
"""

import configparser
import os

import pytest
from swift.common import wsgi

from tests.functional.devstack import real_devstack

pytestmark = pytest.mark.opsext_real_devstack

ENABLED = [name for name in real_devstack.SCENARIOS if name != 'disabled']


@pytest.fixture(scope='session')
def swift_src(tmp_path_factory):
    return real_devstack.swift_source(str(tmp_path_factory.mktemp('swift')))


@pytest.fixture(scope='session')
def results(tmp_path_factory, swift_src):
    cache = {}

    def get(scenario):
        if scenario not in cache:
            work = str(tmp_path_factory.mktemp('devstack-' + scenario))
            cache[scenario] = real_devstack.run(work, swift_src, scenario)
        return cache[scenario]
    return get


def _pipeline(text):
    parser = configparser.RawConfigParser(strict=False)
    parser.read_string(text)
    return parser.get('pipeline:main', 'pipeline').split()


@pytest.mark.parametrize('scenario', ENABLED)
def test_our_filters_right_after_auth(results, scenario):
    items = _pipeline(results(scenario).stacked.files['proxy'])
    auth = items.index('tempauth')
    assert items[auth + 1:auth + 3] == ['ip_allowlist', 'opsext_ratelimit']


@pytest.mark.parametrize('scenario', ENABLED)
def test_swift_loads_the_proxy_conf(results, scenario, swift_cluster,
                                    tmp_path):
    text = results(scenario).stacked.files['proxy']
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str
    parser.read_string(text)
    # Rings and memcached of a test cluster: init_swift did not run.
    parser.set('DEFAULT', 'swift_dir', swift_cluster.layout.workdir)
    parser.set('filter:cache', 'memcache_servers',
               swift_cluster.layout.memcache_servers)
    path = str(tmp_path / 'proxy-server.conf')
    with open(path, 'w') as out:
        parser.write(out)
    swift_cluster.activate()
    app = wsgi.loadapp(path)
    names = []
    while app is not None:
        names.append(type(app).__name__)
        # keystonemiddleware's AuthProtocol keeps the next one in _app.
        app = getattr(app, 'app', None) or getattr(app, '_app', None)
    assert 'IPAllowlistMiddleware' in names, names
    assert 'RateLimitMiddleware' in names, names


@pytest.mark.parametrize('scenario', ENABLED)
@pytest.mark.parametrize('step', ['unstacked', 'cleaned'])
@pytest.mark.parametrize('conf', ['proxy', 'nova'])
def test_undo_gives_the_file_back_byte_for_byte(results, scenario, step,
                                                conf):
    result = results(scenario)
    assert result.stacked.files[conf] != result.alone.files[conf]
    assert getattr(result, step).files[conf] == result.alone.files[conf]


def test_disabled_plugin_changes_nothing(results):
    result = results('disabled')
    assert result.stacked.files == result.alone.files
    assert 'opsext' not in result.stacked.files['proxy']
    assert 'opsext' not in result.stacked.files['nova']
    assert result.aggregates() == {}
    assert real_devstack.env_file(result) is None


@pytest.mark.parametrize('scenario, python', [
    ('readme', os.path.join('data', 'venv', 'bin', 'python3')),
    ('no-global-venv', 'python3.')])
def test_the_python_used_is_where_setup_develop_put_it(results, scenario,
                                                       python):
    result = results(scenario)
    with open(os.path.join(result.work, 'stubs.log')) as log:
        installs = [line for line in log if 'opsext installed for' in line]
    assert installs and all(python in line for line in installs), installs
    used = [line for line in result.stacked.output.splitlines()
            if '-m opsext.cmd.main pipeline insert' in line]
    assert used and all(python in line for line in used), used


def test_fake_computes_join_the_default_aggregate(results):
    import socket
    host = socket.gethostname()
    result = results('fake-virt')
    assert result.stacked.files['nova'].count('SubnetAffinityFilter') == 1
    # Before unstack removed them: read from the stack output.
    assert 'aggregate add host opsext-local %s1' % host in (
        _openstack_calls(result))
    assert 'aggregate add host opsext-local %s2' % host in (
        _openstack_calls(result))


def test_readme_hosts_that_are_no_computes_only_warn(results):
    output = results('readme').stacked.output
    assert 'doc1 is not a nova-compute service' in output
    assert 'aggregate add host' not in _openstack_calls(results('readme'))


def _openstack_calls(result):
    with open(os.path.join(result.work, 'openstack.log')) as log:
        return log.read()
