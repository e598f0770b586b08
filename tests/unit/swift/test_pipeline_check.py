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


"""The pipeline checks of ``opsext check-pipeline``, on small configs."""

import pytest

from opsext.swift import pipeline_check

USES = {
    'catch_errors': 'egg:swift#catch_errors',
    'gatekeeper': 'egg:swift#gatekeeper',
    'cache': 'egg:swift#memcache',
    'domain_remap': 'egg:swift#domain_remap',
    'cname_lookup': 'egg:swift#cname_lookup',
    's3api': 'egg:swift#s3api',
    'tempauth': 'egg:swift#tempauth',
    'keystoneauth': 'egg:swift#keystoneauth',
    'staticweb': 'egg:swift#staticweb',
    'copy': 'egg:swift#copy',
    'slo': 'egg:swift#slo',
    'dlo': 'egg:swift#dlo',
    'versioned_writes': 'egg:swift#versioned_writes',
    'symlink': 'egg:swift#symlink',
    'listing_formats': 'egg:swift#listing_formats',
    'ip_allowlist': 'egg:opsext#ip_allowlist',
    'ip_allowlist': 'egg:opsext#ip_allowlist',
    'ratelimit_ip': 'egg:opsext#ratelimit',
    'ratelimit': 'egg:opsext#ratelimit',
}
GOOD = ('catch_errors gatekeeper cache listing_formats tempauth ip_allowlist '
        'ratelimit copy slo dlo versioned_writes symlink proxy-server')
RULES = {'rules': 'per_ip', 'rule_per_ip': 'rates=10/second key=ip'}


def _check(tmp_path, pipeline=GOOD, options=None, text=None):
    """Findings for a config of ``pipeline`` with filter ``options``."""
    options = options or {}
    if text is None:
        lines = ['[pipeline:main]', 'pipeline = ' + pipeline, '',
                 '[app:proxy-server]', 'use = egg:swift#proxy', '']
        for name in dict.fromkeys(pipeline.split()[:-1]):
            lines += ['[filter:%s]' % name, 'use = ' + USES[name]]
            conf = options.get(name)
            if conf is None and USES[name] == 'egg:opsext#ratelimit':
                conf = RULES
            lines += ['%s = %s' % item for item in (conf or {}).items()]
            lines.append('')
        text = '\n'.join(lines)
    path = tmp_path / 'proxy-server.conf'
    path.write_text(text)
    return pipeline_check.check_file(str(path)).findings


def _only(findings, severity=None):
    assert len(findings) == 1, findings
    if severity:
        assert findings[0].severity == severity
    return findings[0]


def test_good_pipeline_has_no_findings(tmp_path):
    assert _check(tmp_path) == ()


def test_required_filters_are_added_as_the_proxy_adds_them(tmp_path):
    path = tmp_path / 'proxy-server.conf'
    path.write_text('[pipeline:main]\npipeline = cache tempauth ip_allowlist '
                    'proxy-server\n[app:proxy-server]\nuse = egg:swift#proxy'
                    '\n[filter:cache]\nuse = egg:swift#memcache\n'
                    '[filter:tempauth]\nuse = egg:swift#tempauth\n'
                    '[filter:ip_allowlist]\nuse = egg:opsext#ip_allowlist\n')
    report = pipeline_check.check_file(str(path))
    assert [(s.name, s.added) for s in report.stages] == [
        ('catch_errors', True), ('gatekeeper', True), ('cache', False),
        ('listing_formats', True), ('tempauth', False), ('copy', True),
        ('dlo', True), ('versioned_writes', True), ('ip_allowlist', False),
        ('proxy-server', False)]


def test_copy_added_by_swift_left_of_ip_allowlist_warns(tmp_path):
    findings = _check(tmp_path, 'cache tempauth ip_allowlist proxy-server')
    assert {f.severity for f in findings} == {'warning'}
    reasons = ' | '.join(f.reason for f in findings)
    assert 'copy (added by Swift at start-up) must be to its right' in reasons
    assert 'list copy in the pipeline after ip_allowlist' in reasons


@pytest.mark.parametrize('rewriter', ['domain_remap', 'cname_lookup', 's3api'])
def test_path_rewriter_right_of_ip_allowlist_is_an_error(tmp_path, rewriter):
    finding = _only(_check(tmp_path, GOOD.replace(
        'ip_allowlist', 'ip_allowlist ' + rewriter)), 'error')
    assert finding.filter == 'ip_allowlist'
    assert finding.reason.startswith(rewriter + ' must be to its left: it '
                                     'rewrites the path')


def test_path_rewriter_left_of_ip_allowlist_is_fine(tmp_path):
    assert _check(tmp_path, GOOD.replace(
        'tempauth', 'domain_remap tempauth')) == ()


def test_ip_allowlist_before_auth_is_an_error(tmp_path):
    finding = _only(_check(tmp_path, GOOD.replace(
        'tempauth ip_allowlist', 'ip_allowlist tempauth')), 'error')
    assert finding.reason.startswith('tempauth must be to its left: auth '
                                     'replaces the swift.authorize')


def test_ip_allowlist_before_cache_warns(tmp_path):
    finding = _only(_check(tmp_path, GOOD.replace('cache ', '').replace(
        'ip_allowlist', 'ip_allowlist cache')), 'warning')
    assert finding.reason.startswith('cache must be to its left')


def test_no_cache_warns(tmp_path):
    finding = _only(_check(tmp_path, GOOD.replace('cache ', '')), 'warning')
    assert finding.reason.startswith('no cache filter in the pipeline')


def test_gatekeeper_right_of_ip_allowlist_warns(tmp_path):
    finding = _only(_check(tmp_path, GOOD.replace('gatekeeper ', '').replace(
        'ip_allowlist', 'ip_allowlist gatekeeper')), 'warning')
    assert finding.reason.startswith('gatekeeper must be to its left')


def test_slo_left_of_ip_allowlist_is_an_error(tmp_path):
    finding = _only(_check(tmp_path, GOOD.replace(' slo', '').replace(
        'tempauth', 'tempauth slo')), 'error')
    assert finding.reason.startswith('slo must be to its right: its async '
                                     'deletes')


def test_dlo_left_of_ip_allowlist_warns(tmp_path):
    finding = _only(_check(tmp_path, GOOD.replace(' dlo', '').replace(
        'tempauth', 'tempauth dlo')), 'warning')
    assert finding.reason.startswith('dlo must be to its right: its '
                                     'sub-requests')


def test_s3api_right_of_ip_allowlist_is_an_error(tmp_path):
    finding = _only(_check(tmp_path, GOOD.replace(
        'ip_allowlist', 'ip_allowlist s3api')), 'error')
    assert finding.reason.startswith('s3api must be to its left')


def test_s3api_and_versioning_in_documented_positions_pass(tmp_path):
    assert not _check(tmp_path, GOOD.replace('tempauth', 's3api tempauth'))


def test_ip_allowlist_after_proxy_server_is_an_error(tmp_path):
    finding = _only(_check(tmp_path, text=(
        '[pipeline:main]\npipeline = cache tempauth proxy-server '
        'ip_allowlist\n[app:proxy-server]\nuse = egg:swift#proxy\n'
        '[filter:cache]\nuse = egg:swift#memcache\n[filter:tempauth]\nuse '
        '= egg:swift#tempauth\n[filter:ip_allowlist]\nuse = '
        'egg:opsext#ip_allowlist\n')), 'error')
    assert finding.filter == 'ip_allowlist'
    assert finding.reason.startswith('it is to the right of proxy-server, '
                                     'an app: no request reaches it')


def test_ip_allowlist_twice_warns(tmp_path):
    finding = _only(_check(tmp_path, GOOD.replace(
        'ip_allowlist', 'ip_allowlist ip_allowlist')), 'warning')
    assert finding.filter == 'ip_allowlist'
    assert 'a second ip_allowlist filter (the first is ip_allowlist)' in \
        finding.reason


def test_ratelimit_section_listed_twice_warns(tmp_path):
    finding = _only(_check(tmp_path, GOOD.replace(
        'ratelimit', 'ratelimit ratelimit')), 'warning')
    assert finding.reason.startswith('listed twice in the pipeline')


def test_ip_allowlist_bad_value_is_an_error(tmp_path):
    finding = _only(_check(tmp_path, options={
        'ip_allowlist': {'operator_cidrs': '10.0.0.1/8'}}), 'error')
    assert finding.reason.startswith('the proxy would not start: '
                                     'ip_allowlist [filter:ip_allowlist]: '
                                     'invalid value')
    assert "'operator_cidrs'" in finding.reason


def test_ip_allowlist_unknown_option_is_an_error(tmp_path):
    finding = _only(_check(tmp_path, options={'ip_allowlist': {
        'operator_cidr': '10.0.0.0/8', 'log_level': 'DEBUG'}}), 'error')
    assert finding.reason.startswith('the proxy would not start: ')
    assert "'operator_cidr'" in finding.reason
    assert 'unknown option' in finding.reason


def test_ratelimit_unknown_option_is_an_error(tmp_path):
    finding = _only(_check(tmp_path, options={
        'ratelimit': dict(RULES, fail_close='true')}), 'error')
    assert "'fail_close'" in finding.reason
    assert 'unknown option' in finding.reason


def test_ratelimit_bad_rule_is_an_error(tmp_path):
    finding = _only(_check(tmp_path, options={'ratelimit': {
        'rules': 'r', 'rule_r': 'rates=10/fortnight key=ip'}}), 'error')
    assert "'rule_r'" in finding.reason


def test_ratelimit_project_key_without_authtoken_is_an_error(tmp_path):
    finding = _only(_check(tmp_path, options={'ratelimit': {
        'rules': 'p', 'rule_p': 'rates=10/second key=project'}}), 'error')
    assert finding.reason.startswith('rule p keys on project but authtoken '
                                     'is not to its left')


def test_ratelimit_user_key_before_auth_is_an_error(tmp_path):
    finding = _only(_check(tmp_path, GOOD.replace(
        'tempauth ip_allowlist ratelimit', 'ratelimit tempauth ip_allowlist'),
        options={'ratelimit': {'rules': 'u',
                               'rule_u': 'rates=10/second key=user'}}),
        'error')
    assert finding.reason.startswith('rule u keys on user but no auth')


def test_ratelimit_user_key_after_tempauth_is_fine(tmp_path):
    assert _check(tmp_path, options={'ratelimit': {
        'rules': 'u', 'rule_u': 'rates=10/second key=user'}}) == ()


def test_ratelimit_account_key_before_auth_is_an_error(tmp_path):
    finding = _only(_check(tmp_path, GOOD.replace(
        'tempauth ip_allowlist ratelimit', 'ratelimit tempauth ip_allowlist'),
        options={'ratelimit': {'rules': 'a',
                               'rule_a': 'rates=10/second key=account'}}),
        'error')
    assert finding.reason.startswith('rule a keys on account but tempauth is '
                                     'to its right')


def test_ratelimit_ip_stage_before_auth_is_fine(tmp_path):
    assert _check(tmp_path, GOOD.replace(
        'tempauth', 'ratelimit_ip tempauth')) == ()


def test_ratelimit_swift_cache_backend_without_cache_is_an_error(tmp_path):
    findings = _check(tmp_path, GOOD.replace('cache ', ''), options={
        'ratelimit': dict(RULES, backend='swift.cache')})
    errors = [f for f in findings if f.severity == 'error']
    assert _only(errors).reason.startswith('backend = swift.cache needs the '
                                           'cache filter to its left')


def test_no_opsext_filter_warns(tmp_path):
    finding = _only(_check(tmp_path, 'cache tempauth proxy-server'),
                    'warning')
    assert (finding.filter, finding.reason) == (
        'pipeline', 'no opsext filter in the pipeline')


def test_missing_pipeline_main_is_an_error(tmp_path):
    finding = _only(_check(tmp_path, text='[app:proxy-server]\nuse = '
                           'egg:swift#proxy\n'), 'error')
    assert finding.reason.startswith('no [pipeline:main] section')


def test_missing_filter_section_is_an_error(tmp_path):
    finding = _only(_check(tmp_path, text='[pipeline:main]\npipeline = '
                           'nothere proxy-server\n[app:proxy-server]\nuse = '
                           'egg:swift#proxy\n'), 'error')
    assert (finding.filter, finding.reason) == (
        'nothere', 'no [filter:nothere] section')


def test_unknown_entry_point_is_an_error(tmp_path):
    finding = _only(_check(tmp_path, text='[pipeline:main]\npipeline = '
                           'ip_allowlist proxy-server\n[app:proxy-server]\n'
                           'use = egg:swift#proxy\n[filter:ip_allowlist]\n'
                           'use = egg:opsext#ip_allowlister\n'), 'error')
    assert finding.reason.startswith('the proxy cannot load it: ')
    assert 'ip_allowlister' in finding.reason


def test_explicit_filter_factory_is_recognised(tmp_path):
    findings = _check(tmp_path, text=(
        '[pipeline:main]\npipeline = ip_allowlist tempauth proxy-server\n'
        '[app:proxy-server]\nuse = egg:swift#proxy\n[filter:tempauth]\nuse = '
        'egg:swift#tempauth\n[filter:ip_allowlist]\npaste.filter_factory = '
        'opsext.swift.ip_allowlist:filter_factory\n'))
    assert 'tempauth must be to its left' in ' '.join(
        f.reason for f in findings if f.filter == 'ip_allowlist')


def test_unparsable_file_is_an_error(tmp_path):
    finding = _only(_check(tmp_path, text='pipeline = a b\n'), 'error')
    assert finding.reason.startswith('the file does not parse')


def test_missing_file_is_unreadable(tmp_path):
    with pytest.raises(pipeline_check.UnreadableConfig, match='No such file'):
        pipeline_check.check_file(str(tmp_path / 'nothere.conf'))


def test_directory_is_unreadable(tmp_path):
    with pytest.raises(pipeline_check.UnreadableConfig, match='directory'):
        pipeline_check.check_file(str(tmp_path))
