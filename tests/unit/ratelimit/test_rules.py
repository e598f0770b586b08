"""Rule parsing, matching, and the facts rules key on."""

import pytest

from opsext import client_ip
from opsext import net
from opsext.ratelimit import rules


def _facts(trusted='', **environ):
    env = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/v1/AUTH_a/c/o',
           'REMOTE_ADDR': '192.0.2.1'}
    env.update(environ)
    return rules.RequestFacts(env, client_ip.ClientAddressResolver(
        net.NetworkSet.from_string(trusted)))


def _confirmed(project='p1', user='u1', roles='member'):
    return {'HTTP_X_IDENTITY_STATUS': 'Confirmed',
            'keystone.token_info': {}, 'HTTP_X_PROJECT_ID': project,
            'HTTP_X_USER_ID': user, 'HTTP_X_ROLES': roles}


def test_parse_rule_full():
    rule = rules.parse_rule('w', 'rates=100/minute;5000/hour '
                            'key=project,method methods=PUT,POST '
                            'paths=/v1/*,/v2/*')
    assert rule.rates == ((100, 60), (5000, 3600))
    assert rule.key == ('project', 'method')
    assert rule.methods == frozenset(('PUT', 'POST'))
    assert [p for p, _ in rule.paths] == ['/v1/*', '/v2/*']


@pytest.mark.parametrize('text,message', [
    ('key=ip', 'needs rates'),
    ('rates=1/second', 'needs rates'),
    ('rates=1/second key=ip,ip', 'distinct'),
    ('rates=1/second key=tenant', 'distinct'),
    ('rates=1/second key=ip speed=fast', 'unknown word'),
    ('rates=1/second key=ip methods=G@T', 'not an HTTP method'),
    ('rates=1/second key=ip methods=GET,', 'not an HTTP method'),
    ('rates=1/second key=ip methods=put', "case-sensitive.*write PUT"),
    ('rates=1/second key=ip methods=Post', "case-sensitive.*write POST"),
    ('rates=1/second key=ip paths=v1/*', 'starting with /'),
    ('rates=1/second key=path', 'needs paths'),
    ('rates=1/second key=ip rates=2/second', 'twice'),
    ('rates=1/sec key=ip', 'not a rate'),
    ('rates key=ip', 'name=value'),
])
def test_parse_rule_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        rules.parse_rule('r', text)


def test_parse_rule_bad_name():
    with pytest.raises(ValueError, match='rule name'):
        rules.parse_rule('a b', 'rates=1/second key=ip')


def test_override_replaces_rates_for_that_key():
    rule = rules.parse_rule('w', 'rates=10/minute key=project',
                            'project=big: 1000/minute\n')
    assert rule.match(_facts(**_confirmed('big')))[1] == ((1000, 60),)
    assert rule.match(_facts(**_confirmed('small')))[1] == ((10, 60),)


@pytest.mark.parametrize('text', ['project=x 1/second', 'tenant=x: 1/second',
                                  'project=: 1/second'])
def test_override_rejects(text):
    with pytest.raises(ValueError, match='override'):
        rules.parse_rule('w', 'rates=1/minute key=project', text)


def test_ip_key():
    rule = rules.parse_rule('r', 'rates=1/second key=ip')
    assert rule.match(_facts())[0] == 'r|ip=192.0.2.1'


def test_spoofed_x_forwarded_for_keeps_peer_bucket():
    rule = rules.parse_rule('r', 'rates=1/second key=ip')
    facts = _facts(HTTP_X_FORWARDED_FOR='198.51.100.9')
    assert rule.match(facts)[0] == 'r|ip=192.0.2.1'


def test_trusted_proxy_x_forwarded_for_moves_bucket():
    rule = rules.parse_rule('r', 'rates=1/second key=ip')
    facts = _facts('192.0.2.1', HTTP_X_FORWARDED_FOR='198.51.100.9')
    assert rule.match(facts)[0] == 'r|ip=198.51.100.9'


def test_unknown_client_shares_one_bucket():
    rule = rules.parse_rule('r', 'rates=1/second key=ip')
    assert rule.match(_facts(REMOTE_ADDR='garbage'))[0] == 'r|ip=unknown'


def test_project_key_needs_confirmed_identity():
    rule = rules.parse_rule('r', 'rates=1/second key=project')
    assert rule.match(_facts(**_confirmed()))[0] == 'r|project=p1'


def test_unauthenticated_request_cannot_spend_project_budget():
    rule = rules.parse_rule('r', 'rates=1/second key=project')
    facts = _facts(HTTP_X_PROJECT_ID='victim',
                   HTTP_X_IDENTITY_STATUS='Confirmed')
    assert rule.match(facts) is None


def test_user_key_from_swift_access_logging():
    rule = rules.parse_rule('r', 'rates=1/second key=user')
    facts = _facts(**{'swift.access_logging': {'user_id': 'test:tester'}})
    assert rule.match(facts)[0] == 'r|user=test:tester'


def test_account_and_container_keys_from_swift_path():
    rule = rules.parse_rule('r', 'rates=1/second key=account,container')
    assert rule.match(_facts())[0] == 'r|account=AUTH_a|container=c'


def test_container_key_skips_account_requests():
    rule = rules.parse_rule('r', 'rates=1/second key=container')
    assert rule.match(_facts(PATH_INFO='/v1/AUTH_a')) is None


def test_account_key_skips_non_swift_paths():
    rule = rules.parse_rule('r', 'rates=1/second key=account')
    assert rule.match(_facts(PATH_INFO='/servers/detail')) is None


def test_methods_select_requests():
    rule = rules.parse_rule('r', 'rates=1/second key=ip methods=PUT')
    assert rule.match(_facts()) is None
    assert rule.match(_facts(REQUEST_METHOD='PUT')) is not None


def test_methods_are_case_sensitive_tokens():
    rule = rules.parse_rule('r', 'rates=1/second key=ip '
                            'methods=PUT,M-SEARCH,purge')
    assert rule.methods == frozenset(('PUT', 'M-SEARCH', 'purge'))
    assert rule.match(_facts(REQUEST_METHOD='put')) is None
    assert rule.match(_facts(REQUEST_METHOD='M-SEARCH')) is not None
    assert rule.match(_facts(REQUEST_METHOD='purge')) is not None
    assert rule.match(_facts(REQUEST_METHOD='PURGE')) is None


def test_path_pattern_selects_and_keys():
    rule = rules.parse_rule('r', 'rates=1/second key=path,ip '
                            'paths=/v2.1/servers*,/v1/*')
    assert rule.match(_facts())[0] == 'r|path=/v1/*|ip=192.0.2.1'
    assert rule.match(_facts(PATH_INFO='/v2.1/servers/x'))[0].startswith(
        'r|path=/v2.1/servers*|')
    assert rule.match(_facts(PATH_INFO='/v2.1/flavors')) is None


def test_path_pattern_includes_script_name():
    rule = rules.parse_rule('r', 'rates=1/second key=ip '
                            'paths=/compute/v2.1/*')
    facts = _facts(SCRIPT_NAME='/compute', PATH_INFO='/v2.1/servers')
    assert rule.match(facts) is not None


def test_roles_only_from_confirmed_identity():
    assert _facts(**_confirmed(roles='admin,Member')).roles() == {
        'admin', 'member'}
    assert _facts(HTTP_X_ROLES='admin').roles() == frozenset()


def test_reseller_request_is_a_role():
    assert 'reselleradmin' in _facts(reseller_request=True).roles()


@pytest.mark.parametrize('script, info', [
    ('/v2.1', '/servers'),                     # nova's urlmap
    ('/compute/v2.1', '/servers'),             # DevStack's mount
    ('/evil/prefix/v2.1', '/servers'),         # X-Forwarded-Prefix
    ('', '/v2.1/servers'),
])
def test_paths_match_what_the_api_routes_on(script, info):
    rule = rules.parse_rule('boots', 'rates=1/second key=project,path '
                            'methods=POST paths=/v2.1/servers')
    facts = _facts(SCRIPT_NAME=script, PATH_INFO=info, REQUEST_METHOD='POST',
                   **_confirmed('p'))
    assert rule.match(facts)[0] == 'boots|project=p|path=/v2.1/servers'


@pytest.mark.parametrize('script, info', [
    ('/v2.1', '/servers/detail'),
    ('/v2.1/servers', '/x'),  # the rule's path in SCRIPT_NAME, not routed
    ('', '/v2.10/servers'),
])
def test_paths_do_not_match_other_routes(script, info):
    rule = rules.parse_rule('boots', 'rates=1/second key=ip '
                            'paths=/v2.1/servers')
    facts = _facts(SCRIPT_NAME=script, PATH_INFO=info)
    assert rule.match(facts) is None
