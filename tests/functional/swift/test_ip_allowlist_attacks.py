"""Attacks on the IP allowlist through every route Swift 2.38 offers.

Each test tries to read, write, list or delete data of a container locked
to ALLOWED from DENIED through one route (container sync, s3api, DLO,
symlinks, tempurl prefixes, bulk, staticweb, domain_remap, ...), and has a
positive control from ALLOWED through the same route, so that a 403 proves
the allowlist refused it and not that the route is broken. The cluster runs
the documented pipeline with s3api, tempauth, legacy and new versioning
(tests/functional/swift/conftest.py). Routes already covered elsewhere are
in test_ip_allowlist_routes.py and test_ip_allowlist_subrequests.py.
"""

import base64
import configparser
import hashlib
import hmac
import io
import json
import os
import tarfile
import time
import urllib.parse
import uuid

import pytest

from tests.functional.swift.conftest import ALLOWED
from tests.functional.swift.conftest import Client
from tests.functional.swift.conftest import DENIED
from tests.functional.swift.conftest import OPERATOR
from tests.functional.swift.conftest import OWNER
from tests.functional.swift.conftest import SECRET
from tests.functional.swift.conftest import write_variant
from tests.functional.swift.conftest import S3

TEMPURL_KEY = 'opsext-tempurl-key'
REALM = 'OPSEXTREALM'
REALM_KEY = 'opsext-realm-key'
SYNC_KEY = 'opsext-sync-key'


def _listing(client, container, query='format=json', source=ALLOWED):
    resp = client.req('GET', container + '?' + query, source)
    assert resp.status == 200, resp
    return json.loads(resp.body)


def _status(client, path, source=ALLOWED, method='HEAD'):
    return client.req(method, path, source).status


def _variant_pipeline(cluster, name, before, filter_name, options):
    """A copy of the proxy config with ``filter_name`` put before
    ``before`` in the pipeline; returns its path."""
    path = write_variant(cluster, name)
    parser = configparser.RawConfigParser()
    parser.optionxform = str
    parser.read(path)
    pipeline = parser.get('pipeline:main', 'pipeline').split()
    pipeline.insert(pipeline.index(before), filter_name)
    parser.set('pipeline:main', 'pipeline', ' '.join(pipeline))
    parser.add_section('filter:' + filter_name)
    for key, value in options.items():
        parser.set('filter:' + filter_name, key, value)
    with open(path, 'w') as fp:
        parser.write(fp)
    return path


# -- container sync: X-Container-Sync-Auth ------------------------------
#
# container_sync (left of auth) checks the realm signature, then sets
# swift.authorize_override, so tempauth installs no swift.authorize and the
# request needs no token: the allowlist must still decide it.

@pytest.fixture(scope='module')
def sync_app(wl_cluster):
    """The cluster's pipeline in-process, with a container sync realm.

    The running proxy reads container-sync-realms.conf at most every 300 s;
    an app loaded after the file is written reads it at once.
    """
    with open(os.path.join(wl_cluster.workdir,
                           'container-sync-realms.conf'), 'w') as fp:
        fp.write('[%s]\nkey = %s\ncluster_local = http://127.0.0.1/v1/\n'
                 % (REALM, REALM_KEY))
    return wl_cluster.load_proxy_app(write_variant(wl_cluster, 'csync'))


def _sync_headers(method, path):
    from swift.common.container_sync_realms import ContainerSyncRealms
    from swift.common.utils import Timestamp
    timestamp = Timestamp.now().internal
    nonce = uuid.uuid4().hex
    sig = ContainerSyncRealms.get_sig(None, method, path, timestamp, nonce,
                                      REALM_KEY, SYNC_KEY)
    return {'X-Container-Sync-Auth': '%s %s %s' % (REALM, nonce, sig),
            'X-Timestamp': timestamp}


def _sync(client, app, method, path, source, body=b''):
    return client.call(app, method, path, {'REMOTE_ADDR': source},
                       _sync_headers(method, path), body, token=False)


@pytest.fixture
def sync_locked(client, locked):
    assert client.req('POST', locked, ALLOWED,
                      {'X-Container-Sync-Key': SYNC_KEY}).status == 204
    return locked


@pytest.fixture
def sync_open(client, open_container):
    assert client.req('POST', open_container, ALLOWED,
                      {'X-Container-Sync-Key': SYNC_KEY}).status == 204
    return open_container


def test_container_sync_put_into_locked_container(client, sync_app,
                                                  sync_locked):
    path = client.path(sync_locked + '/planted')
    resp = _sync(client, sync_app, 'PUT', path, DENIED, b'planted')
    assert resp.status == 403, resp
    assert _status(client, sync_locked + '/planted') == 404
    # Positive control: the same signed route from the allowed address.
    assert _sync(client, sync_app, 'PUT', path, ALLOWED,
                 b'synced').status == 201
    assert client.req('GET', sync_locked + '/planted',
                      ALLOWED).body == b'synced'


def test_container_sync_get_of_locked_object(client, sync_app, sync_locked):
    # container_sync accepts its signature on any method, so a signed GET
    # is a read that needs no token.
    path = client.path(sync_locked + '/secret')
    resp = _sync(client, sync_app, 'GET', path, DENIED)
    assert resp.status == 403, resp
    assert SECRET not in resp.body
    resp = _sync(client, sync_app, 'GET', path, ALLOWED)
    assert resp.status == 200 and resp.body == SECRET


def test_container_sync_delete_in_locked_container(client, sync_app,
                                                   sync_locked):
    path = client.path(sync_locked + '/secret')
    assert _sync(client, sync_app, 'DELETE', path, DENIED).status == 403
    assert _status(client, sync_locked + '/secret') == 200
    assert _sync(client, sync_app, 'DELETE', path, ALLOWED).status == 204
    assert _status(client, sync_locked + '/secret') == 404


def test_container_sync_listing_of_locked_container(client, sync_app,
                                                    sync_locked):
    path = client.path(sync_locked)
    resp = _sync(client, sync_app, 'GET', path, DENIED)
    assert resp.status == 403, resp
    assert b'secret' not in resp.body
    resp = _sync(client, sync_app, 'GET', path, ALLOWED)
    assert resp.status == 200 and b'secret' in resp.body


def test_container_sync_put_into_open_container_from_denied(
        client, sync_app, sync_open):
    # The signature alone (no token) writes into an open container from
    # any address: the route works, the allowlist is what refuses above.
    path = client.path(sync_open + '/synced')
    assert _sync(client, sync_app, 'PUT', path, DENIED, b'x').status == 201
    assert _status(client, sync_open + '/synced') == 200


def test_container_sync_to_set_on_locked_container(client, sync_app,
                                                   locked):
    # Syncing a locked container out to elsewhere is set on the container:
    # the owner's decision, refused to denied addresses.
    path = client.path(locked)
    # A full URL: the container servers read the realms file only every
    # 300 s, so they do not know the test's realm yet.
    headers = {'X-Container-Sync-To': 'http://127.0.0.1/v1/%s/elsewhere'
               % client.account, 'X-Container-Sync-Key': 'k'}
    resp = client.call(sync_app, 'POST', path, {'REMOTE_ADDR': DENIED},
                       headers)
    assert resp.status == 403, resp
    head = client.req('HEAD', locked, ALLOWED)
    assert 'x-container-sync-to' not in head.headers
    resp = client.call(sync_app, 'POST', path, {'REMOTE_ADDR': ALLOWED},
                       headers)
    assert resp.status == 204, resp


# -- s3api ---------------------------------------------------------------

class S3Headers(S3):
    """S3 requests with extra headers (copy source, Content-MD5)."""

    def req(self, method, path, source, body=b'', headers=None):
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        request = AWSRequest(method=method, url=self.base + path, data=body,
                             headers=dict(headers or {}))
        S3SigV4Auth(self.credentials, 's3', 'us-east-1').add_auth(request)
        sent = {k: v for k, v in request.prepare().headers.items()
                if k.lower() != 'host'}
        return self.client.tcp(method, path, source, sent, body,
                               token=False)

    def presign(self, method, path, expires=300):
        """A presigned (query-string auth) path, usable from anywhere."""
        from botocore.auth import S3SigV4QueryAuth
        from botocore.awsrequest import AWSRequest
        request = AWSRequest(method=method, url=self.base + path)
        S3SigV4QueryAuth(self.credentials, 's3', 'us-east-1',
                         expires=expires).add_auth(request)
        url = urllib.parse.urlsplit(request.prepare().url)
        return url.path + '?' + url.query


@pytest.fixture
def s3(client):
    return S3Headers(client)


def _copy(source_bucket, key):
    return {'x-amz-copy-source': '/%s/%s' % (source_bucket, key)}


def test_s3_copy_object_from_locked_into_open(client, s3, locked,
                                              open_container):
    resp = s3.req('PUT', '/%s/stolen' % open_container, DENIED,
                  headers=_copy(locked, 'secret'))
    assert resp.status == 403, resp
    assert _status(client, open_container + '/stolen') == 404
    resp = s3.req('PUT', '/%s/copied' % open_container, ALLOWED,
                  headers=_copy(locked, 'secret'))
    assert resp.status == 200, resp
    assert client.req('GET', open_container + '/copied',
                      DENIED).body == SECRET


def test_s3_copy_object_from_open_into_locked(client, s3, locked,
                                              open_container):
    resp = s3.req('PUT', '/%s/planted' % locked, DENIED,
                  headers=_copy(open_container, 'secret'))
    assert resp.status == 403, resp
    assert _status(client, locked + '/planted') == 404
    resp = s3.req('PUT', '/%s/copied' % locked, ALLOWED,
                  headers=_copy(open_container, 'secret'))
    assert resp.status == 200, resp
    assert _status(client, locked + '/copied') == 200


def test_s3_upload_part_copy_from_locked_bucket(client, s3, locked,
                                                open_container):
    # The upload is in an open bucket the denied client may use; only the
    # copy source is locked.
    upload_id = s3.upload_id(open_container, 'big', source=DENIED)
    path = '/%s/big?partNumber=1&uploadId=%s' % (open_container, upload_id)
    resp = s3.req('PUT', path, DENIED, headers=_copy(locked, 'secret'))
    assert resp.status == 403, resp
    parts = s3.req('GET', '/%s/big?uploadId=%s' % (open_container,
                                                   upload_id), DENIED)
    assert parts.status == 200, parts
    assert b'<PartNumber>1</PartNumber>' not in parts.body
    # Positive control: the allowed address copies the part.
    resp = s3.req('PUT', path, ALLOWED, headers=_copy(locked, 'secret'))
    assert resp.status == 200, resp
    parts = s3.req('GET', '/%s/big?uploadId=%s' % (open_container,
                                                   upload_id), ALLOWED)
    assert b'<PartNumber>1</PartNumber>' in parts.body


def _delete_body(*keys):
    body = ('<Delete>%s</Delete>' % ''.join(
        '<Object><Key>%s</Key></Object>' % key for key in keys)).encode()
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    return body, {'Content-MD5': md5, 'Content-Type': 'application/xml'}


def test_s3_multi_object_delete_in_locked_bucket(client, s3, locked):
    body, headers = _delete_body('secret')
    resp = s3.req('POST', '/%s?delete' % locked, DENIED, body, headers)
    # s3api reports per-key errors in a 200 body, or refuses it all.
    assert resp.status in (200, 403), resp
    assert b'<Deleted>' not in resp.body
    assert _status(client, locked + '/secret') == 200
    resp = s3.req('POST', '/%s?delete' % locked, ALLOWED, body, headers)
    assert resp.status == 200 and b'<Deleted>' in resp.body, resp
    assert _status(client, locked + '/secret') == 404


def test_s3_list_objects_of_locked_bucket(s3, locked):
    for query in ('', '?list-type=2', '?prefix=sec'):
        resp = s3.req('GET', '/%s%s' % (locked, query), DENIED)
        assert resp.status == 403, (query, resp)
        assert b'secret' not in resp.body
        resp = s3.req('GET', '/%s%s' % (locked, query), ALLOWED)
        assert resp.status == 200 and b'<Key>secret</Key>' in resp.body


def test_s3_head_bucket_locked(s3, locked):
    assert s3.req('HEAD', '/' + locked, DENIED).status == 403
    assert s3.req('HEAD', '/' + locked, ALLOWED).status == 200


def test_s3_get_and_head_object_in_locked_bucket(s3, locked):
    resp = s3.req('GET', '/%s/secret' % locked, DENIED)
    assert resp.status == 403 and SECRET not in resp.body
    assert s3.req('HEAD', '/%s/secret' % locked, DENIED).status == 403
    assert s3.req('GET', '/%s/secret' % locked, ALLOWED).body == SECRET


@pytest.mark.parametrize('subresource', ['acl', 'location', 'uploads'])
def test_s3_bucket_subresource_of_locked_bucket(s3, locked, subresource):
    resp = s3.req('GET', '/%s?%s' % (locked, subresource), DENIED)
    assert resp.status == 403, resp
    resp = s3.req('GET', '/%s?%s' % (locked, subresource), ALLOWED)
    assert resp.status == 200, resp


def test_s3_get_bucket_versioning_reveals_the_state_and_nothing_else(
        client, s3, locked):
    """A known limit, not a hole in the data: GET ?versioning answers from
    container info (s3api controllers/versioning.py,
    VersioningController.GET calls S3Request.get_container_info, which
    reads get_container_info with no swift.authorize call), left of the
    filter, so a denied address learns the locked bucket's versioning
    state, and no more (doc/source/ip_allowlist.rst says so)."""
    assert client.req('POST', locked, ALLOWED,
                      {'X-Versions-Enabled': 'true'}).status == 204
    for source in (DENIED, ALLOWED):
        resp = s3.req('GET', '/%s?versioning' % locked, source)
        assert resp.status == 200, resp
        assert b'<Status>Enabled</Status>' in resp.body
        assert b'secret' not in resp.body and SECRET not in resp.body


def test_s3_get_tagging_of_locked_bucket_reveals_nothing(s3, locked):
    # s3api answers GET ?tagging with a constant empty TagSet, without a
    # backend request (controllers/tagging.py): the same as for a bucket
    # that does not exist.
    for bucket in (locked, locked + '-missing'):
        for path in ('/%s?tagging' % bucket, '/%s/secret?tagging' % bucket):
            resp = s3.req('GET', path, DENIED)
            assert resp.status == 200, resp
            assert resp.body.endswith(b'<TagSet/></Tagging>'), resp


def test_s3_put_bucket_versioning_on_locked_bucket(client, s3, locked):
    body = (b'<VersioningConfiguration><Status>Enabled</Status>'
            b'</VersioningConfiguration>')
    assert s3.req('PUT', '/%s?versioning' % locked, DENIED,
                  body).status == 403
    head = client.req('HEAD', locked, ALLOWED)
    assert head.headers.get('x-versions-enabled') != 'True'
    assert s3.req('PUT', '/%s?versioning' % locked, ALLOWED,
                  body).status == 200


def test_s3_list_buckets_shows_names_as_the_account_listing_does(
        client, s3, locked):
    # The account has no list: ListBuckets, like GET of the account, is an
    # account request and names every container, locked ones too; it holds
    # no object data.
    resp = s3.req('GET', '/', DENIED)
    assert resp.status == 200, resp
    assert ('<Name>%s</Name>' % locked).encode() in resp.body
    assert SECRET not in resp.body
    swift = client.req('GET', '?prefix=' + locked, DENIED)
    assert swift.status == 200 and locked.encode() in swift.body


@pytest.fixture
def locked_account(wl_cluster):
    """Account AUTH_test5 with an account list naming ALLOWED, removed
    again afterwards."""
    client5 = Client(wl_cluster, 'test5:tester5', 'testing5')
    assert client5.req('POST', '', OPERATOR,
                       {'X-Account-Meta-Allow-Attack': ALLOWED}
                       ).status == 204
    yield client5
    assert client5.req('POST', '', OPERATOR,
                       {'X-Remove-Account-Meta-Allow-Attack': 'x'}
                       ).status == 204


def test_s3_list_buckets_of_locked_account(locked_account):
    s3_5 = S3Headers(locked_account)
    from botocore.credentials import Credentials
    s3_5.credentials = Credentials('test5:tester5', 'testing5')
    resp = s3_5.req('GET', '/', DENIED)
    assert resp.status == 403, resp
    assert b'<Bucket>' not in resp.body
    resp = s3_5.req('GET', '/', ALLOWED)
    assert resp.status == 200, resp


def test_s3_list_object_versions_of_locked_bucket(s3, versioned):
    bucket, old = versioned
    resp = s3.req('GET', '/%s?versions' % bucket, DENIED)
    assert resp.status == 403, resp
    assert old.encode() not in resp.body
    resp = s3.req('GET', '/%s?versions' % bucket, ALLOWED)
    assert resp.status == 200 and old.encode() in resp.body, resp


def test_s3_get_old_version_in_locked_bucket(s3, versioned):
    bucket, old = versioned
    path = '/%s/doc?versionId=%s' % (bucket, old)
    resp = s3.req('GET', path, DENIED)
    assert resp.status == 403, resp
    assert b'old' not in resp.body
    resp = s3.req('GET', path, ALLOWED)
    assert resp.status == 200 and resp.body == b'old', resp


def test_s3_copy_old_version_from_locked_into_open(client, s3, versioned,
                                                   open_container):
    bucket, old = versioned
    source = {'x-amz-copy-source': '/%s/doc?versionId=%s' % (bucket, old)}
    resp = s3.req('PUT', '/%s/stolen' % open_container, DENIED,
                  headers=source)
    assert resp.status == 403, resp
    assert _status(client, open_container + '/stolen') == 404
    resp = s3.req('PUT', '/%s/copied' % open_container, ALLOWED,
                  headers=source)
    assert resp.status == 200, resp
    assert client.req('GET', open_container + '/copied',
                      DENIED).body == b'old'


def test_s3_delete_old_version_in_locked_bucket(client, s3, versioned):
    bucket, old = versioned
    path = '/%s/doc?versionId=%s' % (bucket, old)
    assert s3.req('DELETE', path, DENIED).status == 403
    assert client.req('GET', '%s/doc?version-id=%s' % (bucket, old),
                      ALLOWED).body == b'old'
    assert s3.req('DELETE', path, ALLOWED).status == 204
    assert client.req('GET', '%s/doc?version-id=%s' % (bucket, old),
                      ALLOWED).status == 404


def test_s3_multi_object_delete_of_version_in_locked_bucket(client, s3,
                                                            versioned):
    bucket, old = versioned
    body = ('<Delete><Object><Key>doc</Key><VersionId>%s</VersionId>'
            '</Object></Delete>' % old).encode()
    headers = {'Content-MD5': base64.b64encode(
        hashlib.md5(body).digest()).decode()}
    resp = s3.req('POST', '/%s?delete' % bucket, DENIED, body, headers)
    assert b'<Deleted>' not in resp.body, resp
    path = '%s/doc?version-id=%s' % (bucket, old)
    assert client.req('GET', path, ALLOWED).body == b'old'
    resp = s3.req('POST', '/%s?delete' % bucket, ALLOWED, body, headers)
    assert b'<Deleted>' in resp.body, resp
    assert client.req('GET', path, ALLOWED).status == 404


def test_s3_delete_version_in_unversioned_locked_bucket(client, s3, locked):
    # s3api answers a versioned DELETE in a bucket that never had
    # versioning with 204 from container info, before any request that
    # calls swift.authorize (controllers/obj.py, ObjectController.DELETE):
    # a misleading success, but nothing is deleted.
    resp = s3.req('DELETE', '/%s/secret?versionId=1.0' % locked, DENIED)
    assert resp.status in (204, 403), resp
    assert client.req('GET', locked + '/secret', ALLOWED).body == SECRET
    resp = s3.req('DELETE', '/%s/secret?versionId=null' % locked, DENIED)
    assert resp.status == 403, resp
    assert client.req('GET', locked + '/secret', ALLOWED).body == SECRET
    assert s3.req('DELETE', '/%s/secret?versionId=null' % locked,
                  ALLOWED).status == 204
    assert _status(client, locked + '/secret') == 404


def test_s3_presigned_get_from_denied_address(client, s3, locked):
    path = s3.presign('GET', '/%s/secret' % locked)
    resp = client.tcp('GET', path, DENIED, token=False)
    assert resp.status == 403, resp
    assert SECRET not in resp.body
    resp = client.tcp('GET', path, ALLOWED, token=False)
    assert resp.status == 200 and resp.body == SECRET, resp


def test_s3_presigned_put_from_denied_address(client, s3, locked):
    path = s3.presign('PUT', '/%s/planted' % locked)
    resp = client.tcp('PUT', path, DENIED, body=b'x', token=False)
    assert resp.status == 403, resp
    assert _status(client, locked + '/planted') == 404
    resp = client.tcp('PUT', path, ALLOWED, body=b'x', token=False)
    assert resp.status == 200, resp
    assert _status(client, locked + '/planted') == 200


def test_s3_presigned_bucket_listing_from_denied_address(client, s3, locked):
    path = s3.presign('GET', '/' + locked)
    resp = client.tcp('GET', path, DENIED, token=False)
    assert resp.status == 403 and b'secret' not in resp.body, resp
    resp = client.tcp('GET', path, ALLOWED, token=False)
    assert resp.status == 200 and b'<Key>secret</Key>' in resp.body


# -- DLO and SLO manifests in an open container --------------------------

@pytest.fixture
def dlo(client, locked, open_container):
    """A DLO in an open container over a locked container's prefix."""
    resp = client.req('PUT', open_container + '/dlo', DENIED,
                      {'X-Object-Manifest': locked + '/sec'})
    assert resp.status == 201, resp
    return open_container + '/dlo'


def test_dlo_get_of_locked_prefix(client, dlo):
    resp = client.req('GET', dlo, DENIED)
    assert resp.status == 403, resp
    assert SECRET not in resp.body
    resp = client.req('GET', dlo, ALLOWED)
    assert resp.status == 200 and resp.body == SECRET


def test_dlo_head_does_not_reveal_locked_segments(client, dlo):
    # A DLO HEAD lists the segments to give length and etag.
    resp = client.req('HEAD', dlo, DENIED)
    assert resp.status == 403, resp
    assert resp.headers.get('content-length') != str(len(SECRET))
    resp = client.req('HEAD', dlo, ALLOWED)
    assert resp.status == 200
    assert resp.headers['content-length'] == str(len(SECRET))


def test_dlo_range_get_of_locked_prefix(client, dlo):
    resp = client.req('GET', dlo, DENIED, {'Range': 'bytes=0-3'})
    assert resp.status == 403 and SECRET[:4] not in resp.body, resp
    resp = client.req('GET', dlo, ALLOWED, {'Range': 'bytes=0-3'})
    assert resp.status == 206 and resp.body == SECRET[:4]


def test_dlo_manifest_get_returns_no_locked_data(client, dlo):
    resp = client.req('GET', dlo + '?multipart-manifest=get', DENIED)
    assert resp.status == 200, resp
    assert SECRET not in resp.body


def test_dlo_copy_of_locked_prefix_into_open(client, dlo, open_container):
    resp = client.req('PUT', open_container + '/stolen', DENIED,
                      {'X-Copy-From': dlo})
    assert resp.status == 403, resp
    assert _status(client, open_container + '/stolen') == 404
    resp = client.req('PUT', open_container + '/copied', ALLOWED,
                      {'X-Copy-From': dlo})
    assert resp.status == 201, resp
    assert client.req('GET', open_container + '/copied',
                      DENIED).body == SECRET


@pytest.fixture
def slo(client, locked, open_container):
    manifest = json.dumps([{'path': '/%s/secret' % locked}]).encode()
    resp = client.req('PUT', open_container + '/slo?multipart-manifest=put',
                      ALLOWED, body=manifest)
    assert resp.status == 201, resp
    return open_container + '/slo'


def test_slo_manifest_get_of_locked_segments(client, slo, locked):
    # The manifest itself (names, sizes, etags of the segments) is data of
    # the open container; the segments' content is not in it.
    for query in ('multipart-manifest=get',
                  'multipart-manifest=get&format=raw'):
        resp = client.req('GET', slo + '?' + query, DENIED)
        assert resp.status == 200, resp
        assert SECRET not in resp.body
    resp = client.req('GET', slo, ALLOWED)
    assert resp.status == 200 and resp.body == SECRET


def test_slo_part_number_get_of_locked_segment(client, slo):
    resp = client.req('GET', slo + '?part-number=1', DENIED)
    assert resp.status != 200 and SECRET not in resp.body, resp
    resp = client.req('GET', slo + '?part-number=1', ALLOWED)
    assert resp.status == 206 and resp.body == SECRET, resp


def test_slo_copy_of_manifest_into_open(client, slo, open_container):
    # Copying the manifest itself (?multipart-manifest=get) makes SLO
    # revalidate its segments with the client's access: the locked one
    # is refused.
    resp = client.req('PUT', open_container + '/slo2?multipart-manifest=get',
                      DENIED, {'X-Copy-From': slo})
    assert resp.status == 400 and b'403 Forbidden' in resp.body, resp
    assert _status(client, open_container + '/slo2') == 404
    resp = client.req('PUT', open_container + '/slo3?multipart-manifest=get',
                      ALLOWED, {'X-Copy-From': slo})
    assert resp.status == 201, resp
    assert client.req('GET', open_container + '/slo3',
                      ALLOWED).body == SECRET


# -- symlinks ------------------------------------------------------------

def test_symlink_chain_open_open_locked(client, locked, open_container):
    middle = client.new_container()
    assert client.req('PUT', middle + '/hop', DENIED,
                      {'X-Symlink-Target': locked + '/secret'}
                      ).status == 201
    assert client.req('PUT', open_container + '/link', DENIED,
                      {'X-Symlink-Target': middle + '/hop'}).status == 201
    for method in ('GET', 'HEAD'):
        resp = client.req(method, open_container + '/link', DENIED)
        assert resp.status == 403, (method, resp)
        assert SECRET not in resp.body
    resp = client.req('GET', open_container + '/link', ALLOWED)
    assert resp.status == 200 and resp.body == SECRET


def test_symlink_static_etag_probe_of_locked_object(client, locked,
                                                    open_container):
    # X-Symlink-Target-Etag makes symlink HEAD the target at PUT: it must
    # not be an oracle for a locked object's etag.
    etag = hashlib.md5(SECRET).hexdigest()
    for guess, name in ((etag, 'right'), ('0' * 32, 'wrong')):
        resp = client.req('PUT', open_container + '/' + name, DENIED,
                          {'X-Symlink-Target': locked + '/secret',
                           'X-Symlink-Target-Etag': guess})
        assert resp.status == 403, (name, resp)
    resp = client.req('PUT', open_container + '/right', ALLOWED,
                      {'X-Symlink-Target': locked + '/secret',
                       'X-Symlink-Target-Etag': etag})
    assert resp.status == 201, resp


@pytest.fixture
def other_account_locked(wl_cluster, client):
    """A container in AUTH_test2 locked to ALLOWED and readable by
    test:tester through its read ACL."""
    client2 = Client(wl_cluster, 'test2:tester2', 'testing2')
    container = client2.new_container(allow=ALLOWED)
    assert client2.req('POST', container, ALLOWED,
                       {'X-Container-Read': 'test:tester'}).status == 204
    return client2, container


def test_symlink_target_account_to_locked_container(client, open_container,
                                                    other_account_locked):
    client2, container = other_account_locked
    assert client.req('PUT', open_container + '/xlink', DENIED,
                      {'X-Symlink-Target': container + '/secret',
                       'X-Symlink-Target-Account': client2.account}
                      ).status == 201
    resp = client.req('GET', open_container + '/xlink', DENIED)
    assert resp.status == 403, resp
    assert SECRET not in resp.body
    # Positive control: the ACL lets test:tester read it from ALLOWED.
    resp = client.req('GET', open_container + '/xlink', ALLOWED)
    assert resp.status == 200 and resp.body == SECRET, resp


def _versioning_link(client, source, link, target, headers=None):
    """Copy object versioning's own symlink, retargeted at ``target``.

    object_versioning stores the latest version as a symlink carrying
    ``X-Object-Sysmeta-Allow-Reserved-Names`` (object_versioning.py,
    ObjectVersioningContext._put_symlink_to_version), which makes symlink
    follow it with a pre-authorized request, whatever its target
    (symlink.py, SymlinkObjectContext._recursive_get_head,
    make_pre_authed_request). ``PUT ?symlink=get`` with ``X-Copy-From``
    copies that sysmeta (copy.py, ServerSideCopyMiddleware.handle_PUT copies
    every source header but a few), the client's ``X-Symlink-Target``
    replaces the target, and an empty ``X-Symlink-Target-Etag`` (or
    ``X-Fresh-Metadata: true``) skips the target check at PUT. Following
    the link then makes no ``swift.authorize`` call at all: neither the
    allowlist nor the auth middleware sees the target.
    """
    own = client.new_container(source=source)
    assert client.req('POST', own, source,
                      {'X-Versions-Enabled': 'true'}).status == 204
    assert client.req('PUT', own + '/doc', source, body=b'mine').status == 201
    headers = dict(headers or {'X-Symlink-Target-Etag': ''})
    headers.update({'X-Copy-From': own + '/doc', 'X-Symlink-Target': target})
    return client.req('PUT', link + '?symlink=get', source, headers)


def _hidden_version(container, version):
    from swift.common.request_helpers import get_reserved_name
    from swift.common.swob import wsgi_quote
    from swift.common.utils import Timestamp
    return wsgi_quote('%s/%s' % (
        get_reserved_name('versions', container),
        get_reserved_name('doc', (~Timestamp(version)).internal)))


def _assert_link_leaks_nothing(client, put, link, data):
    # Whether the link is refused when written or when read, the locked
    # data must not come back to the denied address, nor be copied.
    for method in ('GET', 'HEAD'):
        resp = client.req(method, link, DENIED)
        assert resp.status not in (200, 206), (put, method, resp)
        assert data not in resp.body
    stolen = link.split('/')[0] + '/stolen-' + uuid.uuid4().hex[:6]
    resp = client.req('PUT', stolen, DENIED, {'X-Copy-From': link})
    assert resp.status != 201, (put, resp)


def test_copied_versioning_symlink_retargeted_reads_locked_object(
        client, locked, open_container):
    link = open_container + '/link'
    put = _versioning_link(client, DENIED, link, locked + '/secret')
    _assert_link_leaks_nothing(client, put, link, SECRET)
    # Positive control: a plain symlink to it, followed from ALLOWED.
    assert client.req('PUT', open_container + '/plain', ALLOWED,
                      {'X-Symlink-Target': locked + '/secret'}
                      ).status == 201
    assert client.req('GET', open_container + '/plain',
                      ALLOWED).body == SECRET


@pytest.mark.parametrize('headers', [{'X-Symlink-Target-Etag': ''},
                                     {'X-Fresh-Metadata': 'true'}],
                         ids=['empty_etag', 'fresh_metadata'])
def test_copied_versioning_symlink_reads_locked_old_version(
        client, versioned, open_container, headers):
    locked, old = versioned
    link = open_container + '/link'
    put = _versioning_link(client, DENIED, link,
                           _hidden_version(locked, old), headers)
    _assert_link_leaks_nothing(client, put, link, b'old')
    # Positive control: the allowed address reads that version.
    resp = client.req('GET', '%s/doc?version-id=%s' % (locked, old), ALLOWED)
    assert resp.status == 200 and resp.body == b'old'


def test_copied_versioning_symlink_reads_other_account_locked_object(
        wl_cluster, client, open_container):
    # With X-Symlink-Target-Account the link reaches a locked container of
    # another account that grants test:tester nothing: the pre-authorized
    # request skips tempauth's check as well as the allowlist.
    client2 = Client(wl_cluster, 'test2:tester2', 'testing2')
    other = client2.new_container(allow=ALLOWED)
    link = open_container + '/xlink'
    put = _versioning_link(client, DENIED, link, other + '/secret',
                           {'X-Symlink-Target-Account': client2.account,
                            'X-Symlink-Target-Etag': ''})
    _assert_link_leaks_nothing(client, put, link, SECRET)
    # Positive control: the owner reads it from ALLOWED.
    assert client2.req('GET', other + '/secret', ALLOWED).body == SECRET


def test_enabling_versioning_on_locked_container_from_denied(client, locked):
    # object_versioning creates the hidden versions container with a
    # pre-authorized PUT before the proxy authorizes the client's request
    # (ObjectVersioningMiddleware.handle_container_request), and deletes
    # it again when that request fails.
    assert client.req('POST', locked, DENIED,
                      {'X-Versions-Enabled': 'true'}).status == 403
    head = client.req('HEAD', locked, ALLOWED)
    assert 'x-versions-enabled' not in head.headers, head.headers
    assert client.req('PUT', locked + '/secret', DENIED,
                      body=b'evil').status == 403
    # Positive control: the allowed address enables it; versions work.
    assert client.req('POST', locked, ALLOWED,
                      {'X-Versions-Enabled': 'true'}).status == 204
    assert client.req('PUT', locked + '/secret', ALLOWED,
                      body=b'v2').status == 201
    versions = _listing(client, locked, 'versions&format=json')
    assert len([v for v in versions if v['name'] == 'secret']) == 2


def test_s3_delete_latest_in_versioned_locked_bucket(client, s3, versioned):
    # s3api's DELETE lists versions and restores with ?version-id PUTs
    # (ObjectController._restore_on_delete).
    bucket, old = versioned
    assert s3.req('DELETE', '/%s/doc' % bucket, DENIED).status == 403
    assert client.req('GET', bucket + '/doc', ALLOWED).body == b'new'
    assert s3.req('DELETE', '/%s/doc' % bucket, ALLOWED).status == 204
    assert client.req('GET', bucket + '/doc', ALLOWED).status == 404


# -- tempurl with prefix scope --------------------------------------------

@pytest.fixture(scope='module')
def tempurl_key(client):
    resp = client.req('POST', '', OWNER,
                      {'X-Account-Meta-Temp-URL-Key': TEMPURL_KEY})
    assert resp.status == 204
    return TEMPURL_KEY


def _prefix_tempurl(client, method, container, prefix, obj):
    expires = int(time.time()) + 300
    scope = 'prefix:%s' % client.path('%s/%s' % (container, prefix))
    sig = hmac.new(TEMPURL_KEY.encode(),
                   ('%s\n%d\n%s' % (method, expires, scope)).encode(),
                   hashlib.sha256).hexdigest()
    return '%s?temp_url_sig=%s&temp_url_expires=%d&temp_url_prefix=%s' % (
        client.path('%s/%s' % (container, obj)), sig, expires,
        urllib.parse.quote(prefix))


def test_tempurl_prefix_scope_get_of_locked_object(client, tempurl_key,
                                                   locked):
    url = _prefix_tempurl(client, 'GET', locked, 'sec', 'secret')
    resp = client.tcp('GET', url, DENIED, token=False)
    assert resp.status == 403 and SECRET not in resp.body, resp
    resp = client.tcp('GET', url, ALLOWED, token=False)
    assert resp.status == 200 and resp.body == SECRET, resp


def test_tempurl_prefix_scope_put_into_locked_container(client, tempurl_key,
                                                        locked):
    url = _prefix_tempurl(client, 'PUT', locked, '', 'planted')
    resp = client.tcp('PUT', url, DENIED, body=b'x', token=False)
    assert resp.status == 403, resp
    assert _status(client, locked + '/planted') == 404
    assert client.tcp('PUT', url, ALLOWED, body=b'x',
                      token=False).status == 201


def test_tempurl_get_of_dlo_over_locked_prefix(client, tempurl_key, dlo):
    expires = int(time.time()) + 300
    full = client.path(dlo)
    sig = hmac.new(TEMPURL_KEY.encode(),
                   ('GET\n%d\n%s' % (expires, full)).encode(),
                   hashlib.sha256).hexdigest()
    url = '%s?temp_url_sig=%s&temp_url_expires=%d' % (full, sig, expires)
    resp = client.tcp('GET', url, DENIED, token=False)
    assert SECRET not in resp.body, resp
    resp = client.tcp('GET', url, ALLOWED, token=False)
    assert resp.status == 200 and resp.body == SECRET, resp


def _formpost(client, container, source, filename):
    path = client.path(container)
    expires = int(time.time()) + 300
    sig = hmac.new(TEMPURL_KEY.encode(), ('%s\n\n1024\n1\n%d' % (
        path, expires)).encode(), hashlib.sha256).hexdigest()
    boundary = uuid.uuid4().hex
    fields = {'redirect': '', 'max_file_size': '1024',
              'max_file_count': '1', 'expires': str(expires),
              'signature': sig}
    parts = ['--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n'
             '%s\r\n' % (boundary, name, value)
             for name, value in fields.items()]
    parts.append('--%s\r\nContent-Disposition: form-data; name="file"; '
                 'filename="%s"\r\nContent-Type: text/plain\r\n\r\n'
                 'x\r\n--%s--\r\n' % (boundary, filename, boundary))
    return client.tcp('POST', path, source, {
        'Content-Type': 'multipart/form-data; boundary=' + boundary},
        ''.join(parts).encode(), token=False)


def test_formpost_filename_climbing_into_locked_container(
        client, tempurl_key, locked, open_container):
    # formpost names the object <path>/<filename>; Swift does not
    # normalise dot segments, so this stays in the open container.
    resp = _formpost(client, open_container, DENIED,
                     '../%s/planted' % locked)
    assert resp.status in (201, 303), resp
    assert _status(client, locked + '/planted') == 404
    assert _status(client, '%s/../%s/planted' % (open_container,
                                                 locked)) == 200


def test_formpost_into_locked_container_from_allowed_is_refused(
        client, tempurl_key, locked):
    # formpost (left of auth) makes its PUT with make_pre_authed_env,
    # which carries no REMOTE_ADDR: a locked container refuses it from
    # every address, ALLOWED too (documented fail-closed limitation).
    for source in (DENIED, ALLOWED):
        resp = _formpost(client, locked, source, 'posted')
        assert _status(client, locked + '/posted') == 404, (source, resp)


# -- bulk at the account root ---------------------------------------------

def _tar(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_archive_extraction_at_account_root_into_locked_container(
        client, locked, open_container):
    body = _tar([(locked + '/planted', b'x'),
                 (open_container + '/fine', b'y')])
    resp = client.tcp('PUT', client.account_path + '?extract-archive=tar',
                      DENIED, {'Accept': 'application/json'}, body)
    assert resp.status == 200, resp
    result = json.loads(resp.body)
    assert _status(client, locked + '/planted') == 404
    # Control: the open container's member was extracted by the same
    # request, so the route works and the list is what refused.
    assert result['Number Files Created'] == 1, result
    assert _status(client, open_container + '/fine') == 200


def test_bulk_delete_of_locked_container_itself(client, locked):
    # Deleting the container (after its objects) is the same route.
    body = ('/%s/secret\n/%s' % (locked, locked)).encode()
    resp = client.tcp('POST', client.account_path + '?bulk-delete', DENIED,
                      {'Content-Type': 'text/plain',
                       'Accept': 'application/json'}, body)
    assert resp.status == 200, resp
    assert json.loads(resp.body)['Number Deleted'] == 0
    assert _status(client, locked) == 204
    assert _status(client, locked + '/secret') == 200


# -- staticweb and account listings ---------------------------------------

def test_staticweb_index_in_open_container_symlinked_to_locked(
        client, locked):
    site = client.new_container(public=True)
    assert client.req('POST', site, ALLOWED,
                      {'X-Container-Meta-Web-Index': 'index.html'}
                      ).status == 204
    assert client.req('PUT', site + '/index.html', DENIED,
                      {'X-Symlink-Target': locked + '/secret'}
                      ).status == 201
    # The locked container is public too: only the allowlist refuses.
    assert client.req('POST', locked, ALLOWED,
                      {'X-Container-Read': '.r:*'}).status == 204
    resp = client.tcp('GET', client.path(site) + '/', DENIED, token=False)
    assert resp.status == 403 and SECRET not in resp.body, resp
    resp = client.tcp('GET', client.path(site) + '/', ALLOWED, token=False)
    assert resp.status == 200 and resp.body == SECRET, resp


def test_staticweb_listing_of_open_container_cannot_name_locked(
        client, locked):
    site = client.new_container(public=True)
    assert client.req('POST', site, ALLOWED,
                      {'X-Container-Meta-Web-Listings': 'true',
                       'X-Container-Meta-Web-Error': '../%s/secret' % locked}
                      ).status == 204
    resp = client.tcp('GET', client.path(site) + '/missing/', DENIED,
                      token=False)
    assert SECRET not in resp.body, resp
    resp = client.tcp('GET', client.path(site) + '/', DENIED, token=False)
    assert resp.status == 200 and b'secret' in resp.body


def test_account_listing_names_locked_container_but_no_objects(client,
                                                               locked):
    resp = client.req('GET', '?format=json&prefix=' + locked, DENIED)
    assert resp.status == 200, resp
    assert [c['name'] for c in json.loads(resp.body)] == [locked]
    resp = client.req('GET', locked + '?format=json', DENIED)
    assert resp.status == 403
    assert client.req('GET', locked + '?format=json', ALLOWED).status == 200


# -- CORS ----------------------------------------------------------------

def test_cors_actual_request_from_denied_address(client, locked):
    assert client.req('POST', locked, ALLOWED, {
        'X-Container-Meta-Access-Control-Allow-Origin': '*',
        'X-Container-Read': '.r:*'}).status == 204
    headers = {'Origin': 'https://example.test'}
    resp = client.tcp('GET', client.path(locked + '/secret'), DENIED,
                      headers, token=False)
    assert resp.status == 403 and SECRET not in resp.body, resp
    resp = client.tcp('GET', client.path(locked + '/secret'), ALLOWED,
                      headers, token=False)
    assert resp.status == 200 and resp.body == SECRET, resp


# -- domain_remap, loaded in-process in a variant pipeline ---------------

@pytest.fixture(scope='module')
def remap_app(wl_cluster):
    path = _variant_pipeline(wl_cluster, 'remap', 's3api', 'domain_remap',
                             {'use': 'egg:swift#domain_remap',
                              'storage_domain': 'example.test'})
    return wl_cluster.load_proxy_app(path)


def _remap_host(client, container):
    account = client.account.replace('_', '-', 1).lower()
    return '%s.%s.example.test' % (container, account)


def test_domain_remap_get_of_locked_object(client, remap_app, locked):
    headers = {'Host': _remap_host(client, locked)}
    resp = client.call(remap_app, 'GET', '/secret', {'REMOTE_ADDR': DENIED},
                       headers)
    assert resp.status == 403 and SECRET not in resp.body, resp
    resp = client.call(remap_app, 'GET', '/secret',
                       {'REMOTE_ADDR': ALLOWED}, headers)
    assert resp.status == 200 and resp.body == SECRET, resp


def test_domain_remap_listing_of_locked_container(client, remap_app, locked):
    headers = {'Host': _remap_host(client, locked)}
    resp = client.call(remap_app, 'GET', '/?format=json',
                       {'REMOTE_ADDR': DENIED}, headers)
    assert resp.status == 403 and b'secret' not in resp.body, resp
    resp = client.call(remap_app, 'GET', '/?format=json',
                       {'REMOTE_ADDR': ALLOWED}, headers)
    assert resp.status == 200 and b'secret' in resp.body, resp


def test_domain_remap_path_naming_locked_container_via_open_host(
        client, remap_app, locked, open_container):
    # Host names the open container; the path tries to climb out of it.
    headers = {'Host': _remap_host(client, open_container)}
    for path in ('/../%s/secret' % locked, '/%2E%2E/' + locked + '/secret'):
        resp = client.call(remap_app, 'GET', path, {'REMOTE_ADDR': DENIED},
                           headers)
        assert SECRET not in resp.body, (path, resp)
    resp = client.call(remap_app, 'GET', '/secret', {'REMOTE_ADDR': DENIED},
                       headers)
    assert resp.status == 200 and resp.body == SECRET
