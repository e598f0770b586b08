"""Fixtures: a real Swift cluster with ip_allowlist in the proxy pipeline.

Real requests travel over TCP from distinct 127.0.0.x source addresses.
Addresses loopback cannot give (10.x, IPv6, garbage) go through the same
proxy pipeline loaded in-process with ``swift.common.wsgi.loadapp`` and a
crafted environ; it talks to the same account, container and object
servers. Variants with other filter options are loaded the same way from a
copy of the proxy config.
"""

import configparser
import http.client
import json
import os
import urllib.parse
import uuid

import pytest
from swift.common import swob

OWNER = '127.0.0.1'        # sets lists up; not in any list
ALLOWED = '127.0.0.7'
DENIED = '127.0.0.8'
OPERATOR = '127.0.0.200'   # operator_cidrs
TRUSTED_PROXY = '127.0.0.50'
SECRET = b'the locked secret'

FILTER_CONF = {
    'use': 'egg:opsext#ip_allowlist',
    'operator_cidrs': OPERATOR + '/32',
    'trusted_proxies': TRUSTED_PROXY + '/32',
    'deny_message': 'Denied by policy.',
}


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def __repr__(self):
        return '<Response %s %r>' % (self.status, self.body[:200])


class Client:
    """A tempauth user talking to the cluster, over TCP or in-process."""

    def __init__(self, cluster, user='test:tester', key='testing'):
        self.cluster = cluster
        storage_url, self.token = cluster.get_token(user, key)
        self.account_path = urllib.parse.urlparse(storage_url).path
        self.account = self.account_path.rsplit('/', 1)[-1]
        parsed = urllib.parse.urlparse(cluster.proxy_url)
        self.host, self.port = parsed.hostname, parsed.port

    def path(self, sub=''):
        return self.account_path + ('/' + sub if sub else '')

    def tcp(self, method, path, source=OWNER, headers=None, body=b'',
            token=True):
        """A real HTTP request from ``source`` (a 127.0.0.x address)."""
        headers = dict(headers or {})
        if token:
            headers.setdefault('X-Auth-Token', self.token)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30,
                                          source_address=(source, 0))
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            if body or method in ('PUT', 'POST'):
                conn.putheader('Content-Length', str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            return Response(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()

    def req(self, method, sub='', source=OWNER, headers=None, body=b''):
        return self.tcp(method, self.path(sub), source, headers, body)

    def call(self, app, method, path, environ=None, headers=None, body=b'',
             token=True):
        """The same request through an in-process pipeline."""
        headers = dict(headers or {})
        if token:
            headers.setdefault('X-Auth-Token', self.token)
        self.cluster.activate()
        env = {'REQUEST_METHOD': method}
        env.update(environ or {})
        req = swob.Request.blank(path, environ=env, headers=headers,
                                 body=body)
        if 'REMOTE_ADDR' in (environ or {}) and environ[
                'REMOTE_ADDR'] is None:
            del req.environ['REMOTE_ADDR']
        resp = req.get_response(app)
        return Response(resp.status_int, resp.headers.items(), resp.body)

    def new_container(self, allow=None, source=OWNER, public=False):
        """Create a container (optionally locked) holding object 'secret'."""
        name = 'c-' + uuid.uuid4().hex[:12]
        headers = {}
        if public:
            headers['X-Container-Read'] = '.r:*,.rlistings'
        resp = self.req('PUT', name, source, headers)
        assert resp.status in (201, 202), resp
        resp = self.req('PUT', name + '/secret', source, body=SECRET)
        assert resp.status == 201, resp
        if allow is not None:
            self.lock(name, allow)
        return name

    def lock(self, container, allow, source=OWNER, key='Office'):
        resp = self.req('POST', container, source,
                        {'X-Container-Meta-Allow-' + key: allow})
        assert resp.status == 204, resp


def write_variant(cluster, name, without_filter=False, sections=None,
                  **options):
    """Copy the proxy config with other ip_allowlist options; return path.

    ``without_filter`` drops ip_allowlist from the pipeline: the cluster as
    it was before the operator enabled the filter. ``sections`` sets
    options of other sections, e.g. ``{'filter:cache': {...}}``.
    """
    parser = configparser.RawConfigParser()
    parser.optionxform = str
    parser.read(cluster.proxy_conf_path)
    for section, values in (sections or {}).items():
        for key, value in values.items():
            parser.set(section, key, value)
    if without_filter:
        pipeline = parser.get('pipeline:main', 'pipeline').split()
        pipeline.remove('ip_allowlist')
        parser.set('pipeline:main', 'pipeline', ' '.join(pipeline))
    section = 'filter:ip_allowlist'
    for key, value in options.items():
        if value is None:
            parser.remove_option(section, key)
        else:
            parser.set(section, key, value)
    path = os.path.join(cluster.workdir, 'proxy-%s.conf' % name)
    with open(path, 'w') as fp:
        parser.write(fp)
    return path


@pytest.fixture(scope='session')
def wl_cluster(swift_cluster_factory):
    return swift_cluster_factory(
        pipeline_filters=['ip_allowlist'],
        filter_conf={'ip_allowlist': dict(FILTER_CONF)})


@pytest.fixture(scope='session')
def client(wl_cluster):
    return Client(wl_cluster)


@pytest.fixture(scope='session')
def proxy_app(wl_cluster):
    """The cluster's own proxy pipeline, in-process."""
    return wl_cluster.load_proxy_app()


@pytest.fixture(scope='session')
def variant(wl_cluster):
    """Load the pipeline in-process with other ip_allowlist options."""
    apps = {}

    def load(**options):
        key = tuple(sorted(options.items()))
        if key not in apps:
            path = write_variant(wl_cluster, uuid.uuid4().hex[:8], **options)
            apps[key] = wl_cluster.load_proxy_app(path)
        return apps[key]
    return load


@pytest.fixture(scope='session')
def raw_app(wl_cluster):
    """The same cluster's pipeline without ip_allowlist, in-process."""
    return wl_cluster.load_proxy_app(
        write_variant(wl_cluster, 'raw', without_filter=True))


@pytest.fixture
def locked(client):
    """A container that only ALLOWED may use, holding object 'secret'."""
    return client.new_container(allow=ALLOWED)


@pytest.fixture
def open_container(client):
    """A container with no list in an account with no list."""
    return client.new_container()


def listing(client, container, query='format=json', source=ALLOWED):
    """A container's JSON listing, read from ``source``."""
    resp = client.req('GET', container + '?' + query, source)
    assert resp.status == 200, resp
    return json.loads(resp.body)


@pytest.fixture
def versioned(client, locked):
    """A locked container with object versioning and two versions of doc."""
    assert client.req('POST', locked, ALLOWED,
                      {'X-Versions-Enabled': 'true'}).status == 204
    for body in (b'old', b'new'):
        assert client.req('PUT', locked + '/doc', ALLOWED,
                          body=body).status == 201
    versions = [v for v in listing(client, locked, 'versions&format=json')
                if v['name'] == 'doc']
    assert len(versions) == 2, versions
    old = [v['version_id'] for v in versions if not v['is_latest']][0]
    return locked, old


class S3:
    """S3 requests signed by botocore (SigV4), sent from a chosen address.

    tempauth answers s3api's signature check: the access key is the
    tempauth user, the secret its key.
    """

    def __init__(self, client):
        from botocore.credentials import Credentials
        self.client = client
        self.credentials = Credentials('test:tester', 'testing')
        self.base = 'http://%s:%d' % (client.host, client.port)

    def req(self, method, path, source, body=b''):
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        request = AWSRequest(method=method, url=self.base + path, data=body)
        S3SigV4Auth(self.credentials, 's3', 'us-east-1').add_auth(request)
        headers = {k: v for k, v in request.prepare().headers.items()
                   if k.lower() != 'host'}
        return self.client.tcp(method, path, source, headers, body,
                               token=False)

    def upload_id(self, bucket, key, source=ALLOWED):
        resp = self.req('POST', '/%s/%s?uploads' % (bucket, key), source)
        assert resp.status == 200, resp
        return resp.body.split(b'<UploadId>')[1].split(b'</UploadId>')[0] \
            .decode()


@pytest.fixture
def s3(client):
    return S3(client)
