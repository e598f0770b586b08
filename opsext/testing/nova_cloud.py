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

"""Nova's in-process cloud with an operator's scheduler plugins.

:class:`NovaCloud` is what the ``nova_cloud`` fixture starts: Nova's own
functional harness (``nova/tests/functional/integrated_helpers.py``,
``ProviderUsageBaseTestCase``: nova-api, conductor, scheduler, placement
and fake computes in this process, with its database, Neutron, Glance
and Cinder fixtures), driven outside unittest, with the filters and
weighers of :func:`opsext.testing.nova_scheduler.plugin_options` enabled
in ``[filter_scheduler]``::

    cloud = NovaCloud(filters=['ComputeFilter', 'mypkg.filters.IPFilter'],
                      hosts=['h1', 'h2'],
                      aggregates={'office': {
                          'hosts': ['h1'],
                          'metadata': {'ip_cidrs': '10.1.0.0/16'}}}).start()
    server = cloud.boot(source_address='10.1.2.3')
    assert cloud.host_of(server) == 'h1'
    cloud.stop()

A server is created from an address through the REST API with
``X-Forwarded-For``, read by Nova's own ``http_proxy_to_wsgi``
(``[oslo_middleware] enable_proxy_headers_parsing``), so the scheduler's
``spec_obj._context.remote_address`` is that address, as it is for a
client of a real cloud.  Nova (and its test requirements: fixtures,
oslotest, testtools, wsgi-intercept, openstack-placement) must be
installed.
"""

from importlib import metadata
import os
import sys
from typing import Any, Callable, Mapping, Optional, Sequence

from nova.tests.functional import integrated_helpers
from oslo_middleware import http_proxy_to_wsgi

from opsext.testing import nova_scheduler


def api_paste_config() -> str:
    """Where the installed nova's ``api-paste.ini`` is.

    The nova wheel installs it as a data file under the prefix of the
    environment nova is installed in (not in site-packages, and not
    necessarily under this ``sys.prefix``): the distribution's file list
    says where.
    """
    try:
        dist = metadata.distribution('nova')
    except metadata.PackageNotFoundError:
        dist = None
    for path in (dist.files or []) if dist is not None else []:
        if str(path).replace(os.sep, '/').endswith('etc/nova/api-paste.ini'):
            return os.path.normpath(str(dist.locate_file(path)))
    return os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini')


def prepare_harness(flags: Callable[..., None], conf: Any) -> None:
    """What Nova's harness needs here, before its ``setUp``.

    Nova's ``api-paste.ini`` (:func:`api_paste_config`); proxy-header
    parsing, so that a test chooses the client address. ``flags`` is the
    test case's ``flags``, ``conf`` Nova's CONF.
    """
    flags(api_paste_config=api_paste_config(), group='wsgi')
    conf.register_opts(http_proxy_to_wsgi.OPTS, group='oslo_middleware')
    flags(enable_proxy_headers_parsing=True, group='oslo_middleware')


def create_aggregate(case: Any, name: str, hosts: Sequence[str] = (),
                     metadata: Optional[Mapping[str, Any]] = None) -> int:
    """Create an aggregate through the API of Nova's harness ``case``.

    Sets its ``metadata`` and adds its ``hosts``; returns its id.
    """
    agg_id = case._create_aggregate(name)
    if metadata:
        case.admin_api.post_aggregate_action(agg_id, {'set_metadata': {
            'metadata': {str(k): str(v) for k, v in metadata.items()}}})
    for host in hosts:
        case.admin_api.add_host_to_aggregate(agg_id, host)
    return agg_id


def create_server(case: Any, api: Any, forwarded_for: Optional[str] = None,
                  hints: Optional[Mapping[str, Any]] = None,
                  expected_state: str = 'ACTIVE') -> dict:
    """``POST /servers`` through ``api`` of the harness ``case``; wait.

    ``forwarded_for`` is sent as ``X-Forwarded-For`` (see
    :func:`prepare_harness`), ``hints`` as ``os:scheduler_hints``.
    Returns the server once in ``expected_state``.
    """
    body = {'server': case._build_server(networks='none')}
    if hints:
        body['os:scheduler_hints'] = dict(hints)
    headers = {}
    if forwarded_for is not None:
        headers['X-Forwarded-For'] = forwarded_for
    server = api.api_post('/servers', body, headers=headers).body['server']
    return case._wait_for_state_change(server, expected_state)


class _Harness(integrated_helpers.ProviderUsageBaseTestCase):
    """Nova's harness as a plain object: set up and cleaned up by hand."""

    compute_driver = 'fake.SmallFakeDriver'

    def runTest(self) -> None:
        """The test case needs a test method; nothing runs it."""

    def _clear_attrs(self) -> None:
        # Nova deletes public attributes after each test; the cloud's
        # owner may still read them (servers, logs) after stop().
        pass


class NovaCloud(object):
    """A started in-process Nova cloud (see the module docstring).

    :param filters: Nova filter names and dotted paths of yours.
    :param weighers: weigher class paths (None: Nova's all_weighers).
    :param hosts: compute hosts to start.
    :param aggregates: ``{name: {'hosts': [...], 'metadata': {...}}}``.
    :param conf: ``{group: {option: value}}`` set before the services
        start (options of your own group must be registered first).
    """

    def __init__(self, filters: Sequence[str] = ('ComputeFilter',),
                 weighers: Optional[Sequence[str]] = None,
                 hosts: Sequence[str] = ('host1', 'host2'),
                 aggregates: Optional[Mapping[str, Mapping[str, Any]]] = None,
                 conf: Optional[Mapping[str, Mapping[str, Any]]] = None
                 ) -> None:
        self.options = nova_scheduler.plugin_options(filters, weighers)
        if isinstance(hosts, str) or not hosts:
            raise nova_scheduler.DescriptionError(
                'hosts: give a list of host names')
        self.hosts = list(hosts)
        self.aggregates = dict(aggregates or {})
        for name, description in self.aggregates.items():
            strangers = [h for h in description.get('hosts', [])
                         if h not in self.hosts]
            if strangers:
                raise nova_scheduler.DescriptionError(
                    'aggregate %r: host(s) %s are not among the hosts'
                    % (name, ', '.join(strangers)))
        self.conf = dict(conf or {})
        self.case: Optional[_Harness] = None

    def start(self) -> 'NovaCloud':
        """Start the services and computes, create the aggregates."""
        case = _Harness('runTest')
        self.case = case
        # Runs last: no override set below outlives the cloud, even when
        # a bad option stops the start before Nova's own ConfFixture.
        case.addCleanup(nova_scheduler.CONF.reset)
        try:
            prepare_harness(case.flags, nova_scheduler.CONF)
            case.flags(group='filter_scheduler', **self.options)
            nova_scheduler.register_plugin_opts(
                nova_scheduler.CONF, self.options['available_filters'] +
                self.options['weight_classes'])
            for group, values in self.conf.items():
                case.flags(group=None if group == 'DEFAULT' else group,
                           **dict(values))
            case.setUp()
            for name in self.hosts:
                case._start_compute(name)
            for name, description in self.aggregates.items():
                self.add_aggregate(name, description.get('hosts', ()),
                                   description.get('metadata', {}))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> list[BaseException]:
        """Stop everything, in reverse order; return what failed."""
        errors: list[BaseException] = []
        case, self.case = self.case, None
        while case is not None and case._cleanups:
            function, args, kwargs = case._cleanups.pop()
            try:
                function(*args, **kwargs)
            except Exception as exc:  # noqa: B902 (run every cleanup)
                errors.append(exc)
        return errors

    def _require(self) -> _Harness:
        if self.case is None:
            raise RuntimeError('the Nova cloud is not running')
        return self.case

    @property
    def admin_api(self) -> Any:
        """Nova's test client of the compute API, as an admin."""
        return self._require().admin_api

    @property
    def user_api(self) -> Any:
        """Nova's test client of the compute API, as a plain user."""
        api = self._require().api_fixture.api
        api.microversion = self._require().microversion
        return api

    def add_aggregate(self, name: str, hosts: Sequence[str] = (),
                      metadata: Optional[Mapping[str, str]] = None) -> int:
        """Create an aggregate through the API; return its id."""
        return create_aggregate(self._require(), name, hosts, metadata)

    def boot(self, source_address: Optional[str] = None,
             hints: Optional[Mapping[str, Any]] = None,
             expected_state: str = 'ACTIVE', admin: bool = False) -> dict:
        """Create a server from ``source_address``; wait for its state.

        Returns the server as the API shows it; a server that found no
        host is in state ``ERROR`` with ``fault.message`` "No valid host
        was found".
        """
        case = self._require()
        return create_server(case, case.admin_api if admin else
                             self.user_api, source_address, hints,
                             expected_state)

    def host_of(self, server: Mapping[str, Any]) -> Optional[str]:
        """The compute host of ``server`` (None when it has none)."""
        return self._require()._show_server(server)['OS-EXT-SRV-ATTR:host']

    def scheduler_log(self) -> str:
        """What Nova's services logged so far (their captured logging)."""
        return self._require().stdlog.logger.output
