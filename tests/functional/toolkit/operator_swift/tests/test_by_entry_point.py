"""The configuration of test_by_factory again; a filter by egg: name."""

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


def test_same_configuration(swift_cluster):
    path = os.environ.get('TOOLKIT_RECORD')
    if path:
        with open(path, 'a') as out:
            out.write(json.dumps([__name__, swift_cluster.workdir]) + '\n')


def test_egg_entry_point(swift_cluster_factory):
    cluster = swift_cluster_factory(
        pipeline_filters=['ip_allowlist'],
        filter_conf={'ip_allowlist': 'egg:opsext#ip_allowlist'})
    storage_url, token = cluster.get_token()
    headers = {'X-Auth-Token': token}
    assert cluster.request('PUT', storage_url + '/locked', headers)[0] in (
        201, 202)
    meta = dict(headers, **{'X-Container-Meta-Allow-Office': '127.0.0.7'})
    assert cluster.request('POST', storage_url + '/locked', meta)[0] == 204
    assert cluster.request('GET', storage_url + '/locked', headers,
                           source_ip='127.0.0.7')[0] == 204
    assert cluster.request('GET', storage_url + '/locked', headers,
                           source_ip='127.0.0.8')[0] == 403
