"""office only: Swift containers that open only to the addresses they list.

A Swift proxy middleware, after the Operations Guide's ip_allowlist
example. A container whose metadata has ``X-Container-Meta-Allow-<any>``
headers serves its objects and listings only to client addresses or
networks those headers list (commas between them); other clients get 403.
Containers without such metadata are untouched. Put it right after auth::

    [pipeline:main]
    pipeline = ... tempauth office_only staticweb copy ... proxy-server

    [filter:office_only]
    use = egg:office-only#office_only

and lock a container::

    swift post -m 'allow-office:198.51.100.0/24' plans
"""

import ipaddress

from swift.common import swob
from swift.common.utils import get_logger
from swift.common.utils import register_swift_info
from swift.proxy.controllers.base import get_container_info


def _networks(meta):
    """The networks of a container's allow-* metadata (bad items: none)."""
    networks = []
    for key, value in meta.items():
        if not key.startswith('allow-'):
            continue
        for item in value.split(','):
            try:
                networks.append(ipaddress.ip_network(item.strip(),
                                                     strict=False))
            except ValueError:
                pass  # a typo must not open the container: others stay
    return networks


class OfficeOnlyMiddleware(object):
    """403 for clients outside a container's allow-* networks."""

    def __init__(self, app, conf, logger=None):
        self.app = app
        self.logger = logger or get_logger(conf, log_route='office_only')

    def __call__(self, env, start_response):
        req = swob.Request(env)
        try:
            _version, _account, container, obj = req.split_path(1, 4, True)
        except ValueError:
            return self.app(env, start_response)
        # The owner may change a container's list from anywhere (and so
        # fix a typo in it).
        editing_list = req.method in ('PUT', 'POST') and not obj
        if container and not editing_list:
            meta = get_container_info(env, self.app).get('meta', {})
            if any(key.startswith('allow-') for key in meta):
                if not self._allowed(req.remote_addr, _networks(meta)):
                    self.logger.info('office_only: %s %s from %s refused',
                                     req.method, req.path, req.remote_addr)
                    return swob.HTTPForbidden()(env, start_response)
        return self.app(env, start_response)

    @staticmethod
    def _allowed(remote_addr, networks):
        try:
            address = ipaddress.ip_address(remote_addr or '')
        except ValueError:
            return False
        return any(address in network for network in networks)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf, **local_conf)
    register_swift_info('office_only')

    def office_only_filter(app):
        return OfficeOnlyMiddleware(app, conf)
    return office_only_filter
