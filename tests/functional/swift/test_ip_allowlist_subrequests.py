"""Sub-requests cannot carry a denied client into a locked container.

Each case starts from a container the client may use (or none) and tries to
reach a locked one through a Swift feature that makes sub-requests.
"""

import hashlib
import hmac
import io
import json
import tarfile
import time
import uuid

import pytest

from tests.functional.swift.conftest import ALLOWED
from tests.functional.swift.conftest import DENIED
from tests.functional.swift.conftest import OWNER
from tests.functional.swift.conftest import SECRET

TEMPURL_KEY = 'opsext-tempurl-key'


def _exists(client, path):
    return client.req('HEAD', path, ALLOWED).status == 200


def test_x_copy_from_locked_into_open(client, locked, open_container):
    resp = client.req('PUT', open_container + '/stolen', DENIED,
                      {'X-Copy-From': locked + '/secret'})
    assert resp.status == 403
    assert client.req('HEAD', open_container + '/stolen',
                      DENIED).status == 404


def test_copy_from_locked_source(client, locked, open_container):
    resp = client.req('COPY', locked + '/secret', DENIED,
                      {'Destination': open_container + '/stolen'})
    assert resp.status == 403
    assert client.req('HEAD', open_container + '/stolen',
                      DENIED).status == 404


def test_copy_destination_in_locked_container(client, locked,
                                              open_container):
    resp = client.req('COPY', open_container + '/secret', DENIED,
                      {'Destination': locked + '/planted'})
    assert resp.status == 403
    assert not _exists(client, locked + '/planted')


def test_copy_destination_account_into_locked_container(client, locked,
                                                        open_container):
    resp = client.req('COPY', open_container + '/secret', DENIED,
                      {'Destination': locked + '/planted',
                       'Destination-Account': client.account})
    assert resp.status == 403
    assert not _exists(client, locked + '/planted')


def test_copy_within_locked_container_from_allowed_address(client, locked):
    resp = client.req('COPY', locked + '/secret', ALLOWED,
                      {'Destination': locked + '/copy'})
    assert resp.status == 201


def test_symlink_in_open_container_to_locked_object(client, locked,
                                                    open_container):
    resp = client.req('PUT', open_container + '/link', DENIED,
                      {'X-Symlink-Target': locked + '/secret'})
    assert resp.status == 201
    resp = client.req('GET', open_container + '/link', DENIED)
    assert resp.status == 403
    assert SECRET not in resp.body


def test_symlink_followed_from_allowed_address(client, locked,
                                               open_container):
    client.req('PUT', open_container + '/link', ALLOWED,
               {'X-Symlink-Target': locked + '/secret'})
    resp = client.req('GET', open_container + '/link', ALLOWED)
    assert resp.body == SECRET


def test_slo_segment_in_locked_container(client, locked, open_container):
    manifest = json.dumps([{'path': '/%s/secret' % locked}]).encode()
    resp = client.req('PUT', open_container + '/slo?multipart-manifest=put',
                      ALLOWED, body=manifest)
    assert resp.status == 201, resp
    resp = client.req('GET', open_container + '/slo', DENIED)
    assert resp.status != 200
    assert SECRET not in resp.body


def test_slo_manifest_put_cannot_probe_locked_segment(client, locked,
                                                      open_container):
    manifest = json.dumps([{'path': '/%s/secret' % locked}]).encode()
    resp = client.req('PUT', open_container + '/slo?multipart-manifest=put',
                      DENIED, body=manifest)
    assert resp.status == 400
    assert b'403' in resp.body


def test_dlo_segments_in_locked_container(client, locked, open_container):
    resp = client.req('PUT', open_container + '/dlo', DENIED,
                      {'X-Object-Manifest': locked + '/sec'})
    assert resp.status == 201
    resp = client.req('GET', open_container + '/dlo', DENIED)
    assert SECRET not in resp.body


def test_dlo_read_from_allowed_address(client, locked, open_container):
    client.req('PUT', open_container + '/dlo', ALLOWED,
               {'X-Object-Manifest': locked + '/sec'})
    assert client.req('GET', open_container + '/dlo', ALLOWED).body == SECRET


def _bulk_delete(client, source, *paths):
    body = '\n'.join('/' + p for p in paths).encode()
    return client.tcp('POST', client.account_path + '?bulk-delete', source,
                      {'Content-Type': 'text/plain',
                       'Accept': 'application/json'}, body)


def test_bulk_delete_in_locked_container(client, locked):
    resp = _bulk_delete(client, DENIED, locked + '/secret')
    result = json.loads(resp.body)
    assert result['Number Deleted'] == 0
    assert _exists(client, locked + '/secret')


def test_bulk_delete_in_open_container(client, open_container):
    resp = _bulk_delete(client, DENIED, open_container + '/secret')
    assert json.loads(resp.body)['Number Deleted'] == 1


def test_bulk_delete_in_locked_container_from_allowed_address(client,
                                                              locked):
    # bulk sits left of auth and of this filter; its sub-requests carry no
    # client address, so a locked container refuses them (fail closed).
    resp = _bulk_delete(client, ALLOWED, locked + '/secret')
    assert json.loads(resp.body)['Number Deleted'] == 0
    assert _exists(client, locked + '/secret')


def _tar(name, data):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_archive_extraction_into_locked_container(client, locked):
    resp = client.req('PUT', locked + '?extract-archive=tar', DENIED,
                      {'Accept': 'application/json'},
                      _tar('planted', b'x'))
    assert resp.status in (200, 201, 403)
    assert not _exists(client, locked + '/planted')


def test_archive_extraction_into_open_container(client, open_container):
    resp = client.req('PUT', open_container + '?extract-archive=tar', DENIED,
                      {'Accept': 'application/json'},
                      _tar('planted', b'x'))
    assert json.loads(resp.body)['Number Files Created'] == 1


@pytest.fixture(scope='module')
def tempurl_key(client):
    resp = client.req('POST', '', OWNER,
                      {'X-Account-Meta-Temp-URL-Key': TEMPURL_KEY})
    assert resp.status == 204
    return TEMPURL_KEY


def _tempurl(client, method, path):
    expires = int(time.time()) + 300
    full = client.path(path)
    sig = hmac.new(TEMPURL_KEY.encode(),
                   ('%s\n%d\n%s' % (method, expires, full)).encode(),
                   hashlib.sha256).hexdigest()
    return '%s?temp_url_sig=%s&temp_url_expires=%d' % (full, sig, expires)


def test_tempurl_get_from_denied_address(client, tempurl_key, locked):
    url = _tempurl(client, 'GET', locked + '/secret')
    resp = client.tcp('GET', url, DENIED, token=False)
    assert resp.status == 403
    assert SECRET not in resp.body


def test_tempurl_get_from_allowed_address(client, tempurl_key, locked):
    url = _tempurl(client, 'GET', locked + '/secret')
    resp = client.tcp('GET', url, ALLOWED, token=False)
    assert resp.status == 200
    assert resp.body == SECRET


def test_tempurl_put_from_denied_address(client, tempurl_key, locked):
    url = _tempurl(client, 'PUT', locked + '/planted')
    resp = client.tcp('PUT', url, DENIED, token=False, body=b'x')
    assert resp.status == 403
    assert not _exists(client, locked + '/planted')


def _formpost(client, container, source):
    path = client.path(container)
    expires = int(time.time()) + 300
    sig = hmac.new(TEMPURL_KEY.encode(), ('%s\n\n1024\n1\n%d' % (
        path, expires)).encode(), hashlib.sha256).hexdigest()
    boundary = uuid.uuid4().hex
    fields = {'redirect': '', 'max_file_size': '1024',
              'max_file_count': '1', 'expires': str(expires),
              'signature': sig}
    parts = []
    for name, value in fields.items():
        parts.append('--%s\r\nContent-Disposition: form-data; name="%s"'
                     '\r\n\r\n%s\r\n' % (boundary, name, value))
    parts.append('--%s\r\nContent-Disposition: form-data; name="file"; '
                 'filename="planted"\r\nContent-Type: text/plain\r\n\r\n'
                 'x\r\n--%s--\r\n' % (boundary, boundary))
    return client.tcp('POST', path, source, {
        'Content-Type': 'multipart/form-data; boundary=' + boundary},
        ''.join(parts).encode(), token=False)


def test_formpost_into_locked_container(client, tempurl_key, locked):
    _formpost(client, locked, DENIED)
    assert not _exists(client, locked + '/planted')


def test_formpost_into_open_container(client, tempurl_key, open_container):
    resp = _formpost(client, open_container, DENIED)
    assert resp.status in (201, 303), resp
    assert _exists(client, open_container + '/planted')


@pytest.fixture
def public_locked(client):
    container = client.new_container(allow=ALLOWED, public=True)
    resp = client.req('POST', container, ALLOWED,
                      {'X-Container-Meta-Web-Listings': 'true'})
    assert resp.status == 204
    return container


def test_staticweb_listing_from_denied_address(client, public_locked):
    resp = client.tcp('GET', client.path(public_locked) + '/', DENIED,
                      token=False)
    assert resp.status == 403
    assert b'secret' not in resp.body


def test_staticweb_listing_from_allowed_address(client, public_locked):
    resp = client.tcp('GET', client.path(public_locked) + '/', ALLOWED,
                      token=False)
    assert resp.status == 200
    assert b'secret' in resp.body


def test_public_read_acl_does_not_bypass_list(client, public_locked):
    resp = client.tcp('GET', client.path(public_locked + '/secret'), DENIED,
                      token=False)
    assert resp.status == 403


def test_cors_preflight_from_denied_address(client, locked):
    resp = client.tcp('OPTIONS', client.path(locked + '/secret'), DENIED,
                      {'Origin': 'https://example.test',
                       'Access-Control-Request-Method': 'GET'},
                      token=False)
    assert resp.status == 403


def test_cors_preflight_from_allowed_address(client, locked):
    resp = client.tcp('OPTIONS', client.path(locked + '/secret'), ALLOWED,
                      {'Origin': 'https://example.test',
                       'Access-Control-Request-Method': 'GET'},
                      token=False)
    assert resp.status != 403
