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


"""The plugin's Swift side on Swift's own sample proxy-server.conf.

DevStack's configure_swift (stood in for) turns the sample into DevStack's
proxy config; the plugin's phases run in bash; the result loads through
``swift.common.wsgi.loadapp`` (paste.deploy, our entry points) and serves
requests from the shared test cluster's storage servers and memcached,
arriving through DevStack's tls-proxy.
"""

import configparser
import json
import os
import random
import subprocess
import uuid

import pytest
from swift.common import wsgi

from opsext.allinone import transport as swift_http
from tests.functional.devstack import plugin_runner
from tests.functional.devstack.plugin_runner import DevStack
from tests.functional.devstack.plugin_runner import read
from tests.functional.devstack.plugin_runner import TLS_PROXY

SAMPLE_PIPELINE = (
    'catch_errors gatekeeper healthcheck proxy-logging cache '
    'listing_formats container_sync bulk tempurl ratelimit tempauth copy '
    'container-quotas account-quotas slo dlo versioned_writes symlink '
    'proxy-logging proxy-server')
#: As lib/swift's configure_swift leaves it: double spaces included.
DEVSTACK_PIPELINE = SAMPLE_PIPELINE.replace(
    'tempauth', 'crossdomain tempauth  formpost staticweb').replace(
    'proxy-logging proxy-server', 'proxy-logging  proxy-server')
WITH_OURS = DEVSTACK_PIPELINE.replace(
    'tempauth', 'tempauth ip_allowlist opsext_ratelimit')


def pipeline(path):
    return _parser(path).get('pipeline:main', 'pipeline')


def _parser(path):
    parser = configparser.RawConfigParser(strict=False,
                                          default_section='no default')
    parser.read(path)
    return parser


def section(path, name):
    parser = _parser(path)
    return dict(parser.items(name)) if parser.has_section(name) else None


@pytest.fixture
def devstack(tmp_path, swift_cluster):
    stack = DevStack(str(tmp_path))
    stack.configure_swift(
        STANDIN_SWIFT_DIR=swift_cluster.layout.workdir,
        STANDIN_MEMCACHE_SERVERS=swift_cluster.layout.memcache_servers)
    return stack


def test_the_sample_loads_with_the_installed_swift(devstack, swift_cluster):
    swift_cluster.activate()
    assert pipeline(devstack.proxy_conf) == DEVSTACK_PIPELINE
    wsgi.loadapp(devstack.proxy_conf)


def test_post_config_puts_our_filters_right_after_auth(devstack):
    devstack.run('stack', 'post-config')
    assert pipeline(devstack.proxy_conf) == WITH_OURS


def test_post_config_writes_our_sections(devstack):
    devstack.run('stack', 'post-config')
    assert section(devstack.proxy_conf, 'filter:ip_allowlist') == {
        'use': 'egg:opsext#ip_allowlist', 'trusted_proxies': TLS_PROXY,
        'enforce': 'true'}
    assert section(devstack.proxy_conf, 'filter:opsext_ratelimit') == {
        'use': 'egg:opsext#ratelimit', 'backend': 'swift.cache',
        'rules': 'per_ip writes',
        'rule_per_ip': 'rates=200/second;12000/minute key=ip',
        'rule_writes': 'rates=3000/minute key=account '
                       'methods=PUT,POST,DELETE',
        'trusted_proxies': TLS_PROXY, 'dry_run': 'false'}


def test_second_post_config_changes_nothing(devstack):
    devstack.run('stack', 'post-config')
    once = read(devstack.proxy_conf)
    devstack.run('stack', 'post-config')
    assert read(devstack.proxy_conf) == once


def test_unstack_gives_the_file_back(devstack):
    before = read(devstack.proxy_conf)
    devstack.run('stack', 'post-config')
    devstack.run('unstack')
    assert read(devstack.proxy_conf) == before


def test_clean_gives_the_file_back_and_a_second_clean_too(devstack):
    before = read(devstack.proxy_conf)
    devstack.run('stack', 'post-config')
    devstack.run('clean')
    devstack.run('clean')
    assert read(devstack.proxy_conf) == before


def test_custom_filters_are_kept_through_stack_and_unstack(devstack):
    conf = devstack.proxy_conf
    parser_before = _parser(conf)
    text = read(conf).replace(
        'pipeline = ' + DEVSTACK_PIPELINE,
        'pipeline = ' + DEVSTACK_PIPELINE.replace('tempauth', 'tempauth mine'))
    text += '\n[filter:mine]\nuse = egg:swift#name_check\n'
    with open(conf, 'w') as out:
        out.write(text)
    devstack.run('stack', 'post-config')
    assert 'tempauth ip_allowlist opsext_ratelimit mine  formpost' in (
        pipeline(conf))
    assert section(conf, 'filter:mine') == {'use': 'egg:swift#name_check'}
    devstack.run('unstack')
    assert read(conf) == text
    assert parser_before.has_section('filter:tempauth')


def test_keystone_pipeline_after_keystoneauth_and_tempauth(tmp_path):
    stack = DevStack(str(tmp_path), services=plugin_runner.SERVICES +
                     ',keystone,s3api')
    stack.configure_swift()
    stack.run('stack', 'post-config')
    assert pipeline(stack.proxy_conf) == SAMPLE_PIPELINE.replace(
        'tempauth', 'crossdomain s3api authtoken s3token keystoneauth '
        'tempauth ip_allowlist opsext_ratelimit  formpost staticweb').replace(
        'proxy-logging proxy-server', 'proxy-logging  proxy-server')


def test_operator_set_place_is_kept(devstack):
    conf = devstack.proxy_conf
    moved = DEVSTACK_PIPELINE.replace('formpost', 'formpost ip_allowlist')
    text = read(conf).replace('pipeline = ' + DEVSTACK_PIPELINE,
                              'pipeline = ' + moved)
    with open(conf, 'w') as out:
        out.write(text)
    devstack.run('stack', 'post-config')
    assert pipeline(conf) == moved.replace('ip_allowlist',
                                           'ip_allowlist opsext_ratelimit')


def test_without_tls_proxy_no_proxy_is_trusted(tmp_path):
    stack = DevStack(str(tmp_path), services=plugin_runner.SERVICES.replace(
        ',tls-proxy', ''))
    stack.configure_swift()
    stack.run('stack', 'post-config')
    assert 'trusted_proxies' not in section(stack.proxy_conf,
                                            'filter:ip_allowlist')
    assert 'trusted_proxies' not in section(stack.proxy_conf,
                                            'filter:opsext_ratelimit')


def test_operator_trusted_proxies_come_before_the_tls_proxy(tmp_path):
    stack = DevStack(str(tmp_path),
                     OPSEXT_TRUSTED_PROXIES='10.0.0.5, 10.0.1.0/24')
    stack.configure_swift()
    stack.run('stack', 'post-config')
    assert section(stack.proxy_conf, 'filter:ip_allowlist')[
        'trusted_proxies'] == '10.0.0.5,10.0.1.0/24,' + TLS_PROXY


def test_tls_proxy_not_trusted_when_told(tmp_path):
    stack = DevStack(str(tmp_path), OPSEXT_TRUST_TLS_PROXY='False')
    stack.configure_swift()
    stack.run('stack', 'post-config')
    assert 'trusted_proxies' not in section(stack.proxy_conf,
                                            'filter:ip_allowlist')


def test_allowlist_options_from_settings(devstack):
    devstack.run('stack', 'post-config',
                 OPSEXT_IP_ALLOWLIST_OPERATOR_CIDRS='192.0.2.99/32',
                 OPSEXT_IP_ALLOWLIST_ENFORCE='False')
    conf = section(devstack.proxy_conf, 'filter:ip_allowlist')
    assert conf['operator_cidrs'] == '192.0.2.99/32'
    assert conf['enforce'] == 'false'


def test_only_the_allowlist(devstack):
    devstack.run('stack', 'post-config', OPSEXT_ENABLE_RATELIMIT='False')
    assert pipeline(devstack.proxy_conf) == DEVSTACK_PIPELINE.replace(
        'tempauth', 'tempauth ip_allowlist')
    assert section(devstack.proxy_conf, 'filter:opsext_ratelimit') is None


def test_a_filter_turned_off_leaves_on_the_next_run(devstack):
    devstack.run('stack', 'post-config')
    devstack.run('stack', 'post-config', OPSEXT_ENABLE_IP_ALLOWLIST='False')
    assert pipeline(devstack.proxy_conf) == DEVSTACK_PIPELINE.replace(
        'tempauth', 'tempauth opsext_ratelimit')
    assert section(devstack.proxy_conf, 'filter:ip_allowlist') is None


def test_former_variable_names_work_with_a_deprecation_warning(devstack):
    result = devstack.run('stack', 'post-config',
                          OPSEXT_IP_WHITELIST_ENFORCE='False',
                          OPSEXT_ENABLE_RATELIMIT='False')
    assert section(devstack.proxy_conf, 'filter:ip_allowlist')[
        'enforce'] == 'false'
    assert ('WARNING: OPSEXT_IP_WHITELIST_ENFORCE is deprecated: use '
            'OPSEXT_IP_ALLOWLIST_ENFORCE') in result.stderr
    result = devstack.run('stack', 'post-config',
                          OPSEXT_ENABLE_IP_WHITELIST='False')
    assert section(devstack.proxy_conf, 'filter:ip_allowlist') is None
    assert 'OPSEXT_ENABLE_IP_WHITELIST is deprecated' in result.stderr


def test_a_new_name_wins_over_its_former_name(devstack):
    devstack.run('stack', 'post-config', OPSEXT_IP_WHITELIST_ENFORCE='False',
                 OPSEXT_IP_ALLOWLIST_ENFORCE='True')
    assert section(devstack.proxy_conf, 'filter:ip_allowlist')[
        'enforce'] == 'true'


def test_unstack_removes_the_former_section_name_too(devstack):
    before = read(devstack.proxy_conf)
    devstack.run('stack', 'post-config')
    # As a stack by the plugin before the rename left it.
    conf = read(devstack.proxy_conf).replace('ip_allowlist', 'ip_whitelist')
    with open(devstack.proxy_conf, 'w') as out:
        out.write(conf)
    devstack.run('unstack')
    assert read(devstack.proxy_conf) == before


def test_rules_dropped_since_the_last_run_go(devstack):
    devstack.run('stack', 'post-config')
    devstack.run('stack', 'post-config',
                 OPSEXT_RATELIMIT_RULES='burst: rates=5/second key=ip',
                 OPSEXT_RATELIMIT_BACKEND='memory://',
                 OPSEXT_RATELIMIT_DRY_RUN='True')
    conf = section(devstack.proxy_conf, 'filter:opsext_ratelimit')
    assert conf['rules'] == 'burst'
    assert conf['rule_burst'] == 'rates=5/second key=ip'
    assert 'rule_per_ip' not in conf and 'rule_writes' not in conf
    assert conf['backend'] == 'memory://'
    assert conf['dry_run'] == 'true'


def test_rule_patterns_are_written_as_given(devstack, tmp_path):
    # A file the pattern would match if the shell expanded it.
    (tmp_path / 'v1' / 'x').mkdir(parents=True)
    (tmp_path / 'v1' / 'x' / 'info').write_text('')
    rule = 'rates=1/second key=ip paths=v1/*/info'
    devstack.run('stack', 'post-config',
                 OPSEXT_RATELIMIT_RULES=' r1 :  ' + rule + ' ')
    assert section(devstack.proxy_conf, 'filter:opsext_ratelimit')[
        'rule_r1'] == rule


@pytest.mark.parametrize('rules', ['no colon here', ' | '])
def test_bad_rules_stop_the_phase(devstack, rules):
    with pytest.raises(plugin_runner.PhaseError) as info:
        devstack.run('stack', 'post-config', OPSEXT_RATELIMIT_RULES=rules)
    assert 'OPSEXT_RATELIMIT_RULES' in str(info.value)


def test_pipeline_with_copy_left_of_auth_stops_the_phase(devstack):
    conf = devstack.proxy_conf
    text = read(conf).replace('pipeline = ' + DEVSTACK_PIPELINE,
                              'pipeline = cache copy tempauth proxy-server')
    with open(conf, 'w') as out:
        out.write(text)
    with pytest.raises(plugin_runner.PhaseError) as info:
        devstack.run('stack', 'post-config')
    assert 'left of copy' in str(info.value)
    assert read(conf) == text


# -- the deployed pipeline at work ------------------------------------------

def _app(devstack, swift_cluster, **settings):
    devstack.run('stack', 'post-config', **settings)
    return swift_cluster.load_proxy_app(devstack.proxy_conf)


def _via_tls_proxy(app, method, path, client, headers=None):
    """A request as DevStack's Apache forwards it: from SERVICE_HOST."""
    return swift_http.wsgi_request(
        app, 'http://127.0.0.1' + path, method, headers,
        environ={'HTTP_X_FORWARDED_FOR': client}, remote_addr=TLS_PROXY)


def _token(app):
    status, headers, body = _via_tls_proxy(
        app, 'GET', '/auth/v1.0', '198.51.100.1',
        {'X-Auth-User': 'test:tester', 'X-Auth-Key': 'testing'})
    assert status == 200, body
    return headers['X-Auth-Token'], '/v1/TEMPAUTH_test'


def test_deployed_allowlist_sees_clients_through_the_tls_proxy(
        devstack, swift_cluster):
    app = _app(devstack, swift_cluster)
    token, account = _token(app)
    container = '%s/devstack-%s' % (account, uuid.uuid4().hex)
    auth = {'X-Auth-Token': token}
    status, _, body = _via_tls_proxy(
        app, 'PUT', container, '198.51.100.1',
        dict(auth, **{'X-Container-Meta-Allow': '198.51.100.0/24'}))
    assert status in (201, 202), body
    assert _via_tls_proxy(app, 'GET', container, '198.51.100.7',
                          auth)[0] == 204
    assert _via_tls_proxy(app, 'GET', container, '203.0.113.9',
                          auth)[0] == 403
    # Not through the tls-proxy: a forged header is not believed.
    forged = swift_http.wsgi_request(
        app, 'http://127.0.0.1' + container, 'GET', auth,
        environ={'HTTP_X_FORWARDED_FOR': '198.51.100.7'},
        remote_addr='203.0.113.9')
    assert forged[0] == 403


def test_deployed_rate_limiter_counts_clients_through_the_tls_proxy(
        devstack, swift_cluster):
    app = _app(devstack, swift_cluster,
               OPSEXT_RATELIMIT_RULES='per_ip: rates=3/minute key=ip')
    first, second = ['10.%d.%d.%d' % tuple(random.randrange(1, 255)
                                           for _ in range(3))
                     for _ in range(2)]
    statuses = [_via_tls_proxy(app, 'GET', '/info', first)[0]
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    # Another client behind the same proxy has its own counter.
    assert _via_tls_proxy(app, 'GET', '/info', second)[0] == 200


def test_deployed_info_shows_the_allowlist(devstack, swift_cluster):
    app = _app(devstack, swift_cluster)
    status, _, body = _via_tls_proxy(app, 'GET', '/info', '198.51.100.1')
    assert status == 200
    assert 'ip_allowlist' in json.loads(body)


def test_unstack_leaves_a_pipeline_it_cannot_edit_alone(devstack):
    # Without errexit (unstack.sh), a failed edit must not write an empty
    # pipeline.
    conf = devstack.proxy_conf
    text = read(conf).replace('pipeline = ' + DEVSTACK_PIPELINE,
                              'pipeline = cache ip_allowlist')
    with open(conf, 'w') as out:
        out.write(text)
    devstack.run('unstack')
    assert read(conf) == text


def _iniset(path, section, option, value):
    subprocess.run(['bash', '-c', 'source "$0"; iniset "$@"',
                    os.path.join(plugin_runner.HERE, 'ini-config-standin.sh'),
                    path, section, option, value], check=True)


def test_unstack_keeps_what_local_conf_merged_into_our_section(devstack):
    # README's local.conf: [[post-config|...proxy-server.conf]] sets
    # allow_reseller; DevStack merges it (iniset) after the plugin's phase.
    conf = devstack.proxy_conf
    expected = os.path.join(devstack.root, 'expected.conf')
    with open(expected, 'w') as out:
        out.write(read(conf))
    _iniset(expected, 'filter:ip_allowlist', 'allow_reseller', 'true')
    devstack.run('stack', 'post-config')
    _iniset(conf, 'filter:ip_allowlist', 'allow_reseller', 'true')
    devstack.run('unstack')
    assert read(conf) == read(expected)
