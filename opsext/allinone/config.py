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

"""Configuration and rings for an all-in-one Swift cluster.

Everything lives in one directory, the ``swift_dir`` of every server, so
nothing is read from ``/etc/swift``::

    swift.conf                        hash path prefix/suffix, policy 0
    account.ring.gz container.ring.gz object.ring.gz
    proxy-server.conf account-server.conf container-server.conf
    object-server.conf
    node/sdb1/                        the one device: a plain directory
    cache/                            recon cache
    log/<server>.log                  each server's stdout and stderr

The proxy pipeline is Swift's recommended one with an insertion point right
after auth, where the filters under test go (:func:`proxy_pipeline`).

Every cluster uses the same hash path prefix and suffix: the in-process
proxy of :class:`~opsext.allinone.cluster.SwiftCluster` shares one set
of hash globals with whatever cluster the test process touched before.
"""

import configparser
import dataclasses
import os
import pwd
from typing import Mapping, Optional, Sequence, Union

from swift.common.ring import RingBuilder

BACKEND_SERVERS = ('account', 'container', 'object')
SERVERS = ('proxy',) + BACKEND_SERVERS

PIPELINE_BEFORE_AUTH = (
    'catch_errors', 'gatekeeper', 'healthcheck', 'proxy-logging', 'cache',
    'listing_formats', 'container_sync', 'bulk', 'tempurl', 'formpost',
    's3api', 'tempauth')
PIPELINE_AFTER_AUTH = (
    'staticweb', 'copy', 'container-quotas', 'account-quotas', 'slo', 'dlo',
    'versioned_writes', 'symlink', 'proxy-logging', 'proxy-server')

# tempauth accounts: user_<account>_<user> = <key> [groups].
TEMPAUTH_USERS = {
    'user_test_tester': 'testing .admin',
    'user_test2_tester2': 'testing2 .admin',
    'user_test_tester3': 'testing3',
    'user_test5_tester5': 'testing5 .admin',
    'user_admin_admin': 'admin .admin .reseller_admin',
}

HASH_PATH_PREFIX = 'opsext-test-prefix'
HASH_PATH_SUFFIX = 'opsext-test-suffix'
DEVICE = 'sdb1'
PART_POWER = 6

#: A filter's options, or just its ``egg:`` entry point or ``module:factory``.
FilterSpec = Union[str, Mapping[str, str]]

# [filter:NAME] -> egg:swift#<entry point>, for names that differ.
_SWIFT_ENTRY_POINTS = {
    'proxy-logging': 'proxy_logging',
    'cache': 'memcache',
    'container-quotas': 'container_quotas',
    'account-quotas': 'account_quotas',
}
_FILTER_OPTIONS = {
    'tempauth': dict(TEMPAUTH_USERS, allow_overrides='true'),
    'versioned_writes': {'allow_versioned_writes': 'true',
                         'allow_object_versioning': 'true'},
}


@dataclasses.dataclass(frozen=True)
class ClusterLayout(object):
    """Where the files of one cluster go and which ports it listens on."""

    workdir: str
    bind_ip: str
    ports: Mapping[str, int]
    memcache_servers: str

    @property
    def devices(self) -> str:
        return os.path.join(self.workdir, 'node')

    def conf_path(self, server: str) -> str:
        return os.path.join(self.workdir, '%s-server.conf' % server)

    def log_path(self, server: str) -> str:
        return os.path.join(self.workdir, 'log', '%s.log' % server)


def proxy_pipeline(pipeline_filters: Sequence[str] = ()) -> list[str]:
    """Swift's recommended pipeline with ``pipeline_filters`` after auth."""
    return (list(PIPELINE_BEFORE_AUTH) + list(pipeline_filters) +
            list(PIPELINE_AFTER_AUTH))


def proxy_sections(
        layout: ClusterLayout, pipeline_filters: Sequence[str] = (),
        filter_conf: Optional[Mapping[str, FilterSpec]] = None,
        proxy_conf: Optional[Mapping[str, str]] = None,
        log_level: str = 'INFO') -> dict[str, dict[str, str]]:
    """The sections of ``proxy-server.conf``.

    ``proxy_conf`` adds options to ``[app:proxy-server]``; see
    :func:`filter_sections` for ``filter_conf``.
    """
    sections = {
        'DEFAULT': _default_section(layout, 'proxy', log_level),
        'pipeline:main': {
            'pipeline': ' '.join(proxy_pipeline(pipeline_filters))},
        'app:proxy-server': dict({'use': 'egg:swift#proxy',
                                  'account_autocreate': 'true'},
                                 **(proxy_conf or {})),
    }
    sections.update(filter_sections(pipeline_filters, filter_conf,
                                    layout.memcache_servers))
    return sections


def filter_sections(
        pipeline_filters: Sequence[str] = (),
        filter_conf: Optional[Mapping[str, FilterSpec]] = None,
        memcache_servers: str = '127.0.0.1:11211'
) -> dict[str, dict[str, str]]:
    """The ``[filter:NAME]`` sections of the proxy pipeline.

    ``filter_conf`` adds sections or adds options to the standard ones
    (``{'tempauth': {'token_life': '60'}}``); a section may be given as
    where its filter comes from (see :func:`filter_options`).  Raises
    ValueError when a filter in ``pipeline_filters`` has no section to load
    it from.
    """
    sections = {}
    for name in PIPELINE_BEFORE_AUTH + PIPELINE_AFTER_AUTH[:-1]:
        options = {'use': 'egg:swift#%s' % _SWIFT_ENTRY_POINTS.get(name,
                                                                   name)}
        options.update(_FILTER_OPTIONS.get(name, {}))
        sections['filter:%s' % name] = options
    sections['filter:cache']['memcache_servers'] = memcache_servers
    for name, options in (filter_conf or {}).items():
        section = sections.setdefault('filter:%s' % name, {})
        section.update(filter_options(name, options))
        if 'use' not in section and 'paste.filter_factory' not in section:
            raise ValueError(
                'filter_conf[%r] needs a "use" option such as '
                '"egg:opsext#%s"' % (name, name))
    for name in pipeline_filters:
        if not isinstance(name, str) or name.split() != [name]:
            raise ValueError('invalid filter name in pipeline_filters: %r'
                             % (name,))
        if 'filter:%s' % name not in sections:
            raise ValueError(
                'pipeline filter %r has no section: add it to filter_conf, '
                'e.g. {%r: {"use": "egg:opsext#%s"}}' % (name, name, name))
    return sections


def filter_options(name: str, spec: Union[str, Mapping[str, str]]
                   ) -> dict[str, str]:
    """The options of ``[filter:name]`` from a filter's specification.

    ``spec`` is a dict of options, or just where the filter comes from: an
    entry point (``'egg:mypkg#myfilter'``) or a factory
    (``'mypkg.middleware:filter_factory'``).  A ``use`` option naming a
    factory becomes ``paste.filter_factory``, the key paste.deploy reads a
    factory from.  Raises ValueError naming the filter when ``spec`` says
    neither.
    """
    options = {'use': spec} if isinstance(spec, str) else dict(spec)
    use = options.get('use')
    if use is not None and not use.startswith(('egg:', 'config:', 'call:')):
        module, _sep, factory = use.partition(':')
        if not (module and factory and all(
                part.isidentifier() for part in module.split('.')) and
                factory.isidentifier()):
            raise ValueError(
                'filter %r: %r is neither an entry point (egg:DIST#NAME) nor '
                'a factory (package.module:filter_factory)' % (name, use))
        del options['use']
        options['paste.filter_factory'] = use
    return options


def backend_sections(layout: ClusterLayout, server: str,
                     log_level: str = 'INFO') -> dict[str, dict[str, str]]:
    """The sections of ``<server>-server.conf`` for a storage server."""
    default = _default_section(layout, server, log_level)
    default.update({
        'devices': layout.devices,
        'mount_check': 'false',
        'disable_fallocate': 'true',
        'recon_cache_path': os.path.join(layout.workdir, 'cache'),
    })
    return {
        'DEFAULT': default,
        'pipeline:main': {
            'pipeline': 'healthcheck recon %s-server' % server},
        'app:%s-server' % server: {'use': 'egg:swift#%s' % server},
        'filter:healthcheck': {'use': 'egg:swift#healthcheck'},
        'filter:recon': {'use': 'egg:swift#recon'},
    }


def _default_section(layout: ClusterLayout, server: str,
                     log_level: str) -> dict[str, str]:
    return {
        'bind_ip': layout.bind_ip,
        'bind_port': str(layout.ports[server]),
        'workers': '0',
        'swift_dir': layout.workdir,
        # As root Swift drops privileges to this user ("swift" by default,
        # which rarely exists on a test machine).
        'user': pwd.getpwuid(os.geteuid()).pw_name,
        'log_name': '%s-server' % server,
        'log_level': log_level,
        # Fail fast when a port was taken, so the cluster can retry.
        'bind_timeout': '3',
    }


def write_ini(path: str, sections: Mapping[str, Mapping[str, str]]) -> None:
    """Write ``sections`` as an INI file (option names keep their case)."""
    parser = configparser.RawConfigParser()
    parser.optionxform = str
    parser.read_dict(sections)
    with open(path, 'w') as conf:
        parser.write(conf)


def write_swift_conf(workdir: str) -> None:
    """Write ``swift.conf``: hash path prefix/suffix and one policy."""
    write_ini(os.path.join(workdir, 'swift.conf'), {
        'swift-hash': {'swift_hash_path_prefix': HASH_PATH_PREFIX,
                       'swift_hash_path_suffix': HASH_PATH_SUFFIX},
        # Swift's servers read policies from /etc/swift/swift.conf only
        # (swift_dir moves the hash settings and rings, not the policies),
        # so this one matches the built-in default exactly.
        'storage-policy:0': {'name': 'Policy-0', 'default': 'yes'},
    })


def build_ring(path: str, ip: str, port: int, device: str = DEVICE) -> None:
    """Build a one-replica, one-device ring and save it to ``path``."""
    builder = RingBuilder(PART_POWER, 1, 1)
    builder.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': ip,
                     'port': port, 'device': device, 'weight': 1.0,
                     'meta': ''})
    builder.rebalance()
    builder.get_ring().save(path)


def write_cluster(
        layout: ClusterLayout, pipeline_filters: Sequence[str] = (),
        filter_conf: Optional[Mapping[str, FilterSpec]] = None,
        proxy_conf: Optional[Mapping[str, str]] = None,
        log_level: str = 'INFO') -> None:
    """Write swift.conf, the rings and the four server configs."""
    # Validate the proxy config before touching the disk.
    proxy = proxy_sections(layout, pipeline_filters, filter_conf,
                           proxy_conf, log_level)
    for subdir in ('cache', 'log', os.path.join('node', DEVICE)):
        os.makedirs(os.path.join(layout.workdir, subdir), exist_ok=True)
    write_swift_conf(layout.workdir)
    ring_ip = connect_host(layout.bind_ip)
    for server in BACKEND_SERVERS:
        build_ring(os.path.join(layout.workdir, '%s.ring.gz' % server),
                   ring_ip, layout.ports[server])
        write_ini(layout.conf_path(server),
                  backend_sections(layout, server, log_level))
    write_ini(layout.conf_path('proxy'), proxy)


def connect_host(bind_ip: str) -> str:
    """The address to connect to for a server bound to ``bind_ip``."""
    return {'0.0.0.0': '127.0.0.1', '::': '::1'}.get(bind_ip, bind_ip)
