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


"""The plugin's install, extra, test-config, unstack and clean phases."""

import os
import stat

import pytest

from tests.functional.devstack import plugin_runner
from tests.functional.devstack.plugin_runner import DevStack
from tests.functional.devstack.plugin_runner import read
from tests.functional.devstack.plugin_runner import TLS_PROXY

OS = 'openstack --os-cloud devstack-admin --os-region-name RegionOne '


@pytest.fixture
def devstack(tmp_path):
    stack = DevStack(str(tmp_path))
    stack.configure_swift()
    stack.configure_nova()
    return stack


def changes(stack):
    """The recorded calls that change something."""
    return [call for call in stack.calls()
            if not call.startswith(('define_plugin', OS + 'aggregate show'))]


def aggregates(stack):
    """{name: (properties, hosts)} as the openstack stand-in keeps them."""
    result = {}
    for name in sorted(os.listdir(stack.openstack_state)):
        base = os.path.join(stack.openstack_state, name)
        result[name] = (read(os.path.join(base, 'properties')).split(),
                        read(os.path.join(base, 'hosts')).split())
    return result


def test_settings_define_the_plugin_and_enable_its_service(devstack):
    devstack.run('stack', 'pre-install')
    assert devstack.calls() == ['define_plugin opsext']


def test_install_sets_opsext_up_in_develop_mode(devstack):
    devstack.run('stack', 'install')
    assert changes(devstack) == ['setup_develop ' + plugin_runner.TOP]


def test_extra_creates_the_demo_aggregates_without_hosts(devstack):
    devstack.run('stack', 'extra')
    assert aggregates(devstack) == {
        'opsext-lab': (['opsext_subnets=10.1.0.0/16'], []),
        'opsext-local': (['opsext_subnets=%s/32' % TLS_PROXY], [])}
    assert changes(devstack) == [
        OS + 'aggregate create --property opsext_subnets=%s/32 '
        'opsext-local' % TLS_PROXY,
        OS + 'aggregate create --property opsext_subnets=10.1.0.0/16 '
        'opsext-lab']


def test_test_config_adds_the_registered_compute(devstack):
    # After stack.sh's is_nova_ready and discover_hosts.
    devstack.run('stack', 'extra')
    devstack.clear_calls()
    devstack.run('stack', 'test-config')
    assert aggregates(devstack)['opsext-local'][1] == ['compute1']
    assert [c for c in changes(devstack) if c.startswith(OS)] == [
        OS + 'compute service list --service nova-compute -f value -c Host',
        OS + 'aggregate add host opsext-local compute1']


def test_a_host_that_is_no_compute_is_left_out_with_a_warning(devstack):
    # Nova answers 404 for it; stack.sh (errexit) must go on.
    devstack.run('stack', 'extra', OPSEXT_DEMO_HOST='controller')
    result = devstack.run('stack', 'test-config',
                          OPSEXT_DEMO_HOST='controller')
    assert aggregates(devstack)['opsext-local'][1] == []
    assert ('opsext: controller is not a nova-compute service; not added '
            'to aggregate opsext-local') in result.stdout
    assert os.path.exists(devstack.test_env_file)


def _refusing_client(stack):
    """PATH with an openstack that lists compute1, whose Nova refuses it
    (404: the service went away between the two calls)."""
    directory = os.path.join(stack.root, 'refusing')
    os.makedirs(directory)
    path = os.path.join(directory, 'openstack')
    with open(path, 'w') as client:
        client.write('#!/bin/bash\n'
                     'if [[ "$*" == *"compute service list"* ]]; then\n'
                     '    echo compute1; exit 0\nfi\n'
                     'STANDIN_COMPUTE_HOSTS= exec "%s" "$@"\n'
                     % os.path.join(stack.root, 'bin', 'openstack'))
    os.chmod(path, 0o755)
    return directory + os.pathsep + stack.env['PATH']


def test_a_host_nova_refuses_is_left_out_with_a_warning(devstack):
    devstack.run('stack', 'extra')
    result = devstack.run('stack', 'test-config',
                          PATH=_refusing_client(devstack))
    assert aggregates(devstack)['opsext-local'][1] == []
    assert 'opsext: nova refused compute1 in aggregate opsext-local' in (
        result.stdout)
    assert os.path.exists(devstack.test_env_file)


@pytest.mark.parametrize('computes, expected', [
    ('3', ['host1', 'host2', 'host3']), ('1', ['host1'])])
def test_fake_virt_driver_computes_are_the_default_hosts(
        devstack, computes, expected):
    # lib/nova's start_nova_compute names fake computes ${HOSTNAME}1..N.
    env = dict(OPSEXT_DEMO_HOST='', VIRT_DRIVER='fake', HOSTNAME='host',
               NUMBER_FAKE_NOVA_COMPUTE=computes,
               STANDIN_COMPUTE_HOSTS='host1,host2,host3')
    devstack.run('stack', 'extra', **env)
    devstack.run('stack', 'test-config', **env)
    assert aggregates(devstack)['opsext-local'][1] == expected


def test_no_n_cpu_here_no_default_host(tmp_path):
    # A controller: its name is no compute; nothing is added, no warning.
    services = plugin_runner.SERVICES.replace('n-cpu,', '')
    stack = DevStack(str(tmp_path), services=services, OPSEXT_DEMO_HOST='')
    stack.configure_swift()
    stack.configure_nova()
    stack.run('stack', 'extra')
    result = stack.run('stack', 'test-config')
    assert aggregates(stack)['opsext-local'][1] == []
    assert 'WARNING' not in result.stdout


def test_second_extra_creates_and_adds_nothing(devstack):
    devstack.run('stack', 'extra')
    first = aggregates(devstack)
    devstack.clear_calls()
    devstack.run('stack', 'extra')
    assert not [c for c in changes(devstack)
                if ' create ' in c or ' add host ' in c]
    assert {name: (sorted(set(props)), hosts)
            for name, (props, hosts) in aggregates(devstack).items()} == (
        first)


def test_extra_with_aggregates_from_settings(devstack):
    settings = dict(OPSEXT_DEMO_AGGREGATES=(
        'docs=10.1.0.0/16,2001:db8:1::/48@doc1,doc2  ops=10.2.0.0/16'),
        OPSEXT_SUBNET_METADATA_KEY='my_subnets',
        STANDIN_COMPUTE_HOSTS='doc1,doc2')
    devstack.run('stack', 'extra', **settings)
    devstack.run('stack', 'test-config', **settings)
    assert aggregates(devstack) == {
        'docs': (['my_subnets=10.1.0.0/16,2001:db8:1::/48'],
                 ['doc1', 'doc2']),
        'ops': (['my_subnets=10.2.0.0/16'], [])}


def test_default_aggregate_of_an_ipv6_host(devstack):
    devstack.run('stack', 'extra', SERVICE_HOST='[2001:db8::5]')
    assert aggregates(devstack)['opsext-local'][0] == [
        'opsext_subnets=2001:db8::5/128']


@pytest.mark.parametrize('value', ['noequals', '=10.0.0.0/8', 'name='])
def test_bad_aggregate_setting_stops_the_phase(devstack, value):
    with pytest.raises(plugin_runner.PhaseError) as info:
        devstack.run('stack', 'extra', OPSEXT_DEMO_AGGREGATES=value)
    assert 'OPSEXT_DEMO_AGGREGATES' in str(info.value)


def test_extra_without_demo_aggregates(devstack):
    devstack.run('stack', 'extra', OPSEXT_CREATE_DEMO_AGGREGATES='False')
    assert changes(devstack) == []


def test_unstack_deletes_the_demo_aggregates(devstack):
    devstack.run('stack', 'extra')
    devstack.run('stack', 'test-config')
    devstack.clear_calls()
    devstack.run('unstack')
    assert aggregates(devstack) == {}
    assert changes(devstack) == [
        OS + 'aggregate remove host opsext-local compute1',
        OS + 'aggregate delete opsext-local',
        OS + 'aggregate delete opsext-lab']


def test_unstack_without_aggregates_deletes_nothing(devstack):
    devstack.run('unstack')
    assert changes(devstack) == []


NOVA_TEST_ENV = [
    'OPSEXT_TEST_NOVA_AUTH_URL=https://%s/identity/v3' % TLS_PROXY,
    'OPSEXT_TEST_NOVA_USER=admin',
    'OPSEXT_TEST_NOVA_KEY=secretadmin',
    'OPSEXT_TEST_NOVA_PROJECT=admin',
    'OPSEXT_TEST_REGION=RegionOne',
    'OPSEXT_TEST_NOVA_FLAVOR=m1.tiny',
    'OPSEXT_TEST_NOVA_IMAGE=cirros-0.6.3-x86_64-disk',
    'OPSEXT_TEST_NOVA_NETWORK=none',
    'OPSEXT_TEST_NOVA_EXPECT=group',
    'OPSEXT_TEST_NOVA_METADATA_KEY=opsext_subnets']


def test_test_config_writes_the_environment_of_the_tests(devstack):
    devstack.run('stack', 'test-config')
    assert read(devstack.test_env_file).splitlines() == [
        'OPSEXT_TEST_TARGET=deployed',
        'OPSEXT_TEST_SERVICES=swift,nova',
        'OPSEXT_TEST_AUTH_URL=https://%s:8080/auth/v1.0' % TLS_PROXY,
        'OPSEXT_TEST_USER=test:tester',
        'OPSEXT_TEST_KEY=testing',
        'OPSEXT_TEST_CACERT=/opt/stack/data/ca-bundle.pem'] + NOVA_TEST_ENV
    assert stat.S_IMODE(os.stat(devstack.test_env_file).st_mode) == 0o600


def test_test_config_without_tls_proxy(tmp_path):
    stack = DevStack(str(tmp_path), services=plugin_runner.SERVICES.replace(
        ',tls-proxy', ''), SWIFT_SERVICE_PROTOCOL='http',
        OPSEXT_TEST_USER='admin:admin', OPSEXT_TEST_KEY='admin',
        OPSEXT_ENABLE_SUBNET_AFFINITY='False')
    stack.run('stack', 'test-config')
    assert read(stack.test_env_file).splitlines() == [
        'OPSEXT_TEST_TARGET=deployed',
        'OPSEXT_TEST_SERVICES=swift',
        'OPSEXT_TEST_AUTH_URL=http://%s:8080/auth/v1.0' % TLS_PROXY,
        'OPSEXT_TEST_USER=admin:admin',
        'OPSEXT_TEST_KEY=admin']


def _nova_test_env(stack):
    return dict(line.split('=', 1)
                for line in read(stack.test_env_file).splitlines()
                if line.startswith('OPSEXT_TEST_NOVA_'))


NETWORK_ID = '0e8b8f1c-9d0a-4a4e-8f1a-2b0c1d2e3f40'


def test_test_config_nova_server_from_settings(devstack):
    devstack.run('stack', 'test-config', OPSEXT_TEST_NOVA_FLAVOR='c1',
                 OPSEXT_TEST_NOVA_IMAGE='my-image',
                 OPSEXT_TEST_NOVA_NETWORK=NETWORK_ID,
                 OPSEXT_TEST_NOVA_EXPECT='any')
    found = _nova_test_env(devstack)
    assert (found['OPSEXT_TEST_NOVA_FLAVOR'], found['OPSEXT_TEST_NOVA_IMAGE'],
            found['OPSEXT_TEST_NOVA_NETWORK'],
            found['OPSEXT_TEST_NOVA_EXPECT']) == (
        'c1', 'my-image', NETWORK_ID, 'any')


@pytest.mark.parametrize('unmatched, expect', [
    ('any', 'any'), ('untagged', 'untagged'), ('none', 'novalidhost')])
def test_test_config_expectation_without_demo_aggregates(devstack, unmatched,
                                                         expect):
    devstack.run('stack', 'test-config',
                 OPSEXT_CREATE_DEMO_AGGREGATES='False',
                 OPSEXT_SUBNET_UNMATCHED_REQUESTS=unmatched)
    assert _nova_test_env(devstack)['OPSEXT_TEST_NOVA_EXPECT'] == expect


def test_test_config_expectation_with_own_aggregates(devstack):
    # Aggregates of the operator's choosing: the client's group is unknown.
    devstack.run('stack', 'test-config',
                 OPSEXT_DEMO_AGGREGATES='x=10.9.0.0/16')
    assert _nova_test_env(devstack)['OPSEXT_TEST_NOVA_EXPECT'] == 'any'


def test_test_config_is_read_by_the_tests(devstack):
    from opsext.testing import nova_target
    from opsext.testing import target

    devstack.run('stack', 'test-config', SSL_BUNDLE_FILE=devstack.nova_conf)
    env = dict(line.split('=', 1)
               for line in read(devstack.test_env_file).splitlines())
    assert target.services(env) == {'swift', 'nova'}
    assert target.Target.from_environ(env).cacert == devstack.nova_conf
    nova = nova_target.NovaTarget.from_environ(env)
    assert (nova.auth_url, nova.expect) == (
        'https://%s/identity/v3' % TLS_PROXY, 'group')


def test_clean_removes_the_test_environment(devstack):
    devstack.run('stack', 'test-config')
    devstack.run('clean')
    assert not os.path.exists(devstack.test_env_file)


def test_every_phase_in_order_then_unstack_and_clean(devstack):
    proxy = read(devstack.proxy_conf)
    nova = devstack.post_config_without_plugin()
    for phase in ('pre-install', 'install', 'post-config', 'extra',
                  'test-config'):
        devstack.run('stack', phase)
    assert read(devstack.proxy_conf) != proxy
    assert read(devstack.nova_conf) != nova
    devstack.run('unstack')
    devstack.run('clean')
    assert read(devstack.proxy_conf) == proxy
    assert read(devstack.nova_conf) == nova
    assert aggregates(devstack) == {}
    assert not os.path.exists(devstack.test_env_file)


def test_disabled_service_does_nothing(tmp_path):
    stack = DevStack(str(tmp_path))
    stack.configure_swift()
    stack.configure_nova()
    proxy = read(stack.proxy_conf)
    nova = stack.post_config_without_plugin()
    stack.clear_calls()
    # disable_service in local.conf takes opsext off ENABLED_SERVICES
    # after the settings enabled it; the stand-in reads DISABLED_SERVICES.
    for phase in ('install', 'post-config', 'extra', 'test-config'):
        stack.run('stack', phase, STANDIN_DISABLED_SERVICES='opsext')
    assert changes(stack) == []
    assert read(stack.proxy_conf) == proxy
    assert read(stack.nova_conf) == nova
    assert not os.path.exists(stack.test_env_file)


def test_without_swift_the_proxy_config_is_not_touched(tmp_path):
    services = ','.join(s for s in plugin_runner.SERVICES.split(',')
                        if not s.startswith('s-'))
    stack = DevStack(str(tmp_path), services=services)
    stack.configure_swift()
    stack.configure_nova()
    proxy = read(stack.proxy_conf)
    stack.run('stack', 'post-config')
    stack.run('stack', 'test-config')
    assert read(stack.proxy_conf) == proxy
    assert 'SubnetAffinityFilter' in read(stack.nova_conf)
    assert read(stack.test_env_file).splitlines() == [
        'OPSEXT_TEST_TARGET=deployed',
        'OPSEXT_TEST_SERVICES=nova',
        'OPSEXT_TEST_CACERT=/opt/stack/data/ca-bundle.pem'] + NOVA_TEST_ENV


def test_without_the_scheduler_nova_conf_is_not_touched(tmp_path):
    services = ','.join(s for s in plugin_runner.SERVICES.split(',')
                        if not s.startswith('n-'))
    stack = DevStack(str(tmp_path), services=services)
    stack.configure_swift()
    stack.configure_nova()
    nova = read(stack.nova_conf)
    stack.run('stack', 'post-config')
    stack.run('stack', 'extra')
    assert read(stack.nova_conf) == nova
    assert aggregates(stack) == {}
    assert 'ip_allowlist' in read(stack.proxy_conf)
