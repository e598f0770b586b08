# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""A real all-in-one Swift cluster for functional tests and demos.

:class:`SwiftCluster` writes a complete cluster into a temporary directory
(see :mod:`opsext.allinone.config`), starts its own memcached and the
real ``swift-{account,container,object,proxy}-server`` scripts of the
running Python environment as subprocesses on free loopback ports, and
waits until the whole chain serves: each server's ``/healthcheck``, a
``HEAD`` on each storage server's device, then a tempauth token and a
``HEAD`` of the account through the proxy.  Usage::

    with SwiftCluster(pipeline_filters=['ip_allowlist'],
                      filter_conf={'ip_allowlist': {
                          'use': 'egg:opsext#ip_allowlist'}}) as cluster:
        storage_url, token = cluster.get_token()
        status, headers, body = cluster.request(
            'PUT', storage_url + '/c', {'X-Auth-Token': token},
            source_ip='127.0.0.7')

Requests reach the proxy either over TCP (:meth:`SwiftCluster.request`,
from any 127.0.0.0/8 source address) or through the same proxy pipeline
loaded in this process (:meth:`SwiftCluster.call_app`), for client
addresses loopback cannot give.  Server logs are in ``<workdir>/log``.
"""

import http.client
import logging
import os
import shutil
import tempfile
import time
from typing import Any, Callable, Mapping, Optional, Sequence

from opsext.allinone import config as swift_config
from opsext.allinone import memcached as memcached_mod
from opsext.allinone import process
from opsext.allinone import servers as swift_servers
from opsext.allinone import transport as swift_http

LOG = logging.getLogger(__name__)

_BIND_ATTEMPTS = 3
# A storage server that answers 404 here has loaded its app and can read
# its device; 507 would mean the device is not usable.
_DEVICE_PROBES = {
    'account': '/%s/0/opsext-probe' % swift_config.DEVICE,
    'container': '/%s/0/opsext-probe/c' % swift_config.DEVICE,
    'object': '/%s/0/opsext-probe/c/o' % swift_config.DEVICE,
}


class ClusterStartError(RuntimeError):
    """The cluster did not become healthy; the message holds server logs."""


class SwiftCluster(object):
    """Proxy, account, container and object servers plus memcached.

    :param pipeline_filters: filters placed right after ``tempauth``.
    :param filter_conf: ``{name: {option: value}}``, extra ``[filter:name]``
        sections, or options added to the standard ones; a new filter may
        be given by its ``egg:`` entry point or ``module:factory`` alone.
    :param proxy_conf: options added to ``[app:proxy-server]``.
    :param bind_ip: address of every server.
    :param workdir: where the cluster lives; by default a new temporary
        directory, removed by :meth:`stop` unless ``keep`` is true.  A
        given directory is never removed; its objects survive a restart.
    :param log_level: Swift's ``log_level`` for every server.
    :param start_timeout: seconds for the whole cluster to become healthy.
    :param stop_timeout: seconds between SIGTERM and SIGKILL.
    :param pythonpath: directories the servers import from first, e.g.
        where a ``module:factory`` filter that is not installed lives.
    """

    def __init__(self, *, pipeline_filters: Optional[Sequence[str]] = None,
                 filter_conf: Optional[
                     Mapping[str, swift_config.FilterSpec]] = None,
                 proxy_conf: Optional[Mapping[str, str]] = None,
                 bind_ip: str = '127.0.0.1', workdir: Optional[str] = None,
                 keep: bool = False, log_level: str = 'INFO',
                 start_timeout: float = 30.0,
                 stop_timeout: float = 5.0,
                 pythonpath: Sequence[str] = ()) -> None:
        self.pipeline_filters = list(pipeline_filters or [])
        self.filter_conf = {k: swift_config.filter_options(k, v)
                            for k, v in (filter_conf or {}).items()}
        # Bad filter settings fail here, before anything is started.
        swift_config.filter_sections(self.pipeline_filters, self.filter_conf)
        self.proxy_conf = dict(proxy_conf or {})
        self.bind_ip = bind_ip
        self.workdir = workdir
        self.keep = keep
        self.log_level = log_level
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.pythonpath = list(pythonpath)
        self.memcached: Optional[memcached_mod.MemcachedServer] = None
        self.layout: Optional[swift_config.ClusterLayout] = None
        self.start_seconds: Optional[float] = None
        self._own_workdir = False
        self._servers: dict[str, process.ManagedProcess] = {}
        self._app: Optional[Callable[..., Any]] = None

    # -- addresses -----------------------------------------------------

    def _require_layout(self) -> swift_config.ClusterLayout:
        if self.layout is None:
            raise RuntimeError('the Swift cluster has not been started')
        return self.layout

    @property
    def proxy_host(self) -> str:
        return swift_config.connect_host(self.bind_ip)

    @property
    def proxy_port(self) -> int:
        return self._require_layout().ports['proxy']

    @property
    def proxy_url(self) -> str:
        host = self.proxy_host
        return 'http://%s:%d' % ('[%s]' % host if ':' in host else host,
                                 self.proxy_port)

    @property
    def auth_url(self) -> str:
        return self.proxy_url + '/auth/v1.0'

    @property
    def proxy_conf_path(self) -> str:
        return self._require_layout().conf_path('proxy')

    def log_path(self, server: str) -> str:
        """Log file of ``proxy``, ``account``, ... or ``memcached``."""
        server = server[:-len('-server')] if server.endswith(
            '-server') else server
        if server not in swift_config.SERVERS + ('memcached',):
            raise ValueError('unknown server %r' % (server,))
        return self._require_layout().log_path(server)

    def log_text(self, server: str) -> str:
        """Everything ``server`` has logged so far."""
        try:
            with open(self.log_path(server), 'rb') as log:
                return log.read().decode('utf-8', 'replace')
        except FileNotFoundError:
            return ''

    # -- lifecycle -----------------------------------------------------

    def start(self) -> 'SwiftCluster':
        """Build the cluster and start it; raise ClusterStartError."""
        if self.layout is not None:
            raise RuntimeError('the Swift cluster was already started')
        began = time.monotonic()
        deadline = began + self.start_timeout
        commands = {name: swift_servers.server_command(name)
                    for name in swift_config.SERVERS}
        swift_servers.warn_about_host_config()
        try:
            if self.workdir is None:
                self.workdir = tempfile.mkdtemp(prefix='opsext-swift-')
                self._own_workdir = True
            os.makedirs(os.path.join(self.workdir, 'log'), exist_ok=True)
            self.memcached = memcached_mod.MemcachedServer(
                log_path=os.path.join(self.workdir, 'log', 'memcached.log'))
            self.memcached.start()
            self._start_servers(commands, deadline)
            self._check_account(deadline)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began
        LOG.info('Swift cluster at %s ready in %.2f s (workdir %s)',
                 self.proxy_url, self.start_seconds, self.workdir)
        return self

    def _start_servers(self, commands: Mapping[str, Sequence[str]],
                       deadline: float) -> None:
        def start_once() -> None:
            names = swift_config.SERVERS
            self.layout = swift_config.ClusterLayout(
                workdir=self.workdir, bind_ip=self.bind_ip,
                ports=dict(zip(names, process.free_ports(len(names),
                                                         self.bind_ip))),
                memcache_servers=self.memcached.address)
            swift_config.write_cluster(
                self.layout, self.pipeline_filters, self.filter_conf,
                self.proxy_conf, self.log_level)
            env = swift_servers.server_env(self.pythonpath)
            for name in names:
                self._servers[name] = swift_servers.server_process(
                    name, commands[name], self.layout, env)
                self._servers[name].start()
            try:
                self._wait_until_serving(deadline)
            except process.PortInUse:
                self._stop_servers()
                raise
        process.retry_on_port_in_use(start_once, 'Swift', _BIND_ATTEMPTS,
                                     ClusterStartError)

    def _wait_until_serving(self, deadline: float) -> None:
        pending = set(swift_config.SERVERS)
        while True:
            for name in sorted(pending):
                server = self._servers[name]
                if not server.running():
                    if 'Could not bind' in server.log_text():
                        raise process.PortInUse(server.describe_exit())
                    raise ClusterStartError(
                        'Swift failed to start: ' + server.describe_exit())
                if self._serves(name):
                    pending.discard(name)
            if not pending:
                return
            if time.monotonic() > deadline:
                raise ClusterStartError(
                    'Swift did not start within %.0f s; not serving: %s\n%s'
                    % (self.start_timeout, ', '.join(sorted(pending)),
                       '\n'.join('last lines of %s:\n%s' % (
                           self._servers[n].log_path,
                           self._servers[n].log_tail())
                           for n in sorted(pending))))
            time.sleep(0.05)

    def _serves(self, name: str) -> bool:
        port = self.layout.ports[name]
        host = self.proxy_host
        if swift_http.probe_status(host, port, 'GET', '/healthcheck') != 200:
            return False
        if name == 'proxy':
            return True
        status = swift_http.probe_status(host, port, 'HEAD',
                                         _DEVICE_PROBES[name])
        if status is not None and status != 404:
            raise ClusterStartError(
                '%s-server answered %s to HEAD %s: its device %s is not '
                'usable; last lines of its log:\n%s' % (
                    name, status, _DEVICE_PROBES[name],
                    self.layout.devices, self._servers[name].log_tail()))
        return status == 404

    def _check_account(self, deadline: float) -> None:
        """Get a token and HEAD the account: the whole chain works."""
        while True:
            try:
                storage_url, token = self.get_token()
                status, _headers, body = self.request(
                    'HEAD', storage_url, {'X-Auth-Token': token})
                if status // 100 == 2:
                    return
                problem = 'HEAD %s answered %d' % (storage_url, status)
            except (OSError, RuntimeError, http.client.HTTPException) as exc:
                problem = str(exc)
            if time.monotonic() > deadline:
                raise ClusterStartError(
                    'Swift servers started but the account is not usable '
                    '(%s); last lines of the proxy log:\n%s'
                    % (problem, self._servers['proxy'].log_tail()))
            time.sleep(0.1)

    def check_running(self) -> None:
        """Raise RuntimeError if a server has exited since start."""
        for server in self._servers.values():
            if not server.running():
                raise RuntimeError('Swift server died: ' +
                                   server.describe_exit())

    def _stop_servers(self, with_memcached: bool = False) -> None:
        # Proxy first, so it does not log storage servers going away.
        servers = [self._servers[n] for n in swift_config.SERVERS
                   if n in self._servers]
        for server in servers:
            server.terminate()
        if with_memcached and self.memcached is not None:
            self.memcached.terminate()
        deadline = time.monotonic() + self.stop_timeout
        for server in servers:
            server.wait_or_kill(deadline - time.monotonic())
        self._servers = {}
        if with_memcached and self.memcached is not None:
            self.memcached.stop(deadline - time.monotonic())
            self.memcached = None

    def stop(self) -> None:
        """Stop every server and memcached; remove a temporary workdir."""
        self._app = None
        self._stop_servers(with_memcached=True)
        if self._own_workdir and not self.keep and self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
            self._own_workdir = False
        self.layout = None

    def __enter__(self) -> 'SwiftCluster':
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- clients -------------------------------------------------------

    def flush_cache(self) -> None:
        """Empty memcached: tokens, account and container info."""
        self.memcached.flush_all()

    def get_token(self, user: str = 'test:tester',
                  key: str = 'testing') -> tuple[str, str]:
        """Authenticate with tempauth; return (storage_url, token)."""
        status, headers, body = self.request(
            'GET', '/auth/v1.0', {'X-Auth-User': user, 'X-Auth-Key': key})
        if status // 100 != 2:
            raise RuntimeError('tempauth refused %s: %d %r'
                               % (user, status, body[:200]))
        return headers['X-Storage-Url'], headers['X-Auth-Token']

    def request(self, method: str, path: str,
                headers: Optional[Mapping[str, str]] = None,
                body: bytes = b'', source_ip: str = '127.0.0.1',
                timeout: float = 30.0) -> swift_http.Response:
        """Send one HTTP request to the proxy over TCP from ``source_ip``.

        ``path`` is a quoted path (``/v1/AUTH_test/c?format=json``) or a
        full URL such as a storage URL.  Returns (status, headers, body).
        """
        return swift_http.tcp_request(
            self.proxy_host, self.proxy_port, method, path, headers, body,
            source_ip=source_ip, timeout=timeout)

    def load_proxy_app(self, conf_path: Optional[str] = None
                       ) -> Callable[..., Any]:
        """A proxy pipeline loaded in this process.

        By default the cluster's own (loaded once, then cached); pass
        ``conf_path`` to load a variant of it, e.g. a copy of
        :attr:`proxy_conf_path` with other filter options.  The app talks to
        this cluster's storage servers and memcached over TCP, and calls
        :meth:`activate` on every request.
        """
        from swift.common import wsgi
        if conf_path is None and self._app is not None:
            return self._app
        self.activate()
        app = _ActivatedApp(wsgi.loadapp(conf_path or self.proxy_conf_path),
                            self.activate)
        if conf_path is None:
            self._app = app
        return app

    def call_app(self, method: str, path: str,
                 headers: Optional[Mapping[str, str]] = None,
                 body: bytes = b'',
                 environ: Optional[Mapping[str, Any]] = None,
                 remote_addr: str = '127.0.0.1') -> swift_http.Response:
        """Run one request through :meth:`load_proxy_app` in this process.

        ``environ`` overrides WSGI keys after the request is built (None
        removes a key), e.g. ``{'HTTP_X_FORWARDED_FOR': '192.0.2.1'}``;
        ``remote_addr`` may be any string, even one that is no address.
        """
        url = path if path.startswith(('http://', 'https://')) else (
            self.proxy_url + path)
        return swift_http.wsgi_request(self.load_proxy_app(), url, method,
                                       headers, body, environ, remote_addr)

    def activate(self) -> None:
        """Point this process's Swift globals at this cluster.

        Swift keeps the swift.conf path, the hash path settings, the storage
        policies and their object rings in process globals.  An in-process
        proxy of another cluster, or none at all, leaves them pointing
        elsewhere: object requests would go to another cluster's ports, or
        loading a proxy config fails for want of /etc/swift/swift.conf.
        Apps from :meth:`load_proxy_app` call this themselves.
        """
        from swift.common import storage_policy
        from swift.common import utils
        if utils.set_swift_dir(self._require_layout().workdir):
            # set_swift_dir reloads only the hash settings; new policy
            # objects also forget the object ring of the previous dir.
            storage_policy.reload_storage_policies()

    def __repr__(self) -> str:
        where = self.proxy_url if self.layout else 'not started'
        return '<SwiftCluster %s filters=%s>' % (where, self.pipeline_filters)


class _ActivatedApp(object):
    """A WSGI app that activates its cluster before each request."""

    def __init__(self, app: Callable[..., Any],
                 activate: Callable[[], None]) -> None:
        self.app = app
        self._activate = activate

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        self._activate()
        return self.app(environ, start_response)

    def __getattr__(self, name: str) -> Any:
        # Middleware attributes (e.g. _pipeline_final_app) stay reachable.
        if name == 'app':
            raise AttributeError(name)
        return getattr(self.app, name)
