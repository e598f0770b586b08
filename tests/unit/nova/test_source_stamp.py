"""The source_stamp paste filter, built through its factory."""

import json
import types

import pytest
import webob

from opsext.exceptions import ConfigError
from opsext import net
from opsext.nova import source_stamp
from opsext.subnet_affinity import stamp

SECRET = 's' * 32


def _filter():
    seen = {}

    def app(environ, start_response):
        seen['body'] = webob.Request(environ).body
        start_response('202 Accepted', [('Content-Type', 'text/plain')])
        return [b'']
    return source_stamp.filter_factory({}, secret=SECRET)(app), seen


def _create(body, remote='10.1.0.5', admin=False, path='/servers'):
    filt, seen = _filter()
    req = webob.Request.blank(path, method='POST',
                              body=json.dumps(body).encode())
    req.remote_addr = remote
    req.environ['nova.context'] = types.SimpleNamespace(
        is_admin=admin, project_id='p1')
    resp = req.get_response(filt)
    return resp, json.loads(seen['body']) if 'body' in seen else None


def _stamped(body, key='os:scheduler_hints'):
    return stamp.verify(SECRET, 'p1', body[key][stamp.HINT])


def test_create_is_stamped_with_the_remote_address():
    resp, body = _create({'server': {'name': 'a'}})
    assert resp.status_int == 202
    assert _stamped(body) == net.parse_address('10.1.0.5')
    assert body['server'] == {'name': 'a'}


def test_create_with_project_in_path_is_stamped():
    _, body = _create({'server': {}}, path='/p1/servers')
    assert _stamped(body) == net.parse_address('10.1.0.5')


def test_client_sent_stamp_is_replaced():
    forged = stamp.sign('z' * 32, 'p1', net.parse_address('10.2.0.5'))
    _, body = _create({'server': {}, 'os:scheduler_hints': {
        stamp.HINT: forged, 'group': 'g'}})
    assert _stamped(body) == net.parse_address('10.1.0.5')
    assert body['os:scheduler_hints']['group'] == 'g'


def test_legacy_hint_key_is_stamped_and_cleaned():
    _, body = _create({'server': {}, 'OS-SCH-HNT:scheduler_hints': {
        stamp.HINT: 'x'}})
    assert _stamped(body, 'OS-SCH-HNT:scheduler_hints') == \
        net.parse_address('10.1.0.5')


def test_admin_hint_overrides_the_address():
    _, body = _create({'server': {}, 'os:scheduler_hints': {
        'opsext_source_address': '10.2.0.8'}}, admin=True)
    assert _stamped(body) == net.parse_address('10.2.0.8')
    assert 'opsext_source_address' not in body['os:scheduler_hints']


def test_users_admin_hint_is_removed_and_ignored():
    _, body = _create({'server': {}, 'os:scheduler_hints': {
        'opsext_source_address': '10.2.0.8'}})
    assert _stamped(body) == net.parse_address('10.1.0.5')
    assert 'opsext_source_address' not in body['os:scheduler_hints']


def test_admins_malformed_hint_is_a_400():
    resp, body = _create({'server': {}, 'os:scheduler_hints': {
        'opsext_source_address': '10.2.0.0/24'}}, admin=True)
    assert resp.status_int == 400 and body is None


def test_other_requests_pass_untouched():
    filt, seen = _filter()
    req = webob.Request.blank('/servers/abc/action', method='POST',
                              body=b'{"migrate": null}')
    req.get_response(filt)
    assert seen['body'] == b'{"migrate": null}'


@pytest.mark.parametrize('conf', [{}, {'secret': 'short'},
                                  {'secret': SECRET, 'bogus': '1'},
                                  {'secret': SECRET,
                                   'source_address_hint': 'a b'}])
def test_bad_config_fails_at_start_up(conf):
    with pytest.raises(ConfigError):
        source_stamp.filter_factory({}, **conf)
