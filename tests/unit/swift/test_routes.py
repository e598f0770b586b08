"""Which containers guard a request (opsext.swift._routes)."""

import json

import pytest

from opsext.swift import _routes


def test_owner_of_hidden_versions_container_is_its_container():
    assert _routes.owners('\x00versions\x00reports') == ['reports']


@pytest.mark.parametrize('name', [
    '\x00mpu\x00reports', '\x00versions', '\x00versions\x00',
    '\x00versions\x00a\x00b'])
def test_unknown_reserved_container_is_refused(name):
    with pytest.raises(_routes.UnknownRoute):
        _routes.owners(name)


def test_s3_segments_container_is_guarded_by_itself_and_its_bucket():
    assert _routes.owners('photos+segments') == ['photos+segments', 'photos']


def test_plain_and_bare_suffix_containers_guard_themselves():
    assert _routes.owners('photos') == ['photos']
    assert _routes.owners('+segments') == ['+segments']


@pytest.mark.parametrize('info, expected', [
    ({'sysmeta': {'versions-location': 'old%20ones'}}, 'old ones'),
    ({'sysmeta': {}, 'versions': 'archive/'}, 'archive'),
    ({'sysmeta': {}}, None),
    ({}, None),
])
def test_versions_location_read_as_legacy_versioned_writes_does(
        info, expected):
    assert _routes.versions_location(info) == expected


@pytest.mark.parametrize('method, query, expected', [
    ('DELETE', 'multipart-manifest=delete&async=yes', True),
    ('DELETE', 'async=on&multipart-manifest=delete', True),
    ('DELETE', 'multipart-manifest=delete', False),
    ('DELETE', 'multipart-manifest=delete&async=no', False),
    ('GET', 'multipart-manifest=delete&async=yes', False),
])
def test_slo_async_delete_detected(method, query, expected):
    env = {'REQUEST_METHOD': method, 'QUERY_STRING': query}
    assert _routes.is_slo_async_delete(env) is expected


def test_manifest_containers_skips_inline_data():
    body = json.dumps([{'name': '/segs/a'}, {'name': '/other/b'},
                       {'data': 'aGk='}]).encode()
    assert _routes.manifest_containers(body) == {'segs', 'other'}


@pytest.mark.parametrize('body', [b'not json', b'{}', b'[1]',
                                  b'[{"name": 3}]', b'[{"name": "/only"}]'])
def test_unreadable_manifest_raises_value_error(body):
    with pytest.raises(ValueError):
        _routes.manifest_containers(body)
