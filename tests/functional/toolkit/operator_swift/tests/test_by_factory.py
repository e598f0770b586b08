"""The filter given as module:factory, not installed."""

import json
import os

import pytest


@pytest.fixture(scope='module')
def swift_pipeline():
    return ['ipdeny']


@pytest.fixture(scope='module')
def swift_filters():
    return {'ipdeny': {'use': 'ipdeny:filter_factory',
                       'deny': '127.0.0.66'}}


def _record(cluster, name):
    path = os.environ.get('TOOLKIT_RECORD')
    if path:
        with open(path, 'a') as out:
            out.write(json.dumps([name, cluster.workdir]) + '\n')


def test_the_filter_is_in_the_pipeline(swift_cluster):
    _record(swift_cluster, __name__)
    with open(swift_cluster.proxy_conf_path) as conf:
        text = conf.read()
    assert 'tempauth ipdeny staticweb' in text
    assert 'paste.filter_factory = ipdeny:filter_factory' in text


def test_allowed_address_creates_a_container(swift_client):
    name = swift_client.new_container_name()
    assert swift_client.put(name).status == 201
    assert swift_client.put(name + '/o', body=b'data').status == 201
    assert swift_client.get(name + '/o').body == b'data'


def test_denied_address_gets_403(swift_client):
    denied = swift_client.from_address('127.0.0.66')
    resp = denied.get()
    assert resp.status == 403
    assert resp.body == b'ipdeny says no\n'
    assert denied.token == swift_client.token


def test_the_proxy_sees_the_chosen_source(swift_cluster, swift_client):
    swift_client.from_address('127.0.0.9').head()
    assert '127.0.0.9' in swift_cluster.log_text('proxy')


def test_tempauth_users(swift_client):
    assert swift_client.get().status == 200
    other = swift_client.as_user('test2:tester2')
    assert other.account_path == '/v1/AUTH_test2'
    assert swift_client.as_user('test:tester3').get().status == 403
    assert swift_client.get(token=False).status == 401
