"""Every route Swift takes to a container's data, tried from a denied address.

The cluster runs the documented pipeline with s3api, legacy
versioned_writes and object versioning. Each route is one that reaches a
container's data without passing ``swift.authorize`` with that container's
path (``opsext/swift/_routes.py`` names the upstream code of each); each
attack has a positive control from the allowed address through the same
route. Sub-request routes (copy, symlink, SLO/DLO, bulk, tempurl,
formpost, staticweb) are in test_ip_allowlist_subrequests.py.
"""

import json
import uuid

import pytest

from tests.functional.swift.conftest import ALLOWED
from tests.functional.swift.conftest import Client
from tests.functional.swift.conftest import DENIED
from tests.functional.swift.conftest import listing
from tests.functional.swift.conftest import OPERATOR


def _versions(client, location):
    """Objects versioned into a location (new_container put 'secret')."""
    return [o['name'] for o in listing(client, location)
            if o['name'] != 'secret']


def _body(client, path, source=ALLOWED):
    resp = client.req('GET', path, source)
    assert resp.status == 200, resp
    return resp.body


# -- legacy versioned_writes: X-Versions-Location / X-History-Location ----

@pytest.fixture
def legacy(client, locked, open_container):
    """An open container whose versions location is a locked one."""
    resp = client.req('POST', open_container, ALLOWED,
                      {'X-Versions-Location': locked})
    assert resp.status == 204, resp
    resp = client.req('PUT', open_container + '/doc', ALLOWED, body=b'v1')
    assert resp.status == 201, resp
    return open_container, locked


@pytest.mark.parametrize('header', ['X-Versions-Location',
                                    'X-History-Location'])
def test_legacy_naming_locked_container_as_versions_location_is_denied(
        client, locked, open_container, header):
    resp = client.req('POST', open_container, DENIED, {header: locked})
    assert resp.status == 403
    head = client.req('HEAD', open_container, DENIED)
    assert 'x-versions-location' not in head.headers
    assert 'x-history-location' not in head.headers
    # Positive control: the allowed address may name it.
    assert client.req('POST', open_container, ALLOWED,
                      {header: locked}).status == 204


def test_legacy_overwrite_copying_into_locked_location_is_denied(
        client, legacy):
    versioned, location = legacy
    resp = client.req('PUT', versioned + '/doc', DENIED, body=b'evil')
    assert resp.status == 403
    assert _versions(client, location) == []
    assert _body(client, versioned + '/doc', DENIED) == b'v1'
    # Positive control: the allowed address versions into it.
    assert client.req('PUT', versioned + '/doc', ALLOWED,
                      body=b'v2').status == 201
    assert len(_versions(client, location)) == 1


def test_legacy_delete_restoring_from_locked_location_is_denied(
        client, legacy):
    versioned, location = legacy
    assert client.req('PUT', versioned + '/doc', ALLOWED,
                      body=b'v2').status == 201
    resp = client.req('DELETE', versioned + '/doc', DENIED)
    assert resp.status == 403
    assert _body(client, versioned + '/doc', DENIED) == b'v2'
    assert len(_versions(client, location)) == 1
    # Positive control: the allowed address restores v1 from it.
    assert client.req('DELETE', versioned + '/doc', ALLOWED).status == 204
    assert _body(client, versioned + '/doc', DENIED) == b'v1'
    assert _versions(client, location) == []


def test_legacy_reads_and_posts_in_versioned_container_need_no_location(
        client, legacy):
    # versioned_writes acts on PUT and DELETE only: a client of the open
    # container keeps reading it and posting metadata to its objects.
    versioned, location = legacy
    assert _body(client, versioned + '/doc', DENIED) == b'v1'
    assert client.req('POST', versioned + '/doc', DENIED,
                      {'X-Object-Meta-Color': 'blue'}).status == 202
    assert client.req('HEAD', versioned + '/doc', DENIED).headers[
        'x-object-meta-color'] == 'blue'
    assert _versions(client, location) == []


def test_legacy_history_delete_copying_into_locked_location_is_denied(
        client, locked, open_container):
    assert client.req('POST', open_container, ALLOWED,
                      {'X-History-Location': locked}).status == 204
    assert client.req('PUT', open_container + '/doc', ALLOWED,
                      body=b'v1').status == 201
    resp = client.req('DELETE', open_container + '/doc', DENIED)
    assert resp.status == 403
    assert _versions(client, locked) == []
    # Positive control.
    assert client.req('DELETE', open_container + '/doc',
                      ALLOWED).status == 204
    # The copy of v1 and the delete marker.
    assert len(_versions(client, locked)) == 2


def test_legacy_location_locked_after_it_was_named_still_guards(
        client, open_container):
    location = client.new_container()
    assert client.req('POST', open_container, DENIED,
                      {'X-Versions-Location': location}).status == 204
    assert client.req('PUT', open_container + '/doc', DENIED,
                      body=b'v1').status == 201
    client.lock(location, ALLOWED, source=DENIED)
    resp = client.req('PUT', open_container + '/doc', DENIED, body=b'v2')
    assert resp.status == 403
    assert _versions(client, location) == []


# -- object versioning: the reserved \x00versions\x00<name> container ----

def test_versioning_copy_of_old_version_into_open_container_is_denied(
        client, versioned, open_container):
    container, old = versioned
    resp = client.req('COPY', container + '/doc?version-id=' + old, DENIED,
                      {'Destination': open_container + '/stolen'})
    assert resp.status == 403
    assert client.req('HEAD', open_container + '/stolen',
                      DENIED).status == 404
    # Positive control: the allowed address copies it.
    resp = client.req('COPY', container + '/doc?version-id=' + old, ALLOWED,
                      {'Destination': open_container + '/copied'})
    assert resp.status == 201, resp
    assert _body(client, open_container + '/copied', DENIED) == b'old'


def test_versioning_x_copy_from_old_version_is_denied(client, versioned,
                                                      open_container):
    container, old = versioned
    resp = client.req('PUT', open_container + '/stolen?version-id=' + old,
                      DENIED, {'X-Copy-From': container + '/doc'})
    assert resp.status == 403
    assert client.req('HEAD', open_container + '/stolen',
                      DENIED).status == 404
    resp = client.req('PUT', open_container + '/copied?version-id=' + old,
                      ALLOWED, {'X-Copy-From': container + '/doc'})
    assert resp.status == 201, resp
    assert _body(client, open_container + '/copied', DENIED) == b'old'


def test_versioning_read_of_old_version_is_denied(client, versioned):
    container, old = versioned
    path = container + '/doc?version-id=' + old
    assert client.req('GET', path, DENIED).status == 403
    assert _body(client, path) == b'old'


def test_versioning_listing_of_versions_is_denied(client, versioned):
    container, _old = versioned
    assert client.req('GET', container + '?versions', DENIED).status == 403
    assert len(listing(client, container, 'versions&format=json')) == 3


def test_versioning_delete_of_old_version_is_denied(client, versioned):
    container, old = versioned
    path = container + '/doc?version-id=' + old
    assert client.req('DELETE', path, DENIED).status == 403
    assert _body(client, path) == b'old'
    assert client.req('DELETE', path, ALLOWED).status == 204
    assert client.req('GET', path, ALLOWED).status == 404


def test_versioning_make_old_version_latest_is_denied(client, versioned):
    # object versioning writes its own link with the client's request
    # (_put_symlink_to_version); only that kind of link is let through.
    container, old = versioned
    path = container + '/doc?version-id=' + old
    assert client.req('PUT', path, DENIED).status == 403
    assert _body(client, container + '/doc') == b'new'
    # Positive control (Swift's test_make_old_version_latest).
    resp = client.req('PUT', path, ALLOWED)
    assert resp.status == 201, resp
    assert _body(client, container + '/doc') == b'old'


@pytest.fixture
def account5(wl_cluster):
    """Account AUTH_test5, locked to OPERATOR by an account list."""
    client5 = Client(wl_cluster, 'test5:tester5', 'testing5')
    assert client5.req('POST', '', OPERATOR,
                       {'X-Account-Meta-Allow': OPERATOR}).status == 204
    return client5


def test_versioning_old_version_guarded_by_its_container_not_account(
        account5):
    # The hidden container has no metadata: it must take its owner's list
    # (ALLOWED), not the account's default (OPERATOR only).
    container = 'c-' + uuid.uuid4().hex[:12]
    for method, path, headers, body in (
            ('PUT', container, {'X-Container-Meta-Allow': ALLOWED,
                                'X-Versions-Enabled': 'true'}, b''),
            ('PUT', container + '/doc', {}, b'old'),
            ('PUT', container + '/doc', {}, b'new')):
        assert account5.req(method, path, OPERATOR, headers,
                            body).status == 201
    resp = account5.req('GET', container + '?versions&format=json', ALLOWED)
    assert resp.status == 200, resp
    old = [v['version_id'] for v in json.loads(resp.body)
           if not v['is_latest']][0]
    path = container + '/doc?version-id=' + old
    resp = account5.req('GET', path, ALLOWED)
    assert resp.status == 200, resp
    assert resp.body == b'old'
    assert account5.req('GET', path, DENIED).status == 403


# -- SLO ?multipart-manifest=delete&async=yes ----------------------------

@pytest.fixture
def slo(client, locked, open_container):
    """A manifest in an open container with segments in a locked one."""
    segments = []
    for name in ('seg1', 'seg2'):
        assert client.req('PUT', locked + '/' + name, ALLOWED,
                          body=name.encode() * 10).status == 201
        segments.append({'path': '/%s/%s' % (locked, name)})
    resp = client.req('PUT', open_container + '/big?multipart-manifest=put',
                      ALLOWED, body=json.dumps(segments).encode())
    assert resp.status == 201, resp
    return open_container, locked


def test_slo_async_delete_of_locked_segments_is_denied(client, slo):
    manifest_container, segments = slo
    path = manifest_container + '/big?multipart-manifest=delete&async=yes'
    resp = client.req('DELETE', path, DENIED)
    assert resp.status == 403
    assert client.req('HEAD', manifest_container + '/big',
                      DENIED).status == 200
    for name in ('seg1', 'seg2'):
        assert client.req('HEAD', segments + '/' + name,
                          ALLOWED).status == 200
    # Positive control: the allowed address deletes it asynchronously.
    resp = client.req('DELETE', path, ALLOWED)
    assert resp.status == 204, resp
    assert client.req('HEAD', manifest_container + '/big',
                      ALLOWED).status == 404


def test_slo_sync_delete_of_locked_segments_is_denied(client, slo):
    manifest_container, segments = slo
    path = manifest_container + '/big?multipart-manifest=delete'
    resp = client.req('DELETE', path, DENIED,
                      {'Accept': 'application/json'})
    # Bulk delete reports per-object errors in a 200 body.
    assert resp.status in (200, 403)
    for name in ('seg1', 'seg2'):
        assert client.req('HEAD', segments + '/' + name,
                          ALLOWED).status == 200


# -- s3api multipart uploads: parts in <bucket>+segments ------------------

@pytest.fixture
def upload(client, s3, locked):
    """A multipart upload with one part in a locked bucket."""
    upload_id = s3.upload_id(locked, 'big')
    resp = s3.req('PUT', '/%s/big?partNumber=1&uploadId=%s'
                  % (locked, upload_id), ALLOWED, b'part one')
    assert resp.status == 200, resp
    return locked, upload_id


def test_s3_initiate_upload_in_locked_bucket_is_denied(s3, locked):
    resp = s3.req('POST', '/%s/big?uploads' % locked, DENIED)
    assert resp.status == 403
    assert s3.req('POST', '/%s/big?uploads' % locked,
                  ALLOWED).status == 200


def test_s3_list_uploads_of_locked_bucket_is_denied(s3, upload):
    bucket, upload_id = upload
    resp = s3.req('GET', '/%s?uploads' % bucket, DENIED)
    assert resp.status == 403
    assert upload_id.encode() not in resp.body
    resp = s3.req('GET', '/%s?uploads' % bucket, ALLOWED)
    assert resp.status == 200 and upload_id.encode() in resp.body


def test_s3_list_parts_of_locked_bucket_is_denied(s3, upload):
    bucket, upload_id = upload
    path = '/%s/big?uploadId=%s' % (bucket, upload_id)
    assert s3.req('GET', path, DENIED).status == 403
    resp = s3.req('GET', path, ALLOWED)
    assert resp.status == 200 and b'<PartNumber>1</PartNumber>' in resp.body


def test_s3_upload_part_into_locked_bucket_is_denied(s3, upload):
    bucket, upload_id = upload
    resp = s3.req('PUT', '/%s/big?partNumber=2&uploadId=%s'
                  % (bucket, upload_id), DENIED, b'planted')
    assert resp.status == 403
    resp = s3.req('GET', '/%s/big?uploadId=%s' % (bucket, upload_id),
                  ALLOWED)
    assert b'<PartNumber>2</PartNumber>' not in resp.body


def test_s3_abort_upload_of_locked_bucket_is_denied(s3, upload):
    bucket, upload_id = upload
    path = '/%s/big?uploadId=%s' % (bucket, upload_id)
    assert s3.req('DELETE', path, DENIED).status == 403
    assert s3.req('GET', path, ALLOWED).status == 200
    assert s3.req('DELETE', path, ALLOWED).status == 204


def test_swift_api_read_of_bucket_segments_is_denied(client, upload):
    bucket, upload_id = upload
    segments = bucket + '+segments'
    assert client.req('GET', segments, DENIED).status == 403
    parts = listing(client, segments)
    part = [p['name'] for p in parts if p['name'].endswith('/1')][0]
    resp = client.req('GET', segments + '/' + part, DENIED)
    assert resp.status == 403
    assert b'part one' not in resp.body
    assert _body(client, segments + '/' + part) == b'part one'


def test_s3_complete_upload_from_allowed_address(s3, upload):
    bucket, upload_id = upload
    resp = s3.req('GET', '/%s/big?uploadId=%s' % (bucket, upload_id),
                  ALLOWED)
    etag = resp.body.split(b'<ETag>')[1].split(b'</ETag>')[0].decode()
    body = ('<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>'
            '<ETag>%s</ETag></Part></CompleteMultipartUpload>' % etag)
    resp = s3.req('POST', '/%s/big?uploadId=%s' % (bucket, upload_id),
                  ALLOWED, body.encode())
    assert resp.status == 200, resp
    assert s3.req('GET', '/%s/big' % bucket, ALLOWED).body == b'part one'
    assert s3.req('GET', '/%s/big' % bucket, DENIED).status == 403


def test_symlink_to_hidden_versions_container_is_refused(
        client, versioned, open_container):
    # symlink follows a target in the reserved namespace with a
    # pre-authorized request (symlink.py, SymlinkObjectContext
    # ._recursive_get_head): a client must not be able to name one.
    from swift.common.request_helpers import get_reserved_name
    from swift.common.swob import wsgi_quote
    from swift.common.utils import Timestamp
    container, old = versioned
    target = '%s/%s' % (
        get_reserved_name('versions', container),
        get_reserved_name('doc', (~Timestamp(old)).internal))
    resp = client.req('PUT', open_container + '/link', DENIED,
                      {'X-Symlink-Target': wsgi_quote(target)})
    assert resp.status == 201, resp
    # The link is stored but followed with a plain sub-request (only
    # object versioning's own links carry the sysmeta that makes symlink
    # pre-authorize): Swift refuses the reserved path to everyone.
    for source in (DENIED, ALLOWED):
        resp = client.req('GET', open_container + '/link', source)
        assert resp.status == 412, resp
        assert b'old' not in resp.body
    # Positive control: a link to the object itself, followed from ALLOWED.
    resp = client.req('PUT', open_container + '/link', ALLOWED,
                      {'X-Symlink-Target': container + '/doc'})
    assert resp.status == 201
    assert _body(client, open_container + '/link') == b'new'


def test_slo_async_delete_of_a_plain_object_is_left_to_slo(
        client, open_container):
    # The filter reads only manifests (not a plain object's data); SLO
    # itself refuses the request.
    resp = client.req('DELETE', open_container
                      + '/secret?multipart-manifest=delete&async=yes',
                      ALLOWED)
    assert resp.status == 400, resp
    assert b'Not an SLO manifest' in resp.body
    assert client.req('HEAD', open_container + '/secret',
                      ALLOWED).status == 200
