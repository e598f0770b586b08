"""Odd paths: whatever the proxy would serve is checked as it serves it."""

import pytest

from tests.functional.swift.conftest import ALLOWED
from tests.functional.swift.conftest import DENIED
from tests.functional.swift.conftest import SECRET


def test_double_leading_slash(client, locked):
    resp = client.tcp('GET', '/' + client.path(locked + '/secret'), DENIED)
    assert resp.status != 200
    assert SECRET not in resp.body


def test_double_slash_before_account(client, locked):
    path = '/v1//%s/%s/secret' % (client.account, locked)
    resp = client.tcp('GET', path, DENIED)
    assert resp.status != 200
    assert SECRET not in resp.body


def test_dot_segment_into_locked_container(client, locked, open_container):
    # Swift does not normalise dot segments: this is object '../<locked>/
    # secret' in the open container, never the locked object.
    path = client.path('%s/../%s/secret' % (open_container, locked))
    resp = client.tcp('GET', path, DENIED)
    assert SECRET not in resp.body


def test_dot_segment_out_of_locked_container(client, locked, open_container):
    path = client.path('%s/../%s/secret' % (locked, open_container))
    assert client.tcp('GET', path, DENIED).status == 403


def test_single_dot_container(client, locked):
    path = client.path('./%s/secret' % locked)
    resp = client.tcp('GET', path, DENIED)
    assert SECRET not in resp.body


def test_encoded_slash_in_container_name(client, locked):
    path = client.path(locked + '%2Fsecret')
    resp = client.tcp('GET', path, DENIED)
    assert resp.status == 403


def test_encoded_container_name(client, locked):
    encoded = ''.join('%%%02X' % ord(c) for c in locked)
    resp = client.tcp('GET', client.path(encoded + '/secret'), DENIED)
    assert resp.status == 403


def test_v1_0_prefix(client, locked):
    path = '/v1.0/%s/%s/secret' % (client.account, locked)
    assert client.tcp('GET', path, DENIED).status == 403
    assert client.tcp('GET', path, ALLOWED).body == SECRET


def test_invalid_api_version_not_served(client, locked):
    path = '/v2/%s/%s/secret' % (client.account, locked)
    resp = client.tcp('GET', path, DENIED)
    assert resp.status == 400
    assert SECRET not in resp.body


def test_invalid_api_version_same_answer_as_proxy(client, open_container,
                                                  raw_app, proxy_app):
    path = '/v2/%s/%s/secret' % (client.account, open_container)
    env = {'REMOTE_ADDR': DENIED}
    assert client.call(proxy_app, 'GET', path, env).status == \
        client.call(raw_app, 'GET', path, env).status == 400


def test_unsplittable_path_same_answer_as_proxy(client, raw_app, proxy_app):
    path = '/v1//%s/c' % client.account
    env = {'REMOTE_ADDR': DENIED}
    assert client.call(proxy_app, 'GET', path, env).status == \
        client.call(raw_app, 'GET', path, env).status


def test_info_is_not_subject_to_lists(client):
    assert client.tcp('GET', '/info', DENIED, token=False).status == 200


@pytest.mark.parametrize('query', ['?format=json', '?multipart-manifest=get',
                                   '?symlink=get', '?versions'])
def test_query_strings_do_not_change_the_decision(client, locked, query):
    resp = client.tcp('GET', client.path(locked + '/secret') + query, DENIED)
    assert resp.status == 403
