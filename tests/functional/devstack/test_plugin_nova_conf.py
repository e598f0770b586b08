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


"""The plugin's nova.conf edits, on the nova.conf DevStack writes.

This environment has no Nova: the file is read with oslo.config and the
option types Nova gives ``[filter_scheduler]``, and opsext's own options.
``tests/functional/nova/test_devstack_nova.py`` loads the same edits into
Nova's HostManager, from Nova's own sample too.
"""

import os
import shutil

from oslo_config import cfg
import pytest

from opsext import paste_check
from opsext.subnet_affinity import options
from tests.functional.devstack import plugin_runner
from tests.functional.devstack.plugin_runner import DevStack
from tests.functional.devstack.plugin_runner import read
from tests.functional.devstack.plugin_runner import TLS_PROXY

NO_SWIFT = ','.join(s for s in plugin_runner.SERVICES.split(',')
                    if not s.startswith('s-'))
#: What the configure_neutron_nova stand-in adds (run-plugin.sh).
NEUTRON = ('[neutron]\nservice_metadata_proxy = True\n'
           'region_name = RegionOne\nauth_type = password\n')
NOVA_DEFAULT = ('ComputeFilter,ComputeCapabilitiesFilter,'
                'ImagePropertiesFilter,ServerGroupAntiAffinityFilter,'
                'ServerGroupAffinityFilter')


def load(path):
    """The file through oslo.config, with Nova's option types."""
    conf = cfg.ConfigOpts()
    conf.register_opts([
        cfg.MultiStrOpt('available_filters',
                        default=['nova.scheduler.filters.all_filters']),
        cfg.ListOpt('enabled_filters', default=NOVA_DEFAULT.split(',')),
        cfg.ListOpt('weight_classes',
                    default=['nova.scheduler.weights.all_weighers']),
    ], group='filter_scheduler')
    conf.register_opts([cfg.BoolOpt('enable_proxy_headers_parsing',
                                    default=False)],
                       group='oslo_middleware')
    options.register_opts(conf)
    conf(args=[], default_config_files=[path], project='nova')
    return conf


@pytest.fixture
def devstack(tmp_path):
    stack = DevStack(str(tmp_path), services=NO_SWIFT)
    stack.configure_nova()
    return stack


def test_filters_and_weighers_added_to_nova_s(devstack):
    devstack.run('stack', 'post-config')
    conf = load(devstack.nova_conf)
    scheduler = conf.filter_scheduler
    assert scheduler.available_filters == [
        'nova.scheduler.filters.all_filters',
        'opsext.nova.filters.all_filters']
    assert scheduler.enabled_filters == (
        plugin_runner.NOVA_FILTERS.split(',') + ['SubnetAffinityFilter'])
    assert scheduler.weight_classes == [
        'nova.scheduler.weights.all_weighers',
        'opsext.nova.weights.all_weighers']


def test_subnet_affinity_options_parse(devstack):
    devstack.run('stack', 'post-config', OPSEXT_SUBNET_RULES=(
        '10.1.0.0/16 = doc*; 10.2.0.0/16 = ops*, lab?;'),
        OPSEXT_SUBNET_UNTAGGED_HOSTS='deny',
        OPSEXT_SUBNET_UNMATCHED_REQUESTS='untagged',
        OPSEXT_SUBNET_WEIGHT_MULTIPLIER='2.5')
    conf = load(devstack.nova_conf)
    group = conf.opsext_subnet_affinity
    assert group.static_rules == ['10.1.0.0/16 = doc*',
                                  '10.2.0.0/16 = ops*, lab?']
    assert group.untagged_hosts == 'deny'
    assert group.unmatched_requests == 'untagged'
    assert group.subnet_affinity_weight_multiplier == 2.5
    assert group.trusted_proxies == [TLS_PROXY]
    assert group.metadata_key == 'opsext_subnets'
    policy = options.policy_from_conf(conf)
    assert len(policy.static_rules) == 2
    assert conf.oslo_middleware.enable_proxy_headers_parsing


def test_rules_are_not_expanded_by_the_shell(devstack, tmp_path):
    (tmp_path / 'doc1').write_text('')  # what doc* would expand to
    devstack.run('stack', 'post-config',
                 OPSEXT_SUBNET_RULES='10.1.0.0/16 = doc*')
    assert load(devstack.nova_conf).opsext_subnet_affinity.static_rules == [
        '10.1.0.0/16 = doc*']


def test_second_post_config_changes_nothing(devstack):
    devstack.run('stack', 'post-config',
                 OPSEXT_SUBNET_RULES='10.1.0.0/16 = doc*;10.2.0.0/16 = ops*')
    once = read(devstack.nova_conf)
    devstack.run('stack', 'post-config',
                 OPSEXT_SUBNET_RULES='10.1.0.0/16 = doc*;10.2.0.0/16 = ops*')
    assert read(devstack.nova_conf) == once


def test_unstack_gives_the_file_back(devstack):
    before = devstack.post_config_without_plugin()
    devstack.run('stack', 'post-config', OPSEXT_SUBNET_RULES='0.0.0.0/0 = x')
    devstack.run('unstack')
    assert read(devstack.nova_conf) == before


def write(path, text):
    with open(path, 'w') as out:
        out.write(text)


def test_existing_settings_are_kept_and_ours_only_appended(devstack):
    write(devstack.nova_conf, (
        '[filter_scheduler]\n'
        'available_filters = nova.scheduler.filters.all_filters\n'
        'available_filters = mine.filters.MyFilter\n'
        'enabled_filters = ComputeFilter, MyFilter\n'
        'weight_classes = nova.scheduler.weights.ram.RAMWeigher\n'))
    before = read(devstack.nova_conf)
    devstack.run('stack', 'post-config')
    scheduler = load(devstack.nova_conf).filter_scheduler
    assert scheduler.available_filters == [
        'nova.scheduler.filters.all_filters', 'mine.filters.MyFilter',
        'opsext.nova.filters.all_filters']
    assert scheduler.enabled_filters == ['ComputeFilter', 'MyFilter',
                                         'SubnetAffinityFilter']
    assert scheduler.weight_classes == [
        'nova.scheduler.weights.ram.RAMWeigher',
        'opsext.nova.weights.all_weighers']
    devstack.run('unstack')
    after = load(devstack.nova_conf).filter_scheduler
    assert after.available_filters == [
        'nova.scheduler.filters.all_filters', 'mine.filters.MyFilter']
    assert after.enabled_filters == ['ComputeFilter', 'MyFilter']
    assert after.weight_classes == ['nova.scheduler.weights.ram.RAMWeigher']
    assert 'opsext' not in read(devstack.nova_conf)
    assert read(devstack.nova_conf) != before  # "A, B" is now "A,B"


def test_already_there_is_not_added_again(devstack):
    text = ('[filter_scheduler]\n'
            'available_filters = opsext.nova.filters.all_filters\n'
            'enabled_filters = SubnetAffinityFilter,ComputeFilter\n'
            'weight_classes = opsext.nova.weights.all_weighers\n')
    write(devstack.nova_conf, text)
    devstack.run('stack', 'post-config')
    assert read(devstack.nova_conf).startswith(text)


def test_no_scheduler_settings_get_nova_s_defaults_kept(devstack):
    write(devstack.nova_conf, '[DEFAULT]\ndebug = True\n')
    no_tls = NO_SWIFT.replace(',tls-proxy', '')
    devstack.run('stack', 'post-config', ENABLED_SERVICES=no_tls)
    scheduler = load(devstack.nova_conf).filter_scheduler
    assert scheduler.available_filters == [
        'nova.scheduler.filters.all_filters',
        'opsext.nova.filters.all_filters']
    assert scheduler.enabled_filters == NOVA_DEFAULT.split(',') + [
        'SubnetAffinityFilter']
    devstack.run('unstack', ENABLED_SERVICES=no_tls)
    # The empty section iniset made stays (DevStack's inidelete keeps it).
    assert read(devstack.nova_conf) == (
        '[DEFAULT]\ndebug = True\n\n' + NEUTRON + '\n[filter_scheduler]\n')


def test_weight_classes_on_two_lines_become_one(devstack):
    # Only the last line of a list option counts; the plugin keeps both.
    write(devstack.nova_conf, (
        '[filter_scheduler]\n'
        'weight_classes = nova.scheduler.weights.all_weighers\n'
        'weight_classes = mine.weights.MyWeigher\n'))
    devstack.run('stack', 'post-config')
    assert load(devstack.nova_conf).filter_scheduler.weight_classes == [
        'nova.scheduler.weights.all_weighers', 'mine.weights.MyWeigher',
        'opsext.nova.weights.all_weighers']


def test_weigher_only(devstack):
    devstack.run('stack', 'post-config',
                 OPSEXT_ENABLE_SUBNET_AFFINITY='False',
                 OPSEXT_ENABLE_SUBNET_WEIGHER='True')
    scheduler = load(devstack.nova_conf).filter_scheduler
    assert 'SubnetAffinityFilter' not in scheduler.enabled_filters
    assert scheduler.available_filters == [
        'nova.scheduler.filters.all_filters']
    assert 'opsext.nova.weights.all_weighers' in scheduler.weight_classes


def test_nothing_enabled_nothing_written(devstack):
    before = devstack.post_config_without_plugin()
    devstack.run('stack', 'post-config',
                 OPSEXT_ENABLE_SUBNET_AFFINITY='False')
    assert read(devstack.nova_conf) == before


def test_proxy_headers_parsing_set_behind_tls_proxy_and_kept(devstack):
    write(devstack.nova_conf, '[DEFAULT]\ndebug = True\n')
    devstack.run('stack', 'post-config')
    devstack.run('unstack')
    assert read(devstack.nova_conf).endswith(
        '\n\n[oslo_middleware]\nenable_proxy_headers_parsing = True\n')


def test_proxy_headers_parsing_left_as_set(devstack):
    text = read(devstack.nova_conf).replace(
        'enable_proxy_headers_parsing = True',
        'enable_proxy_headers_parsing = False')
    write(devstack.nova_conf, text)
    devstack.run('stack', 'post-config')
    assert not load(devstack.nova_conf).oslo_middleware.\
        enable_proxy_headers_parsing


NOVA_API_PASTE = os.path.join(os.path.dirname(__file__), 'samples',
                              'nova-34.0.0-api-paste.ini')


@pytest.fixture
def api_paste(devstack):
    path = os.path.join(os.path.dirname(devstack.nova_conf), 'api-paste.ini')
    shutil.copy(NOVA_API_PASTE, path)
    return path


def test_api_paste_gets_client_address_and_source_stamp(devstack,
                                                        api_paste):
    devstack.run('stack', 'post-config')
    report = paste_check.check_file(api_paste)
    assert report.findings == ()
    text = read(api_paste)
    assert ('keystone = opsext_client_address cors http_proxy_to_wsgi '
            'compute_req_id faultwrap request_log sizelimit osprofiler '
            'authtoken keystonecontext opsext_source_stamp '
            'osapi_compute_app_v21') in text
    assert 'pipeline = cors http_proxy_to_wsgi metaapp' in text
    conf = load(devstack.nova_conf)
    secret = conf.opsext_subnet_affinity.source_stamp_secret
    assert len(secret) >= 32
    assert 'secret = %s' % secret in text
    assert 'trusted_proxies = %s' % TLS_PROXY in text


def test_api_paste_second_run_keeps_file_and_secret(devstack, api_paste):
    devstack.run('stack', 'post-config')
    first_paste, first_conf = read(api_paste), read(devstack.nova_conf)
    devstack.run('stack', 'post-config')
    assert read(api_paste) == first_paste
    assert read(devstack.nova_conf) == first_conf


def test_api_paste_unstack_gives_novas_file_back(devstack, api_paste):
    devstack.run('stack', 'post-config')
    devstack.run('unstack')
    assert read(api_paste) == read(NOVA_API_PASTE)


def test_api_paste_left_alone_when_disabled(devstack, api_paste):
    devstack.run('stack', 'post-config', OPSEXT_ENABLE_CLIENT_ADDRESS='False')
    assert read(api_paste) == read(NOVA_API_PASTE)
    conf = load(devstack.nova_conf)
    assert conf.opsext_subnet_affinity.source_stamp_secret is None
